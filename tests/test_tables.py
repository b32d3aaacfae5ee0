"""The chapters' tables built from small typed results (no cache, no computation)."""

import math

import numpy as np
import pandas as pd
import pytest
from _typed_results import (AUTHORS_5, DEEP_3, OURS_3, OURS_3W, FakeModel, dream_summary, mc_summaries, pair,
                            size_summary)

from dreamrg import tables
from dreamrg.experiments import MC, ModelId, plot_sizes, table_ii_rows
from dreamrg.fss import PairExponents, pair_exponents
from dreamrg.stats import Estimate
from dreamrg.paper_values import PAIRS, PRINTED_II, TABLE_II


def test_table_ii_mc_compares_each_pair_and_names_the_missing_ones():
    t = tables.table_ii_mc({(32, 8): pair(1.76, 1.02)})
    assert list(t["pair"]) == [f"({a}, {b})" for a, b in PAIRS]
    row = t.iloc[0]
    assert row["γ/ν ours"] == "1.760(10)" and row["γ/ν paper"] == PRINTED_II["MC"]["gamma_nu"][(32, 8)] == "1.754"
    # σ combines our error 0.01 with half the paper's last digit, 0.0005
    assert row["γ/ν (ours−paper)/σ"] == round((1.76 - 1.754) / math.hypot(0.01, 0.0005), 1)
    assert (t["1/ν ours"].iloc[1:] == "size not in profile").all()
    assert t["1/ν paper"].notna().all()


def test_exact_validation_one_row_per_algorithm_and_size():
    from dreamrg.exact import exact_energy_and_heat_capacity

    s = {("sw", 4): size_summary(4), ("wolff", 4): size_summary(4)}
    t = tables.exact_validation(s)
    assert list(t["algorithm"]) == ["sw", "wolff"] and list(t["L"]) == [4, 4] and (t["configs"] == 1000).all()
    e_ex, c_ex = exact_energy_and_heat_capacity(4)
    assert t["<e> exact"].iloc[0] == f"{e_ex:.8f}"
    assert t["z(e)"].iloc[0] == round((-1.4 - e_ex) / 0.014, 2)


def test_mc_fss_formats_every_observable_and_the_time():
    t = tables.mc_fss(mc_summaries((8, 16)))
    assert list(t["L"]) == [8, 16] and list(t["MC seconds"]) == [1.2, 1.2]
    assert list(t.columns[3:9]) == ["abs_m", "e", "chi", "c_me", "c", "U4"]
    assert t["tau_int(e)"].iloc[0] == "0.600(20)"


def test_training_stores(tmp_path):
    stores = {32: (tmp_path / "train-a" / "store", tmp_path / "valid-b" / "store")}
    t = tables.training_stores(stores, 500)
    assert t.to_dict("records") == [{"L_t": 32, "M (training)": 500, "validation": 100, "training store": "train-a",
                                     "validation store": "valid-b"}]


def _fits():
    history = {"seconds": [1.0, 3.0], "epoch": [1, 2], "train_loss": [3.0, 2.0], "valid_loss": [3.1, 2.1]}
    fits = {}
    for w in (False, True):
        adamw = ModelId("ours", 1, 3, w, 16, 500)
        fits[adamw] = FakeModel([0.1, 0.2, 0.3], {"full_loss": 101.0, "history": history})
        fits[ModelId("ours", 1, 3, w, 16, 500, "exact")] = FakeModel(
            [0.1, 0.25, 0.3], {"fit": {"loss": 100.0, "seconds_total": 0.5}})
    return fits


def test_kernel_parameters_and_adamw_against_the_optimum():
    fits = _fits()
    released = {ModelId("authors", 1, 5, False, 32, 10_000): FakeModel([0.1] * 6)}
    t = tables.kernel_parameters(fits, released)
    assert len(t) == 5 and list(t["k"]) == [3, 3, 3, 3, 5]                      # sorted by k, weighting, source
    assert list(t["method"][:2]) == ["adamw", "exact"] and t["method"].iloc[-1] == "AdamW (released)"
    assert list(t.columns[6:]) == ["W11", "W01", "W00", "W22", "W02", "W12"]  # orbits of the largest k shown
    assert t["W01"].iloc[1] == 0.25 and math.isnan(t["W22"].iloc[0]) and t["W22"].iloc[-1] == 0.1
    v = tables.adamw_vs_exact(fits)
    assert list(v["weighted"]) == [False, True]
    assert v["excess per configuration"].tolist() == [1.0, 1.0]
    assert v["loss exact (per spin)"].iloc[0] == 100.0 / 256 and v["AdamW seconds/epoch"].iloc[0] == 2.0
    assert v["max |ΔW|"].iloc[0] == pytest.approx(0.05)
    sizes = tables.training_size_parameters({mid: m for mid, m in fits.items() if mid.method == "exact"})
    assert list(sizes.columns) == ["L_t", "M", "k", "W11", "W01", "W00"]


