"""Bit-packed, chunked, appendable storage of spin configurations (zarr v3).

Layout
------
A store is a zarr v3 array of ``uint8`` with shape ``(n, L, ceil(L/8))``:
each row of spins is ``numpy.packbits`` of the 0/1 occupation (1 = spin up,
big-endian bit order), one configuration per leading index. The array is
chunked along the first axis by ``chunk_size`` configurations; each chunk is
one zarr file, written atomically by zarr's local store (temporary file and
rename).

Metadata live in the array attributes: ``L``, ``K``, ``algorithm``,
``thin``, ``seed``, ``chunk_size``, ``source`` and the ``dreamrg_version``
that created the store, plus ``count`` -- the number of *committed*
configurations. Appending resizes the array, writes the chunk, then commits
the new ``count``; a process killed in between leaves ``count`` at the last
whole chunk, and :func:`open_store` truncates anything beyond it. Readers
therefore only ever see whole, committed chunks.

Reading is lazy: :meth:`ConfigStore.iter_batches` unpacks one batch at a time,
so a million 128x128 configurations (2 GB packed) never have to be in memory.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from dreamrg._version import __version__

#: metadata keys that identify what a store contains; a resumed run must match them.
IDENTITY_KEYS: tuple[str, ...] = ("L", "K", "algorithm", "thin", "seed", "chunk_size", "source")
# (MC stores also record n_equil and stream; they are compared too when present)


class StoreError(ValueError):
    """A store cannot be created, opened or extended as asked."""


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

    An advisory ``flock`` on ``<path>.lock`` beside it (created if needed and left in
    place; removing a lock file that others may hold would reopen the race it closes).
    Readers take no lock. A second writer gets one clear :class:`StoreError` at once
    instead of the two processes interleaving their blocks.
    """
    import fcntl

    path = Path(path)
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(f"{what} {path} is being written by another process (lock {lock}); "
                             "let that run finish or stop it, then run again -- it resumes") from None
        yield
    finally:
        os.close(fd)


def commit_block(attrs, index: int, block: int, parts: list[tuple[zarr.Array, np.ndarray]],
                 what: str = "chunk") -> None:
    """Write block ``index`` (rows ``index*block`` onwards) of every array in ``parts``, then commit.

    The shared append protocol of configuration stores and dreamed ensembles:
    resize, write, and only then raise the committed ``count`` in ``attrs``.
    Only the next block, or a rewrite of a trailing partial block, is allowed,
    so committed rows are never overwritten by different data.
    """
    count = int(attrs["count"])
    start = index * block
    if start > count or (start < count and count % block == 0):
        raise StoreError(f"{what} {index} is not the next {what} of a store holding {count} rows")
    stop = start + len(parts[0][1])
    for array, data in parts:
        array.resize((stop,) + array.shape[1:])
        array[start:stop] = data
    attrs.update({"count": stop})


def truncate_to_count(arrays: list[zarr.Array], count: int) -> None:
    """Drop rows beyond the committed ``count`` (left by a run killed between resize and commit)."""
    for array in arrays:
        if array.shape[0] != count:
            array.resize((count,) + array.shape[1:])


