"""Tests of the dreaming samplers (`dreamrg.sampler`, `dreamrg._dream_kernels`)."""

import copy

import numba
import numpy as np
import pytest
import torch

from dreamrg import _dream_kernels as dk
from dreamrg import _rng_kernels as rk
from dreamrg import patches
from dreamrg.models import SymmetricUpscaler, TwoLayerUpscaler
from dreamrg.sampler import (
    DreamBatch,
    dream_batch,
    dream_batch_torch,
    dream_batch_two_layer,
    logit_table,
    probability_table,
    table_kernel_size,
    threshold_table,
    two_layer_tables,
    upscale,
)

W3 = (0.1364, 0.1566, 0.3536)
W7 = (0.119, 0.211, 0.292, -0.017, -0.045, 0.024, -0.003, -0.008, -0.003, 0.003)


def _random_model(k: int, seed: int = 0, scale: float = 0.4) -> SymmetricUpscaler:
    rng = np.random.default_rng(seed + k)
    return SymmetricUpscaler(k, rng.normal(0.0, scale, patches.n_params(k)))


def _random_spins(rng, shape) -> np.ndarray:
    return np.where(rng.random(shape) < 0.5, 1, -1).astype(np.int8)


def _two_layer(k: int) -> TwoLayerUpscaler:
    torch.manual_seed(3)
    model = TwoLayerUpscaler(k, channels=4)
    with torch.no_grad():   # a ferromagnetic bias on top of the random init: ordered, non-trivial configurations
        model.conv2.weight.abs_()
        model.conv1.weight.copy_(model.conv1.weight.abs() * torch.sign(model.conv1.bias)[:, None, None, None])
    return model


