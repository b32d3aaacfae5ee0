"""The seed-spread check of the dreamed RSRG error bars: independent seeds, one cached pass each, the table."""

import numpy as np
import pytest

from dreamrg import experiments as ex
from dreamrg.conventions import OURS, PAPER_TABLE_III, PAPER_TABLE_IV_DREAMED
from dreamrg.profiles import load_profile
from dreamrg.runs.mcrg import DreamedMCRG


def _entries(data) -> set[str]:
    return {p.name for p in (data / "mcrg").iterdir()} if (data / "mcrg").is_dir() else set()


def test_spread_seeds_are_independent_of_the_main_run_and_of_each_other():
    prof = load_profile("smoke", {"mcrg": {"spread_seeds": 5}})
    seeds = ex.mcrg_spread_seeds(prof)
    assert len(seeds) == 5 and len({s for pair in seeds for s in pair}) == 10
    assert seeds[1] == tuple(int(s) for s in np.random.SeedSequence([prof.mcrg.seed, 1001]).generate_state(2))
    assert seeds[:2] == ex.mcrg_spread_seeds("smoke")             # more seeds extend the list, keep the first ones
    main = {prof.mcrg_dream_seed, prof.mcrg.seed}
    assert not main & {s for pair in seeds for s in pair}


def test_seed_spread_gives_independent_cached_results(tmp_path, monkeypatch):
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path))
    prof = load_profile("smoke")
    chosen = {mid: m for mid, m in ex.authors_models().items() if not mid.weighted and mid.k in (3, 5)}
    got = ex.mcrg_seed_spread(prof, models_=chosen)
    assert list(got) == list(chosen) and all(len(v) == prof.mcrg.spread_seeds == 2 for v in got.values())
    for results in got.values():
        assert all(isinstance(r, DreamedMCRG) and r.result.basis == "authors" for r in results)
        assert all((r.result.n_configs, r.result.L_fine) == (500, 16) for r in results)
        assert results[0].result.y_t != results[1].result.y_t and results[0].result.y_h != results[1].result.y_h
    # one pass per (model, seed) gives both bases, under the normal dreamed-MCRG entries (k = 5 with its k = 3 start)
    entries = _entries(tmp_path)
    assert len(entries) == 2 * 2 * 2 and sum("-authors-" in e for e in entries) == 4
    assert sum(e.startswith("dream-") and "-p1-" in e for e in entries) == 4
    again = ex.mcrg_seed_spread(prof, models_=chosen)
    assert {m: [r.to_dict() for r in v] for m, v in again.items()} == {m: [r.to_dict() for r in v]
                                                                       for m, v in got.items()}
    ours = ex.mcrg_seed_spread(prof, OURS, models_=chosen)
    assert _entries(tmp_path) == entries                          # the symmetrised results were made in that pass
    assert all(r.result.basis == "symmetrised" for v in ours.values() for r in v)
    # the main run (mcrg_dreamed: its own seeds, 1000 configurations) is a different dream
    k3 = next(mid for mid in chosen if mid.k == 3)
    main = ex.mcrg_dreamed(prof, PAPER_TABLE_IV_DREAMED, {k3: chosen[k3]})[k3]
    assert main.result.y_t not in [r.result.y_t for r in got[k3]]
    with pytest.raises(ValueError, match="reads blocking step 2"):
        ex.mcrg_seed_spread(prof, PAPER_TABLE_III, models_=chosen)


def test_seed_spread_table_and_quotes_at_smoke():
    from dreamrg.tables import for_display, mcrg_seed_spread, mcrg_spread_quotes

    t = mcrg_seed_spread("smoke")
    assert len(t) == 2 * 6 * 2 and list(t["basis"].unique()) == ["authors'", "symmetrised"]
    assert list(t["model"][:4]) == ["authors k=3", "authors k=3", "authors k=5", "authors k=5"]
    assert (t["seeds × configs"] == "2 × 500").all() and (t["dof_value"] == 1).all()
    k3 = t[(t["model"] == "authors k=3") & (t["quantity"] == "1/ν-RSRG")].iloc[0]
    assert k3["paper"] == "1.111" and k3["ratio_value"] > 0 and 0 <= k3["p"] <= 1
    shown = for_display(t)
    assert "ratio_value" not in shown and {"SD/σ", "χ²/dof", "(mean − paper)/σ"} <= set(shown.columns)
    q = mcrg_spread_quotes(t)
    assert (q["sp_seeds"], q["sp_configs"], q["sp_models"], q["sp_lines"]) == (2, 500, 6, 24)
    assert q["sp_r_min"] <= q["sp_r_median"] <= q["sp_r_max"] and "jackknife errors of η-RSRG" in q["sp_verdict"]


def test_seed_means_beyond_2_sigma_are_named_with_the_papers_own_statistical_error():
    from dreamrg.tables import mcrg_seed_spread, mcrg_spread_quotes

    t = mcrg_seed_spread("smoke")
    q = mcrg_spread_quotes(t)
    assert q["sp_means"].startswith("12 of 12 agree") or "beyond it" in q["sp_means"]
    far = t.copy()
    i = far.index[(far["basis"] == "authors'") & (far["model"] == "authors k=5")
                  & (far["quantity"] == "1/ν-RSRG")][0]
    far.loc[i, "mean_value"] = 1.067 - 10 * far.loc[i, "mean_err"]   # 10σ below the paper's 1.067
    text = mcrg_spread_quotes(far)["sp_means"]
    assert "1/ν-RSRG of authors k=5 (z = -" in text and "with the paper's own statistical error added" in text
    n_ok = int(text.split(" of ")[0])
    assert n_ok < 12 and "of 12 agree" in text
