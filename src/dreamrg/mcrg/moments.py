"""Moment sums per jackknife bin, built from pieces so that chunks merge exactly.

The configurations ``0 .. n_total - 1`` fall into ``n_bins`` bins of
consecutive configurations (bin ``j`` holds ``[j n / n_bins, (j+1) n / n_bins)``).
Whoever adds a range of configurations (a *chunk*) cuts it at the bin edges
into *pieces*; a piece holds the count and the sums ``Σ f``, ``Σ c``,
``Σ c fᵀ``, ``Σ c cᵀ``, ``Σ f fᵀ`` of the operator values centred on an integer
reference (the rounded mean of its chunk), accumulated configuration by
configuration by :func:`dreamrg._mcrg_kernels.accumulate_moments`.

The sum of a bin is defined as the left fold of its pieces in configuration
order: the piece that starts the bin (the *head*), then each following piece,
shifted to the head's reference, added in turn. A piece that arrives before
its predecessor waits (*pending*) until the head reaches it. Whatever order
the chunks arrive in, and however they were grouped into partial merges, every
bin is folded in the same order from the same pieces, so the float sums are
bit-identical to one accumulator fed with the chunks in sequence.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Piece", "BinnedMoments", "SUMS"]

#: the sums of a piece, besides its count
SUMS = ("f", "c", "cf", "cc", "ff")


class Piece:
    """Centred moment sums of the consecutive configurations ``[start, start + n)``.

    ``f0``, ``c0`` (int64, shape ``(m,)``) are the references subtracted at the
    fine and coarse level; ``sums`` maps :data:`SUMS` to float64 arrays of
    shapes ``(m,)``, ``(m,)``, ``(m, m)``, ``(m, m)``, ``(m, m)``.
    """

    __slots__ = ("start", "n", "f0", "c0", "sums")

    def __init__(self, start: int, n: int, f0: np.ndarray, c0: np.ndarray, sums: dict[str, np.ndarray]):
        self.start = int(start)
        self.n = int(n)
        self.f0 = f0
        self.c0 = c0
        self.sums = sums

    @property
    def end(self) -> int:
        return self.start + self.n

    @classmethod
    def from_ops(cls, f: np.ndarray, c: np.ndarray, lo: int, hi: int, start: int,
                 f0: np.ndarray, c0: np.ndarray) -> Piece:
        """The piece of rows ``lo:hi`` of the int64 operator values ``f``, ``c`` (it starts at ``start``)."""
        from dreamrg import _mcrg_kernels

        m = f.shape[1]
        s = {"f": np.zeros(m), "c": np.zeros(m), "cf": np.zeros((m, m)), "cc": np.zeros((m, m)),
             "ff": np.zeros((m, m))}
        _mcrg_kernels.accumulate_moments(f, c, lo, hi, f0, c0, s["f"], s["c"], s["cf"], s["cc"], s["ff"])
        return cls(start, hi - lo, f0, c0, s)

    def copy(self) -> Piece:
        return Piece(self.start, self.n, self.f0.copy(), self.c0.copy(), {k: v.copy() for k, v in self.sums.items()})

    def shifted(self, f0: np.ndarray, c0: np.ndarray) -> dict[str, np.ndarray]:
        """The sums centred on the references ``f0``, ``c0`` instead (exact while below 2**53)."""
        df = (self.f0 - f0).astype(np.float64)
        dc = (self.c0 - c0).astype(np.float64)
        s, n = self.sums, float(self.n)
        if not (df.any() or dc.any()):
            return s
        return {
            "f": s["f"] + n * df,
            "c": s["c"] + n * dc,
            "cf": s["cf"] + np.outer(dc, s["f"]) + np.outer(s["c"], df) + n * np.outer(dc, df),
            "cc": s["cc"] + np.outer(dc, s["c"]) + np.outer(s["c"], dc) + n * np.outer(dc, dc),
            "ff": s["ff"] + np.outer(df, s["f"]) + np.outer(s["f"], df) + n * np.outer(df, df),
        }

    def absorb(self, other: Piece) -> None:
        """Add ``other``, the piece that follows this one, in this piece's reference."""
        if other.start != self.end:
            raise AssertionError(f"piece at {other.start} does not follow the run ending at {self.end}")
        for key, arr in other.shifted(self.f0, self.c0).items():
            self.sums[key] += arr
        self.n += other.n


