"""Tables of the MCRG chapter and of the paper's Tables III and IV, with the paper's conventions or ours.

Every function returns a :class:`pandas.DataFrame`; :mod:`dreamrg.tables` re-exports them, and
the chapters show them as they are. The paper's Tables III and IV are computed with the
conventions of :mod:`dreamrg.conventions` (which operators, which blocking step): pass
``convention=``/``paper=`` to choose; comparisons use :func:`dreamrg.verdicts.z_score`
(ours and the paper's uncertainty in quadrature).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from dreamrg import experiments as ex
from dreamrg import mcrg
from dreamrg.conventions import OURS, PAPER_TABLE_III, PAPER_TABLE_IV_DREAMED, PAPER_TABLE_IV_MC, Convention
from dreamrg.experiments import MC, as_profile, paper_row, row_label
from dreamrg.mcrg import IrrepSpectrum, MCRGResult, StreamProgress
from dreamrg.paper_values import PAPER_RSRG_DREAMED_CONFIGS, PRINTED_III, PRINTED_IV
from dreamrg.profiles import Profile
from dreamrg.runs.mcrg import DreamedMCRG, IllConditioned, MCRGRun
from dreamrg.spread_tables import (configs_of, estimate_or_na, means_text, pooled, ratio_reading,
                                   seeds_columns, spread_row)
from dreamrg.stats import format_estimate, seed_spread
from dreamrg.table_views import folded, without_empty
from dreamrg.verdicts import compared as _compared
from dreamrg.verdicts import z_score

__all__ = ["table_iii_long", "mcrg_operators", "truncation_ranges", "mcrg_costs", "mcrg_truncations",
           "mcrg_irreps_mc", "mcrg_third_mc", "mcrg_irreps_dreamed", "table_iv", "table_iv_long",
           "mcrg_conventions", "mcrg_parent", "mcrg_paper_quotes", "mcrg_seed_spread", "mcrg_spread_quotes"]


# ----------------------------------------------------------------------------- Table III and the MCRG chapter
def _every_step(convention: Convention) -> Convention:
    """The convention's operators and boundary, every blocking step (the caller picks its step)."""
    return dataclasses.replace(convention, step=None)


def table_iii_long(profile: Profile | str, redundant: bool = False, convention: Convention = OURS) -> pd.DataFrame:
    """Table III in long form: every size of the paper's table and of the profile.

    One line per (size, blocking step, quantity) with the paper's number as printed, ours,
    σ, (ours − paper)/σ and the statistics. With ``convention`` :data:`~dreamrg.conventions.OURS`
    (every step) each blocking step is compared with the paper's rows and ``table`` names
    the step ("III, step 1", "III, step 2", …); with a convention that fixes the step
    (:data:`~dreamrg.conventions.PAPER_TABLE_III`) only that step is listed, as table "III".
    A paper size the profile does not simulate, or a step it does not compute, is listed as
    "not run" with the reason rather than left out. The profile's streamed sizes (``mcrg.stream_sizes``,
    :func:`dreamrg.experiments.mcrg_mc_streamed`) are read, never computed, here: their rows once the run
    is finished, else "in progress: N of n" from its checkpoints. ``redundant`` adds our redundant exponent
    ``y_r1`` (the paper's table has no column for it).
    """
    p = as_profile(profile)
    ours: dict = ex.mcrg_mc(p, _every_step(convention))
    streamed = ex.mcrg_mc_streamed(p, _every_step(convention))
    return _iii_frame(p, ours, streamed, sorted(set(PRINTED_III) | set(ours) | set(streamed)), redundant, convention)


def table_iii_streamed(profile: Profile | str = "paper", redundant: bool = False,
                       convention: Convention = OURS) -> pd.DataFrame:
    """The streamed rows of Table III of ``profile`` (the paper profile's L = 1024), whatever profile the book is
    built at: as in :func:`table_iii_long`, read from the cache or from the finished chains carried in
    ``book/data/carried/`` (reduced there once they are all done), never computed."""
    p = as_profile(profile)
    streamed = ex.mcrg_mc_streamed(p, _every_step(convention))
    return _iii_frame(p, {}, streamed, sorted(streamed), redundant, convention)


