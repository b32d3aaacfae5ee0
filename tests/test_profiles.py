from pathlib import Path

import jupytext
import pytest

from dreamrg import profiles
from dreamrg.bookrun import toc_chapters

ROOT = Path(__file__).resolve().parents[1]


def test_toc_and_profiles_list_the_same_chapters():
    assert tuple(toc_chapters(ROOT)) == profiles.CHAPTERS


@pytest.mark.parametrize("chapter", [c for c in profiles.CHAPTERS if c != "intro"])
def test_every_chapter_has_a_quick_parameters_cell(chapter):
    nb = jupytext.read(ROOT / "book" / f"{chapter}.md")
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    assert 'profile = "quick"' in cells[0].source and "overrides = {}" in cells[0].source


def test_profiles_grow():
    q = profiles.chapter_params("monte_carlo", "quick")
    p = profiles.chapter_params("monte_carlo", "paper")
    assert p["fss_configs"] == 1_000_000 and max(p["fss_sizes"]) == 128
    assert q["fss_configs"] < p["fss_configs"]


def test_bad_profile_and_override():
    with pytest.raises(ValueError, match="unknown profile"):
        profiles.chapter_params("monte_carlo", "huge")
    with pytest.raises(ValueError, match="unknown parameter"):
        profiles.chapter_params("monte_carlo", "quick", {"nope": 1})
    assert profiles.chapter_params("monte_carlo", "quick", {"seed": 7})["seed"] == 7
