import os
from pathlib import Path

import pytest

AUTHORS = Path(__file__).resolve().parents[2] / "shared" / "authors-release"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Tests never touch the real data/ cache."""
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path_factory.getbasetemp() / "data"))


@pytest.fixture
def authors_dir():
    if not AUTHORS.is_dir():
        pytest.skip("../shared/authors-release is not present")
    return AUTHORS


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory) -> Path:
    """``_build/html/index.html`` of the smoke book, built once per session by ``dreamrg book`` (warning-free).

    Shared by the build test and the browser test; like every test it uses the session's cache, not data/.
    """
    from dreamrg.bookrun import build_book

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DREAMRG_DATA", str(tmp_path_factory.getbasetemp() / "data"))
        return build_book(profile="smoke", root=ROOT, base=tmp_path_factory.mktemp("smoke-book"))


@pytest.fixture
def fake_chapters(monkeypatch):
    """``dreamrg.bookrun`` with chapter execution and paper snapshots replaced by recorders.

    Returns a namespace whose ``calls`` collects ``(chapter, profile, overrides)`` of every chapter
    executed (each writes an empty notebook) and ``snapshots`` the chapters whose snapshot was saved.
    """
    from types import SimpleNamespace

    from dreamrg import bookrun

    seen = SimpleNamespace(calls=[], snapshots=[])

    def fake_execute(root, chapter, profile, out_dir, overrides=None):
        seen.calls.append((chapter, profile, overrides))
        out = out_dir / f"{chapter}.ipynb"
        out.write_text("{}")
        return out

    monkeypatch.setattr(bookrun, "execute_chapter", fake_execute)
    monkeypatch.setattr(bookrun, "save_snapshot", lambda root, chapter, *a, **k: seen.snapshots.append(chapter))
    return seen
