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

Kernels wider than the lattice (k = 5, 7 at L = 2, 4) act on the torus with
periodic wrap-around, as everywhere in dreamrg (see :mod:`dreamrg.models`): the
same model is used at every level. (The authors instead start their k = 5, 7
generators with their k = 3 model; the difference only concerns the first two
upscalings.)

Storage
-------
An ensemble is a zarr v3 group: arrays ``M`` and ``E`` (int64, shape
``(n, n_up+1)``) chunked by batch, optionally ``configs`` (the final level,
bit-packed as in :mod:`dreamrg.store`), and group attributes with the metadata and
the committed ``count``. Appends follow the same resize-write-commit protocol as
configuration stores, so a killed run leaves whole batches only.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import zarr

from dreamrg import store as _store
from dreamrg._progress import _no_bar
from dreamrg._version import __version__

IDENTITY = ("model_id", "n_up", "L0", "seed", "batch_size", "start", "save_configs")


class EnsembleError(ValueError):
    """An ensemble cannot be created, resumed or read as asked."""


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
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().double().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def sampler_name(model: torch.nn.Module) -> str:
    """Which sampler dreams ``model``: ``"table"``, ``"two-layer"`` (offset tables) or ``"torch"``."""
    from dreamrg import patches, sampler
    from dreamrg.models import TwoLayerUpscaler

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
    """

    n_up: int = 7
    L0: int = 1
    seed: int = 0
    batch_size: int = 4096
    start: str = "random"
    save_configs: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.n_up, (int, np.integer)) or self.n_up < 1:
            raise ValueError(f"n_up must be an integer ≥ 1; got {self.n_up!r}")
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


class Ensemble:
    """An open dreamed ensemble (see the module docstring for the layout)."""

    def __init__(self, group: zarr.Group, path: Path):
        self._group = group
        self.path = path

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self._group.attrs)

    @property
    def count(self) -> int:
        return int(self._group.attrs["count"])

    @property
    def sizes(self) -> list[int]:
        return list(self._group.attrs["sizes"])

    def series(self, L: int, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-chain (m, e) at size ``L`` (float64), chains ``0:stop``."""
        if L not in self.sizes:
            raise EnsembleError(f"size {L} not in this ensemble; sizes: {self.sizes}")
        i = self.sizes.index(L)
        n = self.count if stop is None else min(stop, self.count)
        return (np.asarray(self._group["M"][:n, i]) / L**2, np.asarray(self._group["E"][:n, i]) / L**2)

    def configs(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        if "configs" not in self._group:
            raise EnsembleError(f"{self.path} does not hold configurations (dream with save_configs)")
        stop = self.count if stop is None else min(stop, self.count)
        return _store.unpack(np.asarray(self._group["configs"][start:stop]), self.sizes[-1])

    def write_batch(self, index: int, M: np.ndarray, E: np.ndarray, final: np.ndarray | None) -> None:
        parts = [(self._group["M"], M), (self._group["E"], E)]
        if "configs" in self._group:
            parts.append((self._group["configs"], _store.pack(final)))
        _store.commit_block(self._group.attrs, index, int(self._group.attrs["batch_size"]), parts, "batch")


def is_ensemble(path: str | os.PathLike) -> bool:
    p = Path(path) / "zarr.json"
    if not p.is_file():
        return False
    doc = json.loads(p.read_text())
    return doc.get("node_type") == "group" and doc.get("attributes", {}).get("kind") == "dream-ensemble"


def open_ensemble(path: str | os.PathLike, mode: str = "r") -> Ensemble:
    path = Path(path)
    if not is_ensemble(path):
        raise EnsembleError(f"{path} is not a dreamed ensemble")
    group = zarr.open_group(str(path), mode=mode)
    ens = Ensemble(group, path)
    if mode != "r":
        _store.truncate_to_count([group[name] for name in ("M", "E", "configs") if name in group], ens.count)
    return ens


def create_ensemble(path: str | os.PathLike, meta: dict[str, Any]) -> Ensemble:
    path = Path(path)
    if path.exists():
        if is_ensemble(path):
            old = open_ensemble(path).meta
            diff = {k: (old.get(k), meta[k]) for k in IDENTITY if old.get(k) != meta[k]}
            if diff:
                desc = "; ".join(f"{k}: stored {a!r}, requested {b!r}" for k, (a, b) in diff.items())
                raise EnsembleError(f"{path} holds an ensemble with different metadata ({desc})")
            _store._check_writable(path)
            return open_ensemble(path, mode="r+")
        if not (path.is_dir() and not any(path.iterdir())):
            raise EnsembleError(f"{path} exists and is not a dreamed ensemble; refusing to overwrite it")
    _store._check_writable(path)
    attrs = dict(meta) | {"kind": "dream-ensemble", "count": 0, "dreamrg_version": __version__}
    group = zarr.open_group(str(path), mode="w", attributes=attrs)
    levels = len(meta["sizes"])
    B = int(meta["batch_size"])
    for name in ("M", "E"):
        group.create_array(name, shape=(0, levels), chunks=(B, levels), dtype="int64")
    if meta["save_configs"]:
        L = meta["sizes"][-1]
        group.create_array("configs", shape=(0, L, _store.packed_width(L)),
                           chunks=(min(B, 1024), L, _store.packed_width(L)), dtype="uint8")
    return Ensemble(group, path)


def _tables(model: torch.nn.Module):
    """The two-layer sampler's offset tables, computed once per run (None for the other samplers)."""
    from dreamrg import sampler

    return sampler.two_layer_tables(model) if sampler_name(model) == "two-layer" else None


def _batch(model: torch.nn.Module, params: DreamParams, n: int, index: int, start_store, tables=None) -> Any:
    from dreamrg import sampler

    ss = np.random.SeedSequence(params.seed, spawn_key=(index,))
    start = None
    if start_store is not None:
        lo = index * params.batch_size
        start = start_store.read(lo, lo + n)
    kind = sampler_name(model)
    if kind == "table":
        return sampler.dream_batch(model, n, params.n_up, ss, L0=params.L0, start=start)
    if kind == "two-layer":
        return sampler.dream_batch_two_layer(model, n, params.n_up, ss, L0=params.L0, start=start, tables=tables)
    gen = torch.Generator().manual_seed(int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1)))
    with torch.no_grad():
        import copy

        return sampler.dream_batch_torch(copy.deepcopy(model).float(), n, params.n_up, gen, L0=params.L0,
                                         start=start)


