"""Front ends of the MCRG: in-memory arrays, streams of batches, configuration stores.

Each front end blocks the configurations with the package's majority rule
(:func:`dreamrg.coarse.majority_rule`), evaluates the operators at every level
and feeds one :class:`~dreamrg.mcrg.MCRGAccumulator` per blocking step
``k → k + 1``. ``mcrg_*`` functions return the :class:`~dreamrg.mcrg.MCRGResult`
of every step; ``accumulate_*`` return the accumulators, to be solved several
times (:func:`truncation_scan`) or in the D4 irreps of the oriented basis
(:func:`irrep_rows`).

Map and reduce: the work is split into *chunks* of consecutive configurations
(a store's storage chunks; ``chunk_size`` configurations of a stream).
:func:`accumulate_chunk` handles one chunk on its own -- its tie-breaks come
from ``SeedSequence(seed, spawn_key=(0x4D435247, level, chunk))``
(:func:`tie_break_rng`) -- and :func:`reduce` merges the chunks' accumulators in
any order into exactly the accumulators of the whole run. The in-process front
ends are this map and reduce, in chunk order.

Jackknife bins are ranges of consecutive configurations. A Monte Carlo run
(:mod:`dreamrg.mc`) interleaves its chains chunk by chunk, so in the run's own
order (``order="run"``) a bin holds pieces of many chains. ``order="chain"``
takes the configurations chain by chain instead (:func:`chain_order_first`).
Pieces of a bin fold left to right from its first configuration (which keeps
merges exact), so with as many chains as bins, each a whole number of chunks,
every bin is one chain (independent by construction) and a streamed chain's
moments fold into a single piece: its carried checkpoint is that much smaller.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dreamrg.mcrg.accumulator import (
    DEFAULT_MAX_COND,
    MIN_L_FINE,
    IllConditionedError,
    IncompatibleAccumulators,
    MCRGAccumulator,
    _sector_indices,
)
from dreamrg.mcrg.results import MCRGResult
from dreamrg.mcrg.spin_operators import _as_config_batch, check_boundary, get_basis, operators

__all__ = [
    "ORDERS",
    "chain_order_first",
    "tie_break_rng",
    "accumulate_chunk",
    "accumulate_chunk_conventions",
    "reduce",
    "rg_exponents",
    "mcrg_from_batches",
    "accumulate_batches",
    "accumulate_conventions",
    "mcrg_from_store",
    "accumulate_store",
    "irrep_rows",
    "TRUNCATIONS",
    "truncation_scan",
]


def rg_exponents(fine, coarse, *, n_bins: int = 32, n_odd: int | None = None,
                 n_even: int | None = None, max_cond: float = DEFAULT_MAX_COND,
                 check_blocking: bool = True, level: int = 0, batch_size: int = 4096,
                 threads: int | None = None, basis: str = "symmetrised",
                 boundary: str = "periodic") -> MCRGResult:
    """MCRG exponents from in-memory configurations and their block spins.

    Parameters
    ----------
    fine : array_like, shape (n, L, L)
        Configurations σ at level ``n`` (±1), in their sampling order (for the
        binned jackknife); ``L`` even and ≥ 8.
    coarse : array_like, shape (n, L/2, L/2)
        Their majority-rule block spins μ, e.g.
        ``dreamrg.coarse.majority_rule(fine, rng)[0]``.
    n_bins : int
        Jackknife bins (consecutive configurations).
    n_odd, n_even : int, optional
        Truncation of the two sectors (first operators of :data:`ODD`, :data:`EVEN`).
    max_cond : float
        See :meth:`MCRGAccumulator.result`.
    check_blocking : bool
        Check that ``coarse`` is the majority rule of ``fine`` (non-tied blocks).
    level : int
        Recorded in the result.
    batch_size : int
        Configurations per kernel call.
    threads : int, optional
        Numba threads for the operator kernel.
    basis : {"symmetrised", "oriented", "authors"}
        Operator basis (:data:`dreamrg.mcrg.BASES`).
    boundary : {"periodic", "open"}
        How the operators are summed over the lattice (:func:`operators`).

    Returns
    -------
    MCRGResult
    """
    f = np.asarray(fine)
    c = np.asarray(coarse)
    if f.ndim != 3 or c.ndim != 3:
        raise ValueError(f"fine and coarse must be batches (n, L, L); got shapes {f.shape} and {c.shape}")
    if f.shape[0] != c.shape[0]:
        raise ValueError(f"fine and coarse hold different numbers of configurations: {f.shape[0]} and {c.shape[0]}")
    if f.shape[0] == 0:
        raise ValueError("no configurations given (empty arrays)")
    acc = MCRGAccumulator(n_bins, n_expected=f.shape[0], level=level, basis=basis, boundary=boundary)
    for lo in range(0, f.shape[0], batch_size):
        acc.add(f[lo:lo + batch_size], c[lo:lo + batch_size], check_blocking=check_blocking, threads=threads)
    return acc.result(n_odd=n_odd, n_even=n_even, max_cond=max_cond)


def _check_truncation(basis: str, n_odd: int | None, n_even: int | None) -> None:
    """Raise ``ValueError`` for a bad basis or truncation of it."""
    b = get_basis(basis)
    _sector_indices(b, "odd", n_odd), _sector_indices(b, "even", n_even)


#: first spawn-key entry of the tie-break streams ("MCRG" in ASCII)
_TIE_TAG = 0x4D435247


def tie_break_rng(seed: int, level: int, chunk: int) -> np.random.Generator:
    """Generator of the majority rule's tie-breaks at blocking ``level`` of chunk ``chunk``.

    ``SeedSequence(seed, spawn_key=(0x4D435247, level, chunk))``, consumed in
    configuration order within the chunk (one uniform per block,
    :func:`dreamrg.coarse.majority_rule`): the blocking of a configuration
    depends only on (seed, level, its chunk, its place in the chunk).
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_TIE_TAG, int(level), int(chunk))))


