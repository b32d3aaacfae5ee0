"""Dreaming: iterated upscaling from a single spin (or from MC configurations), streamed to disk.

A dream run generates ``n_configs`` chains in batches. Chain ``a`` of batch ``j``
starts from one random spin (``L0 = 1``, ±1 with probability ½; the paper's
default) or from Monte Carlo configuration ``j*batch + a`` of a store of size
``L0``, and is upscaled ``n_up`` times. For every chain and every level
(``L = L0, 2 L0, …, L0·2^n_up``) the integer magnetisation ``M = Σσ`` and energy
``E = Σ_<ij> σσ`` are recorded, so one run yields every intermediate size.

Batch ``j`` draws all its randomness from ``SeedSequence(seed, spawn_key=(j,))``:
the output is the same whatever the number of threads and whether the run was
interrupted and resumed.

Single-layer models use the fast table sampler (:mod:`dreamrg.sampler`);
other models (the two-layer network) use the torch reference path.

Device
------
``device`` (``"cpu"``, ``"cuda"``, ``"mps"``) is where the torch reference sampler
runs; the table samplers (numba) always run on the CPU and ignore it. The torch
sampler's generator stays on the CPU, so the random numbers are the same on every
device; the arithmetic is not, so a GPU ensemble records its device (``device`` in
its metadata, part of its identity: a CPU run does not resume it). CPU ensembles
record no device and are what they were before the option existed.

Kernels wider than the lattice (k = 5, 7 at L = 2, 4) act on the torus with
periodic wrap-around, as everywhere in dreamrg (see :mod:`dreamrg.models`): the
same model is used at every level by default. ``DreamParams.prefix_levels = N``
with a ``prefix`` model (:func:`run`, :func:`iter_final_batches`) draws the first N
upscalings with that other model instead and continues from its configurations with
the main one: the authors start their k = 5 generators with their k = 3 model for
the first upscaling and their k = 7 generators for the first two ("because of
padding problems", ``calculate_observables.py``); see
:func:`dreamrg.released.small_lattice_start`. Batch ``j`` of such a run splits its
``SeedSequence`` into two (prefix, then main model); without a prefix nothing changes.

Storage
-------
An ensemble is a zarr v3 group: arrays ``M`` and ``E`` (int64, shape
``(n, n_up+1)``), optionally ``configs`` (the final level, bit-packed as in
:mod:`dreamrg.store`), every array chunked by batch (one chunk file per batch
and array, zstd with its frame checksum), and group attributes with the
metadata and the committed ``count``. After a batch's chunks are written, its
completion record ``commits/<j>.json`` holds the CRC-32 of each array's rows
(:mod:`dreamrg._integrity`); ``count`` is the longest prefix of recorded
batches, so a killed run leaves whole batches only. Batches may be committed
in any order and by many processes (the commit protocol of
:mod:`dreamrg._integrity`; the arrays are created with their largest shape, so
no writer resizes them), and a resumed run dreams only the batches that have no
record. Opening (``"r"``, ``"r+"`` for a run's coordinator, ``"chunks"`` for a
worker that writes batches and records only, as for stores) cross-checks the
metadata (``sizes`` against ``L0``/``n_up`` and the arrays' shapes) and the
records; reading verifies every batch it touches, and a missing, truncated or
altered chunk raises :class:`EnsembleChunkError` naming the file and the chains
affected. Re-running with fewer chains than stored leaves the ensemble as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dreamrg._device import device_tag, resolve_device
from dreamrg import store as _store
from dreamrg._progress import _no_bar
from dreamrg.conditioned import ConditionedUpscaler, DreamTarget, plan_levels

from dreamrg.ensemble import (  # noqa: F401 - the ensemble storage, re-exported: dream.open_ensemble etc.
    IDENTITY,
    _DIGEST_KEYS,
    Ensemble,
    EnsembleChunkError,
    EnsembleError,
    create_ensemble,
    is_ensemble,
    open_ensemble,
    verify_ensemble,
)


def model_id(model: torch.nn.Module) -> str:
    """Content hash of a model's parameters and class (identifies what dreamed an ensemble).

    A two-layer model also hashes the name of its sampler when that is not
    torch (:func:`sampler_name`): its ensembles differ draw by draw from those of
    the torch sampler that dreamed it before (same distribution), so they are new
    cache entries.
    """
    from dreamrg.models import TwoLayerUpscaler

    h = hashlib.sha256(type(model).__name__.encode())
    if isinstance(model, TwoLayerUpscaler):
        tag = sampler_name(model)
        if tag != "torch":
            h.update(f"sampler={tag}".encode())
    if isinstance(model, ConditionedUpscaler):  # its range decides the clipping, K_c what t means
        h.update(json.dumps(model.conditioning, sort_keys=True).encode())
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().double().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def sampler_name(model: torch.nn.Module) -> str:
    """Which sampler dreams ``model``: ``"table"``, ``"two-layer"`` (offset tables) or ``"torch"``."""
    from dreamrg import patches, sampler
    from dreamrg.models import TwoLayerUpscaler

    if isinstance(model, (list, tuple)):  # one model per level
        model = model[0]
    if isinstance(model, ConditionedUpscaler):
        return "table" if model.k in patches.KERNEL_SIZES else "torch"
    if sampler.table_kernel_size(model) is not None:
        return "table"
    if isinstance(model, TwoLayerUpscaler) and model.k in patches.KERNEL_SIZES:
        return "two-layer"
    return "torch"


@dataclass(frozen=True)
class DreamParams:
    """What to dream (validated on construction).

    Attributes
    ----------
    n_up : int
        Number of upscalings (final size ``L0 * 2**n_up``).
    L0 : int
        Start size: 1 (a single random spin) or the size of the MC store in ``start``.
    seed : int
    batch_size : int
        Chains per batch (memory ~ batch_size · L² bytes).
    start : str
        ``"random"`` or the path of an MC store of size L0.
    save_configs : bool
        Also store the final-level configurations (1 bit per spin).
    prefix_levels : int
        The first ``prefix_levels`` upscalings are drawn by another model (the ``prefix``
        argument of :func:`run`), the remaining ``n_up - prefix_levels`` by the main model
        from its configurations; 0 (the default): the main model draws every level.
    """

    n_up: int = 7
    L0: int = 1
    seed: int = 0
    batch_size: int = 4096
    start: str = "random"
    save_configs: bool = False
    prefix_levels: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.n_up, (int, np.integer)) or self.n_up < 1:
            raise ValueError(f"n_up must be an integer ≥ 1; got {self.n_up!r}")
        if (not isinstance(self.prefix_levels, (int, np.integer)) or isinstance(self.prefix_levels, bool)
                or not 0 <= self.prefix_levels < self.n_up):
            raise ValueError(f"prefix_levels must be an integer with 0 ≤ prefix_levels < n_up = {self.n_up} "
                             f"(the main model draws at least the last upscaling); got {self.prefix_levels!r}")
        if self.L0 < 1:
            raise ValueError(f"L0 must be ≥ 1; got {self.L0}")
        if self.start == "random" and self.L0 != 1:
            raise ValueError("a random start is a single spin (L0 = 1); give an MC store to start from L0 > 1")
        if self.L0 * 2**self.n_up > 4096:
            raise ValueError(f"final size L0·2^n_up = {self.L0 * 2**self.n_up} exceeds the supported 4096")
        if self.batch_size < 1 or self.seed < 0:
            raise ValueError("batch_size must be ≥ 1 and seed ≥ 0")

    @property
    def sizes(self) -> list[int]:
        return [self.L0 * 2**i for i in range(self.n_up + 1)]


def _kernel(model) -> int | None:
    return getattr(model, "k", None)


def check_prefix(model: torch.nn.Module, params: DreamParams, prefix: torch.nn.Module | None) -> None:
    """Refuse a prefix model without ``prefix_levels`` (or the reverse) and prefixes that cannot start a dream.

    The prefix draws the first ``params.prefix_levels`` upscalings and the main model continues
    from them, so both must be plain (not temperature-conditioned) upscalers, and the prefix's
    kernel must not be wider than the main model's (its purpose is a smaller kernel on the
    smallest lattices). ``ValueError`` naming what was wrong.
    """
    if (prefix is None) != (params.prefix_levels == 0):
        raise ValueError("a prefix model and prefix_levels ≥ 1 go together: give both (the prefix model draws the "
                         f"first prefix_levels upscalings) or neither; got prefix_levels={params.prefix_levels} and "
                         f"{'no prefix model' if prefix is None else 'a prefix model'}")
    if prefix is None:
        return
    if isinstance(model, ConditionedUpscaler) or isinstance(prefix, ConditionedUpscaler):
        raise ValueError("a prefix model cannot be combined with a temperature-conditioned model (either side)")
    if not callable(getattr(prefix, "sample", None)):
        raise ValueError(f"the prefix must be an upscaler with a sample method; got {type(prefix).__name__}")
    kp, km = _kernel(prefix), _kernel(model)
    if kp is not None and km is not None and kp > km:
        raise ValueError(f"the prefix model's kernel (k={kp}) is wider than the main model's (k={km}); a prefix "
                         "serves a smaller kernel on the smallest lattices")


def dream_key(model: torch.nn.Module, params: DreamParams, prefix: torch.nn.Module | None = None) -> dict[str, Any]:
    """What identifies a dream: the parameters and the model's id (with the prefix's, when there is one).

    Without a prefix this is ``asdict(params) | {"model_id": ...}`` without ``prefix_levels``
    (the keys and metadata of dreams made before the option existed). A Monte Carlo start is
    named by its store's data identity (:func:`dreamrg.store.data_identity`), not its path, so
    a dream's cache entry does not change when the data directory moves or is carried.
    """
    check_prefix(model, params, prefix)
    key = asdict(params) | {"model_id": model_id(model)}
    if params.start != "random":  # the start store by what its data are, not where it lies (the cache may move)
        key["start"] = {"store": _store.data_identity(params.start)}
    if prefix is None:
        del key["prefix_levels"]
    else:
        key["prefix_model_id"] = model_id(prefix)
    return key


def sampling_plan(model: torch.nn.Module, n_up: int, target: DreamTarget | None = None):
    """What the samplers draw with: ``(model or per-level models, LevelPlan or None)``.

    A :class:`~dreamrg.conditioned.ConditionedUpscaler` needs a ``target`` (the coupling of
    the last level and the schedule); level ℓ is then drawn with ``model.at(t_used[ℓ − 1])``
    of :func:`dreamrg.conditioned.plan_levels` (requested couplings clipped to the trained
    range). Any other model refuses a target. ValueError for either mismatch.
    """
    if isinstance(model, ConditionedUpscaler):
        if target is None:
            raise ValueError("a temperature-conditioned model needs the coupling K to dream at (a target)")
        plan = plan_levels(model, target.K, n_up, target.schedule, target.y_t)
        return [model.at(t) for t in plan.t_used], plan
    if target is not None:
        raise ValueError(f"a {type(model).__name__} is not temperature-conditioned: it dreams at the coupling it was "
                         "trained at and takes no target coupling K")
    return model, None


def _tables(model, n_up: int):
    """Per-run tables: the table sampler's thresholds or the two-layer offset tables (None for torch)."""
    from dreamrg import sampler

    kind = sampler_name(model)
    if kind == "table":
        return sampler.level_thresholds(model, n_up)
    return sampler.two_layer_tables(model) if kind == "two-layer" else None