def run(model: torch.nn.Module, params: DreamParams, n_configs: int, out: str | os.PathLike, *,
        progress: bool | None = None, max_bytes: int = 2**31) -> Ensemble:
    """Dream ``n_configs`` chains into the ensemble at ``out`` (resuming if it exists)."""
    from tqdm import tqdm

    if not isinstance(n_configs, (int, np.integer)) or n_configs < 1:
        raise ValueError(f"n_configs must be an integer ≥ 1; got {n_configs!r}")
    L = params.sizes[-1]
    # int8 levels; + int64 codes and float64 logits; float32 torch tensors
    per_spin = {"table": 3, "two-layer": 19, "torch": 24}[sampler_name(model)]
    need = params.batch_size * L * L * per_spin
    if need > max_bytes:
        raise ValueError(f"a batch of {params.batch_size} chains at L={L} needs ~{need / 2**30:.1f} GiB "
                         f"(limit {max_bytes / 2**30:.1f} GiB); lower batch_size or n_up")
    start_store = None
    if params.start != "random":
        start_store = _store.open_store(params.start)
        if start_store.L != params.L0:
            raise ValueError(f"start store {params.start} has L={start_store.L}, but L0={params.L0}")
        if start_store.count < n_configs:
            raise ValueError(f"start store {params.start} holds {start_store.count} configurations; "
                             f"{n_configs} chains need one each")
    meta = asdict(params) | {"model_id": model_id(model), "model_class": type(model).__name__,
                             "sizes": params.sizes}
    with _store.writer_lock(out, "dreamed ensemble"):
        ens = create_ensemble(out, meta)
        tables = _tables(model)
        B = params.batch_size
        first = ens.count // B
        last = math.ceil(n_configs / B)
        with tqdm(total=n_configs, initial=min(first * B, n_configs), disable=_no_bar(progress), unit="chain",
                  desc=f"dream L={params.L0}→{L}") as bar:
            for j in range(first, last):
                n = min(B, n_configs - j * B)
                res = _batch(model, params, n, j, start_store, tables)
                ens.write_batch(j, res.M, res.E, res.final if params.save_configs else None)
                bar.update(n)
    return ens


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


def iter_final_batches(model: torch.nn.Module, params: DreamParams, n_configs: int):
    """Yield the final-level configurations batch by batch (int8, (b, L, L)), never storing them.

    Uses the same per-batch seeds as :func:`run`, so these are exactly the
    configurations whose M and E an ensemble with the same parameters records.
    """
    start_store = _store.open_store(params.start) if params.start != "random" else None
    tables = _tables(model)
    B = params.batch_size
    for j in range(math.ceil(n_configs / B)):
        yield _batch(model, params, min(B, n_configs - j * B), j, start_store, tables).final
