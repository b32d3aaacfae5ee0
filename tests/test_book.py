"""The whole book builds warning-free (``-W``) from papermill-executed chapters."""

from pathlib import Path

import pytest

from dreamrg.bookrun import build_book, toc_chapters

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_book_builds_warning_free_at_smoke_profile(tmp_path):
    index = build_book(profile="smoke", root=ROOT, base=tmp_path)
    assert index.is_file()
    html = index.parent
    for chapter in toc_chapters(ROOT):
        assert (html / f"{chapter}.html").is_file(), chapter
    mc_page = (html / "monte_carlo.html").read_text()
    assert "<img" in mc_page and "Traceback" not in mc_page
