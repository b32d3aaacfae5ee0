import dataclasses
import hashlib
import json
import re
from pathlib import Path

import jupytext
import pytest

from dreamrg import profiles
from dreamrg.bookrun import toc_notebooks

ROOT = Path(__file__).resolve().parents[1]


def test_toc_and_profiles_list_the_same_chapters():
    assert tuple(toc_notebooks(ROOT)) == profiles.CHAPTERS  # the executed chapters; api/references are pages


@pytest.mark.parametrize("chapter", [c for c in profiles.CHAPTERS if c not in ("intro", "appendix_paper_run")])
def test_every_chapter_has_a_quick_parameters_cell(chapter):
    nb = jupytext.read(ROOT / "book" / f"{chapter}.md")
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    assert 'profile = "quick"' in cells[0].source and "overrides = {}" in cells[0].source


def test_profiles_grow():
    q = profiles.load_profile("quick").monte_carlo
    p = profiles.load_profile("paper").monte_carlo
    assert p.fss_configs == 1_000_000 and max(p.fss_sizes) == 128
    assert q.fss_configs < p.fss_configs


def test_bad_profile_and_override():
    with pytest.raises(ValueError, match="unknown profile"):
        profiles.load_profile("huge")
    with pytest.raises(ValueError, match="unknown parameter"):
        profiles.load_profile("quick", {"monte_carlo": {"nope": 1}})
    assert profiles.load_profile("quick", {"monte_carlo": {"seed": 7}}).monte_carlo.seed == 7


def test_a_chapter_without_parameters_refuses_overrides():
    """The status page loads its profile with its overrides: any override is one clear error."""
    assert profiles.load_profile("quick", {"status": {}}) == profiles.load_profile("quick")
    with pytest.raises(ValueError, match="unknown parameter 'x' for chapter 'status'; allowed: none"):
        profiles.load_profile("quick", {"status": {"x": 1}})


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
        profiles.load_profile("quick", {chapter: overrides})


def test_overrides_of_the_right_kind_are_taken():
    P = profiles.load_profile("smoke", {"training": {"seed": 0, "ks": [3], "weighted_batch_size": {"3": 50}}}).training
    # JSON/TOML keys (strings) of kernel-size dicts come back keyed by int k
    assert P.seed == 0 and P.ks == (3,) and P.weighted_batch_size == {3: 50}
    assert P.to_dict()["ks"] == [3] and P.to_dict()["weighted_batch_size"] == {3: 50}
    assert profiles.load_profile("smoke").training.ks == (3, 5)   # the profile itself is untouched


def test_weighted_models_use_their_own_batch_size():
    from dreamrg.experiments import single_layer_params
    from dreamrg.profiles import load_profile

    P = load_profile("paper").training
    assert single_layer_params(P, 7, False).batch_size == 50_000
    assert single_layer_params(P, 7, True).batch_size == 1_000
    assert single_layer_params(P, 3, True).batch_size == 100_000
    assert single_layer_params(P, 7, True, "exact").batch_size == 50_000     # the optimum ignores batches
    # papermill/JSON overrides arrive with string keys
    Q = load_profile("quick", {"training": {"weighted_batch_size": {"3": 7, "5": 8, "7": 9}}}).training
    assert single_layer_params(Q, 5, True).batch_size == 8
    with pytest.raises(ValueError, match="no entry for k=9"):
        single_layer_params(Q, 9, True)
    with pytest.raises(ValueError, match="no entry for k=5"):
        load_profile("quick", {"training": {"weighted_batch_size": {"3": 7}}})


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_chapters_show_a_kernel_size_that_is_trained(profile):
    p = profiles.load_profile(profile)
    trained = p.trained_ks
    for chapter in ("dreaming", "pdf_collapse"):
        assert p.section(chapter).k in trained, chapter
    assert set(p.complexity.ks) <= set(trained)


def test_untrained_kernel_size_is_one_clear_error():
    from dreamrg.experiments import trained_model

    with pytest.raises(ValueError, match=r"k = 4: no model of that size is trained at profile 'smoke'; trained: \[3, 5\]"):
        trained_model("smoke", 4)


