"""A small parameter-keyed cache of expensive results under ``data/``.

Every cached artefact lives in ``data/<stage>/<name>-<key>/`` where ``key`` is a
hash of the stage's parameters (a JSON-able dict) and of the stage's code
version in :data:`STAGE_VERSIONS`. Changing a parameter, or bumping a stage's
version when its code changes results, gives a new directory; everything that
does not depend on the change is reused. Each directory holds ``params.json``
describing what it contains.

The data directory is ``$DREAMRG_DATA`` if set, else ``data/`` of the
repository checkout containing this package, else ``./data``.

This module holds only the mechanics (keys, entries, atomic writes, JSON results);
the recipes that fill the cache live in :mod:`dreamrg.runs`, and what the cache
holds is listed by :func:`dreamrg.runs.inventory.inventory`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from dreamrg.paths import data_dir

#: bump a stage's number when its code changes the numbers it produces
STAGE_VERSIONS: dict[str, int] = {
    "mc": 4,  # 4: chains span chunks (64 by default, checkpointed), so other configurations; 3: checksums
    "observables": 3,
    "models": 2,  # 2: AdamW single-layer gradients from the pattern histogram (float64)
    "ensembles": 2,  # 2: ensembles with per-batch checksums and completion records (same chains)
    "mcrg": 3,  # 3: tie-breaks seeded per chunk (SeedSequence(seed, (0x4D435247, level, chunk))), mergeable sums
    "offcritical": 1,  # 1: observables, crossings, ν and flow off K_c (dreamrg.runs.offcritical)
}

#: what each version bump changed: ``{stage: {version: (changes the numbers?, what changed)}}``. A bump that
#: changes only how results are stored or checked leaves the numbers as they were (False). A version older
#: than a stage's first entry here counts as changing numbers (its history is not recorded).
STAGE_CHANGES: dict[str, dict[int, tuple[bool, str]]] = {
    "mc": {3: (False, "per-chunk checksums and completion records, same configurations"),
           4: (True, "chains span chunks (64 by default), so other configurations")},
    "observables": {},
    "models": {2: (True, "AdamW single-layer gradients from the pattern histogram, in float64")},
    "ensembles": {2: (False, "per-batch checksums and completion records, same chains")},
    "mcrg": {2: (False, "the Monte Carlo cost per configuration recorded, same exponents"),
             3: (True, "tie-breaks seeded per chunk")},
    "offcritical": {},
}


def changes_since(versions: dict[str, int]) -> list[tuple[str, int, int, str]]:
    """The bumps after ``versions`` (stage → version, as a snapshot recorded them) that change numbers.

    One ``(stage, then, now, what changed)`` per stage that changed numbers since, in
    :data:`STAGE_VERSIONS` order, ``what`` joining every such bump; stages absent from
    ``versions`` are skipped (they did not exist then). A version newer than this code's
    (a snapshot kept by a later checkout) counts as a change too, described as such.
    """
    out = []
    for stage, now in STAGE_VERSIONS.items():
        then = versions.get(stage)
        if then is not None and then > now:
            out.append((stage, then, now, f"made by a newer version than this code's {now}"))
        if then is None or then >= now:
            continue
        history = STAGE_CHANGES.get(stage, {})
        first = min(history, default=now + 1)
        whats = [history[v][1] for v in range(then + 1, now + 1) if v in history and history[v][0]]
        if then + 1 < first:
            whats.insert(0, f"version {then + 1}" + (f" to {first - 1}" if first - 1 > then + 1 else "")
                         + ", changes not recorded")
        if whats:
            out.append((stage, then, now, "; ".join(whats)))
    return out


def key(stage: str, params: dict[str, Any]) -> str:
    """Hash of (stage, its code version, params)."""
    if stage not in STAGE_VERSIONS:
        raise KeyError(f"unknown cache stage {stage!r}; known: {sorted(STAGE_VERSIONS)}")
    blob = json.dumps({"stage": stage, "version": STAGE_VERSIONS[stage], "params": params},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def entry_path(stage: str, name: str, params: dict[str, Any]) -> Path:
    """Directory of one cached artefact, as :func:`entry` names it; nothing is created."""
    return data_dir() / stage / f"{name}-{key(stage, params)}"


def entry(stage: str, name: str, params: dict[str, Any]) -> Path:
    """Directory of one cached artefact; created with its ``params.json``."""
    path = entry_path(stage, name, params)
    path.mkdir(parents=True, exist_ok=True)
    info = path / "params.json"
    if not info.exists():
        write_json_atomic(info, {"stage": stage, "version": STAGE_VERSIONS[stage], "params": params})
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    On any error the temporary file is removed and ``path`` is left as it was. The
    file gets the permissions an ordinary ``open()`` would give it (0666 less the
    umask), not the 0600 of :func:`tempfile.mkstemp`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename."""
    with atomic_file(path) as tmp, open(tmp, "w") as fh:
        json.dump(obj, fh, indent=1, sort_keys=True, default=str)


def is_cached(stage: str, name: str, params: dict[str, Any]) -> bool:
    """Whether the entry for (stage, name, params) already holds its result (nothing is created)."""
    return (data_dir() / stage / f"{name}-{key(stage, params)}" / "result.json").exists()


def cached_json(stage: str, name: str, params: dict[str, Any], compute: Callable[[], Any]) -> Any:
    """Return ``compute()``, cached as JSON in the entry for (stage, name, params)."""
    path = entry(stage, name, params) / "result.json"
    if path.exists():
        with open(path) as fh:
            return json.load(fh)
    result = compute()
    write_json_atomic(path, result)
    return result


class Result(Protocol):
    """What :func:`cached` stores: a result that writes itself as JSON (``to_dict``)."""

    def to_dict(self) -> Any: ...


R = TypeVar("R")


def cached(stage: str, name: str, params: dict[str, Any], compute: Callable[[], R],
           decode: Callable[[Any], R], encode: Callable[[R], Any] | None = None) -> R:
    """A typed result cached as JSON: ``decode(JSON)`` of the entry for (stage, name, params).

    On a miss ``compute()`` runs and ``encode(result)`` (default ``result.to_dict()``)
    is written; the value returned is then decoded from that JSON as well, so a
    fresh result and a cached one are the same object field for field.
    """
    encode = encode or (lambda r: r.to_dict())
    data = cached_json(stage, name, params, lambda: encode(compute()))
    return decode(json.loads(json.dumps(data, default=str)))
