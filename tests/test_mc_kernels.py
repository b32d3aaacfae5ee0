"""Tests of the numba Monte Carlo kernels (`dreamrg._mc_kernels`) and their
plain reference twins (`dreamrg._mc_reference`).

The statistical tests compare the sampled joint histogram of
``(E, M) = (sum over the 2 L**2 bonds of s_i s_j, sum of s_i)`` with the exact
Boltzmann weights obtained by enumerating all ``2**(L*L)`` states.  All seeds
are fixed, so every test is deterministic.
"""

import numba
import numpy as np
import pytest
from scipy import stats

from dreamrg._mc_kernels import sw_chains, wolff_chains, wolff_chains_fixed
from dreamrg._rng_kernels import xoshiro_next
from dreamrg._mc_reference import sw_update_reference, wolff_update_reference

KC = float(np.log1p(np.sqrt(2.0)) / 2.0)
P_MIN = 1e-3


def _seed_states(n_chains, seed):
    """Per-chain xoshiro states, shape (C, 4), uint64 (never all zero here)."""
    st = np.random.SeedSequence(seed).generate_state(4 * n_chains, np.uint64)
    return st.reshape(n_chains, 4)


def _energy_magnetisation(spins):
    """``E = sum_<ij> s_i s_j`` over right+down bonds and ``M = sum s`` for a
    stack of configurations of shape (..., L, L)."""
    s = spins.astype(np.int64)
    e = (s * np.roll(s, -1, axis=-1)).sum(axis=(-2, -1)) \
        + (s * np.roll(s, -1, axis=-2)).sum(axis=(-2, -1))
    return e.ravel(), s.sum(axis=(-2, -1)).ravel()


def _exact_em(L, K):
    """Exact probabilities of the (E, M) pairs by brute-force enumeration.

    Returns a dict ``{(E, M): probability}``.  ``np.roll`` counts the two
    bonds of each pair for ``L = 2``, as the kernels do.
    """
    n = L * L
    codes = np.arange(2 ** n, dtype=np.int64)
    spins = (((codes[:, None] >> np.arange(n)) & 1) * 2 - 1).reshape(-1, L, L)
    e, m = _energy_magnetisation(spins)
    logw = K * e
    w = np.exp(logw - logw.max())
    keys, inv = np.unique(np.stack([e, m], axis=1), axis=0, return_inverse=True)
    prob = np.bincount(inv.ravel(), weights=w)
    prob /= prob.sum()
    return {(int(a), int(b)): float(q) for (a, b), q in zip(keys, prob)}


def _gof_pvalue(e, m, exact):
    """Pearson chi-square p-value of the sampled (E, M) pairs against `exact`.

    Bins with expected count < 5 are pooled (smallest first) until every bin
    has an expected count >= 5.
    """
    keys = list(exact)
    index = {k: i for i, k in enumerate(keys)}
    obs = np.zeros(len(keys))
    for pair in zip(e.tolist(), m.tolist()):
        assert pair in index, f"sampled impossible (E, M) = {pair}"
        obs[index[pair]] += 1
    expected = np.array([exact[k] for k in keys]) * len(e)
    order = np.argsort(expected)
    o_bins, e_bins, o_acc, e_acc = [], [], 0.0, 0.0
    for o, x in zip(obs[order], expected[order]):
        o_acc += o
        e_acc += x
        if e_acc >= 5.0:
            o_bins.append(o_acc)
            e_bins.append(e_acc)
            o_acc = e_acc = 0.0
    o_bins[-1] += o_acc
    e_bins[-1] += e_acc
    assert len(e_bins) >= 3
    return stats.chisquare(o_bins, e_bins).pvalue


@numba.njit
def _xoshiro_outputs(state, n):
    """First `n` xoshiro256** outputs from `state` (uint64[4])."""
    out = np.empty(n, dtype=np.uint64)
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for k in range(n):
        out[k], s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
    return out