# ----------------------------------------------------------------------------- the dataclasses
# Frozen copy of the profile dicts as they were before the dataclasses (src/dreamrg/profiles.py at 630447b,
# comments dropped): the reference every value of the new profiles is compared with (values feed cache keys).
OLD_CHAPTERS = {
    "monte_carlo": {
        "smoke": {
            "validation_sizes": [4, 8],
            "validation_configs": 2000,
            "fss_sizes": [8, 16, 32],
            "fss_configs": 1000,
            "training_sizes": [16],
            "training_M": 500,
            "spread_seeds": 2,
            "spread_configs": 2000,
            "followup_seeds": 2,
            "followup_configs": 4000,
            "seed": 2024,
        },
        "quick": {
            "validation_sizes": [8, 16, 32],
            "validation_configs": 20_000,
            "fss_sizes": [8, 16, 32, 64, 128],
            "fss_configs": 20_000,
            "training_sizes": [32],
            "training_M": 10_000,
            "spread_seeds": 4,
            "spread_configs": 20_000,
            "followup_seeds": 4,
            "followup_configs": 80_000,
            "seed": 2024,
        },
        "paper": {
            "validation_sizes": [8, 16, 32],
            "validation_configs": 1_000_000,
            "fss_sizes": [8, 16, 32, 64, 128],
            "fss_configs": 1_000_000,
            "training_sizes": [32, 64, 128],
            "training_M": 1_000_000,
            "spread_seeds": 8,
            "spread_configs": 250_000,
            "followup_seeds": 16,
            "followup_configs": 1_000_000,
            "seed": 2024,
        },
    },
    "training": {
        "smoke": {
            "ks": [3, 5],
            "L_t": 16,
            "M": 500,
            "epochs": 4,
            "batch_size": 100,
            "weighted_batch_size": {3: 100, 5: 100, 7: 100},
            "fig6_L_t": [16],
            "fig6_M": [250, 500],
            "seed": 7,
        },
        "quick": {
            "ks": [3, 5, 7],
            "L_t": 32,
            "M": 10_000,
            "epochs": 25,
            "batch_size": 500,
            "weighted_batch_size": {3: 500, 5: 500, 7: 500},
            "fig6_L_t": [32],
            "fig6_M": [1_000, 3_000, 10_000],
            "seed": 7,
        },
        "paper": {
            "ks": [3, 5, 7],
            "L_t": 32,
            "M": 1_000_000,
            "epochs": 50,
            "batch_size": 50_000,
            "weighted_batch_size": {3: 100_000, 5: 1_000, 7: 1_000},
            "fig6_L_t": [32, 64, 128],
            "fig6_M": [10_000, 100_000, 1_000_000],
            "seed": 7,
        },
    },
    "dreaming": {
        "smoke": {"n_up": 5, "k": 3, "seed": 4},
        "quick": {"n_up": 7, "k": 7, "seed": 4},
        "paper": {"n_up": 7, "k": 7, "seed": 4},
    },
    "fss": {
        "smoke": {"n_configs": 400, "n_up": 5, "seed": 11, "batch_size": 200, "spread_seeds": 2, "spread_configs": 400},
        "quick": {"n_configs": 20_000, "n_up": 7, "seed": 11, "batch_size": 4096, "spread_seeds": 4,
                  "spread_configs": 20_000},
        "paper": {"n_configs": 1_000_000, "n_up": 7, "seed": 11, "batch_size": 4096, "spread_seeds": 8,
                  "spread_configs": 250_000},
    },
    "pdf_collapse": {
        "smoke": {"n_configs": 400, "n_up": 5, "k": 3, "L0_mc": 8, "seed": 13, "batch_size": 200},
        "quick": {"n_configs": 20_000, "n_up": 7, "k": 7, "L0_mc": 8, "seed": 13, "batch_size": 4096},
        "paper": {"n_configs": 1_000_000, "n_up": 7, "k": 7, "L0_mc": 8, "seed": 13, "batch_size": 4096},
    },
    "mcrg": {
        "smoke": {"mc_sizes": [16], "mc_configs": 1000, "levels": 1, "n_up": 4, "dream_configs": 1000,
                  "irrep_sizes": [16], "irrep_configs": 1000, "parent_configs": 1000, "seed": 17, "batch_size": 500,
                  # added for the seed-spread check of the dreamed RSRG error bars (issue #20)
                  "spread_seeds": 2, "spread_configs": 500},
        "quick": {"mc_sizes": [32, 128], "mc_configs": 20_000, "levels": 2, "n_up": 7, "dream_configs": 20_000,
                  "irrep_sizes": [32, 128], "irrep_configs": 20_000, "parent_configs": 20_000, "seed": 17, "batch_size": 4096,
                  "spread_seeds": 4, "spread_configs": 5_000},
        "paper": {"mc_sizes": [32, 128, 512], "mc_configs": 1_000_000, "levels": 2, "n_up": 7,
                  "dream_configs": 1_000_000, "irrep_sizes": [32, 128], "irrep_configs": 200_000, "parent_configs": 200_000,
                  "seed": 17,
                  "batch_size": 4096, "spread_seeds": 8, "spread_configs": 250_000,
                  # added for Table III's L = 1024 row (issue #19): optional, so absent from smoke and quick
                  "stream_sizes": [1024], "stream_configs": 100_000,
                  "mc_streamed": [512]},
    },
    "complexity": {
        "smoke": {"ks": [3], "M": 300, "epochs": 2, "patience": 2, "batch_size": 100, "n_configs": 200, "n_up": 4,
                  "channels": 32, "seed": 19, "batch_dream": 100},
        "quick": {"ks": [3, 7], "M": 3_000, "epochs": 12, "patience": 2, "batch_size": 500, "n_configs": 2_000,
                  "n_up": 7, "channels": 32, "seed": 19, "batch_dream": 1000},
        "paper": {"ks": [3, 7], "M": 1_000_000, "epochs": 12, "patience": 2, "batch_size": 10_000,
                  "n_configs": 1_000_000, "n_up": 7, "channels": 32, "seed": 19, "batch_dream": 1000},
    },
    # added with the chapter "Dreaming off criticality" (issue #23), after the dataclasses
    "offcritical": {
        "smoke": {"K_permille": [940, 1000, 1060], "train_permille": [940, 1000, 1060],
                  "wide_permille": [880, 940, 1000, 1060, 1120], "L_t": 16, "M": 500,
                  "sizes": [8, 16, 32], "mc_configs": 2000, "k": 3, "degree": 2, "n_configs": 1000, "L0_mc": 8,
                  "seed": 23, "batch_size": 500},
        "quick": {"K_permille": [900, 940, 970, 1000, 1030, 1060, 1100],
                  "train_permille": [900, 940, 970, 1000, 1030, 1060, 1100],
                  "wide_permille": [800, 850, 900, 940, 970, 1000, 1030, 1060, 1100, 1150, 1200], "L_t": 32, "M": 10_000,
                  "sizes": [16, 32, 64, 128], "mc_configs": 10_000, "k": 3, "degree": 2, "n_configs": 10_000,
                  "L0_mc": 16, "seed": 23, "batch_size": 4096},
        "paper": {"K_permille": [900, 940, 970, 1000, 1030, 1060, 1100],
                  "train_permille": [900, 940, 970, 1000, 1030, 1060, 1100],
                  "wide_permille": [800, 850, 900, 940, 970, 1000, 1030, 1060, 1100, 1150, 1200], "L_t": 32, "M": 1_000_000,
                  "sizes": [16, 32, 64, 128], "mc_configs": 1_000_000, "k": 3, "degree": 2, "n_configs": 1_000_000,
                  "L0_mc": 16, "seed": 23, "batch_size": 4096},
    },
}

