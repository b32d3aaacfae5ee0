"""Cached recipes of the conditioned model (`dreamrg.runs.conditioned`): a model per (stores, k, degree, method),
an ensemble per (model, K, schedule, n_up, seed), reused on the second call."""

import pytest

from dreamrg import conditioned, mc, runs
from dreamrg import train_conditioned as tc
from dreamrg.dream import open_ensemble
from dreamrg.exact import K_C
from dreamrg.runs import conditioned as offcritical


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    d = tmp_path_factory.mktemp("offcrit")
    return [mc.run(mc.MCParams(L=8, K=r * K_C, seed=40 + i, chunk_size=100), 200, d / f"s{r}",
                   progress=False).path for i, r in enumerate((0.9, 1.0, 1.1))]


def test_conditioned_model_is_trained_once(stores, monkeypatch):
    model = runs.conditioned_model(stores, 3, 1, "exact")
    assert isinstance(model, conditioned.ConditionedUpscaler) and model.degree == 1
    assert model.meta["fit"]["converged"] and len(model.meta["fit"]["couplings"]) == 3

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(offcritical, "train_conditioned_exact", no_training)
    again = runs.conditioned_model(stores, 3, 1, "exact")
    assert again.params.tolist() == model.params.tolist()
    with pytest.raises(AssertionError, match="trained again"):  # another degree is another entry
        runs.conditioned_model(stores, 3, 2, "exact")


def test_adamw_recipe(stores):
    model = runs.conditioned_model(stores, 3, 1, "adamw", epochs=2, batch_size=100)
    assert model.meta["history"]["epoch"] == [1, 2] and model.t_range == pytest.approx((-0.1, 0.1))
    assert runs.conditioned_model(stores, 3, 1, "adamw", epochs=2, batch_size=100).params.tolist() == \
        model.params.tolist()


def test_dreamed_offcritical_and_its_summary(stores, monkeypatch):
    model = runs.conditioned_model(stores, 3, 1, "exact")
    path = runs.dreamed_offcritical(model, 1.03 * K_C, 4, 300, 7)
    ens = open_ensemble(path)
    assert ens.count == 300 and ens.meta["conditioning"]["K"] == pytest.approx(1.03 * K_C)
    assert runs.dreamed_offcritical(model, 1.03 * K_C, 4, 200, 7) == path          # fewer chains: reused
    assert runs.dreamed_offcritical(model, 1.03 * K_C, 4, 300, 7, schedule="naive") != path
    s = runs.offcritical_summary(model, 1.03 * K_C, 4, 300, 7)
    assert sorted(s.sizes) == [2, 4, 8, 16] and s.n == 300
    low = runs.offcritical_summary(model, 0.97 * K_C, 4, 300, 7)
    assert low.sizes[16].abs_m.value < s.sizes[16].abs_m.value
    monkeypatch.setattr(offcritical, "run", lambda *a, **k: pytest.fail("dreamed again"))
    assert runs.offcritical_summary(model, 1.03 * K_C, 4, 300, 7) == s
    assert tc.store_coupling(stores[2]) == pytest.approx(1.1 * K_C)


def test_a_conditioned_model_with_n_train_does_not_depend_on_what_grew_its_stores(tmp_path, monkeypatch):
    """The K = K_c training store is shared with the critical chapters, which may grow it before or after the
    off-critical chapter trains: with n_train the model and its cache entry are the same either way."""
    from dreamrg.runs.mc import cached_store

    def stores(count):
        return [cached_store(mc.MCParams(L=8, K=r * K_C, seed=40 + i, chunk_size=100), count, progress=False)
                for i, r in enumerate((0.9, 1.0, 1.1))]

    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "trained_first"))
    first = runs.conditioned_model(stores(200), 3, 1, "exact", n_train=200)
    stores(400)  # another chapter grows the stores afterwards
    monkeypatch.setattr(offcritical, "train_conditioned_exact", lambda *a, **k: pytest.fail("trained again"))
    assert runs.conditioned_model(stores(200), 3, 1, "exact", n_train=200).params.tolist() == first.params.tolist()
    monkeypatch.undo()
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "grown_first"))
    grown = stores(400)  # ... or before
    assert runs.conditioned_model(grown, 3, 1, "exact", n_train=200).params.tolist() == first.params.tolist()
    assert runs.conditioned_model(grown, 3, 1, "exact").params.tolist() != first.params.tolist()  # all 400
    with pytest.raises(ValueError, match="holds 400 configurations, fewer than the 500"):
        runs.conditioned_model(grown, 3, 1, "exact", n_train=500)


def test_the_identity_of_a_stores_data_does_not_change_when_it_grows(tmp_path):
    """train._data_identity (in training checkpoints and conditioned-model keys) leaves out what grows with a store
    (count, sampling time, configurations timed): a checkpointed training resumes after a shared store was grown."""
    from dreamrg.train import _data_identity

    params = mc.MCParams(L=8, seed=3, chunk_size=100)
    path = mc.run(params, 200, tmp_path / "s", progress=False).path
    before = _data_identity(path)
    mc.run(params, 400, tmp_path / "s", progress=False)
    assert _data_identity(path) == before
    other = mc.run(mc.MCParams(L=8, seed=4, chunk_size=100), 200, tmp_path / "t", progress=False).path
    assert _data_identity(other) != before


def test_planned_stores_key_the_model_as_their_made_stores_and_are_made_only_to_train(tmp_path, monkeypatch):
    """A PlannedStore names a store by its MCParams: the model's entry is the one its made store gives, and a
    cached (e.g. carried) model is found without making the store (no Monte Carlo)."""
    from dreamrg import store
    from dreamrg.runs.mc import cached_store

    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "a"))
    plan = [offcritical.PlannedStore(mc.MCParams(L=8, K=r * K_C, seed=7, stream=0), 150) for r in (0.95, 1.05)]
    for p in plan + [offcritical.PlannedStore(mc.MCParams(L=16, algorithm="wolff", seed=2, stream=1), 20)]:
        made = cached_store(p.params, p.n_configs, progress=False)
        assert store.planned_identity(p.params.store_meta()) == store.data_identity(made)
    by_path = runs.conditioned_model([cached_store(p.params, p.n_configs, progress=False) for p in plan], 3, 1,
                                     "exact", n_train=150)

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(offcritical, "train_conditioned_exact", no_training)
    assert runs.conditioned_model(plan, 3, 1, "exact", n_train=150).params.tolist() == by_path.params.tolist()
    # a new data directory holding only the model entry (as `dreamrg cache --import` leaves it): nothing is sampled
    from dreamrg.runs.carry import export_results, import_results

    export_results(tmp_path / "carried")
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "b"))
    import_results(tmp_path / "carried")
    monkeypatch.setattr(offcritical, "cached_store", lambda *a, **k: pytest.fail("a store was made"))
    assert runs.conditioned_model(plan, 3, 1, "exact", n_train=150).params.tolist() == by_path.params.tolist()
    assert not (tmp_path / "b" / "mc").exists()
    monkeypatch.undo()  # a model that is not cached makes its planned stores and trains on them
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "c"))
    fresh = runs.conditioned_model(plan, 3, 1, "exact", n_train=150)
    assert fresh.params.tolist() == by_path.params.tolist() and len(list((tmp_path / "c" / "mc").iterdir())) == 2
