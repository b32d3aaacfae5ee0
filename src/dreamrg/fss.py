"""Finite-size scaling: cached per-size summaries, exponents from size pairs, PDFs of m.

* :func:`mc_summary` -- observables (with errors and τ_int) of a cached Monte Carlo
  store, plus a histogram of the rescaled magnetisation x = m·L^{β/ν}.
* :func:`pair_exponents` -- the paper's Table II: γ/ν from χ and 1/ν from c_me using
  the sizes (L, L/4): x = ln(X(L)/X(L/4)) / ln 4.
* :func:`exact_comparison` -- Monte Carlo ⟨e⟩ and c against Kaufman's exact values.
"""

from __future__ import annotations

import numpy as np

from dreamrg import cache
from dreamrg.exact import K_C, exact_energy_and_heat_capacity
from dreamrg.observables import Estimate, exponent_from_pair, store_accumulator, summarize
from dreamrg.paper_values import EXACT

#: histogram of x = m L^{1/8}: an odd number of bins so that m = 0 sits in a bin centre
PDF_BINS = 41
PDF_RANGE = (-2.0, 2.0)


def m_histogram(m: np.ndarray, L: int, beta_nu: float = EXACT["beta_nu"]) -> dict:
    """Normalised density of x = m L^{β/ν} on :data:`PDF_BINS` bins; JSON-ready dict."""
    x = np.asarray(m) * float(L) ** beta_nu
    counts, edges = np.histogram(x, bins=PDF_BINS, range=PDF_RANGE)
    return {"edges": edges.tolist(), "counts": counts.tolist(), "beta_nu": beta_nu}


