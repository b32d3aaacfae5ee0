r"""Monte Carlo renormalisation group (MCRG): the linearised block-spin map 𝒯.

Paper section V (eqs. 17–22, Tables III–IV, Fig. 10). Configurations σ at
blocking level ``n`` and their majority-rule block spins μ at level ``n+1``
(:func:`dreamrg.coarse.majority_rule`, the same kernel D as everywhere in the
package) give the matrix 𝒯 of the linearised RG map from correlation
functions alone, and its eigenvalues give the RG exponents.

Operators
---------
The coupling space is the paper's: every product of one to four spins that
fits in a 3×3 plaquette, one operator per equivalence class under
translations and the 8 point symmetries of the square (group D4). The classes
are enumerated programmatically (:func:`enumerate_classes`): a set of sites
is put in canonical form by applying the 8 symmetries, translating each image
so that its smallest row and column offsets are 0, sorting, and keeping the
lexicographically smallest. There are 1 one-spin, 5 two-spin, 10 three-spin
and 20 four-spin classes: 36 operators, see :data:`OPERATORS`.

Each operator is the *extensive, symmetrised* sum

.. math::  S_α(σ) = Σ_{o ∈ \mathrm{orient}(α)} Σ_{x ∈ \mathbb{Z}_L^2} Π_{r ∈ o} σ_{x+r}

over all ``L²`` translations (periodic) and all *distinct* orientations
``o`` of the class (1, 2, 4 or 8 of them, counted once each; the
orientations of a class are its 8 images up to translation). ``S_α`` is an
integer, invariant under every translation, rotation and reflection of the
lattice, and ``|S_α| ≤ (number of orientations) · L²``.
:attr:`Operator.n_terms` is that number of orientations: ``S_α / (n_terms
L²)`` is the per-site average of a product, between -1 and 1. Products of
one or three spins are odd under the global flip σ → -σ, those of two or
four spins even: the *odd* sector has 11 operators, the *even* sector 25.
Within each sector operators are ordered by the number of spins, then by
increasing spread (sum of squared pair distances), then canonically; the
truncated bases ``n_odd`` / ``n_even`` keep the first operators in that
order (first the one-spin / two-spin operators, nearest-neighbour first).

Normalisation (why extensive)
-----------------------------
With ``P(σ) ∝ exp(-Σ_α K_α S_α(σ))`` (paper eqs. 2–3 and 5) the couplings
``K_α`` are the intensive numbers conjugate to *extensive* operators at every
level. 𝒯 is invariant under a rescaling ``S_α → c_α S_α`` applied at both
levels (it becomes ``C 𝒯 C⁻¹``, a similarity transform), so the choice of
one constant per operator (e.g. the number of orientations) does not matter.
A *per-level* rescaling does: dividing by the number of sites at each level
(``L²`` and ``(L/2)²``) would turn 𝒯 into ``𝒯 / 4`` and shift every exponent
by ``-d = -2``. We therefore always use the extensive sums at both levels.

The linearised map (our equations)
----------------------------------
Write 𝒯_{αβ} = ∂K_α^{(n+1)}/∂K_β^{(n)} (eq. 18) and use the connected
correlation functions, all in float64 after centring,

.. math::

    N_{γβ} &= ⟨S_γ(μ) S_β(σ)⟩ - ⟨S_γ(μ)⟩⟨S_β(σ)⟩
            = -∂⟨S_γ(μ)⟩/∂K_β^{(n)}          \quad\text{(cross-level)}\\
    M_{γα} &= ⟨S_γ(μ) S_α(μ)⟩ - ⟨S_γ(μ)⟩⟨S_α(μ)⟩
            = -∂⟨S_γ(μ)⟩/∂K_α^{(n+1)}        \quad\text{(coarse level)}

(the minus signs from ``P ∝ e^{-H}`` cancel). The chain rule (Swendsen 1979)
``∂⟨S_γ(μ)⟩/∂K_β^{(n)} = Σ_α ∂⟨S_γ(μ)⟩/∂K_α^{(n+1)} · ∂K_α^{(n+1)}/∂K_β^{(n)}``
reads ``N = M 𝒯``, hence

.. math::  𝒯 = M^{-1} N, \qquad 𝒯_{αβ} = Σ_γ (M^{-1})_{αγ} N_{γβ}.

The paper (eqs. 19–22) calls the cross-level matrix 𝓜 and the same-level
one 𝓝, so its eq. (18) gives 𝒯 = 𝓝⁻¹𝓜 -- the same matrix as ours; the
printed "𝒯 = 𝓜⁻¹𝓝" has the two names swapped (taken literally it would
invert every eigenvalue, y → -y). ``M`` is symmetric; ``N`` is not. Both
are computed per sector: cross-sector correlations vanish by spin-flip
symmetry, so 𝒯 is block diagonal and each block is solved on its own.

Identification of the exponents
-------------------------------
Eigenvalues λ of each sector's 𝒯 are sorted by decreasing ``|λ|`` and
converted to ``y = log₂|λ|`` (scale factor b = 2).

* ``y_h = (d + 2 - η)/2`` (exact 15/8): the largest eigenvalue of the *odd*
  sector (paper: "e_1 ... odd").
* ``y_t = 1/ν`` (exact 1): the largest eigenvalue of the *even* sector
  ("e_2 ... even").
* ``y_r1`` (Fig. 10c: "third eigenvalue", associated by the paper with the
  most relevant *redundant* direction): the second eigenvalue of the *odd*
  sector. It is the third of the merged spectrum in every run we made; the
  second even eigenvalue lies about one unit lower. Measured on MC data it
  is y ≈ -0.34 to -0.43 (L = 16–128, levels 0–2), stable with L: we see no
  eigenvalue near 0 in either sector of the symmetrised basis, so the
  paper's remark that this exponent "seems to vanish" with system size is
  *not* reproduced by this identification. The oriented basis below finds
  the missing direction: a lattice-anisotropy mode, invisible to
  rotation-invariant operators.
* ``ω`` (Fig. 10d, exact -1; "the second most relevant eigenvector ... that
  is even under reflections of spin degrees of freedom"): the second
  eigenvalue of the *even* sector. With 2·10⁵ (L = 32) and 10⁵ (L = 128)
  MC configurations it gives -1.23(11) and -1.44(15) at the first blocking
  step, -1.20(7) and -1.32(14) at the second, compatible with the paper's
  Table III (-1.35(5) at L = 32, -1.08(5) at L = 128) within the large
  errors. The paper calls it the "sixth eigenvalue"; in our merged spectrum
  it is the fourth (after y_h, y_t and the second odd one), so the paper's
  overall rank must count differently; we identify it by sector and rank
  only. It sometimes comes as a complex pair with the third even eigenvalue
  (statistical noise); ``|λ|`` is used and :attr:`SectorResult.max_imag`
  reports it.

:attr:`MCRGResult.spectrum` lists the merged spectrum with the sector and
rank of every eigenvalue so that any other identification can be made from
the result. Which blocking step is used matters: the first step from MC
configurations (n = 0) gives y_h ≈ 1.881 at every L = 16–128 (0.3 % above
15/8), the second (n = 1) 1.876, the third 1.875; y_t ≈ 0.975 then ≈ 1.00.

Error bars are a binned jackknife over configurations (bins of consecutive
configurations; unequal bin sizes handled by the weighted delete-a-group
jackknife). The eigenvalues of every leave-one-bin-out sample are sorted the
same way; errors on nearly degenerate eigenvalues are therefore only
indicative. Complex pairs (possible among irrelevant eigenvalues, 𝒯 not
being symmetric) are reported through the imaginary parts in
:attr:`SectorResult.eigenvalues` and :attr:`SectorResult.max_imag`.

Oriented basis and lattice-symmetry sectors
-------------------------------------------
``basis="oriented"`` keeps every orientation of every class as an operator
of its own (:data:`ORIENTED`, 158 of them: 49 odd, 109 even), i.e. the
translation sums without the sum over the point group. 𝒯 then also acts on
perturbations that break the square's symmetry, e.g. the anisotropy ``nn
pair along x - nn pair along y``. Since the blocking commutes with the 8
point symmetries, 𝒯 commutes with their permutation matrices
(:func:`symmetry_permutations`); :meth:`MCRGAccumulator.irrep_result`
averages ``M`` and ``N`` over the group and solves 𝒯 separately in every
irreducible representation ``A1, A2, B1, B2, E`` of D4 (per spin-flip
sector). ``A1`` is spanned by the class sums: its spectrum is that of the
symmetrised basis (tested to round-off). ``B1`` (``x² - y²``, axis
anisotropy) and ``B2`` (``xy``, diagonal anisotropy) hold the two
components of the traceless stress tensor, of scaling dimension 2, i.e.
``y = d - 2 = 0``: a marginal direction that, like a redundant one, only
rescales the lattice anisotropically. Measured on MC data (L = 32, the
first 10⁵ configurations of the cached store, tie-breaking seed 2024), the
leading B1 exponent is 0.160(14) at the first blocking step and 0.049(15)
at the second, the leading B2 one -0.006(21) and 0.005(37): the third
largest exponents of the whole spectrum, near 0.1 and vanishing as the
flow approaches the fixed point, as the paper's Fig. 10(c) describes its
"redundant" exponent. The authors' released code uses one orientation per
class, whose span contains such anisotropic combinations; we take this as
the likely identity of the paper's "most relevant redundant" exponent.

Streaming: :class:`MCRGAccumulator` keeps only sums of products (float64,
centred on an integer reference taken from the first batch, so the sums of
integer products stay exact for all realistic sizes) per jackknife bin when
the number of configurations is known in advance, otherwise in blocks of
consecutive configurations whose size doubles as data arrive; 10⁶
configurations of any size need at most ~10 MB.

Limits: the fine level needs even ``L ≥ 8`` so that the coarse lattice has
``L/2 ≥ 4``. On a 3×3 torus the plaquette wraps onto itself (offset 2 ≡ -1)
and the 36 operators collapse onto 12 distinct functions (measured rank 13
with the constant); from ``L = 4`` on they are linearly independent, so the
correlation matrices can be non-singular.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "Operator",
    "OPERATORS",
    "ODD",
    "EVEN",
    "ORIENTED",
    "BASES",
    "D4_CHARACTERS",
    "symmetry_permutations",
    "irrep_basis",
    "irrep_rows",
    "IrrepSpectrum",
    "IllConditionedError",
    "third_exponent",
    "enumerate_classes",
    "operators",
    "operators_reference",
    "MCRGAccumulator",
    "MCRGResult",
    "SectorResult",
    "rg_exponents",
    "mcrg_from_batches",
    "mcrg_from_store",
]

#: smallest fine-level linear size accepted by the 𝒯 computation (coarse L/2 ≥ 4)
MIN_L_FINE = 8
#: smallest linear size for which the 36 operators are evaluated at all
MIN_L_OPERATORS = 3
#: default bound on the condition number of the standardised coarse correlation matrix
DEFAULT_MAX_COND = 1e10


class IllConditionedError(ValueError):
    """A correlation matrix of 𝒯 is singular or ill-conditioned (too few or degenerate configurations)."""

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


def _term_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kernel term table (see :mod:`dreamrg._mcrg_kernels`): one row per orientation."""
    rows = [(op.index, o) for op in OPERATORS for o in op.orientations]
    T = len(rows)
    dy = np.zeros((T, 4), dtype=np.int64)
    dx = np.zeros((T, 4), dtype=np.int64)
    k = np.zeros(T, dtype=np.int64)
    idx = np.zeros(T, dtype=np.int64)
    for t, (a, o) in enumerate(rows):
        idx[t] = a
        k[t] = len(o)
        for i, (y, x) in enumerate(o):
            dy[t, i] = y
            dx[t, i] = x
    for arr in (dy, dx, k, idx):
        arr.setflags(write=False)
    return dy, dx, k, idx