def test_table_ii_groups_and_largest_deviations():
    mc = mc_summaries((8, 32))
    results = table_ii_rows(mc, {OURS_3: dream_summary(1.0), AUTHORS_5: dream_summary(1.01)})
    assert list(results) == [MC, OURS_3, AUTHORS_5] and results[MC] == pair_exponents(mc)
    g = tables.table_ii_groups(results).set_index("group")
    assert list(g["numbers"]) == [2, 2, 2]                                    # one pair, two exponents each
    paper = TABLE_II["k=5"]["gamma_nu"][(32, 8)]
    assert g.loc["authors' models dreamed by dreamrg", "max |ours − paper|"] == round(
        max(abs(1.75 * 1.01 - paper), abs(1.0 - TABLE_II["k=5"]["inv_nu"][(32, 8)])), 4)
    long = tables.table_ii_long(results)
    top = tables.largest_deviations(long, n=3)
    assert len(top) == 3 and "pending" not in set(top["ours"])
    assert list(top.columns) == ["row", "quantity", "paper", "ours", "σ", "(ours − paper)/σ"]
    expected = long.dropna(subset=["(ours − paper)/σ"]).sort_values("(ours − paper)/σ", key=abs, ascending=False)
    assert list(top["σ"]) == [f"{s:.2g}" for s in expected["σ"].head(3)]
    assert list(top["(ours − paper)/σ"].abs()) == sorted(long["(ours − paper)/σ"].abs().dropna(),
                                                          reverse=True)[:3]


def test_table_ii_in_two_halves_reads_back_as_the_whole(tmp_path, monkeypatch):
    """The book shows Table II as a γ/ν and a 1/ν table (seven columns each); the halves hold exactly the whole
    table's columns, the long form of the two joined equals the whole's, and the kept Table II is read back from
    either form of snapshot (the earlier whole one, or two halves)."""
    from dreamrg import display, quotes

    mc = mc_summaries((8, 32))
    results = table_ii_rows(mc, {OURS_3: dream_summary(1.0), AUTHORS_5: dream_summary(1.01)})
    whole = tables.table_ii(results)
    gamma, inv_nu = tables.table_ii(results, "γ/ν"), tables.table_ii(results, "1/ν")
    assert len(gamma.columns) == len(inv_nu.columns) == 2 * len(PAIRS) and list(gamma.index) == list(whole.index)
    assert all(c.startswith("γ/ν") for c in gamma.columns) and all(c.startswith("1/ν") for c in inv_nu.columns)
    pd.testing.assert_frame_equal(gamma.join(inv_nu)[whole.columns], whole)
    pd.testing.assert_frame_equal(tables.long_from_table_ii(gamma.join(inv_nu)), tables.long_from_table_ii(whole))
    with pytest.raises(ValueError, match=r"exponent must be one of \['γ/ν', '1/ν'\] or None \(both\), not 'eta'"):
        tables.table_ii(results, "eta")
    # kept: the earlier snapshots hold the whole table, later ones the halves (other tables may sit between them)
    full = whole
    halves = [full[[c for c in full.columns if c.startswith(n)]] for n in ("γ/ν", "1/ν")]
    other = pd.DataFrame({"x": [1]})
    for kept in ([full, other], [halves[0], other, halves[1]]):
        monkeypatch.setattr(display, "snapshot_tables", lambda *a, kept=kept, **k: kept)
        pd.testing.assert_frame_equal(quotes.kept_table_ii(), full)
    monkeypatch.setattr(display, "snapshot_tables", lambda *a, **k: [halves[0], other])
    with pytest.raises(LookupError, match=r"has no Table II's 1/ν columns"):
        quotes.kept_table_ii()