SECTION_CLASSES = {"monte_carlo": "MonteCarloSection", "training": "TrainingSection", "dreaming": "DreamingSection",
                   "fss": "FSSSection", "pdf_collapse": "PDFCollapseSection", "mcrg": "MCRGSection",
                   "complexity": "ComplexitySection", "offcritical": "OffcriticalSection"}


@pytest.mark.parametrize("profile", profiles.PROFILES)
@pytest.mark.parametrize("chapter", profiles.CHAPTERS)
def test_values_equal_the_old_dicts(chapter, profile):
    old = OLD_CHAPTERS.get(chapter, {}).get(profile, {})
    if chapter not in profiles.SECTIONS:
        assert old == {} and chapter not in SECTION_CLASSES          # a chapter without parameters
        with pytest.raises(ValueError, match="has no parameter section"):
            profiles.load_profile(profile).section(chapter)
    else:
        section = profiles.load_profile(profile).section(chapter)
        P = section.to_dict()
        assert P == old
        assert list(P) == list(old)                                  # same keys, same order
        assert all(type(P[key]) is type(value) for key, value in old.items())   # lists stay lists, dicts dicts
        assert type(section).__name__ == SECTION_CLASSES[chapter]
        assert [f.name for f in dataclasses.fields(section)
                if f.name in old or not f.metadata["optional"]] == list(old)  # optional fields at their default
        for key, value in old.items():
            got = getattr(section, key)
            if isinstance(value, list):
                assert isinstance(got, tuple) and list(got) == value
            else:
                assert got == value


