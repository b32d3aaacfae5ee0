"""dreamrg.runs.offcritical: the cached MC recipe, the training sets, and the adapter to the conditioned model."""

from __future__ import annotations

import math

import pytest

import dreamrg.runs
from dreamrg import models
from dreamrg.dream import DreamParams
from dreamrg.exact import K_C
from dreamrg.offcritical import OffcriticalResult
from dreamrg.profiles import load_profile
from dreamrg.runs import offcritical as ro
from dreamrg.runs.ensembles import cached_ensemble
from dreamrg.runs.mc import training_sets
from dreamrg.store import open_store

TINY = load_profile("smoke").offcritical.with_overrides({"K_permille": [970, 1000, 1030], "sizes": [4, 8], "L_t": 8,
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
    assert len(first.points) == 6 and first.sizes == [4, 8] and len(first.flow) == 3
    assert {f.L for f in first.flow} == {8} and first.nu.sizes == (4, 8)
    assert {(c.L_small, c.L_large, c.method) for c in first.crossings} == {(4, 8, "reweighted"), (4, 8, "interpolated")}
    assert all(math.isfinite(p.z_e) for p in first.points)
    monkeypatch.setattr(ro, "analyse", lambda *a, **k: pytest.fail("recomputed although cached"))
    assert ro.mc_offcritical(TINY, 5) == first
    check = ro.training_check(TINY, 5)
    assert [p.K for p in check.points] == list(ro.couplings(TINY)) and all(p.L == 8 for p in check.points)


def test_dreamed_side_says_what_is_missing():
    if hasattr(dreamrg.runs, "conditioned_model"):
        pytest.skip("the conditioned model is in this branch")
    with pytest.raises(NotImplementedError, match=r"conditioned_model\(stores, k, degree, method\).*"
                                                  r"dreamed_offcritical\(model, K, n_up, n_configs, seed\)"):
        ro.dreamed_offcritical_result(TINY, 5)


def test_adapter_plumbing_with_a_stand_in_model(monkeypatch):
    """A critical k = 3 model stands in for the conditioned one (the same at every K): the dreamed side is
    analysed like MC, keyed by the model, with the flow from the saved final configurations."""
    stand_in = models.SymmetricUpscaler(3, params=[0.1364, 0.1566, 0.3536])
    calls = []

    def conditioned_model(stores, k, degree, method):
        calls.append((len(stores), k, degree, method))
        return stand_in

    def dreamed_offcritical(model, K, n_up, n_configs, seed):
        params = DreamParams(n_up=n_up, seed=seed, batch_size=100, save_configs=True)
        return cached_ensemble(model, params, n_configs)

    monkeypatch.setattr(dreamrg.runs, "conditioned_model", conditioned_model, raising=False)
    monkeypatch.setattr(dreamrg.runs, "dreamed_offcritical", dreamed_offcritical, raising=False)
    result = ro.dreamed_offcritical_result(TINY, 5)
    assert calls == [(3, 3, 1, "exact")]
    assert result.sizes == [4, 8] and len(result.flow) == 3 and {p.n for p in result.points} == {400}
