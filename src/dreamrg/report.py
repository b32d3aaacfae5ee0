"""Assembling the models and tables that several chapters share.

Everything here reads the result cache (training runs, dreamed ensembles, MC
summaries) through the library; chapters and the reproduction-status page call
these functions so that one table is computed in one place.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from dreamrg import train
from dreamrg.observables import Estimate, format_estimate
from dreamrg.paper_values import PAIRS, TABLE_II
from dreamrg.profiles import chapter_params


def paper_label(k: int, weighted: bool) -> str:
    """Row label of the paper's Table II ("k=3", "k=3, w.")."""
    return f"k={k}, w." if weighted else f"k={k}"


def single_layer_params(P: dict, k: int, weighted: bool, method: str = "adamw") -> train.TrainParams:
    """Hyper-parameters of one single-layer model of the training chapter's parameters ``P``.

    Weighted AdamW models use the profile's ``weighted_batch_size`` for their k (the
    paper profile follows the authors' released models there); everything else uses
    ``batch_size`` (the exact optimum does not depend on it).
    """
    batch = P["batch_size"]
    if weighted and method == "adamw":
        sizes = {int(key): int(v) for key, v in P["weighted_batch_size"].items()}  # JSON overrides give str keys
        if k not in sizes:
            raise ValueError(f"weighted_batch_size has no entry for k={k}; it has {sorted(sizes)}")
        batch = sizes[k]
    return train.TrainParams(k=k, weighted=weighted, method=method, epochs=P["epochs"], batch_size=batch,
                             seed=P["seed"])


def trained_models(profile: str, method: str = "adamw") -> dict[str, torch.nn.Module]:
    """Our single-layer models of the training chapter, keyed by the paper's row labels."""
    P = chapter_params("training", profile)
    return {paper_label(k, weighted): trained_model(profile, k, weighted, method)
            for k in P["ks"] for weighted in (False, True)}


def trained_model(profile: str, k: int, weighted: bool = False, method: str = "adamw") -> torch.nn.Module:
    """The training chapter's single-layer model of kernel size ``k``; a clear error for an untrained ``k``."""
    P = chapter_params("training", profile)
    if k not in P["ks"]:
        raise ValueError(f"k = {k!r}: no model of that size is trained at profile {profile!r}; trained: {P['ks']}")
    MC = chapter_params("monte_carlo", profile)
    return train.cached_model(single_layer_params(P, k, weighted, method), P["L_t"], P["M"], MC["seed"])


def authors_models(L_t: int = 32, M: int = 1_000_000) -> dict[str, torch.nn.Module]:
    """The authors' released single-layer models for (L_t, M), keyed by the paper's row labels."""
    from dreamrg import models

    out = {}
    for entry in models.release_entries():
        if entry["L_train"] == L_t and entry["set_size"] == M:
            out[paper_label(entry["kernel_size"], entry["weighted_loss"])] = models.from_release_entry(entry)
    return out


def table_ii(results: dict[str, dict[tuple[int, int], dict[str, Estimate]]]) -> pd.DataFrame:
    """Table II with our values (and errors) beside the paper's.

    ``results`` maps a row label (e.g. "MC", "k=3, w.", "authors k=3") to the
    output of :func:`dreamrg.fss.pair_exponents` or :func:`~dreamrg.fss.joint_pair_exponents`.
    The paper's value is looked up from the label with any "authors "/"exact " prefix removed.
    """
    rows = []
    for label, exps in results.items():
        paper_row = TABLE_II.get(label.split(" ", 1)[1] if label.startswith(("authors ", "exact ")) else label)
        row: dict = {"row": label}
        for key, name in (("gamma_nu", "γ/ν"), ("inv_nu", "1/ν")):
            for pair in PAIRS:
                col = f"{name} {pair}"
                est = exps.get(pair, {}).get(key)
                row[col] = format_estimate(est.value, est.error) if est else "—"
                row[f"{col} paper"] = paper_row[key][pair] if paper_row else None
        rows.append(row)
    return pd.DataFrame(rows).set_index("row")


