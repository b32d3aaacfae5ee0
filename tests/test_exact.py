"""Tests for dreamrg.exact: Kaufman's closed form vs. brute force vs. Onsager asymptotics."""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest

from dreamrg.exact import (
    K_C,
    coupling_from_energy,
    enumerate_energy_magnetization,
    exact_em_distribution,
    exact_energy_and_heat_capacity,
    exact_observables_enumeration,
    log_partition_function,
    onsager_energy,
)

COUPLINGS = [0.05, 0.3, K_C, 0.6, 1.0, 3.0]


def _naive_states(L):
    """Independent pure-Python loop over states: yields (E, M) with explicit bonds."""
    for spins in itertools.product((-1, 1), repeat=L * L):
        s = [spins[i * L:(i + 1) * L] for i in range(L)]
        E = sum(
            s[i][j] * s[(i + 1) % L][j] + s[i][j] * s[i][(j + 1) % L]
            for i in range(L)
            for j in range(L)
        )
        yield E, sum(spins)


def test_k_c_value():
    # Onsager: sinh(2 K_c) = 1.
    assert math.sinh(2 * K_C) == pytest.approx(1.0, rel=1e-15)


@pytest.mark.parametrize("L", [2, 3])
def test_enumeration_matches_naive_loop(L):
    E, M, g = enumerate_energy_magnetization(L)
    counts = {}
    for pair in _naive_states(L):
        counts[pair] = counts.get(pair, 0) + 1
    assert dict(zip(zip(E.tolist(), M.tolist()), g.tolist())) == counts
    assert E.dtype == M.dtype == g.dtype == np.int64


@pytest.mark.parametrize("L", [2, 3, 4])
def test_enumeration_sanity(L):
    E, M, g = enumerate_energy_magnetization(L)
    n = L * L
    assert g.sum() == 2**n
    # Ground states: all up / all down, E = number of bonds = 2 L^2.
    assert E.max() == 2 * n and g[E == 2 * n].sum() == 2
    assert set(M[E == 2 * n].tolist()) == {-n, n}
    # Spin-flip symmetry: g(E, M) = g(E, -M).
    table = dict(zip(zip(E.tolist(), M.tolist()), g.tolist()))
    assert all(table[(e, -m)] == c for (e, m), c in table.items())


@pytest.mark.parametrize("L", [2, 3, 4])
@pytest.mark.parametrize("K", COUPLINGS)
def test_kaufman_log_z_matches_enumeration(L, K):
    E, _, g = enumerate_energy_magnetization(L)
    with mpmath.workdps(40):
        ref = mpmath.log(mpmath.fsum(int(c) * mpmath.exp(mpmath.mpf(K) * int(e)) for e, c in zip(E, g)))
        got = log_partition_function(L, K)
        assert abs(got - ref) <= mpmath.mpf(10) ** -25 * abs(ref)


@pytest.mark.parametrize("L", [2, 3, 4])
@pytest.mark.parametrize("K", [0.3, K_C, 0.6])
def test_kaufman_energy_and_c_match_enumeration(L, K):
    e, c = exact_energy_and_heat_capacity(L, K)
    obs = exact_observables_enumeration(L, K)
    assert e == pytest.approx(obs["e"], rel=1e-10)
    assert c == pytest.approx(obs["c"], rel=1e-10)


@pytest.mark.parametrize("L", [5, 64])
def test_analytic_derivatives_match_numerical_differentiation(L):
    # Independent route: mpmath.diff (finite differences) of ln Z. mpmath.diff raises the
    # working precision and uses a tiny step, so ln Z is evaluated at a higher dps than that.
    e, c = exact_energy_and_heat_capacity(L, K_C)
    with mpmath.workdps(40):
        f = lambda k: log_partition_function(L, k, dps=150)  # noqa: E731
        d1 = mpmath.diff(f, mpmath.mpf(K_C), 1) / L**2
        d2 = mpmath.diff(f, mpmath.mpf(K_C), 2) / L**2
    assert e == pytest.approx(float(d1), rel=1e-13)
    assert c == pytest.approx(float(d2), rel=1e-12)


def test_precision_converged_at_large_L():
    e50, c50 = exact_energy_and_heat_capacity(512, K_C, dps=50)
    e90, c90 = exact_energy_and_heat_capacity(512, K_C, dps=90)
    assert e50 == pytest.approx(e90, rel=1e-14)
    assert c50 == pytest.approx(c90, rel=1e-14)
    assert mpmath.isfinite(log_partition_function(512, 2.0))