class BinnedMoments:
    """The pieces of ``n_bins`` bins over ``n_total`` configurations with ``m`` operators.

    Parameters
    ----------
    n_total, n_bins, m : int
        Configurations in all, jackknife bins (``n_bins ≤ n_total``), operators.
    """

    def __init__(self, n_total: int, n_bins: int, m: int):
        self.n_total = int(n_total)
        self.n_bins = int(n_bins)
        self.m = int(m)
        self.heads: dict[int, Piece] = {}
        self.pending: dict[int, dict[int, Piece]] = {}

    def bin_range(self, j: int) -> tuple[int, int]:
        return (j * self.n_total) // self.n_bins, ((j + 1) * self.n_total) // self.n_bins

    def bin_of(self, i: int) -> int:
        """The bin of configuration ``i``."""
        j = (i * self.n_bins) // self.n_total
        while self.bin_range(j)[1] <= i:  # integer edges: correct the estimate upwards
            j += 1
        while self.bin_range(j)[0] > i:
            j -= 1
        return j

    def pieces(self) -> list[Piece]:
        """Every piece held, heads and pending, by start."""
        out = list(self.heads.values()) + [p for d in self.pending.values() for p in d.values()]
        return sorted(out, key=lambda p: p.start)

    @property
    def count(self) -> int:
        return sum(p.n for p in self.pieces())

    def complete(self) -> bool:
        return not self.pending and len(self.heads) == self.n_bins and all(
            self.heads[j].end == self.bin_range(j)[1] for j in range(self.n_bins))

    # -- filling ----------------------------------------------------------------
    def add_ops(self, f: np.ndarray, c: np.ndarray, start: int) -> None:
        """Add the configurations ``[start, start + len(f))`` (int64 operator values ``f``, ``c``).

        They are one chunk: one reference (their rounded mean), cut at the bin edges.
        """
        n = f.shape[0]
        if start < 0 or start + n > self.n_total:
            raise ValueError(f"configurations {start}..{start + n - 1} lie outside 0..{self.n_total - 1} "
                             f"(n_expected = {self.n_total})")
        f0 = np.rint(f.mean(axis=0)).astype(np.int64)
        c0 = np.rint(c.mean(axis=0)).astype(np.int64)
        cuts = []  # (bin, first row, last row + 1), all checked before anything is added
        i = 0
        while i < n:
            j = self.bin_of(start + i)
            take = min(n - i, self.bin_range(j)[1] - (start + i))
            self._check_free(j, start + i, start + i + take)
            cuts.append((j, i, i + take))
            i += take
        for j, lo, hi in cuts:
            self.insert(j, Piece.from_ops(f, c, lo, hi, start + lo, f0, c0))

    def _check_free(self, j: int, lo: int, hi: int) -> None:
        """Raise if ``[lo, hi)`` overlaps configurations bin ``j`` already holds."""
        held = ([self.heads[j]] if j in self.heads else []) + list(self.pending.get(j, {}).values())
        for p in held:
            if lo < p.end and p.start < hi:
                raise ValueError(f"configurations {max(lo, p.start)}..{min(hi, p.end) - 1} were added twice "
                                 "(overlapping chunks)")

    def insert(self, j: int, piece: Piece) -> None:
        """Put ``piece`` (inside bin ``j``, not overlapping) in place and fold what has become contiguous."""
        lo, hi = self.bin_range(j)
        if not (lo <= piece.start and piece.end <= hi and piece.n > 0):
            raise ValueError(f"piece {piece.start}..{piece.end - 1} is not inside bin {j} ({lo}..{hi - 1})")
        if piece.start == lo:
            self.heads[j] = piece
        else:
            self.pending.setdefault(j, {})[piece.start] = piece
        head, waiting = self.heads.get(j), self.pending.get(j)
        while head is not None and waiting and head.end in waiting:
            head.absorb(waiting.pop(head.end))
        if waiting is not None and not waiting:
            del self.pending[j]

    def merge(self, other: BinnedMoments) -> None:
        """Add copies of every piece of ``other`` (same bins; refuses overlaps before changing anything)."""
        if (other.n_total, other.n_bins, other.m) != (self.n_total, self.n_bins, self.m):
            raise ValueError("cannot merge moments of different bins or operators")
        theirs = other.pieces()
        for p in theirs:
            self._check_free(other.bin_of(p.start), p.start, p.end)
        for p in theirs:
            self.insert(self.bin_of(p.start), p.copy())

    # -- reading ----------------------------------------------------------------
    def per_bin(self) -> dict[str, np.ndarray]:
        """Count and sums of every bin, all centred on bin 0's reference (``n``: shape ``(n_bins,)``)."""
        if not self.complete():
            raise ValueError("not every configuration of every bin was added")
        f0, c0 = self.heads[0].f0, self.heads[0].c0
        out = {"n": np.array([float(self.heads[j].n) for j in range(self.n_bins)])}
        shifted = [self.heads[j].shifted(f0, c0) for j in range(self.n_bins)]
        for key in SUMS:
            out[key] = np.stack([s[key] for s in shifted])
        return out

    # -- serialisation ------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain numeric arrays (no objects): every piece, by start."""
        ps = self.pieces()
        m = self.m
        out = {"start": np.array([p.start for p in ps], dtype=np.int64),
               "n": np.array([p.n for p in ps], dtype=np.int64),
               "f0": np.array([p.f0 for p in ps], dtype=np.int64).reshape(len(ps), m),
               "c0": np.array([p.c0 for p in ps], dtype=np.int64).reshape(len(ps), m)}
        shapes = {"f": (m,), "c": (m,), "cf": (m, m), "cc": (m, m), "ff": (m, m)}
        for key in SUMS:
            out[key] = np.array([p.sums[key] for p in ps], dtype=np.float64).reshape((len(ps),) + shapes[key])
        return out

    @classmethod
    def from_arrays(cls, n_total: int, n_bins: int, m: int, arrays: dict[str, np.ndarray]) -> BinnedMoments:
        """Inverse of :meth:`to_arrays`; ``ValueError`` if the arrays do not describe valid pieces."""
        out = cls(n_total, n_bins, m)
        k = len(arrays["start"])
        want = {"start": (k,), "n": (k,), "f0": (k, m), "c0": (k, m), "f": (k, m), "c": (k, m),
                "cf": (k, m, m), "cc": (k, m, m), "ff": (k, m, m)}
        for key, shape in want.items():
            a = arrays[key]
            kind = "f" if key in SUMS else "i"
            if a.shape != shape or a.dtype.kind != kind:
                raise ValueError(f"moment array {key!r} has shape {a.shape} and dtype {a.dtype}; "
                                 f"expected {shape} of {'float' if kind == 'f' else 'int'}")
        for i in range(k):
            start, n = int(arrays["start"][i]), int(arrays["n"][i])
            if n < 1 or start < 0 or start + n > n_total:
                raise ValueError(f"piece {i}: configurations {start}..{start + n - 1} outside 0..{n_total - 1}")
            j = out.bin_of(start)
            out._check_free(j, start, start + n)
            out.insert(j, Piece(start, n, arrays["f0"][i].copy(), arrays["c0"][i].copy(),
                                {key: np.array(arrays[key][i], dtype=np.float64) for key in SUMS}))
        return out
