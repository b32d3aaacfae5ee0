"""Fill a profile's result cache on a Dask cluster before the book's chapters run (``dreamrg book --scheduler``).

The chapters execute in process (papermill kernels) and read everything through
the cached recipes of :mod:`dreamrg.runs`. :func:`warm` computes the expensive
entries of a profile beforehand, on the cluster, in five phases (those that the
executed chapters need: :data:`WARMED_FOR`); the chapters then
find them in the cache. What runs as Dask tasks:

1. **Monte Carlo stores** -- the training and validation sets of every model,
   then the Monte Carlo chapter's stores: one store after another, each store's
   chain segments as tasks (:func:`dreamrg.mc.run` with a client).
2. **Single-layer models** -- every (k, weighting, AdamW or exact) of the training
   chapter, the exact fits of the training-size study (Fig. 6) and the extra
   AdamW seeds of the seed spread: one task per model, trained on a worker
   (:func:`dreamrg.runs.models.cached_model`). Independent trainings run side by side.
3. **Two-layer networks** of the complexity chapter: their target losses are
   computed here from the single-layer models, then one task per network.
4. **Dreamed ensembles** (FSS, training-size, seed-spread, PDF-collapse and
   complexity chapters) and the MCRG chapter's Monte Carlo stores: the
   experiments' own functions are called with the client in effect
   (:func:`dreamrg._cluster.use`), so each ensemble's batches, each store's
   chain segments and the MCRG analyses of the stores (groups of chunks) are
   tasks; the observables of those functions are computed here, in process, as a
   chapter would.

5. **The off-critical chapter** -- its Monte Carlo stores at every coupling (chain
   segments as tasks), the temperature-conditioned exact fits (in process: seconds),
   the dreamed ensembles of every scheme (batches as tasks) and their analyses.

Not warmed: the MCRG of dreamed configurations (streamed, never stored); it runs in
its chapter. Every entry is the one the
chapters ask for (same parameters, same cache key, same bytes as in process), so
warming changes no result. Phases 1 and 2 list the models themselves
(:func:`single_layer_recipes`); ``tests/test_prewarm.py`` checks that the
experiments ask for nothing more.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from dreamrg import _cluster
from dreamrg import experiments as ex
from dreamrg.paths import data_dir
from dreamrg.profiles import Profile
from dreamrg.runs.mc import training_sets
from dreamrg.runs.models import cached_model
from dreamrg.train import TrainParams

#: a model to train: (hyper-parameters, L_t, M, data seed), the arguments of :func:`dreamrg.runs.models.cached_model`
Recipe = tuple[TrainParams, int, int, int]


@dataclass(frozen=True)
class WarmReport:
    """What :func:`warm` did: seconds per phase, models trained (not found cached), and where it ran."""

    scheduler: str
    seconds: dict[str, float] = field(default_factory=dict)
    trained: int = 0
    models: int = 0

    def to_dict(self) -> dict:
        return {"scheduler": self.scheduler, "seconds": dict(self.seconds), "trained": self.trained,
                "models": self.models}


def single_layer_recipes(profile: Profile | str, seed_spread: tuple[int, bool, int] = (5, True, 3)) -> list[Recipe]:
    """Every single-layer model the book's chapters train at ``profile``, each once.

    :func:`dreamrg.experiments.single_layer_fits` (AdamW and exact, both weightings, every
    k), :func:`~dreamrg.experiments.training_size_models` and the models of
    :func:`~dreamrg.experiments.seed_spread_results` for ``seed_spread = (k, weighted,
    n_seeds)`` (the FSS chapter's table), when that k is trained.
    """
    p = ex.as_profile(profile)
    L_t, M = p.training_set
    out = [(ex.single_layer_params(p.training, k, w, method), L_t, M, p.data_seed)
           for k in p.trained_ks for w in (False, True) for method in ("adamw", "exact")]
    out += [(TrainParams(k=k, method="exact", seed=p.training_seed), L, m, p.data_seed)
            for L, m in p.fig6_training_sets for k in p.trained_ks]
    k, weighted, n_seeds = seed_spread
    if k in p.trained_ks:
        out += [(ex.single_layer_params(dataclasses.replace(p.training, seed=s), k, weighted), L_t, M, p.data_seed)
                for s in range(p.training_seed, p.training_seed + n_seeds)]
    return list(dict.fromkeys(out))


def _train_task(unit: tuple) -> float:
    """One Dask task: train (or find) one cached model in the coordinator's cache; returns the seconds it took."""
    data, (params, L_t, M, seed) = unit
    old = os.environ.get("DREAMRG_DATA")
    os.environ["DREAMRG_DATA"] = data  # the coordinator's cache, whatever the worker's environment says
    try:
        t0 = time.perf_counter()
        cached_model(params, L_t, M, seed)
        return time.perf_counter() - t0
    finally:
        if old is None:
            os.environ.pop("DREAMRG_DATA", None)
        else:
            os.environ["DREAMRG_DATA"] = old


def _train_all(client, recipes: list[Recipe], name: str) -> int:
    """Train ``recipes`` as tasks (in process without a client); returns how many were not cached already."""
    data = data_dir().resolve()
    before = len(list(data.glob("models/*/model.json")))
    _cluster.map_units(_train_task, [(str(data), r) for r in recipes], client=client, name=name, retries=0)
    return len(list(data.glob("models/*/model.json"))) - before


#: the chapters whose execution needs each group of phases: the critical-point results (phases 1, 2 and
#: 4 but the two-layer networks' ensembles), the two-layer networks (phase 3 and their ensembles) and the
#: off-critical chapter (phase 5). A chapter in none of them (the introduction, the cluster page, the
#: appendix) needs no warm-up. Within a group everything is warmed, e.g. executing the FSS chapter alone
#: also fills the MCRG chapter's stores.
WARMED_FOR: dict[str, frozenset[str]] = {
    "critical": frozenset({"monte_carlo", "training", "dreaming", "fss", "pdf_collapse", "mcrg", "complexity",
                           "status"}),
    "two-layer": frozenset({"complexity"}),
    "off-critical": frozenset({"offcritical"}),
}

#: the :mod:`dreamrg.experiments` functions whose cached results each group of phases fills. A chapter that
#: reaches one of them (through the experiments, tables and quotes it calls) needs that group: the test suite
#: checks :data:`WARMED_FOR` against the chapters' code with this list, and this list against the phases.
WARMS: dict[str, tuple[str, ...]] = {
    "critical": ("mc_training_stores", "mc_validation", "mc_summaries", "single_layer_params",
                 "dreamed_summaries", "training_size_summaries", "pdf_from_one", "pdf_from_mc", "mcrg_mc",
                 "mcrg_irreps_mc", "mcrg_truncations", "seed_spread_results"),
    "two-layer": ("two_layer_params", "two_layer_summaries"),
    "off-critical": ("offcritical_training", "offcritical_degrees", "offcritical_mc", "offcritical_dreamed",
                     "offcritical_range"),
}


def warmed_groups(chapters: Iterable[str] | None) -> list[str]:
    """The groups of :data:`WARMED_FOR` that executing ``chapters`` needs (None: every chapter, all groups)."""
    if chapters is None:
        return list(WARMED_FOR)
    chapters = set(chapters)
    return [group for group, users in WARMED_FOR.items() if users & chapters]


def warm(profile: Profile | str, client, *, chapters: Iterable[str] | None = None,
         log: Callable[[str], None] = print) -> WarmReport:
    """Compute the heavy cached results of ``profile`` with ``client`` (see the module docstring).

    ``chapters``: warm only what executing these chapters needs (:func:`warmed_groups`;
    None: everything). ``client`` None runs the same phases in process. Resumable: an
    interrupted warm-up keeps every finished store chunk, ensemble batch, model epoch
    checkpoint and model.
    """
    p = ex.as_profile(profile)
    where = "in process" if client is None else f"the Dask scheduler at {client.scheduler.address}"
    seconds: dict[str, float] = {}
    groups = warmed_groups(chapters)
    trained = trained2 = 0
    recipes = single_layer_recipes(p) if "critical" in groups else []
    two = []
    with _cluster.use(client):
        if "critical" in groups:
            trained, trained2, two = _warm_critical(p, client, recipes, "two-layer" in groups, seconds, log)
        if "off-critical" in groups:
            t0 = time.perf_counter()
            for offcritical in (ex.offcritical_training, ex.offcritical_degrees, ex.offcritical_mc,
                                ex.offcritical_dreamed, ex.offcritical_range):
                offcritical(p)
            seconds["off-critical"] = time.perf_counter() - t0
            log(f"[dreamrg warm] off-critical stores, fits and dreams: {seconds['off-critical']:.1f} s")
    return WarmReport(where, seconds, trained + trained2, len(recipes) + len(two))


def _warm_critical(p: Profile, client, recipes: list[Recipe], two_layer: bool, seconds: dict[str, float],
                   log: Callable[[str], None]) -> tuple[int, int, list]:
    """Phases 1 to 4 (the two-layer networks and their ensembles only if ``two_layer``); fills ``seconds``."""
    t0 = time.perf_counter()
    for L_t, M in sorted({(r[1], r[2]) for r in recipes} | {tuple(p.two_layer_training_set)}):
        training_sets(L_t, M, p.data_seed)
    ex.mc_training_stores(p)
    ex.mc_validation(p)
    ex.mc_summaries(p)
    seconds["stores"] = time.perf_counter() - t0
    log(f"[dreamrg warm] Monte Carlo stores: {seconds['stores']:.1f} s")
    t0 = time.perf_counter()
    trained = _train_all(client, recipes, "train")
    seconds["single-layer"] = time.perf_counter() - t0
    log(f"[dreamrg warm] {len(recipes)} single-layer models ({trained} trained): {seconds['single-layer']:.1f} s")
    two, trained2 = [], 0
    if two_layer:
        t0 = time.perf_counter()
        two = [(tp, mid.L_t, mid.M, p.data_seed) for mid, tp in ex.two_layer_params(p).items()]
        trained2 = _train_all(client, two, "train2")
        seconds["two-layer"] = time.perf_counter() - t0
        log(f"[dreamrg warm] {len(two)} two-layer networks ({trained2} trained): {seconds['two-layer']:.1f} s")
    t0 = time.perf_counter()
    for summaries in (ex.dreamed_summaries, ex.training_size_summaries, ex.pdf_from_one, ex.pdf_from_mc,
                      *([ex.two_layer_summaries] if two_layer else []), ex.mcrg_mc, ex.mcrg_irreps_mc,
                      ex.mcrg_truncations):
        summaries(p)
    if 5 in p.trained_ks:
        ex.seed_spread_results(p, 5, True, 3)
    seconds["ensembles"] = time.perf_counter() - t0
    log(f"[dreamrg warm] dreamed ensembles and MCRG stores: {seconds['ensembles']:.1f} s")
    return trained, trained2, two