def test_fss_dream_spread_tests_table_ii_errors_and_compares_the_seeds_mean(monkeypatch):
    """One line per (model, Table II pair, exponent): the seeds' mean beside the paper's value, SD against the RMS
    jackknife σ; the quotes pool SD/σ over the models per pair, say whether the errors are too small or
    conservative, and judge the means with the combined σ (and with the paper's own 10^6-chain error added)."""
    from dreamrg import experiments as ex

    from dreamrg.experiments import paper_row

    def draws(mid, g_sd, n_sd, shift=0.0, err=0.001):  # four seeds about the paper's values: ± g_sd, ± n_sd
        paper = TABLE_II[paper_row(mid)]
        return [{(32, 8): PairExponents(Estimate(paper["gamma_nu"][(32, 8)] + g_sd * sign, err),
                                        Estimate(paper["inv_nu"][(32, 8)] + shift + n_sd * sign, err))}
                for sign in (1, -1, 1, -1)]

    models = [ModelId("authors", 1, k, w, 32, 1_000_000) for k in (3, 5, 7) for w in (False, True)]
    fake = {mid: draws(mid, 0.003, 0.0001, shift=0.004 if mid == models[3] else 0.0) for mid in models}
    monkeypatch.setattr(ex, "fss_dream_spread", lambda p: fake)
    t = tables.fss_dream_spread("smoke")
    assert len(t) == 12 and set(t["pair"]) == {"(32, 8)"} and list(t["quantity"][:2]) == ["γ/ν", "1/ν"]
    assert t["seeds × chains"].iloc[0] == "4 × 400" and t["dof_value"].iloc[0] == 3
    row = t[(t["model"] == "authors k=5, w.") & (t["quantity"] == "1/ν")].iloc[0]
    assert row["paper"] == "1.138" and row["(mean − paper)/σ"] > 2
    q = tables.fss_spread_quotes(t)
    assert q["fs_seeds"] == 4 and q["fs_configs"] == 400 and q["fs_models"] == 6
    assert "γ/ν at (32, 8) are too small by a factor of about" in q["fs_verdict"]        # scatter 3σ
    assert "1/ν at (32, 8) are conservative" in q["fs_verdict"]                           # scatter 0.1σ
    assert q["fs_means"].startswith("11 of 12 agree") and "1/ν (32, 8) of authors k=5, w. (z = +" in q["fs_means"]
    assert q["fs_paper_err_nu"] == pytest.approx(0.001 * math.sqrt(400 / 1_000_000))
    assert tables.fss_spread_quotes(t.iloc[:0])["fs_pool_nu"] == "n/a"


def test_fss_spread_seeds_are_their_own_streams():
    from dreamrg import experiments as ex
    from dreamrg.profiles import load_profile

    seeds = ex.fss_spread_seeds("quick")
    assert len(seeds) == load_profile("quick").fss.spread_seeds == len(set(seeds))
    assert seeds == ex.fss_spread_seeds("quick") and load_profile("quick").fss.seed not in seeds
    assert seeds[:2] != ex.fss_spread_seeds(load_profile("quick", {"fss": {"seed": 12}}))[:2]


def test_binder_table():
    t = tables.binder_table({OURS_3: dream_summary(1.0)}, 32)
    assert t.to_dict("records") == [{"model": "k=3", "U4(L=32)": "0.6000(60)", "relative to 0.61069": "-1.75%"}]


def test_plot_sizes():
    assert plot_sizes({OURS_3: dream_summary()}) == [4, 8, 16, 32]


def test_complexity_losses_report_targets_only_for_our_two_layer_networks():
    deep = FakeModel([0.0] * 4, {"history": {"epoch": [1, 2, 3], "valid_loss": [5.0, 3.0, 4.0], "returned_epoch": 2}},
                     n_params=600)
    nets = {OURS_3: FakeModel([0.1, 0.2, 0.3]), DEEP_3: deep}
    t = tables.complexity_losses(nets, {OURS_3: 512.0, DEEP_3: 256.0}, {DEEP_3: 3.5}, 16)
    assert list(t.index) == ["k=3", "2-layer k=3"] and list(t["parameters"]) == [3, 600]
    assert list(t["validation loss per spin"]) == [2.0, 1.0]
    row = t.loc["2-layer k=3"]
    assert row["target per spin"] == 3.5 / 256 and row["epochs run"] == 3 and row["epoch kept"] == 2
    assert bool(row["target reached"])
    assert pd.isna(t.loc["k=3", "target per spin"])


def test_for_display_and_truncation_ranges():
    trunc = pd.DataFrame({"L": 32, "step": ["32→16", "32→16", "16→8"], "y_h": "x", "y_h paper": "1.87537(5)",
                          "y_h_value": [1.8804, 1.8816, 1.876], "y_t paper": "0.931(5)",
                          "y_t_value": [0.906, 0.977, 1.0], "third_err": 0.1, "L_fine": 32})
    assert list(tables.for_display(trunc).columns) == ["L", "step", "y_h", "y_h paper", "y_t paper"]
    long = pd.DataFrame({"row": ["L=32"], "ours": ["1.8810(1)"], "value": [1.881], "error": [1e-4], "σ": [0.1]})
    assert list(tables.for_display(long).columns) == ["row", "ours", "σ"]                 # the numbers stay in ours
    assert list(tables.for_display(long.drop(columns="ours")).columns) == ["row", "value", "error", "σ"]
    ranges = tables.truncation_ranges(trunc)
    assert list(ranges.index) == ["32→16", "16→8"]
    first = ranges.loc["32→16"]
    assert (first["L"], first["truncations"], first["y_h lowest"], first["y_h highest"]) == (32, 2, 1.8804, 1.8816)
    assert (first["y_t lowest"], first["y_t highest"], first["y_t paper"]) == (0.906, 0.977, "0.931(5)")
    assert ranges.loc["16→8", "y_h lowest"] == ranges.loc["16→8", "y_h highest"] == 1.876