def _iii_frame(p: Profile, ours: dict, streamed: dict, sizes: list[int], redundant: bool,
               convention: Convention) -> pd.DataFrame:
    """Table III's rows for ``sizes`` from the stored runs ``ours`` and the streamed runs or progress ``streamed``."""
    ours = ours | {L: r for L, r in streamed.items() if isinstance(r, MCRGRun)}
    rows = []
    for L in sizes:
        paper = PRINTED_III.get(L, {})
        how = f", streamed (none stored; paper: {PAPER_CONFIGS_III})" if L in streamed else ""
        for key in ("y_h", "y_t", "omega") + (("y_r1",) if redundant else ()):
            base = {"row": f"L={L}", "quantity": key, "paper": paper.get(key)}
            shown, missing = "not run", (
                f"L={L} is not among this profile's MC sizes {list(p.mcrg.mc_sizes)}" if L not in ours else
                f"the profile computes {p.mcrg.levels} blocking step(s), not step {convention.step}"
                if convention.step is not None and convention.step > len(ours[L]) else None)
            if L in streamed and L not in ours:
                shown, missing = _streaming(streamed[L], p.mcrg.stream_configs)
            if missing:
                if key != "y_r1":
                    rows.append({"table": "III", **base, "ours": shown, "value": None, "error": None,
                                 "σ": None, "(ours − paper)/σ": None, "statistics": missing})
                continue
            steps = list(enumerate(ours[L], start=1))
            if convention.step is not None:
                steps = [steps[convention.step - 1]]
            for step, r in steps:
                value, error = getattr(r, key), getattr(r, key + "_err")
                rows.append({"table": "III" if convention.step is not None else f"III, step {step}", **base,
                             "ours": format_estimate(value, error), "value": value, "error": error,
                             **_compared(value, error, paper.get(key)),
                             "statistics": f"{r.n_configs} MC configs{how}, step {r.L_fine}→{r.L_coarse}"})
    return pd.DataFrame(rows)


#: the paper's Monte Carlo statistics for every size of its Table III
PAPER_CONFIGS_III = "10⁶ configurations"


def _streaming(status: StreamProgress | None, n_configs: int) -> tuple[str, str]:
    """("ours" cell, statistics) of a streamed size that has no result yet."""
    if status is None:
        return "not run", (f"not started: streamed from the MC chains, {n_configs} configurations "
                           "(runs.mcrg.mc_mcrg_streamed, or 'dreamrg mc --mcrg-only'), resumable")
    return (f"in progress: {status.configs} of {status.n_configs}",
            f"streamed from the MC chains, none stored; {status.chains_done} of {status.chains} chains done; "
            f"paper: {PAPER_CONFIGS_III}")


def mcrg_operators() -> pd.DataFrame:
    """The symmetrised MCRG operators, one row each (indexed by label): number of spins and of orientations, name."""
    return pd.DataFrame([{"label": op.label, "spins": op.n_spins, "orientations": op.n_terms, "name": op.name}
                         for op in mcrg.OPERATORS]).set_index("label")


def truncation_ranges(trunc: pd.DataFrame) -> pd.DataFrame:
    """One row per blocking step of :func:`mcrg_truncations`: the range of y_h and y_t over the truncations,
    beside the paper's row for the same size."""
    rows = [{"step": step, "L": int(g["L"].iloc[0]), "truncations": len(g),
             "y_h lowest": round(float(g["y_h_value"].min()), 5), "y_h highest": round(float(g["y_h_value"].max()), 5),
             "y_h paper": g["y_h paper"].iloc[0],
             "y_t lowest": round(float(g["y_t_value"].min()), 4), "y_t highest": round(float(g["y_t_value"].max()), 4),
             "y_t paper": g["y_t paper"].iloc[0]}
            for step, g in trunc.groupby("step", sort=False)]
    return pd.DataFrame(rows).set_index("step")


def mcrg_costs(runs: dict[int, MCRGRun]) -> pd.DataFrame:
    """Measured cost per configuration of the MC configurations and of their MCRG analysis, per size."""
    return pd.DataFrame([{"L": L, "configs": run[0].n_configs, "MC ms/config": round(run.ms_mc_per_config, 3),
                          "MCRG ms/config (all steps)": round(1e3 * run.seconds_mcrg / run[0].n_configs, 3)}
                         for L, run in runs.items()])


def mcrg_truncations(profile: Profile | str) -> pd.DataFrame:
    """Exponents of the smallest MC size of the MCRG chapter for several operator truncations (cached).

    One line per (blocking step, truncation) with ``y_h``, ``y_t`` and ``ω`` formatted with their
    errors, the paper's Table III value for that size beside them, and the raw numbers
    (``y_h_value`` …) for further use.
    """
    p = as_profile(profile)
    rows = []
    for L, scan in ex.mcrg_truncations(p).items():
        paper = PRINTED_III.get(L, {})
        for r in scan:
            row = {"L": L, "step": f"{r.L_fine}→{r.L_coarse}", "odd ops": r.n_odd, "even ops": r.n_even,
                   "configs": p.mcrg.mc_configs}
            for key in ("y_h", "y_t", "omega"):
                value = getattr(r, key)
                row[key] = format_estimate(value, getattr(r, key + "_err")) if np.isfinite(value) else "—"
                row[f"{key} paper"] = paper.get(key, "—")
                row[f"{key}_value"] = value
            rows.append(row)
    return pd.DataFrame(rows)