def test_xoshiro256starstar_reference_vector():
    """The inline PRNG reproduces the reference xoshiro256** stream."""
    # first outputs of the reference C xoshiro256** from state {1, 2, 3, 4}
    got = _xoshiro_outputs(np.array([1, 2, 3, 4], dtype=np.uint64), 4)
    np.testing.assert_array_equal(
        got, np.array([11520, 0, 1509978240, 1215971899390074240], np.uint64))


# -- (a) exact enumeration, numba kernels ----------------------------------
# Records are taken with `thin` large enough that consecutive records are
# practically independent (otherwise chi-square is inflated by ~2*tau_int).
# Measured at K_c, L <= 4, per update: SW rho_E(t) ~ 0.61**t (tau_int ~ 2),
# so thin = 12 leaves rho < 3e-3; Wolff (sweep-equivalents) rho_M(t) ~
# 0.76**t at L = 2, so thin = 25 leaves rho < 1e-3.
@pytest.mark.slow
@pytest.mark.parametrize("L", [2, 3, 4])
@pytest.mark.parametrize("kernel, thin", [(sw_chains, 12), (wolff_chains, 25)],
                         ids=["sw", "wolff"])
def test_exact_distribution(kernel, thin, L):
    """Kernel (E, M) histogram at K_c matches exact enumeration."""
    n_chains, n_rec = 4, 10_000
    spins = np.ones((n_chains, L, L), dtype=np.int8)
    out = np.empty((n_chains, n_rec, L, L), dtype=np.int8)
    kernel(spins, _seed_states(n_chains, 1000 + L), KC, 50, thin, out)
    assert set(np.unique(out)) <= {-1, 1}
    e, m = _energy_magnetisation(out)
    assert _gof_pvalue(e, m, _exact_em(L, KC)) > P_MIN


@pytest.mark.slow
def test_wolff_fixed_exact_distribution():
    """`wolff_chains_fixed` with one cluster flip per update is exact too."""
    L, n_chains, n_rec = 3, 2, 10_000
    spins = np.ones((n_chains, L, L), dtype=np.int8)
    out = np.empty((n_chains, n_rec, L, L), dtype=np.int8)
    wolff_chains_fixed(spins, _seed_states(n_chains, 7), KC, np.ones(n_chains, np.int64), 20, 30, out)
    e, m = _energy_magnetisation(out)
    assert _gof_pvalue(e, m, _exact_em(L, KC)) > P_MIN


# -- (b) exact enumeration, reference twins ----------------------------------
# Same autocorrelation argument at L = 3: SW rho_E(1) ~ 0.57 -> thin 8;
# two cluster flips per Wolff update, rho_M(1) ~ 0.67 -> thin 15.
@pytest.mark.slow
@pytest.mark.parametrize("name", ["sw", "wolff"])
def test_reference_exact_distribution(name):
    """Reference twins at L = 3 match exact enumeration."""
    L, n_rec = 3, 3000
    rng = np.random.default_rng(12345)
    if name == "sw":
        def update(s):
            """One reference SW update."""
            return sw_update_reference(s, KC, rng)
        thin = 8
    else:
        def update(s):
            """Two reference Wolff cluster flips."""
            return wolff_update_reference(s, KC, rng, n_clusters=2)
        thin = 15
    s = np.ones((L, L), dtype=np.int8)
    for _ in range(20):
        s = update(s)
    records = np.empty((n_rec, L, L), dtype=np.int8)
    for r in range(n_rec):
        for _ in range(thin):
            s = update(s)
        records[r] = s
    e, m = _energy_magnetisation(records)
    assert _gof_pvalue(e, m, _exact_em(L, KC)) > P_MIN