def test_folded_states_the_removed_columns_in_one_sentence():
    t = pd.DataFrame({"row": ["MC", "k=3", "k=5", "k=7"], "η": ["0.25(1)"] * 4, "pair": "(32, 8)",
                      "step": ["not run", "16→8 (authors)", "ill-conditioned", "16→8 (authors)"]}).set_index("row")
    shown, note = tables.folded(t, ["pair", "step", "absent"])
    assert list(shown.columns) == ["η"] and list(shown.index) == ["MC", "k=3", "k=5", "k=7"]
    assert note == ("pair: (32, 8) in every row. step: 16→8 (authors), except MC: not run; k=5: ill-conditioned.")
    assert list(t.columns) == ["η", "pair", "step"]                                     # the input is left alone
    tie = pd.DataFrame({"c": ["a", "b"]}, index=["x", "y"])
    assert tables.folded(tie, ["c"])[1] == "c: a, except y: b."                           # a tie: the first value seen
    assert tables.folded(tie, [])[1] == "" and tables.folded(tie.iloc[:0], ["c"])[1] == ""
    notes = pd.DataFrame({"note": [None, "ill-conditioned", float("nan")], "n": [pd.NA, 1, 1]}, index=["a", "b", "c"])
    assert tables.folded(notes, ["n"])[1] == "n: 1, except a: —."
    assert tables.folded(notes, ["note"])[1] == "note: b: ill-conditioned."                 # only rows with a note
    assert tables.folded(notes.iloc[[0, 2]], ["note"])[1] == ""
    rows = pd.DataFrame({"model": ["k=3", "k=5"], "quantity": ["η", "1/ν"], "note": ["—", "ill-conditioned"]})
    assert tables.folded(rows, ["note"], by=["model", "quantity"])[1] == "note: k=5 1/ν: ill-conditioned."


def test_without_empty_and_the_conventions_views():
    t = pd.DataFrame({"a": ["1", "—"], "b": [None, float("nan")], "c": ["—", ""], "d": [0, 1]})
    assert list(tables.without_empty(t).columns) == ["a", "d"]
    row = {"convention": "symmetrised (ours)", "step": "32→16", "configs": 1000}
    q = {f"{n}{x}": v for n in ("y_h", "y_t", "third", "ω") for x, v in (("", "1.0(1)"), (" paper", None), (" z", None))}
    conv = pd.DataFrame([{"data": "MC", "L": 32} | row | q | {"y_h paper": "1.87537(5)", "y_h z": 1.0},
                         {"data": "authors k=3", "L": 128} | row | q | {"y_t paper": 1.111, "third in": "even B1",
                                                                         "configs": 500},
                         {"data": "authors k=5", "L": 128, "convention": "authors'", "note": "ill-conditioned"}])
    lead, note = tables.conventions_view(conv, ("y_h", "y_t"))
    assert list(lead.index) == ["MC L=32", "authors k=3", "authors k=5"]
    assert list(lead.columns) == ["convention", "step", "y_h", "y_h paper", "y_h z", "y_t", "y_t paper"]
    assert note == ("configs: 1000, except authors k=3: 500; authors k=5: —. note: authors k=5: ill-conditioned. "
                    "The dreamed configurations have L = 128.")
    sub, _ = tables.conventions_view(conv, ("third", "ω"))
    assert list(sub.columns) == ["convention", "step", "third", "ω", "third in"]           # no paper value, no column


def test_mcrg_operators_lists_the_36_classes():
    t = tables.mcrg_operators()
    assert t.shape[0] == 36 and list(t.columns) == ["spins", "orientations", "name"] and t.index[0] == "o1"
    assert np.array_equal(np.bincount(t["spins"].astype(int))[1:], [1, 5, 10, 20])