_TERMS = _term_table()

#: every orientation of every class as its own operator: ``(class index, orientation)``,
#: in the order of :data:`OPERATORS` and, within a class, of :attr:`Operator.orientations`
ORIENTED: tuple[tuple[int, tuple[Site, ...]], ...] = tuple(
    (op.index, o) for op in OPERATORS for o in op.orientations)
N_ORIENTED = len(ORIENTED)
#: the operator bases: number of operators of each
BASES = {"classes": N_OPERATORS, "oriented": N_ORIENTED}
# the kernel's term table for the oriented basis: the same terms, one output column each
_TERMS_ORIENTED = (_TERMS[0], _TERMS[1], _TERMS[2], np.arange(N_ORIENTED, dtype=np.int64))
_TERMS_ORIENTED[3].setflags(write=False)
#: D4 characters in the order of the 8 point symmetries used here (identity, rotations by 90°,
#: 180°, 270°, the two axis reflections, the two diagonal reflections)
D4_CHARACTERS: dict[str, tuple[int, ...]] = {
    "A1": (1, 1, 1, 1, 1, 1, 1, 1),
    "A2": (1, 1, 1, 1, -1, -1, -1, -1),
    "B1": (1, -1, 1, -1, 1, 1, -1, -1),
    "B2": (1, -1, 1, -1, -1, -1, 1, 1),
    "E": (2, 0, -2, 0, 0, 0, 0, 0),
}


