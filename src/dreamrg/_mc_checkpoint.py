"""Checkpoints of Monte Carlo chains between the chunks they fill: ``<store>/chains/<c>.npz``.

A chain of :mod:`dreamrg.mc` fills many chunks of a store, one after another.
After each full chunk its state is saved, so a resumed or distributed run
continues the chain there instead of equilibrating a new one. The file is a
plain ``.npz`` (read with ``allow_pickle=False``) holding

``spins``
    the chain's configuration, bit-packed as in :mod:`dreamrg.store`, uint8 (L, ceil(L/8));
``rng``
    the xoshiro256** state, uint64 (4,);
``n_clusters``
    Wolff's calibrated cluster flips per update (0 for Swendsen–Wang);
``segments``
    how many of the chain's chunks lie before this state (0: just equilibrated);
``crc``
    CRC-32 of the last of them, as its completion record holds it (-1 when ``segments`` is 0);
``meta``
    digest of the store's identity metadata.

A checkpoint is written through a uniquely named temporary file, ``fsync`` and a
rename, like the completion records (:mod:`dreamrg._integrity`), and never replaces
one that is further along. A checkpoint that is missing, unreadable, of other
metadata, or whose ``crc`` disagrees with the store's record is not used: the
chain is then recomputed from an earlier point (the same seeds give the same
states), so a checkpoint can cost time but never change data.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamrg._integrity import write_atomic

FOLDER = "chains"


@dataclass(frozen=True)
class ChainState:
    """The state of one chain after ``segments`` of its chunks (see the module docstring)."""

    spins: np.ndarray  # int8 ±1, shape (L, L)
    rng: np.ndarray  # uint64, shape (4,)
    n_clusters: int
    segments: int
    crc: int


def path(root: str | os.PathLike, chain: int) -> Path:
    return Path(root) / FOLDER / f"{int(chain)}.npz"


def _segments_on_disk(file: Path) -> int:
    try:
        with np.load(file, allow_pickle=False) as z:
            return int(z["segments"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return -1


def save(root: str | os.PathLike, chain: int, state: ChainState, meta: str) -> bool:
    """Write the checkpoint of ``chain`` unless one at least as far along is there; True when written."""
    file = path(root, chain)
    if file.is_file() and _segments_on_disk(file) >= state.segments:
        return False
    buf = io.BytesIO()
    np.savez(buf, **to_arrays(state), meta=np.array(meta))
    file.parent.mkdir(exist_ok=True)
    write_atomic(file, buf.getvalue())
    return True


def load(root: str | os.PathLike, chain: int, L: int, meta: str) -> ChainState | None:
    """The checkpoint of ``chain`` if there is a readable one of these metadata and size, else None."""
    file = path(root, chain)
    try:
        with np.load(file, allow_pickle=False) as z:
            if str(z["meta"][()]) != meta:
                return None
            return from_arrays(z, L)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None  # damaged (e.g. written by a killed process on a filesystem without atomic rename)


def to_arrays(state: ChainState) -> dict[str, np.ndarray]:
    """The state as the plain arrays of a checkpoint (``spins`` bit-packed; see the module docstring)."""
    return {"spins": np.packbits(state.spins > 0, axis=-1), "rng": np.asarray(state.rng, np.uint64),
            "n_clusters": np.int64(state.n_clusters), "segments": np.int64(state.segments),
            "crc": np.int64(state.crc)}


def from_arrays(arrays, L: int) -> ChainState:
    """Inverse of :func:`to_arrays` (a dict or an ``NpzFile``) for lattices of size ``L``.

    Raises ``ValueError`` (or ``KeyError`` for a missing array) if they are not a chain state of that size.
    """
    packed, rng = np.asarray(arrays["spins"]), np.asarray(arrays["rng"])
    n_clusters, segments, crc = (np.asarray(arrays[k])[()] for k in ("n_clusters", "segments", "crc"))
    w = (L + 7) // 8
    if (packed.dtype != np.uint8 or packed.shape != (L, w) or rng.dtype != np.uint64
            or rng.shape != (4,) or not rng.any() or int(segments) < 0 or int(n_clusters) < 0):
        raise ValueError(f"not the state of a chain of L = {L}")
    spins = np.unpackbits(packed, axis=-1, count=L).view(np.int8)
    spins = 2 * spins - 1
    return ChainState(spins.astype(np.int8), rng.copy(), int(n_clusters), int(segments), int(crc))
