"""What the result cache holds: one row per entry, with how far it has got and who is writing it.

Reads every stage's own layout (configuration stores, dreamed ensembles, model files
and training checkpoints, JSON results), so it sits above the stages; ``dreamrg cache``
prints it. Reading takes no lock, so it is safe while runs are going on.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

import torch

from dreamrg.cache import STAGE_VERSIONS
from dreamrg.dream import open_ensemble
from dreamrg.mcrg import RUN_FILE, stream_progress
from dreamrg.paths import data_dir
from dreamrg.store import open_store
from dreamrg.train import checkpoint_error


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
            return f"{open_store(path / 'configs').count} configurations"
        if stage == "ensembles" and (path / "ensemble").exists():
            ens = open_ensemble(path / "ensemble")
            return f"{ens.count} chains to L={ens.sizes[-1]}"
        if stage == "models" and (path / "model.json").exists():
            meta = json.loads((path / "model.json").read_text()).get("meta", {})
            hist = meta.get("history") or {}
            if "epoch" in hist:
                return (f"trained ({hist['epoch'][-1]} epochs, "
                        f"epoch {hist.get('returned_epoch', hist['epoch'][-1])} kept)")
            return "trained"
        if stage == "models" and (path / "checkpoint.pt").exists():
            # tensors and plain data only: a crafted pickle is refused, never run
            state = torch.load(path / "checkpoint.pt", weights_only=True, map_location="cpu")
            losses = state["history"].get("valid_loss", [])
            text = f"training: {state['epoch']} epochs done"
            if losses:
                text += f" (last validation loss {losses[-1]:.6g})"
            if state.get("inside_epoch"):
                text += f", epoch {state['epoch'] + 1} {state['inside_epoch'].get('next')} samples in"
            return text
        if (path / "result.json").exists():
            return "result"
        if stage == "mcrg" and (path / "run" / RUN_FILE).exists():
            prog = stream_progress(path / "run")
            return (f"streaming: {prog.configs} of {prog.n_configs} configurations "
                    f"({prog.chains_done} of {prog.chains} chains done)")
    except Exception as err:  # noqa: BLE001 - an inventory lists damaged entries rather than stopping at them
        return f"unreadable ({type(err).__name__}: {checkpoint_error(err)})"
    return "empty"


def _version(path: Path) -> int | None:
    """The stage version an entry was made with (its ``params.json``), or None if it does not say."""
    try:
        version = json.loads((path / "params.json").read_text()).get("version")
    except (OSError, ValueError, AttributeError):
        return None
    return version if isinstance(version, int) else None


def inventory(stages: list[str] | None = None) -> list[dict[str, Any]]:
    """Every entry of the cache: stage, name, progress, writing process, size, age and code version.

    ``progress`` is the number of configurations or chains stored so far, the state
    of a model (trained, or the epochs a checkpointed training run has done), or
    ``result`` for a cached JSON result; ``writer`` is the pid of a process extending
    the entry right now (read from the writer lock, Linux only; ``None`` otherwise).
    ``version`` is the stage version that made the entry (None if it does not record
    one), and ``stale`` is True when that is not this code's
    (:data:`dreamrg.cache.STAGE_VERSIONS`): the cache key includes the version, so this
    code never reads a stale entry, and it only takes disk space.
    Reading takes no lock, so it is safe while runs are going on.
    """
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
                         "modified": datetime.datetime.fromtimestamp(modified).isoformat(" ", "seconds"),
                         "version": (version := _version(path)), "stale": version != STAGE_VERSIONS[stage]})
    return rows