def table_ii_long(results: dict[str, dict[tuple[int, int], dict[str, Estimate]]]) -> pd.DataFrame:
    """Table II in long form: one line per (row, quantity, pair) with (ours − paper)/error."""
    rows = []
    for label, exps in results.items():
        key_label = label.split(" ", 1)[1] if label.startswith(("authors ", "exact ")) else label
        paper_row = TABLE_II.get(key_label)
        for key, name in (("gamma_nu", "γ/ν"), ("inv_nu", "1/ν")):
            for pair in PAIRS:
                est = exps.get(pair, {}).get(key)
                paper = paper_row[key][pair] if paper_row else None
                rows.append({
                    "row": label, "quantity": f"{name} {pair}", "paper": paper,
                    "ours": format_estimate(est.value, est.error) if est else "pending",
                    "value": est.value if est else None, "error": est.error if est else None,
                    "(ours − paper)/error": round((est.value - paper) / est.error, 1) if est and paper else None,
                })
    return pd.DataFrame(rows)


def mc_summaries(profile: str) -> dict[int, dict]:
    """Cached Monte Carlo summaries of the Monte Carlo chapter's FSS sizes."""
    from dreamrg import fss

    MC = chapter_params("monte_carlo", profile)
    return {L: fss.mc_summary(L, MC["fss_configs"], MC["seed"]) for L in MC["fss_sizes"]}


def dreamed_summaries(profile: str, overrides: dict | None = None) -> dict[str, dict]:
    """Cached dreamed-ensemble summaries of the FSS chapter: our AdamW models and the authors'.

    ``overrides`` replace entries of the FSS chapter's parameters (as its ``overrides`` cell).
    """
    from dreamrg import fss
    from dreamrg.dream import DreamParams

    P = chapter_params("fss", profile, overrides)
    params = DreamParams(n_up=P["n_up"], seed=P["seed"], batch_size=P["batch_size"])
    out = {label: fss.dream_summary(m, params, P["n_configs"]) for label, m in trained_models(profile).items()}
    out |= {f"authors {label}": fss.dream_summary(m, params, P["n_configs"])
            for label, m in authors_models().items()}
    return out


def table_ii_results(profile: str, overrides: dict | None = None) -> dict[str, dict]:
    """Rows of Table II (MC and every dreamed model) for ``profile`` (``overrides``: FSS chapter parameters)."""
    from dreamrg import fss

    return {"MC": fss.pair_exponents(mc_summaries(profile))} | {
        label: d["exponents"] for label, d in dreamed_summaries(profile, overrides).items()}


def seed_spread(profile: str, k: int = 5, weighted: bool = True, n_seeds: int = 3) -> pd.DataFrame:
    """Run-to-run spread of one Table II row over AdamW training seeds (same data, same settings).

    Seeds ``P["seed"], P["seed"] + 1, ...`` of the training chapter; each model is
    dreamed with the FSS chapter's parameters. The last line gives the mean and the
    standard deviation over seeds beside the paper's value.
    """
    from dreamrg import fss
    from dreamrg.dream import DreamParams

    P = chapter_params("training", profile)
    MC = chapter_params("monte_carlo", profile)
    F = chapter_params("fss", profile)
    params = DreamParams(n_up=F["n_up"], seed=F["seed"], batch_size=F["batch_size"])
    label = paper_label(k, weighted)
    rows, values = [], {"gamma_nu": [], "inv_nu": []}
    for seed in range(P["seed"], P["seed"] + n_seeds):
        tp = single_layer_params({**P, "seed": seed}, k, weighted)
        exps = fss.dream_summary(train.cached_model(tp, P["L_t"], P["M"], MC["seed"]), params, F["n_configs"])["exponents"]
        pair = max(exps)
        row = {"training seed": seed, "pair": str(pair)}
        for key, name in (("gamma_nu", "γ/ν"), ("inv_nu", "1/ν")):
            est = exps[pair][key]
            row[name] = format_estimate(est.value, est.error)
            values[key].append(est.value)
        rows.append(row)
    paper = TABLE_II.get(label, {})
    summary = {"training seed": "mean ± std over seeds", "pair": str(pair)}
    for key, name in (("gamma_nu", "γ/ν"), ("inv_nu", "1/ν")):
        v = np.asarray(values[key])
        summary[name] = f"{v.mean():.4f} ± {v.std(ddof=1):.4f}" if len(v) > 1 else f"{v.mean():.4f}"
        summary[f"{name} paper"] = paper.get(key, {}).get(pair)
    rows.append(summary)
    return pd.DataFrame(rows).set_index("training seed")


