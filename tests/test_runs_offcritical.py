"""dreamrg.runs.offcritical: the cached MC recipe, the training sets, and the adapter to the conditioned model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dreamrg.dream import open_ensemble
from dreamrg.exact import K_C
from dreamrg.offcritical import OffcriticalResult
from dreamrg.profiles import load_profile
from dreamrg.runs import offcritical as ro
from dreamrg.runs.mc import training_sets
from dreamrg.store import open_store

TINY = load_profile("smoke").offcritical.with_overrides({"K_permille": [970, 1000, 1030], "sizes": [4, 8, 16],
                                                          "train_permille": [970, 1000, 1030], "L0_mc": 4, "L_t": 8,
                                                          "mc_configs": 400, "M": 200, "n_configs": 400,
                                                          "batch_size": 100})


def test_couplings_are_k_c_times_the_ratios():
    Ks = ro.couplings(load_profile("quick").offcritical)
    assert len(Ks) == 7 and Ks[3] == K_C
    assert [K / K_C for K in Ks] == pytest.approx([0.9, 0.94, 0.97, 1.0, 1.03, 1.06, 1.1], rel=1e-15)


def test_stores_carry_their_coupling_and_share_the_critical_training_set():
    stores = ro.training_stores(TINY, 5)
    for K, (train, valid) in stores.items():
        assert open_store(train).meta["K"] == K and open_store(train).count == 200
        assert open_store(valid).meta["stream"] == 1 and open_store(valid).count == 40
    assert stores[K_C] == training_sets(8, 200, 5)                   # the training chapter's store at K_c
    path = ro.comparison_store(4, K_C, 50, 5)
    assert open_store(path).meta["stream"] == ro.COMPARISON_STREAM and path not in stores[K_C]


def test_mc_offcritical_is_cached_and_complete(monkeypatch):
    first = ro.mc_offcritical(TINY, 5)
    assert isinstance(first, OffcriticalResult)
    assert len(first.points) == 9 and first.sizes == [4, 8, 16] and len(first.flow) == 3
    assert {f.L for f in first.flow} == {16} and first.nu.sizes == (4, 8, 16)
    assert {(c.L_small, c.L_large, c.method) for c in first.crossings} == {
        (a, b, m) for a, b in ((4, 8), (8, 16)) for m in ("reweighted", "interpolated")}
    assert all(math.isfinite(p.z_e) for p in first.points)
    monkeypatch.setattr(ro, "analyse", lambda *a, **k: pytest.fail("recomputed although cached"))
    assert ro.mc_offcritical(TINY, 5) == first
    check = ro.training_check(TINY, 5)
    assert [p.K for p in check.points] == list(ro.couplings(TINY)) and all(p.L == 8 for p in check.points)


def test_every_scheme_dreams_every_coupling_and_size():
    """The real conditioned model on TINY: naive (one dream for every size), flow (one dream per size) and the
    MC start (sizes above L0_mc only, from a store at the schedule's coupling), each analysed like MC."""
    results = {scheme: ro.dreamed_offcritical_result(TINY, 5, scheme) for scheme in ro.SCHEMES}
    for scheme, side in results.items():
        assert side.scheme == scheme and len(side.plans) == 3 and len(side.result.flow) == 3
        assert {p.n for p in side.result.points} == {TINY.n_configs}
        assert side.result.sizes == ([8, 16] if scheme == "flow-mc" else [4, 8, 16])
        assert [p["K"] for p in side.plans] == list(ro.couplings(TINY))
    _, ensembles = ro.conditioned_ensembles(TINY, 5, "naive")
    assert all(len(set(by_size.values())) == 1 for by_size in ensembles.values())     # one dream for every size
    _, ensembles = ro.conditioned_ensembles(TINY, 5, "flow-mc")
    K = ro.couplings(TINY)[0]
    ens = open_ensemble(ensembles[K][16])
    assert ens.meta["L0"] == 4 and ens.meta["n_up"] == 2 and ens.meta["conditioning"]["schedule"] == "flow"
    start = open_store(ens.meta["start_store"])
    assert start.meta["K"] == pytest.approx(ro.start_coupling(K, 16, 4)) and start.meta["stream"] == ro.START_STREAM
    assert ro.start_coupling(K, 16, 4) == pytest.approx(K_C * (1 + 4 * (K / K_C - 1)))
    assert ro.start_coupling(0.5 * K_C, 64, 4) == pytest.approx(1e-3 * K_C)          # past K = 0: practically ∞ T


def test_a_cached_dreamed_result_needs_no_ensembles(monkeypatch):
    """The dreamed ensembles (GBs at the paper profile) are only read to compute the analysis: once it is cached,
    a rerun does not dream (or even open) them, so they can be deleted."""
    first = ro.dreamed_offcritical_result(TINY, 5, "naive")
    monkeypatch.setattr(ro, "conditioned_ensembles", lambda *a, **k: pytest.fail("dreamed although cached"))
    assert ro.dreamed_offcritical_result(TINY, 5, "naive") == first
    with pytest.raises(ValueError, match="scheme must be one of"):
        ro.dreamed_offcritical_result(TINY, 5, "linear")


def test_dream_seeds_differ_per_scheme_coupling_and_size():
    seeds = {ro._dream_seed(23, s, K, L) for s in ro.SCHEMES for K in ro.couplings(TINY) for L in (4, 8, 16)}
    assert len(seeds) == 27 and ro._dream_seed(23, "flow", K_C, 8) == ro._dream_seed(23, "flow", K_C, 8)
    with pytest.raises(ValueError, match="scheme must be one of"):
        ro.conditioned_ensembles(TINY, 5, "linear")


def test_degree_check_against_separate_fits():
    check = ro.degree_check(TINY, 5)
    assert [d.degree for d in check.degrees] == [1, 2] and [d.n_params for d in check.degrees] == [6, 9]
    # three couplings determine a parabola: degree 2 reproduces every separate fit
    assert check.degrees[1].worst_z < 1e-4 and check.degrees[1].lr_statistic >= 0
    assert check.degrees[0].loss >= check.degrees[1].loss


def test_degree_check_deviations_are_weight_differences_over_the_separate_fit_errors():
    """Coupling 0 (its tie-breaks are the unconditioned fit's): z = (W_1(t_0) − w_0)/σ_0 with w_0 the separate
    model's weights and σ_0 = sqrt(diag H⁻¹ / M) of its exact fit."""
    from dreamrg.exact_fit import fit_exact
    from dreamrg.runs.conditioned import conditioned_model
    from dreamrg.train_conditioned import pooled_histograms

    z = ro.degree_check(TINY, 5).degrees[0].z[0]
    store = ro.training_stores(TINY, 5)[ro.train_couplings(TINY)[0]][0]
    alone = conditioned_model([store], 3, 0).params.detach().numpy()[0]
    joint = ro.conditioned(TINY, 5, degree=1)
    W = joint.weights(ro.train_couplings(TINY)[0] / K_C - 1).detach().numpy()
    counts, _, _, M = pooled_histograms([store], 3)
    sigma = np.sqrt(np.diag(np.linalg.inv(fit_exact(counts[0], 3).hessian)) / M[0])
    np.testing.assert_allclose(z, (W - alone) / sigma, rtol=1e-6, atol=1e-6)
    assert max(abs(x) for x in z) > 0.1                                  # degree 1 cannot meet three couplings