def test_energy_finite_size_approach_to_onsager():
    # Onsager: <e>_inf(K_c) = coth(2K_c) = sqrt 2 (with e = +L^-2 sum s s).
    # Derivation of the 1/L amplitude: at K_c, d(cosh g_k)/dK = 2 cosh2K (1 - 1/sinh^2 2K)
    # vanishes, so only the zero-mode factor 2 sinh(L g_0/2) of Z4 (with g_0' = 4) has a
    # nonzero derivative, and L(<e> - sqrt 2) = 4 prod'_{k even} 2 sinh(L g_k/2) / (Z1+Z2+Z3).
    # In the continuum limit (free Majorana fermion on the square torus, tau = i) the
    # products become theta functions: L(<e> - sqrt 2) -> 4 eta^3 / (theta2 + theta3 + theta4),
    # with corrections O(1/L^2) (Ferdinand & Fisher 1969; Salas 2001).
    with mpmath.workdps(30):
        eta = mpmath.gamma(0.25) / (2 * mpmath.pi**0.75)  # Dedekind eta(i)
        q = mpmath.exp(-mpmath.pi)
        amp = float(4 * eta**3 / sum(mpmath.jtheta(n, 0, q) for n in (2, 3, 4)))
    assert amp == pytest.approx(0.6224394608, abs=1e-10)
    resid = {}
    for L in (64, 128, 256):
        e, _ = exact_energy_and_heat_capacity(L, K_C)
        assert abs(e - math.sqrt(2)) < 1.0 / L  # close to Onsager, within the 1/L correction
        resid[L] = L * (e - math.sqrt(2)) - amp
        assert abs(resid[L]) < 1.0 / L**2
    # Next correction is O(1/L^2) in L(<e> - sqrt 2): residual shrinks by ~4 per doubling.
    assert resid[128] / resid[256] == pytest.approx(4.0, rel=0.01)


def test_heat_capacity_log_slope():
    # Onsager: C/(N k_B) ~ -(2/pi)(2 K_c)^2 ln|1 - T/T_c|; with xi ~ |t|^-1 the torus gives
    # C/(N k_B) ~ (8 K_c^2/pi) ln L (Ferdinand & Fisher 1969). Our c = L^-2 d^2 lnZ/dK^2 is
    # C/(N k_B K^2), hence c(L) = (8/pi) ln L + const + b/L + ... (the data show the next term is
    # 1/L, i.e. the slope excess halves per doubling). Slopes per ln 2 between 64, 128, 256:
    c = {L: exact_energy_and_heat_capacity(L, K_C)[1] for L in (64, 128, 256)}
    s1 = (c[128] - c[64]) / math.log(2)
    s2 = (c[256] - c[128]) / math.log(2)
    amp = 8 / math.pi
    assert s2 == pytest.approx(amp, rel=3e-3)
    assert abs(s2 - amp) < abs(s1 - amp)
    # Richardson elimination of the 1/L term.
    assert 2 * s2 - s1 == pytest.approx(amp, rel=1e-4)


@pytest.mark.parametrize("L", [2, 3, 4])
def test_distribution_normalised_and_observables(L):
    K = K_C
    E, M, p = exact_em_distribution(L, K)
    assert p.sum() == pytest.approx(1.0, abs=1e-15)
    assert np.all(p > 0)
    # Independent reference: direct Boltzmann sums over the naive state loop (L <= 3) in mpmath.
    if L <= 3:
        n = L * L
        with mpmath.workdps(30):
            w = [(mpmath.exp(K * e), e, m) for e, m in _naive_states(L)]
            Z = mpmath.fsum(x for x, _, _ in w)
            avg = lambda f: float(mpmath.fsum(x * f(e, m) for x, e, m in w) / Z)  # noqa: E731
        ref_m2 = avg(lambda e, m: (m / n) ** 2)
        ref_m4 = avg(lambda e, m: (m / n) ** 4)
        obs = exact_observables_enumeration(L, K)
        assert obs["abs_m"] == pytest.approx(avg(lambda e, m: abs(m) / n), rel=1e-13)
        assert obs["m2"] == pytest.approx(ref_m2, rel=1e-13)
        assert obs["m4"] == pytest.approx(ref_m4, rel=1e-13)
        assert obs["chi"] == pytest.approx(n * ref_m2, rel=1e-13)
        assert obs["U4"] == pytest.approx(1 - ref_m4 / (3 * ref_m2**2), rel=1e-12)
        assert obs["e"] == pytest.approx(avg(lambda e, m: e / n), rel=1e-13)