def ensemble_device(model: torch.nn.Module, device: str | torch.device | None = "cpu") -> str | None:
    """The device an ensemble of ``model`` records: None when it makes no difference to the chains
    (the CPU, or a table sampler, which ignores the device), else the device type (checked)."""
    tag = device_tag(device)
    return tag if sampler_name(model) == "torch" else None


def _draw(model, n: int, n_up: int, ss: np.random.SeedSequence, L0: int, start, tables,
          device: str | torch.device | None = "cpu"):
    """``n_up`` upscalings of ``n`` chains with one model (or one per level), with its sampler."""
    from dreamrg import sampler

    kind = sampler_name(model)
    if kind == "table":
        return sampler.dream_batch(model, n, n_up, ss, L0=L0, start=start, thresholds=tables)
    if kind == "two-layer":
        return sampler.dream_batch_two_layer(model, n, n_up, ss, L0=L0, start=start, tables=tables)
    gen = torch.Generator().manual_seed(int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1)))
    with torch.no_grad():
        import copy

        dev = resolve_device(device)
        m32 = ([copy.deepcopy(m).float().to(dev) for m in model] if isinstance(model, list)
               else copy.deepcopy(model).float().to(dev))
        return sampler.dream_batch_torch(m32, n, n_up, gen, L0=L0, start=start)


