"""Tests of the conditioned fits: the pooled histogram loss against its reference twin, the joint Newton fit,
and training on stores (exact and AdamW), against the unconditioned fits they must reduce to."""

import math

import numpy as np
import pytest
import torch
from scipy.special import expit

from dreamrg import conditioned_fit as cf
from dreamrg import coarse, exact_fit, mc, train
from dreamrg import train_conditioned as tc
from dreamrg._conditioned_fit_reference import direct_conditioned_loss, weights_at
from dreamrg._exact_fit_reference import local_field
from dreamrg.conditioned import ConditionedUpscaler
from dreamrg.exact import K_C
from dreamrg.patches import n_params

PM1 = np.array([-1, 1], dtype=np.int8)
T = [-0.1, 0.0, 0.06]


def _sample(theta, t, mu, k, rng):
    """σ ~ U(σ|μ; t) of the conditioned model with parameters θ (numpy reference field)."""
    h = local_field(weights_at(theta, t), mu, k)
    return np.where(rng.random(h.shape) < expit(2.0 * h), 1, -1).astype(np.int8)


def _data(k, theta, n=30, l=4, seed=0):
    """(t, σ, μ, log D) per coupling: μ random, σ drawn from the model, random log-weights."""
    rng = np.random.default_rng(seed)
    out = []
    for t in T:
        mu = rng.choice(PM1, size=(n, l, l))
        out.append((t, _sample(theta, t, mu, k, rng), mu, -rng.integers(0, 6, size=n) * math.log(2.0)))
    return out


def _theta(k, degree, seed=1):
    return np.random.default_rng(seed).normal(0.1, 0.3, size=(degree + 1, n_params(k)))


@pytest.mark.parametrize("k,weighted", [(3, False), (3, True), (5, False), (7, True)])
def test_pooled_histogram_loss_equals_the_direct_loss(k, weighted):
    theta = _theta(k, 2)
    data = _data(k, theta)
    counts = [exact_fit.pattern_histogram(s, m, k, log_weights=lw if weighted else None) for _, s, m, lw in data]
    frac = [0.2, 0.5, 0.3]
    ref_data = [(t, s, m, lw) if weighted else (t, s, m) for t, s, m, lw in data]
    ref = direct_conditioned_loss(theta, ref_data, k, frac)
    assert cf.conditioned_loss(theta, counts, T, k, frac) == pytest.approx(ref, rel=1e-12)
    loss, grad = cf.conditioned_loss_grad(theta, counts, T, k, frac)
    loss2, grad2, hess = cf.conditioned_loss_grad_hess(theta, counts, T, k, frac)
    assert loss == pytest.approx(ref, rel=1e-12) and loss2 == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(grad, grad2, rtol=1e-10, atol=1e-12)   # numba pass = numpy reference
    # gradient and Hessian by central differences of the direct (reference) loss
    eps, rng = 1e-5, np.random.default_rng(2)
    for _ in range(3):
        d = rng.normal(size=theta.shape)
        fd = (direct_conditioned_loss(theta + eps * d, ref_data, k, frac)
              - direct_conditioned_loss(theta - eps * d, ref_data, k, frac)) / (2 * eps)
        assert float(np.sum(grad * d)) == pytest.approx(fd, rel=1e-6, abs=1e-8)
        _, g_plus = cf.conditioned_loss_grad(theta + eps * d, counts, T, k, frac)
        _, g_minus = cf.conditioned_loss_grad(theta - eps * d, counts, T, k, frac)
        np.testing.assert_allclose(hess @ d.reshape(-1), ((g_plus - g_minus) / (2 * eps)).reshape(-1),
                                   rtol=1e-5, atol=1e-7)


def test_histogram_gradient_equals_torch_autograd_of_the_model():
    """The pooled histogram loss and gradient are those of ConditionedUpscaler.log_prob (torch reference)."""
    k, theta = 5, _theta(5, 1)
    data = _data(k, theta, n=20, l=3)
    counts = [exact_fit.pattern_histogram(s, m, k) for _, s, m, _ in data]
    loss, grad = cf.conditioned_loss_grad(theta, counts, T, k, [1, 1, 1])
    model = ConditionedUpscaler(k, 1, theta)
    total = sum(-model.log_prob(torch.from_numpy(s), torch.from_numpy(m), t).mean() for t, s, m, _ in data) / 3
    total.backward()
    assert float(total.detach()) == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(model.params.grad.numpy(), grad, rtol=1e-10, atol=1e-12)


