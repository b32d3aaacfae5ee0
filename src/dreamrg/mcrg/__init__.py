r"""Monte Carlo renormalisation group (MCRG): the linearised block-spin map 𝒯.

Paper section V (eqs. 17–22, Tables III–IV, Fig. 10). Configurations σ at
blocking level ``n`` and their majority-rule block spins μ at level ``n + 1``
(:func:`dreamrg.coarse.majority_rule`, the blocking used everywhere in the
package) give the matrix 𝒯 of the linearised RG map from correlation
functions alone; its eigenvalues λ give the RG exponents ``y = log₂|λ|``.

Conventions, in short (the derivation is in the MCRG chapter, ``book/mcrg.md``):

* Operators are by default *extensive, symmetrised* sums ``S_α`` (all
  translations, all orientations of a class) at *both* levels; the 36 classes
  split into 11 odd and 25 even ones under the global spin flip. Other bases
  (:data:`BASES`): the 158 orientations separately (``"oriented"``) and the
  36 single-orientation products of the paper authors' code (``"authors"``);
  ``boundary="open"`` sums the products only where they fit in the lattice.
* ``𝒯 = M⁻¹ N`` with the coarse-level ``M = ⟨S(μ) S(μ)ᵀ⟩_c`` and the
  cross-level ``N = ⟨S(μ) S(σ)ᵀ⟩_c``, solved per spin-flip sector
  (the paper's eqs. 19–22 give these two matrices each other's names).
* ``y_h``, ``y_r1`` are the first two odd exponents, ``y_t``, ``omega`` the
  first two even ones; errors are a jackknife over bins of consecutive
  configurations (with ``order="chain"``, of a Monte Carlo run's whole chains:
  :func:`chain_order_first`).

Modules:

* :mod:`~dreamrg.mcrg.spin_operators` -- the operator classes, the bases
  (:class:`Basis`) and their fast evaluation (:func:`operators`);
* :mod:`~dreamrg.mcrg.authors_basis` -- the authors' 36 products, as data;
* :mod:`~dreamrg.mcrg.symmetry` -- D4 permutations of the oriented operators
  and the irrep bases;
* :mod:`~dreamrg.mcrg.results` -- :class:`MCRGResult`, :class:`SectorResult`,
  :class:`IrrepSpectrum` (``to_dict``/``from_dict``);
* :mod:`~dreamrg.mcrg.accumulator` -- :class:`MCRGAccumulator`, streaming
  moments, their merge and the solve for 𝒯;
* :mod:`~dreamrg.mcrg.moments` -- moment sums per jackknife bin, folded from
  per-chunk pieces in a fixed order (exact merges);
* :mod:`~dreamrg.mcrg.drivers` -- front ends for arrays, batch streams and stores,
  and the per-chunk map (:func:`accumulate_chunk`) and :func:`reduce`;
* :mod:`~dreamrg.mcrg.streaming` -- MCRG straight from Monte Carlo chains,
  checkpointed per chain, storing no configuration (:func:`mcrg_from_mc`, :func:`stream_progress`);
* :mod:`~dreamrg.mcrg._reference` -- plain-numpy twins of the kernels.
"""

from dreamrg.mcrg import _reference, accumulator, authors_basis, drivers, results, spin_operators, streaming, symmetry
from dreamrg.mcrg._reference import correlations_reference, operators_reference
from dreamrg.mcrg.accumulator import (
    DEFAULT_MAX_COND,
    MIN_L_FINE,
    IllConditionedError,
    IncompatibleAccumulators,
    MCRGAccumulator,
)
from dreamrg.mcrg.drivers import (
    ORDERS,
    TRUNCATIONS,
    accumulate_batches,
    accumulate_chunk,
    accumulate_chunk_conventions,
    accumulate_conventions,
    accumulate_store,
    chain_order_first,
    irrep_rows,
    mcrg_from_batches,
    mcrg_from_store,
    reduce,
    rg_exponents,
    tie_break_rng,
    truncation_scan,
)
from dreamrg.mcrg.results import IrrepSpectrum, MCRGResult, SectorResult, third_exponent
from dreamrg.mcrg.authors_basis import AUTHORS_DUPLICATES, AUTHORS_MISSING_CLASS, AUTHORS_OFFSETS
from dreamrg.mcrg.spin_operators import (
    BASES,
    BOUNDARIES,
    Basis,
    check_boundary,
    get_basis,
    EVEN,
    MIN_L_OPERATORS,
    N_OPERATORS,
    N_ORIENTED,
    ODD,
    OPERATORS,
    ORIENTED,
    Operator,
    enumerate_classes,
    operators,
)
from dreamrg.mcrg.streaming import (RUN_FILE, StreamProgress, accumulate_mc, accumulate_mc_conventions,
                                    export_finished, import_finished, mcrg_from_mc, mcrg_from_mc_conventions,
                                    stream_progress)
from dreamrg.mcrg.symmetry import D4_CHARACTERS, irrep_basis, symmetry_permutations

# the package exports every name its modules export, in the order of the list above, but for two that serve the
# modules themselves (a type alias of the operators' sites and the kind written into streaming run directories)
__all__: list[str] = []
__all__ += spin_operators.__all__
__all__ += authors_basis.__all__
__all__ += symmetry.__all__
__all__ += results.__all__
__all__ += accumulator.__all__
__all__ += drivers.__all__
__all__ += streaming.__all__
__all__ += _reference.__all__
__all__.remove("Site")
__all__.remove("RUN_KIND")