def _irrep_cells(s: IrrepSpectrum | IllConditioned, n: int = 2) -> dict:
    """Formatted leading exponents of one irrep spectrum (or the reason there is none)."""
    if isinstance(s, IllConditioned):
        return {"y1": "—", "y1_value": np.nan, "y1_err": np.nan, "note": s.error}
    out = {}
    for i in range(n):
        ok = i < len(s.y)
        out[f"y{i + 1}"] = format_estimate(s.y[i], s.y_err[i]) if ok else "—"
        out[f"y{i + 1}_value"] = float(s.y[i]) if ok else np.nan
        out[f"y{i + 1}_err"] = float(s.y_err[i]) if ok else np.nan
    return out


def mcrg_irreps_mc(profile: Profile | str) -> pd.DataFrame:
    """𝒯 of MC configurations split by spin-flip sector and D4 irrep (oriented basis; cached).

    One line per (size, blocking step, sector, irrep) for the MCRG chapter's
    ``irrep_sizes`` with ``irrep_configs`` configurations: the dimension of
    the irrep's operator space and its two leading exponents.
    """
    p = as_profile(profile)
    rows = []
    for L, res in ex.mcrg_irreps_mc(p).items():
        if isinstance(res, IllConditioned):
            rows.append({"L": L, "configs": p.mcrg.irrep_configs} | _irrep_cells(res))
            continue
        for s in res.spectra:
            rows.append({"L": L, "step": f"{s.L_fine}→{s.L_coarse}", "sector": s.parity, "irrep": s.irrep,
                         "dim": s.dim, "configs": s.n_configs} | _irrep_cells(s))
    return pd.DataFrame(rows)


def mcrg_third_mc(profile: Profile | str) -> pd.DataFrame:
    """Per MC size and blocking step: the third largest exponent of the oriented-basis spectrum.

    Beside it, where it lies (sector and irrep) and the second odd A1 exponent
    (the symmetrised basis's candidate for the redundant exponent). Reads the
    cache of :func:`mcrg_irreps_mc`.
    """
    rows = []
    for L, res in ex.mcrg_irreps_mc(profile).items():
        if isinstance(res, IllConditioned):
            rows.append({"L": L, "note": res.error})
            continue
        for level in res.levels:
            first = res.at(level)[0]
            y3, e3, where = res.third(level)
            a1 = res.get("odd", "A1", level)
            rows.append({"L": L, "step": f"{first.L_fine}→{first.L_coarse}", "configs": first.n_configs,
                         "third": format_estimate(y3, e3), "third in": where,
                         "A1 odd 2": format_estimate(a1.y[1], a1.y_err[1]),
                         "third_value": y3, "third_err": e3, "L_fine": first.L_fine})
    return pd.DataFrame(rows)


def mcrg_irreps_dreamed(profile: Profile | str) -> pd.DataFrame:
    """Leading anisotropy exponents (even B1 and B2) of every dreamed model (oriented basis; cached).

    The models and dreaming parameters of :func:`dreamrg.experiments.mcrg_dreamed`, with
    ``irrep_configs`` configurations each, blocked once at the final size.
    Columns: the third largest exponent of the whole spectrum (``third``, with
    ``third in`` naming its sector and irrep; see :func:`dreamrg.mcrg.third_exponent`),
    ``B1``/``B2`` (formatted), their ``*_value``/``*_err``, and the second odd
    A1 exponent (``A1 odd 2``, our identification of the paper's redundant
    exponent in the symmetrised basis).
    """
    p = as_profile(profile)
    rows = []
    for mid, res in ex.mcrg_irreps_dreamed(p).items():
        row = {"model": mid.label, "L": 2 ** p.mcrg.n_up, "configs": p.mcrg.irrep_configs}
        if isinstance(res, IllConditioned):
            rows.append(row | {"note": res.error})
            continue
        y3, e3, where = res.third()
        row |= {"third": format_estimate(y3, e3), "third_value": y3, "third_err": e3, "third in": where}
        for name, (parity, irrep), rank in (("B1", ("even", "B1"), 0), ("B2", ("even", "B2"), 0),
                                            ("A1 odd 2", ("odd", "A1"), 1)):
            s = res.get(parity, irrep)
            row[name] = format_estimate(s.y[rank], s.y_err[rank])
            row[f"{name}_value"] = float(s.y[rank])
            row[f"{name}_err"] = float(s.y_err[rank])
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


# ----------------------------------------------------------------------------- Table IV
def _mc_step(profile: Profile, convention: Convention) -> tuple[MCRGResult | None, str | None]:
    """MC result of the reference size at the convention's step (first step for every-step conventions)."""
    run = ex.mcrg_mc(profile, _every_step(convention))
    L = ex.mcrg_reference_size(profile)
    level = convention.level or 0
    if level >= len(run[L]):
        return None, f"not run: the profile computes {len(run[L])} blocking step(s), not step {convention.step}"
    return run[L][level], None