def mcrg_mc(profile: str, overrides: dict | None = None) -> dict[int, list[dict]]:
    """Cached MCRG results of MC configurations for the MCRG chapter's sizes (every blocking step).

    ``overrides`` replace entries of the MCRG chapter's parameters.
    """
    from dreamrg import mc

    P = chapter_params("mcrg", profile, overrides)
    MC = chapter_params("monte_carlo", profile)
    return {L: mc.mcrg_summary(L, P["mc_configs"], MC["seed"], levels=P["levels"]) for L in P["mc_sizes"]}


def mcrg_reference_size(profile: str, overrides: dict | None = None) -> int:
    """MC size whose first blocking step the dreamed configurations are compared with.

    The dreamed size ``2**n_up`` when the MCRG chapter simulates it (the paper's
    Table IV compares at L = 128), else the largest MC size of the profile.
    """
    P = chapter_params("mcrg", profile, overrides)
    return 2 ** P["n_up"] if 2 ** P["n_up"] in P["mc_sizes"] else max(P["mc_sizes"])


def mcrg_truncations(profile: str, overrides: dict | None = None) -> pd.DataFrame:
    """Exponents of the smallest MC size of the MCRG chapter for several operator truncations (cached).

    One line per (blocking step, truncation) with ``y_h``, ``y_t`` and ``ω`` formatted with their
    errors, the paper's Table III value for that size beside them, and the raw numbers
    (``y_h_value`` …) for further use.
    """
    from dreamrg import mc
    from dreamrg.paper_values import TABLE_III

    P = chapter_params("mcrg", profile, overrides)
    MC = chapter_params("monte_carlo", profile)
    L = min(P["mc_sizes"])
    paper = TABLE_III.get(L, {})
    rows = []
    for r in mc.mcrg_truncations(L, P["mc_configs"], MC["seed"], levels=P["levels"]):
        row = {"L": L, "step": f"{r['L_fine']}→{r['L_coarse']}", "odd ops": r["n_odd"], "even ops": r["n_even"],
               "configs": P["mc_configs"]}
        for key in ("y_h", "y_t", "omega"):
            row[key] = format_estimate(r[key], r[key + "_err"]) if np.isfinite(r[key]) else "—"
            row[f"{key} paper"] = format_estimate(*paper[key]) if key in paper else "—"
            row[f"{key}_value"] = r[key]
        rows.append(row)
    return pd.DataFrame(rows)


def mcrg_dreamed(profile: str, overrides: dict | None = None) -> dict[str, dict]:
    """Cached MCRG results (one blocking of the final size) for every dreamed model of the FSS chapter.

    ``overrides`` replace entries of the MCRG chapter's parameters.
    """
    from dreamrg.dream import DreamParams, mcrg_summary

    P = chapter_params("mcrg", profile, overrides)
    F = chapter_params("fss", profile)
    params = DreamParams(n_up=P["n_up"], seed=F["seed"], batch_size=P["batch_size"])
    models = trained_models(profile) | {f"authors {k}": m for k, m in authors_models().items()}
    return {label: mcrg_summary(m, params, P["dream_configs"], seed=P["seed"]) for label, m in models.items()}


def _irrep_cells(row: dict, n: int = 2) -> dict:
    """Formatted leading exponents of one irrep row (or its error message)."""
    if "error" in row:
        return {"y1": "—", "y1_value": np.nan, "y1_err": np.nan, "note": row["error"]}
    out = {}
    for i in range(n):
        ok = i < len(row["y"])
        out[f"y{i + 1}"] = format_estimate(row["y"][i], row["y_err"][i]) if ok else "—"
        out[f"y{i + 1}_value"] = row["y"][i] if ok else np.nan
        out[f"y{i + 1}_err"] = row["y_err"][i] if ok else np.nan
    return out