def log_pdf_ratio(hist: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x centres, ln P(x)/P(0) and its Poisson error, from a :func:`m_histogram` dict (empty bins dropped)."""
    edges = np.asarray(hist["edges"])
    counts = np.asarray(hist["counts"], dtype=float)
    centres = 0.5 * (edges[1:] + edges[:-1])
    zero = counts[len(counts) // 2]
    keep = counts > 0
    ratio = np.log(counts[keep] / zero)
    err = np.sqrt(1.0 / counts[keep] + 1.0 / zero)
    return centres[keep], ratio, err


def mc_summary(L: int, n_configs: int, seed: int, algorithm: str = "sw", K: float = K_C,
               progress: bool | None = None) -> dict:
    """Observables of ``n_configs`` Monte Carlo configurations (cached, store cached too)."""
    from dreamrg.mc import MCParams, cached_run

    params = MCParams(L=L, K=K, algorithm=algorithm, seed=seed)
    key = params.store_meta() | {"n_configs": int(n_configs)}

    def compute() -> dict:
        import time

        t0 = time.perf_counter()
        path = cached_run(params, n_configs, progress=progress)
        t_mc = time.perf_counter() - t0
        acc = store_accumulator(path, stop=n_configs)
        out = summarize(acc)
        out["hist"] = m_histogram(acc.m, L)
        out["seconds"] = t_mc
        out["params"] = key
        return out

    return cache.cached_json("observables", f"mc-L{L}-{algorithm}", key, compute)


def estimate(summary: dict, name: str) -> Estimate:
    return Estimate(summary[name]["value"], summary[name]["error"])


def pair_exponents(summaries: dict[int, dict], ratio: int = 4) -> dict[tuple[int, int], dict[str, Estimate]]:
    """γ/ν (from χ) and 1/ν (from c_me) for every pair (L, L/ratio) present in ``summaries``."""
    out = {}
    for L in sorted(summaries):
        small = L // ratio
        if small in summaries and L % ratio == 0:
            out[(L, small)] = {
                "gamma_nu": exponent_from_pair(estimate(summaries[L], "chi"), estimate(summaries[small], "chi"), ratio),
                "inv_nu": exponent_from_pair(estimate(summaries[L], "c_me"), estimate(summaries[small], "c_me"), ratio),
            }
    return out


def exact_comparison(summary: dict, K: float = K_C) -> dict:
    """Exact ⟨e⟩ and c for the summary's L, with (MC − exact)/error."""
    e_ex, c_ex = exact_energy_and_heat_capacity(summary["L"], K)
    e, c = estimate(summary, "e"), estimate(summary, "c")
    return {
        "L": summary["L"], "e_mc": e, "e_exact": e_ex, "z_e": (e.value - e_ex) / e.error,
        "c_mc": c, "c_exact": c_ex, "z_c": (c.value - c_ex) / c.error,
    }


# ----------------------------------------------------------------------------- dreamed ensembles
def ensemble_summaries(path, stop: int | None = None, min_L: int = 2) -> dict[int, dict]:
    """Observables (with errors, τ_int, m histogram) for every size ≥ ``min_L`` of a dreamed ensemble."""
    from dreamrg.dream import open_ensemble
    from dreamrg.observables import SeriesAccumulator

    ens = open_ensemble(path)
    out = {}
    for L in ens.sizes:
        if L < min_L:
            continue
        m, e = ens.series(L, stop)
        acc = SeriesAccumulator(L)
        acc.add_series(m, e)
        s = summarize(acc)
        s["hist"] = m_histogram(m, L)
        out[L] = s
    return out


def joint_pair_exponents(path, stop: int | None = None, ratio: int = 4,
                         n_bins: int = 100) -> dict[tuple[int, int], dict[str, Estimate]]:
    """γ/ν and 1/ν from (L, L/ratio) of ONE dreamed ensemble, with a joint jackknife.

    Both sizes come from the same chains, so their errors are correlated; the
    jackknife over chain bins propagates that correlation exactly (quadrature
    would not).
    """
    from dreamrg.dream import open_ensemble
    from dreamrg.observables import _estimators, _moments, jackknife

    ens = open_ensemble(path)
    out = {}
    for L in ens.sizes:
        small = L // ratio
        if small < 2 or small not in ens.sizes:
            continue
        mL, eL = ens.series(L, stop)
        ms, es = ens.series(small, stop)
        samples = np.concatenate([_moments(mL, eL), _moments(ms, es)], axis=1)

        def func(mom, L=L, small=small):
            big = _estimators(mom[..., :8], L)
            sm = _estimators(mom[..., 8:], small)
            return np.stack([np.log(big[..., 0] / sm[..., 0]), np.log(big[..., 1] / sm[..., 1])], axis=-1) / np.log(ratio)

        value, error = jackknife(func, samples, n_bins=n_bins)
        out[(L, small)] = {"gamma_nu": Estimate(float(value[0]), float(error[0])),
                           "inv_nu": Estimate(float(value[1]), float(error[1]))}
    return out


def dream_summary(model, params, n_configs: int, progress: bool | None = None) -> dict:
    """Cached per-size summaries and joint Table-II exponents of a dreamed ensemble."""
    from dataclasses import asdict

    from dreamrg.dream import cached_ensemble, model_id

    key = asdict(params) | {"model_id": model_id(model), "n_configs": int(n_configs)}

    def compute() -> dict:
        import time

        t0 = time.perf_counter()
        path = cached_ensemble(model, params, n_configs, progress=progress)
        seconds = time.perf_counter() - t0
        sums = ensemble_summaries(path, stop=n_configs)
        exps = joint_pair_exponents(path, stop=n_configs)
        return {"sizes": {str(L): s for L, s in sums.items()},
                "exponents": {f"{a},{b}": {k: v.to_dict() for k, v in d.items()} for (a, b), d in exps.items()},
                "seconds": seconds, "n": int(n_configs)}

    res = cache.cached_json("observables", f"dream-{model_id(model)}", key, compute)
    res["sizes"] = {int(L): s for L, s in res["sizes"].items()}
    res["exponents"] = {tuple(int(x) for x in k.split(",")): {n: Estimate(**v) for n, v in d.items()}
                        for k, d in res["exponents"].items()}
    return res