def _table_iv_rows(profile: Profile | str, paper: bool = True) -> list[dict]:
    """Table IV per row: ``quantities`` maps η-FSS, η-RSRG, 1/ν-FSS, 1/ν-RSRG to
    (value, error, paper value, statistics); ``rsrg_problem`` says why RSRG is missing.

    ``paper``: the RSRG columns with the paper's conventions (MC: second step; dreamed: the
    authors' basis, first step); otherwise ours (symmetrised, first step).
    """
    p = as_profile(profile)
    conv_mc, conv_dreamed = (PAPER_TABLE_IV_MC, PAPER_TABLE_IV_DREAMED) if paper else (OURS, OURS)
    fss_rows = ex.table_ii_results(p)
    n_fss = {MC: p.mc_fss.n_configs}
    n_dream = p.fss_dreaming.n_configs
    rg = {MC: _mc_step(p, conv_mc)} | {mid: (r, None) for mid, r in ex.mcrg_dreamed(p, conv_dreamed).items()}
    out = []
    for key, (r, problem) in rg.items():
        paper_ = PRINTED_IV.get(paper_row(key), {})
        exps = fss_rows.get(key, {})
        pair = max(exps) if exps else None
        q: dict[str, tuple] = {}
        if pair:
            stats = f"FSS pair {pair}, {n_fss.get(key, n_dream)} configs per size"
            g, i = exps[pair].gamma_nu, exps[pair].inv_nu
            q["η-FSS"] = (2 - g.value, g.error, paper_.get("eta_fss"), stats)
            q["1/ν-FSS"] = (i.value, i.error, paper_.get("inv_nu_fss"), stats)
        if isinstance(r, DreamedMCRG):
            r = r.result
        if isinstance(r, IllConditioned):
            problem = "ill-conditioned: " + r.error.split(":")[0]
        if not problem:
            basis = "the authors' basis" if r.basis == "authors" else f"{r.basis} basis"
            stats = f"RSRG {r.n_configs} configs, step {r.L_fine}→{r.L_coarse}, {basis}"
            q["η-RSRG"] = (4 - 2 * r.y_h, 2 * r.y_h_err, paper_.get("eta_rsrg"), stats)
            q["1/ν-RSRG"] = (r.y_t, r.y_t_err, paper_.get("inv_nu_rsrg"), stats)
        out.append({"row": row_label(key), "quantities": q, "paper": paper_, "rsrg_problem": problem,
                    "FSS pair": str(pair) if pair else "—",
                    "RSRG step": problem or f"{r.L_fine}→{r.L_coarse} ({r.basis})"})
    return out


_TABLE_IV_PAPER_KEYS = {"η-FSS": "eta_fss", "η-RSRG": "eta_rsrg", "1/ν-FSS": "inv_nu_fss",
                        "1/ν-RSRG": "inv_nu_rsrg"}


def table_iv(profile: Profile | str, paper: bool = True) -> pd.DataFrame:
    """η and 1/ν from FSS (largest Table II pair) and from MCRG at
    :func:`~dreamrg.experiments.mcrg_reference_size`, beside the paper's.

    ``paper``: RSRG with the paper's conventions (:data:`~dreamrg.conventions.PAPER_TABLE_IV_MC`,
    :data:`~dreamrg.conventions.PAPER_TABLE_IV_DREAMED`); otherwise ours (symmetrised, first step).
    """
    rows = []
    for rec in _table_iv_rows(profile, paper):
        row = {"row": rec["row"]}
        for name, paper_key in _TABLE_IV_PAPER_KEYS.items():
            if name in rec["quantities"]:
                value, error, _, _ = rec["quantities"][name]
                row[name] = format_estimate(value, error)
            row[name + " paper"] = rec["paper"].get(paper_key)
        row["FSS pair"], row["RSRG step"] = rec["FSS pair"], rec["RSRG step"]
        rows.append(row)
    # a fixed column order: a quantity missing from the first row (say Monte Carlo's RSRG at a step not run)
    # must not move its column to the end
    columns = [c for name in _TABLE_IV_PAPER_KEYS for c in (name, name + " paper")] + ["FSS pair", "RSRG step"]
    return pd.DataFrame(rows, columns=["row", *columns]).set_index("row")


def table_iv_long(profile: Profile | str, paper: bool = True) -> pd.DataFrame:
    """Table IV in long form: every number of the paper's table (as printed) and ours, with σ,
    (ours − paper)/σ and the statistics; a quantity we could not compute is listed with the reason.

    ``paper`` as in :func:`table_iv`.
    """
    rows = []
    for rec in _table_iv_rows(profile, paper):
        for name, paper_key in _TABLE_IV_PAPER_KEYS.items():
            paper = rec["paper"].get(paper_key)
            if name in rec["quantities"]:
                value, error, _, stats = rec["quantities"][name]
                rows.append({"table": "IV", "row": rec["row"], "quantity": name, "paper": paper,
                             "ours": format_estimate(value, error), "value": value, "error": error,
                             **_compared(value, error, paper), "statistics": stats})
            elif paper is not None or "RSRG" in name:
                reason = rec["rsrg_problem"] if "RSRG" in name else "no FSS exponents for this row"
                rows.append({"table": "IV", "row": rec["row"], "quantity": name, "paper": paper,
                             "ours": "not available", "value": None, "error": None,
                             "σ": None, "(ours − paper)/σ": None, "statistics": reason})
    return pd.DataFrame(rows)



