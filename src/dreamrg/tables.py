"""Tables against the paper: Table II (FSS exponents), III (MCRG of Monte Carlo), IV (FSS against RSRG),
and the other comparisons the chapters and the status page show.

Every function returns a :class:`pandas.DataFrame` (except the readers of printed numbers
:func:`parse_estimate` and :func:`paper_printed`); the chapters show them as they are. The
status page's verdicts come from :func:`status_table` (:func:`dreamrg.verdicts.judge`);
:func:`long_from_formatted` and :func:`long_from_table_ii` turn tables kept in snapshots
back into the same schema. The data come from
:mod:`dreamrg.experiments` (which models and results a profile means; functions taking
a profile take a :class:`~dreamrg.profiles.Profile` or a built-in profile's name); rows are
labelled with :attr:`dreamrg.experiments.ModelId.label` (or ``"MC"``), the paper's
values from :mod:`dreamrg.paper_values` as printed. Every comparison with the paper uses
one rule, :func:`dreamrg.verdicts.z_score`: (ours − paper)/σ with σ our error and the
paper's (its error bar, or half a unit of its last printed digit) added in quadrature.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dreamrg import experiments as ex
from dreamrg import models
from dreamrg.conventions import PAPER_TABLE_III
from dreamrg.experiments import MC, ModelId, as_profile, paper_row, row_label
from dreamrg.fss import PairExponents, exact_comparison
from dreamrg.observables import SizeSummary
from dreamrg.paper_values import (EXACT, PAIRS, PAPER_FSS_DREAMED_CONFIGS, PRINTED_II, PRINTED_III, PRINTED_IV,
                                  TABLE_II, parse_printed)
from dreamrg.profiles import Profile
from dreamrg.runs.summaries import DreamSummary, MCSummary
from dreamrg.stats import format_estimate, seed_spread as _seed_spread
# the σ rule and the explanation registry, re-exported: tables.combined_sigma, tables.EXPLANATIONS, ...
from dreamrg.verdicts import EXPLANATIONS, combined_sigma, judge, paper_sigma, verdict_counts, z_score  # noqa: F401
from dreamrg.verdicts import AGREE_Z, format_z
from dreamrg.verdicts import compared as _compared
# the MCRG tables (Tables III and IV, the MCRG chapter's), re-exported: tables.table_iv, tables.mcrg_conventions, ...
from dreamrg.mcrg_tables import (_TABLE_IV_PAPER_KEYS, mcrg_conventions, mcrg_costs, mcrg_irreps_dreamed,  # noqa: F401
                                 conventions_view, mcrg_paper_quotes, mcrg_seed_spread, mcrg_spread_quotes,
                                 mcrg_irreps_mc, mcrg_operators, mcrg_parent, mcrg_third_mc, mcrg_truncations,
                                 table_iii_long, table_iii_streamed, table_iv, table_iv_long, truncation_ranges)
from dreamrg.table_views import folded, without_empty  # noqa: F401
from dreamrg.spread_tables import (configs_of, estimate_or_na, means_text, paper_own_error, pooled,
                                   ratio_reading, seeds_columns, spread_row)

if TYPE_CHECKING:
    import torch

_EXPONENTS = (("gamma_nu", "γ/ν"), ("inv_nu", "1/ν"))
Rows = dict[ModelId | str, dict[tuple[int, int], PairExponents]]


# ----------------------------------------------------------------------------- Table II
def table_ii(results: Rows, exponent: str | None = None) -> pd.DataFrame:
    """Table II with our values (and errors) beside the paper's.

    ``results`` maps ``"MC"`` or a :class:`~dreamrg.experiments.ModelId` to the output of
    :func:`dreamrg.fss.pair_exponents` or :func:`~dreamrg.fss.joint_pair_exponents`
    (e.g. :func:`dreamrg.experiments.table_ii_results`). The paper's row is the one of
    the model's kernel and loss (ours and the authors' alike; none for two-layer networks).
    ``exponent``: ``"γ/ν"`` or ``"1/ν"`` for that half of the table only (seven columns, which
    fit a page), None for both. Columns are ``"γ/ν (32, 8)"`` (ours) and ``"γ/ν (32, 8) paper"``
    whichever is asked for, so :func:`long_from_table_ii` reads either form.
    """
    names = [name for _, name in _EXPONENTS]
    if exponent is not None and exponent not in names:
        raise ValueError(f"exponent must be one of {names} or None (both), not {exponent!r}")
    rows = []
    for key, exps in results.items():
        paper = PRINTED_II.get(paper_row(key))
        row: dict = {"row": row_label(key)}
        for q, name in _EXPONENTS:
            if exponent is not None and name != exponent:
                continue
            for pair in PAIRS:
                col = f"{name} {pair}"
                est = getattr(exps[pair], q) if pair in exps else None
                row[col] = format_estimate(est.value, est.error) if est else "—"
                row[f"{col} paper"] = paper[q][pair] if paper else None
        rows.append(row)
    return pd.DataFrame(rows).set_index("row")


def table_ii_long(results: Rows) -> pd.DataFrame:
    """Table II in long form: one line per (row, quantity, pair): the paper's number as printed, ours, σ and
    (ours − paper)/σ (:func:`dreamrg.verdicts.z_score`)."""
    rows = []
    for key, exps in results.items():
        paper_row_ = PRINTED_II.get(paper_row(key))
        for q, name in _EXPONENTS:
            for pair in PAIRS:
                est = getattr(exps[pair], q) if pair in exps else None
                paper = paper_row_[q][pair] if paper_row_ else None
                rows.append({
                    "row": row_label(key), "quantity": f"{name} {pair}", "paper": paper,
                    "ours": format_estimate(est.value, est.error) if est else "pending",
                    "value": est.value if est else None, "error": est.error if est else None,
                    **_compared(est.value if est else None, est.error if est else None, paper),
                })
    return pd.DataFrame(rows)


def seed_spread(profile: Profile | str, k: int = 5, weighted: bool = True, n_seeds: int = 3) -> pd.DataFrame:
    """Run-to-run spread of one Table II row over AdamW training seeds (same data, same settings).

    Training seeds ``seed, seed + 1, ...`` of the training chapter
    (:func:`dreamrg.experiments.seed_spread_results`). The last line gives the mean and
    the standard deviation over seeds beside the paper's value.
    """
    rows, values = [], {"gamma_nu": [], "inv_nu": []}
    for seed, exps in ex.seed_spread_results(profile, k, weighted, n_seeds).items():
        pair = max(exps)
        row = {"training seed": seed, "pair": str(pair)}
        for q, name in _EXPONENTS:
            est = getattr(exps[pair], q)
            row[name] = format_estimate(est.value, est.error)
            values[q].append(est.value)
        rows.append(row)
    paper = PRINTED_II.get(f"k={k}, w." if weighted else f"k={k}", {})
    summary = {"training seed": "mean ± std over seeds", "pair": str(pair)}
    for q, name in _EXPONENTS:
        v = np.asarray(values[q])
        summary[name] = f"{v.mean():.4f} ± {v.std(ddof=1):.4f}" if len(v) > 1 else f"{v.mean():.4f}"
        summary[f"{name} paper"] = paper.get(q, {}).get(pair)
    rows.append(summary)
    return pd.DataFrame(rows).set_index("training seed")


def fss_dream_spread(profile: Profile | str) -> pd.DataFrame:
    """Are Table II's error bars right? The dreaming-seed spread of the authors' released models.

    :func:`dreamrg.experiments.fss_dream_spread`: each of the authors' six single-layer models dreamed
    with ``fss.spread_seeds`` independent seeds of ``fss.spread_configs`` chains, as the FSS chapter
    dreams. One line per (model, pair of Table II, exponent) with :func:`dreamrg.spread_tables.spread_row`:
    the seeds' mean beside the paper's value and (mean − paper)/σ, the SD of the seeds against the RMS
    of their jackknife errors (SD/σ ≈ 1 if the errors are right), χ²/dof and p.
    """
    p = as_profile(profile)
    rows = []
    for mid, draws in sorted(ex.fss_dream_spread(p).items(), key=lambda item: (item[0].weighted, item[0].k)):
        paper = PRINTED_II.get(paper_row(mid), {})
        for pair in [q for q in PAIRS if all(q in d for d in draws)]:
            for q, name in _EXPONENTS:
                x, e = zip(*((getattr(d[pair], q).value, getattr(d[pair], q).error) for d in draws))
                rows.append({"model": mid.label, "pair": str(pair), "quantity": name,
                             **seeds_columns(len(draws), p.fss.spread_configs, "chains")}
                            | spread_row(_seed_spread(x, e), paper.get(q, {}).get(pair)))
    return pd.DataFrame(rows)


def fss_spread_quotes(spread: pd.DataFrame) -> dict:
    """The numbers the FSS chapter's error-bar check quotes, from :func:`fss_dream_spread` (``{glue name: value}``).

    Per exponent, SD/σ pooled over the six models at each pair (independent dreams; pairs of one model
    share chains and are not pooled together): ``fs_pool_gamma`` / ``fs_pool_nu``, the pooled ratios as
    text, and ``fs_verdict``; ``fs_means``: how many of the seeds' means agree with the paper (combined σ)
    and, for the others, z also with the paper's own statistical error at its 10^6 chains added (which it
    does not print: our RMS jackknife σ scaled to them); ``fs_paper_err_gamma`` / ``_nu``: the median of
    that error per exponent.
    """
    if not len(spread):
        return {"fs_lines": 0, "fs_seeds": 0, "fs_configs": 0, "fs_models": 0, "fs_pool_gamma": "n/a",
                "fs_pool_nu": "n/a", "fs_verdict": "the profile has no pair of Table II to check", "fs_means": "n/a",
                "fs_paper_err_gamma": math.nan, "fs_paper_err_nu": math.nan}
    S = int(spread["dof_value"].iloc[0]) + 1
    configs = configs_of(spread)
    out: dict = {"fs_lines": len(spread), "fs_seeds": S, "fs_configs": configs,
                 "fs_models": spread["model"].nunique()}
    verdicts = []
    for tag, (_, name) in zip(("gamma", "nu"), _EXPONENTS):
        parts = []
        for pair, rows in spread[spread["quantity"] == name].groupby("pair", sort=False):
            R, R_err, _ = pooled(rows)
            parts.append(f"{format_estimate(R, R_err)} at {pair}")
            reading = ratio_reading(R, R_err)
            if reading == "too small":
                verdicts.append(f"the jackknife errors of {name} at {pair} are too small by a factor of about {R:.2f}")
            elif reading == "conservative":
                verdicts.append(f"those of {name} at {pair} are conservative (the seeds scatter by about {R:.2f} of "
                                "them)")
        out[f"fs_pool_{tag}"] = ", ".join(parts)
    too_small = any("too small" in v for v in verdicts)
    out["fs_verdict"] = "; ".join(
        ([] if too_small else ["no pooled ratio lies more than 2σ above 1, so the jackknife errors are not too small"])
        + verdicts)
    out["fs_means"] = means_text(spread, configs=configs, paper_configs=PAPER_FSS_DREAMED_CONFIGS,
                                 table="the paper's Table II",
                                 label=lambda r: f"{r.quantity} {r.pair} of {r.model}")
    for tag, (_, name) in zip(("gamma", "nu"), _EXPONENTS):
        out[f"fs_paper_err_{tag}"] = paper_own_error(spread[spread["quantity"] == name], configs=configs,
                                                     paper_configs=PAPER_FSS_DREAMED_CONFIGS)
    return out


def depth_verdict(single: dict[ModelId, DreamSummary], deep: dict[ModelId, DreamSummary],
                  mc_ref: dict[int, SizeSummary], L: int, names=("chi", "c_me", "c", "U4")) -> pd.DataFrame:
    """Closest-to-MC single-layer and two-layer model per observable at size ``L``.

    "yes"/"no" in the last column require the two distances to differ by more than
    twice the larger combined error; otherwise "undecided".
    """
    def closest(group, name):
        ref = mc_ref[L].observable(name)
        mid, d = min(group.items(), key=lambda kv: abs(kv[1].sizes[L].observable(name).value - ref.value))
        v = d.sizes[L].observable(name)
        return mid.label, abs(v.value - ref.value), float(np.hypot(v.error, ref.error))

    rows = []
    for name in names:
        ref = mc_ref[L].observable(name)
        s_label, s_d, s_e = closest(single, name)
        d_label, d_d, d_e = closest(deep, name)
        margin = 2 * max(s_e, d_e)
        rows.append({"observable": name, "L": L, "MC": format_estimate(ref.value, ref.error),
                     "best single layer": s_label, "|Δ| single": s_d, "σ single": s_e,
                     "best two layer": d_label, "|Δ| two-layer": d_d, "σ two-layer": d_e,
                     "two-layer closer to MC?": "yes" if d_d < s_d - margin else ("no" if s_d < d_d - margin
                                                                                   else "undecided")})
    return pd.DataFrame(rows).round(4)


def largest_deviations(long: pd.DataFrame, n: int = 12) -> pd.DataFrame:
    """The ``n`` lines of :func:`table_ii_long` farthest from the paper in units of the combined σ, for reading:
    the paper's number and ours as printed, σ to two significant digits (the numeric ``value`` and ``error``
    columns, which repeat "ours", are left out)."""
    done = long[long["ours"] != "pending"]
    top = done.sort_values("(ours − paper)/σ", key=abs, ascending=False).head(n).reset_index(drop=True)
    top = top.drop(columns=["value", "error"])
    top["σ"] = [f"{s:.2g}" if s is not None and s == s else None for s in top["σ"]]
    return top


_GROUPS = {"MC": lambda key: key == MC,
           "authors' models dreamed by dreamrg": lambda key: isinstance(key, ModelId) and key.source == "authors",
           "our AdamW models": lambda key: isinstance(key, ModelId) and key.source == "ours"}


def table_ii_groups(results: Rows) -> pd.DataFrame:
    """|ours − paper| of the Table II numbers by group (MC, the authors' models, ours): how many, median and
    maximum, beside our median error."""
    long = table_ii_long(results)
    rows = []
    for group, member in _GROUPS.items():
        d = long[long["row"].isin({row_label(key) for key in results if member(key)})].dropna(subset=["value"])
        diff = (d["value"] - d["paper"].map(lambda t: parse_printed(t).value)).abs()
        rows.append({"group": group, "numbers": len(d), "median |ours − paper|": round(diff.median(), 4),
                     "max |ours − paper|": round(diff.max(), 4), "median our error": round(d["error"].median(), 4)})
    return pd.DataFrame(rows)


def binder_table(dreamed: dict[ModelId, DreamSummary], L: int) -> pd.DataFrame:
    """U4 of each dreamed model at size ``L`` and its relative distance to the universal U4(∞)."""
    u4 = EXACT["U4_infinity"]
    return pd.DataFrame([{"model": mid.label, f"U4(L={L})": format_estimate(d.sizes[L].U4.value, d.sizes[L].U4.error),
                          "relative to 0.61069": f"{d.sizes[L].U4.value / u4 - 1:+.2%}"}
                         for mid, d in dreamed.items()])


# ----------------------------------------------------------------------------- the Monte Carlo chapter
def exact_validation(summaries: dict[tuple[str, int], SizeSummary]) -> pd.DataFrame:
    """⟨e⟩ and c of MC summaries keyed by (algorithm, L) beside the exact finite-size values, with
    z = (MC − exact)/error (e.g. :func:`dreamrg.experiments.mc_validation`)."""
    rows = []
    for (algorithm, L), s in summaries.items():
        cmp = exact_comparison(s)
        rows.append({
            "algorithm": algorithm, "L": L, "configs": s.n,
            "<e> MC": format_estimate(cmp["e_mc"].value, cmp["e_mc"].error),
            "<e> exact": f"{cmp['e_exact']:.8f}", "z(e)": round(cmp["z_e"], 2),
            "c MC": format_estimate(cmp["c_mc"].value, cmp["c_mc"].error),
            "c exact": f"{cmp['c_exact']:.6f}", "z(c)": round(cmp["z_c"], 2),
        })
    return pd.DataFrame(rows)


_EXACT_QUANTITIES = (("⟨e⟩", "e"), ("c", "c"))


def mc_exact_spread(spreads: dict[tuple[str, int], list[SizeSummary]]) -> pd.DataFrame:
    """The many-seed check of the samplers against Kaufman's exact values (e.g.
    :func:`dreamrg.experiments.mc_validation_spread`, keyed by (algorithm, L)): one line per (algorithm, L,
    quantity) with :func:`dreamrg.spread_tables.spread_row` against the exact value (printed to 8 decimals, so its σ
    is negligible): the seeds' mean and (mean − exact)/σ, the SD of the seeds against their RMS error (SD/σ),
    χ²/dof and p. Raw numbers in ``*_value``/``*_err`` for :func:`mc_exact_spread_quotes`."""
    rows = []
    for (algorithm, L), summaries in spreads.items():
        cmp = [exact_comparison(s) for s in summaries]
        for name, key in _EXACT_QUANTITIES:
            x, e = zip(*((c[f"{key}_mc"].value, c[f"{key}_mc"].error) for c in cmp))
            exact = f"{cmp[0][f'{key}_exact']:.8f}"
            rows.append({"algorithm": algorithm, "L": L, "quantity": name}
                        | seeds_columns(len(summaries), summaries[0].n)
                        | spread_row(_seed_spread(x, e), exact, ref="exact"))
    return pd.DataFrame(rows)


def mc_exact_spread_quotes(spread: pd.DataFrame) -> dict:
    """The numbers the Monte Carlo chapter's many-seed check quotes, from :func:`mc_exact_spread`
    (``{glue name: value}``): ``ms_seeds``, ``ms_configs``; per quantity (``e``, ``c``), SD/σ pooled over the
    algorithms and sizes (every line has seeds of its own) as text and its reading; ``ms_means``: how many of the
    seeds' means agree with the exact values; ``ms_chi2`` / ``ms_dof`` / ``ms_p``: Σ z² of the means over every
    line, its degrees of freedom and p-value, a single test of the samplers at the combined statistics."""
    from scipy.stats import chi2

    if not len(spread):
        return {"ms_seeds": 0, "ms_configs": 0, "ms_pool_e": "n/a", "ms_pool_c": "n/a", "ms_verdict": "n/a",
                "ms_means": "n/a", "ms_chi2": math.nan, "ms_dof": 0, "ms_p": math.nan}
    configs = configs_of(spread)
    out: dict = {"ms_seeds": int(spread["dof_value"].iloc[0]) + 1, "ms_configs": configs}
    readings: dict[str, list[str]] = {}
    for (name, key) in _EXACT_QUANTITIES:
        R, R_err, _ = pooled(spread[spread["quantity"] == name])
        out[f"ms_pool_{key}"] = estimate_or_na(R, R_err)
        readings.setdefault(ratio_reading(R, R_err), []).append(name)
    out["ms_verdict"] = "; ".join(f"the errors of {' and '.join(names)} {'stand' if r == 'stand' else 'are ' + r}"
                                  for r, names in readings.items())
    out["ms_means"] = means_text(spread, configs=configs, paper_configs=None, table="the exact values",
                                 label=lambda r: f"{r.quantity} at L = {r.L} ({r.algorithm})", ref="exact")
    z = _exact_z(spread)
    out["ms_chi2"], out["ms_dof"] = float(np.sum(z ** 2)), len(z)
    out["ms_p"] = float(chi2.sf(out["ms_chi2"], len(z)))
    return out


def _exact_z(spread: pd.DataFrame) -> np.ndarray:
    """(mean − exact)/σ of every line of :func:`mc_exact_spread`, unrounded."""
    return np.array([z_score(r.mean_value, r.mean_err, x) for r, x in zip(spread.itertuples(), spread["exact"])])


def furthest_line(spread: pd.DataFrame) -> tuple[str, int, str, float]:
    """(algorithm, L, quantity, z) of the line of :func:`mc_exact_spread` whose mean lies furthest from the exact
    value in units of its σ (the first such line on a tie): the line :func:`dreamrg.experiments.mc_followup`
    simulates again."""
    if not len(spread):
        raise ValueError("the many-seed table has no line to follow up")
    z = _exact_z(spread)
    i = int(np.argmax(np.abs(z)))
    row = spread.iloc[i]
    return str(row["algorithm"]), int(row["L"]), str(row["quantity"]), float(z[i])


def mc_followup_quotes(spread: pd.DataFrame, followup: pd.DataFrame) -> dict:
    """The numbers the Monte Carlo chapter quotes about the follow-up of the many-seed check's furthest line
    (``spread``: :func:`mc_exact_spread`; ``followup``: the same table of
    :func:`dreamrg.experiments.mc_followup` on that line). ``mf_line`` names the line, ``mf_z_before`` and
    ``mf_z_after`` are its z in the check and with the fresh seeds (signed, as printed), ``mf_other`` the other
    quantity of the line with the fresh seeds, ``mf_seeds`` / ``mf_configs`` the follow-up's statistics, and
    ``mf_reading`` what the fresh seeds say: the deviation was a fluctuation (|z| ≤ 2 again) or it persists."""
    algorithm, L, quantity, z_before = furthest_line(spread)
    name = {"sw": "Swendsen–Wang", "wolff": "Wolff"}.get(algorithm, algorithm)
    z_after = dict(zip(followup["quantity"], _exact_z(followup)))
    other = [q for q in z_after if q != quantity]
    persists = abs(z_after[quantity]) > AGREE_Z
    same_sign = math.copysign(1, z_after[quantity]) == math.copysign(1, z_before)
    if not persists:
        reading = ("the fresh seeds agree with the exact value, so the deviation that singled this line out was a "
                   "fluctuation")
    elif same_sign:
        reading = ("the deviation persists with the fresh seeds, on the same side: the sampler is biased on this "
                   "line, which the book does not explain")
    else:
        reading = ("the fresh seeds deviate again, but on the other side: the error bars of this line are too small")
    return {"mf_line": f"{quantity} of {name} at L = {L}", "mf_z_before": format_z(z_before),
            "mf_z_after": format_z(z_after[quantity]), "mf_seeds": int(followup["dof_value"].iloc[0]) + 1,
            "mf_configs": configs_of(followup),
            "mf_other": "; ".join(f"{q}: z = {format_z(z_after[q])}" for q in other) or "none",
            "mf_reading": reading}


def mc_fss(summaries: dict[int, MCSummary]) -> pd.DataFrame:
    """The MC finite-size-scaling ensembles per size: observables, τ_int of m² and e, and the MC time."""
    return pd.DataFrame([
        {"L": L, "configs": s.n, "MC seconds": round(s.seconds, 1),
         **{k: format(s.observable(k)) for k in ("abs_m", "e", "chi", "c_me", "c", "U4")},
         "tau_int(m2)": format(s.tau_int_m2), "tau_int(e)": format(s.tau_int_e)}
        for L, s in summaries.items()
    ])


def table_ii_mc(exponents: dict[tuple[int, int], PairExponents]) -> pd.DataFrame:
    """The MC rows of Table II: ours (from :func:`dreamrg.fss.pair_exponents`) beside the paper's, per pair,
    with (ours − paper)/σ (:func:`dreamrg.verdicts.z_score`); a pair whose sizes the profile does not simulate
    says so."""
    rows = []
    for pair in PAIRS:
        row = {"pair": f"({pair[0]}, {pair[1]})"}
        for key, label in _EXPONENTS:
            paper = PRINTED_II["MC"][key][pair]
            if pair in exponents:
                est = getattr(exponents[pair], key)
                row[f"{label} ours"] = format_estimate(est.value, est.error)
                row[f"{label} paper"] = paper
                row[f"{label} (ours−paper)/σ"] = round(z_score(est.value, est.error, paper), 1)
            else:
                row[f"{label} ours"] = "size not in profile"
                row[f"{label} paper"] = paper
        rows.append(row)
    return pd.DataFrame(rows)


def training_stores(stores: dict[int, tuple[Path, Path]], M: int) -> pd.DataFrame:
    """The training and validation stores of each L_t (:func:`dreamrg.experiments.mc_training_stores`)."""
    return pd.DataFrame([{"L_t": L_t, "M (training)": M, "validation": M // 5, "training store": train.parent.name,
                          "validation store": valid.parent.name} for L_t, (train, valid) in stores.items()])


# ----------------------------------------------------------------------------- the training chapter
def _orbit_names(k: int) -> list[str]:
    return [f"W{a}{b}" for a, b in models.kernel_orbits(k)]


def _orbit_values(model: torch.nn.Module, names: list[str]) -> dict[str, float]:
    return dict(zip(names, model.params.detach().numpy().round(4)))


def kernel_parameters(fits: dict[ModelId, torch.nn.Module], released: dict[ModelId, torch.nn.Module]) -> pd.DataFrame:
    """Learned parameter of every orbit (rounded to 4 decimals) of our models and the authors' released ones.

    ``fits`` as :func:`dreamrg.experiments.single_layer_fits`, ``released`` as
    :func:`dreamrg.experiments.authors_release`; sorted by k, weighting, source, L_t and M.
    """
    names = _orbit_names(max(mid.k for mid in fits | released))
    rows = [{"source": "dreamrg" if mid.source == "ours" else "authors", "k": mid.k, "L_t": mid.L_t, "M": mid.M,
             "weighted": mid.weighted, "method": mid.method if mid.source == "ours" else "AdamW (released)",
             **_orbit_values(m, names)} for mid, m in (fits | released).items()]
    return pd.DataFrame(rows).sort_values(["k", "weighted", "source", "L_t", "M"]).reset_index(drop=True)


def adamw_vs_exact(fits: dict[ModelId, torch.nn.Module]) -> pd.DataFrame:
    """Each AdamW model of ``fits`` beside the exact optimum of the same k and loss: losses per spin (full
    training set), the excess per configuration, the largest parameter difference and the times."""
    rows = []
    for mid, a in fits.items():
        if mid.method != "adamw":
            continue
        e, spins = fits[dataclasses.replace(mid, method="exact")], mid.L_t ** 2
        rows.append({"k": mid.k, "weighted": mid.weighted,
                     "loss AdamW (per spin)": a.meta["full_loss"] / spins,
                     "loss exact (per spin)": e.meta["fit"]["loss"] / spins,
                     "excess per configuration": a.meta["full_loss"] - e.meta["fit"]["loss"],
                     "max |ΔW|": float(np.abs(a.params.detach().numpy() - e.params.detach().numpy()).max()),
                     "AdamW seconds/epoch": float(np.mean(a.meta["history"]["seconds"])),
                     "exact seconds": e.meta["fit"]["seconds_total"]})
    return pd.DataFrame(rows)


def training_size_parameters(fits: dict[ModelId, torch.nn.Module]) -> pd.DataFrame:
    """Parameters of the exact optima of the training-size study (:func:`dreamrg.experiments.training_size_models`)."""
    names = _orbit_names(max(mid.k for mid in fits))
    return pd.DataFrame([{"L_t": mid.L_t, "M": mid.M, "k": mid.k, **_orbit_values(m, names)}
                         for mid, m in fits.items()])


def for_display(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` without its raw-number columns (``*_value``, ``*_err``, ``L_fine``; and ``value``, ``error`` beside
    the formatted ``ours`` of the long status schema), as the chapters show it."""
    raw = {"L_fine"} | ({"value", "error"} if "ours" in table.columns else set())
    return table[[c for c in table.columns if not c.endswith(("_value", "_err")) and c not in raw]]