#: the orders a Monte Carlo run's configurations are binned in (see the module docstring)
ORDERS = ("run", "chain")


def _check_order(order) -> str:
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}; got {order!r}")
    return order


def chain_order_first(chunk: int, chunk_size: int, n_total: int, chains: int) -> int:
    """Index of chunk ``chunk``'s first configuration when a run's configurations are taken chain by chain.

    A Monte Carlo run of ``n_total`` configurations in chunks of ``chunk_size`` continues
    chain ``j mod chains`` in chunk ``j`` (:func:`dreamrg.mc.plan`; the last chunk may hold
    fewer). Ordered chain by chain -- chain 0's chunks in order, then chain 1's, ... -- chunk
    ``j`` comes after every chunk of the chains before its own and after its own chain's
    earlier chunks. A bijection of the configuration indices (tested against the plain
    enumeration).
    """
    C, n, K, j = int(chunk_size), int(n_total), int(chains), int(chunk)
    n_chunks = -(-n // C)
    if not (C >= 1 and K >= 1 and 0 <= j < n_chunks):
        raise ValueError(f"chunk {j} is not a chunk of a run of {n} configurations in chunks of {C} "
                         f"({K} chains)")
    q, r = divmod(n_chunks, K)
    c = j % K
    first = (q * c + min(r, c) + j // K) * C  # the chunks before it, counted whole
    if (n_chunks - 1) % K < c:  # one of them is the run's partial last chunk
        first -= n_chunks * C - n
    return first


def _check_levels(levels, L: int) -> None:
    if not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"levels must be an integer ≥ 1; got {levels!r}")
    if L % (2 ** levels) or L // 2 ** (levels - 1) < MIN_L_FINE:
        raise ValueError(
            f"L = {L} cannot be blocked {levels} times with a coarsest fine level of at least "
            f"{MIN_L_FINE} (need L divisible by 2**levels and L / 2**(levels-1) >= {MIN_L_FINE})"
        )


def _block_chunk(accs: dict[tuple[str, str], Sequence[MCRGAccumulator]], s: np.ndarray, chunk: int, start: int,
                 seed: int, threads: int | None) -> None:
    """Block the int8 configurations ``s`` of chunk ``chunk`` (first index ``start``) into ``accs``.

    ``accs`` maps each ``(basis, boundary)`` convention to its accumulators (one
    per level): the configurations are blocked once, on the aligned 2×2 grid
    (rows and columns ``2I, 2I+1`` -- the grid a dreamed configuration was
    upsampled on), and every convention's operators are evaluated on them.
    """
    from dreamrg.coarse import majority_rule

    def ops(x):
        return {c: operators(x, threads=threads, check=False, basis=c[0], boundary=c[1]) for c in accs}

    levels = len(next(iter(accs.values())))
    ops_prev, cur = ops(s), s
    for k in range(levels):
        nxt, _ = majority_rule(cur, tie_break_rng(seed, k, chunk))
        ops_next = ops(nxt)
        for c, lst in accs.items():
            lst[k].add_operators(ops_prev[c], ops_next[c], L_fine=cur.shape[1], L_coarse=nxt.shape[1], start=start)
        cur, ops_prev = nxt, ops_next


def accumulate_chunk_conventions(configs, chunk: int, *, chunk_size: int, n_total: int,
                                 conventions: Sequence[tuple[str, str]], levels: int = 1, seed: int = 0,
                                 n_bins: int = 32, threads: int | None = None, check: bool = True,
                                 basis: str = "symmetrised", boundary: str = "periodic",
                                 first: int | None = None) -> dict[tuple[str, str], list[MCRGAccumulator]]:
    """:func:`accumulate_chunk` for several ``(basis, boundary)`` pairs: the chunk is blocked once.

    Returns ``{(basis, boundary): accumulators}``; each list is exactly what
    :func:`accumulate_chunk` with that basis and boundary gives (the same block spins
    and tie-breaks). An empty ``conventions`` means ``[(basis, boundary)]``. ``first``:
    the index of the chunk's first configuration in the order the run is binned in
    (default ``chunk * chunk_size``, the run's own; :func:`chain_order_first` for
    ``order="chain"``); the tie-breaks stay those of ``chunk``.
    """
    for name, v, lo in (("chunk", chunk, 0), ("chunk_size", chunk_size, 1), ("n_total", n_total, 1)):
        if not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be an integer ≥ {lo}; got {v!r}")
    start = int(chunk) * int(chunk_size)
    if start >= n_total:
        raise ValueError(f"chunk {chunk} starts at configuration {start}, beyond the {n_total} of the run")
    want = min(int(chunk_size), int(n_total) - start)
    if first is not None:
        if not isinstance(first, (int, np.integer)) or not 0 <= first <= n_total - want:
            raise ValueError(f"first must be an integer in 0..{n_total - want}; got {first!r}")
        start = int(first)
    s = _as_config_batch(configs, "configurations", 1, check_values=check)
    if s.shape[0] != want:
        raise ValueError(f"chunk {chunk} of a run of {n_total} configurations in chunks of {chunk_size} "
                         f"holds {want} configurations; got {s.shape[0]}")
    _check_levels(levels, s.shape[1])
    conventions = list(dict.fromkeys((b, bd) for b, bd in (conventions or [(basis, boundary)])))
    for b, bd in conventions:
        get_basis(b), check_boundary(bd)
    accs = {(b, bd): [MCRGAccumulator(n_bins, n_expected=int(n_total), level=k, basis=b, boundary=bd)
                      for k in range(levels)] for b, bd in conventions}
    _block_chunk(accs, s, int(chunk), start, seed, threads)
    return accs




def accumulate_chunk(configs, chunk: int, *, chunk_size: int, n_total: int, levels: int = 1, seed: int = 0,
                     n_bins: int = 32, basis: str = "symmetrised", threads: int | None = None,
                     check: bool = True, boundary: str = "periodic") -> list[MCRGAccumulator]:
    """The accumulators (one per blocking step) of one chunk: the map of a map/reduce MCRG.

    Parameters
    ----------
    configs : array_like, shape (b, L, L)
        The ±1 configurations of chunk ``chunk``: indices ``chunk * chunk_size``
        onwards of the whole run, ``b = min(chunk_size, n_total - chunk * chunk_size)``.
    chunk : int
        Index of the chunk (≥ 0); seeds its tie-breaks (:func:`tie_break_rng`).
    chunk_size : int
        Configurations per chunk (the last one may hold fewer).
    n_total : int
        Configurations of the whole run (fixes the jackknife bins).
    levels, seed, n_bins, basis, threads, check, boundary
        As in :func:`accumulate_batches`.

    Returns
    -------
    list of MCRGAccumulator
        ``[k]`` for the step ``k → k + 1``, holding this chunk only; merge the
        chunks' lists with :func:`reduce`.
    """
    return accumulate_chunk_conventions(configs, chunk, chunk_size=chunk_size, n_total=n_total, levels=levels,
                                        seed=seed, n_bins=n_bins, threads=threads, check=check,
                                        conventions=[(basis, boundary)])[(basis, boundary)]


def reduce(parts: Iterable[Sequence[MCRGAccumulator]]) -> list[MCRGAccumulator]:
    """Merge the per-chunk accumulator lists of :func:`accumulate_chunk` (any order, any grouping).

    Returns new accumulators (the inputs are not changed), one per blocking
    step, bit-identical to those of the chunks accumulated in sequence.
    Raises :class:`~dreamrg.mcrg.IncompatibleAccumulators` for chunks of
    different analyses or a chunk given twice, ``ValueError`` for no input.
    """
    out: list[MCRGAccumulator] | None = None
    for part in parts:
        if out is None:
            out = [a.copy() for a in part]
            continue
        if len(part) != len(out):
            raise IncompatibleAccumulators(f"cannot merge MCRG chunks of {len(out)} and {len(part)} blocking steps")
        for mine, theirs in zip(out, part):
            mine.merge(theirs)
    if out is None:
        raise ValueError("nothing to reduce: no chunk accumulators given")
    return out


def mcrg_from_batches(batches: Iterable[np.ndarray], *, levels: int = 1, seed: int = 0,
                      n: int | None = None, n_total: int | None = None, n_bins: int = 32,
                      n_odd: int | None = None,
                      n_even: int | None = None, max_cond: float = DEFAULT_MAX_COND,
                      threads: int | None = None, check: bool = True,
                      progress=None, chunk_size: int | None = None, basis: str = "symmetrised",
                      boundary: str = "periodic") -> list[MCRGResult]:
    """MCRG over several blocking levels from a stream of configuration batches.

    The stream is cut into chunks of ``chunk_size`` configurations; every chunk
    is blocked ``levels`` times with :func:`dreamrg.coarse.majority_rule`, its
    operators are evaluated once per level and accumulated for every step
    ``k → k + 1``, ``k = 0 .. levels - 1``.

    Parameters
    ----------
    batches : iterable of array_like, shape (b, L, L)
        ±1 configurations in sampling order (any batch sizes).
    levels : int
        Number of blocking steps (≥ 1); needs ``L / 2**(levels-1) ≥ 8``.
    seed : int
        Seed of the tie-breaking randomness: chunk ``j`` at level ``k`` uses
        :func:`tie_break_rng` ``(seed, k, j)``, so results depend on the chunk
        size but not on the batch sizes.
    n : int, optional
        Use only the first ``n`` configurations.
    n_total : int, optional
        Exact number of configurations the stream will deliver (after the cut
        at ``n``), if known: the jackknife bins are then exactly equal (see
        ``n_expected`` of :class:`MCRGAccumulator`).
    n_bins, n_odd, n_even, max_cond, threads, basis, boundary
        As in :func:`rg_exponents`.
    check : bool
        Verify that the input holds only ±1 (skip for trusted store data).
    progress : tqdm-like, optional
        Object whose ``update(k)`` is called after each chunk.
    chunk_size : int, optional
        Configurations per chunk; default :func:`dreamrg.store.default_chunk_size`
        of ``L``, so that a stream and a store with default chunks agree.

    Returns
    -------
    list of MCRGResult
        ``results[k]`` for the step ``k → k + 1``.
    """
    _check_truncation(basis, n_odd, n_even)  # a bad truncation fails before the work
    accs = accumulate_batches(batches, levels=levels, seed=seed, n=n, n_total=n_total, n_bins=n_bins,
                              threads=threads, check=check, progress=progress, chunk_size=chunk_size,
                              basis=basis, boundary=boundary)
    return [a.result(n_odd=n_odd, n_even=n_even, max_cond=max_cond) for a in accs]


def _take(buf: deque, k: int) -> np.ndarray:
    """The first ``k`` configurations of the queued batches ``buf`` (removed from it)."""
    parts = []
    while k:
        a = buf[0]
        if len(a) <= k:
            parts.append(buf.popleft())
            k -= len(a)
        else:
            parts.append(a[:k])
            buf[0] = a[k:]
            k = 0
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def accumulate_batches(batches: Iterable[np.ndarray], *, levels: int = 1, seed: int = 0,
                       n: int | None = None, n_total: int | None = None, n_bins: int = 32,
                       threads: int | None = None, check: bool = True, progress=None, basis: str = "symmetrised",
                       chunk_size: int | None = None, boundary: str = "periodic") -> list[MCRGAccumulator]:
    """The accumulators behind :func:`mcrg_from_batches` (same arguments), one per blocking step.

    ``basis`` and ``boundary`` select the operators (:func:`operators`); the
    oriented basis also feeds :meth:`MCRGAccumulator.irrep_result`. The block
    spins of every level are the majority rule of aligned 2×2 blocks (rows and
    columns ``2I, 2I+1``), the grid on which a dreamed configuration was
    upsampled from its parent.

    Call :meth:`MCRGAccumulator.result` on them as often as wanted, e.g. for
    several truncations (:func:`truncation_scan`), without streaming the data again.
    With ``n_total`` they equal :func:`reduce` of :func:`accumulate_chunk` over the chunks.
    """
    return accumulate_conventions(batches, [(basis, boundary)], levels=levels, seed=seed, n=n, n_total=n_total,
                                  n_bins=n_bins, threads=threads, check=check, progress=progress,
                                  chunk_size=chunk_size)[(basis, boundary)]


def accumulate_conventions(batches: Iterable[np.ndarray], conventions: Sequence[tuple[str, str]], *,
                           levels: int = 1, seed: int = 0, n: int | None = None, n_total: int | None = None,
                           n_bins: int = 32, threads: int | None = None, check: bool = True, progress=None,
                           chunk_size: int | None = None) -> dict[tuple[str, str], list[MCRGAccumulator]]:
    """:func:`accumulate_batches` for several ``(basis, boundary)`` pairs in one pass over the data.

    The configurations are blocked once per chunk (the same block spins and
    tie-breaks as a pass with one convention) and every convention's operators
    are evaluated on them, so each list of accumulators is exactly what
    :func:`accumulate_batches` with that basis and boundary gives. Useful when
    the configurations are expensive (dreamed on the fly).
    """
    from dreamrg.store import default_chunk_size

    if not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"levels must be an integer ≥ 1; got {levels!r}")
    if n is not None and (not isinstance(n, (int, np.integer)) or n < 1):
        raise ValueError(f"n must be a positive integer or None; got {n!r}")
    if chunk_size is not None and (not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer or None; got {chunk_size!r}")
    conventions = list(dict.fromkeys((b, bd) for b, bd in conventions))
    if not conventions:
        raise ValueError("no (basis, boundary) convention given")
    for b, bd in conventions:
        get_basis(b), check_boundary(bd)
    accs = {(b, bd): [MCRGAccumulator(n_bins, n_expected=n_total, level=k, basis=b, boundary=bd)
                      for k in range(levels)] for b, bd in conventions}
    buf: deque = deque()
    queued = used = chunk = 0
    L = C = None

    def run_chunk(k: int) -> None:
        nonlocal used, queued, chunk
        _block_chunk(accs, _take(buf, k), chunk, used, seed, threads)
        used, queued, chunk = used + k, queued - k, chunk + 1
        if progress is not None:
            progress.update(k)

    for batch in batches:
        if n is not None and used + queued >= n:
            break
        s = _as_config_batch(batch, "configurations", 1, check_values=check)
        if n is not None:
            s = s[: n - used - queued]
        if L is None:
            L = s.shape[1]
            _check_levels(levels, L)
            C = int(chunk_size or default_chunk_size(L))
        elif s.shape[1] != L:
            raise ValueError(f"batches of different sizes: L = {L} then {s.shape[1]}")
        buf.append(s)
        queued += s.shape[0]
        while queued >= C:
            run_chunk(C)
    if queued:
        run_chunk(queued)
    if used == 0:
        raise ValueError("no configurations in the input")
    return accs


def mcrg_from_store(path: str | Path, *, levels: int = 1, n: int | None = None, seed: int = 0,
                    batch_size: int = 2048, n_bins: int = 32, n_odd: int | None = None,
                    n_even: int | None = None, max_cond: float = DEFAULT_MAX_COND,
                    threads: int | None = None, progress: bool | None = None, basis: str = "symmetrised",
                    boundary: str = "periodic", client=None, order: str = "run") -> list[MCRGResult]:
    """MCRG exponents of the configurations in a store (e.g. from ``dreamrg mc``).

    Parameters
    ----------
    path : path
        Configuration store (:func:`dreamrg.store.open_store`).
    levels : int
        Blocking steps; ``results[k]`` is the step from ``L / 2**k`` to ``L / 2**(k+1)``.
    n : int, optional
        Use the first ``n`` configurations (default all).
    seed : int
        Tie-breaking seed (see :func:`tie_break_rng`); the chunks are the store's.
    batch_size : int
        Configurations read at once, rounded down to whole store chunks (at
        least one); memory ``~ batch_size · L²`` bytes. Does not change the result.
    n_bins, n_odd, n_even, max_cond, threads, basis, boundary
        As in :func:`rg_exponents`.
    progress : bool, optional
        tqdm progress bar (None: only on a terminal).
    client : distributed.Client, optional
        Run the chunks as Dask tasks (see :func:`accumulate_store`); same result.
    order : {"run", "chain"}
        The order the jackknife bins take the configurations in (see the module
        docstring): the store's own, or chain by chain (a Monte Carlo store).

    Returns
    -------
    list of MCRGResult
    """
    _check_truncation(basis, n_odd, n_even)  # a bad truncation fails before the work
    accs = accumulate_store(path, levels=levels, n=n, seed=seed, batch_size=batch_size, n_bins=n_bins,
                            threads=threads, progress=progress, basis=basis, boundary=boundary, client=client,
                            order=order)
    return [a.result(n_odd=n_odd, n_even=n_even, max_cond=max_cond) for a in accs]


def accumulate_store(path: str | Path, *, levels: int = 1, n: int | None = None, seed: int = 0,
                     batch_size: int = 2048, n_bins: int = 32, threads: int | None = None,
                     progress: bool | None = None, basis: str = "symmetrised", boundary: str = "periodic",
                     client=None, order: str = "run") -> list[MCRGAccumulator]:
    """The accumulators behind :func:`mcrg_from_store` (same arguments), one per blocking step.

    :func:`reduce` of :func:`accumulate_chunk` over the store's chunks, in chunk order.
    ``order="chain"`` bins a Monte Carlo store's configurations chain by chain (its
    metadata's ``chains``; see the module docstring), as a streamed run of that order does.
    With a Dask ``client`` (:func:`dreamrg._cluster.connect`) each group of
    ``batch_size`` configurations is a task: the worker reads its chunks from the
    store (which must be on storage the workers share) and returns its
    accumulators as arrays; they are reduced here in chunk order, so the result
    is bit-identical to the in-process one.
    """
    chains = _store_chains(path, _check_order(order))
    if client is not None:
        return _accumulate_store_on(client, path, levels=levels, n=n, seed=seed, batch_size=batch_size,
                                    n_bins=n_bins, progress=progress, basis=basis, boundary=boundary, chains=chains)
    from tqdm import tqdm

    from dreamrg._progress import _no_bar
    from dreamrg.store import open_store

    L, C, total, groups = _store_groups(path, levels, n, batch_size)
    st = open_store(path)

    def chunks(bar) -> Iterable[list[MCRGAccumulator]]:
        for j0, j1 in groups:
            s = st.read(j0 * C, min(j1 * C, total))
            for j in range(j0, j1):
                part = s[(j - j0) * C:(j - j0 + 1) * C]
                yield _store_chunk(part, j, C, total, chains, levels=levels, seed=seed, n_bins=n_bins, basis=basis,
                                   boundary=boundary, threads=threads)
                bar.update(len(part))

    with tqdm(total=total, disable=_no_bar(progress), unit="cfg", desc=f"MCRG L={L}") as bar:
        return reduce(chunks(bar))


def _store_chains(path: str | Path, order: str) -> int | None:
    """The chains of a Monte Carlo store to bin by (``order="chain"``), else None."""
    if order == "run":
        return None
    from dreamrg.store import open_store

    chains = open_store(path).meta.get("chains")
    if not isinstance(chains, int) or chains < 1:
        raise ValueError(f"store {path} records no Monte Carlo chains (an imported store?); order='chain' needs "
                         "them, use order='run'")
    return chains


def _store_chunk(part, j: int, C: int, total: int, chains: int | None, *, basis: str, boundary: str,
                 **kw) -> list[MCRGAccumulator]:
    """:func:`accumulate_chunk` of a store's chunk ``j``, binned in the run's order or (``chains``) chain by chain."""
    first = None if chains is None else chain_order_first(j, C, total, chains)
    return accumulate_chunk_conventions(part, j, chunk_size=C, n_total=total, check=False, first=first,
                                        conventions=[(basis, boundary)], **kw)[(basis, boundary)]


def _store_groups(path: str | Path, levels: int, n: int | None, batch_size: int) -> tuple[int, int, int, list]:
    """(L, chunk_size, total, [(first chunk, end chunk), ...]) of a store's MCRG map."""
    from dreamrg.store import n_chunks, open_store

    st = open_store(path)
    total = st.count if n is None else min(int(n), st.count)
    if total == 0:
        raise ValueError(f"store {path} holds no configuration")
    _check_levels(levels, st.L)
    per_read = max(1, int(batch_size) // st.chunk_size)
    last = n_chunks(total, st.chunk_size)
    return st.L, st.chunk_size, total, [(j0, min(j0 + per_read, last)) for j0 in range(0, last, per_read)]


def _accumulate_group(task: tuple) -> list[dict]:
    """One Dask task of :func:`accumulate_store`: the reduced accumulators of chunks ``j0 .. j1 - 1`` as arrays."""
    from dreamrg.store import open_store

    path, j0, j1, total, levels, seed, n_bins, basis, boundary, chains = task
    st = open_store(path)
    C = st.chunk_size
    s = st.read(j0 * C, min(j1 * C, total))
    parts = (_store_chunk(s[(j - j0) * C:(j - j0 + 1) * C], j, C, total, chains, levels=levels, seed=seed,
                          n_bins=n_bins, basis=basis, boundary=boundary, threads=1) for j in range(j0, j1))
    return [a.to_arrays() for a in reduce(parts)]


def _accumulate_store_on(client, path, *, levels, n, seed, batch_size, n_bins, progress, basis, boundary, chains):
    from tqdm import tqdm

    from dreamrg._cluster import map_units
    from dreamrg._progress import _no_bar

    get_basis(basis), check_boundary(boundary)
    L, C, total, groups = _store_groups(path, levels, n, batch_size)
    tasks = [(str(Path(path).resolve()), j0, j1, total, levels, seed, n_bins, basis, boundary, chains)
             for j0, j1 in groups]
    with tqdm(total=total, disable=_no_bar(progress), unit="cfg", desc=f"MCRG L={L}") as bar:
        parts = map_units(_accumulate_group, tasks, client=client, name="mcrg",
                          on_result=lambda i, r: bar.update(min(groups[i][1] * C, total) - groups[i][0] * C))
    return reduce([MCRGAccumulator.from_arrays(a) for a in part] for part in parts)


def irrep_rows(accumulators: Sequence[MCRGAccumulator], *, max_cond: float = DEFAULT_MAX_COND) -> list[dict]:
    """:meth:`MCRGAccumulator.irrep_result` of every blocking step as dict rows (step order).

    If a correlation matrix is singular (too few configurations for the 158
    operators, or nearly frozen ones) the analysis is reported, not raised:
    the result is a single row holding only ``"error"`` with the reason.
    """
    try:
        return [r.to_dict() for acc in accumulators for r in acc.irrep_result(max_cond=max_cond)]
    except IllConditionedError as exc:
        return [{"error": str(exc)}]


#: Default truncations (n_odd, n_even) of :func:`truncation_scan`: from the magnetisation and the
#: nearest-neighbour product alone up to all 11 + 25 operators.
TRUNCATIONS: tuple[tuple[int, int], ...] = ((1, 1), (2, 2), (3, 5), (5, 10), (8, 17), (11, 25))


def truncation_scan(accumulators: Sequence[MCRGAccumulator],
                    truncations: Sequence[tuple[int, int]] = TRUNCATIONS, *,
                    max_cond: float = DEFAULT_MAX_COND) -> list[dict]:
    """Exponents of every blocking step for several operator truncations.

    Shows how far the exponents depend on the finite set of couplings (the
    paper's limitation (b) of section V). One row per (step, truncation):
    ``step`` (0 = first blocking), ``L_fine``, ``L_coarse``, ``n_odd``,
    ``n_even`` and the exponents of :class:`MCRGResult` with their errors
    (``omega`` is NaN when the even sector keeps a single operator).
    """
    for basis in {acc.basis for acc in accumulators} or {"symmetrised"}:  # fail before any matrix is solved
        for n_odd, n_even in truncations:
            _check_truncation(basis, n_odd, n_even)
    rows = []
    for k, acc in enumerate(accumulators):
        for n_odd, n_even in truncations:
            r = acc.result(n_odd=n_odd, n_even=n_even, max_cond=max_cond)
            rows.append({"step": k, "L_fine": r.L_fine, "L_coarse": r.L_coarse, "n_odd": int(n_odd),
                         "n_even": int(n_even)} |
                        {key: getattr(r, key) for key in ("y_h", "y_h_err", "y_t", "y_t_err",
                                                          "omega", "omega_err")})
    return rows