# ----------------------------------------------------------------------------- what the paper's numbers are
_QUANTITIES = (("y_h", "y_h"), ("y_t", "y_t"), ("third", "third"), ("omega", "ω"))


def _iv_as_y_h(printed: str | None) -> str | None:
    """Table IV's printed η-RSRG as the y_h = 2 − η/2 it stands for, with half its σ
    (e.g. "0.282" → "1.85900(25)")."""
    if printed is None:
        return None
    from dreamrg.verdicts import paper_sigma

    eta = float(printed)
    return f"{2 - eta / 2:.5f}({round(paper_sigma(printed) / 2 * 1e5)})"


def _conv_row(data: str, L: int, label: str, r: MCRGResult, paper: dict[str, str | None]) -> dict:
    third = r.third()
    values = {"y_h": (r.y_h, r.y_h_err), "y_t": (r.y_t, r.y_t_err), "third": third[:2],
              "omega": (r.omega, r.omega_err)}
    row = {"data": data, "L": L, "convention": label, "step": f"{r.L_fine}→{r.L_coarse}", "configs": r.n_configs}
    for key, name in _QUANTITIES:
        v, e = values[key]
        row[name] = format_estimate(v, e) if math.isfinite(v) else "—"
        row[f"{name} paper"] = paper.get(key)
        z = z_score(v, e, paper.get(key))
        row[f"{name} z"] = None if z is None else round(z, 1)
        row[f"{name}_value"], row[f"{name}_err"] = v, e
    row["third in"] = third[2]
    return row


def mcrg_conventions(profile: Profile | str) -> pd.DataFrame:
    """The MCRG exponents under each convention, beside the paper's (section "What the paper's MCRG numbers are").

    Monte Carlo, every size of the MCRG chapter: the symmetrised operators at every
    blocking step (ours; the second step is :data:`~dreamrg.conventions.PAPER_TABLE_III`),
    and at the paper's step the authors' basis and open-boundary sums; paper values from
    Table III. The authors' six single-layer models (L_t = 32, M = 10^6), dreamed to
    ``2**n_up`` and blocked once: the symmetrised operators (ours) and the authors' basis
    (:data:`~dreamrg.conventions.PAPER_TABLE_IV_DREAMED`); paper values from Table IV, its
    η-RSRG written as ``y_h = 2 − η/2``. Columns per quantity (``y_h``, ``y_t``, ``third`` --
    the third exponent of the merged spectrum, the paper's Fig. 10c --, ``ω``): ours
    formatted, the paper's, z = (ours − paper)/σ, and the raw ``*_value``/``*_err``. The
    ``convention`` labels: "symmetrised (ours)", "symmetrised (Table III)" (its second step),
    "authors' basis", "open boundary" and, for the dreamed rows, "authors' (Table IV)".
    """
    p = as_profile(profile)
    step = min(PAPER_TABLE_III.step, p.mcrg.levels)
    mc_runs = {"symmetrised": ex.mcrg_mc(p)}
    for name, conv in (("authors' basis", dataclasses.replace(OURS, basis="authors")),
                       ("open boundary", dataclasses.replace(OURS, boundary="open"))):
        mc_runs[name] = ex.mcrg_mc(p, conv)
    rows = []
    for L in p.mcrg.mc_sizes:
        paper = PRINTED_III.get(L, {})
        for k, r in enumerate(mc_runs["symmetrised"][L], start=1):
            label = "symmetrised (Table III)" if k == PAPER_TABLE_III.step else "symmetrised (ours)"
            rows.append(_conv_row("MC", L, label, r, paper))
        for name in ("authors' basis", "open boundary"):
            rows.append(_conv_row("MC", L, name, mc_runs[name][L][step - 1], paper))
    L = 2 ** p.mcrg.n_up
    authors = ex.authors_models()
    by_conv = {label: ex.mcrg_dreamed(p, conv, authors) for label, conv in
               (("symmetrised (ours)", OURS), ("authors' (Table IV)", PAPER_TABLE_IV_DREAMED))}
    for mid in authors:
        iv = PRINTED_IV.get(mid.paper_row, {})
        paper = {"y_h": _iv_as_y_h(iv.get("eta_rsrg")), "y_t": iv.get("inv_nu_rsrg")}
        for label, res in by_conv.items():
            r = res[mid]
            if isinstance(r, IllConditioned):
                rows.append({"data": mid.label, "L": L, "convention": label, "note": r.error})
                continue
            rows.append(_conv_row(mid.label, L, label, r.result, paper))
    return pd.DataFrame(rows)


