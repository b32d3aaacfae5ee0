"""MCRG conventions: which operators, boundary and blocking step a number comes from -- the paper's and ours.

The paper does not state how its MCRG tables were computed beyond "36 couplings";
the evidence in the MCRG chapter (section "What the paper's MCRG numbers are")
identifies it per table, and this module names the result, in one place, so that
the chapters and the status page compute the paper's tables with it:

* :data:`PAPER_TABLE_III` -- Table III (Monte Carlo): the symmetrised operators,
  periodic sums, the **second** blocking step. The paper's "n = 1" (its 𝓜 computed
  "from couplings determined at the n-th downscale step") is the step from the once-blocked
  lattice ``L/2`` to ``L/4``: its large-L ``y_h`` equals our second step's.
* :data:`PAPER_TABLE_IV_DREAMED` -- Table IV's RSRG columns and Fig. 10 for dreamed
  configurations (L = 128): the authors' 36 single-orientation products
  (:mod:`dreamrg.mcrg.authors_basis`), periodic sums, the **first** blocking step of the
  dreamed lattice on its own upsampling grid; the authors' released k = 5, 7 models (and
  their two-layer k = 7 networks) are
  dreamed with the authors' small-lattice start (their k = 3 partner draws the first one or
  two upscalings, :func:`dreamrg.released.small_lattice_start`), as their
  ``calculate_observables.py`` does.
* :data:`PAPER_TABLE_IV_MC` -- Table IV's Monte Carlo RSRG row: Table III's L = 128 row,
  so Table III's convention (second step). The paper thus compares Monte Carlo and
  dreamed configurations at different blocking steps.
* :data:`OURS` -- the convention this package prefers: symmetrised operators (closed
  under the lattice symmetries, so 𝒯 does not mix in anisotropic directions),
  periodic sums, every blocking step reported.

Steps are counted from 1 (step 1: ``L → L/2``); the MCRG results index them from 0
(``results[step - 1]``). Basis and boundary names are those of :data:`dreamrg.mcrg.BASES`
and :data:`dreamrg.mcrg.BOUNDARIES` (checked by the MCRG stage when used).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Convention", "OURS", "PAPER_TABLE_III", "PAPER_TABLE_IV_DREAMED", "PAPER_TABLE_IV_MC", "CONVENTIONS",
           "convention"]


@dataclass(frozen=True)
class Convention:
    """How an MCRG number is computed.

    Attributes
    ----------
    name : str
        Short name (a key of :data:`CONVENTIONS`).
    basis : {"symmetrised", "authors", "oriented"}
        Operator basis of 𝒯.
    boundary : {"periodic", "open"}
        How the operators are summed over the lattice.
    step : int or None
        The blocking step (1 = ``L → L/2``) the number is read at; ``None``: every step.
    description : str
        One line for tables and legends.
    small_lattice_start : bool
        Dream the authors' released k = 5, 7 models (single-layer; two-layer k = 7) with the authors' small-lattice
        start (:func:`dreamrg.released.small_lattice_start`); other models, and every model when
        False, are dreamed with their own kernel at every level. Only dreamed analyses read it.
    """

    name: str
    basis: str
    boundary: str
    step: int | None
    description: str
    small_lattice_start: bool = False

    def __post_init__(self) -> None:
        if self.step is not None and (not isinstance(self.step, int) or self.step < 1):
            raise ValueError(f"step must be an integer ≥ 1 or None; got {self.step!r}")

    @property
    def level(self) -> int | None:
        """The 0-based index of :attr:`step` in a list of per-step results (``None``: every step)."""
        return None if self.step is None else self.step - 1

    def levels_needed(self, default: int = 1) -> int:
        """How many blocking steps must be computed to read this convention's step (``default`` for every step)."""
        return default if self.step is None else max(default, self.step)


OURS = Convention("ours", "symmetrised", "periodic", None,
                  "symmetrised operators, periodic sums, every blocking step")
PAPER_TABLE_III = Convention("paper-table-iii", "symmetrised", "periodic", 2,
                             "the paper's Table III: symmetrised operators, second blocking step")
PAPER_TABLE_IV_DREAMED = Convention("paper-table-iv-dreamed", "authors", "periodic", 1,
                                    "the paper's Table IV (dreamed): the authors' 36 single-orientation products, "
                                    "first blocking step of the dreamed lattice (the authors' k = 5, 7 models "
                                    "started with their k = 3 model)", small_lattice_start=True)
PAPER_TABLE_IV_MC = Convention("paper-table-iv-mc", "symmetrised", "periodic", 2,
                               "the paper's Table IV (MC row): Table III's L = 128 row, second blocking step")

#: the (basis, boundary) pairs the MCRG chapter analyses Monte Carlo configurations in (ours, the authors' basis,
#: open-boundary sums): a streamed Monte Carlo size accumulates all of them in one pass
MC_CONVENTIONS: tuple[tuple[str, str], ...] = (("symmetrised", "periodic"), ("authors", "periodic"),
                                               ("symmetrised", "open"))

#: every named convention
CONVENTIONS: dict[str, Convention] = {c.name: c for c in (OURS, PAPER_TABLE_III, PAPER_TABLE_IV_DREAMED,
                                                          PAPER_TABLE_IV_MC)}


def convention(name: str) -> Convention:
    """The convention called ``name``; ``ValueError`` naming the allowed ones otherwise."""
    if name not in CONVENTIONS:
        raise ValueError(f"unknown MCRG convention {name!r}; allowed: {', '.join(CONVENTIONS)}")
    return CONVENTIONS[name]
