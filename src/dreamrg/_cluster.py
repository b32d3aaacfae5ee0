"""Where independent units of work run: in this process, or on a Dask cluster.

Every heavy stage of dreamrg splits into independent units -- Monte Carlo chains,
dreaming batches, MCRG chunks, trainings of different models -- each of which
depends only on its own seeds (``numpy.random.SeedSequence``) and writes or
returns its own result. This module decides where those units run; it never
changes what they compute, so a run gives bit-identical results in process,
on a :class:`distributed.LocalCluster`, or on a remote cluster, whatever the
number of workers.

The scheduler is named by a string (the ``--scheduler`` option of the CLI, or
the environment variable :data:`ENV` when the option is absent):

``None`` or ``""``
    run the units here, in order (the default).
``"local:N"``
    start a :class:`distributed.LocalCluster` of ``N`` worker processes (one
    thread each, numba limited to one thread) for the duration of the run.
``"tcp://host:port"`` (or any address :class:`distributed.Client` accepts)
    connect to a running Dask scheduler, e.g. one started by ``dask-jobqueue``
    on SLURM/PBS (see the book's "Running on a cluster").

Cached recipes (:mod:`dreamrg.runs`) also take the client of the innermost
:func:`use` block when none is passed to them (:func:`current`): that is how
``dreamrg book --scheduler`` runs the Monte Carlo and dreaming behind the
experiments' functions on a cluster without threading a client through every
call. Nothing else changes: without a ``use`` block they run in process.

A worker that dies mid-task (killed, out of memory) has its task rerun by Dask
on another worker; a task that raises is retried ``retries`` times. Units are
written to be idempotent (a rerun produces the same bytes), which is what makes
both safe. Dask ships functions and results between processes with pickle: only
connect to a scheduler you trust, as you would for any Dask cluster.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

#: environment variable naming the scheduler when no ``--scheduler`` is given
ENV = "DREAMRG_SCHEDULER"

_LOCAL = re.compile(r"local:(\d+)")
_ADDRESS = re.compile(r"([a-z][a-z0-9+.-]*://\S+|[\w.-]+:\d+)")


class SchedulerError(ValueError):
    """A scheduler specification is malformed or its cluster cannot be reached."""


@dataclass(frozen=True)
class Scheduler:
    """A parsed scheduler specification (see the module docstring)."""

    kind: str  # "here", "local" or "address"
    n_workers: int | None = None
    address: str | None = None

    @property
    def distributed(self) -> bool:
        return self.kind != "here"

    def describe(self) -> str:
        if self.kind == "here":
            return "in process"
        if self.kind == "local":
            return f"a local Dask cluster of {self.n_workers} worker process(es)"
        return f"the Dask scheduler at {self.address}"


def parse(spec: str | None) -> Scheduler:
    """Parse a scheduler specification; one clear :class:`SchedulerError` if it is malformed."""
    if spec is None or not str(spec).strip():
        return Scheduler("here")
    s = str(spec).strip()
    m = _LOCAL.fullmatch(s)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise SchedulerError(f"scheduler {s!r}: a local cluster needs at least 1 worker (local:N, N ≥ 1)")
        return Scheduler("local", n_workers=n)
    if s.startswith("local"):
        raise SchedulerError(f"scheduler {s!r} is malformed; allowed: local:N with N ≥ 1 worker processes")
    if _ADDRESS.fullmatch(s):
        return Scheduler("address", address=s)
    raise SchedulerError(f"scheduler {s!r} is not understood; allowed: local:N (N ≥ 1 worker processes), "
                         "a scheduler address such as tcp://host:8786, or nothing (run in process)")


def resolve(spec: str | None = None) -> Scheduler:
    """The scheduler to use: ``spec`` if given, else the environment variable :data:`ENV`, else in process."""
    if spec is None or not str(spec).strip():
        spec = os.environ.get(ENV) or None
    return parse(spec)


@contextmanager
def connect(spec: str | Scheduler | None = None, *, timeout: float = 30.0) -> Iterator[Any]:
    """A :class:`distributed.Client` for ``spec`` (``None`` when the units run in process).

    A local cluster is started here and closed on exit; a remote scheduler is only
    connected to (and left running).
    """
    sched = spec if isinstance(spec, Scheduler) else resolve(spec)
    if not sched.distributed:
        yield None
        return
    from distributed import Client, LocalCluster

    if sched.kind == "local":
        cluster = LocalCluster(n_workers=sched.n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0",  # any free port: two clusters never clash
                               env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(sched.address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {sched.address}: {exc}") from exc
    try:
        yield client
    finally:
        client.close()


_CURRENT: ContextVar[Any] = ContextVar("dreamrg_dask_client", default=None)


@contextmanager
def use(client: Any) -> Iterator[Any]:
    """Within this block, :func:`current` is ``client`` (None: in process): the cached recipes' default."""
    token = _CURRENT.set(client)
    try:
        yield client
    finally:
        _CURRENT.reset(token)


