"""dreamrg.offcritical: every estimator against a known answer.

Two kinds of data with known answers: exact samples of the L ≤ 4 torus (independent draws of
(E, M) from the enumerated Boltzmann distribution, so every exact value is known), and
Swendsen–Wang Monte Carlo at small L, judged against Kaufman's exact energies, the exact K_c
and ν = 1.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from dreamrg import offcritical as oc
from dreamrg.exact import K_C, exact_em_distribution, exact_energy_and_heat_capacity, exact_observables_enumeration
from dreamrg.mc import MCParams, sample
from dreamrg.observables import magnetization_energy
from dreamrg.stats import Estimate


def sample_chains(params: MCParams, chains: list[int], n: int) -> np.ndarray:
    """The first n configurations of each chain, shape (len(chains), n, L, L)."""
    return np.stack([sample(params, n, c) for c in chains])


def exact_samples(L: int, K: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n independent (m, e) drawn from the exact Boltzmann distribution of the L × L torus (L ≤ 4)."""
    E, M, p = exact_em_distribution(L, K)
    idx = np.random.default_rng(seed).choice(p.size, size=n, p=p)
    return M[idx] / L**2, E[idx] / L**2


def exact_u4(L: int, K: float) -> float:
    return exact_observables_enumeration(L, K)["U4"]


