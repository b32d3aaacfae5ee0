r"""The MCRG operator basis: the 36 spin products of the paper and their evaluation.

An operator is one equivalence class of products of one to four spins that fit
in a 3×3 plaquette, classes taken under translations and the 8 point
symmetries of the square (D4). The classes are enumerated by code
(:func:`enumerate_classes`): 1 one-spin, 5 two-spin, 10 three-spin and 20
four-spin classes, 36 in all (:data:`OPERATORS`).

Convention (the default of :mod:`dreamrg.mcrg`, basis ``"symmetrised"``):
:func:`operators` returns the *extensive, symmetrised* sum ``S_α(σ)`` -- the product of the class's spins
summed over all ``L²`` periodic translations and over every distinct
orientation of the class (:attr:`Operator.n_terms` of them, each counted once),
an integer with ``|S_α| ≤ n_terms · L²``. Odd operators (1 or 3 spins, 11 of
them, :data:`ODD`) change sign under a global spin flip, even ones (2 or 4
spins, 25, :data:`EVEN`) do not; within a sector the order (fewer spins, then
smaller spread, then canonical) is the truncation order. The *oriented* basis
(:data:`ORIENTED`, 158 operators) keeps every orientation separately; the
*authors'* basis (:mod:`dreamrg.mcrg.authors_basis`) is the 36 single-orientation
products of the paper authors' code. :data:`BASES` holds the three
(:class:`Basis`); with ``boundary="open"`` the products are summed only where
they fit inside the lattice (:data:`BOUNDARIES`).

The derivation and the choice of normalisation are in the MCRG chapter of the
book (``book/mcrg.md``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from dreamrg._numba import numba_threads
from dreamrg.mcrg.authors_basis import AUTHORS_DUPLICATES, AUTHORS_OFFSETS

__all__ = [
    "Site",
    "Operator",
    "OPERATORS",
    "ODD",
    "EVEN",
    "N_OPERATORS",
    "ORIENTED",
    "N_ORIENTED",
    "BASES",
    "Basis",
    "BOUNDARIES",
    "get_basis",
    "check_boundary",
    "MIN_L_OPERATORS",
    "enumerate_classes",
    "operators",
]

#: smallest linear size for which the 36 operators are evaluated at all
MIN_L_OPERATORS = 3

Site = tuple[int, int]

# the 8 point symmetries of the square acting on an offset (dy, dx)
_D4 = (
    lambda y, x: (y, x),
    lambda y, x: (x, -y),
    lambda y, x: (-y, -x),
    lambda y, x: (-x, y),
    lambda y, x: (y, -x),
    lambda y, x: (-y, x),
    lambda y, x: (x, y),
    lambda y, x: (-x, -y),
)


def _normalise(sites: Iterable[Site]) -> tuple[Site, ...]:
    """Translate so that min row = min column = 0; return the sorted tuple."""
    s = list(sites)
    my = min(p[0] for p in s)
    mx = min(p[1] for p in s)
    return tuple(sorted((y - my, x - mx) for y, x in s))


def _orientations(sites: Iterable[Site]) -> tuple[tuple[Site, ...], ...]:
    """Distinct images of a site set under D4, up to translation (sorted)."""
    s = list(sites)
    return tuple(sorted({_normalise(g(y, x) for y, x in s) for g in _D4}))


def _canonical(sites: Iterable[Site]) -> tuple[Site, ...]:
    """Canonical representative of a class (smallest normalised D4 image)."""
    return _orientations(sites)[0]


def _spread(sites: tuple[Site, ...]) -> int:
    """Sum of squared distances over all pairs of sites."""
    return sum((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 for a, b in itertools.combinations(sites, 2))


def enumerate_classes(max_spins: int = 4, box: int = 3) -> list[tuple[Site, ...]]:
    """All classes of 1..``max_spins`` sites fitting in a ``box × box`` plaquette.

    Parameters
    ----------
    max_spins : int
        Largest number of spins in a product.
    box : int
        Linear size of the plaquette.

    Returns
    -------
    list of tuple of (int, int)
        Canonical representatives (offsets ``(dy, dx)``, sorted), one per
        equivalence class under translations and the 8 symmetries of the
        square, ordered by number of spins, then spread, then canonically.
        With the defaults: 36 classes (1 + 5 + 10 + 20).
    """
    cells = [(y, x) for y in range(box) for x in range(box)]
    out: list[tuple[Site, ...]] = []
    for k in range(1, max_spins + 1):
        reps = {_canonical(c) for c in itertools.combinations(cells, k)}
        out.extend(sorted(reps, key=lambda r: (_spread(r), r)))
    return out


_NAMES = {
    ((0, 0),): "spin",
    ((0, 0), (0, 1)): "nn pair",
    ((0, 0), (1, 1)): "diagonal (nnn) pair",
    ((0, 0), (0, 2)): "straight distance-2 pair",
    ((0, 0), (1, 2)): "knight pair",
    ((0, 0), (2, 2)): "diagonal distance-2 pair",
    ((0, 0), (0, 1), (1, 0), (1, 1)): "2x2 plaquette",
    ((0, 0), (0, 1), (0, 2)): "straight triplet",
    ((0, 0), (0, 1), (1, 0)): "corner triplet",
    ((0, 0), (1, 1), (2, 2)): "diagonal triplet",
    ((0, 0), (0, 1), (0, 2), (1, 1)): "T tetromino",
    ((0, 0), (0, 1), (1, 1), (1, 2)): "S tetromino",
    ((0, 0), (0, 1), (0, 2), (1, 0)): "L tetromino",
    ((0, 1), (1, 0), (1, 2), (2, 1)): "diamond",
    ((0, 0), (0, 2), (2, 0), (2, 2)): "3x3 corners",
}


@dataclass(frozen=True)
class Operator:
    """One MCRG operator (equivalence class of a product of spins).

    Attributes
    ----------
    index : int
        Position in :data:`OPERATORS` (0..35) and column of :func:`operators`.
    label : str
        Short label: sector letter and 1-based rank in the sector, e.g.
        ``"o1"`` (the spin), ``"e1"`` (nearest-neighbour pair).
    name : str
        Readable description, e.g. ``"nn pair (0,0)(0,1)"``.
    sites : tuple of (int, int)
        Canonical representative: offsets ``(dy, dx)`` in the 3×3 plaquette.
    orientations : tuple of tuple of (int, int)
        The distinct images of ``sites`` under the 8 symmetries, each
        translated to the plaquette corner; ``S_α`` sums all of them.
    n_spins : int
        Number of spins in the product (1..4).
    parity : {"odd", "even"}
        Behaviour under the global spin flip.
    """

    index: int
    label: str
    name: str
    sites: tuple[Site, ...]
    orientations: tuple[tuple[Site, ...], ...]
    n_spins: int
    parity: str

    @property
    def n_terms(self) -> int:
        """Number of distinct orientations (products per site in ``S_α``)."""
        return len(self.orientations)

    def picture(self) -> str:
        """3×3 ASCII picture of the representative (``#`` = spin, ``.`` = empty)."""
        rows = []
        for y in range(3):
            rows.append("".join("#" if (y, x) in self.sites else "." for x in range(3)))
        return "\n".join(rows)


def _build_operators() -> tuple[Operator, ...]:
    classes = enumerate_classes()
    odd = [c for c in classes if len(c) % 2 == 1]
    even = [c for c in classes if len(c) % 2 == 0]
    ops = []
    for sector, letter, members in (("odd", "o", odd), ("even", "e", even)):
        for rank, c in enumerate(members):
            where = "".join(f"({y},{x})" for y, x in c)
            base = _NAMES.get(c, f"{len(c)} spins")
            ops.append((sector, f"{letter}{rank + 1}", f"{base} {where}", c))
    return tuple(
        Operator(index=i, label=lab, name=nm, sites=c, orientations=_orientations(c),
                 n_spins=len(c), parity=sec)
        for i, (sec, lab, nm, c) in enumerate(ops)
    )


#: the 36 operators: indices 0..10 odd sector, 11..35 even sector
OPERATORS: tuple[Operator, ...] = _build_operators()
#: indices of the odd-sector operators (11), in truncation order
ODD: np.ndarray = np.array([op.index for op in OPERATORS if op.parity == "odd"], dtype=np.intp)
#: indices of the even-sector operators (25), in truncation order
EVEN: np.ndarray = np.array([op.index for op in OPERATORS if op.parity == "even"], dtype=np.intp)
N_OPERATORS = len(OPERATORS)


def _term_rows(rows: list[tuple[int, tuple[Site, ...]]]) -> tuple:
    """Read-only kernel term table from ``(column, offsets)`` rows (offsets normalised to the plaquette)."""
    T = len(rows)
    dy, dx = np.zeros((T, 4), dtype=np.int64), np.zeros((T, 4), dtype=np.int64)
    k, col = np.zeros(T, dtype=np.int64), np.zeros(T, dtype=np.int64)
    for t, (a, sites) in enumerate(rows):
        o = _normalise(sites)
        col[t], k[t] = a, len(o)
        for i, (y, x) in enumerate(o):
            dy[t, i], dx[t, i] = y, x
    for arr in (dy, dx, k, col):
        arr.setflags(write=False)
    return dy, dx, k, col


#: the kernel's term table of the symmetrised basis: one row per orientation, output column = class
_TERMS = _term_rows([(op.index, o) for op in OPERATORS for o in op.orientations])

#: every orientation of every class as its own operator: ``(class index, orientation)``,
#: in the order of :data:`OPERATORS` and, within a class, of :attr:`Operator.orientations`
ORIENTED: tuple[tuple[int, tuple[Site, ...]], ...] = tuple(
    (op.index, o) for op in OPERATORS for o in op.orientations)
N_ORIENTED = len(ORIENTED)
# the kernel's term table for the oriented basis: the same terms, one output column each
_TERMS_ORIENTED = (_TERMS[0], _TERMS[1], _TERMS[2], np.arange(N_ORIENTED, dtype=np.int64))
_TERMS_ORIENTED[3].setflags(write=False)


# --------------------------------------------------------------------------
# operator bases
# --------------------------------------------------------------------------
#: how products are summed over the lattice: ``"periodic"`` (all ``L²`` translations on the torus)
#: or ``"open"`` (only where every spin of the product lies inside the lattice, no wrap-around)
BOUNDARIES = ("periodic", "open")


@dataclass(frozen=True, eq=False)
class Basis:
    """One set of MCRG operators: what the kernel evaluates and how 𝒯 uses the columns.

    Attributes
    ----------
    name : {"symmetrised", "oriented", "authors"}
    n_ops : int
        Number of operator columns :func:`operators` returns.
    labels : tuple of str
        One short label per column (used in messages).
    parity : tuple of {"odd", "even"}
        Spin-flip parity of every column.
    odd, even : numpy.ndarray of intp
        Columns that enter 𝒯 in each sector, in truncation order (exact
        duplicates of an earlier column left out).
    duplicates : dict
        ``{column: earlier column it repeats exactly}`` (left out of ``odd``/``even``).
    terms : tuple of numpy.ndarray
        The kernel's term table ``(dy, dx, k, op)`` (see :mod:`dreamrg._mcrg_kernels`).
    """

    name: str
    n_ops: int
    labels: tuple[str, ...]
    parity: tuple[str, ...]
    odd: np.ndarray
    even: np.ndarray
    duplicates: dict
    terms: tuple


def _make_basis(name: str, labels, parity, terms, duplicates=None) -> Basis:
    duplicates = dict(duplicates or {})
    keep = [a for a in range(len(labels)) if a not in duplicates]
    sector = {p: np.array([a for a in keep if parity[a] == p], dtype=np.intp) for p in ("odd", "even")}
    for arr in sector.values():
        arr.setflags(write=False)
    return Basis(name=name, n_ops=len(labels), labels=tuple(labels), parity=tuple(parity),
                 odd=sector["odd"], even=sector["even"], duplicates=duplicates, terms=terms)


def _build_bases() -> dict[str, Basis]:
    rank = {}
    oriented_labels = []
    for a, _ in ORIENTED:
        rank[a] = rank.get(a, 0) + 1
        oriented_labels.append(f"{OPERATORS[a].label}.{rank[a]}")
    return {
        "symmetrised": _make_basis("symmetrised", [op.label for op in OPERATORS],
                                   [op.parity for op in OPERATORS], _TERMS),
        "oriented": _make_basis("oriented", oriented_labels, [OPERATORS[a].parity for a, _ in ORIENTED],
                                _TERMS_ORIENTED),
        "authors": _make_basis("authors", [f"a{a}" for a in range(len(AUTHORS_OFFSETS))],
                               ["odd" if len(o) % 2 else "even" for o in AUTHORS_OFFSETS],
                               _term_rows(list(enumerate(AUTHORS_OFFSETS))), AUTHORS_DUPLICATES),
    }


#: the operator bases by name: ``"symmetrised"`` (the 36 class sums, :data:`OPERATORS`), ``"oriented"``
#: (the 158 orientations of :data:`ORIENTED`), ``"authors"`` (the 36 single-orientation products of the
#: authors' code, :mod:`dreamrg.mcrg.authors_basis`)
BASES: dict[str, Basis] = _build_bases()


def get_basis(basis: str) -> Basis:
    """The :class:`Basis` called ``basis``; ``ValueError`` naming the allowed ones otherwise."""
    if basis not in BASES:
        raise ValueError(f"unknown operator basis {basis!r}; allowed: {', '.join(BASES)}")
    return BASES[basis]


def check_boundary(boundary: str) -> str:
    """``boundary`` if it is one of :data:`BOUNDARIES`; ``ValueError`` naming the allowed ones otherwise."""
    if boundary not in BOUNDARIES:
        raise ValueError(f"unknown boundary {boundary!r}; allowed: {', '.join(BOUNDARIES)}")
    return boundary


# --------------------------------------------------------------------------
# operator evaluation
# --------------------------------------------------------------------------
def _as_config_batch(sigma, name: str = "sigma", min_L: int = MIN_L_OPERATORS, check_values: bool = True) -> np.ndarray:
    """Validate spins, return a C-contiguous int8 array of shape (n, L, L)."""
    a = np.asarray(sigma)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"{name} must have shape (n, L, L) or (L, L); got {np.shape(sigma)}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} holds no configuration (shape {a.shape})")
    if a.shape[1] < min_L:
        raise ValueError(f"{name} has L = {a.shape[1]}; at least L = {min_L} is needed")
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"{name} must hold ±1 numbers; got dtype {a.dtype}")
    if check_values and not np.all((a == 1) | (a == -1)):
        raise ValueError(f"{name} must contain only the spin values -1 and +1")
    return np.ascontiguousarray(a, dtype=np.int8)