# -- (c) determinism, independent of the thread count -------------------------
@pytest.mark.parametrize("kernel", [sw_chains, wolff_chains], ids=["sw", "wolff"])
def test_thread_count_independence(kernel):
    """Bit-identical output with 1 and 2 numba threads, and per chain."""
    L, n_chains, n_rec = 16, 4, 3
    rng = np.random.default_rng(3)
    spins0 = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n_chains, L, L))
    st0 = _seed_states(n_chains, 99)
    results = []
    saved = numba.get_num_threads()
    try:
        for n_threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(n_threads)
            spins, st = spins0.copy(), st0.copy()
            out = np.empty((n_chains, n_rec, L, L), dtype=np.int8)
            kernel(spins, st, KC, 5, 2, out)
            results.append((spins, st, out))
    finally:
        numba.set_num_threads(saved)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(results[0][1], st0)  # states were advanced
    np.testing.assert_array_equal(results[0][2][:, -1], results[0][0])
    # a chain's trajectory depends only on its own state row
    spins, st = spins0[1:2].copy(), st0[1:2].copy()
    out = np.empty((1, n_rec, L, L), dtype=np.int8)
    kernel(spins, st, KC, 5, 2, out)
    np.testing.assert_array_equal(out[0], results[0][2][1])


# -- (d) limiting couplings ---------------------------------------------------
@pytest.mark.parametrize("kernel", [sw_chains, wolff_chains], ids=["sw", "wolff"])
def test_ordered_at_strong_coupling(kernel):
    """At K = 3 an all-up start stays ordered (|m| ~ 1, sign may flip)."""
    L, n_chains, n_rec = 16, 2, 50
    spins = np.ones((n_chains, L, L), dtype=np.int8)
    out = np.empty((n_chains, n_rec, L, L), dtype=np.int8)
    kernel(spins, _seed_states(n_chains, 5), 3.0, 10, 1, out)
    m = np.abs(out.astype(np.int64).mean(axis=(-2, -1)))
    assert m.min() > 0.95


@pytest.mark.parametrize("kernel", [sw_chains, wolff_chains], ids=["sw", "wolff"])
def test_paramagnet_at_weak_coupling(kernel):
    """At K = 0.01, <M^2>/N matches the high-temperature series (~1)."""
    # <M^2>/N = 1 + 4v + 12v^2 + ... with v = tanh K (high-T series), i.e.
    # ~1.04 at K = 0.01; M^2/N has variance ~2, so 8000 records give
    # a standard error ~0.016.
    K, L, n_chains, n_rec = 0.01, 16, 4, 2000
    spins = np.ones((n_chains, L, L), dtype=np.int8)
    out = np.empty((n_chains, n_rec, L, L), dtype=np.int8)
    kernel(spins, _seed_states(n_chains, 11), K, 20, 1, out)
    m2n = (out.astype(np.int64).sum(axis=(-2, -1)) ** 2).mean() / L**2
    v = np.tanh(K)
    assert abs(m2n - (1 + 4 * v + 12 * v**2)) < 0.07


@pytest.mark.parametrize("name", ["sw", "wolff"])
def test_a_chain_split_into_calls_is_the_chain_in_one_call(name):
    """Equilibrating (no records), then recording in two calls with the saved state gives the bits of one
    call: what lets a chain span chunks (dreamrg.mc checkpoints the state between them)."""
    L, C, thin, n_equil = 6, 3, 2, 11
    spins0 = np.where(np.random.default_rng(4).random((C, L, L)) < 0.5, 1, -1).astype(np.int8)
    whole = np.empty((C, 7, L, L), np.int8)
    s, st = spins0.copy(), _seed_states(C, 9)
    ncl = (sw_chains if name == "sw" else wolff_chains)(s, st, KC, n_equil, thin, whole)
    s2, st2 = spins0.copy(), _seed_states(C, 9)
    ncl2 = (sw_chains if name == "sw" else wolff_chains)(s2, st2, KC, n_equil, thin, np.empty((C, 0, L, L), np.int8))
    parts = [np.empty((C, 3, L, L), np.int8), np.empty((C, 4, L, L), np.int8)]
    for out in parts:
        if name == "sw":
            sw_chains(s2, st2, KC, 0, thin, out)
        else:
            assert np.array_equal(ncl, ncl2)
            wolff_chains_fixed(s2, st2, KC, ncl2.astype(np.int64), 0, thin, out)
    assert np.array_equal(np.concatenate(parts, axis=1), whole)
    assert np.array_equal(s, s2) and np.array_equal(st, st2)
