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


@pytest.mark.parametrize("chapter, overrides, fragment", [
    ("fss", {"n_configs": "many"}, "'n_configs' of chapter 'fss' must be integer ≥ 1 (the profile has 20000); got 'many'"),
    ("fss", {"n_configs": 0}, "must be integer ≥ 1"),
    ("fss", {"n_configs": 2.5}, "must be integer ≥ 1"),
    ("fss", {"n_up": True}, "must be integer ≥ 1"),
    ("fss", {"seed": -1}, "must be integer ≥ 0"),
    ("mcrg", {"mc_sizes": "oops"}, "must be a non-empty list of integer ≥ 1s"),
    ("mcrg", {"mc_sizes": []}, "non-empty list"),
    ("mcrg", {"mc_sizes": [32, 0]}, "non-empty list"),
    ("training", {"weighted_batch_size": 100}, "a dict of integer ≥ 1s keyed by kernel size"),
    ("training", {"weighted_batch_size": {"3": -5}}, "keyed by kernel size"),
])
def test_override_of_the_wrong_kind_is_refused(chapter, overrides, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        profiles.chapter_params(chapter, "quick", overrides)


def test_overrides_of_the_right_kind_are_taken():
    P = profiles.chapter_params("training", "quick", {"seed": 0, "ks": [3], "weighted_batch_size": {"3": 50}})
    # JSON/TOML keys (strings) of kernel-size dicts come back keyed by int k
    assert P["seed"] == 0 and P["ks"] == [3] and P["weighted_batch_size"] == {3: 50}
    assert profiles.chapter_params("training", "quick")["ks"] == [3, 5, 7]   # the profile itself is untouched


def test_weighted_models_use_their_own_batch_size():
    from dreamrg.profiles import chapter_params
    from dreamrg.report import single_layer_params

    P = chapter_params("training", "paper")
    assert single_layer_params(P, 7, False).batch_size == 50_000
    assert single_layer_params(P, 7, True).batch_size == 1_000
    assert single_layer_params(P, 3, True).batch_size == 100_000
    assert single_layer_params(P, 7, True, "exact").batch_size == 50_000     # the optimum ignores batches
    # papermill/JSON overrides arrive with string keys
    Q = chapter_params("training", "quick", {"weighted_batch_size": {"3": 7, "5": 8, "7": 9}})
    assert single_layer_params(Q, 5, True).batch_size == 8
    with pytest.raises(ValueError, match="no entry for k=5"):
        single_layer_params(chapter_params("training", "quick", {"weighted_batch_size": {"3": 7}}), 5, True)


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_chapters_show_a_kernel_size_that_is_trained(profile):
    trained = profiles.chapter_params("training", profile)["ks"]
    for chapter in ("dreaming", "pdf_collapse"):
        assert profiles.chapter_params(chapter, profile)["k"] in trained, chapter
    assert set(profiles.chapter_params("complexity", profile)["ks"]) <= set(trained)


def test_untrained_kernel_size_is_one_clear_error():
    from dreamrg.report import trained_model

    with pytest.raises(ValueError, match=r"k = 4: no model of that size is trained at profile 'smoke'; trained: \[3, 5\]"):
        trained_model("smoke", 4)
