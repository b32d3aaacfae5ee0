"""Dreamed ensembles on disk: per-level M and E of every chain (and optionally the final configurations).

The storage side of :mod:`dreamrg.dream` (whose module docstring describes the layout):
:class:`Ensemble`, :func:`create_ensemble`, :func:`open_ensemble`, :func:`is_ensemble`,
:func:`verify_ensemble` and their errors. Batches are committed in any order by one
or many writers, each with its checksummed completion record (:mod:`dreamrg._integrity`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from dreamrg import _integrity
from dreamrg import store as _store
from dreamrg._version import __version__

#: metadata that must match when an ensemble is resumed; "conditioning" (the :class:`dreamrg.conditioned.LevelPlan`
#: of a temperature-conditioned model) is present only in ensembles of such models
IDENTITY = ("model_id", "n_up", "L0", "seed", "batch_size", "start", "save_configs", "conditioning", "device",
            "prefix_levels", "prefix_model_id")


class EnsembleError(ValueError):
    """An ensemble cannot be created, resumed or read as asked."""


class EnsembleChunkError(EnsembleError, _store.ChunkError):
    """An ensemble's data or metadata are damaged (``problems`` as in :class:`dreamrg.store.ChunkError`)."""


#: how ensembles name themselves in messages, and their errors
_NODE = _integrity.Node("ensemble", "chains", "batch", "batches", EnsembleError, EnsembleChunkError)