def _mag_energy(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = x.astype(np.int64)
    return s.sum(axis=(1, 2)), (s * (np.roll(s, -1, 1) + np.roll(s, -1, 2))).sum(axis=(1, 2))


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("k", [3, 5, 7])
def test_probability_table_equals_prob_up(k):
    """Every (position, pattern): the table equals the torch model's p(up) on a μ holding it."""
    model = _random_model(k)
    P, start = patches.patch_geometry(k)
    codes = np.arange(2 ** (P * P))
    bits = ((codes[:, None] >> np.arange(P * P)) & 1).reshape(-1, P, P)  # bits[code, a, b]
    table = probability_table(model)
    assert table.shape == (4, 2 ** (P * P)) and table.dtype == np.float64
    for pi in range(2):
        for pj in range(2):
            # l = P: the patch of fine site (pi, pj) covers the coarse torus exactly once
            a0, b0 = start[pi] % P, start[pj] % P
            mu = np.empty((codes.size, P, P), dtype=np.int8)
            for a in range(P):
                for b in range(P):
                    mu[:, (a0 + a) % P, (b0 + b) % P] = 2 * bits[:, a, b] - 1
            p = model.prob_up(mu)[:, pi, pj].numpy()
            np.testing.assert_allclose(table[2 * pi + pj], p, rtol=0, atol=1e-12)


def test_table_kernel_size():
    assert [table_kernel_size(SymmetricUpscaler(k)) for k in (3, 5, 7)] == [3, 5, 7]
    assert table_kernel_size(TwoLayerUpscaler(3, channels=2)) == 5       # two 3x3 layers: a 5x5 window
    assert table_kernel_size(TwoLayerUpscaler(5, channels=2)) is None    # 9x9: 2**25 patterns, no table
    assert table_kernel_size(torch.nn.Linear(2, 2)) is None


@pytest.mark.parametrize("input_01", [False, True])
@pytest.mark.parametrize("l", [1, 2, 3, 5, 8])
def test_two_layer_logit_table_equals_model(input_01, l):
    """Two-layer k = 3: looking up each site's 3x3-patch pattern gives the network's logit on the torus."""
    torch.manual_seed(l)
    model = TwoLayerUpscaler(3, channels=6, input_01=input_01)
    z = logit_table(model).detach().numpy()
    assert z.shape == (4, 512)
    mu = _random_spins(np.random.default_rng(l), (5, l, l))
    codes = patches.site_patterns(mu, 5)
    ii, jj = np.meshgrid(np.arange(2 * l), np.arange(2 * l), indexing="ij")
    looked_up = z[2 * (ii % 2) + (jj % 2), codes]
    np.testing.assert_allclose(looked_up, model.logit(mu).detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(probability_table(model)[2 * (ii % 2) + (jj % 2), codes],
                               model.prob_up(mu).detach().numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("k", [3, 5, 7])
@pytest.mark.parametrize("input_01", [False, True])
def test_two_layer_offset_tables_give_the_network_logits(k, input_01):
    """Sum over offsets of the per-(offset, position, first-layer pattern) tables = the network's logit."""
    torch.manual_seed(k)
    model = TwoLayerUpscaler(k, channels=5, input_01=input_01)
    G, b2 = two_layer_tables(model)
    P, start = patches.patch_geometry(k)
    assert G.shape == (k * k, 4, 2 ** (P * P))
    rng = np.random.default_rng(k)
    for l in (1, 2, 3, 4, 9):   # down to lattices smaller than the receptive field
        mu = _random_spins(rng, (3, l, l))
        codes = patches.site_patterns(mu, k)
        z = np.empty(codes.shape)
        dk.two_layer_logits(G, b2, codes, k, z)
        np.testing.assert_allclose(z, model.logit(mu).detach().numpy(), rtol=0, atol=1e-12)


def test_two_layer_sampler_chains_are_independent_of_the_batch():
    model = _two_layer(7)
    a = dream_batch_two_layer(model, 12, 3, np.random.SeedSequence(4))
    b = dream_batch_two_layer(model, 5, 3, np.random.SeedSequence(4))
    np.testing.assert_array_equal(a.final[:5], b.final)
    np.testing.assert_array_equal(a.M[:5], b.M)
    np.testing.assert_array_equal(a.M[:, -1], _mag_energy(a.final)[0])
    np.testing.assert_array_equal(a.E[:, -1], _mag_energy(a.final)[1])
    with pytest.raises(TypeError, match="TwoLayerUpscaler"):
        dream_batch_two_layer(SymmetricUpscaler(3, W3), 2, 2, np.random.SeedSequence(0))


def test_threshold_table_rounding_and_clipping():
    model = SymmetricUpscaler(3, [0.0, 0.0, 0.0])
    assert np.all(threshold_table(model) == 2**31)  # p = 1/2 exactly
    model = SymmetricUpscaler(3, [10.0, 10.0, 10.0])  # |h| up to 160: p = 1 and ~0 in float64
    p = probability_table(model)
    thr = threshold_table(model)
    assert thr.dtype == np.uint32 and thr.shape == (4, 16)
    assert thr[p == 1.0].min() == 2**32 - 1  # p = 1 realised as 1 - 2**-32
    assert thr[p < 1e-12].max() == 0
    model = _random_model(7)
    p = probability_table(model)
    thr = threshold_table(model).astype(np.float64)
    assert np.max(np.abs(thr / 2**32 - p)) <= 2.0**-33 + 1e-16


# --------------------------------------------------------------------------
# The kernel path reads the right table entry at every site
# --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("k", [3, 5, 7])
@pytest.mark.parametrize("l", [1, 2, 3, 4, 7])
def test_kernel_site_lookup_exact(k, l):
    """Recover each fine site's (position, pattern) from the sampler with 0/1 bit-plane tables."""
    P, start = patches.patch_geometry(k)
    start = np.asarray(start, dtype=np.int64)
    npat = 2 ** (P * P)
    rng = np.random.default_rng(l)
    mu = _random_spins(rng, (3, l, l))
    want = patches.site_patterns(mu, k)
    ii, jj = np.meshgrid(np.arange(2 * l), np.arange(2 * l), indexing="ij")
    want = want + npat * (2 * (ii % 2) + (jj % 2))
    index = np.arange(4 * npat).reshape(4, npat)
    got = np.zeros_like(want)
    for b in range(int(np.log2(4 * npat))):
        thr = np.where((index >> b) & 1, 2**32 - 1, 0).astype(np.uint32)
        states = np.empty((3, 4), dtype=np.uint64)
        rk.seed_states(np.uint64(b), 0, states)
        out = np.empty((3, 2 * l, 2 * l), dtype=np.int8)
        dk.upscale_level(thr, P, start, mu, states, out, 2)
        got |= (out == 1).astype(np.int64) << b
    np.testing.assert_array_equal(got, want)


@pytest.mark.slow
@pytest.mark.parametrize("k", [3, 5, 7])
def test_empirical_site_frequencies(k):
    """Many draws of the same μ: per-site frequencies of +1 match torch prob_up."""
    model = _random_model(k, seed=1)
    rng = np.random.default_rng(k)
    mu1 = _random_spins(rng, (1, 5, 5))
    n = 20000
    out = upscale(model, np.repeat(mu1, n, axis=0), np.random.SeedSequence(k))
    freq = (out == 1).mean(axis=0)
    p = model.prob_up(mu1)[0].numpy()
    sigma = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(freq - p) < 5 * sigma + 1e-9), np.max(np.abs(freq - p) / sigma)


# --------------------------------------------------------------------------
# Driver kernel
# --------------------------------------------------------------------------
@pytest.mark.parametrize("k", [3, 7])
@pytest.mark.parametrize("L0", [1, 3])
def test_dream_kernel_equals_chained_levels(k, L0):
    """The level-by-level driver = repeated single-level calls with the same states; M, E = numpy."""
    model = _random_model(k, seed=2)
    thr = threshold_table(model)
    P, start = patches.patch_geometry(k)
    start = np.asarray(start, dtype=np.int64)
    n, n_up = 5, 4
    rng = np.random.default_rng(0)
    init = _random_spins(rng, (n, L0, L0))
    s1 = np.empty((n, 4), dtype=np.uint64)
    rk.seed_states(np.uint64(99), 0, s1)
    s2 = s1.copy()
    L = L0 * 2**n_up
    final = np.empty(n * L * L, dtype=np.int8)
    scratch = np.empty(n * L * L // 4, dtype=np.int8)
    M = np.empty((n, n_up + 1), dtype=np.int64)
    E = np.empty_like(M)
    dk.dream(thr[None], np.zeros(n_up, dtype=np.int64), P, start, init, s1, n_up, final, scratch, M, E, 3)
    x = init
    for t in range(n_up + 1):
        if t:
            y = np.empty((n, 2 * x.shape[1], 2 * x.shape[1]), dtype=np.int8)
            dk.upscale_level(thr, P, start, x, s2, y, 2)
            x = y
        Mt, Et = _mag_energy(x)
        np.testing.assert_array_equal(M[:, t], Mt)
        np.testing.assert_array_equal(E[:, t], Et)
    np.testing.assert_array_equal(final.reshape(n, L, L), x)
    np.testing.assert_array_equal(s1, s2)


def test_seed_states_never_zero_and_distinct():
    states = np.empty((1000, 4), dtype=np.uint64)
    rk.seed_states(np.uint64(0), 0, states)
    assert np.all(states.any(axis=1))
    assert np.unique(states).size == states.size
    tail = np.empty((10, 4), dtype=np.uint64)
    rk.seed_states(np.uint64(0), 990, tail)
    np.testing.assert_array_equal(tail, states[990:])


# --------------------------------------------------------------------------
# Public API: determinism, conventions, symmetry
# --------------------------------------------------------------------------
def test_determinism_threads_and_prefix():
    model = SymmetricUpscaler(7, W7)
    seed = np.random.SeedSequence(1234)
    a = dream_batch(model, 300, 5, seed)
    b = dream_batch(model, 300, 5, seed)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        c = dream_batch(model, 300, 5, seed)
    finally:
        numba.set_num_threads(old)
    d = dream_batch(model, 17, 5, seed)  # chain c depends only on (seed, c)
    e = dream_batch(model, 300, 5, np.random.SeedSequence(1235))
    for r in (b, c):
        np.testing.assert_array_equal(a.final, r.final)
        np.testing.assert_array_equal(a.M, r.M)
        np.testing.assert_array_equal(a.E, r.E)
    np.testing.assert_array_equal(a.final[:17], d.final)
    assert not np.array_equal(a.final, e.final)
    assert old >= 1


def test_shapes_and_observables_match_numpy():
    model = SymmetricUpscaler(5, _random_model(5).params.detach().numpy())
    out = dream_batch(model, 50, 4, np.random.SeedSequence(3))
    assert isinstance(out, DreamBatch)
    assert out.final.shape == (50, 16, 16) and out.final.dtype == np.int8
    assert out.M.shape == out.E.shape == (50, 5) and out.M.dtype == out.E.dtype == np.int64
    assert out.sizes == [1, 2, 4, 8, 16]
    Mf, Ef = _mag_energy(out.final)
    np.testing.assert_array_equal(out.M[:, -1], Mf)
    np.testing.assert_array_equal(out.E[:, -1], Ef)
    np.testing.assert_allclose(out.m, out.M / np.array([1, 4, 16, 64, 256]))


@pytest.mark.slow
def test_largest_size():
    out = dream_batch(SymmetricUpscaler(7, W7), 1, 12, np.random.SeedSequence(8))
    assert out.final.shape == (1, 4096, 4096) and out.sizes[-1] == 4096
    M, E = _mag_energy(out.final)
    assert out.M[0, -1] == M[0] and out.E[0, -1] == E[0]


@pytest.mark.parametrize("sampler", ["numba", "torch"])
def test_L1_energy_convention(sampler):
    model = SymmetricUpscaler(3, W3)
    if sampler == "numba":
        out = dream_batch(model, 200, 1, np.random.SeedSequence(0))
    else:
        out = dream_batch_torch(model, 200, 1, torch.Generator().manual_seed(0))
    assert np.all(out.E[:, 0] == 2)
    assert set(np.unique(out.M[:, 0])) == {-1, 1}
    # L = 2: every neighbouring pair bonded twice, as np.roll counts
    np.testing.assert_array_equal(out.E[:, 1], _mag_energy(out.final)[1])


def test_start_spins_z2():
    n = 20000
    out = dream_batch(SymmetricUpscaler(3, W3), n, 2, np.random.SeedSequence(5))
    frac = np.mean(out.M[:, 0] == 1)
    assert abs(frac - 0.5) < 4 * np.sqrt(0.25 / n)
    # the model is Z2 symmetric: the final magnetisation follows the start's sign
    assert abs(out.m[:, -1].mean()) < 4 * out.m[:, -1].std() / np.sqrt(n)


@pytest.mark.parametrize("sampler", ["numba", "torch"])
def test_given_start(sampler):
    rng = np.random.default_rng(0)
    start = _random_spins(rng, (40, 4, 4))
    model = SymmetricUpscaler(7, W7)
    if sampler == "numba":
        out = dream_batch(model, 40, 2, np.random.SeedSequence(1), L0=4, start=start)
    else:
        out = dream_batch_torch(model, 40, 2, torch.Generator().manual_seed(1), L0=4, start=start)
    assert out.sizes == [4, 8, 16] and out.final.shape == (40, 16, 16)
    M0, E0 = _mag_energy(start)
    np.testing.assert_array_equal(out.M[:, 0], M0)
    np.testing.assert_array_equal(out.E[:, 0], E0)


def test_torch_reference_two_layer():
    torch.manual_seed(0)
    model = TwoLayerUpscaler(3, channels=4)
    out = dream_batch_torch(model, 10, 3, torch.Generator().manual_seed(0))
    assert out.final.shape == (10, 8, 8) and out.final.dtype == np.int8
    np.testing.assert_array_equal(out.M[:, -1], _mag_energy(out.final)[0])


# --------------------------------------------------------------------------
# The two samplers agree in distribution
# --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("k, w", [(3, W3), (7, W7), (3, "two-layer"), (7, "two-layer")])
def test_samplers_agree_statistically(k, w):
    n, n_up = 20000, 5 if w != "two-layer" or k == 3 else 4
    # The reference runs in float32 (as dreamrg.dream does): torch's float64 conv2d is
    # ~5x slower here, and float32 moves p(up) by ~1e-7, far below this test's
    # resolution (~3e-3); the float64 table is checked exactly against prob_up above.
    if w == "two-layer":
        model = _two_layer(k)
        model32 = copy.deepcopy(model).float()
    else:
        model, model32 = SymmetricUpscaler(k, w), SymmetricUpscaler(k, w, dtype=torch.float32)
    fast = dream_batch_two_layer if w == "two-layer" and k > 3 else dream_batch
    a = fast(model, n, n_up, np.random.SeedSequence(100 + k))
    b = dream_batch_torch(model32, n, n_up, torch.Generator().manual_seed(100 + k))
    for name, fa, fb in [
        ("|m|", np.abs(a.m), np.abs(b.m)),
        ("m^2", a.m**2, b.m**2),
        ("e", a.e, b.e),
    ]:
        for t in range(n_up + 1):
            x, y = fa[:, t], fb[:, t]
            sigma = np.sqrt(x.var(ddof=1) / n + y.var(ddof=1) / n)
            if sigma == 0:  # the start level: |m| = m^2 = 1, e = 2 exactly
                assert x.mean() == y.mean(), (name, t)
                continue
            z = (x.mean() - y.mean()) / sigma
            assert abs(z) < 4, f"{name} at L={a.sizes[t]}: {x.mean():.5f} vs {y.mean():.5f} ({z:+.1f} sigma)"


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------
def test_bad_input():
    model = SymmetricUpscaler(3, W3)
    seed = np.random.SeedSequence(0)
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="n_up"):
        dream_batch(model, 10, 0, seed)
    with pytest.raises(ValueError, match="n must"):
        dream_batch(model, 0, 3, seed)
    with pytest.raises(ValueError, match="n must"):
        dream_batch(model, 2.5, 3, seed)
    with pytest.raises(ValueError, match="exceeds the maximum 4096"):
        dream_batch(model, 1, 13, seed)
    with pytest.raises(ValueError, match="exceeds the maximum 4096"):
        dream_batch(model, 1, 8, seed, L0=32, start=np.ones((1, 32, 32), np.int8))
    with pytest.raises(ValueError, match="L0 = 1"):
        dream_batch(model, 10, 3, seed, L0=4)
    with pytest.raises(ValueError, match="shape"):
        dream_batch(model, 10, 3, seed, L0=4, start=np.ones((10, 2, 2), np.int8))
    with pytest.raises(ValueError, match=r"\+1 and -1"):
        dream_batch(model, 2, 3, seed, L0=2, start=np.zeros((2, 2, 2), np.int8))
    with pytest.raises(ValueError, match="integer"):
        dream_batch(model, 2, 3, seed, L0=2, start=np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="reduce the batch to n <= 1638"):
        dream_batch(model, 10000, 10, seed, max_bytes=2**31)
    with pytest.raises(ValueError, match="seed"):
        dream_batch(model, 10, 3, "abc")
    with pytest.raises(TypeError, match="dream_batch_torch"):
        dream_batch(TwoLayerUpscaler(5, channels=2), 10, 3, seed)
    with pytest.raises(ValueError, match="k in"):
        threshold_table(SymmetricUpscaler(9))
    with pytest.raises(ValueError, match="n_up"):
        dream_batch_torch(model, 10, 0, gen)
    with pytest.raises(ValueError, match="generator"):
        dream_batch_torch(model, 10, 2, seed)
    with pytest.raises(ValueError, match="reduce the batch"):
        dream_batch_torch(model, 100000, 8, gen)
    with pytest.raises(ValueError, match="shape"):
        upscale(model, np.ones((4, 4), np.int8), seed)


def test_two_layer_sampler_reuses_given_tables():
    model = _two_layer(5)
    tables = two_layer_tables(model)
    a = dream_batch_two_layer(model, 6, 3, np.random.SeedSequence(9))
    b = dream_batch_two_layer(model, 6, 3, np.random.SeedSequence(9), tables=tables)
    np.testing.assert_array_equal(a.final, b.final)
    with pytest.raises(ValueError, match="do not belong"):
        dream_batch_two_layer(model, 6, 3, np.random.SeedSequence(9), tables=two_layer_tables(_two_layer(7)))
