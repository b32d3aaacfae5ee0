"""Finite-size scaling: exponents from size pairs, per-size summaries of dreamed ensembles, PDFs of m.

* :func:`m_histogram` -- histogram of the rescaled magnetisation x = m·L^{β/ν}.
* :func:`pair_exponents` -- the paper's Table II: γ/ν from χ and 1/ν from c_me using
  the sizes (L, L/4): x = ln(X(L)/X(L/4)) / ln 4 (:class:`PairExponents`).
* :func:`ensemble_summaries`, :func:`joint_pair_exponents` -- the same for every size of
  one dreamed ensemble, the exponents with a joint jackknife.
* :func:`exact_comparison` -- Monte Carlo ⟨e⟩ and c against Kaufman's exact values.

The cached summaries of MC stores and dreamed ensembles are recipes of
:mod:`dreamrg.runs.summaries`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dreamrg.exact import K_C, exact_energy_and_heat_capacity
from dreamrg.observables import Estimate, MHistogram, SizeSummary, exponent_from_pair, summarize
from dreamrg.paper_values import EXACT

#: histogram of x = m L^{1/8}: an odd number of bins so that m = 0 sits in a bin centre
PDF_BINS = 41
PDF_RANGE = (-2.0, 2.0)


def m_histogram(m: np.ndarray, L: int, beta_nu: float = EXACT["beta_nu"]) -> MHistogram:
    """Counts of x = m L^{β/ν} on :data:`PDF_BINS` bins over :data:`PDF_RANGE`."""
    x = np.asarray(m) * float(L) ** beta_nu
    counts, edges = np.histogram(x, bins=PDF_BINS, range=PDF_RANGE)
    return MHistogram(tuple(edges.tolist()), tuple(counts.tolist()), beta_nu)


def log_pdf_ratio(hist: MHistogram) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x centres, ln P(x)/P(0) and its Poisson error, from a :func:`m_histogram` (empty bins dropped)."""
    edges = np.asarray(hist.edges)
    counts = np.asarray(hist.counts, dtype=float)
    centres = 0.5 * (edges[1:] + edges[:-1])
    zero = counts[len(counts) // 2]
    keep = counts > 0
    ratio = np.log(counts[keep] / zero)
    err = np.sqrt(1.0 / counts[keep] + 1.0 / zero)
    return centres[keep], ratio, err


@dataclass(frozen=True)
class PairExponents:
    """γ/ν (from χ) and 1/ν (from c_me) of one pair of sizes (L, L/4): a cell pair of Table II."""

    gamma_nu: Estimate
    inv_nu: Estimate

    def to_dict(self) -> dict:
        return {"gamma_nu": self.gamma_nu.to_dict(), "inv_nu": self.inv_nu.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "PairExponents":
        return cls(Estimate.from_dict(d["gamma_nu"]), Estimate.from_dict(d["inv_nu"]))


def pair_exponents(summaries: dict[int, SizeSummary], ratio: int = 4) -> dict[tuple[int, int], PairExponents]:
    """γ/ν (from χ) and 1/ν (from c_me) for every pair (L, L/ratio) present in ``summaries``.

    Errors in quadrature: valid for independent runs of the two sizes (Monte Carlo).
    """
    out = {}
    for L in sorted(summaries):
        small = L // ratio
        if small in summaries and L % ratio == 0:
            big, sm = summaries[L], summaries[small]
            out[(L, small)] = PairExponents(gamma_nu=exponent_from_pair(big.chi, sm.chi, ratio),
                                            inv_nu=exponent_from_pair(big.c_me, sm.c_me, ratio))
    return out


def exact_comparison(summary: SizeSummary, K: float = K_C) -> dict:
    """Exact ⟨e⟩ and c for the summary's L, with (MC − exact)/error."""
    e_ex, c_ex = exact_energy_and_heat_capacity(summary.L, K)
    e, c = summary.e, summary.c
    return {
        "L": summary.L, "e_mc": e, "e_exact": e_ex, "z_e": (e.value - e_ex) / e.error,
        "c_mc": c, "c_exact": c_ex, "z_c": (c.value - c_ex) / c.error,
    }


# ----------------------------------------------------------------------------- dreamed ensembles
def ensemble_summaries(path, stop: int | None = None, min_L: int = 2) -> dict[int, SizeSummary]:
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
        out[L] = summarize(acc).with_hist(m_histogram(m, L))
    return out


def joint_pair_exponents(path, stop: int | None = None, ratio: int = 4,
                         n_bins: int = 100) -> dict[tuple[int, int], PairExponents]:
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
            return (np.stack([np.log(big[..., 0] / sm[..., 0]), np.log(big[..., 1] / sm[..., 1])], axis=-1)
                    / np.log(ratio))

        value, error = jackknife(func, samples, n_bins=n_bins)
        out[(L, small)] = PairExponents(gamma_nu=Estimate(float(value[0]), float(error[0])),
                                        inv_nu=Estimate(float(value[1]), float(error[1])))
    return out