# ----------------------------------------------------------------------------- the complexity chapter
def complexity_losses(networks: dict[ModelId, torch.nn.Module], losses: dict[ModelId, float],
                      targets: dict[ModelId, float], L_t: int) -> pd.DataFrame:
    """Size and validation loss per spin of each network (``losses``: :func:`dreamrg.experiments.validation_losses`);
    for our two-layer networks also their target (:func:`dreamrg.experiments.two_layer_targets`), the epochs
    run and kept, and whether the target was reached."""
    rows = []
    for mid, m in networks.items():
        h = m.meta.get("history") if (mid.source, mid.depth) == ("ours", 2) else None
        rows.append({"model": mid.label, "parameters": m.n_params, "validation loss per spin": losses[mid] / L_t ** 2,
                     "target per spin": targets[mid] / L_t ** 2 if h else None,
                     "epochs run": h["epoch"][-1] if h else None,
                     "epoch kept": h.get("returned_epoch", h["epoch"][-1]) if h else None,
                     "target reached": min(h["valid_loss"]) <= targets[mid] if h else None})
    return pd.DataFrame(rows).set_index("model")


# ----------------------------------------------------------------------------- the status page
def table_ii_status(profile: Profile | str) -> pd.DataFrame:
    """:func:`table_ii_long` of :func:`dreamrg.experiments.table_ii_results`, with ``table`` = "II" in front."""
    status = table_ii_long(ex.table_ii_results(profile))
    status.insert(0, "table", "II")
    return status


