"""Carry the result cache between machines that share no storage: its small finished results, not its stores.

The paper profile takes about a day on two cores, longer than one sitting, and the next
sitting may be on a machine that holds none of the last one's data. A *carry directory*
is a sparse mirror of the data directory (:func:`dreamrg.paths.data_dir`) that is small
enough to keep in git. For each entry ``<stage>/<entry>/`` it holds

* ``params.json``, what the entry is (its stage, stage version and cache key);
* its result, once finished: ``result.json`` (observables, MCRG exponents, off-critical
  analyses) or ``model.json`` (a trained model, plain JSON);
* for a streamed MCRG run not finished yet, ``run/``: its finished chains
  (:func:`dreamrg.mcrg.export_finished`, without their Monte Carlo state);
* for an AdamW training not finished yet, its ``checkpoint.pt`` (weights, optimiser
  state and history after the last epoch or batch saved; loaded with
  ``weights_only=True``, so a crafted file cannot run code), so that a training
  longer than a sitting goes on where it stopped.

Monte Carlo stores, dreamed ensembles and training checkpoints are not carried (they
take GB). A consumer whose result is carried does not need them; one that does
recomputes them from the same seeds, bit for bit.

:func:`export_results` copies what the data directory has finished into a carry
directory; :func:`import_results` checks a carry directory whole (every ``params.json``
against its entry's name, so a foreign or edited entry is refused; every result
readable), then copies into the data directory what it lacks. An entry the data
directory already holds is left as it is. ``dreamrg cache --export DIR`` and
``--import DIR`` do the same.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from dreamrg.cache import STAGE_VERSIONS, key
from dreamrg.paths import data_dir

__all__ = ["CarryReport", "export_results", "import_results", "import_entry", "RESULT_FILES"]

#: the file that holds an entry's finished result, by stage (a stage not listed carries ``result.json``)
RESULT_FILES = {"models": "model.json"}
#: stages that are never carried: their entries are configuration stores or ensembles (GB)
NOT_CARRIED = ("mc", "ensembles")
_RUN = "run"
_CHECKPOINT = "checkpoint.pt"


@dataclass
class CarryReport:
    """What an export or import did: entries copied, left as they were, skipped as stale, and the unfinished runs
    (streamed MCRG, AdamW training) carried in part."""

    copied: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.copied)} result(s) copied, {len(self.partial)} unfinished run(s) carried in "
                f"part, {len(self.present)} already there, {len(self.stale)} made by other code versions skipped")

    def to_dict(self) -> dict:
        return {"copied": self.copied, "present": self.present, "stale": self.stale, "partial": self.partial}


def _result_file(stage: str) -> str:
    return RESULT_FILES.get(stage, "result.json")


def _stages(stages: list[str] | None) -> list[str]:
    unknown = sorted(set(stages or []) - set(STAGE_VERSIONS))
    if unknown:
        raise ValueError(f"unknown cache stage(s) {unknown}; known: {sorted(STAGE_VERSIONS)}")
    return [s for s in (stages or sorted(STAGE_VERSIONS)) if s not in NOT_CARRIED]


def _entry_params(path: Path, stage: str) -> dict | None:
    """The checked ``params.json`` of an entry; None if it was made by another version of the stage's code.

    Raises ``ValueError`` if it is unreadable, of another stage, or does not hash to the entry's name.
    """
    file = path / "params.json"
    try:
        info = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{file} is not readable ({exc}); it names the entry {path.name}") from None
    if not isinstance(info, dict) or info.get("stage") != stage or "params" not in info:
        raise ValueError(f"{file} does not describe an entry of the stage {stage!r}")
    if info.get("version") != STAGE_VERSIONS[stage]:
        return None
    expected = key(stage, info["params"])
    if not path.name.endswith(f"-{expected}"):
        raise ValueError(f"{path}: its params.json hashes to {expected}, not to the entry's name (an edited or "
                         "foreign entry); it is refused")
    return info


def _check_result(file: Path, stage: str) -> None:
    """Refuse a result file that is not what its stage reads back (JSON; a model file loads)."""
    try:
        if stage == "models":
            from dreamrg.conditioned import load_upscaler

            load_upscaler(file)  # either kind of model file: critical or temperature-conditioned
        else:
            json.loads(file.read_text())
    except Exception as exc:  # noqa: BLE001 - any failure to read back is the same refusal
        raise ValueError(f"{file} is not a readable {stage} result ({type(exc).__name__}: {exc})") from None


def _checkpoint_progress(file: Path) -> tuple[int, int]:
    """(epochs done, samples into the next) of a training checkpoint; ValueError if it is not one."""
    import torch

    from dreamrg.train import checkpoint_error

    try:
        # tensors and plain data only: a crafted pickle is refused, never run
        state = torch.load(file, weights_only=True, map_location="cpu")
        assert isinstance(state, dict) and state.get("format") == "dreamrg-checkpoint"
        inside = state.get("inside_epoch") or {}
        return int(state["epoch"]), int(inside.get("next", 0))
    except Exception as exc:  # noqa: BLE001 - any failure to read back is the same refusal
        why = "not a dreamrg training checkpoint" if isinstance(exc, AssertionError) else checkpoint_error(exc)
        raise ValueError(f"{file} is not a readable training checkpoint ({why})") from None


def _newer_checkpoint(src: Path, dst: Path) -> bool:
    """Whether the checkpoint ``src`` is further along than ``dst`` (or ``dst`` has none)."""
    return not dst.is_file() or _checkpoint_progress(src) > _checkpoint_progress(dst)


def _copy_atomic(src: Path, dst: Path) -> None:
    from dreamrg._integrity import write_atomic

    dst.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(dst, src.read_bytes())


def _entries(root: Path, stages: list[str]):
    for stage in stages:
        folder = root / stage
        if folder.is_dir():
            for path in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
                yield stage, path


def export_results(dest: str | os.PathLike, stages: list[str] | None = None) -> CarryReport:
    """Copy every finished result of the data directory (and every unfinished streamed run's finished chains)
    into the carry directory ``dest``.

    Entries made by other versions of their stage's code are skipped. Every result is read
    back first (a model file loads); a damaged one is one ``ValueError`` before anything is
    written. A result already in ``dest`` is left as it is; once an entry's result is
    carried, the chains or checkpoint carried for it before are removed (the result replaces
    them). Each file is written in one rename.
    """
    from dreamrg.mcrg import RUN_FILE, export_finished

    dest, report = Path(dest), CarryReport()
    entries = list(_entries(data_dir(), _stages(stages)))
    for stage, path in entries:  # every finished result is checked before anything is written
        if _entry_params(path, stage) is not None and (path / _result_file(stage)).is_file():
            _check_result(path / _result_file(stage), stage)
    for stage, path in entries:
        name = f"{stage}/{path.name}"
        info = _entry_params(path, stage)
        if info is None:
            report.stale.append(name)
            continue
        result, target = path / _result_file(stage), dest / stage / path.name
        if result.is_file():
            if (target / result.name).is_file():
                report.present.append(name)
            else:
                _copy_atomic(path / "params.json", target / "params.json")
                _copy_atomic(result, target / result.name)
                report.copied.append(name)
            shutil.rmtree(target / _RUN, ignore_errors=True)
            (target / _CHECKPOINT).unlink(missing_ok=True)
        elif stage == "mcrg" and (path / _RUN / RUN_FILE).is_file():
            if export_finished(path / _RUN, target / _RUN) or (target / _RUN).is_dir():
                if not (target / "params.json").is_file():
                    _copy_atomic(path / "params.json", target / "params.json")
                report.partial.append(name)
        elif stage == "models" and (path / _CHECKPOINT).is_file():
            if _newer_checkpoint(path / _CHECKPOINT, target / _CHECKPOINT):
                _copy_atomic(path / "params.json", target / "params.json")
                _copy_atomic(path / _CHECKPOINT, target / _CHECKPOINT)
            report.partial.append(name)
    return report


def import_results(src: str | os.PathLike, stages: list[str] | None = None) -> CarryReport:
    """Copy into the data directory every result of the carry directory ``src`` that it lacks.

    Everything in ``src`` is checked before anything is written: each ``params.json``
    against its entry's name (an edited or foreign entry is one clear ``ValueError``) and
    each result read back (a model file loads). Streamed runs carried in part are imported
    chain by chain (:func:`dreamrg.mcrg.import_finished`). An entry the data directory
    already finished is left as it is; entries of other code versions are skipped.
    """
    src, report = Path(src), CarryReport()
    if not src.is_dir():
        raise ValueError(f"{src} is not a carry directory (no such directory)")
    todo = [(stage, path, _checked(stage, path, report)) for stage, path in _entries(src, _stages(stages))]
    for stage, path, result in todo:
        if result is not False:
            _import_one(stage, path, result, report)
    return report


def import_entry(path: str | os.PathLike, stage: str) -> CarryReport:
    """:func:`import_results` of the one carried entry ``path`` of ``stage`` (checked the same way)."""
    path, report = Path(path), CarryReport()
    result = _checked(stage, path, report)
    if result is not False:
        _import_one(stage, path, result, report)
    return report


def _checked(stage: str, path: Path, report: CarryReport) -> Path | None | bool:
    """A carried entry's result file, None for a streamed run carried in part, False if stale; raises if damaged."""
    from dreamrg.mcrg import RUN_FILE

    if _entry_params(path, stage) is None:
        report.stale.append(f"{stage}/{path.name}")
        return False
    result = path / _result_file(stage)
    if result.is_file():
        _check_result(result, stage)
        return result
    if stage == "mcrg" and (path / _RUN / RUN_FILE).is_file():
        return None
    if stage == "models" and (path / _CHECKPOINT).is_file():
        _checkpoint_progress(path / _CHECKPOINT)
        return None
    raise ValueError(f"{path} holds neither a result ({result.name}) nor a carried run ({_RUN}/ or {_CHECKPOINT})")


def _import_one(stage: str, path: Path, result: Path | None, report: CarryReport) -> None:
    from dreamrg.mcrg import import_finished

    name, target = f"{stage}/{path.name}", data_dir() / stage / path.name
    if (target / _result_file(stage)).is_file():
        report.present.append(name)
        return
    if not (target / "params.json").is_file():
        _copy_atomic(path / "params.json", target / "params.json")
    if result is not None:
        _copy_atomic(result, target / result.name)
        report.copied.append(name)
    elif stage == "models":
        if _newer_checkpoint(path / _CHECKPOINT, target / _CHECKPOINT):  # never behind the local one
            _copy_atomic(path / _CHECKPOINT, target / _CHECKPOINT)
        report.partial.append(name)
    else:
        import_finished(path / _RUN, target / _RUN)
        report.partial.append(name)
