"""Monte Carlo sampling of the 2D Ising model (Swendsen–Wang and Wolff) into a store.

Sampling scheme
---------------
The requested configurations are produced chunk by chunk. Chunk ``j`` (configurations
``j*chunk_size`` to ``(j+1)*chunk_size``) is one independent Markov chain: it
starts from a random configuration, performs ``n_equil`` cluster updates, then
records a configuration every ``thin`` updates (default ``ceil(sqrt(L))``, as in
the paper). Its random streams come from ``SeedSequence(seed, spawn_key=(j, ·))``,
so a chunk's content depends only on (seed, j, parameters) -- not on how many
threads run, nor on whether the run was interrupted and resumed. Chains run in
parallel on all cores (numba ``prange`` over chains).

For Wolff, one "update" is a fixed number n_c of single-cluster flips with
n_c = ceil(L²/⟨|C|⟩) (a sweep-equivalent), calibrated per chain during the first
half of equilibration. A fixed count matters: the tempting rule "flip clusters
until L² spins have flipped" makes the stopping time depend on the state and
over-samples ordered configurations (measured 15-47 % excess at L = 2-4 against
exact enumeration).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numba
import numpy as np

from dreamrg import store as _store
from dreamrg._numba import numba_threads
from dreamrg._progress import _no_bar
from dreamrg.exact import K_C

ALGORITHMS: tuple[str, ...] = ("sw", "wolff")


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
        Configurations per chain and per storage chunk.
    stream : int
        Independent stream label (0 for training/measurement sets, 1 for the
        validation sets); enters every chain's spawn key.
    """

    L: int
    K: float = K_C
    algorithm: str = "sw"
    thin: int = 0
    n_equil: int = 0
    seed: int = 0
    chunk_size: int = 0
    stream: int = 0

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

    def store_meta(self) -> dict:
        meta = asdict(self)
        meta["K"] = float(self.K)
        meta["source"] = "mc"
        return meta


def _chain_seeds(seed: int, stream: int, chunk: int) -> tuple[np.random.SeedSequence, np.ndarray]:
    """SeedSequence of the initial spins and kernel PRNG state for chain ``chunk``."""
    init = np.random.SeedSequence(seed, spawn_key=(stream, chunk, 0))
    state = np.random.SeedSequence(seed, spawn_key=(stream, chunk, 1)).generate_state(4, np.uint64)
    if not state.any():  # xoshiro must not start from the all-zero state
        state[0] = 1
    return init, state


def sample_chains(params: MCParams, chunks: list[int], n_records: int) -> np.ndarray:
    """Run the chains of the given chunk indices; return int8 spins of shape (C, n_records, L, L)."""
    from dreamrg import _mc_kernels

    L = params.L
    C = len(chunks)
    spins = np.empty((C, L, L), dtype=np.int8)
    rng_state = np.empty((C, 4), dtype=np.uint64)
    for i, j in enumerate(chunks):
        init, state = _chain_seeds(params.seed, params.stream, j)
        spins[i] = 2 * np.random.default_rng(init).integers(0, 2, size=(L, L), dtype=np.int8) - 1
        rng_state[i] = state
    out = np.empty((C, n_records, L, L), dtype=np.int8)
    kernel = _mc_kernels.sw_chains if params.algorithm == "sw" else _mc_kernels.wolff_chains
    kernel(spins, rng_state, float(params.K), int(params.n_equil), int(params.thin), out)
    return out


