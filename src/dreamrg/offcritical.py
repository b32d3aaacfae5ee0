"""Judging configurations off criticality: exact energies, Binder slopes and crossings, ν, and the RG flow.

Every estimator takes per-configuration series (m, e) of one coupling K and size L, from
Monte Carlo or dreamed, in their natural order:

* :func:`coupling_point` -- U4, χ, ⟨|m|⟩ and ⟨e⟩ with binned-jackknife errors (bins of at
  least :data:`MIN_BIN_TAUS` τ_int), dU4/dK from the fluctuation formula, and ⟨e⟩ against
  Kaufman's exact e(K, L) (:class:`CouplingPoint`);
* :func:`binder_crossing_reweighted` -- where U4 of two sizes cross, both curves reweighted
  from one coupling K0 (single histogram), with a joint jackknife;
* :func:`binder_crossing_interpolated` -- the same between couplings: U4(L') − U4(L)
  interpolated linearly between the two couplings where it changes sign, with a
  parametric bootstrap;
* :func:`nu_fit` -- 1/ν from dU4/dK ∝ L^{1/ν} at one coupling (weighted least squares in
  log–log, joint jackknife over all sizes);
* :func:`flow_point` -- the effective coupling of blocked configurations: the K_eff whose
  exact e(K_eff, L/2) equals their measured ⟨e⟩ (:class:`FlowPoint`), and :func:`flow_exponent`,
  the slope of that flow at K_c and y_t = log₂ of it;
* :func:`analyse` -- all of it for a grid of couplings and sizes (:class:`OffcriticalResult`).

Conventions (those of :mod:`dreamrg.observables`): m = L⁻² Σσ, e = L⁻² Σ_⟨ij⟩ σσ over the
2L² bonds, S = L² e the sum conjugate to K (P ∝ exp(K S)), U4 = 1 − ⟨m⁴⟩/(3⟨m²⟩²),
χ = L²(⟨m²⟩ − ⟨m⟩²). The fluctuation formula d⟨O⟩/dK = ⟨O S⟩ − ⟨O⟩⟨S⟩ and
reweighting assume the Boltzmann form P ∝ exp(K S); for dreamed configurations they
measure how far the dreamed ensemble carries that structure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from dreamrg.coarse import majority_rule
from dreamrg.exact import K_C, coupling_from_energy, exact_energy_and_heat_capacity
from dreamrg.observables import fss_observables, magnetization_energy
from dreamrg.stats import Estimate, jackknife, tau_int

#: jackknife bins span at least this many integrated autocorrelation times (τ_int = ½ for independent samples)
MIN_BIN_TAUS = 20
#: at most this many jackknife bins
MAX_BINS = 100

Series = tuple[np.ndarray, np.ndarray]


def jackknife_bins(n: int, tau: float) -> int:
    """Bins for ``n`` samples whose τ_int is ``tau``: each at least :data:`MIN_BIN_TAUS` τ long,
    2..:data:`MAX_BINS`."""
    return int(max(2, min(MAX_BINS, n // max(1, math.ceil(MIN_BIN_TAUS * tau)))))


def _series(m, e) -> Series:
    m, e = np.asarray(m, dtype=np.float64), np.asarray(e, dtype=np.float64)
    if m.shape != e.shape or m.ndim != 1 or m.size < 4:
        raise ValueError(f"m and e must be equal-length 1-d series of at least 4 samples; got {m.shape} and {e.shape}")
    return m, e


def _tau(x: np.ndarray) -> float:
    return tau_int(x)[0]


# ----------------------------------------------------------------------------- one coupling, one size
def _slope_moments(m: np.ndarray, e: np.ndarray, L: int) -> np.ndarray:
    """Per-sample (m², m⁴, s, m² s, m⁴ s) with s = S − mean(S), S = L² e; shape (n, 5)."""
    m2 = m * m
    s = L * L * (e - e.mean())  # a constant shift leaves every covariance unchanged, and avoids cancellation
    return np.stack([m2, m2 * m2, s, m2 * s, m2 * m2 * s], axis=1)


def _slope(mom: np.ndarray) -> np.ndarray:
    """dU4/dK from averaged :func:`_slope_moments` (..., 5):
    −(d⟨m⁴⟩⟨m²⟩ − 2⟨m⁴⟩d⟨m²⟩)/(3⟨m²⟩³)."""
    m2, m4, s, m2s, m4s = (mom[..., i] for i in range(5))
    d2, d4 = m2s - m2 * s, m4s - m4 * s
    return -(d4 * m2 - 2.0 * m4 * d2) / (3.0 * m2**3)


def binder_slope(m, e, L: int, n_bins: int = MAX_BINS) -> Estimate:
    """dU4/dK = −(d⟨m⁴⟩ ⟨m²⟩ − 2⟨m⁴⟩ d⟨m²⟩)/(3⟨m²⟩³)
    with d⟨O⟩ = ⟨O S⟩ − ⟨O⟩⟨S⟩, binned jackknife error."""
    m, e = _series(m, e)
    value, error = jackknife(_slope, _slope_moments(m, e, L), n_bins=n_bins)
    return Estimate(float(value), float(error))


@dataclass(frozen=True)
class CouplingPoint:
    """Observables of one (K, L) with errors, and ⟨e⟩ against the exact finite-torus value.

    Attributes
    ----------
    K : float
        Coupling the configurations were made (or dreamed) at.
    L, n : int
        Size and number of configurations.
    U4, chi, abs_m : Estimate
        Binder cumulant, susceptibility and ⟨|m|⟩ (τ: τ_int of m²).
    e : Estimate
        ⟨e⟩ (τ: τ_int of e).
    dU4_dK : Estimate
        From the fluctuation formula (:func:`binder_slope`).
    e_exact : float
        Kaufman's exact ⟨e⟩(K, L) (:func:`dreamrg.exact.exact_energy_and_heat_capacity`).
    """

    K: float
    L: int
    n: int
    U4: Estimate
    chi: Estimate
    abs_m: Estimate
    e: Estimate
    dU4_dK: Estimate
    e_exact: float

    @property
    def z_e(self) -> float:
        """(⟨e⟩ − e_exact)/error: the deviation from the exact energy in units of its error."""
        return (self.e.value - self.e_exact) / self.e.error

    def to_dict(self) -> dict:
        return {"K": self.K, "L": self.L, "n": self.n, "e_exact": self.e_exact,
                **{k: getattr(self, k).to_dict() for k in ("U4", "chi", "abs_m", "e", "dU4_dK")}}

    @classmethod
    def from_dict(cls, d: dict) -> "CouplingPoint":
        return cls(K=float(d["K"]), L=int(d["L"]), n=int(d["n"]), e_exact=float(d["e_exact"]),
                   **{k: Estimate.from_dict(d[k]) for k in ("U4", "chi", "abs_m", "e", "dU4_dK")})


def coupling_point(m, e, L: int, K: float) -> CouplingPoint:
    """Every observable of one (K, L) from its (m, e) series; jackknife bins from τ_int of m² and e."""
    m, e = _series(m, e)
    tau_m2, tau_e = _tau(m * m), _tau(e)
    n_bins = jackknife_bins(m.size, max(tau_m2, tau_e))
    obs = fss_observables(m, e, L, n_bins=n_bins)
    with_tau = {k: Estimate(obs[k].value, obs[k].error, tau_m2) for k in ("U4", "chi", "abs_m")}
    return CouplingPoint(K=float(K), L=int(L), n=int(m.size), e=Estimate(obs["e"].value, obs["e"].error, tau_e),
                         dU4_dK=binder_slope(m, e, L, n_bins), e_exact=exact_energy_and_heat_capacity(L, K)[0],
                         **with_tau)


# ----------------------------------------------------------------------------- Binder crossings
@dataclass(frozen=True)
class Crossing:
    """Where U4 of sizes ``L_small`` and ``L_large`` cross.

    ``method`` is ``"reweighted"`` (both curves reweighted from the coupling ``K0``) or
    ``"interpolated"`` (between two couplings of the grid); ``K`` is ``None`` when no
    crossing was found, and ``note`` says why.
    """

    L_small: int
    L_large: int
    method: str
    K: Estimate | None
    K0: float | None = None
    note: str = ""

    def to_dict(self) -> dict:
        return {"L_small": self.L_small, "L_large": self.L_large, "method": self.method,
                "K": None if self.K is None else self.K.to_dict(), "K0": self.K0, "note": self.note}

    @classmethod
    def from_dict(cls, d: dict) -> "Crossing":
        return cls(int(d["L_small"]), int(d["L_large"]), d["method"],
                   None if d["K"] is None else Estimate.from_dict(d["K"]), d["K0"], d["note"])


def _binned_u4(m: np.ndarray, e: np.ndarray, L: int, dK: float, nb: int) -> tuple[float, np.ndarray]:
    """U4 reweighted by exp(dK·S), from all samples and with each of ``nb`` bins left out."""
    s = dK * L * L * (e - e.mean())
    w = np.exp(s - s.max())
    m2 = m * m
    size = m.size // nb
    parts = np.stack([w, w * m2, w * m2 * m2])[:, : nb * size].reshape(3, nb, size).sum(axis=2)
    total = parts.sum(axis=1)

    def u4(p):
        return 1.0 - p[2] * p[0] / (3.0 * p[1] ** 2)

    return float(u4(total)), u4(total[:, None] - parts)


def binder_crossing_reweighted(small: Series, large: Series, L_small: int, L_large: int, K0: float) -> Crossing:
    """Crossing of U4(L_small) and U4(L_large) with both series reweighted from their common coupling ``K0``.

    The root of D(K) = U4_large(K) − U4_small(K) is searched within K0 ± 1/σ_S of the larger
    size (where single-histogram reweighting holds); none there gives ``K = None``. The jackknife
    over aligned bins of both series (joint: correct for independent and for correlated series)
    linearises each leave-one-out root around the full one.
    """
    (ms, es), (ml, el) = _series(*small), _series(*large)
    n = min(ms.size, ml.size)
    ms, es, ml, el = ms[:n], es[:n], ml[:n], el[:n]
    nb = jackknife_bins(n, max(_tau(es), _tau(el), _tau(ms * ms), _tau(ml * ml)))
    r = 1.0 / (L_large**2 * float(np.std(el)))

    def D(K):
        fs, ls = _binned_u4(ms, es, L_small, K - K0, nb)
        fl, ll = _binned_u4(ml, el, L_large, K - K0, nb)
        return fl - fs, ll - ls

    lo, hi = D(K0 - r)[0], D(K0 + r)[0]
    if not lo * hi < 0:
        return Crossing(L_small, L_large, "reweighted", None, K0,
                        f"U4(L={L_large}) − U4(L={L_small}) keeps its sign within the reweighting range "
                        f"K0 ± {r:.2g}")
    root = brentq(lambda K: D(K)[0], K0 - r, K0 + r, xtol=1e-14 * K0)
    h = r / 50
    loo = D(root)[1]
    slope = (D(root + h)[1] - D(root - h)[1]) / (2 * h)
    roots = root - loo / slope
    error = math.sqrt((nb - 1) / nb * float(((roots - roots.mean()) ** 2).sum()))
    return Crossing(L_small, L_large, "reweighted", Estimate(float(root), error), K0)


def u4_difference(small: Series, large: Series, L_small: int, L_large: int) -> Estimate:
    """U4(L_large) − U4(L_small) at one coupling, joint jackknife over aligned bins of both series."""
    (ms, es), (ml, el) = _series(*small), _series(*large)
    n = min(ms.size, ml.size)
    nb = jackknife_bins(n, max(_tau(ms[:n] ** 2), _tau(ml[:n] ** 2)))
    mom = np.stack([ms[:n] ** 2, ms[:n] ** 4, ml[:n] ** 2, ml[:n] ** 4], axis=1)

    def diff(x):
        return (1.0 - x[..., 3] / (3.0 * x[..., 2] ** 2)) - (1.0 - x[..., 1] / (3.0 * x[..., 0] ** 2))

    value, error = jackknife(diff, mom, n_bins=nb)
    return Estimate(float(value), float(error))


def _quadratic_root(Ks: list[float], D: list[float], lo: float, hi: float) -> float | None:
    """Root in [lo, hi] of the parabola through three points (None if it has none there)."""
    c2, c1, c0 = np.polyfit(Ks, D, 2)
    roots = [r.real for r in np.roots([c2, c1, c0]) if abs(r.imag) < 1e-12 and lo <= r.real <= hi]
    return min(roots, key=lambda r: abs(r - 0.5 * (lo + hi))) if roots else None


def binder_crossing_interpolated(Ks: Iterable[float], D: Iterable[Estimate], L_small: int, L_large: int,
                                 seed: int = 0, n_boot: int = 4000) -> Crossing:
    """Crossing from D(K) = U4(L_large) − U4(L_small) on a grid of independent couplings.

    The first pair of neighbouring couplings where D goes from negative (disordered side)
    to non-negative is interpolated linearly. The statistical error is half the 16–84 % range
    of the roots of ``n_boot`` Gaussian redraws of the two D values (independent couplings),
    drawn from ``SeedSequence(seed)``. Where a third coupling neighbours the pair, the shift
    to the root of the parabola through the three points is added in quadrature, as the
    error of interpolating a curved D linearly.
    """
    Ks, D = list(Ks), list(D)
    for i in range(len(Ks) - 1):
        a, b = D[i], D[i + 1]
        if a.value < 0 <= b.value:
            K1, K2 = Ks[i], Ks[i + 1]
            root = K1 + (K2 - K1) * (-a.value) / (b.value - a.value)
            rng = np.random.default_rng(np.random.SeedSequence(seed))
            da, db = rng.normal(a.value, a.error, n_boot), rng.normal(b.value, b.error, n_boot)
            roots = K1 + (K2 - K1) * (-da) / (db - da)
            q16, q84 = np.percentile(roots, [16, 84])
            error, note = float(q84 - q16) / 2, "statistical only (two couplings)"
            third = [j for j in (i - 1, i + 2) if 0 <= j < len(Ks)]
            if third:
                j = min(third, key=lambda j: abs(Ks[j] - root))
                idx = sorted((i, i + 1, j))
                quad = _quadratic_root([Ks[k] for k in idx], [D[k].value for k in idx], K1, K2)
                shift = abs(quad - root) if quad is not None else K2 - K1
                error, note = math.hypot(error, shift), f"statistical ⊕ linear-vs-quadratic shift {shift:.2g}"
            return Crossing(L_small, L_large, "interpolated", Estimate(float(root), error), None, note)
    return Crossing(L_small, L_large, "interpolated", None, None,
                    f"U4(L={L_large}) − U4(L={L_small}) does not change sign from − to + on the grid")


# ----------------------------------------------------------------------------- ν from the slopes
@dataclass(frozen=True)
class NuFit:
    """1/ν (and ν) from dU4/dK ∝ L^{1/ν} at coupling ``K`` over ``sizes``; χ² of the fit with ``dof``."""

    K: float
    sizes: tuple[int, ...]
    inv_nu: Estimate
    nu: Estimate
    chi2: float
    dof: int

    def to_dict(self) -> dict:
        return {"K": self.K, "sizes": list(self.sizes), "inv_nu": self.inv_nu.to_dict(), "nu": self.nu.to_dict(),
                "chi2": self.chi2, "dof": self.dof}

    @classmethod
    def from_dict(cls, d: dict) -> "NuFit":
        return cls(float(d["K"]), tuple(int(L) for L in d["sizes"]), Estimate.from_dict(d["inv_nu"]),
                   Estimate.from_dict(d["nu"]), float(d["chi2"]), int(d["dof"]))


def nu_fit(series: dict[int, Series], K: float) -> NuFit:
    """1/ν as the weighted least-squares slope of ln dU4/dK against ln L, joint jackknife over all sizes.

    The weights (1/σ² of ln dU4/dK per size) are fixed from the per-size errors; the series
    are cut to a common length and binned together, so correlated sizes (one dreamed chain
    per configuration at every size) are handled as well as independent ones.
    """
    sizes = sorted(series)
    if len(sizes) < 2:
        raise ValueError(f"a fit of 1/ν needs at least two sizes; got {sizes}")
    pairs = {L: _series(*series[L]) for L in sizes}
    n = min(m.size for m, _ in pairs.values())
    nb = jackknife_bins(n, max(max(_tau(m[:n] ** 2), _tau(e[:n])) for m, e in pairs.values()))
    mom = np.concatenate([_slope_moments(m[:n], e[:n], L) for L, (m, e) in pairs.items()], axis=1)
    x = np.log(np.asarray(sizes, dtype=np.float64))
    per_size = [binder_slope(m[:n], e[:n], L, nb) for L, (m, e) in pairs.items()]
    w = np.array([(s.value / s.error) ** 2 if s.error > 0 else 1.0 for s in per_size])
    xc = x - (w * x).sum() / w.sum()

    def slope(means):
        y = np.log(np.abs(np.stack([_slope(means[..., 5 * i:5 * i + 5]) for i in range(len(sizes))], axis=-1)))
        return ((w * xc * y).sum(axis=-1) / (w * xc * xc).sum())[..., None]

    value, error = jackknife(slope, mom, n_bins=nb)
    b, db = float(value[0]), float(error[0])
    y = np.log(np.abs([s.value for s in per_size]))
    a = float((w * (y - b * x)).sum() / w.sum())
    chi2 = float((w * (y - a - b * x) ** 2).sum())
    return NuFit(float(K), tuple(sizes), Estimate(b, db), Estimate(1.0 / b, db / b**2), chi2, len(sizes) - 2)


# ----------------------------------------------------------------------------- the flow
@dataclass(frozen=True)
class FlowPoint:
    """Effective coupling of once-blocked configurations of size ``L`` made at coupling ``K``.

    ``e_blocked`` is ⟨e⟩ of the L/2 block-spin configurations, ``K_eff`` the coupling whose
    exact e(K_eff, L/2) equals it, with error σ_e / c(K_eff, L/2) (as d e/dK = c exactly).
    """

    K: float
    L: int
    e_blocked: Estimate
    K_eff: Estimate

    def to_dict(self) -> dict:
        return {"K": self.K, "L": self.L, "e_blocked": self.e_blocked.to_dict(), "K_eff": self.K_eff.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "FlowPoint":
        return cls(float(d["K"]), int(d["L"]), Estimate.from_dict(d["e_blocked"]), Estimate.from_dict(d["K_eff"]))


def effective_coupling(e, L: int) -> tuple[Estimate, Estimate]:
    """⟨e⟩ of a series of size-``L`` configurations (jackknife, τ) and the coupling of the exact
    e(K, L) equal to it."""
    e = np.asarray(e, dtype=np.float64)
    tau = _tau(e)
    value, error = jackknife(lambda x: x, e[:, None], n_bins=jackknife_bins(e.size, tau))
    mean = Estimate(float(value[0]), float(error[0]), tau)
    K = coupling_from_energy(mean.value, L)
    c = exact_energy_and_heat_capacity(L, K)[1]
    return mean, Estimate(K, mean.error / c)


def blocked_energies(batches: Iterable[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """e of the majority-rule block spins (:func:`dreamrg.coarse.majority_rule`) of every configuration."""
    out = [magnetization_energy(majority_rule(batch, rng)[0])[1] for batch in batches]
    return np.concatenate(out) if out else np.empty(0)


def flow_point(e_blocked, L: int, K: float) -> FlowPoint:
    """K_eff of the block spins of size-``L`` configurations made at ``K`` (their ⟨e⟩ matched at size L/2)."""
    mean, K_eff = effective_coupling(e_blocked, L // 2)
    return FlowPoint(float(K), int(L), mean, K_eff)


def flow_exponent(flow: Iterable[FlowPoint]) -> tuple[Estimate, Estimate] | None:
    """λ = dK_eff/dK at the coupling closest to K_c and y_t = log₂ λ (blocking factor b = 2).

    λ is the central difference of K_eff over that coupling's two neighbours (independent
    ensembles: errors in quadrature). It is the eigenvalue of the flow projected on the
    nearest-neighbour coupling alone, an approximation of the thermal eigenvalue 2^{1/ν}.
    ``None`` if the coupling closest to K_c has no neighbour on each side.
    """
    pts = sorted(flow, key=lambda f: f.K)
    i = min(range(len(pts)), key=lambda j: abs(pts[j].K - K_C), default=None)
    if i is None or i == 0 or i == len(pts) - 1:
        return None
    a, b = pts[i - 1], pts[i + 1]
    lam = (b.K_eff.value - a.K_eff.value) / (b.K - a.K)
    err = math.hypot(a.K_eff.error, b.K_eff.error) / (b.K - a.K)
    return Estimate(lam, err), Estimate(math.log2(lam), err / (lam * math.log(2)))


# ----------------------------------------------------------------------------- a whole grid
@dataclass(frozen=True)
class OffcriticalResult:
    """Everything judged on a grid of couplings × sizes (see :func:`analyse`)."""

    points: tuple[CouplingPoint, ...]
    crossings: tuple[Crossing, ...]
    nu: NuFit
    flow: tuple[FlowPoint, ...]

    @property
    def couplings(self) -> list[float]:
        return sorted({p.K for p in self.points})

    @property
    def sizes(self) -> list[int]:
        return sorted({p.L for p in self.points})

    def point(self, K: float, L: int) -> CouplingPoint:
        return next(p for p in self.points if p.K == K and p.L == L)

    def to_dict(self) -> dict:
        return {"points": [p.to_dict() for p in self.points], "crossings": [c.to_dict() for c in self.crossings],
                "nu": self.nu.to_dict(), "flow": [f.to_dict() for f in self.flow]}

    @classmethod
    def from_dict(cls, d: dict) -> "OffcriticalResult":
        return cls(tuple(CouplingPoint.from_dict(p) for p in d["points"]),
                   tuple(Crossing.from_dict(c) for c in d["crossings"]), NuFit.from_dict(d["nu"]),
                   tuple(FlowPoint.from_dict(f) for f in d["flow"]))


def _closest_to_crossing(points: dict[float, tuple[CouplingPoint, CouplingPoint]]) -> float:
    """The coupling whose Newton step |D/D'| to the crossing (D = ΔU4, D' = ΔdU4/dK) is the shortest,
    among the couplings next to a sign change of D (all of them if D never changes sign)."""
    Ks = sorted(points)
    D = [points[K][1].U4.value - points[K][0].U4.value for K in Ks]
    near = {Ks[j] for i in range(len(Ks) - 1) if (D[i] < 0) != (D[i + 1] < 0) for j in (i, i + 1)} or set(Ks)

    def step(K):
        small, large = points[K]
        dD = large.dU4_dK.value - small.dU4_dK.value
        return abs((large.U4.value - small.U4.value) / dD) if dD else math.inf

    return min(sorted(near), key=step)


def analyse(series: dict[tuple[float, int], Series], blocked: dict[float, np.ndarray], L_flow: int,
            seed: int = 0) -> OffcriticalResult:
    """Points at every (K, L), crossings of neighbouring sizes (both methods), ν at the coupling
    closest to K_c, and the flow of ``blocked`` (e of the block spins of size-``L_flow`` configurations per K)."""
    points = {key: coupling_point(m, e, key[1], key[0]) for key, (m, e) in series.items()}
    Ks = sorted({K for K, _ in series})
    sizes = sorted({L for _, L in series})
    crossings = []
    for small, large in zip(sizes, sizes[1:]):
        pair = {K: (points[(K, small)], points[(K, large)]) for K in Ks}
        K0 = _closest_to_crossing(pair)
        crossings.append(binder_crossing_reweighted(series[(K0, small)], series[(K0, large)], small, large, K0))
        D = [u4_difference(series[(K, small)], series[(K, large)], small, large) for K in Ks]
        crossings.append(binder_crossing_interpolated(Ks, D, small, large, seed=seed))
    K_nu = min(Ks, key=lambda K: abs(K - K_C))
    nu = nu_fit({L: series[(K_nu, L)] for L in sizes}, K_nu)
    flow = tuple(flow_point(blocked[K], L_flow, K) for K in Ks if K in blocked)
    return OffcriticalResult(tuple(points[key] for key in sorted(points)), tuple(crossings), nu, flow)