def test_weighted_batch_size_behaves_like_a_dict_keyed_by_k():
    wbs = profiles.load_profile("paper").training.weighted_batch_size
    assert wbs == {3: 100_000, 5: 1_000, 7: 1_000} and wbs[5] == 1_000 and 5 in wbs and sorted(wbs) == [3, 5, 7]
    assert dict(wbs.items()) == {3: 100_000, 5: 1_000, 7: 1_000}
    with pytest.raises(TypeError):
        wbs[3] = 1
    hash(profiles.load_profile("paper"))                               # hashable throughout


def test_profiles_are_immutable():
    p = profiles.load_profile("quick")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.fss.n_configs = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.fss = p.fss
    with pytest.raises(AttributeError):
        p.training.ks.append(9)
    P = profiles.load_profile("quick").training.to_dict()
    P["ks"].append(9)
    P["weighted_batch_size"][3] = 1
    assert profiles.load_profile("quick").training.to_dict()["ks"] == [3, 5, 7]   # a fresh copy each time
    assert profiles.load_profile("quick").training.to_dict()["weighted_batch_size"][3] == 500


_OFF = dict(K_permille=(970, 1000, 1030), train_permille=(970, 1000, 1030), wide_permille=(940, 1000, 1060), L_t=16,
            M=500, sizes=(4, 8, 16), mc_configs=1000, k=3, degree=1, n_configs=1000, L0_mc=4, seed=0, batch_size=100)


