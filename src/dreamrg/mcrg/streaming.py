"""MCRG straight from Monte Carlo, over chains, without storing a configuration.

A Monte Carlo run of :mod:`dreamrg.mc` is made of chains: chunk ``j`` is segment
``j // chains`` of chain ``j % chains``. Here each chain is a unit of work: it
advances through its chunks (:func:`dreamrg.mc.stream_segments`), and each chunk
is blocked and accumulated under its global index ``j``
(:func:`~dreamrg.mcrg.accumulate_chunk`: the tie-breaks and jackknife bins of
the stored run), merged into the chain's accumulators, then dropped. The
coordinator reduces the chains' accumulators, which merge exactly in any order
(:meth:`~dreamrg.mcrg.MCRGAccumulator.merge`), so the result equals bit for bit
:func:`~dreamrg.mcrg.accumulate_store` of the store :func:`dreamrg.mc.run` would
fill with the same parameters -- in process or with the chains as Dask tasks
(:mod:`dreamrg._cluster`) -- while memory and disk stay at a few MB per chain
(at L = 1024, 10^6 configurations would fill 131 GB).

The run directory holds ``run.json`` (what the run is: the Monte Carlo
parameters, ``n_configs`` and the analysis) and one checkpoint per chain,
``chains/<c>.npz`` (plain arrays, read with ``allow_pickle=False``): the
chain's state (:func:`dreamrg._mc_checkpoint.to_arrays`), its accumulators
(``level<k>.*``, :meth:`~dreamrg.mcrg.MCRGAccumulator.to_arrays`) and a JSON
``record`` (segments done, configurations, seconds). A chain checkpoints after
a chunk when ``checkpoint_seconds`` have passed since its last checkpoint, and
after its last chunk, each time in one atomic rename; state and accumulators
are in one file, so a killed run resumes every chain exactly after the chunks
its accumulators hold: no chunk is lost or counted twice. On a cluster the
directory must be on storage the workers share.

**Carrying a run between machines.** Where two machines share no storage (a
sitting on one machine, the next on a new one), :func:`export_finished` copies
the *finished* chains of a run to a small directory of the same layout: each
chain's accumulators and record, compressed, without its Monte Carlo state
(which a finished chain no longer needs; ~0.2 MB per chain at L = 1024, two
steps). :func:`import_finished` puts them into a run directory elsewhere, which
then computes only the other chains; the reduction is the same, bit for bit.
:func:`stream_progress` reads such a directory too.
"""

from __future__ import annotations

import functools
import json
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dreamrg.mcrg.accumulator import MCRGAccumulator
from dreamrg.mcrg.drivers import (_check_levels, _check_order, _check_truncation, accumulate_chunk_conventions,
                                 chain_order_first, reduce)
from dreamrg.mcrg.results import MCRGResult
from dreamrg.mcrg.spin_operators import check_boundary, get_basis

if TYPE_CHECKING:
    from dreamrg.mc import MCParams

__all__ = ["accumulate_mc", "accumulate_mc_conventions", "mcrg_from_mc", "mcrg_from_mc_conventions",
           "stream_progress", "StreamProgress", "export_finished", "import_finished", "RUN_KIND", "RUN_FILE"]

#: ``kind`` of a run directory of :func:`accumulate_mc` (in ``run.json`` and every chain's record)
RUN_KIND = "dreamrg-mcrg-from-mc-chains"
#: the file naming what a run directory holds
RUN_FILE = "run.json"
_CHAINS = "chains"


def _run_key(params: MCParams, n_configs: int, levels: int, seed: int, n_bins: int,
             conventions: list[tuple[str, str]], order: str = "run") -> dict:
    """What a run directory must match to be resumed: the Monte Carlo and the analysis.

    The first convention is ``basis``/``boundary``; further ones (accumulated in the same
    pass) are listed under ``also``, which a run of one convention does not have; likewise
    ``order`` only when it is ``"chain"``.
    """
    (basis, boundary), *also = conventions
    key = {"kind": RUN_KIND, "mc": params.store_meta(), "n_configs": int(n_configs), "levels": int(levels),
           "seed": int(seed), "n_bins": int(n_bins), "basis": basis, "boundary": boundary}
    return key | ({"also": [list(c) for c in also]} if also else {}) | \
        ({"order": order} if _check_order(order) != "run" else {})