def test_one_coupling_is_exactly_the_unconditioned_fit():
    k = 5
    data = _data(k, _theta(k, 0), n=60)
    counts = exact_fit.pattern_histogram(data[1][1], data[1][2], k)
    ref = exact_fit.fit_exact(counts, k)
    for degree in (0, 1, 2):  # one coupling fixes no slope: the degree is lowered to 0
        fit = cf.fit_conditioned([counts], [0.04], k, degree)
        assert fit.degree == 0 and fit.degree_requested == degree and fit.t_range == (0.04, 0.04)
        np.testing.assert_array_equal(fit.params[0], ref.params)
        assert fit.loss == ref.loss and fit.n_iter == ref.n_iter and fit.converged
    two = cf.fit_conditioned([counts, counts], [0.0, 0.04], k, 2)
    assert two.degree == 1 and two.converged
    np.testing.assert_allclose(two.params[1], 0.0, atol=1e-9)  # the same data at both couplings: no slope


@pytest.mark.parametrize("degree", [1, 2])
def test_fit_recovers_known_parameters(degree):
    k, l, n = 3, 8, 400
    theta = np.array([[0.13, 0.16, 0.36], [0.6, 1.2, -0.4], [-3.0, 2.0, 4.0]])[: degree + 1]
    rng = np.random.default_rng(7 + degree)
    counts = []
    for t in T:
        mu = rng.choice(PM1, size=(n, l, l))
        counts.append(exact_fit.pattern_histogram(_sample(theta, t, mu, k, rng), mu, k))
    fit = cf.fit_conditioned(counts, T, k, degree)
    assert fit.converged and fit.degree == degree and fit.t_range == (-0.1, 0.06)
    # n configurations per coupling with equal shares: the Fisher information of all 3n is 3n H
    se = np.sqrt(np.diag(np.linalg.inv(fit.hessian)) / (3 * n)).reshape(theta.shape)
    assert np.all(np.abs(fit.params - theta) < 4 * se), ((fit.params - theta) / se).round(2)
    start = cf.fit_conditioned(counts, T, k, degree, theta0=np.full(theta.shape, 0.3))
    np.testing.assert_allclose(start.params, fit.params, atol=1e-9)
    f0 = cf.conditioned_loss(fit.params, counts, T, k)
    for _ in range(5):  # a minimum of the pooled loss
        assert cf.conditioned_loss(fit.params + 1e-3 * rng.normal(size=theta.shape), counts, T, k) > f0


def test_bad_inputs():
    counts = exact_fit.pattern_histogram(np.ones((1, 4, 4), np.int8), np.ones((1, 2, 2), np.int8), 3)
    with pytest.raises(ValueError, match="one t per histogram"):
        cf.fit_conditioned([counts], [0.0, 0.1], 3)
    with pytest.raises(ValueError, match="t must be finite"):
        cf.fit_conditioned([counts], [float("nan")], 3)
    with pytest.raises(ValueError, match="fractions"):
        cf.fit_conditioned([counts], [0.0], 3, fractions=[-1.0])
    with pytest.raises(ValueError, match="theta must have shape"):
        cf.conditioned_loss(np.zeros(3), [counts], [0.0], 3)
    with pytest.raises(ValueError, match="kernel size"):
        cf.fit_conditioned([counts], [0.0], 9)


# ------------------------------------------------------------------ training on stores

@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    d = tmp_path_factory.mktemp("cond")
    out = []
    for i, r in enumerate((0.9, 1.0, 1.1)):
        p = mc.MCParams(L=16, K=r * K_C, seed=20 + i, chunk_size=150)
        out.append(str(mc.run(p, 300, d / f"s{r}", progress=False).path))
    valid = [str(mc.run(mc.MCParams(L=16, K=r * K_C, seed=20 + i, chunk_size=60, stream=1), 60, d / f"v{r}",
                        progress=False).path) for i, r in enumerate((0.9, 1.0, 1.1))]
    return out, valid


def test_exact_training_on_one_store_is_the_unconditioned_exact_fit(stores):
    tr, _ = stores
    p = train.TrainParams(k=3, method="exact", seed=4, weighted=True)
    model, info = tc.train_conditioned_exact(p, tr[1:2], degree=1, progress=False)
    plain, pinfo = train.train_exact(p, tr[1], progress=False)
    assert info["degree"] == 0 and info["degree_requested"] == 1
    np.testing.assert_array_equal(model.params.detach().numpy()[0], plain.params.detach().numpy())
    assert info["loss"] == pinfo["loss"]