def mc_series(L: int, K: float, n: int, seed: int = 1, chains: int = 4) -> tuple[np.ndarray, np.ndarray]:
    cfg = sample_chains(MCParams(L=L, K=K, seed=seed), list(range(chains)), n // chains)
    return magnetization_energy(cfg.reshape(-1, L, L))


def within(est: Estimate, exact: float, n_sigma: float = 3.5) -> bool:
    return abs(est.value - exact) <= n_sigma * est.error


def test_jackknife_bins_span_twenty_autocorrelation_times():
    assert oc.jackknife_bins(10_000, 0.5) == 100          # independent: capped at 100 bins
    assert oc.jackknife_bins(1_000, 0.5) == 100           # bins of 10 = 20 τ
    assert oc.jackknife_bins(1_000, 5.0) == 10            # bins of 100
    assert oc.jackknife_bins(50, 10.0) == 2               # never fewer than two bins


# ----------------------------------------------------------------------------- one coupling, one size
@pytest.mark.parametrize("K", [0.3, K_C, 0.6])
def test_fluctuation_slope_equals_the_derivative_of_the_exact_cumulant(K):
    """dU4/dK from ⟨O S⟩ − ⟨O⟩⟨S⟩ on exact samples against a central difference of the exact U4(K) (L = 4)."""
    m, e = exact_samples(4, K, 200_000, seed=1)
    h = 1e-5
    exact = (exact_u4(4, K + h) - exact_u4(4, K - h)) / (2 * h)
    got = oc.binder_slope(m, e, 4)
    assert within(got, exact) and got.error < 0.02 * abs(exact)


def test_fluctuation_slope_equals_a_finite_difference_of_monte_carlo():
    """At L = 8 the fluctuation formula at K_c agrees with (U4(K_c + δ) − U4(K_c − δ))/2δ of two other MC runs."""
    d = 0.01
    up, down = (oc.coupling_point(*mc_series(8, K_C + s, 20_000, seed), 8, K_C + s) for s, seed in ((d, 2), (-d, 3)))
    fd = Estimate((up.U4.value - down.U4.value) / (2 * d), math.hypot(up.U4.error, down.U4.error) / (2 * d))
    slope = oc.binder_slope(*mc_series(8, K_C, 20_000), 8)
    assert abs(fd.value - slope.value) <= 3.5 * math.hypot(fd.error, slope.error)


@pytest.mark.parametrize("K", [0.3, 0.6])
def test_coupling_point_against_exact_values(K):
    m, e = exact_samples(4, K, 100_000, seed=2)
    p = oc.coupling_point(m, e, 4, K)
    exact = exact_observables_enumeration(4, K)
    assert p.e_exact == pytest.approx(exact["e"], rel=1e-12) and abs(p.z_e) < 3.5
    for name in ("U4", "chi", "abs_m"):
        assert within(getattr(p, name), exact[name]), name
    assert p.e.tau == pytest.approx(0.5, abs=0.05)                       # independent samples
    assert oc.CouplingPoint.from_dict(p.to_dict()) == p


def test_monte_carlo_energy_off_criticality_agrees_with_kaufman():
    for K in (0.9 * K_C, 1.1 * K_C):
        p = oc.coupling_point(*mc_series(16, K, 8_000), 16, K)
        assert abs(p.z_e) < 3.5 and p.e.tau is not None


def test_a_biased_energy_shows_as_a_large_deviation():
    m, e = exact_samples(4, 0.5, 100_000, seed=3)
    p = oc.coupling_point(m, e, 4, 0.48)          # labelled with the wrong coupling
    assert abs(p.z_e) > 10


# ----------------------------------------------------------------------------- crossings
@pytest.mark.slow
def test_reweighted_crossing_finds_the_exact_crossing_of_small_tori():
    """U4 of the 3 × 3 and 4 × 4 tori cross at a K known exactly (enumeration); the estimator finds it from
    exact samples at a nearby K0."""
    exact = brentq(lambda K: exact_u4(4, K) - exact_u4(3, K), 0.4, 0.7)
    K0 = 0.5
    small, large = exact_samples(3, K0, 400_000, seed=4), exact_samples(4, K0, 400_000, seed=5)
    c = oc.binder_crossing_reweighted(small, large, 3, 4, K0)
    assert c.method == "reweighted" and c.K0 == K0
    assert within(c.K, exact) and c.K.error < 0.05
    assert oc.Crossing.from_dict(c.to_dict()) == c


def test_reweighted_crossing_of_monte_carlo_is_k_c():
    small, large = mc_series(8, K_C, 20_000, seed=6), mc_series(16, K_C, 20_000, seed=7)
    c = oc.binder_crossing_reweighted(small, large, 8, 16, K_C)
    assert within(c.K, K_C) and c.K.error < 0.003


def test_reweighted_crossing_out_of_range_is_none_with_a_reason():
    small, large = exact_samples(3, 0.3, 50_000, seed=8), exact_samples(4, 0.3, 50_000, seed=9)
    c = oc.binder_crossing_reweighted(small, large, 3, 4, 0.3)
    assert c.K is None and "keeps its sign within the reweighting range" in c.note


def test_interpolated_crossing_of_a_known_line():
    Ks = [0.40, 0.42, 0.44, 0.46]
    D = [Estimate(2.0 * (K - 0.433), 0.001) for K in Ks]
    c = oc.binder_crossing_interpolated(Ks, D, 16, 32, seed=1)
    assert c.K.value == pytest.approx(0.433, abs=1e-12)
    # linear error propagation: σ/slope times the interpolation weights (0.35, 0.65) in quadrature
    assert c.K.error == pytest.approx(0.001 / 2.0 * math.hypot(0.35, 0.65), rel=0.05)
    assert "linear-vs-quadratic" in c.note
    c_again = oc.binder_crossing_interpolated(Ks, D, 16, 32, seed=1)
    assert c_again == c                                                           # seeded
    none = oc.binder_crossing_interpolated(Ks, [Estimate(0.1, 0.01)] * 4, 16, 32)
    assert none.K is None and "does not change sign" in none.note


def test_interpolated_crossing_of_a_curve_covers_the_true_root():
    """A curved D: linear interpolation is biased, and the error (with its linear-vs-quadratic part) says so."""
    Ks = [0.40, 0.43, 0.46, 0.49]
    D = [Estimate(math.tanh(40 * (K - 0.44)) + 0.3 * (K - 0.44), 1e-4) for K in Ks]
    c = oc.binder_crossing_interpolated(Ks, D, 16, 32)
    assert abs(c.K.value - 0.44) > 1e-4                                    # biased ...
    assert abs(c.K.value - 0.44) < c.K.error                               # ... and covered
    only_two = oc.binder_crossing_interpolated(Ks[1:3], D[1:3], 16, 32)
    assert only_two.note == "statistical only (two couplings)" and only_two.K.error < c.K.error


def test_u4_difference_of_correlated_series_is_exact_zero():
    m, e = exact_samples(4, 0.45, 10_000, seed=10)
    d = oc.u4_difference((m, e), (m, e), 4, 4)
    assert d.value == 0.0 and d.error == 0.0


# ----------------------------------------------------------------------------- ν
@pytest.mark.slow
def test_nu_from_monte_carlo_slopes_is_one():
    series = {L: mc_series(L, K_C, 12_000, seed=11 + L) for L in (8, 16, 32)}
    fit = oc.nu_fit(series, K_C)
    assert within(fit.inv_nu, 1.0) and within(fit.nu, 1.0) and fit.inv_nu.error < 0.06
    assert fit.dof == 1 and fit.sizes == (8, 16, 32)
    assert oc.NuFit.from_dict(fit.to_dict()) == fit
    with pytest.raises(ValueError, match="at least two sizes"):
        oc.nu_fit({8: series[8]}, K_C)


def test_nu_fit_of_a_known_power_law():
    """Exact samples at L = 2, 3, 4: the fitted slope is the least-squares slope of the exact ln dU4/dK."""
    K, sizes = 0.35, (2, 3, 4)
    series = {L: exact_samples(L, K, 200_000, seed=20 + L) for L in sizes}
    h = 1e-5
    y = np.log([(exact_u4(L, K + h) - exact_u4(L, K - h)) / (2 * h) for L in sizes])
    x = np.log(sizes)
    fit = oc.nu_fit(series, K)
    # weights differ slightly from equal; the exact three-point slope is bracketed by its pairwise slopes
    lo, hi = sorted([(y[1] - y[0]) / (x[1] - x[0]), (y[2] - y[1]) / (x[2] - x[1])])
    assert lo - 3.5 * fit.inv_nu.error <= fit.inv_nu.value <= hi + 3.5 * fit.inv_nu.error


# ----------------------------------------------------------------------------- the flow
@pytest.mark.parametrize("K", [0.3, K_C, 0.6])
def test_effective_coupling_of_unblocked_exact_samples_recovers_k(K):
    _, e = exact_samples(4, K, 100_000, seed=30)
    mean, K_eff = oc.effective_coupling(e, 4)
    assert within(K_eff, K)
    c = exact_energy_and_heat_capacity(4, K_eff.value)[1]
    assert K_eff.error == pytest.approx(mean.error / c)


def test_effective_coupling_of_unblocked_monte_carlo_recovers_k():
    K = 0.95 * K_C
    _, e = mc_series(16, K, 8_000, seed=31)
    assert within(oc.effective_coupling(e, 16)[1], K)


def test_flow_of_blocked_monte_carlo_moves_away_from_the_critical_point():
    """Blocking moves a disordered configuration to weaker and an ordered one to stronger effective coupling."""
    rng = np.random.default_rng(0)
    out = {}
    for K in (0.85 * K_C, 1.15 * K_C):
        cfg = sample_chains(MCParams(L=32, K=K, seed=32), [0, 1], 1_000).reshape(-1, 32, 32)
        out[K] = oc.flow_point(oc.blocked_energies([cfg[:1000], cfg[1000:]], rng), 32, K)
        assert out[K].L == 32 and oc.FlowPoint.from_dict(out[K].to_dict()) == out[K]
    weak, strong = out[0.85 * K_C], out[1.15 * K_C]
    assert weak.K_eff.value < weak.K and strong.K_eff.value > strong.K


def test_flow_exponent_of_a_known_flow():
    """K_eff = K_c + 2 (K − K_c): eigenvalue 2, y_t = 1; errors by linear propagation."""
    Ks = [0.97 * K_C, K_C, 1.03 * K_C]
    flow = [oc.FlowPoint(K, 64, Estimate(1.0, 0.0), Estimate(K_C + 2 * (K - K_C), 1e-4)) for K in Ks]
    lam, y = oc.flow_exponent(flow[::-1])
    assert lam.value == pytest.approx(2.0, rel=1e-12) and y.value == pytest.approx(1.0, rel=1e-12)
    assert lam.error == pytest.approx(math.sqrt(2) * 1e-4 / (0.06 * K_C))
    assert y.error == pytest.approx(lam.error / (2 * math.log(2)))
    assert oc.flow_exponent(flow[:2]) is None                      # K_c has no neighbour above


def test_blocked_energies_of_ordered_configurations():
    e = oc.blocked_energies([np.ones((3, 8, 8), np.int8), -np.ones((2, 8, 8), np.int8)], np.random.default_rng(0))
    assert e.tolist() == [2.0] * 5


def test_series_are_checked():
    with pytest.raises(ValueError, match="equal-length 1-d series"):
        oc.coupling_point(np.zeros(10), np.zeros(9), 4, 0.4)


def test_the_reweighting_origin_is_next_to_the_sign_change():
    """Deep in the ordered phase D and D' both vanish, so |D/D'| can be small there: only couplings next to a
    sign change of D are candidates."""
    def pair(K, d, slope):
        small = oc.CouplingPoint(K, 8, 100, Estimate(0.6, 0.01), *([Estimate(1.0, 0.1)] * 3), Estimate(1.0, 0.1), 1.0)
        large = oc.CouplingPoint(K, 16, 100, Estimate(0.6 + d, 0.01), *([Estimate(1.0, 0.1)] * 3),
                                 Estimate(1.0 + slope, 0.1), 1.0)
        return small, large

    points = {0.40: pair(0.40, -0.05, 10.0), 0.44: pair(0.44, 0.002, 10.0), 0.48: pair(0.48, 1e-6, 0.01),
              0.52: pair(0.52, 1e-9, 1e-4)}
    assert oc._closest_to_crossing(points) == 0.44