def conventions_view(conv: pd.DataFrame, quantities: tuple[str, ...]) -> tuple[pd.DataFrame, str]:
    """One page-wide view of :func:`mcrg_conventions` for ``quantities`` (column names: ``y_h``, ``y_t``,
    ``third``, ``ω``), and a sentence for what it leaves out.

    A row is named by its data and, for Monte Carlo, its size ("MC L=32"); per quantity the columns ours,
    paper and z, without the columns no row fills (the paper gives no third exponent or ω for the dreamed
    configurations), and "third in" when ``third`` is shown. The configurations, the dreamed size and any
    notes go into the sentence (:func:`dreamrg.tables.folded`).
    """
    rows = conv.copy()
    rows.insert(0, "row", [f"MC L={L}" if d == "MC" else d for d, L in zip(rows["data"], rows["L"])])
    keep = ["row", "convention", "step"] + [c for q in quantities for c in (q, f"{q} paper", f"{q} z")]
    keep += ["third in"] if "third" in quantities else []
    extra = [c for c in ("configs", "note") if c in rows.columns]
    view, note = folded(without_empty(rows[[c for c in keep + extra if c in rows.columns]]).set_index("row"), extra)
    sizes = sorted({int(L) for d, L in zip(rows["data"], rows["L"]) if d != "MC"})
    if sizes:
        note += f" The dreamed configurations have L = {', '.join(map(str, sizes))}."
    return view, note.strip()


def mcrg_parent(profile: Profile | str) -> pd.DataFrame:
    """η and 1/ν of the authors' models with the dreamed lattice's parent as the coarse lattice, beside FSS.

    :func:`dreamrg.experiments.mcrg_parent` (the ``2**(n_up-1)`` lattice the model upsampled,
    instead of majority-rule blocks) against the FSS exponents of the same model (the largest
    Table II pair, dreamed by the FSS chapter) and the paper's η-FSS and 1/ν-FSS (Table IV),
    with z = (parent − FSS)/σ (both our errors) and the paper's RSRG η for contrast.
    """
    p = as_profile(profile)
    fss = ex.authors_fss(p)
    rows = []
    for mid, r in ex.mcrg_parent(p).items():
        if isinstance(r, IllConditioned):
            rows.append({"model": mid.label, "note": r.error})
            continue
        r = r.result
        exps = fss.get(mid, {})
        pair = max(exps)
        g, i = exps[pair].gamma_nu, exps[pair].inv_nu
        eta, eta_err = 4 - 2 * r.y_h, 2 * r.y_h_err
        iv = PRINTED_IV.get(mid.paper_row, {})
        rows.append({"model": mid.label, "step": f"{r.L_fine}→{r.L_coarse} (parent)", "configs": r.n_configs,
                     "η parent": format_estimate(eta, eta_err), "η-FSS ours": format_estimate(2 - g.value, g.error),
                     "η-FSS paper": iv.get("eta_fss"), "η-RSRG paper": iv.get("eta_rsrg"),
                     "η z(parent − FSS)": round((eta - (2 - g.value)) / math.hypot(eta_err, g.error), 1),
                     "1/ν parent": format_estimate(r.y_t, r.y_t_err),
                     "1/ν-FSS ours": format_estimate(i.value, i.error), "1/ν-FSS paper": iv.get("inv_nu_fss"),
                     "1/ν z(parent − FSS)": round((r.y_t - i.value) / math.hypot(r.y_t_err, i.error), 1),
                     "η_value": eta, "η_err": eta_err, "η_fss_value": 2 - g.value, "η_fss_err": g.error,
                     "FSS pair": str(pair)})
    return pd.DataFrame(rows).set_index("model")


