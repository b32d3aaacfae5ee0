"""Tests of the temperature-conditioned upscaler (`dreamrg.conditioned`): model, schedule, model files."""

import json

import numpy as np
import pytest
import torch

from dreamrg import conditioned as cd
from dreamrg import models
from dreamrg.exact import K_C
from dreamrg.models import ModelFileError, SymmetricUpscaler

THETA3 = np.array([[0.13, 0.16, 0.36], [0.15, 0.27, 0.18], [-0.4, 0.3, 0.1]])


def _model(k=3, degree=2, t_range=(-0.1, 0.1)):
    n = (k + 1) * (k + 3) // 8
    theta = THETA3[: degree + 1] if k == 3 else np.random.default_rng(k).normal(0, 0.2, (degree + 1, n))
    return cd.ConditionedUpscaler(k, degree, theta, t_range=t_range)


def _spins(rng, shape):
    return torch.from_numpy(rng.choice(np.array([-1, 1], dtype=np.int8), size=shape))


# ------------------------------------------------------------------ the model

def test_weights_are_the_polynomial_and_at_is_the_plain_model():
    m = _model()
    for t in (-0.07, 0.0, 0.05):
        w = THETA3[0] + THETA3[1] * t + THETA3[2] * t * t
        np.testing.assert_allclose(m.weights(t).detach().numpy(), w, rtol=1e-14)
        plain = m.at(t)
        assert isinstance(plain, SymmetricUpscaler) and plain.k == 3
        np.testing.assert_allclose(plain.params.detach().numpy(), w, rtol=1e-14)
    np.testing.assert_allclose(m.weights(torch.tensor([0.0, 0.05], dtype=torch.float64)).detach().numpy()[1],
                               m.weights(0.05).detach().numpy(), rtol=1e-15)
    # at() clips to the trained range, unless told not to
    np.testing.assert_array_equal(m.at(0.5).params.detach().numpy(), m.at(0.1).params.detach().numpy())
    assert not torch.equal(m.at(0.5, clip=False).params, m.at(0.1).params)