def mcrg_irreps_mc(profile: str, overrides: dict | None = None) -> pd.DataFrame:
    """𝒯 of MC configurations split by spin-flip sector and D4 irrep (oriented basis; cached).

    One line per (size, blocking step, sector, irrep) for the MCRG chapter's
    ``irrep_sizes`` with ``irrep_configs`` configurations: the dimension of
    the irrep's operator space and its two leading exponents.
    """
    from dreamrg import mc

    P = chapter_params("mcrg", profile, overrides)
    MC = chapter_params("monte_carlo", profile)
    rows = []
    for L in P["irrep_sizes"]:
        for r in mc.mcrg_irreps(L, P["irrep_configs"], MC["seed"], levels=P["levels"]):
            if "error" in r:
                rows.append({"L": L, "configs": P["irrep_configs"]} | _irrep_cells(r))
                continue
            rows.append({"L": L, "step": f"{r['L_fine']}→{r['L_coarse']}", "sector": r["parity"],
                         "irrep": r["irrep"], "dim": r["dim"], "configs": r["n_configs"]} | _irrep_cells(r))
    return pd.DataFrame(rows)


def mcrg_third_mc(profile: str, overrides: dict | None = None) -> pd.DataFrame:
    """Per MC size and blocking step: the third largest exponent of the oriented-basis spectrum.

    Beside it, where it lies (sector and irrep) and the second odd A1 exponent
    (the symmetrised basis's candidate for the redundant exponent). Reads the
    cache of :func:`mcrg_irreps_mc`.
    """
    from dreamrg import mc, mcrg

    P = chapter_params("mcrg", profile, overrides)
    MC = chapter_params("monte_carlo", profile)
    rows = []
    for L in P["irrep_sizes"]:
        res = mc.mcrg_irreps(L, P["irrep_configs"], MC["seed"], levels=P["levels"])
        if "error" in res[0]:
            rows.append({"L": L, "note": res[0]["error"]})
            continue
        for step in sorted({r["step"] for r in res}):
            sub = [r for r in res if r["step"] == step]
            y3, e3, where = mcrg.third_exponent(sub)
            a1 = next(r for r in sub if (r["parity"], r["irrep"]) == ("odd", "A1"))
            rows.append({"L": L, "step": f"{sub[0]['L_fine']}→{sub[0]['L_coarse']}", "configs": sub[0]["n_configs"],
                         "third": format_estimate(y3, e3), "third in": where,
                         "A1 odd 2": format_estimate(a1["y"][1], a1["y_err"][1]),
                         "third_value": y3, "third_err": e3, "L_fine": sub[0]["L_fine"]})
    return pd.DataFrame(rows)


def mcrg_irreps_dreamed(profile: str, overrides: dict | None = None) -> pd.DataFrame:
    """Leading anisotropy exponents (even B1 and B2) of every dreamed model (oriented basis; cached).

    The models and dreaming parameters of :func:`mcrg_dreamed`, with
    ``irrep_configs`` configurations each, blocked once at the final size.
    Columns: the third largest exponent of the whole spectrum (``third``, with
    ``third in`` naming its sector and irrep; see :func:`dreamrg.mcrg.third_exponent`),
    ``B1``/``B2`` (formatted), their ``*_value``/``*_err``, and the second odd
    A1 exponent (``A1 odd 2``, our identification of the paper's redundant
    exponent in the symmetrised basis).
    """
    from dreamrg import mcrg
    from dreamrg.dream import DreamParams, mcrg_irreps

    P = chapter_params("mcrg", profile, overrides)
    F = chapter_params("fss", profile)
    params = DreamParams(n_up=P["n_up"], seed=F["seed"], batch_size=P["batch_size"])
    models = trained_models(profile) | {f"authors {k}": m for k, m in authors_models().items()}
    rows = []
    for label, m in models.items():
        res = mcrg_irreps(m, params, P["irrep_configs"], seed=P["seed"])
        row = {"model": label, "L": 2 ** P["n_up"], "configs": P["irrep_configs"]}
        if "error" in res[0]:
            rows.append(row | {"note": res[0]["error"]})
            continue
        by = {(r["parity"], r["irrep"]): r for r in res}
        y3, e3, where = mcrg.third_exponent(res)
        row |= {"third": format_estimate(y3, e3), "third_value": y3, "third_err": e3, "third in": where}
        for name, key, rank in (("B1", ("even", "B1"), 0), ("B2", ("even", "B2"), 0),
                                ("A1 odd 2", ("odd", "A1"), 1)):
            r = by[key]
            row[name] = format_estimate(r["y"][rank], r["y_err"][rank])
            row[f"{name}_value"] = r["y"][rank]
            row[f"{name}_err"] = r["y_err"][rank]
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def _difference(value: float, error: float, paper: float | None) -> float | None:
    return round((value - paper) / error, 1) if paper is not None and error > 0 else None