def _batch(model, params: DreamParams, n: int, index: int, start_store, tables=None, prefix=None,
           prefix_tables=None, device: str | torch.device | None = "cpu") -> Any:
    """One batch; ``model`` is a model or one model per level (:func:`sampling_plan`).

    With ``params.prefix_levels = N`` the batch's SeedSequence is spawned into two: the first
    stream draws levels 1..N with ``prefix``, the second levels N+1..n_up with ``model``.
    """
    from dreamrg.sampler import DreamBatch

    ss = np.random.SeedSequence(params.seed, spawn_key=(index,))
    start = None
    if start_store is not None:
        lo = index * params.batch_size
        start = start_store.read(lo, lo + n)
    N = params.prefix_levels
    if N == 0:
        return _draw(model, n, params.n_up, ss, params.L0, start, tables, device)
    ss_prefix, ss_main = ss.spawn(2)
    a = _draw(prefix, n, N, ss_prefix, params.L0, start, prefix_tables, device)
    b = _draw(model, n, params.n_up - N, ss_main, params.L0 * 2**N, a.final, tables, device)
    return DreamBatch(b.final, np.concatenate([a.M, b.M[:, 1:]], axis=1), np.concatenate([a.E, b.E[:, 1:]], axis=1),
                      params.sizes)