def _check_basis(basis: str) -> int:
    if basis not in BASES:
        raise ValueError(f"unknown operator basis {basis!r}; allowed: {', '.join(BASES)}")
    return BASES[basis]


def symmetry_permutations() -> np.ndarray:
    """Permutation matrices of the 8 point symmetries on the oriented operators.

    Returns
    -------
    numpy.ndarray of float64, shape (8, 158, 158)
        ``P[g, j, i] = 1`` when symmetry ``g`` maps orientation ``i`` of
        :data:`ORIENTED` onto orientation ``j`` (up to a translation). Rotating
        or reflecting a configuration permutes its oriented operators by one
        of these matrices (tested).
    """
    return _permutations().copy()


@functools.cache
def _permutations() -> np.ndarray:
    """Read-only :func:`symmetry_permutations`, built once per process."""
    pos = {o: i for i, (_, o) in enumerate(ORIENTED)}
    P = np.zeros((len(_D4), N_ORIENTED, N_ORIENTED))
    for g, sym in enumerate(_D4):
        for i, (_, o) in enumerate(ORIENTED):
            P[g, pos[_normalise(sym(y, x) for y, x in o)], i] = 1.0
    P.flags.writeable = False
    return P


def irrep_basis(parity: str, irrep: str) -> np.ndarray:
    """Orthonormal basis of one D4 irrep within one spin-flip sector of the oriented basis.

    Parameters
    ----------
    parity : {"odd", "even"}
    irrep : {"A1", "A2", "B1", "B2", "E"}

    Returns
    -------
    numpy.ndarray of float64, shape (158, d)
        Columns span the range of the irrep's projector ``(d_Γ/8) Σ_g χ_Γ(g) P_g``
        restricted to the sector (``d`` may be 0). The ``A1`` columns are the
        normalised class sums.
    """
    if parity not in ("odd", "even"):
        raise ValueError(f"parity must be 'odd' or 'even'; got {parity!r}")
    if irrep not in D4_CHARACTERS:
        raise ValueError(f"unknown D4 irrep {irrep!r}; allowed: {', '.join(D4_CHARACTERS)}")
    chi = D4_CHARACTERS[irrep]
    proj = (chi[0] / 8.0) * np.tensordot(np.asarray(chi, dtype=float), _permutations(), axes=1)
    mask = np.array([OPERATORS[a].parity == parity for a, _ in ORIENTED])
    proj = proj * mask[:, None] * mask[None, :]
    w, v = np.linalg.eigh(0.5 * (proj + proj.T))
    return v[:, w > 0.5]


