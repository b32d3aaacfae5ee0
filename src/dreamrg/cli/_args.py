"""Argument types, input and output checks and output helpers shared by the ``dreamrg`` commands."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path

from dreamrg._checks import json_safe
from dreamrg.observables import SizeSummary, format_estimate



class UsageError(Exception):
    """Bad input detected after argument parsing."""


MAX_INT = 2**63 - 1


def _shown(text: str) -> str:
    """``text`` for an error message, shortened if long (a 5000-digit number is not echoed)."""
    return repr(text) if len(text) <= 40 else f"{text[:20]!r}... ({len(text)} characters)"


def _int_arg(minimum: int | None = None, maximum: int = MAX_INT):
    """An argparse ``type``: a decimal integer in [minimum, maximum], with a clear message otherwise.

    Numbers of any length are refused by their digit count, before Python's limit on
    converting long digit strings ("4300 digits") could be reached.
    """
    def parse(text: str) -> int:
        t = text.strip().replace("_", "")
        if not re.fullmatch(r"[+-]?[0-9]+", t):
            raise argparse.ArgumentTypeError(f"expected an integer, got {_shown(text)}")
        bound = f"an integer ≥ {minimum}" if minimum is not None else "an integer"
        if len(t.lstrip("+-").lstrip("0")) > len(str(maximum)):
            raise argparse.ArgumentTypeError(f"must be {bound} and ≤ {maximum}; got a number of "
                                             f"{len(t.lstrip('+-'))} digits")
        value = int(t)
        if (minimum is not None and value < minimum) or value > maximum:
            raise argparse.ArgumentTypeError(f"must be {bound} and ≤ {maximum}; got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


_positive_int = _int_arg(1)


_nonnegative_int = _int_arg(0)


def _positive_float(text: str) -> float:
    """An argparse ``type``: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {_shown(text)}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0; got {_shown(text)}")
    return value


def _out_path(text: str) -> Path:
    """An argparse ``type`` for an output path: it must name something to create (not '', '.' or '/')."""
    path = Path(text)
    if not text.strip() or path.name in ("", ".", ".."):
        raise argparse.ArgumentTypeError(f"must name a file or directory to write, such as ./run1; got {text!r}")
    return path


def _add_scheduler(parser: argparse.ArgumentParser) -> None:
    """The ``--scheduler`` option shared by the commands whose units can run on a Dask cluster."""
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run the independent units on Dask: local:N (a local cluster of N worker processes) "
                             "or a scheduler address (tcp://host:8786); default $DREAMRG_SCHEDULER, else in "
                             "process. Results are identical either way")


@contextlib.contextmanager
def _scheduler(args: argparse.Namespace):
    """The Dask client of ``args.scheduler`` (None in process); a malformed one is a usage error."""
    from dreamrg import _cluster

    try:
        sched = _cluster.resolve(getattr(args, "scheduler", None))
    except _cluster.SchedulerError as exc:
        raise UsageError(str(exc)) from None
    with _cluster.connect(sched) as client:
        yield client


def _print_json(obj) -> None:
    """Print ``obj`` as JSON; NaN and ±inf (undefined numbers) become ``null``, so the output is always JSON."""
    print(json.dumps(json_safe(obj), indent=1, allow_nan=False))


