import math

import numpy as np
import pytest

from dreamrg import observables as obs


def test_magnetization_energy_against_loops():
    rng = np.random.default_rng(3)
    s = (2 * rng.integers(0, 2, size=(4, 5, 5)) - 1).astype(np.int8)
    m, e = obs.magnetization_energy(s)
    for a in range(4):
        E = sum(s[a, i, j] * (s[a, (i + 1) % 5, j] + s[a, i, (j + 1) % 5]) for i in range(5) for j in range(5))
        assert m[a] == s[a].sum() / 25 and e[a] == E / 25


def test_jackknife_of_mean_is_standard_error():
    x = np.random.default_rng(4).normal(size=(10_000, 1))
    value, error = obs.jackknife(lambda mu: mu, x, n_bins=10_000)
    assert value[0] == pytest.approx(x.mean())
    assert error[0] == pytest.approx(x.std(ddof=1) / math.sqrt(len(x)), rel=1e-9)


def test_estimators_match_definitions():
    rng = np.random.default_rng(5)
    m = rng.normal(0, 0.5, 5000)
    e = 1.4 + 0.1 * rng.normal(size=5000) + 0.2 * np.abs(m)
    L = 16
    r = obs.fss_observables(m, e, L)
    am, ae = np.abs(m), np.abs(e)
    assert r["chi"].value == pytest.approx(L**2 * (np.mean(m**2) - np.mean(m) ** 2))
    assert r["c_me"].value == pytest.approx(L**2 * (np.mean(am * ae) - am.mean() * ae.mean()) / am.mean())
    assert r["c"].value == pytest.approx(L**2 * e.var())
    assert r["U4"].value == pytest.approx(1 - np.mean(m**4) / (3 * np.mean(m**2) ** 2))
    # Gaussian m: U4 = 0 exactly in the limit; 5000 samples put it within a few errors
    assert abs(r["U4"].value) < 4 * r["U4"].error


def test_tau_int_of_ar1_process():
    rho, n = 0.8, 200_000
    rng = np.random.default_rng(6)
    noise = rng.normal(size=n)
    x = np.empty(n)
    x[0] = noise[0]
    for t in range(1, n):
        x[t] = rho * x[t - 1] + math.sqrt(1 - rho**2) * noise[t]
    tau, err = obs.tau_int(x)
    exact = 0.5 * (1 + rho) / (1 - rho)   # = 4.5
    assert abs(tau - exact) < 3 * err + 0.05 * exact
    tau0, _ = obs.tau_int(rng.normal(size=20_000))
    assert tau0 == pytest.approx(0.5, abs=0.05)


def test_exponent_from_pair():
    est = obs.exponent_from_pair(obs.Estimate(4.0**1.75 * 3, 0.0), obs.Estimate(3.0, 0.0))
    assert est.value == pytest.approx(1.75)


def test_format_estimate():
    assert obs.format_estimate(1.23456, 0.0067) == "1.2346(67)"
    assert obs.format_estimate(138.1, 0.95) == "138.10(95)"


@pytest.mark.parametrize("L", [2, 3, 8, 13, 16])
def test_packed_kernel_matches_the_numpy_twin(L):
    """m and e from the packed bits equal magnetization_energy of the unpacked spins, bit for bit."""
    from dreamrg import store
    from dreamrg.observables import packed_magnetization_energy

    rng = np.random.default_rng(L)
    s = (2 * rng.integers(0, 2, size=(40, L, L)) - 1).astype(np.int8)
    s[0] = 1
    s[1] = -1
    m, e = packed_magnetization_energy(store.pack(s), L)
    m_ref, e_ref = obs.magnetization_energy(s)
    assert np.array_equal(m, m_ref) and np.array_equal(e, e_ref)
    with pytest.raises(ValueError, match="uint8 of shape"):
        packed_magnetization_energy(store.pack(s), L + 1)