# --------------------------------------------------------------------------
# operator evaluation
# --------------------------------------------------------------------------
def _as_batch(sigma, name: str = "sigma", min_L: int = MIN_L_OPERATORS, check_values: bool = True) -> np.ndarray:
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
              basis: str = "classes") -> np.ndarray:
    """The 36 operators of a batch of configurations (bit-packed numba kernel).

    Parameters
    ----------
    sigma : array_like, shape (n, L, L) or (L, L)
        Spins ±1 (any integer or float dtype, converted to ``int8``); periodic
        ``L x L`` lattices with ``L ≥ 3``. Every ``L`` works (``L % 8 == 0``
        packs fastest). For ``L < 5`` the plaquette meets its own periodic
        images: on ``L = 4`` a distance-2 product is counted twice per pair,
        on ``L = 3`` different operators coincide (the definition below is
        still applied literally; the MCRG needs coarse ``L ≥ 4``).
    threads : int, optional
        Number of numba threads (default: the current numba setting).
    check : bool
        Verify that every value is ±1 (one pass over the data). Pass
        ``False`` only for trusted spins (block spins, store contents): any
        negative value is then read as -1 and anything else as +1.
    basis : {"classes", "oriented"}
        ``"classes"``: the 36 symmetrised operators; ``"oriented"``: the 158
        orientations of :data:`ORIENTED` separately (translation sums only).

    Returns
    -------
    numpy.ndarray of int64, shape (n, 36) (or (36,) for a single (L, L) input)
        ``out[i, a] = S_a(sigma[i])``: the sum over all ``L²`` translations
        and all distinct orientations of operator ``OPERATORS[a]`` of the
        product of its spins (see the module docstring). Shape (n, 158) for
        the oriented basis, column ``j`` the translation sum of ``ORIENTED[j]``.
    """
    import numba

    from dreamrg import _mcrg_kernels

    m = _check_basis(basis)
    terms = _TERMS if basis == "classes" else _TERMS_ORIENTED
    single = np.ndim(sigma) == 2
    s = _as_batch(sigma, check_values=check)
    out = np.empty((s.shape[0], m), dtype=np.int64)
    old = numba.get_num_threads()
    nt = old if threads is None else max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    try:
        if nt != old:
            numba.set_num_threads(nt)
        if nt == 1:
            _mcrg_kernels.operator_sums_serial(s, *terms, out)
        else:
            _mcrg_kernels.operator_sums(s, *terms, nt, out)
    finally:
        if nt != old:
            numba.set_num_threads(old)
    return out[0] if single else out


def operators_reference(sigma, basis: str = "classes") -> np.ndarray:
    """Plain-numpy twin of :func:`operators` (``np.roll`` products; slow, for tests).

    Parameters
    ----------
    sigma : array_like, shape (n, L, L) or (L, L)
        Spins ±1, ``L ≥ 3``.
    basis : {"classes", "oriented"}
        As in :func:`operators`.

    Returns
    -------
    numpy.ndarray of int64, shape (n, 36) or (n, 158) (or one row)
        Same values as :func:`operators`.
    """
    m = _check_basis(basis)
    single = np.ndim(sigma) == 2
    s = _as_batch(sigma).astype(np.int64)
    out = np.zeros((s.shape[0], m), dtype=np.int64)
    j = 0
    for op in OPERATORS:
        for o in op.orientations:
            prod = np.ones_like(s)
            for dy, dx in o:
                # rolled[..., y, x] = s[..., (y + dy) % L, (x + dx) % L]
                prod = prod * np.roll(s, shift=(-dy, -dx), axis=(-2, -1))
            out[:, op.index if basis == "classes" else j] += prod.sum(axis=(-2, -1))
            j += 1
    return out[0] if single else out


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class SectorResult:
    """𝒯 and its spectrum in one spin-flip sector.

    Attributes
    ----------
    parity : {"odd", "even"}
    operators : tuple of int
        Indices (into :data:`OPERATORS`) of the operators used, in order.
    T : numpy.ndarray of float64, shape (m, m)
        ``𝒯 = M⁻¹ N`` from all data; ``T[α, β] = ∂K_α^(n+1)/∂K_β^(n)``.
    N, M : numpy.ndarray of float64, shape (m, m)
        Cross-level ``⟨S_γ(μ)S_β(σ)⟩_c`` and coarse-level ``⟨S_γ(μ)S_α(μ)⟩_c``
        connected correlations of the extensive operators.
    eigenvalues : numpy.ndarray of complex128, shape (m,)
        Eigenvalues of ``T``, sorted by decreasing modulus.
    eigenvalues_err : numpy.ndarray of float64, shape (m,)
        Jackknife errors of their real parts.
    y, y_err : numpy.ndarray of float64, shape (m,)
        ``log₂|λ|`` and its jackknife error.
    max_imag : float
        Largest ``|Im λ|`` (0 when the spectrum is real).
    cond_M : float
        Condition number of the standardised ``M`` (correlation matrix).
    """

    parity: str
    operators: tuple[int, ...]
    T: np.ndarray
    N: np.ndarray
    M: np.ndarray
    eigenvalues: np.ndarray
    eigenvalues_err: np.ndarray
    y: np.ndarray
    y_err: np.ndarray
    max_imag: float
    cond_M: float