class Ensemble:
    """An open dreamed ensemble (see the module docstring for the layout)."""

    def __init__(self, group: zarr.Group, path: Path, blocks: _integrity.Blocks, mode: str = "r"):
        self._group = group
        self._blocks = blocks
        self.path = path
        self.mode = mode

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self._group.attrs)

    @property
    def count(self) -> int:
        """Number of committed chains (the longest prefix of recorded batches)."""
        return self._blocks.count

    @property
    def sizes(self) -> list[int]:
        return list(self._group.attrs["sizes"])

    def _read(self, names: tuple[str, ...], start: int, stop: int) -> dict[str, np.ndarray]:
        try:
            return self._blocks.read(names, start, stop)
        except _integrity.Damaged as d:
            raise _NODE.damaged(d.problem) from None

    def series(self, L: int, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-chain (m, e) at size ``L`` (float64), chains ``0:stop``."""
        if L not in self.sizes:
            raise EnsembleError(f"size {L} not in this ensemble; sizes: {self.sizes}")
        i = self.sizes.index(L)
        n = self.count if stop is None else min(stop, self.count)
        me = self._read(("M", "E"), 0, n)
        return me["M"][:, i] / L**2, me["E"][:, i] / L**2

    def configs(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        if "configs" not in self._blocks.arrays:
            raise EnsembleError(f"{self.path} does not hold configurations (dream with save_configs)")
        stop = self.count if stop is None else min(stop, self.count)
        start = min(start, stop)
        return _store.unpack(self._read(("configs",), start, stop)["configs"], self.sizes[-1])

    def write_batch(self, index: int, M: np.ndarray, E: np.ndarray, final: np.ndarray | None) -> bool:
        """Write batch ``index`` and its record, in any order (False: recorded already with these data)."""
        if self.mode == "r":
            raise EnsembleError(f"{self.path} is open read-only")
        parts = {"M": M, "E": E}
        if "configs" in self._blocks.arrays:
            parts["configs"] = _store.pack(final)
        try:
            wrote = self._blocks.commit(index, parts, "batch")
        except _integrity.Damaged as d:
            raise _NODE.damaged(d.problem) from None
        except ValueError as err:
            raise EnsembleError(str(err)) from None
        if self.mode == "r+":
            _integrity.sync_count(self._group.attrs, self._blocks)
        return wrote

    def missing_batches(self, n: int) -> list[int]:
        """Batches that chains ``0:n`` need and that are not recorded in full (records as known now)."""
        return self._blocks.missing(int(n))

    def recorded(self, index: int, refresh: bool = True) -> int | None:
        """Chains recorded in batch ``index``, or None; ``refresh``: re-read its record from disk now."""
        try:
            rec = self._blocks.refresh(index) if refresh else self._blocks.records.get(index)
        except _integrity.Damaged as d:
            raise _NODE.damaged(d.problem) from None
        return None if rec is None else rec.rows

    def sync_count(self) -> int:
        """Write the committed count, as this process knows it, into the attributes (coordinator only)."""
        if self.mode != "r+":
            raise EnsembleError(f"{self.path}: only the run's coordinator (mode 'r+') writes the attributes")
        return _integrity.sync_count(self._group.attrs, self._blocks)


def is_ensemble(path: str | os.PathLike) -> bool:
    p = Path(path) / "zarr.json"
    if not p.is_file():
        return False
    try:
        doc = json.loads(p.read_text())
    except (OSError, ValueError):
        return False
    return (isinstance(doc, dict) and doc.get("node_type") == "group"
            and isinstance(doc.get("attributes"), dict) and doc["attributes"].get("kind") == "dream-ensemble")


_DIGEST_KEYS = IDENTITY + ("sizes", "model_class")


def _inspect(path: Path, mode: str):
    """Open the group and its records and cross-check them; problems are returned, not raised."""
    meta_file = str(path / "zarr.json")

    def problem(detail: str, kind: str = "metadata", start: int = 0, stop: int = 0):
        return [_integrity.Problem(meta_file, start, stop, kind, detail)]

    try:
        group = zarr.open_group(str(path), mode="r" if mode == "r" else "r+")
    except Exception as err:  # noqa: BLE001 - zarr raises many types for an unreadable zarr.json
        raise EnsembleError(f"cannot open {path} as a zarr group: {type(err).__name__}: {err}") from None
    attrs = dict(group.attrs)
    if "integrity" not in attrs:
        return group, None, problem(
            f"{path} was written by dreamrg {attrs.get('dreamrg_version', '?')} without per-batch checksums "
            "(ensemble format 1), so its data cannot be verified; regenerate it: re-run the same 'dreamrg dream' "
            "command with a new --out (the same seed gives the same chains), or delete it if it is a cache "
            "entry (it is rebuilt on demand)", "format")
    if attrs["integrity"].get("format") != _integrity.FORMAT["format"]:
        return group, None, problem(f"ensemble format {attrs['integrity'].get('format')!r} is not known to this "
                                    f"dreamrg (it reads format {_integrity.FORMAT['format']})", "format")
    n_up, L0, B, sizes = (attrs.get(k) for k in ("n_up", "L0", "batch_size", "sizes"))
    if not all(isinstance(v, int) and v >= 1 for v in (n_up, L0, B)):
        return group, None, problem(f"n_up={n_up!r}, L0={L0!r} and batch_size={B!r} must be positive integers")
    want = [L0 * 2**i for i in range(n_up + 1)]
    if sizes != want:
        return group, None, problem(f"sizes={sizes!r} does not match L0={L0} and n_up={n_up} (expected {want})")
    names = ("M", "E", "configs") if attrs.get("save_configs") else ("M", "E")
    arrays = {}
    for name in names:
        if name not in group:
            return group, None, problem(f"array '{name}' is missing (save_configs={attrs.get('save_configs')!r})")
        a = group[name]
        L = sizes[-1]
        shape, chunks, dtype = (((len(sizes),), (B, len(sizes)), np.int64) if name != "configs" else
                                ((L, _store.packed_width(L)), (B, L, _store.packed_width(L)), np.uint8))
        if tuple(a.shape[1:]) != shape or tuple(a.chunks) != chunks or a.dtype != dtype:
            return group, None, problem(f"array '{name}' (dtype {a.dtype}, shape {a.shape}, chunks {a.chunks}) does "
                                        f"not match sizes {sizes} and batch_size {B} (expected {np.dtype(dtype)}, "
                                        f"(n, {', '.join(map(str, shape))}), chunks {chunks})")
        arrays[name] = a.with_config({"write_empty_chunks": True}) if mode != "r" else a
    if "configs" in group and "configs" not in arrays:
        return group, None, problem("holds configurations but save_configs is false")
    blocks = _integrity.Blocks(path, B, arrays, _integrity.digest({k: attrs[k] for k in _DIGEST_KEYS if k in attrs}))
    if mode == "chunks":
        return group, blocks, []  # a worker reads the records it needs, one at a time
    return group, blocks, _NODE.check_records(blocks, attrs.get("count"), meta_file)


def open_ensemble(path: str | os.PathLike, mode: str = "r") -> Ensemble:
    """Open a dreamed ensemble, its metadata and completion records cross-checked (see the module docstring).

    ``mode``: ``"r"``, ``"r+"`` (a run's coordinator) or ``"chunks"`` (a worker), as for
    :func:`dreamrg.store.open_store`.
    """
    _integrity.check_mode(mode)
    path = Path(path)
    if not is_ensemble(path):
        raise EnsembleError(f"{path} is not a dreamed ensemble")
    group, blocks, problems = _inspect(path, mode)
    _NODE.refuse(path, problems)
    if mode == "chunks" and any(a.shape[0] < _integrity.ROWS for a in blocks.arrays.values()):
        raise EnsembleError(f"{path} was not prepared for workers; open it for appending (mode 'r+') in the "
                            "coordinating process first")
    ens = Ensemble(group, path, blocks, mode)
    if mode == "r+":
        _integrity.coordinate(group.attrs, blocks)
    return ens


def verify_ensemble(path: str | os.PathLike) -> _integrity.Report:
    """Check every batch of an ensemble against its record; problems are listed, not raised."""
    path = Path(path)
    if not is_ensemble(path):
        raise EnsembleError(f"{path} is not a dreamed ensemble")
    _, blocks, problems = _inspect(path, "r")
    return _NODE.report(path, blocks, problems)


def create_ensemble(path: str | os.PathLike, meta: dict[str, Any]) -> Ensemble:
    from zarr.codecs import ZstdCodec

    path = Path(path)
    if path.exists():
        if is_ensemble(path):
            old = open_ensemble(path).meta
            diff = {k: (old.get(k), meta.get(k)) for k in IDENTITY if old.get(k) != meta.get(k)}
            if diff:
                desc = "; ".join(f"{k}: stored {a!r}, requested {b!r}" for k, (a, b) in diff.items())
                raise EnsembleError(f"{path} holds an ensemble with different metadata ({desc})")
            _store._check_writable(path)
            return open_ensemble(path, mode="r+")
        if not (path.is_dir() and not any(path.iterdir())):
            raise EnsembleError(f"{path} exists and is not a dreamed ensemble; refusing to overwrite it")
    _store._check_writable(path)
    attrs = dict(meta) | {"kind": "dream-ensemble", "count": 0, "dreamrg_version": __version__,
                          "integrity": dict(_integrity.FORMAT)}
    group = zarr.open_group(os.path.realpath(path), mode="w", attributes=attrs)  # a dangling symlink: its target
    levels = len(meta["sizes"])
    B = int(meta["batch_size"])
    opts = {"compressors": ZstdCodec(level=0, checksum=True), "config": {"write_empty_chunks": True}}
    rows = _integrity.ROWS  # never resized (see the commit protocol of dreamrg._integrity)
    arrays = {name: group.create_array(name, shape=(rows, levels), chunks=(B, levels), dtype="int64", **opts)
              for name in ("M", "E")}
    if meta["save_configs"]:
        L = meta["sizes"][-1]
        arrays["configs"] = group.create_array("configs", shape=(rows, L, _store.packed_width(L)),
                                               chunks=(B, L, _store.packed_width(L)), dtype="uint8", **opts)
    blocks = _integrity.Blocks(path, B, arrays, _integrity.digest({k: attrs[k] for k in _DIGEST_KEYS if k in attrs}))
    return Ensemble(group, path, blocks, "r+")