@pytest.mark.parametrize("k,l", [(3, 1), (3, 5), (5, 1), (5, 4), (7, 2), (7, 6)])
def test_field_equals_the_plain_model_at_each_configurations_t(k, l):
    """Per-configuration t: h(μ; t_a) = the SymmetricUpscaler at t_a, on the torus at every size (also L < k)."""
    m = _model(k)
    rng = np.random.default_rng(k * 10 + l)
    mu = _spins(rng, (4, l, l))
    t = np.array([-0.09, 0.0, 0.04, 0.1])
    h = m.field(mu, torch.from_numpy(t))
    for a in range(4):
        ref = m.at(float(t[a])).field(mu[a:a + 1], method="roll")[0]
        torch.testing.assert_close(h[a], ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(m.field(mu, 0.03), m.at(0.03).field(mu), rtol=1e-12, atol=1e-12)
    # Z2: no bias, so flipping the block spins flips the field
    torch.testing.assert_close(m.field(-mu, torch.from_numpy(t)), -h)


def test_log_prob_and_its_gradient():
    m = _model(3, degree=1)
    rng = np.random.default_rng(1)
    mu, sigma = _spins(rng, (3, 4, 4)), _spins(rng, (3, 8, 8))
    t = torch.tensor([-0.05, 0.0, 0.08], dtype=torch.float64)
    lp = m.log_prob(sigma, mu, t)
    for a in range(3):
        ref = m.at(float(t[a])).log_prob(sigma[a:a + 1], mu[a:a + 1])[0]
        assert float(lp[a].detach()) == pytest.approx(float(ref.detach()), rel=1e-12)
    lp.sum().backward()
    g = m.params.grad.clone()
    # d/db = Σ_a t_a d/dW at t_a: the gradient row of b is the t-weighted one of a, configuration by configuration
    per = []
    for a in range(3):
        m.params.grad = None
        m.log_prob(sigma[a:a + 1], mu[a:a + 1], t[a:a + 1]).sum().backward()
        per.append(m.params.grad[0].clone())
    torch.testing.assert_close(g[0], sum(per))
    torch.testing.assert_close(g[1], sum(float(t[a]) * per[a] for a in range(3)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="degree"):
        cd.ConditionedUpscaler(3, 4)
    with pytest.raises(ValueError, match="degree"):
        cd.ConditionedUpscaler(3, 1.0)
    with pytest.raises(ValueError, match="shape"):
        cd.ConditionedUpscaler(3, 1, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="t_range"):
        cd.ConditionedUpscaler(3, 1, t_range=(0.1, -0.1))
    with pytest.raises(ValueError, match="t_range"):
        cd.ConditionedUpscaler(3, 1, t_range=(-1.5, 0.1))
    with pytest.raises(ValueError, match="K_c"):
        cd.ConditionedUpscaler(3, 1, K_c=float("nan"))
    with pytest.raises(ValueError, match="one value per configuration"):
        _model().field(torch.ones(3, 2, 2), torch.zeros(2))
    with pytest.raises(ValueError, match="coupling K"):
        cd.reduced_coupling(-0.1)
    assert cd.ConditionedUpscaler(3, 1).clip(7.0) == 7.0  # no range known: nothing clipped


# ------------------------------------------------------------------ the schedule

def test_flow_schedule_doubles_t_per_blocking():
    """t_ℓ = t 2^((n − ℓ) y_t): the last level is the target, each smaller one a blocking further from K_c."""
    np.testing.assert_allclose(cd.level_couplings(0.01, 4), [0.08, 0.04, 0.02, 0.01], rtol=1e-15)
    np.testing.assert_allclose(cd.level_couplings(-0.01, 3, y_t=0.5), -0.01 * 2 ** np.array([1.0, 0.5, 0.0]))
    np.testing.assert_array_equal(cd.level_couplings(0.03, 3, "naive"), [0.03] * 3)
    with pytest.raises(ValueError, match="schedule"):
        cd.level_couplings(0.0, 3, "linear")


def test_plan_clips_to_the_trained_range_and_says_so():
    m = _model(t_range=(-0.1, 0.1))
    plan = cd.plan_levels(m, 1.03 * K_C, 6)
    assert plan.t == pytest.approx(0.03)
    np.testing.assert_allclose(plan.t_levels, 0.03 * 2.0 ** np.arange(5, -1, -1))
    np.testing.assert_allclose(plan.t_used, [0.1, 0.1, 0.1, 0.1, 0.06, 0.03])
    assert plan.clipped == [True] * 4 + [False] * 2
    msg, hint = plan.warnings()
    assert "4 of 6 levels" in msg and "L=16" in msg and "L=32" not in msg
    assert "size L=16 at K=" in hint and "t=+0.12" in hint and "2 upscalings" in hint
    assert plan.t_at(0) == pytest.approx(0.03 * 64) and plan.t_at(6) == pytest.approx(0.03)
    assert cd.LevelPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    assert cd.plan_levels(m, K_C, 6).warnings() == []
    outside = cd.plan_levels(m, 1.2 * K_C, 3, "naive")
    assert outside.t_used == [0.1] * 3 and any("target itself" in w for w in outside.warnings())
    with pytest.raises(TypeError, match="ConditionedUpscaler"):
        cd.plan_levels(SymmetricUpscaler(3), K_C, 3)
    with pytest.raises(ValueError, match="schedule"):
        cd.DreamTarget(K_C, "linear")


# ------------------------------------------------------------------ model files

def test_save_load_roundtrip(tmp_path):
    m = _model(5, degree=2, t_range=(-0.1, 0.06))
    path = cd.save_conditioned(tmp_path / "m.json", m, {"note": "x"})
    doc = json.loads(path.read_text())
    assert doc["model"] == "symmetric-conditioned"
    assert doc["conditioned"] == {"degree": 2, "t_range": [-0.1, 0.06], "K_c": K_C}
    back = cd.load_conditioned(path)
    assert torch.equal(back.params, m.params) and back.t_range == m.t_range and back.meta == {"note": "x"}
    assert isinstance(cd.load_upscaler(path), cd.ConditionedUpscaler)
    plain = models.save_model(tmp_path / "p.json", SymmetricUpscaler(3), {})
    assert isinstance(cd.load_upscaler(plain), SymmetricUpscaler)
    with pytest.raises(ModelFileError, match="temperature-conditioned model; load it with"):
        models.load_model(path)
    with pytest.raises(ModelFileError, match="not a temperature-conditioned one"):
        cd.load_conditioned(plain)


@pytest.mark.parametrize("edit,match", [
    (lambda d: d["conditioned"].update(degree=9), "degree"),
    (lambda d: d["conditioned"].update(degree="1"), "degree"),
    (lambda d: d["conditioned"].update(t_range=[0.2, -0.2]), "t_range"),
    (lambda d: d["conditioned"].update(t_range=[0.1]), "t_range"),
    (lambda d: d["conditioned"].update(K_c=-1), "K_c"),
    (lambda d: d["conditioned"].pop("K_c"), "must hold degree"),
    (lambda d: d.pop("conditioned"), "must hold degree"),
    (lambda d: d.update(k=4.0), "'k' must be an odd integer"),
    (lambda d: d["state_dict"]["params"].update(shape=[3, 3]), "must have shape"),
    (lambda d: d["state_dict"]["params"]["values"].__setitem__(0, "x"), "not numbers"),
    (lambda d: d["state_dict"].update(extra={"shape": [1], "values": [0.0]}), "state_dict holds"),
])
def test_damaged_files_are_refused(tmp_path, edit, match):
    path = cd.save_conditioned(tmp_path / "m.json", _model(3, degree=1), {})
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=match):
        cd.load_conditioned(path)


def test_non_finite_weights_are_refused(tmp_path):
    m = _model(3, degree=1)
    with torch.no_grad():
        m.params[1, 0] = float("nan")
    with pytest.raises(ValueError, match="not all finite"):
        cd.save_conditioned(tmp_path / "m.json", m, {})
    assert not (tmp_path / "m.json").exists()
    good = cd.save_conditioned(tmp_path / "g.json", _model(3, degree=1), {})
    text = good.read_text().replace('"values": [0.13', '"values": [NaN', 1)
    good.write_text(text)
    with pytest.raises(ModelFileError, match="non-finite"):
        cd.load_conditioned(good)