@dataclass(frozen=True)
class MCRGResult:
    """MCRG exponents for one blocking step ``level → level + 1``.

    Attributes
    ----------
    level : int
        Blocking level ``n`` of the fine configurations (0 = as given).
    L_fine, L_coarse : int
        Linear sizes at levels ``n`` and ``n + 1``.
    n_configs, n_bins : int
        Number of configurations and of jackknife bins.
    odd, even : SectorResult
    y_h, y_t, y_r1, omega : float
        Identified exponents (module docstring): ``odd.y[0]``, ``even.y[0]``,
        ``odd.y[1]``, ``even.y[1]``. ``nan`` if the truncated sector is too
        small to hold the eigenvalue.
    y_h_err, y_t_err, y_r1_err, omega_err : float
        Jackknife errors.
    spectrum : tuple of (float, str, int)
        Merged spectrum ``(y, sector, rank in sector)`` by decreasing ``y``.
    """

    level: int
    L_fine: int
    L_coarse: int
    n_configs: int
    n_bins: int
    odd: SectorResult
    even: SectorResult
    y_h: float
    y_h_err: float
    y_t: float
    y_t_err: float
    y_r1: float
    y_r1_err: float
    omega: float
    omega_err: float
    spectrum: tuple[tuple[float, str, int], ...] = field(repr=False)

    @property
    def eta(self) -> float:
        """Anomalous dimension ``η = d + 2 - 2 y_h`` (d = 2), as in the paper's Table IV."""
        return 4.0 - 2.0 * self.y_h

    @property
    def eta_err(self) -> float:
        """Jackknife error of :attr:`eta` (``2 · y_h_err``)."""
        return 2.0 * self.y_h_err

    def summary(self) -> str:
        """One-line human-readable summary of the identified exponents."""
        return (
            f"L {self.L_fine}->{self.L_coarse} (level {self.level}, {self.n_configs} cfg, "
            f"{len(self.odd.operators)}+{len(self.even.operators)} ops): "
            f"y_h={self.y_h:.5f}({self.y_h_err:.5f}) y_t={self.y_t:.4f}({self.y_t_err:.4f}) "
            f"y_r1={self.y_r1:.3f}({self.y_r1_err:.3f}) omega={self.omega:.3f}({self.omega_err:.3f})"
        )

    def to_dict(self) -> dict:
        """JSON-friendly dictionary of the scalar results and both spectra."""
        d = {k: getattr(self, k) for k in ("level", "L_fine", "L_coarse", "n_configs", "n_bins",
                                           "y_h", "y_h_err", "y_t", "y_t_err", "y_r1", "y_r1_err",
                                           "omega", "omega_err")}
        for sec in (self.odd, self.even):
            d[f"{sec.parity}_y"] = [float(v) for v in sec.y]
            d[f"{sec.parity}_y_err"] = [float(v) for v in sec.y_err]
            d[f"{sec.parity}_cond_M"] = float(sec.cond_M)
            d[f"{sec.parity}_max_imag"] = float(sec.max_imag)
        return d


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


def _t_matrix(moments: dict[str, np.ndarray], idx: np.ndarray, max_cond: float, what: str) -> tuple:
    """``(T, N, M, cond_M)`` for operators ``idx`` from summed (centred) moments.

    Raises ``ValueError`` when the standardised coarse-level matrix ``M`` or
    the standardised fine-level covariance has a condition number above
    ``max_cond`` (or a zero variance): 𝒯 would then be undefined or
    dominated by round-off, or have spurious zero eigenvalues.
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
    for mat, level in ((M, "coarse-level correlation matrix M"), (F, "fine-level covariance")):
        cond = _standardised_cond(mat)
        if not cond <= max_cond:
            bad = [OPERATORS[i].label for i, v in zip(idx, np.diag(mat)) if not v > 0]
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


def _jackknife_error(full: np.ndarray, loo: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Weighted delete-a-group jackknife error (Busing et al. 1999); equal bins → the usual formula."""
    n = sizes.sum()
    h = n / sizes
    pseudo = h[:, None] * full[None, :] - (h[:, None] - 1.0) * loo
    theta_j = pseudo.mean(axis=0)
    var = (((pseudo - theta_j[None, :]) ** 2) / (h[:, None] - 1.0)).mean(axis=0)
    return np.sqrt(var)