@pytest.mark.parametrize("cls, kwargs, fragment", [
    ("FSSSection", dict(n_configs=0, n_up=7, seed=1, batch_size=8, spread_seeds=2, spread_configs=1),
     "parameter 'n_configs' of chapter 'fss' must be integer ≥ 1; got 0"),
    ("FSSSection", dict(n_configs=10, n_up=7, seed=-1, batch_size=8, spread_seeds=2, spread_configs=1),
     "'seed' of chapter 'fss' must be integer ≥ 0"),
    ("FSSSection", dict(n_configs=10, n_up=13, seed=1, batch_size=8, spread_seeds=2, spread_configs=1),
     "'n_up' of chapter 'fss' must be a number of upscalings 1..12 (final size ≤ 4096); got 13"),
    ("DreamingSection", dict(n_up=7, k=4, seed=1), "'k' of chapter 'dreaming' must be a kernel size: an odd integer"),
    ("PDFCollapseSection", dict(n_configs=10, n_up=7, k=3, L0_mc=12, seed=1, batch_size=8), "power of two"),
    ("PDFCollapseSection", dict(n_configs=10, n_up=3, k=3, L0_mc=8, seed=1, batch_size=8),
     "'L0_mc' of chapter 'pdf_collapse' must be smaller than the final size 2^n_up = 8; got 8"),
    ("MCRGSection", dict(mc_sizes=(32, 34), mc_configs=100, levels=2, n_up=7, dream_configs=100, irrep_sizes=(32,),
                         irrep_configs=100, parent_configs=100, seed=1, batch_size=8,
                         spread_seeds=2, spread_configs=100), "'mc_sizes' of chapter 'mcrg' must be sizes L "
                                                                   "that can be blocked levels = 2 times"),
    ("MCRGSection", dict(mc_sizes=(32,), mc_configs=10, levels=2, n_up=7, dream_configs=100, irrep_sizes=(32,),
                         irrep_configs=100, parent_configs=100, seed=1, batch_size=8,
                         spread_seeds=2, spread_configs=100), "jackknife bins"),
    ("MCRGSection", dict(mc_sizes=(), mc_configs=100, levels=2, n_up=7, dream_configs=100, irrep_sizes=(32,),
                         irrep_configs=100, parent_configs=100, seed=1, batch_size=8,
                         spread_seeds=2, spread_configs=100), "must be a non-empty list of integer ≥ 1s; got []"),
    ("MCRGSection", dict(mc_sizes=(32,), mc_configs=100, levels=2, n_up=7, dream_configs=100, irrep_sizes=(32,),
                         irrep_configs=100, parent_configs=100, seed=1, batch_size=8, spread_seeds=1,
                         spread_configs=100), "'spread_seeds' of chapter 'mcrg' must be integer ≥ 2; got 1"),
    ("MCRGSection", dict(mc_sizes=(32,), mc_configs=100, levels=2, n_up=7, dream_configs=100, irrep_sizes=(32,),
                         irrep_configs=100, parent_configs=100, seed=1, batch_size=8, spread_seeds=2,
                         spread_configs=31), "'spread_configs' of chapter 'mcrg' must be a number of configurations ≥ 32"),
    ("MonteCarloSection", dict(validation_sizes=(1,), validation_configs=1, fss_sizes=(8,), fss_configs=1,
                               training_sizes=(8,), training_M=5, spread_seeds=2, spread_configs=10,
                               followup_seeds=2, followup_configs=10, seed=0),
     "'validation_sizes' of chapter 'monte_carlo' must be a lattice size L ≥ 2"),
    ("TrainingSection", dict(ks=(3, 5), L_t=16, M=500, epochs=1, batch_size=10, weighted_batch_size={3: 10},
                             fig6_L_t=(16,), fig6_M=(100,), seed=0), "no entry for k=5"),
    ("TrainingSection", dict(ks=(3,), L_t=16, M=4, epochs=1, batch_size=10, weighted_batch_size={3: 10},
                             fig6_L_t=(16,), fig6_M=(100,), seed=0), "'M' of chapter 'training' must be a set size M ≥ 5"),
    ("TrainingSection", dict(ks=(3,), L_t=16, M=500, epochs=1, batch_size=10, weighted_batch_size={4: 10, 3: 1},
                             fig6_L_t=(16,), fig6_M=(100,), seed=0), "keyed by kernel sizes (odd integers ≥ 3)"),
    ("ComplexitySection", dict(ks=(3,), M=300, epochs=True, patience=2, batch_size=1, n_configs=1, n_up=4,
                               channels=1, seed=0, batch_dream=1), "'epochs' of chapter 'complexity' must be integer"),
    ("OffcriticalSection", dict(_OFF, K_permille=(1000, 970)), "'K_permille' of chapter 'offcritical' must be at "
                                                                "least 2 values in increasing order"),
    ("OffcriticalSection", dict(_OFF, K_permille=(400, 1000)), "a coupling K/K_c in units of 10⁻³, 500..2000"),
    ("OffcriticalSection", dict(_OFF, sizes=(16, 24)), "a power of two 4..4096"),
    ("OffcriticalSection", dict(_OFF, sizes=(8, 16)), "at least 3 values in increasing order"),
    ("OffcriticalSection", dict(_OFF, degree=3), "a polynomial degree 1..2"),
    ("OffcriticalSection", dict(_OFF, L0_mc=8), "a start size below at least two of the sizes"),
    ("OffcriticalSection", dict(_OFF, train_permille=(1000,)), "'train_permille' of chapter 'offcritical' must be "
                                                               "at least 2 values"),
    ("OffcriticalSection", dict(_OFF, mc_configs=100), "a number of configurations ≥ 200"),
])
def test_sections_validate_their_values(cls, kwargs, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        getattr(profiles, cls)(**kwargs)


def test_a_section_built_directly_takes_lists_and_string_keys():
    t = profiles.TrainingSection(ks=[3], L_t=16, M=500, epochs=1, batch_size=10, weighted_batch_size={"3": 10},
                                 fig6_L_t=[16], fig6_M=[100], seed=0)
    assert t.ks == (3,) and t.weighted_batch_size == {3: 10} and t.fig6_M == (100,)


def test_profile_checks_the_kernel_sizes_other_chapters_show():
    with pytest.raises(ValueError, match=re.escape("parameter 'k' of chapter 'dreaming' must be a trained kernel "
                                                   "size (training.ks = [3]); got 7")):
        profiles.load_profile("quick", {"training": {"ks": [3]}})
    with pytest.raises(ValueError, match="'ks' of chapter 'complexity' must be trained kernel sizes"):
        profiles.load_profile("smoke", {"complexity": {"ks": [3, 7]}})
    # a section's own overrides are checked against that section only (the whole profile checks the rest)
    assert profiles.load_profile("quick").training.with_overrides({"ks": [3]}).ks == (3,)


# ----------------------------------------------------------------------------- the profile
def test_cross_chapter_members_name_what_chapters_reuse():
    p = profiles.load_profile("paper")
    assert p.data_seed == p.monte_carlo.seed == 2024
    assert p.training_set == (32, 1_000_000) and p.training_set.L_t == 32
    assert p.two_layer_training_set == (32, p.complexity.M)
    assert p.trained_ks == (3, 5, 7) and p.training_seed == 7
    assert p.mcrg_dream_seed == p.fss.seed == 11
    assert p.mc_fss == ((8, 16, 32, 64, 128), 1_000_000, 2024)
    assert p.fss_dreaming == (7, 11, 4096, 1_000_000)
    assert len(p.fig6_training_sets) == 9 and p.fig6_training_sets[0] == (32, 10_000)
    for member in profiles.CROSS_CHAPTER_MEMBERS:
        assert getattr(profiles.Profile, member).__doc__, member


def test_key_is_stable_and_changes_with_any_value():
    keys = {name: profiles.load_profile(name).key() for name in profiles.PROFILES}
    assert len(set(keys.values())) == 3 and all(len(k) == 64 for k in keys.values())
    assert profiles.load_profile("quick").key() == keys["quick"]
    # the hash of the canonical JSON of the sections, pinned: a change of any value (or of the recipe) shows here
    sections = {c: v for c, v in OLD_CHAPTERS.items()}
    text = json.dumps({c: sections[c]["quick"] for c in sections}, sort_keys=True, separators=(",", ":"))
    assert keys["quick"] == hashlib.sha256(text.encode()).hexdigest()
    changed = profiles.load_profile("quick", {"mcrg": {"seed": 18}})
    assert changed.key() != keys["quick"] and changed.name == "quick" and not changed.is_builtin
    assert profiles.load_profile("quick", {"mcrg": {"seed": 17}}).key() == keys["quick"]
    assert profiles.load_profile("paper").is_builtin


def test_to_dict_and_section():
    p = profiles.load_profile("smoke")
    d = p.to_dict()
    assert d["name"] == "smoke" and set(d) == {"name"} | set(SECTION_CLASSES)
    assert d["mcrg"] == OLD_CHAPTERS["mcrg"]["smoke"]
    assert p.section("fss") is p.fss
    with pytest.raises(ValueError, match="chapter 'status' has no parameter section"):
        p.section("status")


def test_load_profile_overrides():
    p = profiles.load_profile("quick", {"fss": {"n_configs": 1000}, "training": {"weighted_batch_size": {"3": 1,
                                                                                                         "5": 2, "7": 3}}})
    assert p.fss.n_configs == 1000 and p.training.weighted_batch_size == {3: 1, 5: 2, 7: 3}
    q = profiles.load_profile("quick", {"fss": {"n_configs": 1000}})
    assert q.with_overrides({"fss": {"n_configs": 20_000}}) == profiles.load_profile("quick")
    assert profiles.load_profile() == profiles.load_profile("quick")
    for overrides, fragment in [
        ({"nope": {}}, "unknown chapter 'nope'; allowed: intro, monte_carlo"),
        ({"fss": {"bogus": 1}}, "'bogus' for chapter 'fss'; allowed: batch_size, n_configs, n_up, seed, spread_configs"),
        ({"fss": {"n_configs": "many"}}, "'n_configs' of chapter 'fss' must be integer ≥ 1 (the profile has 20000); "
                                         "got 'many'"),
        ({"status": {"x": 1}}, "unknown parameter 'x' for chapter 'status'; allowed: none"),
    ]:
        with pytest.raises(ValueError, match=re.escape(fragment)):
            profiles.load_profile("quick", overrides)
    with pytest.raises(ValueError, match="unknown profile 'huge'; allowed: smoke, quick, paper"):
        profiles.load_profile("huge")


# ----------------------------------------------------------------------------- TOML profile files
def _toml(tmp_path, text, name="my.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_profile_file_applies_on_top_of_its_base(tmp_path):
    path = _toml(tmp_path, 'base = "paper"\n\n[fss]\nn_configs = 1000\n\n[mcrg]\nmc_sizes = [32, 128]\n\n'
                           '[training.weighted_batch_size]\n3 = 10\n5 = 20\n7 = 30\n')
    p = profiles.load_profile(file=path)
    assert p.name == "my" and not p.is_builtin
    assert p.fss.n_configs == 1000 and p.fss.n_up == 7 and p.mcrg.mc_sizes == (32, 128)
    assert p.training.weighted_batch_size == {3: 10, 5: 20, 7: 30}
    assert p.monte_carlo == profiles.load_profile("paper").monte_carlo
    assert profiles.load_profile("paper", file=path) == p                 # the same base, given twice
    assert profiles.load_profile(file=path, overrides={"fss": {"n_configs": 5}}).fss.n_configs == 5  # overrides last
    with pytest.raises(ValueError, match="says base = 'paper', but profile 'quick' was asked for"):
        profiles.load_profile("quick", file=path)
    plain = _toml(tmp_path, 'name = "mine"\n[fss]\nseed = 3\n', "plain.toml")
    q = profiles.load_profile(file=plain)
    assert q.name == "mine" and q.fss.seed == 3 and q.mcrg_dream_seed == 3 and q.monte_carlo.fss_configs == 20_000
    assert profiles.load_profile("smoke", file=plain).fss.n_configs == 400


@pytest.mark.parametrize("text, fragment", [
    ("[nope]\nx = 1\n", "unknown chapter 'nope'; allowed: intro, monte_carlo"),
    ("[fss]\nbogus = 1\n", "'bogus' for chapter 'fss'; allowed: batch_size, n_configs, n_up, seed, spread_configs"),
    ('[fss]\nn_configs = "many"\n', "'n_configs' of chapter 'fss' must be integer ≥ 1 (the profile has 20000); "
                                    "got 'many'"),
    ("[fss]\nn_configs = 2.5\n", "must be integer ≥ 1"),
    ("[mcrg]\nmc_sizes = 32\n", "'mc_sizes' of chapter 'mcrg' must be a non-empty list of integer ≥ 1s"),
    ("[training]\nks = [3]\n", "parameter 'k' of chapter 'dreaming' must be a trained kernel size"),
    ("[training.weighted_batch_size]\nx = 3\n", "keyed by kernel size"),
    ('base = "huge"\n', "base: unknown profile 'huge'; allowed: smoke, quick, paper"),
    ("fss = 3\n", "'fss' must be a table ([fss]) of KEY = VALUE; got 3"),
    ("[status]\nx = 1\n", "unknown parameter 'x' for chapter 'status'; allowed: none"),
    ("[fss\nn_configs = 1\n", "cannot be read"),
    ("[fss]\nn_configs = 1\nn_configs = 2\n", "cannot be read"),
])
def test_bad_profile_file_is_one_clear_error(tmp_path, text, fragment):
    path = _toml(tmp_path, text)
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        profiles.load_profile(file=path)
    assert str(path) in str(info.value)


def test_unreadable_profile_file_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"profile file '.*missing.toml' cannot be read: .*No such file"):
        profiles.load_profile(file=tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="cannot be read"):
        profiles.load_profile(file=tmp_path)                                # a directory
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe[fss]")
    with pytest.raises(ValueError, match="cannot be read"):
        profiles.load_profile(file=tmp_path / "bin.toml")


# ----------------------------------------------------------------------------- the book with a profile file
def test_book_passes_the_profile_file_as_chapter_overrides_and_keeps_the_snapshot(tmp_path, fake_chapters):
    from dreamrg import bookrun

    path = _toml(tmp_path, 'base = "paper"\n[fss]\nn_configs = 1000\n[mcrg]\nmc_sizes = [32, 128]\n'
                           '[monte_carlo]\nseed = 5\n')
    bookrun.build_book(chapters=["fss", "mcrg", "dreaming"], build=False, root=ROOT, base=tmp_path,
                       overrides={"fss": {"seed": 3}}, profile_file=path)
    assert fake_chapters.calls == [("dreaming", "paper", None), ("fss", "paper", {"n_configs": 1000, "seed": 3}),
                                   ("mcrg", "paper", {"mc_sizes": [32, 128]})]
    assert fake_chapters.snapshots == []                    # a run with a profile file is not the paper run
    assert bookrun.profile_file_overrides(path) == ("paper", {"fss": {"n_configs": 1000},
                                                              "mcrg": {"mc_sizes": [32, 128]},
                                                              "monte_carlo": {"seed": 5}})
    with pytest.raises(ValueError, match="says base = 'paper', but profile 'smoke'"):
        bookrun.build_book("smoke", chapters=["fss"], build=False, root=ROOT, base=tmp_path, profile_file=path)


@pytest.mark.slow
def test_a_chapter_sees_the_profile_file_value(tmp_path):
    """Executed for real with papermill: a tiny chapter reads its parameters as the book's chapters do."""
    from dreamrg.bookrun import build_book

    header = (ROOT / "book" / "dreaming.md").read_text().split("---")[1]
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "_toc.yml").write_text("format: jb-book\nroot: fss\n")
    cells = ["```{code-cell} ipython3\n:tags: [parameters]\n\nprofile = 'quick'\noverrides = {}\n```",
             "```{code-cell} ipython3\nfrom dreamrg.profiles import load_profile\n\n"
             "P = load_profile(profile, {'fss': overrides}).fss\nprint('n_configs', P.n_configs, 'seed', P.seed)\n```"]
    (tmp_path / "book" / "fss.md").write_text("---" + header + "---\n\n# Tiny\n\n" + "\n\n".join(cells) + "\n")
    path = _toml(tmp_path, 'base = "smoke"\n[fss]\nn_configs = 123\n')
    out_dir = build_book(build=False, root=tmp_path, base=tmp_path, profile_file=path)
    assert out_dir == tmp_path / "_build" / "notebooks" / "smoke"
    nb = json.loads((out_dir / "fss.ipynb").read_text())
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "n_configs 123 seed 11" in printed


