"""Lattice symmetry of the oriented operators: the D4 permutations and irrep bases.

The 8 point symmetries of the square (identity, rotations by 90°, 180°, 270°,
the two axis reflections, the two diagonal reflections -- the order of
``spin_operators._D4``) permute the 158 oriented operators of
:data:`dreamrg.mcrg.ORIENTED`. Since majority-rule blocking commutes with them,
the linearised RG map 𝒯 in the oriented basis commutes with these
permutations and splits into the irreducible representations ``A1, A2, B1,
B2, E`` of D4 (per spin-flip sector); :func:`irrep_basis` gives an
orthonormal basis of each. ``A1`` is spanned by the class sums, i.e. the
symmetrised basis of :data:`dreamrg.mcrg.OPERATORS`.
"""

from __future__ import annotations

import functools

import numpy as np

from dreamrg.mcrg.spin_operators import _D4, N_ORIENTED, OPERATORS, ORIENTED, _normalise

__all__ = ["D4_CHARACTERS", "symmetry_permutations", "irrep_basis"]

#: D4 characters in the order of the 8 point symmetries used here (identity, rotations by 90°,
#: 180°, 270°, the two axis reflections, the two diagonal reflections)
D4_CHARACTERS: dict[str, tuple[int, ...]] = {
    "A1": (1, 1, 1, 1, 1, 1, 1, 1),
    "A2": (1, 1, 1, 1, -1, -1, -1, -1),
    "B1": (1, -1, 1, -1, 1, 1, -1, -1),
    "B2": (1, -1, 1, -1, -1, -1, 1, 1),
    "E": (2, 0, -2, 0, 0, 0, 0, 0),
}


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