def mcrg_paper_quotes(conv: pd.DataFrame, parent: pd.DataFrame) -> dict:
    """The numbers the section "What the paper's MCRG numbers are" quotes, from :func:`mcrg_conventions` and
    :func:`mcrg_parent` of this build (``{glue name: value}``; "n/a" where the profile lacks the data)."""
    out: dict = {}
    dreamed = conv[conv["data"] != "MC"].dropna(subset=["y_h_value"])
    theirs = dreamed[dreamed["convention"].str.startswith("authors")].set_index("data")
    ours = dreamed[dreamed["convention"].str.startswith("symmetrised")].set_index("data")
    out["pn_models"] = len(theirs)
    out["pn_L_dream"] = int(dreamed["L"].iloc[0]) if len(dreamed) else 0
    out["pn_configs"] = int(dreamed["configs"].iloc[0]) if len(dreamed) else 0
    out["pn_zmax_eta"] = float(theirs["y_h z"].abs().max())
    out["pn_zmax_nu"] = float(theirs["y_t z"].abs().max())
    out["pn_zmax_nu_sym"] = float(ours["y_t z"].abs().max())
    d_nu = (ours["y_t_value"] - theirs["y_t_value"]).dropna()
    d_eta = 2 * (theirs["y_h_value"] - ours["y_h_value"]).dropna()
    out["pn_dnu_min"], out["pn_dnu_max"] = float(d_nu.min()), float(d_nu.max())
    out["pn_deta_max"] = float(d_eta.abs().max())
    k3 = [m for m in theirs.index if m.endswith("k=3")]
    rest = [m for m in theirs.index if not m.endswith(("k=3", "k=3, w."))]
    out["pn_third_k3"] = (estimate_or_na(theirs.loc[k3[0], "third_value"], theirs.loc[k3[0], "third_err"]) if k3
                          else "n/a")
    out["pn_third_rest_max"] = float(theirs.loc[rest, "third_value"].abs().max()) if rest else math.nan
    out["pn_third_sym_max"] = float(ours["third_value"].max())
    mc = conv[conv["data"] == "MC"]
    sym = mc[mc["convention"].str.startswith("symmetrised")]
    second = sym[sym["convention"].str.contains("Table III")]
    first = sym[~sym["convention"].str.contains("Table III")]
    Lmax = int(mc["L"].max())
    out["pn_L_mc"] = ", ".join(str(L) for L in sorted(mc["L"].unique()))
    out["pn_mc_configs"] = int(mc["configs"].iloc[0])
    out["pn_s1_zmin"] = float(first.groupby("L")["y_h z"].first().abs().min()) if first["y_h z"].notna().any() \
        else math.nan
    row2 = second[second["L"] == Lmax]
    out["pn_s2_yh_Lmax"] = row2["y_h"].iloc[0] if len(row2) else "n/a"
    out["pn_s2_z_Lmax"] = float(row2["y_h z"].iloc[0]) if len(row2) and row2["y_h z"].notna().all() else math.nan
    out["pn_Lmax"] = Lmax
    out["pn_paper_yh_Lmax"] = PRINTED_III.get(Lmax, {}).get("y_h", "n/a")
    ref = second if len(second) else first
    by = {name: mc[mc["convention"] == name].set_index("L") for name in ("authors' basis", "open boundary")}
    ref = ref.set_index("L")
    d_auth = (by["authors' basis"]["y_t_value"] - ref["y_t_value"]).abs()
    out["pn_auth_dyt_max"] = float(d_auth.max())
    out["pn_auth_dyh_max"] = float((by["authors' basis"]["y_h_value"] - ref["y_h_value"]).abs().max())
    Lmin = int(mc["L"].min())
    out["pn_Lmin"] = Lmin
    out["pn_open_dyt"] = float(by["open boundary"].loc[Lmin, "y_t_value"] - ref.loc[Lmin, "y_t_value"])
    out["pn_open_dyh"] = float(by["open boundary"].loc[Lmin, "y_h_value"] - ref.loc[Lmin, "y_h_value"])
    paper = PRINTED_III.get(Lmin, {})
    for q in ("y_t", "y_h"):
        out[f"pn_paper_d{q.replace('_', '')}"] = (float(paper[q].split("(")[0]) - float(ref.loc[Lmin, f"{q}_value"])
                                    if q in paper else math.nan)
    auth = by["authors' basis"]
    out["pn_auth_omega"] = estimate_or_na(auth.loc[Lmin, "ω_value"], auth.loc[Lmin, "ω_err"])
    out["pn_sym_omega"] = estimate_or_na(ref.loc[Lmin, "ω_value"], ref.loc[Lmin, "ω_err"])
    ok = parent.dropna(subset=["η_value"]) if "η_value" in parent else parent.iloc[:0]
    out["pn_parent_zmax"] = float(ok["η z(parent − FSS)"].abs().max()) if len(ok) else math.nan
    out["pn_parent_nu_zmax"] = float(ok["1/ν z(parent − FSS)"].abs().max()) if len(ok) else math.nan
    out["pn_parent_eta"] = ok["η parent"].iloc[0] if len(ok) else "n/a"
    out["pn_parent_model"] = ok.index[0] if len(ok) else "n/a"
    out["pn_parent_fss"] = ok["η-FSS ours"].iloc[0] if len(ok) else "n/a"
    # how close the parent's η is to FSS, against how far it is from the paper's RSRG column
    out["pn_parent_deta_max"] = float((ok["η_value"] - ok["η_fss_value"]).abs().max()) if len(ok) else math.nan
    rsrg = pd.to_numeric(ok["η-RSRG paper"], errors="coerce") if len(ok) else pd.Series(dtype=float)
    out["pn_parent_rsrg_min"] = float((rsrg - ok["η_value"]).abs().min()) if rsrg.notna().any() else math.nan
    return out


# ----------------------------------------------------------------------------- are the RSRG error bars right?
#: the bases of the seed-spread table: the paper's Table IV (the authors' basis), then the symmetrised operators
_SPREAD_BASES = ((PAPER_TABLE_IV_DREAMED, "authors'"), (OURS, "symmetrised"))  # authors': Table IV's
_SPREAD_QUANTITIES = (("η-RSRG", "eta_rsrg", lambda r: (4 - 2 * r.y_h, 2 * r.y_h_err)),
                      ("1/ν-RSRG", "inv_nu_rsrg", lambda r: (r.y_t, r.y_t_err)))


