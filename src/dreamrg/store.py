"""Bit-packed, chunked, appendable storage of spin configurations (zarr v3), every chunk checksummed.

Layout
------
A store is a zarr v3 array of ``uint8`` with shape ``(n, L, ceil(L/8))``:
each row of spins is ``numpy.packbits`` of the 0/1 occupation (1 = spin up,
big-endian bit order), one configuration per leading index. The array is
chunked along the first axis by ``chunk_size`` configurations; each chunk is
one zarr file (zstd with its frame checksum), written atomically by zarr's
local store (temporary file and rename).

Metadata live in the array attributes: ``L``, ``K``, ``algorithm``,
``thin``, ``seed``, ``chunk_size``, ``source`` and the ``dreamrg_version``
that created the store, ``integrity`` (the format of the records below) and
``count``, the number of committed configurations.

Integrity and many writers
--------------------------
After chunk ``j`` is written, its completion record ``commits/<j>.json`` is
written atomically beside it, holding the CRC-32 of the chunk's packed bytes
(:mod:`dreamrg._integrity`, which states the commit protocol). Chunks may be
committed in any order, by any number of processes on any machines sharing
the directory: the record is the commit point, the same seeds give the same
bytes, and nothing relies on ``flock``. The committed ``count`` is the longest
prefix of chunks that have records; ``count`` in the attributes is a lower
bound of it, raised by the run's coordinator only. The array is created with
:data:`MAX_COUNT` rows so that no writer resizes it. A process killed anywhere
leaves whole recorded chunks; a chunk written without its record is ignored
and overwritten when it is computed again. Opening cross-checks the metadata
against the array and the records, and every read verifies the chunks it
touches: a missing, truncated or altered chunk raises :class:`ChunkError`
naming the file and the configurations affected (never zarr's fill value).
``dreamrg verify`` checks a whole store. Stores written before the records
existed are refused with a message saying how to regenerate them: their data
cannot be verified.

Three ways to open a store (:func:`open_store`): ``"r"`` reads; ``"r+"`` is a
run's coordinator (it may write ``zarr.json``); ``"chunks"`` is a worker of a
distributed run, which writes chunk files and records only, reads the records
of the chunks it touches on demand and never lists them all.

:func:`writer_lock` keeps two runs on one machine from extending one store at
once (a convenience: an advisory ``flock``, not relied upon for correctness).

Reading is lazy: :meth:`ConfigStore.iter_batches` unpacks one batch at a time,
so a million 128x128 configurations (2 GB packed) never have to be in memory.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from dreamrg import _integrity
from dreamrg._memory import available_bytes, gib
from dreamrg._version import __version__

#: metadata keys that identify what a store contains; a resumed run must match them.
IDENTITY_KEYS: tuple[str, ...] = ("L", "K", "algorithm", "thin", "seed", "chunk_size", "source")
# (MC stores also record n_equil, stream and chains; they are compared too when present)
#: further keys covered by the chunk records' metadata digest when present
_DIGEST_KEYS: tuple[str, ...] = IDENTITY_KEYS + ("n_equil", "stream", "chains", "layout", "bit_order", "up")
#: the most configurations a store (or chains an ensemble) may be asked to hold; every array has this many rows
MAX_COUNT: int = _integrity.ROWS


class StoreError(ValueError):
    """A store cannot be created, opened or extended as asked."""


class ChunkError(StoreError):
    """A store's data or metadata are damaged: a chunk missing, truncated or altered, or records that disagree.

    ``problems`` lists :class:`dreamrg._integrity.Problem` (file, rows, kind).
    """

    def __init__(self, message: str, problems: list | tuple = ()):
        super().__init__(message)
        self.problems = list(problems)


#: how stores name themselves in messages, and their errors
_NODE = _integrity.Node("store", "configurations", "chunk", "chunks", StoreError, ChunkError)


def check_count(n: Any, what: str = "n_configs") -> int:
    """``n`` as an int in 1..:data:`MAX_COUNT`, else one clear :class:`ValueError`."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"{what} must be an integer; got {n!r}")
    if not 1 <= n <= MAX_COUNT:
        shown = str(int(n)) if abs(n) < 10**30 else f"a {len(str(abs(int(n))))}-digit number"
        raise ValueError(f"{what} must be between 1 and {MAX_COUNT} (2**40); got {shown}")
    return int(n)