def table_iii_long(profile: str, overrides: dict | None = None) -> pd.DataFrame:
    """Table III in long form: every size of the paper's table and of the profile, every blocking step.

    One line per (size, blocking step, quantity) with the paper's value and error, ours,
    (ours − paper)/error and the statistics. The paper does not say which step its rows
    use, so each of ours is compared with them; ``table`` names the step ("III, step 1",
    "III, step 2", …) so that summaries can be read per step. A paper size the profile
    does not simulate is listed once as "not run", with the reason, rather than left out.
    """
    from dreamrg.paper_values import TABLE_III

    P = chapter_params("mcrg", profile, overrides)
    ours = mcrg_mc(profile, overrides)
    rows = []
    for L in sorted(set(TABLE_III) | set(ours)):
        paper = TABLE_III.get(L, {})
        for key in ("y_h", "y_t", "omega"):
            base = {"row": f"L={L}", "quantity": key,
                    "paper": format_estimate(*paper[key]) if key in paper else None}
            if L not in ours:
                rows.append({"table": "III", **base, "ours": "not run", "value": None, "error": None,
                             "(ours − paper)/error": None,
                             "statistics": f"L={L} is not among this profile's MC sizes {P['mc_sizes']}"})
                continue
            for step, r in enumerate(ours[L], start=1):
                rows.append({"table": f"III, step {step}", **base,
                             "ours": format_estimate(r[key], r[key + "_err"]), "value": r[key],
                             "error": r[key + "_err"],
                             "(ours − paper)/error": _difference(r[key], r[key + "_err"],
                                                                paper[key][0] if paper else None),
                             "statistics": f"{r['n_configs']} MC configs, step {r['L_fine']}→{r['L_coarse']}"})
    return pd.DataFrame(rows)


def _table_iv_rows(profile: str, overrides: dict | None = None) -> list[dict]:
    """Table IV per row label: ``quantities`` maps η-FSS, η-RSRG, 1/ν-FSS, 1/ν-RSRG to
    (value, error, paper value, statistics); ``rsrg_problem`` says why RSRG is missing."""
    from dreamrg.paper_values import TABLE_IV

    fss_rows = table_ii_results(profile)
    n_fss = {"MC": chapter_params("monte_carlo", profile)["fss_configs"]}
    n_dream = chapter_params("fss", profile)["n_configs"]
    mc_rg = mcrg_mc(profile, overrides)
    rg = {"MC": mc_rg[mcrg_reference_size(profile, overrides)][0]} | mcrg_dreamed(profile, overrides)
    out = []
    for label, r in rg.items():
        base = label.split(" ", 1)[1] if label.startswith("authors ") else label
        paper = TABLE_IV.get(base, {})
        exps = fss_rows.get(label, {})
        pair = max(exps) if exps else None
        q: dict[str, tuple] = {}
        if pair:
            stats = f"FSS pair {pair}, {n_fss.get(label, n_dream)} configs per size"
            g, i = exps[pair]["gamma_nu"], exps[pair]["inv_nu"]
            q["η-FSS"] = (2 - g.value, g.error, paper.get("eta_fss"), stats)
            q["1/ν-FSS"] = (i.value, i.error, paper.get("inv_nu_fss"), stats)
        problem = ("ill-conditioned: " + r["error"].split(":")[0]) if "error" in r else None
        if not problem:
            stats = f"RSRG {r['n_configs']} configs, step {r['L_fine']}→{r['L_coarse']}"
            q["η-RSRG"] = (4 - 2 * r["y_h"], 2 * r["y_h_err"], paper.get("eta_rsrg"), stats)
            q["1/ν-RSRG"] = (r["y_t"], r["y_t_err"], paper.get("inv_nu_rsrg"), stats)
        out.append({"row": label, "quantities": q, "paper": paper, "rsrg_problem": problem,
                    "FSS pair": str(pair) if pair else "—",
                    "RSRG step": problem or f"{r['L_fine']}→{r['L_coarse']}"})
    return out