def _fmt(value, error) -> str:
    """``value(error)`` for a table; ``n/a`` for an undefined value or error bar."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if error is None or math.isnan(error) or math.isinf(error):
        return f"{value:.6g}(n/a)"
    return format_estimate(value, error)


class _Huge(int):
    """A count written with more digits than any store holds (kept as its number of digits)."""


def _count(text: str) -> int:
    """A number of configurations or chains: a whole number (its range is checked by :func:`_check_count`)."""
    digits = text.strip()
    body = digits[1:] if digits[:1] in "+-" else digits
    if not body.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}")
    return _Huge(len(body)) if len(body) > 30 else int(digits)


def _check_count(flag: str, n: int) -> int:
    from dreamrg.store import MAX_COUNT

    if isinstance(n, _Huge) or not 1 <= n <= MAX_COUNT:
        shown = f"a {int(n)}-digit number" if isinstance(n, _Huge) else str(n)
        raise UsageError(f"{flag} must be between 1 and {MAX_COUNT} (2**40); got {shown}")
    return n


def _print_summary(rows: list[SizeSummary]) -> None:
    names = ("abs_m", "e", "chi", "c_me", "c", "U4")
    print(f"{'L':>5} {'n':>9}  " + "  ".join(f"{n:>16}" for n in names) + f"  {'tau_m2':>8} {'tau_e':>8}")
    for r in rows:
        cells = "  ".join(f"{_fmt(est.value, est.error):>16}" for est in map(r.observable, names))
        taus = "".join(f" {'-':>8}" if tau is None else f" {'n/a':>8}" if not math.isfinite(tau.value)
                       else f" {tau.value:8.2f}" for tau in (r.tau_int_m2, r.tau_int_e))
        print(f"{r.L:>5} {r.n:>9}  {cells} {taus}")


def _print_mcrg(results, as_json: bool) -> None:
    """MCRG results (one per blocking step): their JSON (``to_dict``), or a table of the exponents."""
    if as_json:
        _print_json([r.to_dict() for r in results])
        return
    print(f"{'step':>11} {'n':>8} {'y_h':>14} {'y_t':>12} {'y_redundant':>12} {'omega':>12}")
    for r in results:
        print(f"{r.L_fine:>5}->{r.L_coarse:<5} {r.n_configs:>8} {_fmt(r.y_h, r.y_h_err):>14} "
              f"{_fmt(r.y_t, r.y_t_err):>12} {_fmt(r.y_r1, r.y_r1_err):>12} "
              f"{_fmt(r.omega, r.omega_err):>12}")


def _input_kind(path: Path) -> str:
    """``"store"`` or ``"ensemble"``: what ``path`` holds, read from its ``zarr.json`` and opened once;
    UsageError naming the file otherwise."""
    from dreamrg.dream import is_ensemble, open_ensemble
    from dreamrg.store import open_store

    meta = path / "zarr.json"
    if not path.exists():
        raise UsageError(f"{path} is neither a configuration store nor a dreamed ensemble: it does not exist"
                         + (" (a dangling symlink)" if path.is_symlink() else ""))
    if not meta.is_file():
        raise UsageError(f"{path} is neither a configuration store nor a dreamed ensemble (no zarr.json)")
    try:
        doc = json.loads(meta.read_bytes().decode("utf-8"))
    except ValueError as exc:  # invalid JSON or UTF-8, or an integer beyond Python's digit limit
        why = "an integer in it has too many digits" if "digits" in str(exc) else " ".join(str(exc).split())[:120]
        raise UsageError(f"{meta} is damaged: not valid JSON ({why})") from None
    if not isinstance(doc, dict) or doc.get("node_type") not in ("array", "group"):
        raise UsageError(f"{meta} is damaged or foreign: not the metadata of a zarr array or group")
    if doc["node_type"] == "array":
        with _reading(path):
            open_store(path)
        return "store"
    if is_ensemble(path):
        with _reading(path):
            open_ensemble(path)
        return "ensemble"
    raise UsageError(f"{path} is a zarr group but neither a configuration store nor a dreamed ensemble")


@contextlib.contextmanager
def _reading(path: Path):
    """Errors while reading ``path`` that do not name it get its name (one line)."""
    try:
        yield
    except UsageError:
        raise
    except (ValueError, KeyError, TypeError) as exc:  # zarr's own complaints about damaged metadata
        if isinstance(exc, ValueError) and str(path) in str(exc):
            raise
        what = f"missing field {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())
        raise UsageError(f"cannot read {path} (damaged metadata?): {what}") from None


def _nearest_existing(path: Path) -> Path:
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def _check_output_file(path: Path, what: str = "--out") -> Path:
    """Check an output file before any work; return the real path to write (symlinks followed).

    Refuses a dangling symlink, a directory or other non-file, and a path whose nearest
    existing ancestor is a file or cannot be written (a real probe: a read-only file
    system or missing permission shows up even for root). Writes nothing.
    """
    if path.is_symlink() and not path.exists():
        raise UsageError(f"{what} {path} is a dangling symlink (to {os.readlink(path)}); "
                         "remove it or give another path")
    real = path.resolve()
    if real.is_dir():
        raise UsageError(f"{what} {path} is a directory; give a file name such as model.json")
    if os.path.lexists(real) and not real.is_file():
        raise UsageError(f"{what} {path} exists and is not a regular file")
    parent = _nearest_existing(real.parent)
    if not parent.is_dir():
        raise UsageError(f"cannot write {what} {path}: {parent} is a file, not a directory")
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write {what} {path}: {parent} is not writable ({exc.strerror})") from None
    return real


def _check_replaceable_model(given: Path, old: dict | None, meta: dict, keys: tuple[str, ...]) -> None:
    """An existing ``--out`` (``given``) may be replaced only by the run that wrote it (re-running the same command).

    ``old`` is the ``meta`` of the model file there (None: not a dreamrg model file); it must agree with
    this run's ``meta`` on ``keys`` (compared as JSON). UsageError otherwise.
    """
    if old is None:
        raise UsageError(f"--out {given} exists and is not a dreamrg model file; refusing to overwrite it "
                         "(choose another --out or remove it)")
    if any(json.loads(json.dumps(old.get(key))) != json.loads(json.dumps(meta.get(key))) for key in keys):
        raise UsageError(f"--out {given} holds a model of another training run (other options or data); "
                         "refusing to overwrite it (choose another --out or remove it)")


def _refuse_unconverged(msg: str, allow: bool) -> bool:
    """An exact fit that did not converge (``msg`` says how): one error line and True (write nothing), or,
    with ``--allow-unconverged`` (``allow``), a warning and False."""
    if not allow:
        print(f"dreamrg: error: {msg}; nothing written (--allow-unconverged writes it anyway)", file=sys.stderr)
        return True
    print(f"warning: {msg}; writing it as asked (--allow-unconverged)")
    return False


def _check_free_space(real: Path, need: int, what: str) -> None:
    """UsageError if the file system of ``real`` has less than ``need`` bytes free (checked before any work)."""
    st = os.statvfs(_nearest_existing(real.parent))
    free = st.f_bavail * st.f_frsize
    if free < need:
        raise UsageError(f"not enough space for {what} {real}: {free / 1024:.0f} KiB free on its file system, "
                         f"about {need / 1024:.0f} KiB needed; free some space or choose another --out")


_PATH_ERRORS = (FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError, FileExistsError)


_OS_HINTS = {
    errno.ENOSPC: "free some space and run the same command again (finished work is kept)",
    errno.EDQUOT: "free some space and run the same command again (finished work is kept)",
    errno.EROFS: "write somewhere else (another --out, or DREAMRG_DATA for the cache)",
    errno.EACCES: "write somewhere else or change the permissions",
    errno.EPERM: "write somewhere else or change the permissions",
    errno.ENOTDIR: "a part of this path is a file, not a directory",
    errno.EISDIR: "give a file, not a directory",
    errno.ENOENT: "check the path (a dangling symlink reads so too)",
    errno.ELOOP: "check the symbolic links on this path",
    errno.ENAMETOOLONG: "use a shorter name",
    errno.EIO: "the device failed; check it, then run the same command again",
}


def _os_error_message(exc: OSError) -> str:
    """One line for an OS error: the path(s), what failed and what to do."""
    paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    reason = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
    text = f"{paths}: {reason}" if paths else reason
    hint = _OS_HINTS.get(exc.errno)
    return f"{text}; {hint}" if hint else text