class ConfigStore:
    """An open configuration store. Use :func:`open_store` or :func:`create_store`."""

    def __init__(self, array: zarr.Array, path: Path):
        self._array = array
        self.path = path

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
        """Number of committed configurations."""
        return int(self._array.attrs["count"])

    def __len__(self) -> int:
        return self.count

    # -- writing ----------------------------------------------------------------
    def write_chunk(self, index: int, packed: np.ndarray) -> None:
        """Write chunk ``index`` (configurations ``index*chunk_size`` onwards) and commit it.

        Only the next chunk, or a rewrite of a trailing partial chunk, is allowed,
        so committed data are never overwritten by different data.
        """
        C, L = self.chunk_size, self.L
        start = index * C
        if packed.dtype != np.uint8 or packed.shape[1:] != (L, packed_width(L)):
            raise StoreError(f"chunk must be uint8 of shape (n, {L}, {packed_width(L)}); got {packed.dtype} {packed.shape}")
        if not 0 < packed.shape[0] <= C:
            raise StoreError(f"a chunk holds 1..{C} configurations; got {packed.shape[0]}")
        commit_block(self._array.attrs, index, C, [(self._array, packed)])

    def add_seconds(self, seconds: float, configs: int) -> None:
        """Accumulate the wall time spent producing ``configs`` configurations (metadata only)."""
        attrs = self._array.attrs
        attrs.update({"seconds_sampling": float(attrs.get("seconds_sampling", 0.0)) + seconds,
                      "configs_timed": int(attrs.get("configs_timed", 0)) + int(configs)})

    # -- reading ----------------------------------------------------------------
    def read_packed(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        start, stop = self._bounds(start, stop)
        return np.asarray(self._array[start:stop])

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Return configurations ``start:stop`` as int8 ±1 of shape (n, L, L)."""
        return unpack(self.read_packed(start, stop), self.L)

    def iter_batches(self, batch_size: int | None = None, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Yield int8 ±1 batches of at most ``batch_size`` configurations (default: one chunk)."""
        start, stop = self._bounds(start, stop)
        step = batch_size or self.chunk_size
        for lo in range(start, stop, step):
            yield self.read(lo, min(lo + step, stop))

    def _bounds(self, start: int | None, stop: int | None) -> tuple[int, int]:
        n = self.count
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


def open_store(path: str | os.PathLike, mode: str = "r") -> ConfigStore:
    """Open an existing store read-only (``mode="r"``) or for appending (``"r+"``)."""
    path = Path(path)
    if not is_store(path):
        raise StoreError(f"{path} is not a dreamrg configuration store (no zarr.json)")
    array = zarr.open_array(str(path), mode=mode)
    if "count" not in array.attrs or "L" not in array.attrs:
        raise StoreError(f"{path} is a zarr array but not a dreamrg configuration store")
    store = ConfigStore(array, path)
    if mode != "r":
        truncate_to_count([array], store.count)
    return store


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
            keys = set(IDENTITY_KEYS) | ({"n_equil", "stream"} & set(meta))
            diff = {k: (old.get(k), meta[k]) for k in sorted(keys) if old.get(k) != meta[k]}
            if diff:
                desc = "; ".join(f"{k}: stored {a!r}, requested {b!r}" for k, (a, b) in diff.items())
                raise StoreError(f"{path} holds a store with different metadata ({desc}); choose another --out or matching options")
            _check_writable(path)
            return open_store(path, mode="r+")
    _check_writable(path)
    attrs = {k: meta[k] for k in meta}
    attrs.update({"count": 0, "dreamrg_version": __version__, "bit_order": "big", "up": 1})
    array = zarr.create_array(
        store=str(path),
        shape=(0, L, packed_width(L)),
        chunks=(int(meta["chunk_size"]), L, packed_width(L)),
        dtype="uint8",
        attributes=attrs,
    )
    return ConfigStore(array, path)


def load_configs(path: str | os.PathLike, start: int | None = None, stop: int | None = None) -> np.ndarray:
    """Load configurations ``start:stop`` of a store as int8 ±1, shape (n, L, L).

    ``start`` and ``stop`` are integers (int or numpy integer; not floats, strings or bools) or None.
    """
    from dreamrg._checks import check_optional_int

    start = check_optional_int(start, "start", 0)
    stop = check_optional_int(stop, "stop", 0)
    store = open_store(path)
    return store.read(0 if start is None else start, stop)


def import_configs(src: str | os.PathLike, out: str | os.PathLike, *, L: int | None = None,
                   K: float | None = None, chunk_size: int = 1024) -> ConfigStore:
    """Import a ``.npy`` file of configurations into a new store.

    Accepted layouts (detected from dtype, values and shape):

    * ±1 values, shape (n, L, L), any integer or float dtype;
    * 0/1 values (1 = up), shape (n, L, L);
    * ``numpy.packbits`` of 0/1 along the last axis (big-endian bits), uint8 of
      shape (n, L, ceil(L/8)); ``L`` is then taken from the second axis.

    The source is memory-mapped and converted chunk by chunk.
    """
    src = Path(src)
    out = Path(out)
    if not src.is_file():
        raise StoreError(f"input file {src} does not exist")
    try:
        data = np.load(src, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise StoreError(f"cannot read {src} as a .npy array: {exc}") from None
    if data.ndim != 3 or data.shape[0] == 0:
        raise StoreError(f"{src}: expected a non-empty array of shape (n, L, L) or packed (n, L, L/8); got {data.shape}")
    n, rows, cols = data.shape
    sample = np.asarray(data[: min(n, 256)])
    values = set(np.unique(sample).tolist())
    if data.dtype == np.uint8 and cols == packed_width(rows) and cols != rows:
        kind = "packed"
    elif rows == cols and values <= {-1, 1}:
        kind = "pm1"
    elif rows == cols and values <= {0, 1}:
        kind = "01"
    else:
        raise StoreError(
            f"{src}: cannot tell the layout (dtype {data.dtype}, shape {data.shape}, values {sorted(values)[:6]}); "
            "allowed: ±1 or 0/1 of shape (n, L, L), or uint8 packbits of shape (n, L, ceil(L/8))"
        )
    if L is not None and L != rows:
        raise StoreError(f"{src}: L={rows} in the file but L={L} requested")
    meta = {"L": rows, "K": K, "algorithm": "external", "thin": None, "seed": None,
            "chunk_size": int(chunk_size), "source": f"import:{src.name}", "layout": kind}
    if out.exists():
        raise StoreError(f"{out} already exists; refusing to overwrite it")
    tmp = out.with_name(out.name + ".importing")
    if tmp.exists():
        shutil.rmtree(tmp)  # left by an interrupted import of ours
    store = create_store(tmp, meta, resume=False)
    for index, lo in enumerate(range(0, n, chunk_size)):
        block = np.asarray(data[lo:lo + chunk_size])
        if kind == "packed":
            packed = block.astype(np.uint8, copy=False)
        else:
            allowed = (-1, 1) if kind == "pm1" else (0, 1)
            if not np.isin(block, allowed).all():
                raise StoreError(f"{src}: values other than {allowed} in configurations {lo}..{lo + len(block)}")
            packed = np.packbits(block > 0, axis=-1)
        store.write_chunk(index, packed)
    os.replace(tmp, out)
    return open_store(out)


def default_chunk_size(L: int) -> int:
    """Configurations per chunk: 1024, which is 2 MB packed at L=128."""
    return 1024 if L <= 256 else max(16, int(2**21 // (L * packed_width(L))))


def n_chunks(n: int, chunk_size: int) -> int:
    return math.ceil(n / chunk_size)
