import itertools
import json
import math

import numpy as np
import pytest
import torch

from dreamrg import models
from dreamrg.models import (
    SymmetricUpscaler,
    TwoLayerUpscaler,
    from_release_entry,
    kernel_orbits,
    release_entries,
    symmetric_kernel,
)

# ------------------------------------------------------------------ numpy references


def _np_upsample(m):
    n, l, _ = m.shape
    out = np.empty((n, 2 * l, 2 * l), dtype=np.float64)
    for i in range(2 * l):
        for j in range(2 * l):
            out[:, i, j] = m[:, i // 2, j // 2]
    return out


def _np_torus_corr(x, w):
    """out[a, i, j] = sum_{u,v} w[u, v] x[a, (i+u-c) % L, (j+v-c) % L], explicit loops."""
    n, L, _ = x.shape
    k = w.shape[0]
    c = k // 2
    out = np.zeros_like(x)
    for i in range(L):
        for j in range(L):
            for u in range(k):
                for v in range(k):
                    out[:, i, j] += w[u, v] * x[:, (i + u - c) % L, (j + v - c) % L]
    return out


def _np_log_prob(sigma, h):
    # log p(s) = s h - log(2 cosh h), written stably
    a = np.abs(h)
    log2cosh = a + np.log1p(np.exp(-2 * a))
    return (sigma * h - log2cosh).sum(axis=(1, 2))


def _spins(rng, shape):
    return (2 * rng.integers(0, 2, size=shape) - 1).astype(np.int8)


def _offsets(k):
    c = k // 2
    return [(di, dj) for di in range(-c, c + 1) for dj in range(-c, c + 1)]


# ------------------------------------------------------------------ orbits and kernels


@pytest.mark.parametrize("k", [3, 5, 7, 9, 11])
def test_orbit_count_and_partition(k):
    orbits = kernel_orbits(k)
    assert len(orbits) == (k + 1) * (k + 3) // 8
    assert len(set(orbits)) == len(orbits)
    c = k // 2
    for a, b in orbits:
        assert 0 <= a <= b <= c
    # each offset belongs to exactly one orbit
    for di, dj in _offsets(k):
        images = {(x, y) for x in (di, -di) for y in (dj, -dj)} | {(y, x) for x in (di, -di) for y in (dj, -dj)}
        assert sum(rep in images for rep in orbits) == 1


def test_orbit_order_matches_release():
    assert kernel_orbits(3) == [(1, 1), (0, 1), (0, 0)]
    assert kernel_orbits(7) == [(1, 1), (0, 1), (0, 0), (2, 2), (0, 2), (1, 2), (3, 3), (0, 3), (2, 3), (1, 3)]
    assert kernel_orbits(9)[:10] == kernel_orbits(7)


@pytest.mark.parametrize("k", [2, 4, 1, 0, -3, 3.5])
def test_bad_kernel_size(k):
    with pytest.raises(ValueError, match="odd"):
        kernel_orbits(k)


@pytest.mark.parametrize("k", [3, 5, 7, 9])
def test_kernel_symmetric_and_filled(k):
    n = (k + 1) * (k + 3) // 8
    p = torch.arange(1, n + 1, dtype=torch.float64)
    K = symmetric_kernel(p, k).numpy()
    assert K.shape == (k, k)
    for g in (np.rot90(K), np.rot90(K, 2), np.rot90(K, 3), K.T, np.fliplr(K), np.flipud(K), np.rot90(K).T):
        assert np.array_equal(g, K)
    c = k // 2
    for m, (a, b) in enumerate(kernel_orbits(k)):
        assert K[c + a, c + b] == m + 1
    assert set(np.unique(K)) == set(range(1, n + 1))


# ------------------------------------------------------------------ symmetric upscaler


@pytest.mark.parametrize("k,l", [(3, 1), (3, 2), (3, 3), (5, 1), (5, 2), (5, 3), (7, 1), (7, 2), (7, 4)])
def test_symmetric_log_prob_against_numpy(k, l):
    rng = np.random.default_rng(100 * k + l)
    n_orb = (k + 1) * (k + 3) // 8
    params = rng.normal(0, 0.5, n_orb)
    model = SymmetricUpscaler(k, params=params)
    # kernel built independently: offset (di, dj) -> orbit of (min, max) of |di|, |dj|
    c = k // 2
    W = np.zeros((k, k))
    for di, dj in _offsets(k):
        W[di + c, dj + c] = params[kernel_orbits(k).index(tuple(sorted((abs(di), abs(dj)))))]
    mu = _spins(rng, (3, l, l))
    sigma = _spins(rng, (3, 2 * l, 2 * l))
    h_ref = _np_torus_corr(_np_upsample(mu), W)
    h = model.field(torch.from_numpy(mu))
    assert h.dtype == torch.float64 and h.shape == (3, 2 * l, 2 * l)
    np.testing.assert_allclose(h.detach().numpy(), h_ref, rtol=1e-12, atol=1e-12)
    lp = model.log_prob(torch.from_numpy(sigma), torch.from_numpy(mu))
    assert lp.shape == (3,)
    np.testing.assert_allclose(lp.detach().numpy(), _np_log_prob(sigma, h_ref), rtol=1e-12)


@pytest.mark.parametrize("k", [3, 5, 7])
def test_conv_path_equals_roll_path(k):
    rng = np.random.default_rng(k)
    model = SymmetricUpscaler(k, params=rng.normal(size=(k + 1) * (k + 3) // 8))
    for l in range((k + 1) // 2, (k + 1) // 2 + 3):  # 2l >= k
        mu = torch.from_numpy(_spins(rng, (4, l, l)))
        torch.testing.assert_close(model.field(mu, method="conv"), model.field(mu, method="roll"), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="roll"):
        model.field(torch.ones(1, 1, 1), method="conv")


def test_z2_symmetry_and_gradient():
    rng = np.random.default_rng(3)
    model = SymmetricUpscaler(5, params=rng.normal(size=6))
    mu = torch.from_numpy(_spins(rng, (5, 4, 4)))
    sigma = torch.from_numpy(_spins(rng, (5, 8, 8)))
    torch.testing.assert_close(model.log_prob(-sigma, -mu), model.log_prob(sigma, mu), rtol=1e-13, atol=1e-13)
    model.log_prob(sigma, mu).sum().backward()
    assert model.params.grad is not None and torch.all(torch.isfinite(model.params.grad))
    assert model.n_params == 6


def test_zero_kernel_is_uniform_and_float32():
    model = SymmetricUpscaler(3)
    mu = torch.ones(2, 2, 2, dtype=torch.int8)
    sigma = torch.ones(2, 4, 4)
    torch.testing.assert_close(model.log_prob(sigma, mu), torch.full((2,), 16 * math.log(0.5), dtype=torch.float64))
    m32 = SymmetricUpscaler(3, params=[0.1, 0.2, 0.3], dtype=torch.float32)
    assert m32.field(mu).dtype == torch.float32


def test_log_prob_stable_for_large_fields():
    model = SymmetricUpscaler(3, params=[50.0, 50.0, 50.0])
    mu = torch.ones(1, 2, 2)
    lp_wrong = model.log_prob(-torch.ones(1, 4, 4), mu)  # h = 450 per site
    assert torch.isfinite(lp_wrong).all()
    assert math.isclose(lp_wrong.item(), -16 * 900.0, rel_tol=1e-12)


def test_sample_statistics():
    rng = np.random.default_rng(11)
    model = SymmetricUpscaler(3, params=[0.12, 0.18, 0.31])
    mu1 = _spins(rng, (1, 4, 4))
    N = 20000
    mu = torch.from_numpy(np.repeat(mu1, N, axis=0))
    s = model.sample(mu, torch.Generator().manual_seed(1234))
    assert s.dtype == torch.int8 and s.shape == (N, 8, 8)
    assert set(torch.unique(s).tolist()) <= {-1, 1}
    p = torch.sigmoid(2 * model.field(torch.from_numpy(mu1)))[0].detach().numpy()
    f = (s == 1).double().mean(dim=0).numpy()
    sd = np.sqrt(p * (1 - p) / N)
    assert np.all(np.abs(f - p) < 4.5 * sd)
    s2 = model.sample(mu, torch.Generator().manual_seed(1234))
    assert torch.equal(s, s2)


# ------------------------------------------------------------------ two-layer upscaler


def _np_two_layer(mu, w1, b1, w2, b2, input_01=False):
    x = _np_upsample(mu)
    if input_01:
        x = (x + 1) / 2
    hidden = np.stack([np.maximum(_np_torus_corr(x, w1[ch, 0]) + b1[ch], 0.0) for ch in range(w1.shape[0])])
    z = sum(_np_torus_corr(hidden[ch], w2[0, ch]) for ch in range(w1.shape[0])) + b2[0]
    return z  # logit


def test_two_layer_param_count():
    assert TwoLayerUpscaler(3, channels=32).n_params == 32 * 9 + 32 + 32 * 9 + 1
    assert TwoLayerUpscaler(7, channels=32).n_params == 32 * 49 + 32 + 32 * 49 + 1


@pytest.mark.parametrize("k,l", [(3, 1), (3, 3), (5, 1), (5, 3)])
def test_two_layer_log_prob_against_numpy(k, l):
    torch.manual_seed(k * 10 + l)
    model = TwoLayerUpscaler(k, channels=4)
    rng = np.random.default_rng(k + l)
    mu = _spins(rng, (2, l, l))
    sigma = _spins(rng, (2, 2 * l, 2 * l))
    w1, b1 = model.conv1.weight.detach().numpy(), model.conv1.bias.detach().numpy()
    w2, b2 = model.conv2.weight.detach().numpy(), model.conv2.bias.detach().numpy()
    h_ref = _np_two_layer(mu, w1, b1, w2, b2) / 2
    np.testing.assert_allclose(model.field(torch.from_numpy(mu)).detach().numpy(), h_ref, rtol=1e-11, atol=1e-12)
    lp = model.log_prob(torch.from_numpy(sigma), torch.from_numpy(mu)).detach().numpy()
    np.testing.assert_allclose(lp, _np_log_prob(sigma, h_ref), rtol=1e-11)
    s = model.sample(torch.from_numpy(mu), torch.Generator().manual_seed(0))
    assert s.shape == (2, 2 * l, 2 * l) and s.dtype == torch.int8


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_wrap_pad_is_the_index_form_bit_for_bit(dtype):
    # values and gradients against the plain fancy-indexing reference, including c > L / 2
    # (a site copied three times) and c > L (the reference path); magnitudes spread over
    # eight decades so that any change in the order of the summed copies would show
    from dreamrg.models import _wrap_pad, _wrap_pad_index

    gen = torch.Generator().manual_seed(1)
    for L, c, ch in itertools.product((1, 2, 3, 4, 5, 8, 13), (0, 1, 2, 3, 4), (1, 5)):
        x = torch.randn(3, ch, L, L, generator=gen, dtype=dtype)
        x = x * torch.logspace(-4, 4, L * L, dtype=dtype).reshape(L, L)
        P = L + 2 * c
        g = torch.randn(3, ch, P, P, generator=gen, dtype=dtype) * torch.logspace(4, -4, P * P, dtype=dtype).reshape(P, P)
        a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = _wrap_pad_index(a, c), _wrap_pad(b, c)
        assert torch.equal(ya, yb), (L, c, ch)
        ya.backward(g)
        yb.backward(g)
        assert torch.equal(a.grad, b.grad), (L, c, ch)


def test_two_layer_gradients_unchanged_by_the_padding(monkeypatch):
    # one full loss gradient of a k = 7 two-layer net: slice padding vs index padding, bit for bit
    from dreamrg import models

    rng = np.random.default_rng(3)
    mu = torch.from_numpy(_spins(rng, (6, 8, 8)))
    sigma = torch.from_numpy(_spins(rng, (6, 16, 16)))
    grads = []
    for pad in (models._wrap_pad, models._wrap_pad_index):
        monkeypatch.setattr(models, "_wrap_pad", pad)
        torch.manual_seed(5)
        model = TwoLayerUpscaler(7, channels=4, dtype=torch.float32)
        loss = -model.log_prob(sigma, mu).sum()
        loss.backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*grads))


# ------------------------------------------------------------------ the authors' release

# README order of their convs.params, written as given there (note (3,2), (3,1))
_README_ORDER = [(1, 1), (0, 1), (0, 0), (2, 2), (0, 2), (1, 2), (3, 3), (0, 3), (3, 2), (3, 1)]


def _readme_kernel(K_params, k):
    c = k // 2
    K = np.zeros((k, k))
    for di in range(-c, c + 1):
        for dj in range(-c, c + 1):
            for m, (a, b) in enumerate(_README_ORDER[: len(K_params)]):
                if sorted((abs(di), abs(dj))) == sorted((a, b)):
                    K[di + c, dj + c] = K_params[m]
    return K


def _readme_p_up_single(K_params, k, m01):
    K = _readme_kernel(K_params, k)
    x = _np_upsample(m01)
    z = _np_torus_corr(x, K) - K.sum() / 2
    return 1 / (1 + np.exp(-z))


def test_packaged_single_layer_release():
    entries = release_entries()
    assert len(entries) == 16
    assert all(e["model"] == "symmetric_single_layer" for e in entries)
    rng = np.random.default_rng(0)
    for e in entries:
        k = e["kernel_size"]
        model = from_release_entry(e)
        assert model.release_meta["L_train"] == e["L_train"] and model.release_meta["file"] == e["file"]
        K = np.array(e["state_dict"]["convs.params"]["values"])
        for l in (1, 2, 4):
            m01 = rng.integers(0, 2, size=(3, l, l))
            p_ref = _readme_p_up_single(K, k, m01)
            p = torch.sigmoid(2 * model.field(torch.from_numpy(2 * m01 - 1))).detach().numpy()
            np.testing.assert_allclose(p, p_ref, rtol=1e-12, atol=1e-14)


def test_w_equals_k_over_4():
    e = release_entries()[0]
    model = from_release_entry(e)
    K = np.array(e["state_dict"]["convs.params"]["values"])
    np.testing.assert_array_equal(model.params.detach().numpy(), K / 4)


@pytest.mark.slow
def test_full_release_matches_readme(authors_dir):
    path = authors_dir / "released_models.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    full = release_entries(path)
    assert len(full) == 26
    singles = [e for e in full if e["model"] == "symmetric_single_layer"]
    packaged = release_entries()
    assert json.dumps(singles, sort_keys=True) == json.dumps(packaged, sort_keys=True)
    twos = [e for e in full if e["model"] == "two_layer_32ch"]
    picks = [twos[0], next(e for e in twos if e["kernel_size"] == 7), next(e for e in twos if e["weighted_loss"])]
    rng = np.random.default_rng(1)
    for e in picks:
        sd = e["state_dict"]
        arr = {name: np.array(t["values"]).reshape(t["shape"]) for name, t in sd.items()}
        model = from_release_entry(e)
        assert model.input_01 and model.release_meta["set_size"] == e["set_size"]
        for l in (1, 2, 4):
            m01 = rng.integers(0, 2, size=(2, l, l))
            z = _np_two_layer(
                m01, arr["convs.0.weight"], arr["convs.0.bias"], arr["convs.2.weight"], arr["convs.2.bias"]
            )
            p_ref = 1 / (1 + np.exp(-z))
            p = model.prob_up(torch.from_numpy(2 * m01 - 1)).numpy()
            np.testing.assert_allclose(p, p_ref, rtol=1e-10, atol=1e-13)


# ------------------------------------------------------------------ model files


def test_save_load_roundtrip_and_errors(tmp_path):
    m = SymmetricUpscaler(5, params=np.linspace(-0.1, 0.4, 6))
    path = models.save_model(tmp_path / "m.json", m, {"note": "x"})
    back = models.load_model(path, expected="symmetric")
    assert torch.equal(back.params, m.params) and back.meta == {"note": "x"}
    with pytest.raises(models.ModelFileError, match="expected 'two-layer'"):
        models.load_model(path, expected="two-layer")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(models.ModelFileError, match="invalid JSON"):
        models.load_model(tmp_path / "bad.json")
    with pytest.raises(models.ModelFileError, match="does not exist"):
        models.load_model(tmp_path / "missing.json")
    doc = json.loads(path.read_text())
    doc["state_dict"]["params"]["values"] = [1.0]
    (tmp_path / "corrupt.json").write_text(json.dumps(doc))
    with pytest.raises(models.ModelFileError, match="corrupt"):
        models.load_model(tmp_path / "corrupt.json")
    two = TwoLayerUpscaler(3, channels=4)
    back2 = models.load_model(models.save_model(tmp_path / "t.json", two, {}), expected="two-layer")
    mu = torch.ones(1, 3, 3)
    assert torch.allclose(back2.field(mu), two.field(mu))