def _sector_indices(parity: str, n_keep: int | None) -> np.ndarray:
    idx = ODD if parity == "odd" else EVEN
    if n_keep is None:
        return idx
    if not isinstance(n_keep, (int, np.integer)) or not 1 <= n_keep <= len(idx):
        raise ValueError(f"n_{parity} must be an integer in 1..{len(idx)}; got {n_keep!r}")
    return idx[: int(n_keep)]


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
    basis : {"classes", "oriented"}
        Operator basis (see :func:`operators`). :meth:`result` needs
        ``"classes"``, :meth:`irrep_result` ``"oriented"`` (memory grows as the
        square of the number of operators: 19 MB for 32 bins of 158 with
        ``n_expected``, up to 8 times more without).

    Notes
    -----
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
                 blocks_per_bin: int = 4, basis: str = "classes"):
        m = _check_basis(basis)
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
        self._s = {
            "n": np.zeros(cap), "f": np.zeros((cap, m)), "c": np.zeros((cap, m)),
            "cf": np.zeros((cap, m, m)), "cc": np.zeros((cap, m, m)), "ff": np.zeros((cap, m, m)),
        }
        self._n = 0   # configurations accumulated
        self._nb = 0  # blocks in use (the last one may be partial)

    def __len__(self) -> int:
        return self._n

    @property
    def count(self) -> int:
        """Number of configurations accumulated."""
        return self._n

    def _block_end(self, b: int) -> int:
        """Index one past the last configuration of block ``b``."""
        if self.n_expected is not None:
            return ((b + 1) * self.n_expected) // self.n_bins
        return (b + 1) * self.block_size

    # -- feeding ----------------------------------------------------------------
    def add(self, fine, coarse, *, check_blocking: bool = True, threads: int | None = None) -> None:
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
        """
        f = _as_batch(fine, "fine", MIN_L_FINE)
        c = _as_batch(coarse, "coarse", 1)
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
        self.add_operators(operators(f, threads=threads, check=False, basis=self.basis),
                           operators(c, threads=threads, check=False, basis=self.basis),
                           L_fine=L, L_coarse=L // 2)

    def add_operators(self, fine_ops, coarse_ops, *, L_fine: int | None = None,
                      L_coarse: int | None = None) -> None:
        """Accumulate precomputed operator values (from :func:`operators`).

        Parameters
        ----------
        fine_ops, coarse_ops : array_like of int, shape (n, 36) (or (n, 158), oriented basis)
            Extensive ``S(σ)`` and ``S(μ)`` of the same ``n`` configurations.
        L_fine, L_coarse : int, optional
            Linear sizes, recorded and checked for consistency between batches
            (``L_coarse`` must be ``L_fine / 2``).
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
        if self.n_expected is not None and self._n + n > self.n_expected:
            raise ValueError(f"more configurations than the n_expected = {self.n_expected} announced")
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
                    self._merge()
                self._nb += 1
                continue
            b = self._nb - 1
            take = min(n - i, self._block_end(b) - self._n)
            S["n"][b] += take
            _mcrg_kernels.accumulate_moments(f, c, i, i + take, self._f0, self._c0, S["f"][b], S["c"][b],
                                             S["cf"][b], S["cc"][b], S["ff"][b])
            i += take
            self._n += take

    def _merge(self) -> None:
        """Merge neighbouring (full) blocks pairwise; doubles ``block_size``."""
        h = self.capacity // 2
        for arr in self._s.values():
            arr[:h] = arr[0::2] + arr[1::2]
            arr[h:] = 0
        self._nb = h
        self.block_size *= 2

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
        nb = self._nb
        cnt = self._s["n"][:nb]
        n = self._n
        nbins = self.n_bins
        if self.n_expected is not None:
            which = np.arange(nb)
        else:
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

    def result(self, *, n_odd: int | None = None, n_even: int | None = None,
               max_cond: float = DEFAULT_MAX_COND) -> MCRGResult:
        """𝒯 per sector, its spectrum, the identified exponents and jackknife errors.

        Parameters
        ----------
        n_odd, n_even : int, optional
            Keep only the first ``n_odd`` (≤ 11) odd and ``n_even`` (≤ 25) even
            operators (truncation order of :data:`ODD` / :data:`EVEN`); default all.
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
        if self.basis != "classes":
            raise ValueError(f"result() needs the 'classes' basis; this accumulator holds the {self.basis!r} "
                             "basis: use irrep_result()")
        self._check_complete()
        n = self._n
        idx_sec = {"odd": _sector_indices("odd", n_odd), "even": _sector_indices("even", n_even)}
        total, sizes, per_bin = self._bins()
        if np.any(sizes == 0):
            raise ValueError(f"a jackknife bin is empty ({n} configurations, {self.n_bins} bins)")
        sectors = {}
        for parity, idx in idx_sec.items():
            T, N, M, cond = _t_matrix(total, idx, max_cond, f"{parity} sector (all data)")
            ev = _spectrum(T)
            loo_ev = np.empty((self.n_bins, len(idx)), dtype=np.complex128)
            for j in range(self.n_bins):
                sub = {k: total[k] - per_bin[k][j] for k in total}
                Tj = _t_matrix(sub, idx, max_cond, f"{parity} sector (jackknife sample {j})")[0]
                loo_ev[j] = _spectrum(Tj)
            y = _log2abs(ev)
            loo_y = _log2abs(loo_ev)
            sectors[parity] = SectorResult(
                parity=parity, operators=tuple(int(i) for i in idx), T=T, N=N, M=M,
                eigenvalues=ev,
                eigenvalues_err=_jackknife_error(ev.real, loo_ev.real, sizes),
                y=y, y_err=_jackknife_error(y, loo_y, sizes),
                max_imag=float(np.max(np.abs(ev.imag))),
                cond_M=cond,
            )
        odd, even = sectors["odd"], sectors["even"]

        def pick(sec: SectorResult, r: int) -> tuple[float, float]:
            if r < len(sec.y):
                return float(sec.y[r]), float(sec.y_err[r])
            return math.nan, math.nan

        spec = sorted(
            [(float(v), "odd", r + 1) for r, v in enumerate(odd.y)]
            + [(float(v), "even", r + 1) for r, v in enumerate(even.y)],
            key=lambda t: -t[0],
        )
        return MCRGResult(
            level=self.level,
            L_fine=-1 if self.L_fine is None else self.L_fine,
            L_coarse=-1 if self.L_coarse is None else self.L_coarse,
            n_configs=n, n_bins=self.n_bins, odd=odd, even=even,
            y_h=pick(odd, 0)[0], y_h_err=pick(odd, 0)[1],
            y_t=pick(even, 0)[0], y_t_err=pick(even, 0)[1],
            y_r1=pick(odd, 1)[0], y_r1_err=pick(odd, 1)[1],
            omega=pick(even, 1)[0], omega_err=pick(even, 1)[1],
            spectrum=tuple(spec),
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
                    y_err=_jackknife_error(y, _log2abs(loo_ev), sizes)))
        return out


@dataclass(frozen=True)
class IrrepSpectrum:
    """Spectrum of 𝒯 in one spin-flip sector and one D4 irrep (oriented basis).

    Attributes
    ----------
    parity : {"odd", "even"}
    irrep : {"A1", "A2", "B1", "B2", "E"}
    dim : int
        Dimension of the irrep's subspace in the sector (number of eigenvalues).
    level, L_fine, L_coarse, n_configs : int
        Blocking step and statistics, as in :class:`MCRGResult`.
    eigenvalues : numpy.ndarray of complex128
        Sorted by decreasing modulus.
    y, y_err : numpy.ndarray of float64
        ``log₂|λ|`` and jackknife errors (indicative for near-degenerate pairs).
    """

    parity: str
    irrep: str
    dim: int
    level: int
    L_fine: int
    L_coarse: int
    n_configs: int
    eigenvalues: np.ndarray
    y: np.ndarray
    y_err: np.ndarray

    def to_dict(self, n_leading: int = 3) -> dict:
        """JSON-friendly summary with the ``n_leading`` largest exponents."""
        k = min(n_leading, len(self.y))
        return {"parity": self.parity, "irrep": self.irrep, "dim": self.dim, "step": self.level,
                "L_fine": self.L_fine, "L_coarse": self.L_coarse, "n_configs": self.n_configs,
                "y": [float(v) for v in self.y[:k]], "y_err": [float(v) for v in self.y_err[:k]]}


def third_exponent(rows: list[dict]) -> tuple[float, float, str]:
    """Third largest exponent of the whole oriented-basis spectrum of one blocking step.

    ``rows``: the irrep rows of one step (:meth:`dreamrg.mcrg.IrrepSpectrum.to_dict`,
    three leading exponents each, so the three largest overall are among them;
    an ``E`` eigenvalue counts twice, as in the full 158-operator spectrum).
    Returns the value, its jackknife error and where it lies (e.g. ``"even B1"``):
    the "third eigenvalue" of a basis that, unlike the symmetrised one, also
    holds anisotropic combinations.
    """
    cands = sorted(((y, e, f"{r['parity']} {r['irrep']}") for r in rows for y, e in zip(r["y"], r["y_err"])),
                   key=lambda t: -t[0])
    if len(cands) < 3:
        raise ValueError(f"{len(cands)} exponents given; the third largest needs at least 3")
    return cands[2]

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
# convenience front ends
# --------------------------------------------------------------------------
def rg_exponents(fine, coarse, *, n_bins: int = 32, n_odd: int | None = None,
                 n_even: int | None = None, max_cond: float = DEFAULT_MAX_COND,
                 check_blocking: bool = True, level: int = 0, batch_size: int = 4096,
                 threads: int | None = None) -> MCRGResult:
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
    acc = MCRGAccumulator(n_bins, n_expected=f.shape[0], level=level)
    for lo in range(0, f.shape[0], batch_size):
        acc.add(f[lo:lo + batch_size], c[lo:lo + batch_size], check_blocking=check_blocking, threads=threads)
    return acc.result(n_odd=n_odd, n_even=n_even, max_cond=max_cond)


def _level_rngs(seed: int, levels: int) -> list[np.random.Generator]:
    return [np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x4D435247, lev)))
            for lev in range(levels)]


def mcrg_from_batches(batches: Iterable[np.ndarray], *, levels: int = 1, seed: int = 0,
                      n: int | None = None, n_total: int | None = None, n_bins: int = 32,
                      n_odd: int | None = None,
                      n_even: int | None = None, max_cond: float = DEFAULT_MAX_COND,
                      threads: int | None = None, check: bool = True,
                      progress=None) -> list[MCRGResult]:
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
    n_bins, n_odd, n_even, max_cond, threads
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
    _sector_indices("odd", n_odd), _sector_indices("even", n_even)  # a bad truncation fails before the work
    accs = accumulate_batches(batches, levels=levels, seed=seed, n=n, n_total=n_total, n_bins=n_bins,
                              threads=threads, check=check, progress=progress)
    return [a.result(n_odd=n_odd, n_even=n_even, max_cond=max_cond) for a in accs]


def accumulate_batches(batches: Iterable[np.ndarray], *, levels: int = 1, seed: int = 0,
                       n: int | None = None, n_total: int | None = None, n_bins: int = 32,
                       threads: int | None = None, check: bool = True,
                       progress=None, basis: str = "classes") -> list[MCRGAccumulator]:
    """The accumulators behind :func:`mcrg_from_batches` (same arguments), one per blocking step.

    ``basis`` selects the operators (:func:`operators`); the oriented basis
    feeds :meth:`MCRGAccumulator.irrep_result`.

    Call :meth:`MCRGAccumulator.result` on them as often as wanted, e.g. for
    several truncations (:func:`truncation_scan`), without streaming the data again.
    """
    from dreamrg.coarse import majority_rule

    if not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"levels must be an integer ≥ 1; got {levels!r}")
    if n is not None and (not isinstance(n, (int, np.integer)) or n < 1):
        raise ValueError(f"n must be a positive integer or None; got {n!r}")
    _check_basis(basis)
    rngs = _level_rngs(seed, levels)
    accs = [MCRGAccumulator(n_bins, n_expected=n_total, level=k, basis=basis) for k in range(levels)]
    used = 0
    L = None
    for batch in batches:
        if n is not None and used >= n:
            break
        s = _as_batch(batch, "configurations", 1, check_values=check)
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
        ops_prev = operators(s, threads=threads, check=False, basis=basis)
        cur = s
        for k in range(levels):
            nxt, _ = majority_rule(cur, rngs[k])
            ops_next = operators(nxt, threads=threads, check=False, basis=basis)
            accs[k].add_operators(ops_prev, ops_next, L_fine=cur.shape[1], L_coarse=nxt.shape[1])
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
                    threads: int | None = None, progress: bool | None = None) -> list[MCRGResult]:
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
    n_bins, n_odd, n_even, max_cond, threads
        As in :func:`rg_exponents`.
    progress : bool, optional
        tqdm progress bar (None: only on a terminal).

    Returns
    -------
    list of MCRGResult
    """
    _sector_indices("odd", n_odd), _sector_indices("even", n_even)  # a bad truncation fails before the work
    accs = accumulate_store(path, levels=levels, n=n, seed=seed, batch_size=batch_size, n_bins=n_bins,
                            threads=threads, progress=progress)
    return [a.result(n_odd=n_odd, n_even=n_even, max_cond=max_cond) for a in accs]


def accumulate_store(path: str | Path, *, levels: int = 1, n: int | None = None, seed: int = 0,
                     batch_size: int = 2048, n_bins: int = 32, threads: int | None = None,
                     progress: bool | None = None, basis: str = "classes") -> list[MCRGAccumulator]:
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
                                  progress=bar, basis=basis)


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
    for n_odd, n_even in truncations:  # a bad truncation fails before any matrix is solved
        _sector_indices("odd", n_odd), _sector_indices("even", n_even)
    rows = []
    for k, acc in enumerate(accumulators):
        for n_odd, n_even in truncations:
            r = acc.result(n_odd=n_odd, n_even=n_even, max_cond=max_cond)
            rows.append({"step": k, "L_fine": r.L_fine, "L_coarse": r.L_coarse, "n_odd": int(n_odd),
                         "n_even": int(n_even)} |
                        {key: getattr(r, key) for key in ("y_h", "y_h_err", "y_t", "y_t_err",
                                                          "omega", "omega_err")})
    return rows