def sample(params: MCParams, n: int, chunk: int = 0) -> np.ndarray:
    """Convenience: ``n`` configurations from the single chain ``chunk`` (in memory), shape (n, L, L)."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1; got {n}")
    return sample_chains(params, [chunk], n)[0]


#: bytes per site of one chain's cluster-update work arrays (spins int8, parent and pending int32)
_WORK_BYTES_PER_SITE = 14


def memory_per_chain(params: MCParams) -> int:
    """Bytes one chain of a chunk needs while it runs: its records, work arrays and their packing."""
    N = params.L * params.L
    return N * (2 * params.chunk_size + _WORK_BYTES_PER_SITE)


def parallel_chains(params: MCParams, threads: int, available: int | None = None) -> int:
    """How many chains may run at once in ``available`` bytes (at most ``threads``); refuses if not one.

    Raises one clear :class:`ValueError` before anything is allocated when the
    lattice is too large for the kernels' 32-bit site indices or one chain does
    not fit in memory. Running fewer chains at once does not change the output.
    """
    from dreamrg._memory import available_bytes, gib

    N = params.L * params.L
    per_chain = memory_per_chain(params)
    if N >= 2**31:
        raise ValueError(f"L={params.L}: {N} sites exceed the Monte Carlo kernels' 32-bit site index (L ≤ 46340); "
                         f"one chain of {params.chunk_size} configurations would also need ~{gib(per_chain)}")
    available = available_bytes() if available is None else available
    fit = int(available * 0.8) // per_chain
    if fit < 1:
        raise ValueError(f"L={params.L}: one chain of {params.chunk_size} configurations needs ~{gib(per_chain)} "
                         f"(records, cluster work arrays, packing); only {gib(available)} of memory available -- "
                         "lower --chunk-size or L")
    return max(1, min(threads, fit))


def run(params: MCParams, n_configs: int, out: str | Path, *, progress: bool | None = None,
        workers: int | None = None) -> _store.ConfigStore:
    """Fill (or resume) the store at ``out`` until it holds ``n_configs`` configurations.

    Parameters
    ----------
    params : MCParams
    n_configs : int
        Target number of configurations (1 to :data:`dreamrg.store.MAX_COUNT`).
        Already stored whole chunks are kept; a trailing partial chunk is
        regenerated (bit-identically) and extended. A store that holds more is
        left as it is.
    out : path
        Store directory. An existing store must have identical metadata.
    progress : bool
        Show a tqdm progress bar (None: only when stderr is a terminal).
    workers : int, optional
        Number of numba threads (default: all). Does not change the output.

    Raises
    ------
    ValueError
        Bad counts, or a lattice that does not fit in memory (checked before
        anything is allocated or written).
    """
    n_configs = _store.check_count(n_configs)
    threads = workers or numba.config.NUMBA_NUM_THREADS
    group = parallel_chains(params, threads)
    with _store.writer_lock(out, "configuration store"):
        return _fill(params, n_configs, out, progress, threads, group)


def _fill(params: MCParams, n_configs: int, out: str | Path, progress: bool | None,
          threads: int, parallel: int) -> _store.ConfigStore:
    """The body of :func:`run`, under the store's writer lock."""
    from tqdm import tqdm

    st = _store.create_store(out, params.store_meta())
    C = params.chunk_size
    done = st.count
    if done >= n_configs:
        return st
    first = done // C
    last = _store.n_chunks(n_configs, C)
    with numba_threads(threads):
        with tqdm(total=n_configs, initial=first * C, disable=_no_bar(progress), unit="cfg",
                  desc=f"MC {params.algorithm} L={params.L}") as bar:
            j = first
            while j < last:
                # a group of full chunks run in parallel; the (possibly partial) last chunk alone
                group = [c for c in range(j, min(j + parallel, last)) if (c + 1) * C <= n_configs]
                n_rec = C
                if not group:
                    group, n_rec = [j], n_configs - j * C
                t0 = time.perf_counter()
                configs = sample_chains(params, group, n_rec)
                seconds = time.perf_counter() - t0
                for i, c in enumerate(group):
                    st.write_chunk(c, _store.pack(configs[i]))
                    bar.update(n_rec)
                # wall time spent sampling, kept with the data (cost per configuration on this machine)
                st.add_seconds(seconds, len(group) * n_rec)
                j = group[-1] + 1
    return st