def _all_tables(sampling, params: DreamParams, prefix):
    """Tables of the main model (for the levels it draws) and of the prefix."""
    N = params.prefix_levels
    return _tables(sampling, params.n_up - N), (_tables(prefix, N) if N else None)


def _per_spin(sampling, prefix) -> int:
    # int8 levels; + int64 codes and float64 logits; float32 torch tensors
    cost = {"table": 3, "two-layer": 19, "torch": 24}
    return max(cost[sampler_name(sampling)], cost[sampler_name(prefix)] if prefix is not None else 0)


def run(model: torch.nn.Module, params: DreamParams, n_configs: int, out: str | os.PathLike, *,
        target: DreamTarget | None = None, progress: bool | None = None, max_bytes: int = 2**31,
        device: str | torch.device | None = "cpu", client=None, prefix: torch.nn.Module | None = None) -> Ensemble:
    """Dream ``n_configs`` chains into the ensemble at ``out`` (resuming if it exists).

    An ensemble that already holds ``n_configs`` chains or more is left as it is
    (its ``count`` tells how many it holds): nothing is dreamed and nothing removed.

    A temperature-conditioned model needs ``target`` (:class:`dreamrg.conditioned.DreamTarget`:
    the coupling K of the last level and the schedule); every other model refuses one. The
    ensemble's metadata then hold the :class:`~dreamrg.conditioned.LevelPlan` under
    ``"conditioning"`` (K, schedule, requested and used t of every level; levels outside
    the trained range use the model at the nearest trained coupling).

    ``device``: where the torch sampler runs (see the module notes); a device this
    machine lacks is refused before anything is written.

    With a Dask ``client`` (:func:`dreamrg._cluster.connect`) every missing batch
    is a task (:func:`dream_batch_into`): the worker dreams it from its own seeds
    and writes it, with its record, straight to ``out`` (storage the workers
    share); this process, the coordinator, reads each record as its task
    finishes, writes ``count`` and shows the progress. Same bytes as in process.

    ``prefix`` (with ``params.prefix_levels ≥ 1``): the model that draws the first
    ``prefix_levels`` upscalings (:func:`check_prefix`). The metadata then hold
    ``prefix_levels``, ``prefix_model_id`` and ``prefix_model_class``, and ``level_models``
    names the model id of every upscaling (the identity checked on resuming includes the prefix).
    """
    from tqdm import tqdm

    tag = ensemble_device(model, device)  # checks the device first
    n_configs = _store.check_count(n_configs)
    key = dream_key(model, params, prefix)
    sampling, plan = sampling_plan(model, params.n_up, target)
    L = params.sizes[-1]
    per_spin = _per_spin(sampling, prefix)
    batch = min(params.batch_size, n_configs)  # the largest batch this run dreams
    need = batch * L * L * per_spin
    if need > max_bytes:
        raise ValueError(f"a batch of {batch} chains at L={L} needs ~{need / 2**30:.1f} GiB "
                         f"(limit {max_bytes / 2**30:.1f} GiB); lower batch_size or n_up")
    start_store = None
    if params.start != "random":
        start_store = _store.open_store(params.start)
        if start_store.L != params.L0:
            raise ValueError(f"start store {params.start} has L={start_store.L}, but L0={params.L0}")
        if start_store.count < n_configs:
            raise ValueError(f"start store {params.start} holds {start_store.count} configurations; "
                             f"{n_configs} chains need one each")
    meta = key | {"model_class": type(model).__name__, "sizes": params.sizes}
    if start_store is not None:
        meta["start_store"] = str(params.start)  # where it was read from (not part of the identity: "start")
    if prefix is not None:
        N = params.prefix_levels
        meta |= {"prefix_model_class": type(prefix).__name__,
                 "level_models": [key["prefix_model_id"]] * N + [key["model_id"]] * (params.n_up - N)}
    if plan is not None:
        meta["conditioning"] = plan.to_dict()
        # the levels clipped to the trained range, in words (not part of the identity: wording may change)
        meta["conditioning_warnings"] = plan.warnings(params.L0)
    if client is not None and prefix is not None:
        raise ValueError("a prefix model and a Dask client: dream with a small-lattice prefix in process "
                         "(no scheduler)")
    if tag is not None:
        if client is not None:
            raise ValueError(f"device {tag!r} and a Dask client: the workers dream the torch sampler on their "
                             "CPUs; dream on a GPU in process (no scheduler), or on the CPU with the scheduler")
        meta["device"] = tag
    with _store.writer_lock(out, "dreamed ensemble"):
        ens = create_ensemble(out, meta)
        if ens.count >= n_configs:
            return ens
        B = params.batch_size
        todo = ens.missing_batches(n_configs)  # only these: batches beyond a gap are kept
        sizes = {j: min(B, n_configs - j * B) for j in todo}
        with tqdm(total=n_configs, initial=n_configs - sum(sizes.values()), disable=_no_bar(progress),
                  unit="chain", desc=f"dream L={params.L0}→{L}" + (" (Dask)" if client is not None else "")) as bar:
            if client is not None:
                _dream_on(client, model, target, params, ens, sizes, bar)
                return ens
            tables, prefix_tables = _all_tables(sampling, params, prefix)
            for j in todo:
                res = _batch(sampling, params, sizes[j], j, start_store, tables, prefix, prefix_tables, device)
                ens.write_batch(j, res.M, res.E, res.final if params.save_configs else None)
                bar.update(sizes[j])
    return ens