def test_exact_training_on_three_couplings(stores):
    tr, _ = stores
    model, info = tc.train_conditioned_exact(train.TrainParams(k=3, method="exact"), tr, degree=2, progress=False)
    assert info["converged"] and model.degree == 2 and model.t_range == pytest.approx((-0.1, 0.1))
    assert [c["K"] for c in info["couplings"]] == pytest.approx([0.9 * K_C, K_C, 1.1 * K_C])
    # the weights grow with K (ordered side: stronger alignment with the block spin)
    w = [model.weights(t).detach().numpy() for t in (-0.1, 0.0, 0.1)]
    assert w[0].sum() < w[1].sum() < w[2].sum()


def test_adamw_on_one_store_retraces_the_unconditioned_run(stores):
    tr, va = stores
    p = train.TrainParams(k=3, method="adamw", epochs=3, batch_size=64, seed=5)
    model, hist = tc.train_conditioned_adamw(p, tr[:1], va[:1], degree=1, progress=False)
    plain, phist = train.train_adamw(p, tr[0], va[0], progress=False)
    assert hist["degree"] == 0
    np.testing.assert_allclose(model.params.detach().numpy()[0], plain.params.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(hist["train_loss"], phist["train_loss"], rtol=1e-12)
    np.testing.assert_allclose(hist["valid_loss"], phist["valid_loss"], rtol=1e-10)


def test_adamw_training_checks(stores):
    tr, va = stores
    p = train.TrainParams(k=3, method="adamw", epochs=1)
    with pytest.raises(ValueError, match="one validation store per training store"):
        tc.train_conditioned_adamw(p, tr, va[::-1], progress=False)
    with pytest.raises(ValueError, match="not 'exact'"):
        tc.train_conditioned_exact(p, tr, progress=False)
    with pytest.raises(ValueError, match="single-layer symmetric model with k in"):
        tc.train_conditioned_exact(train.TrainParams(k=9, method="exact"), tr, progress=False)


@pytest.mark.slow
def test_adamw_reaches_the_exact_optimum(stores):
    """AdamW (weight decay 0, lr 0.01, 1800 minibatch steps) ends at the exact optimum of its objective.

    AdamW redraws the majority-rule tie-breaks every epoch, so it minimises the loss averaged
    over tie-break draws; the loss is linear in the histogram, so that objective is the loss
    on the histogram averaged over draws (64 draws here), whose exact optimum θ* is found by
    Newton. Tolerance, in units of the statistical error σ = sqrt(diag(H⁻¹)/M) of the fit
    (M = 900 configurations): every parameter within 1 σ of θ* (what remains is AdamW's
    jitter at a constant lr, ~lr per step), and the pooled loss above the optimum by less than
    p/(2M), the expected excess of an independent estimate (covariance H⁻¹/M, p = 6). The
    single-draw exact fit differs from θ* by its tie-break noise, up to ~0.9 σ at L = 16.
    """
    tr, _ = stores
    sets, _, ts = tc._data(tr, None, K_C)
    draws = 64
    counts = [np.zeros((4, 16, 2)) for _ in sets]
    for r in range(draws):
        for i, s in enumerate(sets):
            sigma = s.batch(np.arange(len(s)))
            mu, _ = coarse.majority_rule(sigma, np.random.default_rng(np.random.SeedSequence(99, spawn_key=(r, i))))
            counts[i] += exact_fit.pattern_histogram(sigma, mu, 3) / draws
    best = cf.fit_conditioned(counts, ts, 3, 1)
    se = np.sqrt(np.diag(np.linalg.inv(best.hessian)) / 900).reshape(best.params.shape)
    p = train.TrainParams(k=3, method="adamw", epochs=200, batch_size=100, lr=0.01, weight_decay=0.0)
    ad, _ = tc.train_conditioned_adamw(p, tr, degree=1, progress=False)
    theta = ad.params.detach().numpy()
    z = (theta - best.params) / se
    assert np.all(np.abs(z) < 1), z.round(2)
    excess = cf.conditioned_loss(theta, counts, ts, 3) - best.loss
    assert 0 <= excess < 6 / (2 * 900), excess