def _differs(have: dict, key: dict) -> list[str]:
    """The fields of the run ``key`` in which ``have`` (a run file or a chain's record) differs from it."""
    return sorted(k for k in set(key) | {"also", "order"} if have.get(k) != key.get(k))


def _conventions(key: dict) -> list[tuple[str, str]]:
    """The ``(basis, boundary)`` pairs a run accumulates, the first one first."""
    return [(key["basis"], key["boundary"])] + [(b, bd) for b, bd in key.get("also", [])]


def _prefix(i: int, level: int) -> str:
    """Name prefix of convention ``i``'s accumulator of step ``level`` in a checkpoint."""
    return f"level{level}." if i == 0 else f"also{i - 1}.level{level}."


def chain_file(run_dir: str | Path, chain: int) -> Path:
    """The checkpoint of chain ``chain`` in a run directory."""
    return Path(run_dir) / _CHAINS / f"{int(chain)}.npz"


def _damaged(file: Path, why: str) -> ValueError:
    return ValueError(f"{file} is not a readable checkpoint of this MCRG-from-MC run ({why}); delete it to "
                      "recompute that chain")


def _read_record(file: Path, key: dict) -> dict | None:
    """The JSON record of a chain checkpoint (None if there is none); ValueError if damaged or foreign."""
    try:
        with np.load(file, allow_pickle=False) as z:
            record = json.loads(str(z["record"][()]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise _damaged(file, str(exc) or type(exc).__name__) from None
    if not isinstance(record, dict) or _differs(record, key):
        raise _damaged(file, "it belongs to another run")
    return record


def _load_chain(file: Path, key: dict, L: int, target: int):
    """(state, accumulators per convention and step, record) of a chain checkpoint, or None if there is none.

    ``target``: the chain's configurations in all. A finished chain's checkpoint may
    hold no Monte Carlo state (as :func:`export_finished` writes it); its state is then None.
    """
    from dreamrg import _mc_checkpoint

    record = _read_record(file, key)
    if record is None:
        return None
    try:
        with np.load(file, allow_pickle=False) as z:
            state = _mc_checkpoint.from_arrays(z, L) if "spins" in z.files else None
            accs = [[MCRGAccumulator.from_arrays({k[len(_prefix(i, lv)):]: z[k] for k in z.files
                                                  if k.startswith(_prefix(i, lv))}) for lv in range(key["levels"])]
                    for i in range(len(_conventions(key)))]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise _damaged(file, str(exc)) from None
    if state is None and record["configs"] != target:
        raise _damaged(file, f"it holds no chain state, but its chain has {record['configs']} of {target} "
                       "configurations (only finished chains are carried without their state)")
    if (state is not None and state.segments != record["segments"]) or \
            any(a.count != record["configs"] for conv in accs for a in conv):
        raise _damaged(file, "its state, accumulators and record disagree")
    return state, accs, record


def _save_chain(file: Path, state, accs: list[list[MCRGAccumulator]], record: dict) -> None:
    """Write a chain's checkpoint in one rename, unless one further along is there (a duplicated task).

    ``state`` None (a finished chain, carried): the accumulators and record only, compressed.
    """
    import io

    from dreamrg import _mc_checkpoint
    from dreamrg._integrity import write_atomic

    try:
        on_disk = _read_record(file, {"kind": RUN_KIND, "also": record.get("also"), "order": record.get("order")})
    except ValueError:
        on_disk = None
    if on_disk is not None and on_disk.get("segments", -1) >= record["segments"]:
        return
    arrays = _mc_checkpoint.to_arrays(state) if state is not None else {}
    arrays |= {"record": np.array(json.dumps(record, sort_keys=True))}
    for i, conv in enumerate(accs):
        for lv, acc in enumerate(conv):
            arrays |= {f"{_prefix(i, lv)}{k}": v for k, v in acc.to_arrays().items()}
    buf = io.BytesIO()
    (np.savez if state is not None else np.savez_compressed)(buf, **arrays)
    file.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(file, buf.getvalue())


@dataclass(frozen=True)
class _Unit:
    """Chains advanced together (one kernel call per round): a task of :func:`accumulate_mc`."""

    params: MCParams
    n_configs: int
    run_dir: str
    chains: tuple[int, ...]
    key: dict
    threads: int | None
    checkpoint_seconds: float


def _advance_chains(unit: _Unit, on_chunk=None) -> list[dict]:
    """Advance ``unit.chains`` from their checkpoints to their last chunk; returns their final records.

    ``on_chunk(rows)`` is called after each chunk is accumulated (in process, for a progress bar).
    """
    from dreamrg import mc
    from dreamrg.store import n_chunks

    p, key = unit.params, unit.key
    total = n_chunks(unit.n_configs, p.chunk_size)
    targets = _targets(p, unit.n_configs)
    works, states, accs, records, files, finished = [], [], [], [], [], []
    convs = _conventions(key)
    for c in unit.chains:
        file = chain_file(unit.run_dir, c)
        loaded = _load_chain(file, key, p.L, targets[c])
        if loaded is not None and loaded[2]["configs"] == targets[c]:
            finished.append(loaded[2])  # done meanwhile (a duplicated task, or carried in)
            continue
        if loaded is None:
            state, acc = None, [[MCRGAccumulator(key["n_bins"], n_expected=unit.n_configs, level=k, basis=b,
                                                 boundary=bd) for k in range(key["levels"])] for b, bd in convs]
            record = key | {"chain": c, "segments": 0, "configs": 0, "seconds_mc": 0.0, "seconds_mcrg": 0.0}
        else:
            state, acc, record = loaded
        works.append(mc.segments(p, unit.n_configs, c, record["segments"], total))
        states.append(state), accs.append(acc), records.append(record), files.append(file)
    if not works:
        return finished
    saved = [time.monotonic()] * len(works)
    stream = mc.stream_segments(p, unit.n_configs, works, states, parallel=len(works))
    while True:
        t0 = time.perf_counter()
        item = next(stream, None)
        if item is None:
            break
        i, j, configs, state = item
        t1 = time.perf_counter()
        first = chain_order_first(j, p.chunk_size, unit.n_configs, p.chains) if key.get("order") == "chain" else None
        part = accumulate_chunk_conventions(configs, j, chunk_size=p.chunk_size, n_total=unit.n_configs,
                                            levels=key["levels"], seed=key["seed"], n_bins=key["n_bins"],
                                            conventions=convs, threads=unit.threads, check=False, first=first)
        for conv, mine in zip(convs, accs[i]):
            for acc, piece in zip(mine, part[conv]):
                acc.merge(piece)
        r = records[i]
        r |= {"segments": state.segments, "configs": r["configs"] + len(configs),
              "seconds_mc": r["seconds_mc"] + (t1 - t0), "seconds_mcrg": r["seconds_mcrg"] + time.perf_counter() - t1}
        if state.segments == works[i].first + len(works[i].chunks) or \
                time.monotonic() - saved[i] >= unit.checkpoint_seconds:
            _save_chain(files[i], state, accs[i], r)
            saved[i] = time.monotonic()
        if on_chunk is not None:
            on_chunk(len(configs))
    return finished + records


@dataclass(frozen=True)
class StreamProgress:
    """How far a run of :func:`accumulate_mc` has got, read from its checkpoints (nothing computed).

    ``configs`` of ``n_configs`` are accumulated, in ``chains_done`` finished chains of ``chains``;
    ``seconds_mc`` and ``seconds_mcrg`` are the compute times recorded so far.
    """

    n_configs: int
    configs: int
    chains: int
    chains_done: int
    seconds_mc: float
    seconds_mcrg: float

    @property
    def done(self) -> bool:
        return self.configs == self.n_configs

    def to_dict(self) -> dict:
        return {"n_configs": self.n_configs, "configs": self.configs, "chains": self.chains,
                "chains_done": self.chains_done, "seconds_mc": self.seconds_mc, "seconds_mcrg": self.seconds_mcrg}


def _chains_of(params: MCParams, n_configs: int) -> range:
    from dreamrg.store import n_chunks

    return range(min(params.chains, n_chunks(n_configs, params.chunk_size)))


def _targets(params: MCParams, n_configs: int) -> dict[int, int]:
    """Configurations of each chain of the run."""
    from dreamrg import mc

    return {w.chain: sum(w.rows(i, params.chunk_size) for i in range(len(w.chunks)))
            for w in mc.plan(params, n_configs)}


def stream_progress(run_dir: str | Path) -> StreamProgress | None:
    """The progress of the run in ``run_dir`` (None if it holds none yet), from its records only.

    Safe while the run goes on (checkpoints are replaced atomically). Raises
    ``ValueError`` naming the file for a damaged or foreign run file or checkpoint.
    """
    run_dir = Path(run_dir)
    key = _read_run_file(run_dir)
    if key is None:
        return None
    targets = _targets(_params_of(key), key["n_configs"])
    records = [_read_record(chain_file(run_dir, c), key) for c in targets]
    done = [r for r in records if r is not None]
    return StreamProgress(key["n_configs"], sum(r["configs"] for r in done), len(targets),
                          sum(r["configs"] == targets[r["chain"]] for r in done),
                          sum(r["seconds_mc"] for r in done), sum(r["seconds_mcrg"] for r in done))


def _read_run_file(run_dir: Path) -> dict | None:
    file = run_dir / RUN_FILE
    try:
        key = json.loads(file.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{file} is not readable ({exc}); it names the run in {run_dir}") from None
    if not isinstance(key, dict) or key.get("kind") != RUN_KIND:
        raise ValueError(f"{file} does not describe an MCRG-from-MC run")
    return key


def _params_of(key: dict) -> MCParams:
    """The Monte Carlo parameters a run file names."""
    from dreamrg.mc import MCParams

    return MCParams(**{k: v for k, v in key["mc"].items() if k != "source"})


def _chain_numbers(folder: Path) -> list[tuple[int, Path]]:
    """(chain, file) of every ``chains/<c>.npz`` in a run directory, by chain; ValueError for a foreign name."""
    out = []
    for file in sorted((folder / _CHAINS).glob("*.npz")):
        if not file.stem.isdigit():
            raise ValueError(f"{file} is not a chain checkpoint (they are named chains/<chain>.npz)")
        out.append((int(file.stem), file))
    return sorted(out)


def export_finished(run_dir: str | os.PathLike, dest: str | os.PathLike) -> list[int]:
    """Copy the finished chains of the run in ``run_dir`` to ``dest``, to resume the run on another machine.

    ``dest`` gets the run's ``run.json`` and, for every chain that has accumulated all
    its configurations, ``chains/<c>.npz`` with its accumulators and record, compressed,
    without its Monte Carlo state. Chains already in ``dest`` are left as they are (a
    finished chain never changes); unfinished chains are not copied. Safe while the run
    goes on (it only reads checkpoints, which are replaced atomically); each file is
    written in one rename. Returns the chains copied now.

    Raises ``ValueError`` if ``run_dir`` holds no run, if ``dest`` holds another
    run, or naming a damaged checkpoint.
    """
    from dreamrg.cache import write_json_atomic

    run_dir, dest = Path(run_dir), Path(dest)
    key = _read_run_file(run_dir)
    if key is None:
        raise ValueError(f"{run_dir} holds no MCRG-from-MC run (no {RUN_FILE}); nothing to export")
    _check_same_run(dest, key, "export into it")
    params = _params_of(key)
    targets = _targets(params, key["n_configs"])
    done = []
    for c, target in targets.items():
        file, out = chain_file(run_dir, c), chain_file(dest, c)
        record = _read_record(file, key)
        if record is None or record["configs"] != target or _read_record(out, key) is not None:
            continue
        _, accs, record = _load_chain(file, key, params.L, target)
        if not done and not (dest / RUN_FILE).exists():
            dest.mkdir(parents=True, exist_ok=True)
            write_json_atomic(dest / RUN_FILE, key)
        _save_chain(out, None, accs, record)
        done.append(c)
    return done


def _check_same_run(folder: Path, key: dict, what: str) -> None:
    old = _read_run_file(folder)
    if old is not None:
        diff = _differs(old, key)
        if diff:
            raise ValueError(f"{folder} holds another run (it differs in {', '.join(diff)}); cannot {what}")


def import_finished(src: str | os.PathLike, run_dir: str | os.PathLike) -> list[int]:
    """Put the finished chains of ``src`` (written by :func:`export_finished`) into the run directory ``run_dir``.

    ``run_dir`` is created with ``src``'s ``run.json`` if it holds no run; if it holds
    one, it must be the same run. Every chain file of ``src`` is checked first (its
    record, accumulators and that the chain is finished); then each chain that
    ``run_dir`` has not finished is written there in one rename (replacing a partial
    checkpoint of that chain, which is behind it). Takes the run directory's writer
    lock, so it refuses while a run is extending it. Returns the chains imported.
    (:func:`accumulate_mc` does the same with its ``carry``.)

    Raises ``ValueError`` naming the first damaged or foreign file, or a different
    run; nothing is then written.
    """
    from dreamrg.cache import write_json_atomic
    from dreamrg.store import writer_lock

    src, run_dir = Path(src), Path(run_dir)
    key = _read_run_file(src)
    if key is None:
        raise ValueError(f"{src} holds no carried MCRG-from-MC run (no {RUN_FILE})")
    _check_same_run(run_dir, key, f"import the chains of {src}")
    carried = _read_carried(src, key)
    with writer_lock(run_dir, "MCRG run directory"):
        if _read_run_file(run_dir) is None:
            run_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(run_dir / RUN_FILE, key)
        return _write_carried(carried, run_dir, key)


def _read_carried(src: Path, key: dict) -> list[tuple[int, list[MCRGAccumulator], dict]]:
    """(chain, accumulators, record) of every chain file in a carry directory, each checked finished."""
    params = _params_of(key)
    targets = _targets(params, key["n_configs"])
    carried = []
    for c, file in _chain_numbers(src):
        if c not in targets:
            raise ValueError(f"{file}: this run has chains 0 to {len(targets) - 1}, not {c}")
        loaded = _load_chain(file, key, params.L, targets[c])
        if loaded is None or loaded[2]["configs"] != targets[c]:
            raise ValueError(f"{file}: chain {c} is not finished; only finished chains are carried")
        carried.append((c, loaded[1], loaded[2]))
    return carried


def _write_carried(carried, run_dir: Path, key: dict) -> list[int]:
    """Write the carried chains ``run_dir`` has not finished (under its writer lock); returns them."""
    targets = _targets(_params_of(key), key["n_configs"])
    done = []
    for c, accs, record in carried:
        out = chain_file(run_dir, c)
        mine = _read_record(out, key)
        if mine is not None and mine["configs"] == targets[c]:
            continue
        out.unlink(missing_ok=True)  # a partial checkpoint of this chain: behind the carried one
        _save_chain(out, None, accs, record)
        done.append(c)
    return done


def accumulate_mc(params: MCParams, n_configs: int, run_dir: str | os.PathLike, *, levels: int = 1, seed: int = 0,
                  n_bins: int = 32, basis: str = "symmetrised", boundary: str = "periodic",
                  workers: int | None = None, progress: bool | None = None, client=None,
                  checkpoint_seconds: float = 60.0, carry: str | os.PathLike | None = None,
                  order: str = "run") -> list[MCRGAccumulator]:
    """Accumulate MCRG moments of ``n_configs`` Monte Carlo configurations, chain by chain, storing none.

    :func:`accumulate_mc_conventions` with the one convention ``(basis, boundary)``; see
    there for the parameters. Returns one accumulator per blocking step, bit-identical to
    ``accumulate_store`` of the store ``dreamrg.mc.run(params, n_configs, ...)`` would fill.
    """
    return accumulate_mc_conventions(params, n_configs, run_dir, [(basis, boundary)], levels=levels, seed=seed,
                                     n_bins=n_bins, workers=workers, progress=progress, client=client,
                                     checkpoint_seconds=checkpoint_seconds, carry=carry,
                                     order=order)[(basis, boundary)]


def accumulate_mc_conventions(params: MCParams, n_configs: int, run_dir: str | os.PathLike,
                              conventions: list[tuple[str, str]], *, levels: int = 1, seed: int = 0,
                              n_bins: int = 32, workers: int | None = None, progress: bool | None = None,
                              client=None, checkpoint_seconds: float = 60.0, carry: str | os.PathLike | None = None,
                              order: str = "run") -> dict[tuple[str, str], list[MCRGAccumulator]]:
    """Accumulate MCRG moments of ``n_configs`` Monte Carlo configurations, chain by chain, storing none,
    in every ``(basis, boundary)`` convention of ``conventions`` at once.

    Parameters
    ----------
    params : dreamrg.mc.MCParams
        The Monte Carlo run (its chains and chunks: see :mod:`dreamrg.mc`).
    n_configs : int
        Configurations in all (fixes the jackknife bins and the chains' lengths).
    run_dir : path
        Directory of the run (``run.json`` and the chains' checkpoints). If it
        holds a run, that run is resumed; it must then be the same (parameters,
        ``n_configs``, analysis). A finished run is reduced at once.
    conventions : list of (basis, boundary)
        Operator bases and boundaries (:func:`dreamrg.mcrg.operators`): each chunk is
        blocked once and every convention's operators are evaluated on it, so each
        convention's accumulators are exactly those of a run with that one (a run of
        several conventions is a directory of its own; the first is its ``basis``).
    levels, seed, n_bins
        As in :func:`~dreamrg.mcrg.accumulate_store` (``seed`` is the tie-break seed).
    workers : int, optional
        Numba threads in process (default all): that many chains per kernel call.
        Does not change the result.
    progress : bool, optional
        tqdm progress bar (None: only on a terminal).
    client : distributed.Client, optional
        Run each chain as a Dask task (:func:`dreamrg._cluster.map_units`);
        ``run_dir`` must be on storage the workers share. Same result.
    checkpoint_seconds : float
        Least time between two checkpoints of one chain (a chain also
        checkpoints after its last chunk); a kill loses at most that much
        computing per chain, never data.
    carry : path, optional
        A carry directory of this run (another machine's finished chains; see
        the module docstring). Checked first; its chains are imported into
        ``run_dir`` and not computed again, and when the run stops, finished or
        interrupted, every finished chain of ``run_dir`` is exported there
        (:func:`export_finished`). Same result.
    order : {"run", "chain"}
        The order the jackknife bins take the configurations in
        (:mod:`dreamrg.mcrg.drivers`): the run's own, or chain by chain, where, with one
        chain per bin, a chain's moments fold into a single piece (a carried chain is that
        much smaller). Part of the run: a directory holds one order.

    Returns
    -------
    dict
        ``{(basis, boundary): accumulators}``, one per blocking step, each bit-identical to
        ``accumulate_store`` with that basis, boundary and order of the store
        ``dreamrg.mc.run(params, n_configs, ...)`` would fill.
    """
    import numba

    from dreamrg import mc
    from dreamrg.cache import write_json_atomic
    from dreamrg.store import check_count, writer_lock

    n_configs = check_count(n_configs)
    _check_levels(levels, params.L)
    conventions = list(dict.fromkeys((b, bd) for b, bd in conventions))
    if not conventions:
        raise ValueError("no (basis, boundary) convention given")
    for b, bd in conventions:
        get_basis(b), check_boundary(bd)
    MCRGAccumulator(n_bins, n_expected=n_configs)  # bad bins fail here
    if not checkpoint_seconds >= 0:
        raise ValueError(f"checkpoint_seconds must be ≥ 0; got {checkpoint_seconds!r}")
    threads = workers or numba.config.NUMBA_NUM_THREADS
    key = _run_key(params, n_configs, levels, seed, n_bins, conventions, order)
    run_dir = Path(run_dir)
    targets = _targets(params, n_configs)
    carried = []
    if carry is not None:
        carry = Path(carry)
        if carry.exists() and not carry.is_dir():
            raise ValueError(f"carry {carry} is a file; it names a directory of carried chains")
        _check_same_run(carry, key, "carry this run's chains there")
        if _read_run_file(carry) is not None:
            carried = _read_carried(carry, key)  # checked whole before anything is written
    # one clear error, before anything is written, if a chain does not fit in memory -- unless no chain is left to
    # run (a complete carry or a finished run is only reduced, on any machine)
    done = {c for c, _, _ in carried}
    if _read_run_file(run_dir) == key:
        records = {c: _read_record(chain_file(run_dir, c), key) for c in targets}
        done |= {c for c, r in records.items() if r is not None and r["configs"] == targets[c]}
    parallel = 1 if client is not None or done >= set(targets) else mc.parallel_chains(params, threads)
    with writer_lock(run_dir, "MCRG run directory"):
        old = _read_run_file(run_dir)
        if old is not None:
            diff = _differs(old, key)
            if diff:
                raise ValueError(f"{run_dir} holds another run (it differs in {', '.join(diff)}); give another "
                                 "directory, or delete it to start again")
        else:
            run_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(run_dir / RUN_FILE, key)
        _write_carried(carried, run_dir, key)
        try:
            return _run_chains(params, n_configs, run_dir, key, targets, threads, parallel, progress, client,
                               checkpoint_seconds, carry)
        finally:
            if carry is not None:
                export_finished(run_dir, carry)


def _run_chains(params, n_configs, run_dir, key, targets, threads, parallel, progress, client,
                checkpoint_seconds, carry=None) -> dict[tuple[str, str], list[MCRGAccumulator]]:
    """The chains of :func:`accumulate_mc` not finished in ``run_dir``, then the reduction (under its lock).

    With ``carry``, the chains finished so far are exported there as each unit of chains ends, so a
    run killed without warning (the end of a sitting) has carried every chain it finished.
    """
    from tqdm import tqdm

    from dreamrg._cluster import map_units
    from dreamrg._progress import _no_bar

    records = {c: _read_record(chain_file(run_dir, c), key) for c in targets}
    todo = [c for c in targets if records[c] is None or records[c]["configs"] < targets[c]]

    def carried() -> None:
        if carry is not None:
            export_finished(run_dir, carry)

    initial = sum(r["configs"] for r in records.values() if r is not None)
    with tqdm(total=n_configs, initial=initial, disable=_no_bar(progress), unit="cfg",
              desc=f"MC+MCRG L={params.L}") as bar:
        if client is None:
            from dreamrg._numba import numba_threads

            units = [_Unit(params, n_configs, str(run_dir), tuple(todo[i:i + parallel]), key, threads,
                           checkpoint_seconds) for i in range(0, len(todo), parallel)]
            with numba_threads(threads):
                map_units(functools.partial(_advance_chains, on_chunk=bar.update), units,
                          on_result=lambda i, recs: carried())
        else:
            units = [_Unit(params, n_configs, str(run_dir.resolve()), (c,), key, 1, checkpoint_seconds)
                     for c in todo]

            def done(i, recs):
                bar.update(sum(r["configs"] for r in recs) - (records[units[i].chains[0]] or {}).get("configs", 0))
                carried()

            map_units(_advance_chains, units, client=client, name="mcrg-stream", on_result=done)
    parts = []
    for c in targets:
        loaded = _load_chain(chain_file(run_dir, c), key, params.L, targets[c])
        if loaded is None or loaded[2]["configs"] != targets[c]:
            raise ValueError(f"{chain_file(run_dir, c)}: chain {c} did not finish; run again to resume")
        parts.append(loaded[1])
    return {conv: reduce(p[i] for p in parts) for i, conv in enumerate(_conventions(key))}


def mcrg_from_mc(params: MCParams, n_configs: int, run_dir: str | os.PathLike, *, levels: int = 1, seed: int = 0,
                 n_bins: int = 32, basis: str = "symmetrised", boundary: str = "periodic",
                 n_odd: int | None = None, n_even: int | None = None, workers: int | None = None,
                 progress: bool | None = None, client=None, checkpoint_seconds: float = 60.0,
                 carry: str | os.PathLike | None = None, order: str = "run") -> list[MCRGResult]:
    """MCRG exponents of every blocking step of :func:`accumulate_mc` (same arguments; ``n_odd``,
    ``n_even`` as in :func:`~dreamrg.mcrg.rg_exponents`)."""
    _check_truncation(basis, n_odd, n_even)  # a bad truncation fails before the work
    accs = accumulate_mc(params, n_configs, run_dir, levels=levels, seed=seed, n_bins=n_bins, basis=basis,
                         boundary=boundary, workers=workers, progress=progress, client=client,
                         checkpoint_seconds=checkpoint_seconds, carry=carry, order=order)
    return [a.result(n_odd=n_odd, n_even=n_even) for a in accs]


def mcrg_from_mc_conventions(params: MCParams, n_configs: int, run_dir: str | os.PathLike,
                             conventions: list[tuple[str, str]], *, levels: int = 1, seed: int = 0,
                             n_bins: int = 32, workers: int | None = None, progress: bool | None = None,
                             client=None, checkpoint_seconds: float = 60.0, carry: str | os.PathLike | None = None,
                             order: str = "run") -> dict[tuple[str, str], list[MCRGResult]]:
    """MCRG exponents of every convention and blocking step of :func:`accumulate_mc_conventions`
    (same arguments), ``{(basis, boundary): [result per step]}``."""
    accs = accumulate_mc_conventions(params, n_configs, run_dir, conventions, levels=levels, seed=seed,
                                     n_bins=n_bins, workers=workers, progress=progress, client=client,
                                     checkpoint_seconds=checkpoint_seconds, carry=carry, order=order)
    return {conv: [a.result() for a in steps] for conv, steps in accs.items()}
