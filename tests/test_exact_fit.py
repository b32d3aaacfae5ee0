"""Tests for dreamrg.exact_fit: histogram reduction, loss, Newton fit."""

import math

import numba
import numpy as np
import pytest
from scipy.special import expit

from dreamrg import exact_fit as ef
from dreamrg import patches
from dreamrg._exact_fit_reference import direct_loss, local_field
from dreamrg.exact_fit import (
    HistogramAccumulator,
    fit_exact,
    histogram_loss,
    histogram_loss_grad_hess,
    pattern_histogram,
)
from dreamrg.patches import (
    kernel_from_params,
    n_params,
    orbit_features,
    patch_geometry,
    site_patterns,
)

KS = (3, 5, 7)
PM1 = np.array([-1, 1], dtype=np.int8)


# --------------------------------------------------------------------------
# helpers (test-local data generation)
# --------------------------------------------------------------------------
def random_spins(rng, shape):
    return rng.choice(PM1, size=shape)


def sample_model(w, mu, k, rng):
    """Draw sigma ~ U(sigma | mu) for the upscaler with parameters w."""
    h = local_field(w, mu, k)
    return np.where(rng.random(h.shape) < expit(2.0 * h), 1, -1).astype(np.int8)


def majority(sigma, rng):
    """Majority-rule 2x2 block spins with random tie-breaks; log D = -ties ln 2."""
    n, L, _ = sigma.shape
    s = sigma.reshape(n, L // 2, 2, L // 2, 2).sum(axis=(2, 4), dtype=np.int64)
    ties = s == 0
    mu = np.sign(s).astype(np.int8)
    mu[ties] = rng.choice(PM1, size=int(ties.sum()))
    return mu, -ties.sum(axis=(1, 2)) * math.log(2.0)


def brute_field(w, mu_t, k, i, j):
    """Field at fine site (i, j) by an explicit loop over the kernel window."""
    W = kernel_from_params(w, k)
    r = (k - 1) // 2
    L = 2 * mu_t.shape[0]
    h = 0.0
    for di in range(-r, r + 1):
        for dj in range(-r, r + 1):
            h += W[di + r, dj + r] * mu_t[((i + di) % L) // 2, ((j + dj) % L) // 2]
    return h


@pytest.fixture
def data16():
    """Structured (model-sampled, majority-blocked) and random data at L = 16."""
    rng = np.random.default_rng(20240611)
    n, L = 48, 16
    mu0 = random_spins(rng, (n, L // 2, L // 2))
    sigma_s = sample_model([0.05, 0.2, 0.6], mu0, 3, rng)
    mu_s, logd_s = majority(sigma_s, rng)
    sigma_r = random_spins(rng, (n, L, L))
    mu_r = random_spins(rng, (n, L // 2, L // 2))
    logd_r = -rng.integers(0, 12, size=n) * math.log(2.0)
    return [(sigma_s, mu_s, logd_s), (sigma_r, mu_r, logd_r)]


# --------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------
@pytest.mark.parametrize("k", KS)
def test_patch_geometry_covers_windows(k):
    P, start = patch_geometry(k)
    r = (k - 1) // 2
    assert P == (k + 1) // 2
    for c in range(-3, 4):
        for p in (0, 1):
            i = 2 * c + p
            lo, hi = (i - r) // 2, (i + r) // 2  # coarse rows under the window
            assert (lo - c, hi - c) == (start[p], start[p] + P - 1)


@pytest.mark.parametrize("k", KS)
def test_kernel_symmetric_and_orbits(k):
    assert n_params(k) == (k + 1) * (k + 3) // 8
    W = kernel_from_params(np.arange(1.0, n_params(k) + 1), k)
    for g in (W.T, W[::-1], W[:, ::-1], np.rot90(W)):
        np.testing.assert_array_equal(g, W)
    r = (k - 1) // 2
    for o, (a, b) in enumerate(patches.ORBIT_REPRESENTATIVES[: n_params(k)]):
        assert W[r + a, r + b] == o + 1
    F = orbit_features(k)
    assert F.shape == (4, 2 ** (P := patch_geometry(k)[0]) ** 2, n_params(k))
    # all-up patch: F_o = size of orbit o
    sizes = np.bincount(patches.orbit_index_map(k).ravel())
    for pos in range(4):
        np.testing.assert_array_equal(F[pos, 2 ** (P * P) - 1], sizes)
        np.testing.assert_array_equal(F[pos, 0], -sizes)


@pytest.mark.slow
@pytest.mark.parametrize("k", KS)
def test_site_patterns_match_brute_force_field(k):
    rng = np.random.default_rng(k)
    w = rng.normal(size=n_params(k))
    F = orbit_features(k)
    for l in (1, 2, 5, 8):
        mu = random_spins(rng, (3, l, l))
        codes = site_patterns(mu, k)
        L = 2 * l
        # every site against the np.roll reference ...
        h_ref = local_field(w, mu, k)
        pos = 2 * (np.arange(L)[:, None] % 2) + np.arange(L)[None, :] % 2
        h_hist = np.einsum("tijo,o->tij", F[pos[None], codes], w)
        np.testing.assert_allclose(h_hist, h_ref, rtol=0, atol=1e-12)
        # ... and random sites against an explicit loop over the window
        for _ in range(20):
            t, i, j = rng.integers(3), rng.integers(L), rng.integers(L)
            h = F[2 * (i % 2) + j % 2, codes[t, i, j]] @ w
            assert h == pytest.approx(brute_field(w, mu[t], k, i, j), abs=1e-12)


# --------------------------------------------------------------------------
# histogram loss == direct loss
# --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("weighted", [False, True])
def test_histogram_loss_equals_direct_loss(data16, k, weighted):
    rng = np.random.default_rng(100 + k)
    for sigma, mu, logd in data16:
        lw = logd if weighted else None
        counts = pattern_histogram(sigma, mu, k, log_weights=lw)
        assert counts.sum() == pytest.approx(sigma.shape[1] ** 2, rel=1e-13)
        for scale in (0.0, 0.3, 1.5):
            w = scale * rng.normal(size=n_params(k))
            ref = direct_loss(w, sigma, mu, k, log_weights=lw)
            assert histogram_loss(w, counts, k) == pytest.approx(ref, rel=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("k", [5, 7])
@pytest.mark.parametrize("l", [1, 2, 3])
def test_small_lattices_wrapping_window_exact(k, l):
    """l < P: the patch wraps onto itself, yet reading it mod l stays exact."""
    rng = np.random.default_rng(7 * k + l)
    sigma = random_spins(rng, (30, 2 * l, 2 * l))
    mu = random_spins(rng, (30, l, l))
    w = rng.normal(size=n_params(k))
    counts = pattern_histogram(sigma, mu, k)
    assert histogram_loss(w, counts, k) == pytest.approx(direct_loss(w, sigma, mu, k), rel=1e-10)


def test_weights_forms_and_streaming_agree(data16):
    sigma, mu, logd = data16[0]
    k = 5
    ref = pattern_histogram(sigma, mu, k, log_weights=logd)
    np.testing.assert_allclose(pattern_histogram(sigma, mu, k, np.exp(logd)), ref, rtol=1e-12)
    # batches in an order where the reference weight must be raised midway
    order = np.argsort(-logd)[::-1]
    acc = HistogramAccumulator(k, n_chunks=3)
    for part in np.array_split(order, 5):
        acc.add(sigma[part], mu[part], log_weights=logd[part])
    np.testing.assert_allclose(acc.counts, ref, rtol=1e-12, atol=1e-14)
    assert acc.n_configs == len(sigma)
    assert acc.log_total_weight == pytest.approx(np.logaddexp.reduce(logd), rel=1e-13)
    d = np.exp(logd)
    assert acc.effective_sample_size == pytest.approx(d.sum() ** 2 / (d * d).sum(), rel=1e-12)
    # unweighted: integer counts / M; zero weights drop configurations
    M = len(sigma)
    c = pattern_histogram(sigma, mu, k)
    np.testing.assert_allclose(c * M, np.round(c * M), atol=1e-9)
    wts = np.r_[np.ones(M // 2), np.zeros(M - M // 2)]
    np.testing.assert_allclose(
        pattern_histogram(sigma, mu, k, wts),
        pattern_histogram(sigma[: M // 2], mu[: M // 2], k),
        rtol=1e-13,
    )
    # majority-rule weights far below float64 range (L = 128: 2**-1000 and less)
    acc = HistogramAccumulator(3).add(sigma, mu, log_weights=logd - 2000.0)
    np.testing.assert_allclose(acc.counts, pattern_histogram(sigma, mu, 3, log_weights=logd), rtol=1e-12)


def test_histogram_independent_of_thread_count(data16):
    sigma, mu, logd = data16[1]
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        c1 = HistogramAccumulator(7, n_chunks=4).add(sigma, mu, log_weights=logd).counts
        numba.set_num_threads(old)
        c2 = HistogramAccumulator(7, n_chunks=4).add(sigma, mu, log_weights=logd).counts
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(c1, c2)


# --------------------------------------------------------------------------
# derivatives
# --------------------------------------------------------------------------
@pytest.mark.parametrize("k", KS)
def test_gradient_hessian_finite_differences(data16, k):
    sigma, mu, logd = data16[0]
    counts = pattern_histogram(sigma, mu, k, log_weights=logd)
    rng = np.random.default_rng(k)
    w = 0.3 * rng.normal(size=n_params(k))
    f, g, H = histogram_loss_grad_hess(w, counts, k)
    assert f == pytest.approx(histogram_loss(w, counts, k), rel=1e-14)
    eps = 1e-5
    for o in range(n_params(k)):
        e = np.zeros_like(w)
        e[o] = eps
        fp, gp, _ = histogram_loss_grad_hess(w + e, counts, k)
        fm, gm, _ = histogram_loss_grad_hess(w - e, counts, k)
        # central differences: truncation O(eps**2 f''') ~ 1e-8, rounding ~ 1e-13 f / eps
        assert g[o] == pytest.approx((fp - fm) / (2 * eps), rel=1e-6, abs=1e-6)
        np.testing.assert_allclose(H[:, o], (gp - gm) / (2 * eps), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(H, H.T, rtol=1e-13)
    assert np.linalg.eigvalsh(H).min() > 0


# --------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------
@pytest.mark.slow
def test_fit_recovers_known_parameters():
    k, w_true = 3, np.array([0.05, 0.2, 0.6])
    M, l = 2000, 8
    rng = np.random.default_rng(12345)
    mu = random_spins(rng, (M, l, l))
    sigma = sample_model(w_true, mu, k, rng)
    counts = pattern_histogram(sigma, mu, k)
    res = fit_exact(counts, k)
    assert res.converged and res.n_iter < 20
    assert res.grad_norm <= 1e-12 * counts.sum()
    assert res.loss == pytest.approx(direct_loss(res.params, sigma, mu, k), rel=1e-10)
    # Standard errors. The fitted loss is the per-configuration mean
    # (1/M) sum_a -log U(sigma_a|mu_a); the configurations are independent and
    # drawn from the model itself, so the log-likelihood of the data set is
    # -M * loss and its observed Fisher information is M * H (H = Hessian of the
    # per-configuration loss at the optimum). Asymptotically
    # cov(w_hat) = (M H)^-1, i.e. the errors scale as 1/sqrt(M * L**2): each
    # configuration contributes L**2 conditionally independent spins.
    se = np.sqrt(np.diag(np.linalg.inv(res.hessian)) / M)
    assert np.all(se < 0.01)
    assert np.all(np.abs(res.params - w_true) < 4 * se), (res.params, w_true, se)
    # a larger kernel nests the k = 3 model: its extra parameters fit to ~0
    res7 = fit_exact(pattern_histogram(sigma, mu, 7), 7)
    se7 = np.sqrt(np.diag(np.linalg.inv(res7.hessian)) / M)
    assert res7.converged
    assert np.all(np.abs(res7.params - np.r_[w_true, np.zeros(7)]) < 5 * se7)
    assert res7.loss <= res.loss + 1e-12


def test_fit_is_minimum_of_direct_loss_and_independent_of_start(data16):
    sigma, mu, logd = data16[0]
    k = 5
    counts = pattern_histogram(sigma, mu, k, log_weights=logd)
    res = fit_exact(counts, k)
    res2 = fit_exact(counts, k, w0=np.full(n_params(k), 0.5))
    assert res.converged and res2.converged
    np.testing.assert_allclose(res2.params, res.params, atol=1e-9)
    f0 = direct_loss(res.params, sigma, mu, k, log_weights=logd)
    rng = np.random.default_rng(3)
    for _ in range(5):
        dw = 1e-3 * rng.normal(size=n_params(k))
        assert direct_loss(res.params + dw, sigma, mu, k, log_weights=logd) > f0


def test_fit_separable_data_does_not_converge():
    # sigma = upsampled mu exactly: the likelihood grows without bound along w_(0,0)
    rng = np.random.default_rng(0)
    mu = random_spins(rng, (4, 4, 4))
    sigma = np.repeat(np.repeat(mu, 2, axis=1), 2, axis=2)
    res = fit_exact(pattern_histogram(sigma, mu, 3), 3, max_iter=30)
    assert not res.converged
    assert res.params[2] > 5


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------
def test_bad_inputs():
    rng = np.random.default_rng(0)
    sigma = random_spins(rng, (2, 8, 8))
    mu = random_spins(rng, (2, 4, 4))
    for k in (1, 2, 4, 9, 3.0, True, "3"):
        with pytest.raises(ValueError, match="kernel size"):
            HistogramAccumulator(k)
        with pytest.raises(ValueError, match="kernel size"):
            orbit_features(k)
    with pytest.raises(ValueError, match="shape"):
        pattern_histogram(sigma, mu[:, :3, :3], 3)
    with pytest.raises(ValueError, match="shape"):
        pattern_histogram(sigma[:1], mu, 3)
    with pytest.raises(ValueError, match="even"):
        pattern_histogram(sigma[:, :7, :7], mu[:, :3, :3], 3)
    with pytest.raises(ValueError, match="dimensions"):
        pattern_histogram(sigma[0], mu[0], 3)
    with pytest.raises(TypeError, match="int8"):
        pattern_histogram(sigma.astype(float), mu, 3)
    with pytest.raises(ValueError, match="±1"):
        pattern_histogram(2 * sigma.astype(np.int64), mu, 3)
    bad = sigma.copy()
    bad[1, 3, 3] = 0
    with pytest.raises(ValueError, match="not ±1"):
        pattern_histogram(bad, mu, 3)
    bad_mu = mu.copy()
    bad_mu[0, 0, 0] = 5
    acc = HistogramAccumulator(3)
    with pytest.raises(ValueError, match="not ±1"):
        acc.add(sigma, bad_mu)
    with pytest.raises(ValueError, match="invalid"):
        acc.counts
    with pytest.raises(ValueError, match="not both"):
        pattern_histogram(sigma, mu, 3, np.ones(2), log_weights=np.zeros(2))
    with pytest.raises(ValueError, match=">= 0"):
        pattern_histogram(sigma, mu, 3, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="shape"):
        pattern_histogram(sigma, mu, 3, np.ones(3))
    with pytest.raises(ValueError, match="empty"):
        pattern_histogram(sigma, mu, 3, np.zeros(2))
    with pytest.raises(ValueError, match="empty"):
        HistogramAccumulator(3).counts
    acc = HistogramAccumulator(3).add(sigma, mu)
    with pytest.raises(ValueError, match="same L"):
        acc.add(random_spins(rng, (1, 4, 4)), random_spins(rng, (1, 2, 2)))
    with pytest.raises(ValueError, match="empty histogram"):
        fit_exact(np.zeros((4, 16, 2)), 3)
    with pytest.raises(ValueError, match="shape"):
        fit_exact(np.ones((4, 512, 2)), 3)
    with pytest.raises(ValueError, match="kernel size"):
        fit_exact(np.ones((4, 16, 2)), 4)
    with pytest.raises(ValueError, match=">= 0"):
        histogram_loss(np.zeros(3), -np.ones((4, 16, 2)), 3)
    with pytest.raises(ValueError, match="parameters"):
        histogram_loss(np.zeros(6), np.ones((4, 16, 2)), 3)
    with pytest.raises(ValueError, match="parameters"):
        fit_exact(np.ones((4, 16, 2)), 3, w0=np.zeros(2))
    with pytest.raises(ValueError, match="empty"):
        direct_loss(np.zeros(3), sigma, mu, 3, log_weights=np.full(2, -np.inf))


@pytest.mark.parametrize("k", [3, 5, 7])
def test_fused_loss_grad_kernel_equals_numpy_reference(k):
    """The numba loss+gradient pass equals the numpy rows computation (sparse counts, large fields too)."""
    rng = np.random.default_rng(k)
    P, _ = patches.patch_geometry(k)
    counts = rng.random((4, 2 ** (P * P), 2)) * (rng.random((4, 2 ** (P * P), 1)) < 0.3)
    w = rng.normal(0, 3.0, patches.n_params(k))                 # fields up to ~±100: tests the stable branches
    loss, grad = ef.histogram_loss_grad(w, counts, k)
    ref_loss, ref_grad = ef._loss_rows(w, *ef._compress(counts, k), order=1)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-11, atol=1e-9 * np.abs(ref_grad).max())
    loss3, grad3, _ = ef.histogram_loss_grad_hess(w, counts, k)
    assert loss3 == pytest.approx(loss, rel=1e-12)
