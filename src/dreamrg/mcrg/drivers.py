"""Front ends of the MCRG: in-memory arrays, streams of batches, configuration stores.

Each front end blocks the configurations with the package's majority rule
(:func:`dreamrg.coarse.majority_rule`, ties broken by a seeded generator per
blocking level), evaluates the operators at every level and feeds one
:class:`~dreamrg.mcrg.MCRGAccumulator` per blocking step ``k → k + 1``.
``mcrg_*`` functions return the :class:`~dreamrg.mcrg.MCRGResult` of every
step; ``accumulate_*`` return the accumulators, to be solved several times
(:func:`truncation_scan`) or in the D4 irreps of the oriented basis
(:func:`irrep_rows`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dreamrg.mcrg.accumulator import (
    DEFAULT_MAX_COND,
    MIN_L_FINE,
    IllConditionedError,
    MCRGAccumulator,
    _sector_indices,
)
from dreamrg.mcrg.results import MCRGResult
from dreamrg.mcrg.spin_operators import _as_config_batch, check_boundary, get_basis, operators

__all__ = [
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


def _level_rngs(seed: int, levels: int) -> list[np.random.Generator]:
    return [np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x4D435247, lev)))
            for lev in range(levels)]


def mcrg_from_batches(batches: Iterable[np.ndarray], *, levels: int = 1, seed: int = 0,
                      n: int | None = None, n_total: int | None = None, n_bins: int = 32,
                      n_odd: int | None = None,
                      n_even: int | None = None, max_cond: float = DEFAULT_MAX_COND,
                      threads: int | None = None, check: bool = True,
                      progress=None, basis: str = "symmetrised", boundary: str = "periodic") -> list[MCRGResult]:
    """MCRG over several blocking levels from a stream of configuration batches.

    Every batch is blocked ``levels`` times with :func:`dreamrg.coarse.majority_rule`;
    the operators are evaluated once per level and accumulated for every step
    ``k → k + 1``, ``k = 0 .. levels - 1``.

    Parameters
    ----------
    batches : iterable of array_like, shape (b, L, L)
        ±1 configurations in sampling order (any batch sizes).
    levels : int
        Number of blocking steps (≥ 1); needs ``L / 2**(levels-1) ≥ 8``.
    seed : int
        Seed of the tie-breaking randomness. Level ``k`` uses its own generator
        ``SeedSequence(seed, spawn_key=(0x4D435247, k))``, consumed in
        configuration order, so results do not depend on the batch sizes.
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
        Object whose ``update(k)`` is called after each batch.

    Returns
    -------
    list of MCRGResult
        ``results[k]`` for the step ``k → k + 1``.
    """
    _check_truncation(basis, n_odd, n_even)  # a bad truncation fails before the work
    accs = accumulate_batches(batches, levels=levels, seed=seed, n=n, n_total=n_total, n_bins=n_bins,
                              threads=threads, check=check, progress=progress, basis=basis, boundary=boundary)
    return [a.result(n_odd=n_odd, n_even=n_even, max_cond=max_cond) for a in accs]


def accumulate_batches(batches: Iterable[np.ndarray], *, levels: int = 1, seed: int = 0,
                       n: int | None = None, n_total: int | None = None, n_bins: int = 32,
                       threads: int | None = None, check: bool = True,
                       progress=None, basis: str = "symmetrised",
                       boundary: str = "periodic") -> list[MCRGAccumulator]:
    """The accumulators behind :func:`mcrg_from_batches` (same arguments), one per blocking step.

    ``basis`` and ``boundary`` select the operators (:func:`operators`); the
    oriented basis also feeds :meth:`MCRGAccumulator.irrep_result`. The block
    spins of every level are the majority rule of aligned 2×2 blocks (rows and
    columns ``2I, 2I+1``), the grid on which a dreamed configuration was
    upsampled from its parent.

    Call :meth:`MCRGAccumulator.result` on them as often as wanted, e.g. for
    several truncations (:func:`truncation_scan`), without streaming the data again.
    """
    return accumulate_conventions(batches, [(basis, boundary)], levels=levels, seed=seed, n=n, n_total=n_total,
                                  n_bins=n_bins, threads=threads, check=check,
                                  progress=progress)[(basis, boundary)]


def accumulate_conventions(batches: Iterable[np.ndarray], conventions: Sequence[tuple[str, str]], *,
                           levels: int = 1, seed: int = 0, n: int | None = None, n_total: int | None = None,
                           n_bins: int = 32, threads: int | None = None, check: bool = True,
                           progress=None) -> dict[tuple[str, str], list[MCRGAccumulator]]:
    """:func:`accumulate_batches` for several ``(basis, boundary)`` pairs in one pass over the data.

    The configurations are blocked once per batch (the same block spins and tie-breaks
    as a pass with one convention) and every convention's operators are evaluated on
    them, so each list of accumulators is exactly what :func:`accumulate_batches` with
    that basis and boundary gives. Useful when the configurations are expensive
    (dreamed on the fly).
    """
    from dreamrg.coarse import majority_rule

    if not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"levels must be an integer ≥ 1; got {levels!r}")
    if n is not None and (not isinstance(n, (int, np.integer)) or n < 1):
        raise ValueError(f"n must be a positive integer or None; got {n!r}")
    conventions = list(dict.fromkeys((b, bd) for b, bd in conventions))
    if not conventions:
        raise ValueError("no (basis, boundary) convention given")
    for basis, boundary in conventions:
        get_basis(basis), check_boundary(boundary)
    rngs = _level_rngs(seed, levels)
    accs = {(b, bd): [MCRGAccumulator(n_bins, n_expected=n_total, level=k, basis=b, boundary=bd)
                      for k in range(levels)] for b, bd in conventions}
    used = 0
    L = None
    for batch in batches:
        if n is not None and used >= n:
            break
        s = _as_config_batch(batch, "configurations", 1, check_values=check)
        if n is not None:
            s = s[: n - used]
        if L is None:
            L = s.shape[1]
            if L % (2 ** levels) or L // 2 ** (levels - 1) < MIN_L_FINE:
                raise ValueError(
                    f"L = {L} cannot be blocked {levels} times with a coarsest fine level of at least "
                    f"{MIN_L_FINE} (need L divisible by 2**levels and L / 2**(levels-1) >= {MIN_L_FINE})"
                )
        elif s.shape[1] != L:
            raise ValueError(f"batches of different sizes: L = {L} then {s.shape[1]}")

        def ops(x):
            return {c: operators(x, threads=threads, check=False, basis=c[0], boundary=c[1]) for c in conventions}

        ops_prev = ops(s)
        cur = s
        for k in range(levels):
            nxt, _ = majority_rule(cur, rngs[k])
            ops_next = ops(nxt)
            for c in conventions:
                accs[c][k].add_operators(ops_prev[c], ops_next[c], L_fine=cur.shape[1], L_coarse=nxt.shape[1])
            cur, ops_prev = nxt, ops_next
        used += s.shape[0]
        if progress is not None:
            progress.update(s.shape[0])
    if used == 0:
        raise ValueError("no configurations in the input")
    return accs


def mcrg_from_store(path: str | Path, *, levels: int = 1, n: int | None = None, seed: int = 0,
                    batch_size: int = 2048, n_bins: int = 32, n_odd: int | None = None,
                    n_even: int | None = None, max_cond: float = DEFAULT_MAX_COND,
                    threads: int | None = None, progress: bool | None = None, basis: str = "symmetrised",
                    boundary: str = "periodic") -> list[MCRGResult]:
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
        Tie-breaking seed (see :func:`mcrg_from_batches`).
    batch_size : int
        Configurations read and processed at once (memory ``~ batch_size · L²`` bytes).
    n_bins, n_odd, n_even, max_cond, threads, basis, boundary
        As in :func:`rg_exponents`.
    progress : bool, optional
        tqdm progress bar (None: only on a terminal).

    Returns
    -------
    list of MCRGResult
    """
    _check_truncation(basis, n_odd, n_even)  # a bad truncation fails before the work
    accs = accumulate_store(path, levels=levels, n=n, seed=seed, batch_size=batch_size, n_bins=n_bins,
                            threads=threads, progress=progress, basis=basis, boundary=boundary)
    return [a.result(n_odd=n_odd, n_even=n_even, max_cond=max_cond) for a in accs]


def accumulate_store(path: str | Path, *, levels: int = 1, n: int | None = None, seed: int = 0,
                     batch_size: int = 2048, n_bins: int = 32, threads: int | None = None,
                     progress: bool | None = None, basis: str = "symmetrised",
                     boundary: str = "periodic") -> list[MCRGAccumulator]:
    """The accumulators behind :func:`mcrg_from_store` (same arguments), one per blocking step."""
    from tqdm import tqdm

    from dreamrg._progress import _no_bar
    from dreamrg.store import open_store

    st = open_store(path)
    total = st.count if n is None else min(int(n), st.count)
    if total == 0:
        raise ValueError(f"store {path} holds no configuration")
    with tqdm(total=total, disable=_no_bar(progress), unit="cfg", desc=f"MCRG L={st.L}") as bar:
        return accumulate_batches(st.iter_batches(batch_size, 0, total), levels=levels, seed=seed,
                                  n=total, n_total=total, n_bins=n_bins, threads=threads, check=False,
                                  progress=bar, basis=basis, boundary=boundary)


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