def mcrg_seed_spread(profile: Profile | str) -> pd.DataFrame:
    """Are the jackknife errors of the dreamed RSRG exponents right? The seed spread of each released model.

    :func:`dreamrg.experiments.mcrg_seed_spread`: the authors' six single-layer models, each
    dreamed with ``spread_seeds`` independent seeds of ``spread_configs`` configurations, blocked
    once; one line per (basis, model, quantity) with (:func:`dreamrg.stats.seed_spread`): the mean
    of the seeds with its error (the larger of SD/√S and RMS σ/√S), the paper's Table IV value and
    (mean − paper)/σ (combined σ), the SD of the seeds, the RMS of their jackknife σ, the ratio
    SD/σ with its error, χ²/dof and p. The paper's value stands beside the symmetrised rows too
    (the basis it does not use). Raw numbers in ``*_value``/``*_err`` (and ``p``) for the quotes.
    """
    p = as_profile(profile)
    rows = []
    for conv, basis in _SPREAD_BASES:
        spread = ex.mcrg_seed_spread(p, conv)
        for mid, results in sorted(spread.items(), key=lambda item: (item[0].weighted, item[0].k)):
            iv = PRINTED_IV.get(mid.paper_row, {})
            base = {"basis": basis, "model": mid.label} | seeds_columns(len(results), p.mcrg.spread_configs)
            bad = [r for r in results if isinstance(r, IllConditioned)]
            for name, key, of in _SPREAD_QUANTITIES:
                if bad:
                    rows.append(base | {"quantity": name, "paper": iv.get(key),
                                        "note": f"{len(bad)} seed(s) ill-conditioned: {bad[0].error.split(':')[0]}"})
                    continue
                x, e = zip(*(of(r.result) for r in results))
                rows.append(base | {"quantity": name} | spread_row(seed_spread(x, e), iv.get(key)))
    return pd.DataFrame(rows)


def mcrg_spread_quotes(spread: pd.DataFrame) -> dict:
    """The numbers the seed-spread section quotes, from :func:`mcrg_seed_spread` (``{glue name: value}``).

    ``sp_r_median``/``min``/``max`` over every line; per quantity, the ratio pooled over the
    models in the authors' basis (independent dreams; :func:`dreamrg.stats.pooled_ratio`) and its
    p; ``sp_verdict``: whether that basis's jackknife errors stand (pooled ratio within 2σ of 1; with
    the largest factor by which they may still be too small), are too small (and by what factor to
    inflate them) or conservative.
    """
    ok = spread.dropna(subset=["ratio_value"]) if "ratio_value" in spread else spread.iloc[:0]
    S = int(ok["dof_value"].iloc[0]) + 1 if len(ok) else 0
    out: dict = {"sp_lines": len(ok), "sp_seeds": S, "sp_ill": len(spread) - len(ok),
                 "sp_configs": configs_of(spread) if len(spread) else 0,
                 "sp_r_median": float(ok["ratio_value"].median()) if len(ok) else math.nan,
                 "sp_r_min": float(ok["ratio_value"].min()) if len(ok) else math.nan,
                 "sp_r_max": float(ok["ratio_value"].max()) if len(ok) else math.nan,
                 "sp_r_rel_err": 1 / math.sqrt(2 * (S - 1)) if S > 1 else math.nan}
    theirs = ok[ok["basis"] == _SPREAD_BASES[0][1]]
    parts = []
    for tag, (name, _, _) in zip(("eta", "nu"), _SPREAD_QUANTITIES):
        R, R_err, pv = pooled(theirs[theirs["quantity"] == name])
        out[f"sp_pool_{tag}"], out[f"sp_pool_p_{tag}"] = estimate_or_na(R, R_err), pv
        reading = ratio_reading(R, R_err)
        if reading == "none":
            parts.append(f"{name} has no seed spread")
        elif reading == "too small":
            parts.append(f"the jackknife errors of {name} are too small by a factor of about {R:.2f}: multiplied by "
                         f"it, they shrink Table IV's (ours − paper)/σ for {name} by up to that factor")
        elif reading == "conservative":
            parts.append(f"the jackknife errors of {name} are conservative (the seeds scatter by about {R:.2f} of "
                         f"them), so Table IV's (ours − paper)/σ for {name}, if anything, understate the "
                         "differences")
        else:
            parts.append(f"the jackknife errors of {name} stand (at most about {R + 2 * R_err:.2f} times too small, "
                         f"at 2σ of the ratio), and with them Table IV's (ours − paper)/σ for it")
    out["sp_models"] = len(theirs) // len(_SPREAD_QUANTITIES)
    out["sp_verdict"] = "; ".join(parts)
    out["sp_means"] = means_text(theirs, configs=out["sp_configs"], paper_configs=PAPER_RSRG_DREAMED_CONFIGS,
                                 table="the paper's Table IV", label=lambda r: f"{r.quantity} of {r.model}")
    return out