def _dream_on(client, model: torch.nn.Module, target: DreamTarget | None, params: DreamParams, ens: Ensemble,
              sizes: dict[int, int], bar) -> None:
    """The batches ``sizes`` (index: chains) of :func:`run` as Dask tasks, ``ens`` open as their coordinator."""
    from dreamrg._cluster import map_units

    path = str(Path(ens.path).resolve())
    todo = sorted(sizes)

    def done(i: int, _wrote: bool) -> None:
        j = todo[i]
        if (ens.recorded(j) or 0) < sizes[j]:  # the worker's record: this process learns of the batch
            raise EnsembleError(f"{ens.path}: a worker finished batch {j} but its completion record is missing; "
                                f"is {path} on storage the workers share?")
        ens.sync_count()
        bar.update(sizes[j])

    map_units(dream_batch_into, [(model, target, params, path, j, sizes[j]) for j in todo], client=client,
              name="dream", on_result=done)


#: the per-run sampler tables of the last (model, target, n_up) a worker dreamed with: [key, (sampling, tables)]
_WORKER_TABLES: list = [None, None]


def dream_batch_into(unit: tuple) -> bool:
    """Dream batch ``j`` (``n`` chains) and write it to the ensemble at ``path``, unless it is recorded already.

    ``unit = (model, target, params, path, j, n)``: the unit of work of a distributed
    :func:`run`. The ensemble must exist with these parameters and this model
    (created by the coordinator); it is opened as a worker (mode ``"chunks"``),
    so only the batch's chunk files and its record are written. Safe to repeat
    (a retried task writes nothing or the same bytes). Returns whether it wrote.
    """
    model, target, params, path, j, n = unit
    ens = open_ensemble(path, mode="chunks")
    mid = model_id(model)
    want = dream_key(model, params)
    diff = {k: (ens.meta.get(k), v) for k, v in want.items() if ens.meta.get(k) != v}
    if diff:
        raise EnsembleError(f"{path} holds an ensemble of other parameters or another model ({diff})")
    if (ens.recorded(j) or 0) >= n:
        return False
    key = (mid, repr(target), params.n_up)
    if _WORKER_TABLES[0] != key:  # the tables are costly (two-layer k = 7): once per run and worker
        sampling, _ = sampling_plan(model, params.n_up, target)
        _WORKER_TABLES[:] = [key, (sampling, _tables(sampling, params.n_up))]
    sampling, tables = _WORKER_TABLES[1]
    start_store = _store.open_store(params.start) if params.start != "random" else None
    res = _batch(sampling, params, n, j, start_store, tables)
    return ens.write_batch(j, res.M, res.E, res.final if params.save_configs else None)


