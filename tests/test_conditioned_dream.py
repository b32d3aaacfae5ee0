"""Dreaming with a temperature-conditioned model: the per-level table sampler against its references,
the ensembles' level plans, and the refusals (a conditioned model needs K, any other refuses one)."""

import numpy as np
import pytest
import torch

from dreamrg import _dream_kernels as dk
from dreamrg import _rng_kernels as rk
from dreamrg import conditioned as cd
from dreamrg import dream, patches, sampler
from dreamrg.exact import K_C
from dreamrg.models import SymmetricUpscaler

THETA = np.array([[0.134, 0.160, 0.355], [0.149, 0.274, 0.177]])


def _model(k=3, t_range=(-0.1, 0.1)):
    if k == 3:
        return cd.ConditionedUpscaler(3, 1, THETA, t_range=t_range)
    theta = np.random.default_rng(k).normal(0.05, 0.2, (2, patches.n_params(k)))
    return cd.ConditionedUpscaler(k, 1, theta, t_range=t_range)


def _random_levels(k, n_up, seed=0):
    rng = np.random.default_rng(seed)
    return [SymmetricUpscaler(k, rng.normal(0.0, 0.4, patches.n_params(k))) for _ in range(n_up)]


@pytest.mark.parametrize("k,L0", [(3, 1), (5, 2), (7, 3)])
def test_per_level_kernel_equals_chained_levels(k, L0):
    """Level ℓ drawn with its own table = repeated single-level calls with the same states (bit for bit)."""
    n, n_up = 5, 4
    levels = _random_levels(k, n_up, seed=k)
    thr, table = sampler.level_thresholds(levels, n_up)
    assert thr.shape == (n_up, 4, 2 ** (patches.patch_geometry(k)[0] ** 2)) and list(table) == [0, 1, 2, 3]
    P, start = patches.patch_geometry(k)
    start = np.asarray(start, dtype=np.int64)
    init = np.where(np.random.default_rng(1).random((n, L0, L0)) < 0.5, 1, -1).astype(np.int8)
    s1 = np.empty((n, 4), dtype=np.uint64)
    rk.seed_states(np.uint64(7), 0, s1)
    s2 = s1.copy()
    L = L0 * 2**n_up
    final, scratch = np.empty(n * L * L, np.int8), np.empty(n * L * L // 4, np.int8)
    M, E = np.empty((n, n_up + 1), np.int64), np.empty((n, n_up + 1), np.int64)
    dk.dream(thr, table, P, start, init, s1, n_up, final, scratch, M, E, 2)
    x = init
    for lvl in range(n_up):
        y = np.empty((n, 2 * x.shape[1], 2 * x.shape[1]), dtype=np.int8)
        dk.upscale_level(sampler.threshold_table(levels[lvl]), P, start, x, s2, y, 3)
        x = y
        np.testing.assert_array_equal(M[:, lvl + 1], x.astype(np.int64).sum(axis=(1, 2)))
    np.testing.assert_array_equal(final.reshape(n, L, L), x)
    np.testing.assert_array_equal(s1, s2)


def test_one_table_per_level_of_the_same_model_is_the_critical_sampler():
    m = _random_levels(5, 1)[0]
    seed = np.random.SeedSequence(11)
    a = sampler.dream_batch(m, 40, 5, seed)
    b = sampler.dream_batch([m] * 5, 40, 5, seed)
    c = sampler.dream_batch(m, 40, 5, seed, thresholds=sampler.level_thresholds([m] * 5, 5))
    for r in (b, c):
        np.testing.assert_array_equal(a.final, r.final)
        np.testing.assert_array_equal(a.M, r.M)
        np.testing.assert_array_equal(a.E, r.E)


@pytest.mark.parametrize("k", [3, 5, 7])
def test_probability_table_is_the_stacked_product_bit_for_bit(k):
    """The flattened product of probability_table gives exactly the numbers of expit(2 F @ w) (the tables, and so
    every cached ensemble, are unchanged by it)."""
    from scipy.special import expit

    for m in _random_levels(k, 4, seed=k):
        w = m.params.detach().numpy()
        np.testing.assert_array_equal(sampler.probability_table(m), expit(2.0 * (patches.orbit_features(k) @ w)))


def test_per_level_arguments_are_checked():
    levels = _random_levels(3, 3)
    with pytest.raises(ValueError, match="one model per level"):
        sampler.dream_batch(levels[:2], 4, 3, np.random.SeedSequence(0))
    with pytest.raises(ValueError, match="one table geometry"):
        sampler.dream_batch(levels[:2] + _random_levels(5, 1), 4, 3, np.random.SeedSequence(0))
    thr, table = sampler.level_thresholds(levels, 3)
    with pytest.raises(ValueError, match="do not belong"):
        sampler.dream_batch(levels[0], 4, 4, np.random.SeedSequence(0), thresholds=(thr, table))
    with pytest.raises(ValueError, match="do not belong"):
        sampler.dream_batch(levels[0], 4, 3, np.random.SeedSequence(0), thresholds=(thr, table + 3))


@pytest.mark.slow
@pytest.mark.parametrize("k", [3, 7])
def test_per_level_sampler_agrees_with_the_torch_reference(k):
    """The per-level table sampler and the per-level torch reference agree in distribution (z < 4)."""
    n, n_up = 20000, 5
    plan = cd.plan_levels(_model(k), 1.05 * K_C, n_up)
    levels = [_model(k).at(t) for t in plan.t_used]
    a = sampler.dream_batch(levels, n, n_up, np.random.SeedSequence(100 + k))
    b = sampler.dream_batch_torch([m.float() for m in levels], n, n_up, torch.Generator().manual_seed(100 + k))
    for name, fa, fb in [("|m|", np.abs(a.m), np.abs(b.m)), ("m^2", a.m**2, b.m**2), ("e", a.e, b.e)]:
        for lvl in range(1, n_up + 1):
            x, y = fa[:, lvl], fb[:, lvl]
            z = (x.mean() - y.mean()) / np.sqrt(x.var(ddof=1) / n + y.var(ddof=1) / n)
            assert abs(z) < 4, f"{name} at L={a.sizes[lvl]}: {x.mean():.5f} vs {y.mean():.5f} ({z:+.1f} sigma)"


# ------------------------------------------------------------------ ensembles

def test_conditioned_ensemble_is_the_per_level_sampler_and_records_its_plan(tmp_path):
    model = _model()
    p = dream.DreamParams(n_up=5, seed=3, batch_size=64)
    target = cd.DreamTarget(1.03 * K_C)
    ens = dream.run(model, p, 100, tmp_path / "e", target=target, progress=False)
    plan = cd.LevelPlan.from_dict(ens.meta["conditioning"])
    assert plan == cd.plan_levels(model, 1.03 * K_C, 5) and plan.schedule == "flow"
    np.testing.assert_allclose(plan.t_used, [0.1, 0.1, 0.1, 0.06, 0.03])
    assert ens.meta["model_class"] == "ConditionedUpscaler"
    assert ens.meta["conditioning_warnings"] == plan.warnings() and "3 of 5 levels" in plan.warnings()[0]
    levels = [model.at(t) for t in plan.t_used]
    for j, lo in enumerate((0, 64)):
        ref = sampler.dream_batch(levels, min(64, 100 - lo), 5, np.random.SeedSequence(3, spawn_key=(j,)))
        np.testing.assert_array_equal(ens.series(32)[0][lo:lo + 64], ref.m[:, -1])
    finals = list(dream.iter_final_batches(model, p, 100, target))
    np.testing.assert_array_equal(np.concatenate([f.sum(axis=(1, 2)) for f in finals]) / 32**2, ens.series(32)[0])
    # resuming asks for the same target: another K or schedule is another ensemble
    for other in (cd.DreamTarget(1.02 * K_C), cd.DreamTarget(1.03 * K_C, "naive")):
        with pytest.raises(dream.EnsembleError, match="conditioning"):
            dream.run(model, p, 200, tmp_path / "e", target=other, progress=False)
    assert dream.run(model, p, 200, tmp_path / "e", target=target, progress=False).count == 200


def test_schedules_order_the_magnetisation():
    """|m| grows with K; the naive schedule (ordered levels from the start) is further from K_c than the flow one
    below K_c, and the two agree at K_c (t = 0 at every level)."""
    model, n, n_up = _model(), 3000, 5

    def absm(K, schedule="flow"):
        levels, _ = dream.sampling_plan(model, n_up, cd.DreamTarget(K, schedule))
        return np.abs(sampler.dream_batch(levels, n, n_up, np.random.SeedSequence(5)).m[:, -1]).mean()

    lo, mid, hi = absm(0.97 * K_C), absm(K_C), absm(1.03 * K_C)
    assert lo < mid < hi
    assert absm(K_C, "naive") == mid
    assert absm(0.97 * K_C, "naive") > lo  # naive keeps t = -0.03 at small sizes, flow moves them to -0.1


def test_a_conditioned_model_needs_a_target_and_other_models_refuse_one(tmp_path):
    p = dream.DreamParams(n_up=3, seed=1, batch_size=16)
    with pytest.raises(ValueError, match="needs the coupling K"):
        dream.run(_model(), p, 10, tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="takes no target coupling"):
        dream.run(SymmetricUpscaler(3), p, 10, tmp_path / "b", target=cd.DreamTarget(K_C), progress=False)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_model_id_sees_the_trained_range():
    a, b = _model(t_range=(-0.1, 0.1)), _model(t_range=(-0.1, 0.05))
    assert dream.model_id(a) != dream.model_id(b)
    assert dream.model_id(a) == dream.model_id(_model(t_range=(-0.1, 0.1)))
