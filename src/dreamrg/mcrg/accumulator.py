"""Streaming accumulation of operator moments and the solve for 𝒯.

:class:`MCRGAccumulator` keeps, per block of consecutive configurations, the
centred sums of the operators at both levels and of their products
(:func:`dreamrg._mcrg_kernels.accumulate_moments`), in float64 on integer
reference values so that the sums of integer products stay exact. From them
it forms the connected correlations -- cross-level ``N = ⟨S(μ) S(σ)ᵀ⟩_c``
and coarse-level ``M = ⟨S(μ) S(μ)ᵀ⟩_c`` of the extensive operators -- and
solves ``𝒯 = M⁻¹ N`` per spin-flip sector in any operator basis (:meth:`MCRGAccumulator.result`)
or per D4 irrep of the oriented basis (:meth:`MCRGAccumulator.irrep_result`),
with leave-one-bin-out jackknife errors (:func:`dreamrg.stats.jackknife_error`).
Eigenvalues are sorted by decreasing modulus and reported as ``y = log₂|λ|``.
The derivation is in the MCRG chapter of the book (``book/mcrg.md``).

Accumulators of disjoint chunks of the same configurations merge
(:meth:`MCRGAccumulator.merge`) into exactly the accumulator of all of them,
and travel as plain arrays (:meth:`MCRGAccumulator.to_arrays`).
"""

from __future__ import annotations

import math

import numpy as np

from dreamrg.mcrg.moments import BinnedMoments
from dreamrg.mcrg.results import IrrepSpectrum, MCRGResult, SectorResult, merged_spectrum
from dreamrg.mcrg.spin_operators import Basis, _as_config_batch, check_boundary, get_basis, operators
from dreamrg.mcrg.symmetry import D4_CHARACTERS, _permutations, irrep_basis
from dreamrg.stats import jackknife_error

__all__ = ["MCRGAccumulator", "IllConditionedError", "IncompatibleAccumulators", "MIN_L_FINE", "DEFAULT_MAX_COND"]

#: smallest fine-level linear size accepted by the 𝒯 computation (coarse L/2 ≥ 4)
MIN_L_FINE = 8
#: default bound on the condition number of the standardised coarse correlation matrix
DEFAULT_MAX_COND = 1e10


class IllConditionedError(ValueError):
    """A correlation matrix of 𝒯 is singular or ill-conditioned (too few or degenerate configurations)."""


class IncompatibleAccumulators(ValueError):
    """Accumulators that cannot be merged: other levels, bases, sizes, bins, or overlapping configurations."""


# --------------------------------------------------------------------------
# linear algebra on the accumulated moments
# --------------------------------------------------------------------------
def _standardised_cond(M: np.ndarray) -> float:
    """Condition number of ``D^-1/2 M D^-1/2`` (inf if a variance is not positive)."""
    d = np.diag(M)
    if not np.all(np.isfinite(M)) or np.any(d <= 0):
        return math.inf
    s = 1.0 / np.sqrt(d)
    C = M * s[:, None] * s[None, :]
    return float(np.linalg.cond(C))


