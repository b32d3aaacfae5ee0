import math

import numpy as np
import pytest

from dreamrg import coarse
from dreamrg._coarse_reference import majority_rule_numpy
from dreamrg.coarse import (
    log_weights_normalised,
    majority_rule,
    upsample_nearest,
    upsample_nearest_torch,
)


def _majority_rule_reference(sigma, u):
    """Plain loops; ``u`` holds the one uniform per block that majority_rule draws."""
    n, L, _ = sigma.shape
    l = L // 2
    mu = np.zeros((n, l, l), dtype=np.int8)
    ties = np.zeros(n, dtype=int)
    for a in range(n):
        for I in range(l):
            for J in range(l):
                tot = 0
                for di in range(2):
                    for dj in range(2):
                        tot += int(sigma[a, 2 * I + di, 2 * J + dj])
                if tot > 0:
                    mu[a, I, J] = 1
                elif tot < 0:
                    mu[a, I, J] = -1
                else:
                    ties[a] += 1
                    mu[a, I, J] = 1 if u[a, I, J] < 0.5 else -1
    return mu, -math.log(2.0) * ties, ties


def _random_spins(rng, shape):
    return (2 * rng.integers(0, 2, size=shape) - 1).astype(np.int8)


@pytest.mark.parametrize("L", [2, 4, 6, 8])
def test_majority_rule_matches_loop_reference(L):
    rng = np.random.default_rng(L)
    sigma = _random_spins(rng, (7, L, L))
    mu, log_D = majority_rule(sigma, np.random.default_rng(123))
    u = np.random.default_rng(123).random((7, L // 2, L // 2), dtype=np.float32)
    mu_ref, log_D_ref, ties = _majority_rule_reference(sigma, u)
    assert mu.dtype == np.int8 and mu.shape == (7, L // 2, L // 2)
    assert log_D.dtype == np.float64 and log_D.shape == (7,)
    assert np.array_equal(mu, mu_ref)
    assert np.allclose(log_D, log_D_ref, rtol=0, atol=1e-12)
    assert ties.sum() > 0  # ties were exercised


def test_majority_rule_single_config_and_determinism():
    rng = np.random.default_rng(5)
    sigma = _random_spins(rng, (8, 8))
    mu1, ld1 = majority_rule(sigma, np.random.default_rng(9))
    mu2, ld2 = majority_rule(sigma[None], np.random.default_rng(9))
    assert mu1.shape == (4, 4) and np.shape(ld1) == ()
    assert np.array_equal(mu1, mu2[0]) and ld1 == ld2[0]
    # clear majorities do not depend on the rng; the same state gives the same output
    mu3, _ = majority_rule(sigma, np.random.default_rng(9))
    assert np.array_equal(mu1, mu3)


def test_majority_rule_clear_majorities():
    sigma = np.array([[1, 1, -1, -1], [1, -1, -1, 1], [-1, -1, 1, 1], [-1, 1, 1, 1]], dtype=np.int8)
    # blocks: (+1,+1,+1,-1) -> +1; (-1,-1,-1,+1) -> -1; (-1,-1,-1,+1) -> -1; (+1,+1,+1,+1) -> +1
    mu, log_D = majority_rule(sigma, np.random.default_rng(0))
    assert np.array_equal(mu, [[1, -1], [-1, 1]]) and log_D == 0.0


def test_tie_breaking_is_fair():
    # every block a tie: rows alternate so each 2x2 block holds two up, two down
    L, n = 8, 4000
    row = np.array([1, -1] * (L // 2), dtype=np.int8)
    sigma = np.broadcast_to(row, (n, L, L)).copy()
    mu, log_D = majority_rule(sigma, np.random.default_rng(2024))
    N = mu.size
    up = np.count_nonzero(mu == 1)
    assert abs(up - N / 2) < 4 * math.sqrt(N / 4)
    assert np.allclose(log_D, -math.log(2) * (L // 2) ** 2)


def test_log_D_finite_at_L128():
    rng = np.random.default_rng(7)
    sigma = _random_spins(rng, (3, 128, 128))
    mu, log_D = majority_rule(sigma, rng)
    block = sigma.reshape(3, 64, 2, 64, 2).sum(axis=(2, 4))
    ties = (block == 0).sum(axis=(1, 2))
    assert ties.min() > 300
    assert np.all(np.isfinite(log_D))
    assert np.allclose(log_D, -math.log(2) * ties, rtol=1e-14, atol=0)
    assert np.all(np.exp2(-ties.astype(float)) == 0.0)  # the raw weight underflows
    w = log_weights_normalised(log_D)
    assert np.all(np.isfinite(w)) and math.isclose(w.sum(), 1.0, rel_tol=1e-12)
    # ratios survive: w_a / w_b = 2^(ties_b - ties_a)
    assert np.allclose(np.log(w[0] / w[1]), (ties[1] - ties[0]) * math.log(2), atol=1e-9)


@pytest.mark.parametrize("shape", [(3, 5, 5), (2, 7, 6), (1, 0, 0), (4, 4, 4, 4), (4,)])
def test_bad_shapes_raise(shape):
    sigma = np.ones(shape, dtype=np.int8)
    with pytest.raises(ValueError, match="L"):
        majority_rule(sigma, np.random.default_rng(0))


def test_non_spin_values_raise():
    with pytest.raises(ValueError, match="-1 and \\+1"):
        majority_rule(np.zeros((1, 4, 4), dtype=np.int8), np.random.default_rng(0))


def test_upsample_nearest():
    rng = np.random.default_rng(1)
    mu = _random_spins(rng, (2, 3, 3))
    up = upsample_nearest(mu)
    assert up.shape == (2, 6, 6) and up.dtype == np.int8
    for a in range(2):
        for i in range(6):
            for j in range(6):
                assert up[a, i, j] == mu[a, i // 2, j // 2]
    torch = pytest.importorskip("torch")
    assert np.array_equal(upsample_nearest_torch(torch.from_numpy(mu)).numpy(), up)
    # majority rule undoes nearest upsampling exactly, without ties
    back, log_D = majority_rule(up, rng)
    assert np.array_equal(back, mu) and np.all(log_D == 0)


def test_log_weights_normalised():
    log_D = np.array([-3.0, -1.0, -1.0, -np.inf])
    w = log_weights_normalised(log_D)
    ref = np.exp(log_D) / np.exp(log_D).sum()
    assert w.dtype == np.float64 and np.allclose(w, ref, rtol=1e-14)
    big = np.array([-2000.0, -2001.0]) * math.log(2)
    assert np.allclose(log_weights_normalised(big), [2 / 3, 1 / 3], rtol=1e-12)
    with pytest.raises(ValueError):
        log_weights_normalised(np.array([-np.inf]))


# --------------------------------------------------------------------------
# numba kernel vs the NumPy reference twin: bit-identical outputs, same draws
# --------------------------------------------------------------------------
def _ties_of(sigma):
    s = np.asarray(sigma, dtype=np.int64)
    L = s.shape[-1]
    block = s.reshape(s.shape[:-2] + (L // 2, 2, L // 2, 2)).sum(axis=(-3, -1))
    return (block == 0).sum(axis=(-2, -1))


def _assert_same_as_reference(sigma, make_rng, pre=0):
    """Kernel and reference from equal generators (``pre`` float32 draws first)."""
    r_new, r_ref = make_rng(), make_rng()
    r_new.random(pre, dtype=np.float32)
    r_ref.random(pre, dtype=np.float32)
    mu, log_D = majority_rule(sigma, r_new)
    mu_ref, log_D_ref = majority_rule_numpy(sigma, r_ref)
    assert mu.dtype == np.int8 and mu.shape == mu_ref.shape and np.array_equal(mu, mu_ref)
    assert log_D.dtype == np.float64 and np.shape(log_D) == np.shape(log_D_ref)
    # bit for bit, down to the sign of zero (no ties gives -0.0 in both)
    assert np.array_equal(np.asarray(log_D).view(np.uint64), np.asarray(log_D_ref).view(np.uint64))
    # the generators end in the same state: the whole state, then the next draws
    assert repr(r_new.bit_generator.state) == repr(r_ref.bit_generator.state)
    assert r_new.random(dtype=np.float32) == r_ref.random(dtype=np.float32)
    assert r_new.random() == r_ref.random()
    return mu, log_D


@pytest.mark.parametrize("L", [2, 4, 6, 16, 128])
@pytest.mark.parametrize("batch", [None, (1,), (5,)])
@pytest.mark.parametrize("pre", [0, 1])
def test_kernel_matches_numpy_reference(L, batch, pre):
    shape = (L, L) if batch is None else batch + (L, L)
    sigma = _random_spins(np.random.default_rng([L, len(shape), pre]), shape)
    mu, log_D = _assert_same_as_reference(sigma, lambda: np.random.default_rng(99), pre=pre)
    # log_D is float64 and exactly -ln2 * ties
    ties = _ties_of(sigma)
    assert log_D.dtype == np.float64
    assert np.array_equal(log_D, ties.astype(np.float64) * -math.log(2.0))
    if batch is None:
        assert mu.shape == (L // 2, L // 2) and np.shape(log_D) == () and isinstance(log_D, np.float64)


def test_all_ties_and_no_ties_match_reference():
    n, L = 3, 128
    row = np.array([1, -1] * (L // 2), dtype=np.int8)
    all_ties = np.broadcast_to(row, (n, L, L))  # read-only, non-contiguous view
    _, log_D = _assert_same_as_reference(all_ties, lambda: np.random.default_rng(3))
    assert np.array_equal(log_D, np.full(n, (L // 2) ** 2 * -math.log(2.0)))
    _, log_D = _assert_same_as_reference(np.ones((n, L, L), np.int8), lambda: np.random.default_rng(3))
    assert np.array_equal(log_D, np.zeros(n))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int64, np.uint8, np.float32, np.float64])
def test_dtypes_and_layouts_match_reference(dtype):
    rng = np.random.default_rng(11)
    sigma = _random_spins(rng, (4, 32, 32))
    if np.dtype(dtype).kind == "u":  # no -1: only the error can be compared
        with pytest.raises(ValueError, match="-1 and \\+1"):
            majority_rule(sigma.astype(dtype), np.random.default_rng(0))
        return
    for s in (sigma.astype(dtype), sigma.astype(dtype).transpose(0, 2, 1), sigma.astype(dtype)[::-1, :, ::-1],
              np.asfortranarray(sigma.astype(dtype))):
        _assert_same_as_reference(s, lambda: np.random.default_rng(5))


def _outcome(f, sigma, rng):
    try:
        f(sigma, rng)
    except Exception as e:  # noqa: BLE001 -- compared with the reference's
        return type(e), str(e)
    return None


@pytest.mark.parametrize(
    "sigma",
    [
        np.zeros((1, 4, 4), np.int8),
        np.full((2, 6, 6), 3, np.int8),
        np.full((1, 2, 2), -128, np.int8),
        np.full((1, 2, 2), 127, np.int8),
        np.zeros((3, 5, 5), np.int8),  # bad values and bad shape: values are reported first
        np.ones((3, 5, 5), np.int8),
        np.ones((2, 7, 6), np.int8),
        np.ones((4,), np.int8),
        np.ones((4, 4, 4, 4), np.int8),
        np.ones((1, 0, 0), np.int8),
        np.full((1, 4, 4), 0.5),
        np.full((1, 4, 4), np.nan),
        np.ones((1, 4, 4), bool),
        np.ones((1, 4, 4), complex),
    ],
)
def test_errors_match_reference_and_leave_rng_untouched(sigma):
    one_bad = sigma.copy()
    r_new, r_ref = np.random.default_rng(1), np.random.default_rng(1)
    got = _outcome(majority_rule, one_bad, r_new)
    want = _outcome(majority_rule_numpy, one_bad, r_ref)
    assert want is not None and got == want
    assert repr(r_new.bit_generator.state) == repr(np.random.default_rng(1).bit_generator.state)


def test_single_bad_spin_anywhere_is_caught():
    rng = np.random.default_rng(4)
    for L in (2, 6, 32):
        sigma = _random_spins(rng, (3, L, L))
        for v in (0, 2, -2, 3, -3, 127, -128):
            for idx in ((0, 0, 0), (2, L - 1, L - 1), (1, L // 2, 1)):
                s = sigma.copy()
                s[idx] = v
                r = np.random.default_rng(0)
                with pytest.raises(ValueError, match="-1 and \\+1"):
                    majority_rule(s, r)
                assert repr(r.bit_generator.state) == repr(np.random.default_rng(0).bit_generator.state)