def chain_levels(model: torch.nn.Module, n_up: int, seed: int) -> list[np.ndarray]:
    """One chain from a single random spin, every level kept (for pictures): list of (L, L) int8."""
    ss = np.random.SeedSequence(seed)
    gen = torch.Generator().manual_seed(int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1)))
    s = torch.where(torch.rand((1, 1, 1), generator=gen) < 0.5, 1, -1).to(torch.int8)
    levels = [s[0].numpy()]
    with torch.no_grad():
        for _ in range(n_up):
            s = model.sample(s, gen)
            levels.append(s[0].numpy().copy())
    return levels


def iter_final_batches(model: torch.nn.Module, params: DreamParams, n_configs: int,
                       target: DreamTarget | None = None, prefix: torch.nn.Module | None = None, *,
                       device: str | torch.device | None = "cpu"):
    """Yield the final-level configurations batch by batch (int8, (b, L, L)), never storing them.

    Uses the same per-batch seeds as :func:`run`, so these are exactly the
    configurations whose M and E an ensemble with the same parameters (``prefix`` and device) records.
    """
    ensemble_device(model, device)  # checks the device before any work
    check_prefix(model, params, prefix)
    sampling, _ = sampling_plan(model, params.n_up, target)
    start_store = _store.open_store(params.start) if params.start != "random" else None
    tables, prefix_tables = _all_tables(sampling, params, prefix)
    B = params.batch_size
    for j in range(-(-n_configs // B)):
        yield _batch(sampling, params, min(B, n_configs - j * B), j, start_store, tables, prefix, prefix_tables,
                     device).final


def iter_parent_child_batches(model: torch.nn.Module, params: DreamParams, n_configs: int):
    """Yield pairs ``(parent, child)`` of dreamed configurations, batch by batch, never storing them.

    ``parent`` (int8, ``(b, L/2, L/2)``) is dreamed from one spin with ``n_up - 1``
    upscalings; ``child`` (``(b, L, L)``) is one more upscaling of it by the same model,
    so ``child`` is distributed as a final configuration of ``params`` and ``parent`` is
    the lattice it was drawn from. The streams (per batch ``j``:
    ``SeedSequence(seed, spawn_key=(j,))`` spawned into two) differ from those of
    :func:`run`, so these are other chains than an ensemble's. Only a random start (``L0 = 1``).
    """
    from dreamrg import sampler

    if params.start != "random" or params.n_up < 2 or params.prefix_levels:
        raise ValueError("parent and child need a random start (L0 = 1), n_up ≥ 2 and no prefix model")
    kind = sampler_name(model)
    if kind not in ("table", "two-layer"):
        raise ValueError(f"parent and child batches need the table or two-layer sampler; this model uses {kind!r}")
    draw = sampler.dream_batch if kind == "table" else sampler.dream_batch_two_layer
    extra = {"tables": sampler.two_layer_tables(model)} if kind == "two-layer" else {}
    B = params.batch_size
    for j in range(-(-n_configs // B)):
        n = min(B, n_configs - j * B)
        ss_parent, ss_child = np.random.SeedSequence(params.seed, spawn_key=(j,)).spawn(2)
        parent = draw(model, n, params.n_up - 1, ss_parent, **extra).final
        child = draw(model, n, 1, ss_child, L0=parent.shape[1], start=parent, **extra).final
        yield parent, child
