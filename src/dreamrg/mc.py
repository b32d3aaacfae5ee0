"""Monte Carlo sampling of the 2D Ising model (Swendsen–Wang and Wolff) into a store.

Chains and chunks
-----------------
A run of ``n`` configurations fills ``ceil(n / chunk_size)`` chunks of a store,
produced by ``chains`` independent Markov chains (default :data:`DEFAULT_CHAINS`):
chunk ``j`` is segment ``j // chains`` of chain ``j % chains`` (:func:`chain_of`).
A chain starts from a random configuration, performs ``n_equil`` cluster updates
once, then records a configuration every ``thin`` updates (default ``ceil(√L)``,
as in the paper), chunk after chunk; between chunks its state (spins, PRNG state,
Wolff's cluster count) is checkpointed in ``<store>/chains/<c>.npz``
(:mod:`dreamrg._mc_checkpoint`). Chain ``c`` draws every random number from
``SeedSequence(seed, spawn_key=(stream, c, ·))``.

So chunk ``j`` is a function of the parameters (seed, stream, chains,
chunk_size, L, K, algorithm, thin, n_equil) and ``j`` alone: not of ``n``, of
the number of threads or workers, nor of interruptions. Asking for more
configurations later adds segments to the same chains, and equilibration is
paid once per chain: it is ``chains·n_equil`` of the
``chains·n_equil + n·thin`` updates of a run (:func:`update_counts`). With the
defaults (64 chains, ``n_equil = max(100, 20·thin)``, ``thin = ceil(√L)``,
chunks of 64 configurations at L = 512 and 16 at L = 1024) a run of 10^5
configurations spends 1.3 % of its updates equilibrating at L = 512 and 1024
(0.13 % at 10^6), against 24 % and 56 % when every chunk was a new chain
(``benchmarks/mc_cli_overhead.py``).

Units of work
-------------
:func:`plan` lists the chains of a run, the independent units, each with its
chunks in order (:func:`pending`: those with chunks still unrecorded).
:func:`run_chain_segment` makes sure some consecutive segments of one chain are
recorded in a store that a coordinator created (or opened with mode ``"r+"``):
it opens the store as a worker (mode ``"chunks"``: chunk files and records
only), continues the chain from its checkpoint, writes the chunks that have no
record, and checkpoints after each full chunk. That is what a distributed
scheduler runs as tasks (segments of one chain in order; chains in any order,
anywhere), each worker writing straight to the shared store; the coordinator
then learns of the chunks (:meth:`dreamrg.store.ConfigStore.recorded`) and
writes the count (:meth:`~dreamrg.store.ConfigStore.sync_count`). :func:`run` is
the in-process path: it holds the store's local writer lock and advances every
chain one segment per round, several chains per kernel call on the numba
threads. Both go through one function, and a chain's trajectory depends only on
its seeds, so they write the same bytes.

Resume: each chain restarts from its checkpoint, or, when none is usable, from
its seeds, recomputing its recorded chunks to check them against their records
(without writing them). Only chunks without a (long enough) record are written.

For Wolff, one "update" is a fixed number n_c of single-cluster flips with
n_c = ceil(L²/⟨|C|⟩) (a sweep-equivalent), calibrated per chain during the first
half of equilibration and kept in the chain's checkpoint. A fixed count matters:
the tempting rule "flip clusters until L² spins have flipped" makes the stopping
time depend on the state and over-samples ordered configurations (measured
15-47 % excess at L = 2-4 against exact enumeration).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numba
import numpy as np

from dreamrg import _integrity, _mc_checkpoint
from dreamrg import store as _store
from dreamrg._numba import numba_threads
from dreamrg._progress import _no_bar
from dreamrg.exact import K_C

ALGORITHMS: tuple[str, ...] = ("sw", "wolff")
#: independent chains of a run unless ``chains`` is given (enough for 64 workers; see the module docstring)
DEFAULT_CHAINS = 64


@dataclass(frozen=True)
class MCParams:
    """Parameters of a Monte Carlo run (validated on construction).

    Attributes
    ----------
    L : int
        Linear size, ≥ 2 (torus of L×L spins).
    K : float
        Nearest-neighbour coupling, > 0; default the critical K_c = ln(1+√2)/2.
    algorithm : {"sw", "wolff"}
    thin : int
        Cluster updates between recorded configurations (default ceil(√L)).
    n_equil : int
        Updates discarded at the start of every chain (default max(100, 20·thin)).
    seed : int
        Root entropy of the SeedSequence tree.
    chunk_size : int
        Configurations per storage chunk (one segment of a chain).
    stream : int
        Independent stream label (0 for training/measurement sets, 1 for the
        validation sets); enters every chain's spawn key.
    chains : int
        Independent chains (default :data:`DEFAULT_CHAINS`); chunk j belongs to chain j mod chains.
    """

    L: int
    K: float = K_C
    algorithm: str = "sw"
    thin: int = 0
    n_equil: int = 0
    seed: int = 0
    chunk_size: int = 0
    stream: int = 0
    chains: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.L, (int, np.integer)) or self.L < 2:
            raise ValueError(f"L must be an integer ≥ 2; got {self.L!r}")
        if not (isinstance(self.K, (int, float)) and math.isfinite(self.K) and self.K > 0):
            raise ValueError(f"K must be a finite coupling > 0; got {self.K!r}")
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}; got {self.algorithm!r}")
        if self.thin == 0:
            object.__setattr__(self, "thin", math.ceil(math.sqrt(self.L)))
        if self.thin < 1:
            raise ValueError(f"thin must be ≥ 1; got {self.thin}")
        if self.n_equil == 0:
            object.__setattr__(self, "n_equil", max(100, 20 * self.thin))
        if self.n_equil < 0:
            raise ValueError(f"n_equil must be ≥ 0; got {self.n_equil}")
        if self.seed < 0:
            raise ValueError(f"seed must be ≥ 0; got {self.seed}")
        if self.chunk_size == 0:
            object.__setattr__(self, "chunk_size", _store.default_chunk_size(self.L))
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be ≥ 1; got {self.chunk_size}")
        if self.stream < 0:
            raise ValueError(f"stream must be ≥ 0; got {self.stream}")
        if self.chains == 0:
            object.__setattr__(self, "chains", DEFAULT_CHAINS)
        if isinstance(self.chains, bool) or not isinstance(self.chains, (int, np.integer)) or self.chains < 1:
            raise ValueError(f"chains must be an integer ≥ 1; got {self.chains!r}")

    def store_meta(self) -> dict:
        meta = asdict(self)
        meta["K"] = float(self.K)
        meta["source"] = "mc"
        return meta


# -- layout (pure functions of the parameters) --------------------------------------------------------
@dataclass(frozen=True)
class ChainWork:
    """Consecutive segments of one chain: chunk ``chunks[i]`` is its segment ``first + i``.

    Every chunk holds ``chunk_size`` configurations but the last, which holds ``rows_last``
    (fewer when it is the run's partial last chunk).
    """

    chain: int
    first: int
    chunks: range
    rows_last: int

    def rows(self, i: int, chunk_size: int) -> int:
        """Configurations in ``chunks[i]``."""
        return self.rows_last if i == len(self.chunks) - 1 else chunk_size

    def to_dict(self) -> dict:
        r = self.chunks
        return {"chain": self.chain, "first": self.first, "chunks": [r.start, r.stop, r.step],
                "rows_last": self.rows_last}


def chain_of(params: MCParams, chunk: int) -> tuple[int, int]:
    """(chain, segment) that chunk ``chunk`` is."""
    return chunk % params.chains, chunk // params.chains


def _rows(params: MCParams, n_configs: int, chunk: int) -> int:
    return min(params.chunk_size, n_configs - chunk * params.chunk_size)


def plan(params: MCParams, n_configs: int) -> tuple[ChainWork, ...]:
    """The chains of a run of ``n_configs`` configurations, each with all its chunks: the independent units."""
    n_configs = _store.check_count(n_configs)
    n_chunks = _store.n_chunks(n_configs, params.chunk_size)
    return tuple(segments(params, n_configs, c, 0, n_chunks) for c in range(min(params.chains, n_chunks)))


def segments(params: MCParams, n_configs: int, chain: int, first: int, count: int) -> ChainWork:
    """Segments ``first .. first+count-1`` of ``chain`` in a run of ``n_configs`` (those beyond the run dropped)."""
    n_chunks = _store.n_chunks(n_configs, params.chunk_size)
    if not 0 <= chain < params.chains:
        raise ValueError(f"chain must be in 0..{params.chains - 1}; got {chain}")
    if first < 0 or count < 0:
        raise ValueError(f"first and count must be ≥ 0; got {first} and {count}")
    chunks = range(chain + first * params.chains, n_chunks, params.chains)[:count]
    return ChainWork(chain, first, chunks, _rows(params, n_configs, chunks[-1]) if chunks else 0)


def pending(params: MCParams, n_configs: int, st: _store.ConfigStore) -> tuple[ChainWork, ...]:
    """The chains of :func:`plan` that still have chunks without a (long enough) record in ``st`` (as it knows them)."""
    return tuple(w for w in plan(params, n_configs)
                 if any((rec := st.recorded(j, refresh=False)) is None or rec[0] < w.rows(i, params.chunk_size)
                        for i, j in enumerate(w.chunks)))


def update_counts(params: MCParams, n_configs: int) -> tuple[int, int]:
    """(equilibration updates, recording updates) of a whole run of ``n_configs``: its cost in updates."""
    chains = min(params.chains, _store.n_chunks(n_configs, params.chunk_size))
    return chains * params.n_equil, n_configs * params.thin


# -- one kernel call for a group of chains ------------------------------------------------------------
def _chain_seeds(seed: int, stream: int, chain: int) -> tuple[np.random.SeedSequence, np.ndarray]:
    """SeedSequence of the initial spins and kernel PRNG state of chain ``chain``."""
    init = np.random.SeedSequence(seed, spawn_key=(stream, chain, 0))
    state = np.random.SeedSequence(seed, spawn_key=(stream, chain, 1)).generate_state(4, np.uint64)
    if not state.any():  # xoshiro must not start from the all-zero state
        state[0] = 1
    return init, state


def _start(params: MCParams, chains: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fresh chains, equilibrated: spins (k, L, L) int8, PRNG states (k, 4), Wolff's n_c (k,) (0 for SW)."""
    from dreamrg import _mc_kernels

    L, k = params.L, len(chains)
    spins = np.empty((k, L, L), dtype=np.int8)
    rng = np.empty((k, 4), dtype=np.uint64)
    for i, c in enumerate(chains):
        init, state = _chain_seeds(params.seed, params.stream, c)
        spins[i] = 2 * np.random.default_rng(init).integers(0, 2, size=(L, L), dtype=np.int8) - 1
        rng[i] = state
    none = np.empty((k, 0, L, L), dtype=np.int8)
    if params.algorithm == "sw":
        _mc_kernels.sw_chains(spins, rng, float(params.K), int(params.n_equil), int(params.thin), none)
        return spins, rng, np.zeros(k, np.int64)
    ncl = _mc_kernels.wolff_chains(spins, rng, float(params.K), int(params.n_equil), int(params.thin), none)
    return spins, rng, ncl


def _records(params: MCParams, spins: np.ndarray, rng: np.ndarray, ncl: np.ndarray, n: int) -> np.ndarray:
    """Advance equilibrated chains by ``n`` records (in place); returns int8 spins of shape (k, n, L, L)."""
    from dreamrg import _mc_kernels

    out = np.empty((len(spins), n, params.L, params.L), dtype=np.int8)
    if params.algorithm == "sw":
        _mc_kernels.sw_chains(spins, rng, float(params.K), 0, int(params.thin), out)
    else:
        _mc_kernels.wolff_chains_fixed(spins, rng, float(params.K), ncl, 0, int(params.thin), out)
    return out


def sample(params: MCParams, n: int, chain: int = 0) -> np.ndarray:
    """Convenience: the first ``n`` configurations of chain ``chain`` (in memory), shape (n, L, L)."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1; got {n}")
    spins, rng, ncl = _start(params, [chain])
    return _records(params, spins, rng, ncl, n)[0]


# -- the one driver of both paths ---------------------------------------------------------------------
@dataclass
class _Chain:
    work: ChainWork
    missing: set[int]  # segments to write; those before them are recomputed (and checked) if need be
    pos: int = 0  # segments before the current state
    state: tuple | None = None  # (spins (L, L), rng (4,), n_clusters)

    @property
    def last(self) -> int:
        return max(self.missing)


def _prepare(params: MCParams, st: _store.ConfigStore, work: ChainWork, meta: str) -> _Chain | None:
    """What chain ``work.chain`` must do for ``work``'s segments, and where it starts (its checkpoint)."""
    fresh = st.mode == "chunks"  # a worker reads the records it needs now; a coordinator loaded them all
    missing = set()
    for i, j in enumerate(work.chunks):
        rec = st.recorded(j, refresh=fresh)
        if rec is None or rec[0] < work.rows(i, params.chunk_size):
            missing.add(work.first + i)
    if not missing:
        return None
    ch = _Chain(work, missing)
    ck = _mc_checkpoint.load(st.path, work.chain, params.L, meta)
    if ck is not None and ck.segments <= min(missing):
        before = work.chain + (ck.segments - 1) * params.chains  # the chunk the checkpoint follows
        if ck.segments == 0 or st.recorded(before) == (params.chunk_size, ck.crc):
            ch.pos, ch.state = ck.segments, (ck.spins, ck.rng, ck.n_clusters)
    return ch


def _groups(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _advance(params: MCParams, st: _store.ConfigStore, chains: list[_Chain], n_configs: int, parallel: int,
             bar=None) -> tuple[list[int], float]:
    """Run ``chains`` until each has its segments recorded; returns (chunks written, seconds computing).

    Fresh chains are equilibrated first (and checkpointed at segment 0). Then every
    round advances each unfinished chain by one segment, ``parallel`` chains per
    kernel call, chunks of one size together (the run's partial last chunk alone).
    """
    meta = _integrity.digest(params.store_meta())
    C = params.chunk_size
    written: list[int] = []
    seconds = 0.0
    for group in _groups([ch for ch in chains if ch.state is None], parallel):
        t0 = time.perf_counter()
        spins, rng, ncl = _start(params, [ch.work.chain for ch in group])
        seconds += time.perf_counter() - t0
        for i, ch in enumerate(group):
            ch.pos, ch.state = 0, (spins[i], rng[i], int(ncl[i]))
            _mc_checkpoint.save(st.path, ch.work.chain, _mc_checkpoint.ChainState(spins[i], rng[i], int(ncl[i]), 0, -1),
                                meta)
    while True:
        active = [ch for ch in chains if ch.pos <= ch.last]
        if not active:
            return written, seconds
        by_rows: dict[int, list[_Chain]] = {}
        for ch in active:
            by_rows.setdefault(_rows(params, n_configs, ch.work.chain + ch.pos * params.chains), []).append(ch)
        for rows, members in sorted(by_rows.items(), reverse=True):
            for group in _groups(members, parallel):
                t0 = time.perf_counter()
                spins = np.stack([ch.state[0] for ch in group])
                rng = np.stack([ch.state[1] for ch in group])
                ncl = np.array([ch.state[2] for ch in group], dtype=np.int64)
                out = _records(params, spins, rng, ncl, rows)
                seconds += time.perf_counter() - t0
                for i, ch in enumerate(group):
                    j = ch.work.chain + ch.pos * params.chains
                    packed = _store.pack(out[i])
                    crc = _integrity.crc32(packed)
                    rec = None if ch.pos in ch.missing else st.recorded(j)
                    if rec is None:  # to write (or computed on the way and not recorded: written too)
                        if st.write_chunk(j, packed):
                            written.append(j)
                        if bar is not None:
                            bar.update(rows)
                    elif rec != (rows, crc):
                        raise _store.StoreError(
                            f"{st.path}: chunk {j}, recomputed from the seeds, differs from the data recorded for "
                            f"it ({rec[0]} configurations, CRC {rec[1]}; recomputed {rows}, CRC {crc}): the store "
                            "was written by other code or its data replaced; write to a new --out")
                    ch.state = (spins[i], rng[i], int(ncl[i]))
                    if rows == C:
                        _mc_checkpoint.save(st.path, ch.work.chain,
                                            _mc_checkpoint.ChainState(spins[i], rng[i], int(ncl[i]), ch.pos + 1, crc),
                                            meta)
                    ch.pos += 1


@dataclass(frozen=True)
class SegmentResult:
    """What :func:`run_chain_segment` did: the chunks it wrote and the seconds it computed."""

    chain: int
    written: tuple[int, ...]
    configs: int
    seconds: float = field(compare=False)

    def to_dict(self) -> dict:
        return {"chain": self.chain, "written": list(self.written), "configs": self.configs, "seconds": self.seconds}


def run_chain_segment(params: MCParams, store_path: str | Path, chain: int, first: int, count: int,
                      n_configs: int) -> SegmentResult:
    """Make sure segments ``first .. first+count-1`` of ``chain`` (of a run of ``n_configs``) are recorded.

    The unit of work of a distributed run (see the module docstring). The store
    must exist with these parameters (created, or opened with mode ``"r+"``, by
    the coordinator); it is opened as a worker, so nothing but chunk files,
    records and the chain's checkpoint is written, and only chunks without a
    record. Calls for one chain should run in order of ``first`` (a call that
    finds earlier segments unrecorded computes and writes them too); calls for
    different chains are independent. Safe to repeat (a retried task writes
    nothing new or the same bytes). Runs on the current numba thread count.
    """
    n_configs = _store.check_count(n_configs)
    st = _store.open_store(store_path, mode="chunks")
    want = {k: v for k, v in params.store_meta().items() if k in _store.IDENTITY_KEYS + ("n_equil", "stream", "chains")}
    diff = {k: (st.meta.get(k), v) for k, v in want.items() if st.meta.get(k) != v}
    if diff:
        raise _store.StoreError(f"{store_path} holds a store of other parameters ({diff}); create it from these first")
    work = segments(params, n_configs, chain, first, count)
    ch = _prepare(params, st, work, _integrity.digest(params.store_meta()))
    if ch is None:
        return SegmentResult(chain, (), 0, 0.0)
    written, seconds = _advance(params, st, [ch], n_configs, 1)
    return SegmentResult(chain, tuple(written), sum(_rows(params, n_configs, j) for j in written), seconds)


# -- the in-process path ------------------------------------------------------------------------------
#: bytes per site of one chain's cluster-update work arrays (spins int8, parent and pending int32)
_WORK_BYTES_PER_SITE = 14


def memory_per_chain(params: MCParams) -> int:
    """Bytes one chain of a chunk needs while it runs: its records, work arrays and their packing."""
    N = params.L * params.L
    return N * (2 * params.chunk_size + _WORK_BYTES_PER_SITE)


def parallel_chains(params: MCParams, threads: int, available: int | None = None, resident: int = 0) -> int:
    """How many chains may run at once in ``available`` bytes (at most ``threads``); refuses if not one.

    ``resident`` chains keep their state (2 L² bytes each) in memory between
    rounds. Raises one clear :class:`ValueError` before anything is allocated
    when the lattice is too large for the kernels' 32-bit site indices or one
    chain does not fit in memory. Running fewer chains at once does not change
    the output.
    """
    from dreamrg._memory import available_bytes, gib

    N = params.L * params.L
    per_chain = memory_per_chain(params)
    if N >= 2**31:
        raise ValueError(f"L={params.L}: {N} sites exceed the Monte Carlo kernels' 32-bit site index (L ≤ 46340); "
                         f"one chain of {params.chunk_size} configurations would also need ~{gib(per_chain)}")
    available = available_bytes() if available is None else available
    fit = (int(available * 0.8) - 2 * N * resident) // per_chain
    if fit < 1:
        raise ValueError(f"L={params.L}: one chain of {params.chunk_size} configurations needs ~{gib(per_chain)} "
                         f"(records, cluster work arrays, packing), and {resident} chains' states "
                         f"~{gib(2 * N * resident)}; only {gib(available)} of memory available -- "
                         "lower --chunk-size, --chains or L")
    return max(1, min(threads, fit))


def run(params: MCParams, n_configs: int, out: str | Path, *, progress: bool | None = None,
        workers: int | None = None, client=None) -> _store.ConfigStore:
    """Fill (or resume) the store at ``out`` until it holds ``n_configs`` configurations.

    Parameters
    ----------
    params : MCParams
    n_configs : int
        Target number of configurations (1 to :data:`dreamrg.store.MAX_COUNT`).
        Recorded chunks are kept and only the others computed, each chain from
        its checkpoint; a trailing partial chunk is regenerated (bit-identically)
        and extended. A store that holds more is left as it is.
    out : path
        Store directory. An existing store must have identical metadata.
    progress : bool
        Show a tqdm progress bar (None: only when stderr is a terminal).
    workers : int, optional
        Number of numba threads (default: all). Does not change the output.
    client : distributed.Client, optional
        Run the chain segments as Dask tasks instead (:func:`dreamrg._cluster.connect`;
        see :func:`_fill_on`). ``out`` must be on storage the workers share. Same bytes.

    Raises
    ------
    ValueError
        Bad counts, or a lattice that does not fit in memory (checked before
        anything is allocated or written).
    """
    n_configs = _store.check_count(n_configs)
    if client is not None:
        parallel_chains(params, 1, available=2**62)  # the lattice-size check; memory is the workers'
        with _store.writer_lock(out, "configuration store"):
            return _fill_on(client, params, n_configs, out, progress)
    threads = workers or numba.config.NUMBA_NUM_THREADS
    units = plan(params, n_configs)
    parallel = parallel_chains(params, threads, resident=len(units))
    with _store.writer_lock(out, "configuration store"):
        return _fill(params, n_configs, out, progress, threads, parallel, units)


def _fill(params: MCParams, n_configs: int, out: str | Path, progress: bool | None, threads: int, parallel: int,
          units: tuple[ChainWork, ...]) -> _store.ConfigStore:
    """The body of :func:`run`, under the store's writer lock."""
    from tqdm import tqdm

    st = _store.create_store(out, params.store_meta())
    if st.count >= n_configs:
        return st
    meta = _integrity.digest(params.store_meta())
    chains = [ch for ch in (_prepare(params, st, w, meta) for w in units) if ch is not None]
    todo = sum(_rows(params, n_configs, ch.work.chain + s * params.chains) for ch in chains for s in ch.missing)
    with numba_threads(threads):
        with tqdm(total=n_configs, initial=n_configs - todo, disable=_no_bar(progress), unit="cfg",
                  desc=f"MC {params.algorithm} L={params.L}") as bar:
            written, seconds = _advance(params, st, chains, n_configs, parallel, bar)
    # wall time spent sampling, kept with the data (cost per configuration on this machine)
    st.add_seconds(seconds, sum(_rows(params, n_configs, j) for j in written))
    return st


# -- the distributed path -----------------------------------------------------------------------------
def _segment_task(unit: tuple) -> SegmentResult:
    """One Dask task of :func:`_fill_on`: segment ``segment`` of chain ``chain`` (:func:`run_chain_segment`)."""
    params, path, chain, segment, n_configs = unit
    return run_chain_segment(params, path, chain, segment, 1, n_configs)


def _fill_on(client, params: MCParams, n_configs: int, out: str | Path,
             progress: bool | None) -> _store.ConfigStore:
    """:func:`run` on a Dask cluster, as its coordinator (under the store's local writer lock).

    Creates (or reopens) the store, then submits one task per chunk still to be
    written (:func:`run_chain_segment` of one segment), each segment of a chain
    after the previous one (a Dask dependency) and chains independent; tasks are
    submitted in chunk order, so the committed prefix grows as the run goes. Each
    worker writes its chunks and its chain's checkpoint straight to the shared
    store. Here, as every task finishes, the chunk's record is read (the
    coordinator learns of it), the progress bar advances and ``count`` is
    written. A task whose worker dies is rerun by Dask; it continues from the
    chain's last checkpoint (or its seeds) and writes the same bytes.
    """
    from tqdm import tqdm

    from dreamrg._cluster import map_units

    st = _store.create_store(out, params.store_meta())
    if st.count >= n_configs:
        return st
    C, path = params.chunk_size, str(Path(out).resolve())
    todo = sorted((j, w.chain, w.first + i, w.rows(i, C)) for w in pending(params, n_configs, st)
                  for i, j in enumerate(w.chunks)
                  if (rec := st.recorded(j, refresh=False)) is None or rec[0] < w.rows(i, C))
    previous: dict[int, int] = {}
    after = []
    for i, (_, chain, _, _) in enumerate(todo):
        after.append(previous.get(chain))
        previous[chain] = i
    units = [(params, path, chain, segment, n_configs) for _, chain, segment, _ in todo]
    seconds, configs = 0.0, 0
    with tqdm(total=n_configs, initial=n_configs - sum(t[3] for t in todo), disable=_no_bar(progress),
              unit="cfg", desc=f"MC {params.algorithm} L={params.L} (Dask)") as bar:
        def done(i: int, res: SegmentResult) -> None:
            nonlocal seconds, configs
            j, rows = todo[i][0], todo[i][3]
            rec = st.recorded(j)  # the worker's record: this process learns of the chunk
            if rec is None or rec[0] < rows:
                raise _store.StoreError(f"{st.path}: a worker finished chunk {j} but its completion record "
                                        f"is missing ({rec}); is {path} on storage the workers share?")
            seconds, configs = seconds + res.seconds, configs + res.configs
            st.sync_count()
            bar.update(rows)

        map_units(_segment_task, units, client=client, name="mc", after=after, on_result=done)
    st.add_seconds(seconds, configs)
    return st


# -- chains without a store ---------------------------------------------------------------------------
def stream_segments(params: MCParams, n_configs: int, works: list[ChainWork],
                    states: list[_mc_checkpoint.ChainState | None], *, parallel: int = 1):
    """Advance chains through their segments and yield each chunk's configurations, storing nothing.

    For consumers that use a chunk and drop it (e.g. MCRG straight from Monte
    Carlo). Chain ``works[i].chain`` starts from ``states[i]`` (a state after
    ``states[i].segments ≤ works[i].first`` of its segments, e.g. a
    :class:`~dreamrg._mc_checkpoint.ChainState` a consumer kept), or from its
    seeds when that is None; segments before ``works[i].first`` are computed
    and not yielded. Rounds, chain groups and kernels are those of :func:`run`
    (``parallel`` chains per kernel call), so chunk ``j`` is bit-identical to
    the one :func:`run` stores, whatever ``parallel``.

    Yields
    ------
    (i, chunk, configs, state)
        ``configs`` int8 ±1 of shape (rows, L, L) of chunk ``chunk`` (segment
        ``state.segments - 1`` of chain ``works[i].chain``) and the chain's
        state after it (``crc`` -1). The arrays are fresh for every round.
    """
    if len(works) != len(states):
        raise ValueError(f"one state (or None) per chain: {len(works)} chains, {len(states)} states")
    chains: list[_Chain] = []
    for w, s in zip(works, states):
        if s is not None and s.segments > w.first:
            raise ValueError(f"chain {w.chain}: its state is after segment {s.segments - 1}, beyond the first "
                             f"asked for ({w.first})")
        if w.chunks:
            ch = _Chain(w, set(range(w.first, w.first + len(w.chunks))))
            if s is not None:
                ch.pos, ch.state = s.segments, (s.spins, s.rng, s.n_clusters)
            chains.append(ch)
    index = {id(ch): i for i, ch in enumerate(chains)}
    order = [i for i, w in enumerate(works) if w.chunks]
    for group in _groups([ch for ch in chains if ch.state is None], parallel):
        spins, rng, ncl = _start(params, [ch.work.chain for ch in group])
        for i, ch in enumerate(group):
            ch.pos, ch.state = 0, (spins[i], rng[i], int(ncl[i]))
    while True:
        active = [ch for ch in chains if ch.pos <= ch.last]
        if not active:
            return
        by_rows: dict[int, list[_Chain]] = {}
        for ch in active:
            by_rows.setdefault(_rows(params, n_configs, ch.work.chain + ch.pos * params.chains), []).append(ch)
        for rows, members in sorted(by_rows.items(), reverse=True):
            for group in _groups(members, parallel):
                spins = np.stack([ch.state[0] for ch in group])
                rng = np.stack([ch.state[1] for ch in group])
                ncl = np.array([ch.state[2] for ch in group], dtype=np.int64)
                out = _records(params, spins, rng, ncl, rows)
                for i, ch in enumerate(group):
                    ch.state, ch.pos = (spins[i], rng[i], int(ncl[i])), ch.pos + 1
                    if ch.pos - 1 >= ch.work.first:
                        yield (order[index[id(ch)]], ch.work.chain + (ch.pos - 1) * params.chains, out[i],
                               _mc_checkpoint.ChainState(spins[i], rng[i], int(ncl[i]), ch.pos, -1))
