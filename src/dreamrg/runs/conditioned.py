"""Cached recipes of the temperature-conditioned upscaler (beyond the paper): models and off-critical dreams.

* :func:`conditioned_model`   a :class:`~dreamrg.conditioned.ConditionedUpscaler` trained on
  Monte Carlo stores at several couplings (each store's K from its metadata), in
  ``data/models/conditioned-...-<key>/model.json``;
* :func:`dreamed_offcritical` an ensemble dreamed with such a model to a target coupling K,
  in ``data/ensembles/...-<key>/ensemble`` (extended when more chains are asked for);
* :func:`offcritical_summary` its observables at every size (cached), as
  :func:`dreamrg.runs.summaries.dream_summary` gives them for critical ensembles.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from dreamrg import _cluster, cache
from dreamrg.conditioned import ConditionedUpscaler, DreamTarget, load_conditioned, save_conditioned
from dreamrg.dream import DreamParams, dream_key, is_ensemble, model_id, open_ensemble, run
from dreamrg.exact import K_C
from dreamrg.fss import ensemble_summaries, joint_pair_exponents
from dreamrg.runs.mc import cached_store
from dreamrg.runs.summaries import DreamSummary
from dreamrg.mc import MCParams
from dreamrg.store import data_identity, open_store, planned_identity, writer_lock
from dreamrg.train import TrainParams
from dreamrg.train_conditioned import train_conditioned_adamw, train_conditioned_exact

__all__ = ["PlannedStore", "conditioned_model", "dreamed_offcritical", "offcritical_summary"]


@dataclass(frozen=True)
class PlannedStore:
    """A Monte Carlo store named by its parameters: :func:`dreamrg.runs.mc.cached_store` ``(params, n_configs)``.

    :func:`conditioned_model` keys such a store by the identity the made store will have
    (:func:`dreamrg.store.planned_identity`) and makes it only when the model has to be trained, so a
    cached (or carried) model is found without any Monte Carlo.
    """

    params: MCParams
    n_configs: int

    def make(self, progress: bool | None = None) -> Path:
        return cached_store(self.params, self.n_configs, progress=progress)


def _store_key(store, n: int | None = None) -> dict:
    """What identifies a store's data: its metadata (coupling, seed, sampler, ...) and how many configurations are
    used: the first ``n``, else all it holds now (a :class:`PlannedStore`: its ``n_configs``)."""
    if isinstance(store, PlannedStore):
        count = store.n_configs
        identity = planned_identity(store.params.store_meta())
    else:
        count, identity = open_store(store).count, data_identity(store)
    if n is not None and count < n:
        raise ValueError(f"{store} holds {count} configurations, fewer than the {n} to train on")
    return identity | {"count": count if n is None else int(n)}


def _made(stores, progress: bool | None) -> list[str]:
    return [str(s.make(progress) if isinstance(s, PlannedStore) else s) for s in stores]


def _size(store) -> int:
    return store.params.L if isinstance(store, PlannedStore) else open_store(store).L


def conditioned_model(stores, k: int, degree: int = 1, method: str = "exact", *, weighted: bool = False,
                      seed: int = 0, epochs: int = 50, batch_size: int = 50_000, lr: float = 0.01,
                      weight_decay: float = 0.01, valid_stores=None, K_c: float = K_C,
                      n_train: int | None = None, progress: bool | None = None) -> ConditionedUpscaler:
    """Train (or reuse) a temperature-conditioned model on Monte Carlo stores at several couplings.

    Parameters
    ----------
    stores : sequence of store paths or :class:`PlannedStore`
        One store per coupling, all of one L (e.g. :func:`dreamrg.runs.mc.cached_store` at
        each K); each store's K comes from its metadata, ``t = K/K_c − 1``. A planned store
        is made only if the model is not cached.
    k : {3, 5, 7}
        Kernel size.
    degree : int
        Degree of the orbit weights in t (1: W = a + b t; 2: + c t²); lowered to
        (distinct couplings − 1) when the data cannot determine more (``meta["fit"]["degree"]``).
    method : {"exact", "adamw"}
        The exact optimum (:func:`dreamrg.train_conditioned.train_conditioned_exact`) or the
        paper-style AdamW run (:func:`~dreamrg.train_conditioned.train_conditioned_adamw`,
        with ``epochs``, ``batch_size``, ``lr``, ``weight_decay`` and optional ``valid_stores``).
    weighted, seed :
        As in :class:`dreamrg.train.TrainParams`.

    Returns
    -------
    ConditionedUpscaler
        ``model.meta`` holds the parameters, each store's K, t and M, and the fit
        (``"fit"``: exact) or the ``"history"`` (AdamW).

    ``n_train``: train on the first ``n_train`` configurations of every store (default: all
    it holds). Give it when a store may be shared and grown by another computation (the
    K = K_c training set is also the critical chapters' L_t store): the model, and its key,
    then do not depend on what ran before.

    The key is every parameter and each store's identity (its metadata and the number of
    configurations used, not its path), so the same data give the same entry wherever they lie.
    """
    stores = [s if isinstance(s, PlannedStore) else str(s) for s in stores]
    params = TrainParams(k=k, method=method, weighted=weighted, seed=seed, epochs=epochs, batch_size=batch_size,
                         lr=lr, weight_decay=weight_decay)
    train_key = asdict(params)
    for name in ("target_loss", "patience", "channels", "model"):
        train_key.pop(name)
    if method == "exact":
        for name in ("epochs", "batch_size", "lr", "weight_decay"):
            train_key.pop(name)
    key = {"train": train_key, "degree": degree, "K_c": K_c, "stores": [_store_key(p, n_train) for p in stores],
           "valid_stores": None if valid_stores is None else [_store_key(p) for p in valid_stores],
           "mc_version": cache.STAGE_VERSIONS["mc"]}
    L = _size(stores[0])
    name = f"conditioned-k{k}-d{degree}-{method}{'-w' if weighted else ''}-L{L}-{len(stores)}K"
    path = cache.entry("models", name, key) / "model.json"
    if path.exists():
        return load_conditioned(path)
    with writer_lock(path, "model"):
        if path.exists():  # another process finished it meanwhile
            return load_conditioned(path)
        stores = _made(stores, progress)  # a planned store is made only now, to train on
        valid_stores = None if valid_stores is None else _made(valid_stores, progress)
        meta = {"params": asdict(params), "degree_requested": degree, "stores": stores}
        if method == "exact":
            model, info = train_conditioned_exact(params, stores, degree=degree, K_c=K_c, n_train=n_train,
                                                  progress=progress)
            meta["fit"] = info
        else:
            model, hist = train_conditioned_adamw(params, stores, valid_stores, degree=degree, K_c=K_c,
                                                  n_train=n_train, progress=progress)
            meta["history"] = hist
        save_conditioned(path, model, meta)
    return load_conditioned(path)


def _ensemble_key(model: ConditionedUpscaler, params: DreamParams, target: DreamTarget) -> tuple[str, dict]:
    mid = model_id(model)
    key = dream_key(model, params) | asdict(target)
    return f"ConditionedUpscaler-{mid}-K{target.K:.6f}-{target.schedule}-n{params.n_up}", key


def dreamed_offcritical(model: ConditionedUpscaler, K: float, n_up: int, n_configs: int, seed: int, *,
                        schedule: str = "flow", L0: int = 1, start: str = "random", batch_size: int = 4096,
                        save_configs: bool = False, progress: bool | None = None) -> Path:
    """Dream (or reuse) ``n_configs`` chains with a conditioned model to coupling ``K``; returns the ensemble's path.

    Parameters
    ----------
    model : ConditionedUpscaler
        E.g. from :func:`conditioned_model`.
    K : float
        Coupling of the last level, size ``L0 2**n_up``.
    n_up, seed, L0, start, batch_size, save_configs :
        As in :class:`dreamrg.dream.DreamParams` (``start``: "random" or an MC store of size L0).
    schedule : {"flow", "naive"}
        Couplings of the smaller levels (:func:`dreamrg.conditioned.level_couplings`); levels
        outside the model's trained range use the model at the nearest trained coupling.

    The ensemble's metadata hold the level plan under ``"conditioning"`` (K, schedule, the
    requested and used t of every level). The key is the dreaming parameters, the model
    (:func:`dreamrg.dream.model_id`), K and the schedule, not ``n_configs``: asking for more
    chains later extends the same ensemble. Within :func:`dreamrg._cluster.use` the batches
    are Dask tasks (same bytes).
    """
    params = DreamParams(n_up=n_up, L0=L0, seed=seed, batch_size=batch_size, start=start, save_configs=save_configs)
    target = DreamTarget(K=float(K), schedule=schedule)
    name, key = _ensemble_key(model, params, target)
    path = cache.entry("ensembles", name, key) / "ensemble"
    if is_ensemble(path) and open_ensemble(path).count >= n_configs:
        return path
    run(model, params, n_configs, path, target=target, progress=progress, client=_cluster.current())
    return path


def offcritical_summary(model: ConditionedUpscaler, K: float, n_up: int, n_configs: int, seed: int, *,
                        schedule: str = "flow", batch_size: int = 4096,
                        progress: bool | None = None) -> DreamSummary:
    """Observables with errors at every size of :func:`dreamed_offcritical` (from one random spin; cached)."""
    params = DreamParams(n_up=n_up, seed=seed, batch_size=batch_size)
    target = DreamTarget(K=float(K), schedule=schedule)
    name, key = _ensemble_key(model, params, target)

    def compute() -> DreamSummary:
        t0 = time.perf_counter()
        path = dreamed_offcritical(model, K, n_up, n_configs, seed, schedule=schedule, batch_size=batch_size,
                                   progress=progress)
        seconds = time.perf_counter() - t0
        return DreamSummary(sizes=ensemble_summaries(path, stop=n_configs),
                            exponents=joint_pair_exponents(path, stop=n_configs), seconds=seconds,
                            n=int(n_configs))

    return cache.cached("observables", f"offcritical-{name}", key | {"n_configs": int(n_configs)}, compute,
                        DreamSummary.from_dict)