def packed_width(L: int) -> int:
    """Bytes per packed row of ``L`` spins."""
    return (L + 7) // 8


def pack(spins: np.ndarray) -> np.ndarray:
    """Pack ±1 spins of shape (n, L, L) into uint8 of shape (n, L, ceil(L/8))."""
    spins = np.asarray(spins)
    if spins.ndim != 3 or spins.shape[1] != spins.shape[2]:
        raise StoreError(f"spins must have shape (n, L, L); got {spins.shape}")
    return np.packbits(spins > 0, axis=-1)


def unpack(packed: np.ndarray, L: int) -> np.ndarray:
    """Unpack uint8 (n, L, ceil(L/8)) into int8 ±1 spins of shape (n, L, L)."""
    bits = np.unpackbits(packed, axis=-1, count=L)
    out = bits.view(np.int8)
    out *= 2
    out -= 1
    return out


@contextmanager
def writer_lock(path: str | os.PathLike, what: str = "store") -> Iterator[None]:
    """Hold the exclusive right to extend ``path`` (one writing process at a time).

    An advisory ``flock`` on ``<real path>.lock`` beside the *resolved* path, so
    every spelling of it (symlinks, ``..``) takes the same lock. The file holds
    the writer's pid and is removed when the writer finishes, fails or is
    refused; a writer that locked a file its previous holder has just removed
    tries again on the new one, so removing it opens no race. Readers take no
    lock. A second writer gets one clear :class:`StoreError` at once instead of
    the two processes interleaving their blocks. (A SIGKILLed writer leaves its
    lock file, unheld: the next writer takes it and removes it.)
    """
    import fcntl

    real = Path(os.path.realpath(path))
    lock = real.with_name(real.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 32).decode().strip()
            except OSError:
                holder = ""
            os.close(fd)
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise StoreError(f"{what} {path} is being written by another process{who} (lock {lock}); "
                             "let that run finish or stop it, then run again -- it resumes") from None
        try:
            here, there = os.fstat(fd), os.stat(lock)
            same = (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed this file as we locked it: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        try:
            os.unlink(lock)  # while still holding it (see above)
        except FileNotFoundError:
            pass
        os.close(fd)


class ConfigStore:
    """An open configuration store. Use :func:`open_store` or :func:`create_store`."""

    def __init__(self, array: zarr.Array, path: Path, blocks: _integrity.Blocks, mode: str = "r"):
        self._array = array
        self._blocks = blocks
        self.path = path
        self.mode = mode

    # -- metadata ---------------------------------------------------------------
    @property
    def meta(self) -> dict[str, Any]:
        return dict(self._array.attrs)

    @property
    def L(self) -> int:
        return int(self._array.attrs["L"])

    @property
    def chunk_size(self) -> int:
        return int(self._array.attrs["chunk_size"])

    @property
    def count(self) -> int:
        """Number of committed configurations (the longest prefix of recorded chunks)."""
        return self._blocks.count

    def __len__(self) -> int:
        return self.count

    # -- writing ----------------------------------------------------------------
    def write_chunk(self, index: int, packed: np.ndarray) -> bool:
        """Write chunk ``index`` (configurations ``index*chunk_size`` onwards) and its record; any order.

        A chunk recorded already with the same data is left as it is (returns
        False); a trailing partial chunk may be rewritten longer if it reproduces
        its recorded configurations. Committed data are never shrunk nor
        overwritten by different data. A coordinator (mode ``"r+"``) then raises
        ``count`` in the attributes; a worker (mode ``"chunks"``) never writes them.
        """
        L = self.L
        if self.mode == "r":
            raise StoreError(f"{self.path} is open read-only")
        if packed.dtype != np.uint8 or packed.ndim != 3 or packed.shape[1:] != (L, packed_width(L)):
            raise StoreError(f"chunk must be uint8 of shape (n, {L}, {packed_width(L)}); "
                             f"got {packed.dtype} {packed.shape}")
        try:
            wrote = self._blocks.commit(index, {"configs": packed}, "chunk")
        except _integrity.Damaged as d:
            raise _NODE.damaged(d.problem) from None
        except ValueError as err:
            raise StoreError(str(err)) from None
        if self.mode == "r+":
            self.sync_count()
        return wrote

    def missing_chunks(self, n: int) -> list[int]:
        """Chunks that configurations ``0:n`` need and that are not recorded in full (records as known now)."""
        return self._blocks.missing(int(n))

    def recorded(self, index: int, refresh: bool = True) -> tuple[int, int] | None:
        """(rows, CRC-32) of chunk ``index`` as recorded, or None.

        ``refresh``: re-read that record from disk now (another process may have
        written it); else as known since the store was opened or last written.
        """
        if not refresh:
            rec = self._blocks.records.get(index)
            return None if rec is None else (rec.rows, rec.crc32["configs"])
        try:
            rec = self._blocks.refresh(index)
        except _integrity.Damaged as d:
            raise _NODE.damaged(d.problem) from None
        return None if rec is None else (rec.rows, rec.crc32["configs"])

    def sync_count(self) -> int:
        """Write the committed count, as this process knows it, into the attributes (coordinator only).

        A coordinator whose workers committed chunks learns of them with
        :meth:`recorded` (one record each: no directory listing, which NFS may
        serve stale) or :meth:`reload`, then calls this.
        """
        if self.mode != "r+":
            raise StoreError(f"{self.path}: only the run's coordinator (mode 'r+') writes the attributes")
        return _integrity.sync_count(self._array.attrs, self._blocks)

    def reload(self) -> None:
        """Re-read every record (chunks other processes committed since this store was opened)."""
        self._blocks.load()
        problems = self._blocks.problems
        if problems:
            raise ChunkError(f"damaged store: {problems[0].message()}", problems)

    def add_seconds(self, seconds: float, configs: int) -> None:
        """Accumulate the wall time spent producing ``configs`` configurations (metadata; coordinator only)."""
        if self.mode != "r+":
            raise StoreError(f"{self.path}: only the run's coordinator (mode 'r+') writes the attributes")
        attrs = self._array.attrs
        attrs.update({"seconds_sampling": float(attrs.get("seconds_sampling", 0.0)) + seconds,
                      "configs_timed": int(attrs.get("configs_timed", 0)) + int(configs)})

    # -- reading ----------------------------------------------------------------
    def read_packed(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Packed configurations ``start:stop`` (read-only), every chunk touched checked against its record."""
        start, stop = self._bounds(start, stop)
        try:
            out = self._blocks.read(("configs",), start, stop)["configs"]
        except _integrity.Damaged as d:
            raise _NODE.damaged(d.problem) from None
        out.flags.writeable = False
        return out

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Return configurations ``start:stop`` as int8 ±1 of shape (n, L, L)."""
        return unpack(self.read_packed(start, stop), self.L)

    def iter_batches(self, batch_size: int | None = None, start: int = 0,
                     stop: int | None = None) -> Iterator[np.ndarray]:
        """Yield int8 ±1 batches of at most ``batch_size`` configurations (default: one chunk)."""
        start, stop = self._bounds(start, stop)
        step = batch_size or self.chunk_size
        for lo in range(start, stop, step):
            yield self.read(lo, min(lo + step, stop))

    def _bounds(self, start: int | None, stop: int | None) -> tuple[int, int]:
        n = self.count
        for name, v in (("start", start), ("stop", stop)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
                raise StoreError(f"{name} must be an integer or None; got {v!r}")
        start = 0 if start is None else int(start)
        stop = n if stop is None else int(stop)
        if start < 0 or stop > n or start > stop:
            raise StoreError(f"range {start}:{stop} outside the {n} configurations stored in {self.path}")
        return start, stop


def _check_writable(path: Path) -> None:
    parent = path.parent if not path.exists() else path
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        raise StoreError(f"cannot write to {path}: {parent} is not writable")


def is_store(path: str | os.PathLike) -> bool:
    return (Path(path) / "zarr.json").is_file()


def _regenerate_hint(path: Path, attrs: dict) -> str:
    if attrs.get("source") == "mc":
        how = ("re-run the same 'dreamrg mc' command with a new --out (the same seed gives the same "
               "configurations), or delete it if it is a cache entry (it is rebuilt on demand)")
    else:
        how = "import the source file again ('dreamrg mc import FILE --out NEW')"
    return (f"{path} was written by dreamrg {attrs.get('dreamrg_version', '?')} without per-chunk checksums "
            f"(store format 1), so its data cannot be verified; regenerate it: {how}")


def _digest_meta(attrs: dict) -> str:
    return _integrity.digest({k: attrs[k] for k in _DIGEST_KEYS if k in attrs})


def _inspect(path: Path, mode: str) -> tuple[zarr.Array | None, _integrity.Blocks | None, list[_integrity.Problem]]:
    """Open the array and its records and cross-check them; problems are returned, not raised."""
    meta_file = str(path / "zarr.json")

    def problem(detail: str, kind: str = "metadata", start: int = 0, stop: int = 0, file: str = meta_file):
        return [_integrity.Problem(file, start, stop, kind, detail)]

    try:
        array = zarr.open_array(str(path), mode="r" if mode == "r" else "r+")
    except Exception as err:  # noqa: BLE001 - zarr raises many types for an unreadable zarr.json
        raise StoreError(f"cannot open {path} as a zarr array: {type(err).__name__}: {err}") from None
    attrs = dict(array.attrs)
    if "count" not in attrs or "L" not in attrs:
        raise StoreError(f"{path} is a zarr array but not a dreamrg configuration store")
    if "integrity" not in attrs:
        return array, None, problem(_regenerate_hint(path, attrs), "format")
    if attrs["integrity"].get("format") != _integrity.FORMAT["format"]:
        return array, None, problem(f"store format {attrs['integrity'].get('format')!r} is not known to dreamrg "
                                    f"{__version__} (it reads format {_integrity.FORMAT['format']})", "format")
    L, C = attrs.get("L"), attrs.get("chunk_size")
    if not (isinstance(L, int) and L >= 1 and isinstance(C, int) and C >= 1):
        return array, None, problem(f"L={L!r} and chunk_size={C!r} must be positive integers")
    w = packed_width(L)
    if array.dtype != np.uint8 or tuple(array.shape[1:]) != (L, w) or tuple(array.chunks) != (C, L, w):
        return array, None, problem(f"the array (dtype {array.dtype}, shape {array.shape}, chunks {array.chunks}) "
                                    f"does not hold L={L} configurations in chunks of {C} (expected uint8, "
                                    f"(n, {L}, {w}), chunks ({C}, {L}, {w}))")
    if mode != "r":
        array = array.with_config({"write_empty_chunks": True})  # an all-down chunk is a file too
    blocks = _integrity.Blocks(path, C, {"configs": array}, _digest_meta(attrs), nested=False)
    if mode == "chunks":
        return array, blocks, []  # a worker reads the records it needs, one at a time
    return array, blocks, _NODE.check_records(blocks, attrs["count"], meta_file)


def open_store(path: str | os.PathLike, mode: str = "r") -> ConfigStore:
    """Open an existing store.

    ``mode``: ``"r"`` read-only; ``"r+"`` for a run's coordinator, which may
    write ``zarr.json`` (``count``, timings; an old store's array is grown to
    :data:`MAX_COUNT` rows); ``"chunks"`` for a worker of a distributed run,
    which writes chunks and records only (see the module docstring).

    Raises :class:`ChunkError` when the metadata, the completion records and the
    chunk files disagree (see the module docstring), :class:`StoreError` for a
    path that is not a (current) store. A worker's open checks the metadata only.
    """
    _integrity.check_mode(mode)
    path = Path(path)
    if not is_store(path):
        raise StoreError(f"{path} is not a dreamrg configuration store (no zarr.json)")
    array, blocks, problems = _inspect(path, mode)
    _NODE.refuse(path, problems)
    if mode == "chunks" and array.shape[0] < MAX_COUNT:
        raise StoreError(f"{path} was not prepared for workers (its array ends at row {array.shape[0]}); "
                         "open it for appending (mode 'r+') in the coordinating process first")
    store = ConfigStore(array, path, blocks, mode)
    if mode == "r+":
        _integrity.coordinate(array.attrs, blocks)
    return store


def verify_store(path: str | os.PathLike) -> _integrity.Report:
    """Check every chunk of a store against its record; problems are listed, not raised."""
    path = Path(path)
    if not is_store(path):
        raise StoreError(f"{path} is not a dreamrg configuration store (no zarr.json)")
    _, blocks, problems = _inspect(path, "r")
    return _NODE.report(path, blocks, problems)


def create_store(path: str | os.PathLike, meta: dict[str, Any], *, resume: bool = True) -> ConfigStore:
    """Create a store at ``path``, or reopen it for appending if it exists with the same identity.

    Parameters
    ----------
    path : path-like
        Directory of the zarr array.
    meta : dict
        Must contain every key of :data:`IDENTITY_KEYS`; may contain more.
    resume : bool
        If False an existing store is an error.

    Raises
    ------
    StoreError
        The path exists and is not a store, holds a store with different identity
        metadata, or is not writable. Nothing is modified in those cases.
    """
    from zarr.codecs import ZstdCodec

    path = Path(path)
    missing = [k for k in IDENTITY_KEYS if k not in meta]
    if missing:
        raise StoreError(f"store metadata lacks {missing}")
    L = int(meta["L"])
    if path.exists():
        if not is_store(path):
            if path.is_dir() and not any(path.iterdir()):
                pass
            else:
                raise StoreError(f"{path} exists and is not a dreamrg store; refusing to overwrite it")
        else:
            if not resume:
                raise StoreError(f"{path} already holds a store")
            store = open_store(path, mode="r")
            old = store.meta
            keys = set(IDENTITY_KEYS) | ({"n_equil", "stream", "chains"} & set(meta))
            diff = {k: (old.get(k), meta[k]) for k in sorted(keys) if old.get(k) != meta[k]}
            if diff:
                desc = "; ".join(f"{k}: stored {a!r}, requested {b!r}" for k, (a, b) in diff.items())
                raise StoreError(f"{path} holds a store with different metadata ({desc}); "
                                 "choose another --out or matching options")
            _check_writable(path)
            return open_store(path, mode="r+")
    _check_writable(path)
    attrs = _new_attributes(meta)
    C = int(meta["chunk_size"])
    array = zarr.create_array(
        store=os.path.realpath(path),  # through a dangling symlink: create its target
        shape=(MAX_COUNT, L, packed_width(L)),  # never resized: see "Integrity and many writers"
        chunks=(C, L, packed_width(L)),
        dtype="uint8",
        compressors=ZstdCodec(level=0, checksum=True),
        attributes=attrs,
        config={"write_empty_chunks": True},
    )
    blocks = _integrity.Blocks(path, C, {"configs": array}, _digest_meta(attrs), nested=False)
    return ConfigStore(array, path, blocks, "r+")


def load_configs(path: str | os.PathLike, start: int | None = None, stop: int | None = None) -> np.ndarray:
    """Load configurations ``start:stop`` of a store as int8 ±1, shape (n, L, L).

    ``start`` and ``stop`` are integers (int or numpy integer; not floats, strings or bools) or None.
    """
    from dreamrg._checks import check_optional_int

    start = check_optional_int(start, "start", 0)
    stop = check_optional_int(stop, "stop", 0)
    store = open_store(path)
    return store.read(0 if start is None else start, stop)


def _scan_values(src: Path, data: np.ndarray, step: int) -> str:
    """``"pm1"`` or ``"01"`` from the values of EVERY configuration (unpacked layouts); else a StoreError."""
    seen_minus, seen_zero = None, None
    for lo in range(0, len(data), step):
        block = np.asarray(data[lo:lo + step])
        minus, zero = block == -1, block == 0
        bad = ~(minus | zero | (block == 1))
        if bad.any():
            i = lo + int(np.flatnonzero(bad.reshape(len(block), -1).any(axis=1))[0])
            raise StoreError(f"{src}: cannot tell the layout: configuration {i} holds values other than ±1 "
                             f"or 0/1 (e.g. {np.asarray(data[i])[bad[i - lo]][0].item()!r}); "
                             "allowed: ±1 or 0/1 of shape (n, L, L), or uint8 packbits of shape (n, L, ceil(L/8))")
        if seen_minus is None and minus.any():
            seen_minus = lo + int(np.flatnonzero(minus.reshape(len(block), -1).any(axis=1))[0])
        if seen_zero is None and zero.any():
            seen_zero = lo + int(np.flatnonzero(zero.reshape(len(block), -1).any(axis=1))[0])
        if seen_minus is not None and seen_zero is not None:
            raise StoreError(f"{src}: mixes the ±1 layout (-1 in configuration {seen_minus}) and the 0/1 layout "
                             f"(0 in configuration {seen_zero}); give one of them")
    return "01" if seen_zero is not None else "pm1"


def import_configs(src: str | os.PathLike, out: str | os.PathLike, *, L: int | None = None,
                   K: float | None = None, chunk_size: int | None = None) -> ConfigStore:
    """Import a ``.npy`` file of configurations into a new store.

    Accepted layouts (detected from dtype, values and shape):

    * ±1 values, shape (n, L, L), any integer or float dtype;
    * 0/1 values (1 = up), shape (n, L, L);
    * ``numpy.packbits`` of 0/1 along the last axis (big-endian bits), uint8 of
      shape (n, L, ceil(L/8)); ``L`` is then taken from the second axis.

    The rules of ``dreamrg mc`` apply: L ≥ 2, a coupling ``K`` (if given) finite
    and > 0. The values of every configuration are checked before anything is
    written. The source is memory-mapped and converted chunk by chunk into
    ``<out>.importing``, renamed to ``out`` when complete and removed on any
    failure; the import holds ``out``'s writer lock (the one ``dreamrg mc`` takes),
    so two imports, or an import and a run, cannot write one store at once.
    """
    src = Path(src)
    out = Path(out)
    if K is not None and not (isinstance(K, (int, float)) and not isinstance(K, bool)
                              and math.isfinite(K) and K > 0):
        raise StoreError(f"K must be a finite coupling > 0 (or omitted if unknown); got {K!r}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer))
                                   or chunk_size < 1):
        raise StoreError(f"chunk_size must be an integer ≥ 1; got {chunk_size!r}")
    if not src.is_file():
        raise StoreError(f"input file {src} does not exist")
    try:
        data = np.load(src, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise StoreError(f"cannot read {src} as a .npy array: {exc}") from None
    if data.ndim != 3 or data.shape[0] == 0:
        raise StoreError(f"{src}: expected a non-empty array of shape (n, L, L) or packed (n, L, L/8); "
                         f"got {data.shape}")
    n, rows, cols = data.shape
    packed_layout = data.dtype == np.uint8 and cols == packed_width(rows) and cols != rows
    if not packed_layout and (rows != cols or data.dtype.kind not in "biuf"):
        raise StoreError(f"{src}: cannot tell the layout (dtype {data.dtype}, shape {data.shape}); "
                         "allowed: ±1 or 0/1 of shape (n, L, L), or uint8 packbits of shape (n, L, ceil(L/8))")
    if rows < 2:
        raise StoreError(f"{src}: L={rows}; configurations must have L ≥ 2 (as for 'dreamrg mc')")
    if L is not None and L != rows:
        raise StoreError(f"{src}: L={rows} in the file but L={L} requested")
    if n > MAX_COUNT:
        raise StoreError(f"{src}: {n} configurations; a store holds at most {MAX_COUNT}")
    C = int(chunk_size or default_chunk_size(rows))
    step_bytes = C * rows * cols * (data.dtype.itemsize + 3)  # a block, its comparisons and its packing
    if step_bytes > available_bytes():
        raise StoreError(f"{src}: converting {C} configurations of L={rows} at a time needs ~{gib(step_bytes)}; "
                         f"only {gib(available_bytes())} available (use a smaller chunk_size)")
    with writer_lock(out, "configuration store"):
        if out.exists() or out.is_symlink() and Path(os.path.realpath(out)).exists():
            raise StoreError(f"{out} already exists; refusing to overwrite it")
        kind = "packed" if packed_layout else _scan_values(src, data, C)
        meta = {"L": rows, "K": None if K is None else float(K), "algorithm": "external", "thin": None,
                "seed": None, "chunk_size": C, "source": f"import:{src.name}", "layout": kind}
        real = Path(os.path.realpath(out))
        tmp = real.with_name(real.name + ".importing")
        if tmp.exists():
            shutil.rmtree(tmp)  # left by an import of ours that was killed; we hold the lock
        try:
            store = create_store(tmp, meta, resume=False)
            for index, lo in enumerate(range(0, n, C)):
                block = np.asarray(data[lo:lo + C])
                packed = block.astype(np.uint8, copy=False) if kind == "packed" else np.packbits(block > 0, axis=-1)
                store.write_chunk(index, packed)
            os.replace(tmp, real)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return open_store(out)


#: store metadata that says how far a store has got or how long it took, not what its data are: a store shared by
#: several computations and grown by one of them keeps its identity
GROWING_META = ("count", "seconds_sampling", "configs_timed", "dreamrg_version")


def _new_attributes(meta: dict[str, Any]) -> dict[str, Any]:
    """The attributes :func:`create_store` writes for a new store of metadata ``meta``."""
    return {**meta, "count": 0, "dreamrg_version": __version__, "bit_order": "big", "up": 1,
            "integrity": dict(_integrity.FORMAT)}


def data_identity(path: str | os.PathLike) -> dict:
    """What a store's data are, wherever it lies and however far it has grown: its L and its metadata without
    :data:`GROWING_META` (the identity of a training set or of a dream's Monte Carlo start in cache keys)."""
    st = open_store(path)
    return {"L": st.L, "meta": {k: v for k, v in st.meta.items() if k not in GROWING_META}}


def planned_identity(meta: dict[str, Any]) -> dict:
    """:func:`data_identity` of the store ``create_store(path, meta)`` makes, without making it.

    A cache key that names a store by its data can then be computed before the store exists
    (or after it is gone): it equals the key of the made store (tested).
    """
    attrs = json.loads(json.dumps(_new_attributes(meta)))  # as the store's JSON attributes read back
    return {"L": int(meta["L"]), "meta": {k: v for k, v in attrs.items() if k not in GROWING_META}}


def default_chunk_size(L: int) -> int:
    """Configurations per chunk: 1024, which is 2 MB packed at L=128."""
    return 1024 if L <= 256 else max(16, int(2**21 // (L * packed_width(L))))


def n_chunks(n: int, chunk_size: int) -> int:
    return -(-int(n) // int(chunk_size))