def _connected(moments: dict[str, np.ndarray], idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected correlations ``(N, M, F)`` of operators ``idx`` from summed (centred) moments.

    ``N[γ, β] = ⟨S_γ(μ) S_β(σ)⟩_c`` (cross-level), ``M[γ, α] = ⟨S_γ(μ) S_α(μ)⟩_c``
    (coarse level) and ``F[γ, β] = ⟨S_γ(σ) S_β(σ)⟩_c`` (fine level), all with
    the ``1/n`` normalisation; ``M`` and ``F`` symmetrised against round-off.
    """
    n = moments["n"]
    mf = moments["f"][idx] / n
    mc = moments["c"][idx] / n
    ix = np.ix_(idx, idx)
    N = moments["cf"][ix] / n - np.outer(mc, mf)
    M = moments["cc"][ix] / n - np.outer(mc, mc)
    M = 0.5 * (M + M.T)
    F = moments["ff"][ix] / n - np.outer(mf, mf)
    F = 0.5 * (F + F.T)
    return N, M, F


def _t_matrix(moments: dict[str, np.ndarray], idx: np.ndarray, max_cond: float, what: str,
              labels: tuple[str, ...]) -> tuple:
    """``(T, N, M, cond_M)`` for operators ``idx`` from summed (centred) moments.

    Raises :class:`IllConditionedError` when the standardised coarse-level matrix ``M`` or
    the standardised fine-level covariance has a condition number above
    ``max_cond`` (or a zero variance): 𝒯 would then be undefined or
    dominated by round-off, or have spurious zero eigenvalues.
    """
    N, M, F = _connected(moments, idx)
    for mat, level in ((M, "coarse-level correlation matrix M"), (F, "fine-level covariance")):
        cond = _standardised_cond(mat)
        if not cond <= max_cond:
            bad = [labels[i] for i, v in zip(idx, np.diag(mat)) if not v > 0]
            extra = f"; operators without fluctuations: {', '.join(bad)}" if bad else ""
            raise IllConditionedError(
                f"{what}: the {level} is singular or ill-conditioned (condition number of the "
                f"standardised matrix = {cond:.3g} > max_cond = {max_cond:.3g}){extra}. "
                "Too few or nearly degenerate configurations (e.g. duplicates, frozen states) -- "
                "use more independent configurations or fewer operators (n_odd / n_even)."
            )
    cond_M = _standardised_cond(M)
    # standardised solve (unit-diagonal system): T = D^-1/2 C^-1 D^-1/2 N
    s = 1.0 / np.sqrt(np.diag(M))
    C = M * s[:, None] * s[None, :]
    T = s[:, None] * np.linalg.solve(C, s[:, None] * N)
    return T, N, M, cond_M


def _spectrum(T: np.ndarray) -> np.ndarray:
    ev = np.linalg.eigvals(T)
    order = np.lexsort((-ev.imag, -np.abs(ev)))
    return ev[order]


def _log2abs(ev: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log2(np.abs(ev))


def _sector_indices(basis: Basis, parity: str, n_keep: int | None) -> np.ndarray:
    """The first ``n_keep`` (default all) columns of ``basis`` that enter 𝒯 in one sector."""
    idx = basis.odd if parity == "odd" else basis.even
    if n_keep is None:
        return idx
    if not isinstance(n_keep, (int, np.integer)) or not 1 <= n_keep <= len(idx):
        raise ValueError(f"n_{parity} must be an integer in 1..{len(idx)}; got {n_keep!r}")
    return idx[: int(n_keep)]


def _check_majority(fine: np.ndarray, coarse: np.ndarray) -> None:
    """Raise if a non-tied 2x2 block of ``fine`` disagrees with ``coarse``."""
    s = fine
    block = (s[:, 0::2, 0::2].astype(np.int16) + s[:, 0::2, 1::2] + s[:, 1::2, 0::2] + s[:, 1::2, 1::2])
    bad = (block * coarse < 0)
    if bad.any():
        i = int(np.argwhere(bad.any(axis=(1, 2)))[0, 0])
        raise ValueError(
            f"coarse[{i}] is not the 2x2 majority-rule blocking of fine[{i}] "
            f"({int(bad[i].sum())} blocks with a clear majority have the wrong sign); "
            "pass check_blocking=False to use another blocking rule"
        )


# --------------------------------------------------------------------------
# streaming accumulation
# --------------------------------------------------------------------------
class MCRGAccumulator:
    """Streaming sums of operator products for one blocking step ``n → n+1``.

    Feed batches of operator values (:meth:`add_operators`) or of
    configurations (:meth:`add`) in their natural (sampling) order, then call
    :meth:`result` -- as often as wanted, e.g. for several truncations.
    Memory is ``O(n_blocks · 36²)`` floats whatever the number of
    configurations (≤ 10 MB with the defaults).

    Parameters
    ----------
    n_bins : int
        Number of jackknife bins (2 or more; 20–50 is sensible), each a run of
        consecutive configurations.
    n_expected : int, optional
        Total number of configurations that will be added, if known. Then
        bin ``j`` holds exactly the configurations ``[j n / n_bins, (j+1) n /
        n_bins)`` and :meth:`result` requires all of them. If not given, see
        Notes.
    level : int
        Blocking level of the fine configurations (only recorded).
    blocks_per_bin : int
        Resolution of the internal blocking when ``n_expected`` is unknown: at
        most ``2 * blocks_per_bin * n_bins`` blocks are kept, so bin sizes
        differ by at most one block (≲ 1/``blocks_per_bin`` relative; the
        weighted jackknife accounts for unequal bins).
    basis : {"symmetrised", "oriented", "authors"}
        Operator basis (see :func:`operators`). :meth:`result` takes any;
        :meth:`irrep_result` needs ``"oriented"`` (memory grows as the
        square of the number of operators: 19 MB for 32 bins of 158 with
        ``n_expected``, up to 8 times more without).
    boundary : {"periodic", "open"}
        How :meth:`add` sums the operators over the lattice (see :func:`operators`).

    Notes
    -----
    With ``n_expected`` every call of :meth:`add_operators` (or :meth:`add`) is
    one *chunk* of consecutive configurations, placed at ``start`` (default:
    after the previous one). It is cut at the bin edges into pieces centred on
    the chunk's own integer reference (its rounded mean), and each bin is the
    fold of its pieces in configuration order (:mod:`dreamrg.mcrg.moments`).
    Chunks may come in any order, from any number of accumulators
    (:meth:`merge`): the sums are bit-identical to feeding the same chunks
    in sequence.

    Without ``n_expected`` the configurations are split into consecutive
    blocks of ``block_size`` configurations (1 at first). When the block list
    is full, neighbouring blocks are merged pairwise and ``block_size``
    doubles; at the end, consecutive blocks are grouped into ``n_bins`` bins.
    Each block holds, for the centred values ``f = S(σ) - f0`` and ``c = S(μ)
    - c0`` (integer references ``f0``, ``c0``: the rounded means of the first
    batch): the count, ``Σ f``, ``Σ c``, ``Σ c fᵀ``, ``Σ c cᵀ`` and ``Σ f fᵀ``
    in float64. The centred values are exact integers, so every product and
    every partial sum below 2**53 is exact; the connected correlations are
    formed from these shifted sums, free of the cancellation that raw moments
    ``⟨S S⟩ - ⟨S⟩⟨S⟩`` of extensive operators would suffer.
    """

    _KEYS = ("n", "f", "c", "cf", "cc", "ff")

    def __init__(self, n_bins: int = 32, *, n_expected: int | None = None, level: int = 0,
                 blocks_per_bin: int = 4, basis: str = "symmetrised", boundary: str = "periodic"):
        self._basis = get_basis(basis)
        self.boundary = check_boundary(boundary)
        m = self._basis.n_ops
        if not isinstance(n_bins, (int, np.integer)) or n_bins < 2:
            raise ValueError(f"n_bins must be an integer ≥ 2; got {n_bins!r}")
        if not isinstance(blocks_per_bin, (int, np.integer)) or blocks_per_bin < 1:
            raise ValueError(f"blocks_per_bin must be an integer ≥ 1; got {blocks_per_bin!r}")
        if n_expected is not None:
            if not isinstance(n_expected, (int, np.integer)) or n_expected < 1:
                raise ValueError(f"n_expected must be a positive integer or None; got {n_expected!r}")
            if n_expected < n_bins:
                raise ValueError(f"{n_expected} configurations are fewer than the {n_bins} jackknife bins")
        self.n_bins = int(n_bins)
        self.n_expected = None if n_expected is None else int(n_expected)
        self.level = int(level)
        self.capacity = self.n_bins if n_expected is not None else 2 * int(blocks_per_bin) * self.n_bins
        self.L_fine: int | None = None
        self.L_coarse: int | None = None
        self.block_size = 1
        self._f0: np.ndarray | None = None
        self._c0: np.ndarray | None = None
        self.basis = basis
        self.n_ops = m
        cap = self.capacity
        # with n_expected: pieces per bin (mergeable); without: doubling blocks
        self._bm = None if n_expected is None else BinnedMoments(self.n_expected, self.n_bins, m)
        self._s = None if n_expected is not None else {
            "n": np.zeros(cap), "f": np.zeros((cap, m)), "c": np.zeros((cap, m)),
            "cf": np.zeros((cap, m, m)), "cc": np.zeros((cap, m, m)), "ff": np.zeros((cap, m, m)),
        }
        self._n = 0     # configurations accumulated
        self._nb = 0    # blocks in use (the last one may be partial)
        self._next = 0  # default start of the next chunk (with n_expected)

    def __len__(self) -> int:
        return self._n

    @property
    def count(self) -> int:
        """Number of configurations accumulated."""
        return self._n

    def _block_end(self, b: int) -> int:
        """Index one past the last configuration of block ``b`` (without ``n_expected``)."""
        return (b + 1) * self.block_size

    # -- feeding ----------------------------------------------------------------
    def add(self, fine, coarse, *, check_blocking: bool = True, threads: int | None = None,
            start: int | None = None) -> None:
        """Accumulate a batch of configurations and their block spins.

        Parameters
        ----------
        fine : array_like, shape (n, L, L)
            Spins ±1 at level ``n``; ``L`` even and ≥ 8.
        coarse : array_like, shape (n, L/2, L/2)
            Their majority-rule block spins (same configurations, same order).
        check_blocking : bool
            Verify that every non-tied 2×2 block of ``fine`` has the majority
            sign in ``coarse`` (cheap); raises ``ValueError`` otherwise.
        threads : int, optional
            Numba threads for the operator kernel.
        start : int, optional
            Index of the first configuration (see :meth:`add_operators`).
        """
        f = _as_config_batch(fine, "fine", MIN_L_FINE)
        c = _as_config_batch(coarse, "coarse", 1)
        L = f.shape[1]
        if L % 2:
            raise ValueError(f"fine configurations need an even L for 2x2 blocking; got L = {L}")
        if c.shape != (f.shape[0], L // 2, L // 2):
            raise ValueError(
                f"coarse must have shape (n, L/2, L/2) = {(f.shape[0], L // 2, L // 2)} to match fine "
                f"{f.shape}; got {c.shape}"
            )
        if check_blocking:
            _check_majority(f, c)
        self.add_operators(operators(f, threads=threads, check=False, basis=self.basis, boundary=self.boundary),
                           operators(c, threads=threads, check=False, basis=self.basis, boundary=self.boundary),
                           L_fine=L, L_coarse=L // 2, start=start)

    def add_operators(self, fine_ops, coarse_ops, *, L_fine: int | None = None,
                      L_coarse: int | None = None, start: int | None = None) -> None:
        """Accumulate precomputed operator values (from :func:`operators`).

        Parameters
        ----------
        fine_ops, coarse_ops : array_like of int, shape (n, m)
            (``m`` = 36, or 158 for the oriented basis)
            Extensive ``S(σ)`` and ``S(μ)`` of the same ``n`` configurations.
        L_fine, L_coarse : int, optional
            Linear sizes, recorded and checked for consistency between batches
            (``L_coarse`` must be ``L_fine / 2``).
        start : int, optional
            With ``n_expected``: index of the first of these configurations in
            the whole sequence (default: just after the previous call's). The
            call is one chunk (see Notes); adding a configuration twice raises.
            Without ``n_expected`` batches are always consecutive.
        """
        fo = np.asarray(fine_ops)
        co = np.asarray(coarse_ops)
        if fo.ndim != 2 or fo.shape[1] != self.n_ops or co.shape != fo.shape:
            raise ValueError(
                f"fine_ops and coarse_ops must both have shape (n, {self.n_ops}) ({self.basis} basis); "
                f"got {fo.shape} and {co.shape}"
            )
        if not (np.issubdtype(fo.dtype, np.integer) and np.issubdtype(co.dtype, np.integer)):
            raise TypeError("operator values must be integers (as returned by operators())")
        if fo.shape[0] == 0:
            return
        if L_fine is not None and L_coarse is not None and 2 * L_coarse != L_fine:
            raise ValueError(f"levels do not match: L_coarse = {L_coarse} is not L_fine / 2 = {L_fine} / 2")
        for name, val in (("L_fine", L_fine), ("L_coarse", L_coarse)):
            if val is not None:
                old = getattr(self, name)
                if old is not None and old != val:
                    raise ValueError(f"{name} changed between batches: {old} then {val}")
                setattr(self, name, int(val))
        from dreamrg import _mcrg_kernels

        n = fo.shape[0]
        if self._bm is not None:
            start = self._next if start is None else start
            if not isinstance(start, (int, np.integer)) or start < 0:
                raise ValueError(f"start must be a non-negative integer or None; got {start!r}")
            if start + n > self.n_expected:
                raise ValueError(f"more configurations than the n_expected = {self.n_expected} announced "
                                 f"(configurations {start}..{start + n - 1})")
            self._bm.add_ops(np.ascontiguousarray(fo, dtype=np.int64), np.ascontiguousarray(co, dtype=np.int64),
                             int(start))
            self._n += n
            self._next = int(start) + n
            return
        if start is not None and start != self._n:
            raise ValueError(f"without n_expected batches are consecutive: start must be {self._n}; got {start!r}")
        if self._f0 is None:
            self._f0 = np.rint(fo.mean(axis=0)).astype(np.int64)
            self._c0 = np.rint(co.mean(axis=0)).astype(np.int64)
        f = np.ascontiguousarray(fo, dtype=np.int64)
        c = np.ascontiguousarray(co, dtype=np.int64)
        S = self._s
        i = 0
        while i < n:
            if self._nb == 0 or self._n >= self._block_end(self._nb - 1):
                if self._nb == self.capacity:
                    self._pair_blocks()
                self._nb += 1
                continue
            b = self._nb - 1
            take = min(n - i, self._block_end(b) - self._n)
            S["n"][b] += take
            _mcrg_kernels.accumulate_moments(f, c, i, i + take, self._f0, self._c0, S["f"][b], S["c"][b],
                                             S["cf"][b], S["cc"][b], S["ff"][b])
            i += take
            self._n += take

    def _pair_blocks(self) -> None:
        """Add neighbouring (full) blocks pairwise; doubles ``block_size``."""
        h = self.capacity // 2
        for arr in self._s.values():
            arr[:h] = arr[0::2] + arr[1::2]
            arr[h:] = 0
        self._nb = h
        self.block_size *= 2

    # -- merging and serialisation --------------------------------------------------
    #: version of the layout written by :meth:`to_arrays`
    ARRAYS_FORMAT = 1

    def _identity(self) -> dict:
        return {"level": self.level, "basis": self.basis, "boundary": self.boundary, "n_bins": self.n_bins,
                "n_expected": self.n_expected, "L_fine": self.L_fine, "L_coarse": self.L_coarse}

    def merge(self, other: MCRGAccumulator) -> MCRGAccumulator:
        """Add the configurations of ``other`` (disjoint from this one's) to this accumulator; returns ``self``.

        Both must have been built with the same ``n_expected``, ``n_bins``,
        ``level``, basis and lattice sizes. Each bin is folded from its pieces in
        configuration order whatever the order of the merges, so merging the
        accumulators of disjoint chunks gives bit-identically the accumulator
        fed with all the chunks in sequence. ``other`` is not changed.

        Raises
        ------
        IncompatibleAccumulators
            Naming every difference, or the configurations added twice; this
            accumulator is then left unchanged.
        """
        if not isinstance(other, MCRGAccumulator):
            raise TypeError(f"can only merge an MCRGAccumulator; got {type(other).__name__}")
        if self._bm is None or other._bm is None:
            raise IncompatibleAccumulators("cannot merge MCRG accumulators built without n_expected (the total "
                                           "number of configurations fixes the jackknife bins chunks fall into)")
        mine, theirs = self._identity(), other._identity()
        diff = [f"{k} {mine[k]!r} vs {theirs[k]!r}" for k in mine
                if mine[k] != theirs[k] and not (k.startswith("L_") and None in (mine[k], theirs[k]))]
        if diff:
            raise IncompatibleAccumulators("cannot merge MCRG accumulators of different analyses: " + "; ".join(diff))
        try:
            self._bm.merge(other._bm)
        except ValueError as exc:
            raise IncompatibleAccumulators(f"cannot merge MCRG accumulators: {exc}") from None
        self._n += other._n
        self._next = max(self._next, other._next)
        self.L_fine = self.L_fine if self.L_fine is not None else other.L_fine
        self.L_coarse = self.L_coarse if self.L_coarse is not None else other.L_coarse
        return self

    def copy(self) -> MCRGAccumulator:
        """An independent copy (with ``n_expected``)."""
        return MCRGAccumulator.from_arrays(self.to_arrays())

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The accumulator as plain numeric arrays (for ``numpy.savez``; loads with ``allow_pickle=False``).

        Holds the analysis (level, basis, boundary, bins, sizes) and every piece of moment
        sums bit for bit; :meth:`from_arrays` is its inverse. Only accumulators
        built with ``n_expected`` (mergeable ones) have this form.
        """
        if self._bm is None:
            raise ValueError("only an accumulator built with n_expected can be written as arrays")
        head = [self.ARRAYS_FORMAT, self.level, self.n_bins, self.n_expected, self.n_ops,
                -1 if self.L_fine is None else self.L_fine, -1 if self.L_coarse is None else self.L_coarse,
                self._next]
        return {"header": np.array(head, dtype=np.int64), "basis": np.array(self.basis),
                "boundary": np.array(self.boundary)} | \
            {f"moments.{k}": v for k, v in self._bm.to_arrays().items()}

    @classmethod
    def from_arrays(cls, arrays) -> MCRGAccumulator:
        """Inverse of :meth:`to_arrays` (a dict, or an ``NpzFile`` opened with ``allow_pickle=False``).

        Raises ``ValueError`` naming what is wrong if the arrays are not an accumulator's.
        """
        try:
            head = np.asarray(arrays["header"])
            basis = str(np.asarray(arrays["basis"]))
            boundary = str(np.asarray(arrays["boundary"])) if "boundary" in arrays else "periodic"
            moments = {k: np.asarray(arrays[f"moments.{k}"]) for k in
                       ("start", "n", "f0", "c0", "f", "c", "cf", "cc", "ff")}
        except KeyError as exc:
            raise ValueError(f"not an MCRG accumulator: array {exc.args[0]!r} is missing") from None
        if head.shape != (8,) or head.dtype.kind != "i" or head[0] != cls.ARRAYS_FORMAT:
            raise ValueError(f"not an MCRG accumulator of format {cls.ARRAYS_FORMAT}: header {head.tolist()}")
        _, level, n_bins, n_expected, m, L_fine, L_coarse, nxt = (int(v) for v in head)
        acc = cls(n_bins, n_expected=n_expected, level=level, basis=basis, boundary=boundary)
        if m != acc.n_ops:
            raise ValueError(f"accumulator arrays hold {m} operators but the {basis!r} basis has {acc.n_ops}")
        acc._bm = BinnedMoments.from_arrays(n_expected, n_bins, m, moments)
        acc._n = acc._bm.count
        acc._next = nxt
        acc.L_fine = None if L_fine < 0 else L_fine
        acc.L_coarse = None if L_coarse < 0 else L_coarse
        return acc

    # -- results ----------------------------------------------------------------
    def _check_complete(self) -> None:
        n = self._n
        if n == 0:
            raise ValueError("no configurations were accumulated")
        if n < self.n_bins:
            raise ValueError(f"{n} configurations are fewer than the {self.n_bins} jackknife bins")
        if self.n_expected is not None and n != self.n_expected:
            raise ValueError(f"{n} configurations were accumulated but n_expected = {self.n_expected}")

    def _bins(self) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
        """Total moments, bin sizes and per-bin moments (bins of consecutive blocks)."""
        if self._bm is not None:
            per_bin = self._bm.per_bin()
            total = {k: v.sum(axis=0) for k, v in per_bin.items()}
            return total, per_bin["n"].copy(), per_bin
        nb = self._nb
        cnt = self._s["n"][:nb]
        n = self._n
        nbins = self.n_bins
        # bin of each block: by the position of its first configuration
        start = np.concatenate(([0.0], np.cumsum(cnt)[:-1]))
        which = np.minimum((start * nbins) // n, nbins - 1).astype(np.intp)
        per_bin = {}
        for key, arr in self._s.items():
            out = np.zeros((nbins,) + arr.shape[1:], dtype=np.float64)
            np.add.at(out, which, arr[:nb])
            per_bin[key] = out
        total = {k: v.sum(axis=0) for k, v in per_bin.items()}
        return total, per_bin["n"].copy(), per_bin

    def correlations(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Connected correlation matrices of all operators of the basis, from all data.

        Returns
        -------
        N, M, F : numpy.ndarray of float64, shape (m, m)
            Cross-level ``N[γ, β] = ⟨S_γ(μ) S_β(σ)⟩_c``, coarse-level
            ``M[γ, α] = ⟨S_γ(μ) S_α(μ)⟩_c`` and fine-level
            ``F[γ, β] = ⟨S_γ(σ) S_β(σ)⟩_c`` (``m`` = 36 or 158, both sectors
            and their cross terms; normalised by ``1/n``, like ``np.cov(...,
            bias=True)``). :meth:`result` solves 𝒯 from the sector blocks of
            the same matrices.
        """
        self._check_complete()
        return _connected(self._bins()[0], np.arange(self.n_ops))

    def result(self, *, n_odd: int | None = None, n_even: int | None = None,
               max_cond: float = DEFAULT_MAX_COND) -> MCRGResult:
        """𝒯 per sector, its spectrum, the identified exponents and jackknife errors.

        Parameters
        ----------
        n_odd, n_even : int, optional
            Keep only the first ``n_odd`` odd and ``n_even`` even operators of the
            basis (symmetrised: ≤ 11 and ≤ 25 in the truncation order of
            :data:`ODD` / :data:`EVEN`; the sector columns of :class:`Basis`
            otherwise, exact duplicates left out); default all.
        max_cond : float
            Largest accepted condition number of the standardised (unit
            diagonal) coarse-level matrix ``M`` and fine-level covariance, per
            sector, for the full data and for every jackknife sample.

        Returns
        -------
        MCRGResult

        Raises
        ------
        ValueError
            No data, fewer configurations than bins (or than announced),
            ``M`` or the fine-level covariance singular or ill-conditioned (the
            message names the condition number), bad truncation.
        """
        self._check_complete()
        n = self._n
        b = self._basis
        idx_sec = {"odd": _sector_indices(b, "odd", n_odd), "even": _sector_indices(b, "even", n_even)}
        total, sizes, per_bin = self._bins()
        if np.any(sizes == 0):
            raise ValueError(f"a jackknife bin is empty ({n} configurations, {self.n_bins} bins)")
        sectors = {}
        for parity, idx in idx_sec.items():
            T, N, M, cond = _t_matrix(total, idx, max_cond, f"{parity} sector (all data)", b.labels)
            ev = _spectrum(T)
            loo_ev = np.empty((self.n_bins, len(idx)), dtype=np.complex128)
            for j in range(self.n_bins):
                sub = {k: total[k] - per_bin[k][j] for k in total}
                Tj = _t_matrix(sub, idx, max_cond, f"{parity} sector (jackknife sample {j})", b.labels)[0]
                loo_ev[j] = _spectrum(Tj)
            y = _log2abs(ev)
            loo_y = _log2abs(loo_ev)
            sectors[parity] = SectorResult(
                parity=parity, operators=tuple(int(i) for i in idx), T=T, N=N, M=M,
                eigenvalues=ev,
                eigenvalues_err=jackknife_error(ev.real, loo_ev.real, sizes),
                y=y, y_err=jackknife_error(y, loo_y, sizes),
                max_imag=float(np.max(np.abs(ev.imag))),
                cond_M=cond,
            )
        odd, even = sectors["odd"], sectors["even"]

        def pick(sec: SectorResult, r: int) -> tuple[float, float]:
            if r < len(sec.y):
                return float(sec.y[r]), float(sec.y_err[r])
            return math.nan, math.nan

        return MCRGResult(
            level=self.level,
            L_fine=-1 if self.L_fine is None else self.L_fine,
            L_coarse=-1 if self.L_coarse is None else self.L_coarse,
            n_configs=n, n_bins=self.n_bins, odd=odd, even=even,
            y_h=pick(odd, 0)[0], y_h_err=pick(odd, 0)[1],
            y_t=pick(even, 0)[0], y_t_err=pick(even, 0)[1],
            y_r1=pick(odd, 1)[0], y_r1_err=pick(odd, 1)[1],
            omega=pick(even, 1)[0], omega_err=pick(even, 1)[1],
            spectrum=merged_spectrum(odd, even),
            basis=self.basis, boundary=self.boundary,
        )

    def irrep_result(self, *, max_cond: float = DEFAULT_MAX_COND) -> list[IrrepSpectrum]:
        """𝒯 in every (spin-flip sector, D4 irrep) of the oriented basis, with jackknife errors.

        ``M`` and ``N`` are averaged over the 8 point symmetries (exact
        commutation with the group) and 𝒯 = (QᵀMQ)⁻¹ QᵀNQ is solved in the
        orthonormal basis ``Q`` of each irrep (:func:`irrep_basis`). In the
        2-dimensional irrep ``E`` every eigenvalue appears twice.

        Parameters
        ----------
        max_cond : float
            Largest accepted condition number of the standardised ``QᵀMQ``.

        Returns
        -------
        list of IrrepSpectrum
            One per sector and irrep of non-zero dimension (odd then even;
            ``A1, A2, B1, B2, E``).

        Raises
        ------
        ValueError
            Not the oriented basis, incomplete data (as :meth:`result`), or an
            ill-conditioned ``QᵀMQ``.
        """
        if self.basis != "oriented":
            raise ValueError(f"irrep_result() needs the 'oriented' basis; this accumulator holds the "
                             f"{self.basis!r} basis")
        self._check_complete()
        total, sizes, per_bin = self._bins()
        if np.any(sizes == 0):
            raise ValueError(f"a jackknife bin is empty ({self._n} configurations, {self.n_bins} bins)")
        # P_g A P_gᵀ for a permutation matrix P_g is A with rows and columns re-indexed
        inverse = [np.argmax(Pg, axis=1) for Pg in _permutations()]

        def symmetrised(mom: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            n = mom["n"]
            mf, mc = mom["f"] / n, mom["c"] / n
            M = mom["cc"] / n - np.outer(mc, mc)
            N = mom["cf"] / n - np.outer(mc, mf)
            return (sum(M[np.ix_(q, q)] for q in inverse) / len(inverse),
                    sum(N[np.ix_(q, q)] for q in inverse) / len(inverse))

        def spectrum(M: np.ndarray, N: np.ndarray, Q: np.ndarray, what: str) -> np.ndarray:
            Mq = Q.T @ M @ Q
            Mq = 0.5 * (Mq + Mq.T)
            cond = _standardised_cond(Mq)
            if not cond <= max_cond:
                raise IllConditionedError(f"{what}: the coarse-level matrix is singular or ill-conditioned "
                                 f"(standardised condition number {cond:.3g} > max_cond = {max_cond:.3g}); "
                                 "use more independent configurations")
            return _spectrum(np.linalg.solve(Mq, Q.T @ N @ Q))

        full = symmetrised(total)
        loo = [symmetrised({k: total[k] - per_bin[k][j] for k in total}) for j in range(self.n_bins)]
        out = []
        for parity in ("odd", "even"):
            for irrep in D4_CHARACTERS:
                Q = irrep_basis(parity, irrep)
                if Q.shape[1] == 0:
                    continue
                what = f"{parity} sector, irrep {irrep}"
                ev = spectrum(*full, Q, what + " (all data)")
                loo_ev = np.array([spectrum(*mn, Q, f"{what} (jackknife sample {j})") for j, mn in enumerate(loo)])
                y = _log2abs(ev)
                out.append(IrrepSpectrum(
                    parity=parity, irrep=irrep, dim=int(Q.shape[1]), level=self.level,
                    L_fine=-1 if self.L_fine is None else self.L_fine,
                    L_coarse=-1 if self.L_coarse is None else self.L_coarse,
                    n_configs=self._n, eigenvalues=ev, y=y,
                    y_err=jackknife_error(y, _log2abs(loo_ev), sizes)))
        return out