def status_table(profile: Profile | str) -> pd.DataFrame:
    """Every number of Tables II, III and IV at ``profile`` with its verdict (:func:`dreamrg.verdicts.judge`).

    Tables III and IV are computed with the paper's conventions (:mod:`dreamrg.conventions`):
    Table III at the second blocking step, Table IV's dreamed RSRG in the authors' basis and its
    MC RSRG at Table III's step.
    """
    p = as_profile(profile)
    return judge(pd.concat([table_ii_status(p), table_iii_long(p, convention=PAPER_TABLE_III),
                            table_iv_long(p, paper=True)], ignore_index=True))


def status_summary(judged: pd.DataFrame) -> pd.DataFrame:
    """Agrees / explained / unexplained per table of a judged status table (:func:`dreamrg.verdicts.verdict_counts`)."""
    return verdict_counts(judged)


_II_QUANTITY = {"γ/ν": "gamma_nu", "1/ν": "inv_nu"}


def paper_printed(table: str, row: str, quantity: str) -> str | None:
    """The paper's printed number for a line of the status table ("II", "authors k=3", "γ/ν (32, 8)"), or None.

    Our models and the authors' share the paper's row of their kernel and loss; two-layer
    networks and sizes the paper does not list have none.
    """
    label = row.removeprefix("authors ")
    if table.startswith("II") and not table.startswith("III"):
        name, _, pair = quantity.partition(" ")
        pair_key = tuple(int(x) for x in pair.strip("()").split(","))
        return PRINTED_II.get(label, {}).get(_II_QUANTITY.get(name, ""), {}).get(pair_key)
    if table.startswith("III"):
        return PRINTED_III.get(int(row.removeprefix("L=")), {}).get(quantity)
    if table.startswith("IV"):
        return PRINTED_IV.get(label, {}).get(_TABLE_IV_PAPER_KEYS.get(quantity, ""))
    return None