def current() -> Any:
    """The client of the innermost :func:`use` block, or None (run in process)."""
    return _CURRENT.get()


def _numba_guard() -> None:
    """Reconcile numba's thread count with ``NUMBA_NUM_THREADS`` in a worker process, before a unit runs.

    A worker spawned from a script that imports numba at its top re-imports the
    script before the nanny sets the worker's environment: numba's configuration
    then holds the core count while the environment says 1, and numba's next
    compilation raises once its threads are up ("Cannot set NUMBA_NUM_THREADS ...").
    Here the environment is applied if the threads are not up yet; else it is made
    to agree with the threads that are, and this thread uses at most the asked number.
    """
    import sys

    numba = sys.modules.get("numba")
    want = os.environ.get("NUMBA_NUM_THREADS")
    if numba is None or want is None or not want.isdigit() or int(want) == numba.config.NUMBA_NUM_THREADS:
        return
    from numba.np.ufunc import parallel

    if not parallel._is_initialized:
        numba.config.reload_config()
        return
    os.environ["NUMBA_NUM_THREADS"] = str(numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(max(1, min(int(want), numba.config.NUMBA_NUM_THREADS)))


def _run(fn: Callable[[Any], Any], unit: Any, _previous: Any = None) -> Any:
    """``fn(unit)`` on a worker; ``_previous`` is the result of the unit this one follows (only its
    completion matters)."""
    _numba_guard()
    return fn(unit)


def map_units(fn: Callable[[Any], Any], units: Sequence[Any], *, client: Any = None, name: str = "unit",
              retries: int = 2, on_result: Callable[[int, Any], None] | None = None,
              after: Sequence[int | None] | None = None) -> list[Any]:
    """``[fn(u) for u in units]``, in process (``client`` None) or as Dask tasks.

    ``on_result(i, result)`` is called in this process as each unit finishes (in
    unit order in process, in completion order on a cluster); use it for
    progress or to record completion. The returned list is always in unit order.

    ``after[i]``, if given and not None, is the index (< i) of a unit that must
    finish before unit ``i`` starts (the segments of one Monte Carlo chain, say);
    units without such a link run in any order, anywhere. In process the units
    run in list order, which respects every link.
    """
    units = list(units)
    results: list[Any] = [None] * len(units)
    if after is not None:
        after = list(after)
        if len(after) != len(units) or any(a is not None and not 0 <= a < i for i, a in enumerate(after)):
            raise ValueError("after[i] must be None or the index of an earlier unit, one entry per unit")
    if client is None:
        for i, u in enumerate(units):
            results[i] = fn(u)
            if on_result is not None:
                on_result(i, results[i])
        return results
    from distributed import as_completed

    tag = uuid.uuid4().hex[:12]  # keys unique to this call
    futures: list[Any] = []
    for i, u in enumerate(units):
        key = f"dreamrg-{name}-{i}-{tag}"
        previous = futures[after[i]] if after is not None and after[i] is not None else None
        futures.append(client.submit(_run, fn, u, previous, key=key, retries=retries, pure=False))
    index = {f.key: i for i, f in enumerate(futures)}
    try:
        for fut in as_completed(futures):
            i = index[fut.key]
            results[i] = fut.result()
            if on_result is not None:
                on_result(i, results[i])
    finally:
        for f in futures:
            f.release()
    return results