def test_observable_limits():
    # K -> 0: independent spins, <m^2> = 1/N, <m^4> = (3N^2 - 2N)/N^4, c -> 2 (2L^2 bonds, var 1 each).
    n = 16
    obs = exact_observables_enumeration(4, 1e-9)
    assert obs["m2"] == pytest.approx(1 / n, rel=1e-7)
    assert obs["m4"] == pytest.approx((3 * n**2 - 2 * n) / n**4, rel=1e-7)
    assert obs["c"] == pytest.approx(2.0, rel=1e-7)
    # K -> infinity: fully ordered, <|m|> = 1, U4 = 2/3, no overflow.
    obs = exact_observables_enumeration(4, 50.0)
    assert obs["abs_m"] == pytest.approx(1.0, abs=1e-12)
    assert obs["U4"] == pytest.approx(2 / 3, abs=1e-12)
    assert obs["e"] == pytest.approx(2.0, abs=1e-12)


@pytest.mark.parametrize("K", [0.2, 0.9 * K_C, 0.97 * K_C, 1.03 * K_C, 1.1 * K_C, 0.8])
def test_kaufman_energy_tends_to_onsager_off_criticality(K):
    """Away from K_c the correlation length is finite, so Kaufman's <e>(K, L) reaches the infinite lattice
    exponentially fast in L (Onsager's closed form, an independent formula)."""
    e_inf = onsager_energy(K)
    gaps = [abs(exact_energy_and_heat_capacity(L, K)[0] - e_inf) for L in (32, 64, 128, 256)]
    assert gaps[-1] < 1e-7
    assert all(b <= a for a, b in zip(gaps, gaps[1:]))
    # exponential, not the 1/L of K_c: the gap falls by more than 4x per doubling wherever it is resolved
    assert all(b < a / 4 for a, b in zip(gaps, gaps[1:]) if a > 1e-12)


def test_onsager_energy_limits():
    assert onsager_energy(K_C) == pytest.approx(math.sqrt(2), rel=1e-15)
    for eps in (1e-6, -1e-6):  # continuous through K_c (the elliptic term's 0 * infinity)
        assert onsager_energy(K_C * (1 + eps)) == pytest.approx(math.sqrt(2), abs=1e-4)
    assert onsager_energy(1e-5) == pytest.approx(2 * math.tanh(1e-5), rel=1e-8)   # high temperature: 2 tanh K
    assert onsager_energy(5.0) == pytest.approx(2.0, abs=1e-12)                    # ordered


@pytest.mark.parametrize("L", [2, 3, 4])
@pytest.mark.parametrize("K", [0.05, 0.3, K_C, 0.6, 1.5])
def test_coupling_from_energy_inverts_the_enumerated_energy(L, K):
    e = exact_observables_enumeration(L, K)["e"]     # brute force, not Kaufman
    assert coupling_from_energy(e, L) == pytest.approx(K, rel=1e-9)


@pytest.mark.parametrize("L", [16, 64])
@pytest.mark.parametrize("K", [0.9 * K_C, K_C, 1.1 * K_C])
def test_coupling_from_energy_round_trip_at_large_L(L, K):
    e, c = exact_energy_and_heat_capacity(L, K)
    assert coupling_from_energy(e, L) == pytest.approx(K, abs=1e-12)
    # the slope is c: a small change of e moves K by de / c
    assert coupling_from_energy(e + 1e-6, L) - K == pytest.approx(1e-6 / c, rel=1e-4)


@pytest.mark.parametrize("e", [0.0, -0.1, 2.0, 2.5, float("nan"), float("inf"), "x", None])
def test_coupling_from_energy_refuses_energies_without_a_ferromagnetic_coupling(e):
    with pytest.raises(ValueError, match="e must be a finite nearest-neighbour correlation in"):
        coupling_from_energy(e, 8)


@pytest.mark.parametrize(
    "call",
    [
        lambda: log_partition_function(1, 0.4),
        lambda: log_partition_function(0, 0.4),
        lambda: log_partition_function(4.5, 0.4),
        lambda: log_partition_function(True, 0.4),
        lambda: log_partition_function(4, 0.0),
        lambda: log_partition_function(4, -0.3),
        lambda: log_partition_function(4, float("nan")),
        lambda: log_partition_function(4, float("inf")),
        lambda: log_partition_function(4, "x"),
        lambda: log_partition_function(4, 0.4, dps=5),
        lambda: exact_energy_and_heat_capacity(1),
        lambda: exact_energy_and_heat_capacity(8, -1.0),
        lambda: enumerate_energy_magnetization(5),
        lambda: enumerate_energy_magnetization(1),
        lambda: exact_em_distribution(3, 0.0),
        lambda: exact_observables_enumeration(5, 0.4),
        lambda: exact_observables_enumeration(4, -0.4),
        lambda: onsager_energy(0.0),
        lambda: onsager_energy(float("nan")),
        lambda: coupling_from_energy(1.0, 1),
        lambda: coupling_from_energy(1.0, 8, dps=5),
    ],
)
def test_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()