_TABLE_IV_PAPER_KEYS = {"η-FSS": "eta_fss", "η-RSRG": "eta_rsrg", "1/ν-FSS": "inv_nu_fss", "1/ν-RSRG": "inv_nu_rsrg"}


def table_iv(profile: str, overrides: dict | None = None) -> pd.DataFrame:
    """η and 1/ν from FSS (largest Table II pair) and from MCRG at :func:`mcrg_reference_size`, beside the paper's.

    ``overrides`` replace entries of the MCRG chapter's parameters; the FSS side uses the profile.
    """
    rows = []
    for rec in _table_iv_rows(profile, overrides):
        row = {"row": rec["row"]}
        for name, paper_key in _TABLE_IV_PAPER_KEYS.items():
            if name in rec["quantities"]:
                value, error, _, _ = rec["quantities"][name]
                row[name] = format_estimate(value, error)
            row[name + " paper"] = rec["paper"].get(paper_key)
        row["FSS pair"], row["RSRG step"] = rec["FSS pair"], rec["RSRG step"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("row")


def table_iv_long(profile: str, overrides: dict | None = None) -> pd.DataFrame:
    """Table IV in long form: every number of the paper's table and ours, with (ours − paper)/error
    and the statistics; a quantity we could not compute is listed with the reason."""
    rows = []
    for rec in _table_iv_rows(profile, overrides):
        for name, paper_key in _TABLE_IV_PAPER_KEYS.items():
            paper = rec["paper"].get(paper_key)
            if name in rec["quantities"]:
                value, error, _, stats = rec["quantities"][name]
                rows.append({"table": "IV", "row": rec["row"], "quantity": name, "paper": paper,
                             "ours": format_estimate(value, error), "value": value, "error": error,
                             "(ours − paper)/error": _difference(value, error, paper), "statistics": stats})
            elif paper is not None or "RSRG" in name:
                reason = rec["rsrg_problem"] if "RSRG" in name else "no FSS exponents for this row"
                rows.append({"table": "IV", "row": rec["row"], "quantity": name, "paper": paper,
                             "ours": "not available", "value": None, "error": None,
                             "(ours − paper)/error": None, "statistics": reason})
    return pd.DataFrame(rows)


def two_layer_targets(profile: str, overrides: dict | None = None) -> dict[str, float]:
    """Validation loss of each single-layer model the two-layer one is trained to match.

    The loss of the chapter's single-layer AdamW model of the same k and weighting,
    evaluated exactly as the two-layer run records its own validation loss: the
    first M/5 configurations of the complexity chapter's validation set, with the
    run's tie-break draw and batch size. Keyed by the paper's row labels. ``overrides``
    replace entries of the complexity chapter's parameters.
    """
    from dreamrg import mc

    P = chapter_params("complexity", profile, overrides)
    T = chapter_params("training", profile)
    MC = chapter_params("monte_carlo", profile)
    single = trained_models(profile)
    _, valid = mc.training_sets(T["L_t"], P["M"], MC["seed"])
    return {paper_label(k, w): train.evaluate_loss(single[paper_label(k, w)], valid, P["M"] // 5, weighted=w,
                                                   seed=P["seed"], batch=min(P["batch_size"], P["M"]))
            for k in P["ks"] for w in (False, True)}


def two_layer_models(profile: str, overrides: dict | None = None) -> dict[str, torch.nn.Module]:
    """Our two-layer models of the complexity chapter (AdamW, same training data as the single layer).

    Each is trained until its validation loss reaches that of the single-layer
    model of the same k and weighting (:func:`two_layer_targets`: "a comparable
    validation loss", as in the paper's section VI), for at most the profile's epochs,
    or until ``patience`` epochs pass without a better validation loss; the best
    epoch is returned then (:func:`dreamrg.train.stopping_point`).
    ``overrides`` replace entries of the complexity chapter's parameters.
    """
    P = chapter_params("complexity", profile, overrides)
    T = chapter_params("training", profile)
    MC = chapter_params("monte_carlo", profile)
    targets = two_layer_targets(profile, overrides)
    out = {}
    for k in P["ks"]:
        for weighted in (False, True):
            tp = train.TrainParams(k=k, model="two-layer", weighted=weighted, epochs=P["epochs"],
                                   patience=P["patience"], batch_size=P["batch_size"], channels=P["channels"],
                                   seed=P["seed"],
                                   target_loss=targets[paper_label(k, weighted)])
            out["2-layer " + paper_label(k, weighted)] = train.cached_model(tp, T["L_t"], P["M"], MC["seed"])
    return out


def authors_two_layer_models(path=None, L_t: int = 32, M: int = 1_000_000) -> dict[str, torch.nn.Module]:
    """The authors' released two-layer models, if their full JSON is available (else empty).

    Default path: ``../shared/authors-release/released_models.json`` beside the repository.
    """
    from pathlib import Path

    from dreamrg import models
    from dreamrg.paths import repo_root

    path = Path(path) if path else repo_root().parent / "shared" / "authors-release" / "released_models.json"
    if not path.is_file():
        return {}
    out = {}
    for entry in models.release_entries(path):
        if entry["model"] == "two_layer_32ch" and entry["L_train"] == L_t and entry["set_size"] == M:
            out["authors 2-layer " + paper_label(entry["kernel_size"], entry["weighted_loss"])] = \
                models.from_release_entry(entry)
    return out


def depth_verdict(single: dict[str, dict], deep: dict[str, dict], mc_ref: dict[int, dict], L: int,
                  names=("chi", "c_me", "c", "U4")) -> pd.DataFrame:
    """Closest-to-MC single-layer and two-layer model per observable at size ``L``.

    "yes"/"no" in the last column require the two distances to differ by more than
    twice the larger combined error; otherwise "undecided".
    """
    import numpy as np

    def closest(group, name):
        ref = mc_ref[L][name]
        label, d = min(group.items(), key=lambda kv: abs(kv[1]["sizes"][L][name]["value"] - ref["value"]))
        v = d["sizes"][L][name]
        return label, abs(v["value"] - ref["value"]), float(np.hypot(v["error"], ref["error"]))

    rows = []
    for name in names:
        ref = mc_ref[L][name]
        s_label, s_d, s_e = closest(single, name)
        d_label, d_d, d_e = closest(deep, name)
        margin = 2 * max(s_e, d_e)
        rows.append({"observable": name, "L": L, "MC": format_estimate(ref["value"], ref["error"]),
                     "best single layer": s_label, "|Δ| single": s_d, "σ single": s_e,
                     "best two layer": d_label, "|Δ| two-layer": d_d, "σ two-layer": d_e,
                     "two-layer closer to MC?": "yes" if d_d < s_d - margin else ("no" if s_d < d_d - margin
                                                                                   else "undecided")})
    return pd.DataFrame(rows).round(4)


def show_snapshot(chapter: str, profile: str = "paper", current: str | None = None) -> None:
    """Display the kept results of ``chapter`` at ``profile`` (figures and tables), if any.

    Used at the end of chapters: when the book is built at another profile, the
    results of the last paper-profile run (committed under ``book/snapshots/``) are
    shown with their date and run time. Nothing is shown when ``current == profile``
    (the chapter itself already shows them) or when no snapshot exists.
    """
    import json

    from IPython.display import Image, Markdown, display

    from dreamrg.paths import repo_root

    if current == profile:
        return
    folder = repo_root() / "book" / "snapshots" / profile / chapter
    if not (folder / "meta.json").is_file():
        print(f"No {profile}-profile snapshot of this chapter has been kept yet.")
        return
    meta = json.loads((folder / "meta.json").read_text())
    commit = f", commit `{meta['git_commit']}`" if meta.get("git_commit") else ""
    display(Markdown(f"**Kept results of the `{profile}` profile** — run on {meta['date']} with dreamrg "
                     f"{meta['dreamrg_version']}{commit}; that execution took {meta['seconds'] / 60:.1f} min, reusing any "
                     "results already cached (not recomputed by this build)."))
    tables = (folder / "tables.md").read_text() if (folder / "tables.md").is_file() else ""
    if tables:
        display(Markdown(tables))
    for i in range(1, meta["figures"] + 1):
        display(Image(filename=str(folder / f"figure-{i}.png")))
