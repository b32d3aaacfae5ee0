"""A small parameter-keyed cache of expensive results under ``data/``.

Every cached artefact lives in ``data/<stage>/<name>-<key>/`` where ``key`` is a
hash of the stage's parameters (a JSON-able dict) and of the stage's code
version in :data:`STAGE_VERSIONS`. Changing a parameter, or bumping a stage's
version when its code changes results, gives a new directory; everything that
does not depend on the change is reused. Each directory holds ``params.json``
describing what it contains.

The data directory is ``$DREAMRG_DATA`` if set, else ``data/`` of the
repository checkout containing this package, else ``./data``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dreamrg.paths import data_dir

#: bump a stage's number when its code changes the numbers it produces
STAGE_VERSIONS: dict[str, int] = {
    "mc": 2,
    "observables": 3,
    "models": 2,  # 2: AdamW single-layer gradients from the pattern histogram (float64)
    "ensembles": 1,
    "mcrg": 2,
}


def key(stage: str, params: dict[str, Any]) -> str:
    """Hash of (stage, its code version, params)."""
    if stage not in STAGE_VERSIONS:
        raise KeyError(f"unknown cache stage {stage!r}; known: {sorted(STAGE_VERSIONS)}")
    blob = json.dumps({"stage": stage, "version": STAGE_VERSIONS[stage], "params": params},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def entry(stage: str, name: str, params: dict[str, Any]) -> Path:
    """Directory of one cached artefact; created with its ``params.json``."""
    path = data_dir() / stage / f"{name}-{key(stage, params)}"
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


def cached_json(stage: str, name: str, params: dict[str, Any], compute: Callable[[], Any]) -> Any:
    """Return ``compute()``, cached as JSON in the entry for (stage, name, params)."""
    path = entry(stage, name, params) / "result.json"
    if path.exists():
        with open(path) as fh:
            return json.load(fh)
    result = compute()
    write_json_atomic(path, result)
    return result


def _lock_holders() -> dict[tuple[int, int, int], int]:
    """{(device major, minor, inode): pid} of every ``flock`` held on this machine (Linux ``/proc/locks``)."""
    holders: dict[tuple[int, int, int], int] = {}
    try:
        text = Path("/proc/locks").read_text()
    except OSError:
        return holders
    for line in text.splitlines():
        f = line.split()
        # "1: FLOCK  ADVISORY  WRITE 27233 fe:00:5842047 0 EOF"; a blocked waiter reads "1: -> FLOCK ..."
        if len(f) < 6 or f[1] != "FLOCK":
            continue
        try:
            major, minor, inode = f[5].split(":")
            holders[(int(major, 16), int(minor, 16), int(inode))] = int(f[4])
        except ValueError:
            continue
    return holders


def _writer(path: Path, holders: dict[tuple[int, int, int], int]) -> int | None:
    """Pid of the process holding a writer lock (``*.lock``) inside the entry ``path``, if any."""
    for lock in path.glob("*.lock"):
        try:
            st = lock.stat()
        except OSError:
            continue
        pid = holders.get((os.major(st.st_dev), os.minor(st.st_dev), st.st_ino))
        if pid is not None:
            return pid
    return None


def _progress(stage: str, path: Path) -> str:
    """What an entry holds so far, in a few words (never raises: an unreadable entry says so)."""
    try:
        if stage == "mc" and (path / "configs").exists():
            from dreamrg.store import open_store

            return f"{open_store(path / 'configs').count} configurations"
        if stage == "ensembles" and (path / "ensemble").exists():
            from dreamrg.dream import open_ensemble

            ens = open_ensemble(path / "ensemble")
            return f"{ens.count} chains to L={ens.sizes[-1]}"
        if stage == "models" and (path / "model.json").exists():
            meta = json.loads((path / "model.json").read_text()).get("meta", {})
            hist = meta.get("history") or {}
            if "epoch" in hist:
                return f"trained ({hist['epoch'][-1]} epochs, epoch {hist.get('returned_epoch', hist['epoch'][-1])} kept)"
            return "trained"
        if stage == "models" and (path / "checkpoint.pt").exists():
            import torch

            state = torch.load(path / "checkpoint.pt", weights_only=False, map_location="cpu")
            losses = state["history"].get("valid_loss", [])
            text = f"training: {state['epoch']} epochs done"
            if losses:
                text += f" (last validation loss {losses[-1]:.6g})"
            if state.get("inside_epoch"):
                text += f", epoch {state['epoch'] + 1} {state['inside_epoch'].get('next')} samples in"
            return text
        if (path / "result.json").exists():
            return "result"
    except Exception as err:  # noqa: BLE001 - an inventory lists damaged entries rather than stopping at them
        return f"unreadable ({type(err).__name__}: {err})"
    return "empty"


def inventory(stages: list[str] | None = None) -> list[dict[str, Any]]:
    """Every entry of the cache: stage, name, progress, writing process, size and age.

    ``progress`` is the number of configurations or chains stored so far, the state
    of a model (trained, or the epochs a checkpointed training run has done), or
    ``result`` for a cached JSON result; ``writer`` is the pid of a process extending
    the entry right now (read from the writer lock, Linux only; ``None`` otherwise).
    Reading takes no lock, so it is safe while runs are going on.
    """
    import datetime

    unknown = sorted(set(stages or []) - set(STAGE_VERSIONS))
    if unknown:
        raise ValueError(f"unknown cache stage(s) {unknown}; known: {sorted(STAGE_VERSIONS)}")
    holders = _lock_holders()
    rows = []
    for stage in stages or sorted(STAGE_VERSIONS):
        root = data_dir() / stage
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.iterdir() if p.is_dir()):
            stats = []
            for f in path.rglob("*"):
                try:  # a running writer may rename a temporary file away meanwhile
                    if f.is_file():
                        stats.append(f.stat())
                except OSError:
                    continue
            modified = max((s.st_mtime for s in stats), default=path.stat().st_mtime)
            rows.append({"stage": stage, "entry": path.name, "progress": _progress(stage, path),
                         "writer": _writer(path, holders),
                         "MB": round(sum(s.st_size for s in stats) / 2**20, 1),
                         "modified": datetime.datetime.fromtimestamp(modified).isoformat(" ", "seconds")})
    return rows
