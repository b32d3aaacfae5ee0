r"""The operator basis of the authors' released code: 36 single-orientation spin products.

The paper's MCRG numbers for dreamed configurations (its Table IV and Fig. 10) were
computed by the authors' public code (GitHub ``adam-rancon/upscaling_Ising``, the
function that returns "the 36 mcrg couplings", evaluated by their observables
script). Its operators are *not* the symmetrised class sums of
:data:`dreamrg.mcrg.OPERATORS`: each is one product of spins in a single orientation,
averaged over the periodic translations only. This module writes that list down, in
our own notation, as data.

Definition
----------
Operator ``a`` is the translation sum ``Σ_{y,x} Π_{(dy,dx) ∈ AUTHORS_OFFSETS[a]} σ[y+dy, x+dx]``
(indices modulo ``L``). The offsets are negative because the authors build each
product from copies of the lattice rolled *forward* by ``(i, j)`` (their names
``i{i}j{j}``), which bring the spin at ``(y-i, x-j)`` to ``(y, x)``; ``(0, 0)`` is the
un-rolled lattice. The order is theirs (index 0..35): 1 one-spin, 5 two-spin, 10
three-spin and 20 four-spin products. Their normalisation (a mean over sites instead
of a sum) rescales both levels by constants and leaves the eigenvalues of 𝒯 as
they are once the fine level is multiplied by 4, which their code does; the
extensive sums used here need no such factor.

What differs from the 36 classes
--------------------------------
* Each product has one orientation, so the basis is not closed under the
  rotations and reflections of the square: 𝒯 in it mixes the symmetric (A1) and
  anisotropic directions of the full 158-operator space of
  :data:`dreamrg.mcrg.ORIENTED`.
* **Index 32 duplicates index 16**: both are the 2×2 plaquette
  ``{(0,0), (-1,0), (0,-1), (-1,-1)}``. Their correlation matrix is therefore
  exactly singular. The authors invert it with a pseudo-inverse; with an exact
  duplicate that gives the spectrum of the 35 distinct operators plus one zero
  eigenvalue (the duplicate direction). dreamrg leaves the duplicate out of the
  𝒯 solve (:data:`AUTHORS_DUPLICATES`), which is the same spectrum without the
  zero; a test checks the equivalence.
* **The class {(0,0), (0,1), (2,0), (2,2)} is missing** (the four-spin class of
  :data:`dreamrg.mcrg.OPERATORS` that no product of the list belongs to,
  :data:`AUTHORS_MISSING_CLASS`). Every other class of the 36 has exactly one
  orientation in the list (index 16's class twice).
"""

from __future__ import annotations

__all__ = ["AUTHORS_OFFSETS", "AUTHORS_DUPLICATES", "AUTHORS_MISSING_CLASS"]

_Site = tuple[int, int]

# the lattice copies the products are built from: rolled forward by (i, j), i.e. the spin at (y - i, x - j)
_S = (0, 0)
_I1J0, _I0J1, _I2J0, _I0J2 = (-1, 0), (0, -1), (-2, 0), (0, -2)
_I1J1, _I1J2, _I2J1, _I2J2 = (-1, -1), (-1, -2), (-2, -1), (-2, -2)

#: the 36 products, in the authors' order: offsets ``(dy, dx)`` of the spins multiplied at site ``(y, x)``
AUTHORS_OFFSETS: tuple[tuple[_Site, ...], ...] = (
    # one spin
    (_S,),
    # two spins
    (_S, _I1J0), (_S, _I1J1), (_S, _I2J0), (_S, _I1J2), (_S, _I2J2),
    # three spins (6..15)
    (_S, _I1J1, _I0J1), (_S, _I0J1, _I0J2), (_S, _I0J1, _I1J2), (_S, _I0J1, _I2J1), (_S, _I0J1, _I2J2),
    (_S, _I1J1, _I0J2), (_S, _I1J1, _I2J2), (_S, _I1J2, _I2J1), (_S, _I2J0, _I1J2), (_S, _I0J2, _I2J2),
    # four spins (16..35)
    (_S, _I1J0, _I0J1, _I1J1), (_S, _I0J1, _I1J1, _I1J2), (_S, _I0J1, _I0J2, _I1J2), (_S, _I1J0, _I0J2, _I1J2),
    (_S, _I0J1, _I1J2, _I2J2), (_S, _I1J0, _I1J2, _I2J2), (_S, _I0J1, _I0J2, _I1J1), (_S, _I1J0, _I0J1, _I1J2),
    (_S, _I0J1, _I1J1, _I2J2), (_S, _I0J1, _I2J1, _I1J2), (_S, _I1J1, _I1J2, _I2J1), (_S, _I1J0, _I0J1, _I2J2),
    (_S, _I0J1, _I0J2, _I2J2), (_S, _I0J1, _I0J2, _I2J1), (_I1J0, _I0J1, _I2J1, _I1J2), (_S, _I0J2, _I1J1, _I2J1),
    (_S, _I1J0, _I0J1, _I1J1), (_S, _I1J0, _I0J2, _I2J1), (_S, _I0J2, _I1J1, _I2J2), (_S, _I2J0, _I0J2, _I2J2),
)

#: exact duplicates in the list: ``{index: the earlier index it repeats}``; left out of the 𝒯 solve
AUTHORS_DUPLICATES: dict[int, int] = {32: 16}

#: the class of :data:`dreamrg.mcrg.OPERATORS` (canonical sites) with no product in the list
AUTHORS_MISSING_CLASS: tuple[_Site, ...] = ((0, 0), (0, 1), (2, 0), (2, 2))