def parse_estimate(text) -> tuple[float | None, float | None]:
    """``(value, error)`` of a formatted estimate such as "1.2345(67)" (None, None for "not run" and the like)."""
    try:
        p = parse_printed(str(text))
    except ValueError:
        return None, None
    return p.value, p.error


def long_from_formatted(table: pd.DataFrame) -> pd.DataFrame:
    """A long table as kept in a snapshot (``table``, ``row``, ``quantity``, ``ours`` formatted as "1.2345(67)")
    in the status schema: ``value``/``error`` read back from ``ours``, ``paper`` as printed in the paper."""
    out = table[[c for c in ("table", "row", "quantity", "ours", "statistics") if c in table]].copy()
    parsed = [parse_estimate(t) for t in out["ours"]]
    out["value"] = [v for v, _ in parsed]
    out["error"] = [e for _, e in parsed]
    out["paper"] = [paper_printed(t, r, q) for t, r, q in zip(out["table"], out["row"], out["quantity"])]
    return out


def long_from_table_ii(wide: pd.DataFrame) -> pd.DataFrame:
    """:func:`table_ii` (rows indexed by label, a column "γ/ν (32, 8)" of formatted estimates per exponent and pair)
    in the long status schema, as :func:`long_from_formatted`."""
    quantities = [c for c in wide.columns if not c.endswith(" paper") and c.split(" ")[0] in _II_QUANTITY]
    long = pd.DataFrame([{"table": "II", "row": str(row), "quantity": q, "ours": wide.loc[row, q]}
                         for row in wide.index for q in quantities])
    return long_from_formatted(long)