# ----------------------------------------------------------------------------- σ rule and verdicts
def test_paper_values_keep_their_printed_precision():
    from dreamrg.paper_values import PRINTED_III, PRINTED_IV, parse_printed

    assert parse_printed("1.750") == (1.75, None, 3)
    assert parse_printed("1.87537(5)") == (1.87537, 5e-05, 5)
    assert parse_printed("0.280901(100)") == (0.280901, 1e-04, 6)
    assert parse_printed("-1.35(5)") == (-1.35, 0.05, 2)
    assert PRINTED_II["MC"]["inv_nu"][(128, 32)] == "1.020" and TABLE_II["MC"]["inv_nu"][(128, 32)] == 1.02
    assert PRINTED_III[32]["y_h"] == "1.87537(5)" and PRINTED_IV["MC"]["inv_nu_fss"] == "1.020"
    with pytest.raises(ValueError, match="not a printed number"):
        parse_printed("1.2e-3")


def test_combined_sigma_rule():
    assert tables.paper_sigma("1.750") == pytest.approx(0.0005)        # three decimals: ± half a unit of the last
    assert tables.paper_sigma("0.97") == pytest.approx(0.005)
    assert tables.paper_sigma("1.87537(5)") == pytest.approx(0.00005)  # a stated error bar wins
    assert tables.combined_sigma(0.0012, "1.750") == pytest.approx(math.hypot(0.0012, 0.0005))
    assert tables.combined_sigma(0.0, "0.931(2)") == pytest.approx(0.002)
    assert tables.z_score(1.7515, 0.0, "1.750") == pytest.approx(3.0)
    assert tables.z_score(1.7515, None, "1.750") is None and tables.z_score(1.7, 0.1, None) is None


def test_shown_z_never_rounds_across_the_2_sigma_line():
    from dreamrg.verdicts import compared, format_z, shown_z

    assert [shown_z(z) for z in (-1.96, -2.04, 2.0, 1.234, 0.05, None, math.nan)] == [-1.96, -2.04, 2.0, 1.2, 0.1,
                                                                                     None, None]
    assert compared(1.0 - 1.96 * 0.1, 0.1, "1.0(0)")["(ours − paper)/σ"] == pytest.approx(-1.96)
    assert compared(1.0, 0.012345, "1.0(0)")["σ"] == 0.012  # printed to two significant digits
    assert [format_z(z) for z in (-1.96, 1.0, -9.24, 0.0, None)] == ["−1.96", "+1.0", "−9.2", "+0.0", None]


def _long(rows):
    return pd.DataFrame([dict(zip(("table", "row", "quantity", "paper", "value", "error"), r),
                              ours="x" if r[4] is not None else "not run") for r in rows])


def test_verdicts_agree_explained_unexplained():
    from dreamrg.verdicts import judge, verdict_counts

    long = _long([
        ("II", "MC", "γ/ν (32, 8)", "1.754", 1.7548, 0.0001),        # z = 0.8/0.51 < 2: agrees
        ("II", "MC", "γ/ν (64, 16)", "1.751", 1.7600, 0.0001),       # MC: nothing explains it
        ("II", "authors k=5, w.", "γ/ν (32, 8)", "1.815", 1.8151, 0.0001),
        ("II", "k=5, w.", "γ/ν (32, 8)", "1.815", 1.7900, 0.0001),   # ours, authors agree: the seed spread
        ("II", "authors k=5, w.", "1/ν (32, 8)", "1.138", 1.1500, 0.0001),
        ("II", "k=5, w.", "1/ν (32, 8)", "1.138", 1.1000, 0.0001),   # ours, but the authors' also differ
        ("II", "k=3", "γ/ν (32, 8)", "1.803", 1.7900, 0.0001),       # no authors' row: not explained
        ("III", "L=512", "y_h", "1.87599(4)", 1.8810, 0.00005),     # large-L y_h: nothing explains it
        ("III", "L=1024", "y_h", "1.87600(4)", None, None),
        ("II", "2-layer k=3", "γ/ν (32, 8)", None, 1.8, 0.01),
    ])
    j = judge(long)
    assert list(j["verdict"]) == ["agrees", "differs, unexplained", "agrees", "differs, explained",
                                  "differs, unexplained", "differs, unexplained", "differs, unexplained",
                                  "differs, unexplained", "not run", "no paper value"]
    assert j["target"][3] == "fss-seed-spread" and pd.isna(j["target"][7])
    assert j["(ours − paper)/σ"][0] == pytest.approx(0.0008 / math.hypot(0.0001, 0.0005))
    counts = verdict_counts(j)
    assert counts.loc["II"].to_dict() == {"compared": 7, "agrees": 2, "differs, explained": 1,
                                          "differs, unexplained": 4, "not run": 0,
                                          "differ by chance (expected)": round(7 * 0.0455, 1),
                                          "agrees by our error alone": 1}
    assert counts.loc["III"].to_dict()["not run"] == 1
    before = judge(long, rule="ours")        # our error alone: 0.0008/0.0001 = 8, the first number differs
    assert before["verdict"][0] == "differs, unexplained"
    with pytest.raises(ValueError, match="rule"):
        judge(long, rule="paper")