def operators(sigma, *, threads: int | None = None, check: bool = True,
              basis: str = "symmetrised", boundary: str = "periodic") -> np.ndarray:
    """The operators of a batch of configurations (bit-packed numba kernel).

    Parameters
    ----------
    sigma : array_like, shape (n, L, L) or (L, L)
        Spins ±1 (any integer or float dtype, converted to ``int8``); ``L x L``
        lattices with ``L ≥ 3``. Every ``L`` works (``L % 8 == 0`` packs
        fastest). For ``L < 5`` and periodic sums the plaquette meets its own
        periodic images: on ``L = 4`` a distance-2 product is counted twice per
        pair, on ``L = 3`` different operators coincide (the definition below is
        still applied literally; the MCRG needs coarse ``L ≥ 4``).
    threads : int, optional
        Number of numba threads (default: the current numba setting).
    check : bool
        Verify that every value is ±1 (one pass over the data). Pass
        ``False`` only for trusted spins (block spins, store contents): any
        negative value is then read as -1 and anything else as +1.
    basis : {"symmetrised", "oriented", "authors"}
        ``"symmetrised"``: the 36 class sums of :data:`OPERATORS`; ``"oriented"``:
        the 158 orientations of :data:`ORIENTED` separately; ``"authors"``: the 36
        single-orientation products of :mod:`dreamrg.mcrg.authors_basis`.
    boundary : {"periodic", "open"}
        ``"periodic"``: every product summed over all ``L²`` translations of the
        torus. ``"open"``: only over the ``(L - e_y)(L - e_x)`` placements where
        the whole product lies inside the lattice (``e_y``, ``e_x`` its extent:
        largest minus smallest row and column offset), no wrap-around.

    Returns
    -------
    numpy.ndarray of int64, shape (n, m) (or (m,) for a single (L, L) input)
        ``out[i, a]``: the sum over the translations (see ``boundary``) of the
        product of the spins of every term of operator ``a`` -- for the
        symmetrised basis all distinct orientations of ``OPERATORS[a]`` (see the
        module docstring); ``m`` = 36, 158 or 36.
    """
    from dreamrg import _mcrg_kernels

    b = get_basis(basis)
    open_ = check_boundary(boundary) == "open"
    single = np.ndim(sigma) == 2
    s = _as_config_batch(sigma, check_values=check)
    out = np.empty((s.shape[0], b.n_ops), dtype=np.int64)
    with numba_threads(threads) as nt:
        if nt == 1:
            _mcrg_kernels.operator_sums_serial(s, *b.terms, open_, out)
        else:
            _mcrg_kernels.operator_sums(s, *b.terms, open_, nt, out)
    return out[0] if single else out
