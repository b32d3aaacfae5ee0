"""Cached recipes off criticality: MC stores at couplings around K_c, their analysis, and the dreamed side.

* :func:`couplings` -- the profile's couplings K = K_c · (K/K_c), one float per value, used everywhere;
* :func:`training_stores` -- MC training (stream 0, M) and validation (stream 1, M/5) stores at L_t
  for every coupling; at K_c they are the training chapter's stores when L_t and M agree;
* :func:`comparison_store` -- an MC store of one (K, L) compared with dreamed configurations
  (stream 2, independent of the training sets);
* :func:`training_check` -- ⟨e⟩ of every training set against Kaufman (:class:`TrainingCheck`);
* :func:`mc_offcritical` -- :class:`~dreamrg.offcritical.OffcriticalResult` of the MC stores;
* :func:`conditioned_ensembles` -- **the one adapter to the conditioned model** (issue #23,
  built on another branch); until it lands it raises ``NotImplementedError`` naming what is missing;
* :func:`dreamed_offcritical_result` -- the same analysis of the dreamed ensembles.

Results are kept as JSON under ``data/offcritical/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamrg import cache
from dreamrg.exact import K_C
from dreamrg.mc import MCParams
from dreamrg.observables import store_accumulator
from dreamrg.offcritical import CouplingPoint, OffcriticalResult, analyse, blocked_energies, coupling_point
from dreamrg.profiles import OffcriticalSection
from dreamrg.runs.mc import cached_store
from dreamrg.store import open_store

#: MC stream of the comparison stores (0: training and measurement sets, 1: validation sets)
COMPARISON_STREAM = 2
#: the method of the conditioned fit the chapter dreams with
METHOD = "exact"


def couplings(section: OffcriticalSection) -> tuple[float, ...]:
    """K = K_c · permille / 1000 for every coupling of the section (the one place this float is formed)."""
    return tuple(K_C * r / 1000 for r in section.K_permille)


def _rng(seed: int, K: float) -> np.random.Generator:
    """Tie-break generator of the blocking at coupling ``K`` (keyed by its K/K_c in 10⁻³)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(round(1000 * K / K_C),)))


def training_stores(section: OffcriticalSection, data_seed: int, *,
                    progress: bool | None = None) -> dict[float, tuple[Path, Path]]:
    """Cached training (M, stream 0) and validation (M/5, stream 1) stores of size L_t at every coupling."""
    out = {}
    for K in couplings(section):
        train = cached_store(MCParams(L=section.L_t, K=K, seed=data_seed, stream=0), section.M, progress=progress)
        valid = cached_store(MCParams(L=section.L_t, K=K, seed=data_seed, stream=1), section.M // 5,
                             progress=progress)
        out[K] = (train, valid)
    return out


def comparison_store(L: int, K: float, n_configs: int, seed: int, *, progress: bool | None = None) -> Path:
    """Cached Swendsen–Wang store of ``n_configs`` configurations of size ``L`` at ``K`` (stream 2)."""
    return cached_store(MCParams(L=L, K=K, seed=seed, stream=COMPARISON_STREAM), n_configs, progress=progress)


@dataclass(frozen=True)
class TrainingCheck:
    """The training sets of every coupling judged against Kaufman: one point per K at L_t, and the store names."""

    points: tuple[CouplingPoint, ...]
    stores: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"points": [p.to_dict() for p in self.points], "stores": list(self.stores)}

    @classmethod
    def from_dict(cls, d: dict) -> "TrainingCheck":
        return cls(tuple(CouplingPoint.from_dict(p) for p in d["points"]), tuple(d["stores"]))


def training_check(section: OffcriticalSection, data_seed: int, *, progress: bool | None = None) -> TrainingCheck:
    """Observables of every training set (cached), so the data the model learns from are checked against exact."""
    key = {"K_permille": list(section.K_permille), "L_t": section.L_t, "M": section.M, "data_seed": data_seed}

    def compute() -> TrainingCheck:
        stores = training_stores(section, data_seed, progress=progress)
        points = []
        for K, (train, _) in stores.items():
            acc = store_accumulator(train, stop=section.M)
            points.append(coupling_point(acc.m, acc.e, section.L_t, K))
        return TrainingCheck(tuple(points), tuple(train.parent.name for train, _ in stores.values()))

    return cache.cached("offcritical", f"training-L{section.L_t}", key, compute, TrainingCheck.from_dict)