def test_every_explanation_target_is_a_label_of_the_book():
    from pathlib import Path

    from dreamrg.display import label_pages
    from dreamrg.verdicts import EXPLANATIONS

    root = Path(__file__).resolve().parents[1]
    pages = label_pages(root)
    for e in EXPLANATIONS:
        assert e.target in pages, f"no (label)= target {e.target!r} in book/*.md"
    assert tables.EXPLANATIONS is EXPLANATIONS


def test_snapshot_tables_back_to_the_status_schema():
    wide = pd.DataFrame({"γ/ν (32, 8)": ["1.75185(57)", "1.802168(66)"], "γ/ν (32, 8) paper": ["1.754", "1.803"],
                         "1/ν (32, 8)": ["1.0761(20)", "pending"]}, index=pd.Index(["MC", "authors k=3"], name="row"))
    long = tables.long_from_table_ii(wide)
    assert list(long["quantity"]) == ["γ/ν (32, 8)", "1/ν (32, 8)"] * 2
    assert list(long["paper"]) == ["1.754", "1.077", "1.803", "1.163"]
    assert long["value"][0] == 1.75185 and long["error"][0] == pytest.approx(0.00057) and pd.isna(long["value"][3])
    assert tables.paper_printed("III, step 2", "L=512", "y_t") == "0.992(2)"
    assert tables.paper_printed("IV", "authors k=3, w.", "η-RSRG") == "0.243"
    assert tables.paper_printed("II", "2-layer k=3", "γ/ν (32, 8)") is None


def test_verdicts_with_the_papers_conventions():
    """Table III's drifting rows and Table IV's MC 1/ν-RSRG are explained by the MCRG chapter's section; a large-L
    y_h that differed would not be, nor would a first-step MC η-RSRG (the registry no longer excuses the first
    step: every judged table uses the paper's conventions)."""
    from dreamrg.verdicts import judge

    long = _long([
        ("III", "L=32", "y_t", "0.931(2)", 0.9999, 0.0014),
        ("III", "L=512", "y_t", "0.992(2)", 1.0011, 0.0006),
        ("III", "L=512", "y_h", "1.87599(4)", 1.8770, 0.00001),
        ("III", "L=512", "y_h", "1.87599(4)", 1.87605, 0.00001),
        ("IV", "MC", "1/ν-RSRG", "0.973", 1.0013, 0.0011),
        ("IV", "MC", "η-RSRG", "0.248", 0.2479, 0.0001),
        ("IV", "MC", "η-RSRG", "0.248", 0.2380, 0.0001),
    ])
    j = judge(long)
    assert list(j["verdict"]) == ["differs, explained", "differs, explained", "differs, unexplained", "agrees",
                                  "differs, explained", "agrees", "differs, unexplained"]
    assert set(j["target"][[0, 1, 4]]) == {"mcrg-paper-numbers"}
    assert "as far as the published code allows" in j["reason"][0]


def test_kept_status_quotes_and_tables_come_from_the_kept_data():
    """The status page's kept section reads the MCRG chapter's kept Table III (both steps) and its own kept judged
    table: Table IV's MC η-RSRG at either step is 4 − 2 y_h of the L = 128 row, and every kept number of Tables
    II, III and IV is judged again (none dropped, none added)."""
    from dreamrg import display, quotes

    q, kept = quotes.status_kept()
    iii = tables.long_from_formatted(display.kept_table("mcrg", lambda t: "table" in t.columns
                                                        and t["table"].eq("III, step 1").any(), "Table III"))
    y_h = iii.set_index(["table", "row", "quantity"]).loc[("III, step 1", "L=128", "y_h")]
    assert tables.parse_estimate(q["iv_eta_s1"])[0] == pytest.approx(4 - 2 * y_h["value"], abs=1e-6)
    judged = display.kept_table("status", lambda t: "verdict" in t.columns, "judged")
    assert len(kept) == q["kept_rows"] == judged["table"].isin(["II", "III", "IV"]).sum()
    assert set(kept["table"]) == {"II", "III", "IV"} and kept["verdict"].notna().all()
    assert q["iii_s1_zmin"] > q["iii_s2_z512"]  # the first step is far from the paper's rows, the second is not