def test_offcritical_couplings_and_upscalings():
    P = profiles.load_profile("quick").offcritical
    assert P.ratios == (0.9, 0.94, 0.97, 1.0, 1.03, 1.06, 1.1) and P.n_up == 7
    assert profiles.load_profile("smoke").offcritical.n_up == 5


def test_optional_streamed_sizes_keep_the_other_profiles_keys():
    """mcrg.stream_sizes / stream_configs: absent (empty) at smoke and quick, so their keys are unchanged; the
    paper streams L = 1024; a size both stored and streamed, or one that cannot be blocked, is refused."""
    quick = profiles.load_profile("quick")
    assert quick.mcrg.stream_sizes == () and "stream_sizes" not in quick.mcrg.to_dict()
    paper = profiles.load_profile("paper")
    assert (paper.mcrg.stream_sizes, paper.mcrg.stream_configs) == ((1024,), 100_000)
    more = profiles.load_profile("quick", {"mcrg": {"stream_sizes": [256]}})
    assert more.mcrg.stream_sizes == (256,) and more.key() != quick.key()
    assert profiles.load_profile("quick", {"mcrg": {"stream_sizes": []}}).key() == quick.key()
    for sizes, fragment in (([128], "not among mc_sizes"), ([90], "blocked levels = 2 times"),
                            ("oops", "list of integer")):
        with pytest.raises(ValueError, match=fragment):
            profiles.load_profile("quick", {"mcrg": {"stream_sizes": sizes}})


def test_seed_spread_parameters_of_the_mcrg_chapter():
    """mcrg.spread_seeds × spread_configs: independent dreaming seeds of the seed-spread check, per profile."""
    got = {name: (profiles.load_profile(name).mcrg.spread_seeds, profiles.load_profile(name).mcrg.spread_configs)
           for name in profiles.PROFILES}
    assert got == {"smoke": (2, 500), "quick": (4, 5_000), "paper": (8, 250_000)}
    assert profiles.load_profile("quick", {"mcrg": {"spread_seeds": 6}}).mcrg.spread_seeds == 6
    with pytest.raises(ValueError, match="'spread_seeds' of chapter 'mcrg' must be integer ≥ 2 .*got 1"):
        profiles.load_profile("quick", {"mcrg": {"spread_seeds": 1}})