def mc_offcritical(section: OffcriticalSection, data_seed: int, *, progress: bool | None = None) -> OffcriticalResult:
    """The MC side: every (K, L) of the section, crossings, ν and the flow of the largest size (cached)."""
    key = {"source": "mc", "K_permille": list(section.K_permille), "sizes": list(section.sizes),
           "n": section.mc_configs, "data_seed": data_seed, "seed": section.seed, "stream": COMPARISON_STREAM}
    L_flow, n = max(section.sizes), section.mc_configs

    def compute() -> OffcriticalResult:
        series, blocked = {}, {}
        for K in couplings(section):
            for L in section.sizes:
                path = comparison_store(L, K, n, data_seed, progress=progress)
                acc = store_accumulator(path, stop=n)
                series[(K, L)] = (acc.m, acc.e)
                if L == L_flow:
                    batches = open_store(path).iter_batches(section.batch_size, stop=n)
                    blocked[K] = blocked_energies(batches, _rng(section.seed, K))
        return analyse(series, blocked, L_flow, seed=section.seed)

    return cache.cached("offcritical", f"mc-L{L_flow}", key, compute, OffcriticalResult.from_dict)


# ----------------------------------------------------------------------------- THE ADAPTER to the conditioned model
def conditioned_ensembles(section: OffcriticalSection, data_seed: int) -> tuple[str, dict[float, Path]]:
    """Train (or reuse) the conditioned model on :func:`training_stores` and dream at every coupling.

    This is the only place that calls the temperature-conditioned upscaler of issue #23, which
    another branch provides. It expects, in :mod:`dreamrg.runs`:

    * ``conditioned_model(stores, k, degree, method)`` -> a model (a torch module; each store's K is
      read from its metadata);
    * ``dreamed_offcritical(model, K, n_up, n_configs, seed)`` -> the path of a cached dreamed
      ensemble (:mod:`dreamrg.dream` format) dreamed from one spin to size 2^n_up at coupling K,
      with its final-level configurations saved (for the flow).

    Returns
    -------
    model_id : str
        :func:`dreamrg.dream.model_id` of the model (keys the cached analysis).
    ensembles : dict of float to Path
        One ensemble per coupling of :func:`couplings`.

    Raises
    ------
    NotImplementedError
        While those two functions are not in this branch (no dreamed data is made up).
    """
    try:
        from dreamrg.runs import conditioned_model, dreamed_offcritical  # type: ignore[attr-defined]
    except ImportError:
        raise NotImplementedError(
            "the temperature-conditioned upscaler is not in this branch yet: the dreamed side needs "
            "dreamrg.runs.conditioned_model(stores, k, degree, method) and "
            "dreamrg.runs.dreamed_offcritical(model, K, n_up, n_configs, seed) (issue #23, branch 'cond')") from None
    from dreamrg.dream import model_id

    stores = [train for train, _ in training_stores(section, data_seed).values()]
    model = conditioned_model(stores, section.k, section.degree, METHOD)
    return model_id(model), {K: Path(dreamed_offcritical(model, K, section.n_up, section.n_configs, section.seed))
                             for K in couplings(section)}


def dreamed_offcritical_result(section: OffcriticalSection, data_seed: int) -> OffcriticalResult:
    """The dreamed side, analysed exactly as :func:`mc_offcritical` (cached by the model's id).

    The flow blocks the final-level configurations (size 2^n_up, the largest of ``sizes``);
    an ensemble without them gives no flow points.
    """
    from dreamrg.dream import EnsembleError, open_ensemble

    mid, ensembles = conditioned_ensembles(section, data_seed)
    key = {"source": "dreamed", "model_id": mid, "K_permille": list(section.K_permille),
           "sizes": list(section.sizes), "n": section.n_configs, "seed": section.seed}
    L_flow, n = max(section.sizes), section.n_configs

    def compute() -> OffcriticalResult:
        series, blocked = {}, {}
        for K, path in ensembles.items():
            ens = open_ensemble(path)
            for L in section.sizes:
                series[(K, L)] = ens.series(L, n)
            try:
                batches = (ens.configs(a, min(a + section.batch_size, n)) for a in range(0, n, section.batch_size))
                blocked[K] = blocked_energies(batches, _rng(section.seed, K))
            except EnsembleError:
                pass
        return analyse(series, blocked, L_flow, seed=section.seed)

    return cache.cached("offcritical", f"dreamed-{mid}", key, compute, OffcriticalResult.from_dict)