def test_table_iii_streamed_row_finished_in_progress_or_not_started(monkeypatch):
    """A streamed size (mcrg.stream_sizes) is read, never computed, by Table III: its numbers with error bars and
    its statistics beside the paper's 10^6 once finished; "in progress: N of n" (verdict "in progress") from its
    checkpoints before; "not run" (not started) before that."""
    from dreamrg import experiments as ex
    from dreamrg.conventions import PAPER_TABLE_III
    from types import SimpleNamespace

    from dreamrg.mcrg import StreamProgress
    from dreamrg.profiles import load_profile
    from dreamrg.runs.mcrg import MCRGRun
    from dreamrg.verdicts import judge, verdict_counts

    def step(L_fine, y_h, n=5000):
        values = dict(y_h=y_h, y_t=1.0, y_r1=-0.4, omega=-1.0)
        return SimpleNamespace(L_fine=L_fine, L_coarse=L_fine // 2, n_configs=n, **values,
                               **{f"{k}_err": 1e-5 for k in values})

    p = load_profile("quick", {"mcrg": {"stream_sizes": [1024], "stream_configs": 5000}})
    run = MCRGRun((step(1024, 1.8755), step(512, 1.87601)), 1.0, 2.0)
    stored = {L: MCRGRun((step(L, 1.87), step(L // 2, 1.875)), 1.0, 2.0) for L in (32, 128)}
    monkeypatch.setattr(ex, "mcrg_mc", lambda profile, convention: stored)
    for status, shown, verdict in ((None, "not run", "not run"),
                                   (StreamProgress(5000, 1200, 64, 3, 1.0, 1.0), "in progress: 1200 of 5000",
                                    "in progress"),
                                   (run, "1.876010(10)", "agrees")):
        monkeypatch.setattr(ex, "mcrg_mc_streamed", lambda profile, convention, status=status: {1024: status})
        t = judge(tables.table_iii_long(p, convention=PAPER_TABLE_III))
        row = t[(t["row"] == "L=1024") & (t["quantity"] == "y_h")].iloc[0]
        assert (row["ours"], row["verdict"], row["paper"]) == (shown, verdict, "1.87600(4)")
        assert ("not started" in row["statistics"]) == (status is None)
        if isinstance(status, MCRGRun):
            assert row["statistics"] == "5000 MC configs, streamed (none stored; paper: 10⁶ configurations), " \
                                        "step 512→256" and row["error"] > 0
        assert verdict_counts(t).loc["III", "not run"] == 3 + (0 if verdict == "agrees" else 3)  # and L = 512


def test_table_iii_streamed_shows_the_paper_profiles_streamed_rows_at_any_profile(monkeypatch):
    """table_iii_streamed: only the streamed sizes (the paper's L = 1024), read and never computed: the rows of a
    finished run with error bars, else its progress; no stored size is touched."""
    from types import SimpleNamespace

    from dreamrg import experiments as ex
    from dreamrg.conventions import PAPER_TABLE_III
    from dreamrg.mcrg import StreamProgress
    from dreamrg.runs.mcrg import MCRGRun

    def step(L_fine, y_h):
        values = dict(y_h=y_h, y_t=1.0, y_r1=-0.4, omega=-1.0)
        return SimpleNamespace(L_fine=L_fine, L_coarse=L_fine // 2, n_configs=100_000, **values,
                               **{f"{k}_err": 1e-5 for k in values})

    monkeypatch.setattr(ex, "mcrg_mc", lambda *a, **k: pytest.fail("a stored size was computed"))
    seen = []
    for status, shown in ((StreamProgress(100_000, 4096, 64, 2, 1.0, 1.0), "in progress: 4096 of 100000"),
                          (MCRGRun((step(1024, 1.8755), step(512, 1.87601)), 1.0, 2.0), "1.876010(10)")):
        monkeypatch.setattr(ex, "mcrg_mc_streamed",
                            lambda profile, convention, status=status: (seen.append(profile.name), {1024: status})[1])
        t = tables.table_iii_streamed("paper", convention=PAPER_TABLE_III)
        assert list(t["row"].unique()) == ["L=1024"] and list(t["quantity"]) == ["y_h", "y_t", "omega"]
        assert t.iloc[0]["ours"] == shown and t.iloc[0]["paper"] == "1.87600(4)"
    assert seen == ["paper", "paper"]
    every = tables.table_iii_streamed("paper", redundant=True)  # every step, with y_r1
    assert list(every["table"].unique()) == ["III, step 1", "III, step 2"] and "y_r1" in set(every["quantity"])


def test_mc_exact_spread_tests_the_sampler_against_kaufman_with_many_seeds():
    """Fake seeds about Kaufman's values: honest errors read "stand", a 3σ scatter "too small", a shifted energy
    is named among the means, and Σ z² over every line is the single χ² test of the means."""
    from types import SimpleNamespace

    from dreamrg.exact import exact_energy_and_heat_capacity

    def seeds(L, sd_e, sd_c, shift=0.0, err=1e-3):  # four seeds at exact ± sd, errors err
        e_ex, c_ex = exact_energy_and_heat_capacity(L)
        return [SimpleNamespace(L=L, n=500, e=Estimate(e_ex + shift + sd_e * s, err), c=Estimate(c_ex + sd_c * s, err))
                for s in (1, -1, 1, -1)]

    fake = {("sw", L): seeds(L, 0.00115, 0.003, shift=0.01 if L == 16 else 0.0) for L in (8, 16, 32)}
    t = tables.mc_exact_spread(fake)
    assert len(t) == 6 and list(t["quantity"][:2]) == ["⟨e⟩", "c"] and "(mean − exact)/σ" in t.columns
    assert t["seeds × configs"].iloc[0] == "4 × 500" and (t["dof_value"] == 3).all() and set(t["algorithm"]) == {"sw"}
    q = tables.mc_exact_spread_quotes(t)
    assert (q["ms_seeds"], q["ms_configs"], q["ms_dof"]) == (4, 500, 6)
    assert q["ms_verdict"] == "the errors of ⟨e⟩ stand; the errors of c are too small"
    assert q["ms_means"].startswith("5 of 6 agree with the exact values within 2σ; beyond it: ⟨e⟩ at L = 16 (sw) "
                                    "(z = +")
    z = t["(mean − exact)/σ"].to_numpy(dtype=float)
    assert q["ms_chi2"] == pytest.approx(np.sum(z ** 2), rel=0.01) and 0 <= q["ms_p"] < 1e-6
    assert tables.mc_exact_spread_quotes(t.iloc[:0])["ms_pool_e"] == "n/a"
    # the shifted energy is the line followed up; what the fresh seeds say is read in three ways
    algorithm, L, quantity, z16 = tables.furthest_line(t)
    assert (algorithm, L, quantity) == ("sw", 16, "⟨e⟩") and z16 > 4
    for shift, reading in ((0.0, "was a fluctuation"), (0.01, "persists with the fresh seeds, on the same side"),
                           (-0.01, "deviate again, but on the other side")):
        again = tables.mc_exact_spread({("sw", 16): seeds(16, 0.00115, 0.003, shift=shift)})
        f = tables.mc_followup_quotes(t, again)
        assert f["mf_line"] == "⟨e⟩ of Swendsen–Wang at L = 16" and f["mf_z_before"].startswith("+")
        assert reading in f["mf_reading"] and f["mf_other"].startswith("c: z = ")
        assert (f["mf_seeds"], f["mf_configs"]) == (4, 500)
    with pytest.raises(ValueError, match="no line to follow up"):
        tables.furthest_line(t.iloc[:0])


def test_mc_exact_spread_at_smoke_runs_the_sampler_with_seeds_of_its_own():
    """The real samplers, two seeds per size and algorithm: the seeds differ per (algorithm, i, L) and from the
    chapter's own MC seed, and their means agree with Kaufman's values."""
    from dreamrg import experiments as ex

    seeds = [s for a in ("sw", "wolff") for L in (4, 8) for s in ex.mc_spread_seeds("smoke", L, a)]
    assert len(seeds) == 8 and len({*seeds, 2024}) == 9
    with pytest.raises(ValueError, match="algorithm must be one of sw, wolff; got 'metropolis'"):
        ex.mc_spread_seeds("smoke", 4, "metropolis")
    t = tables.mc_exact_spread(ex.mc_validation_spread("smoke"))
    assert list(t["L"]) == [4, 4, 8, 8] * 2 and list(t["algorithm"]) == ["sw"] * 4 + ["wolff"] * 4
    assert t["seeds × configs"].iloc[0] == "2 × 2000" and t["(mean − exact)/σ"].abs().max() < 4
    # the follow-up: fresh seeds of their own, at a validation size only, agreeing with Kaufman too
    fresh = ex.mc_followup_seeds("smoke", 8, "wolff")
    assert len(fresh) == 2 and not {*fresh} & {*seeds, 2024} and fresh != ex.mc_followup_seeds("smoke", 8, "sw")
    with pytest.raises(ValueError, match=r"L must be one of the validation sizes \[4, 8\]; got 16"):
        ex.mc_followup("smoke", "sw", 16)
    again = tables.mc_exact_spread({("wolff", 8): ex.mc_followup("smoke", "wolff", 8)})
    assert again["seeds × configs"].iloc[0] == "2 × 4000" and again["(mean − exact)/σ"].abs().max() < 4
