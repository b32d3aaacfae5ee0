"""Numbers printed in the paper, typed once as data (table, row, column).

Source: Rançon, Rançon, Ivek, Balog, "Dreaming up scale invariance via inverse
renormalization group", Table II. Keys of ``TABLE_II``: row label
("MC", "k=3", ..., "k=7, w."), then exponent ("gamma_nu" from χ, "inv_nu"
from c_me), then the pair (L, L/4).
"""

from __future__ import annotations

PAIRS: tuple[tuple[int, int], ...] = ((32, 8), (64, 16), (128, 32))

_GAMMA_NU = {
    "MC": (1.754, 1.751, 1.749),
    "k=3": (1.803, 1.804, 1.805),
    "k=5": (1.781, 1.782, 1.782),
    "k=7": (1.777, 1.778, 1.778),
    "k=3, w.": (1.834, 1.835, 1.836),
    "k=5, w.": (1.815, 1.816, 1.816),
    "k=7, w.": (1.812, 1.812, 1.812),
}
_INV_NU = {
    "MC": (1.077, 1.038, 1.020),
    "k=3": (1.163, 1.157, 1.155),
    "k=5": (1.138, 1.120, 1.112),
    "k=7": (1.129, 1.106, 1.096),
    "k=3, w.": (1.169, 1.164, 1.163),
    "k=5, w.": (1.138, 1.116, 1.107),
    "k=7, w.": (1.126, 1.103, 1.093),
}

TABLE_II: dict[str, dict[str, dict[tuple[int, int], float]]] = {
    row: {
        "gamma_nu": dict(zip(PAIRS, _GAMMA_NU[row])),
        "inv_nu": dict(zip(PAIRS, _INV_NU[row])),
    }
    for row in _GAMMA_NU
}

#: exact 2D Ising values
EXACT = {"gamma_nu": 1.75, "inv_nu": 1.0, "U4_infinity": 0.61069, "beta_nu": 0.125}
#: the paper's Monte Carlo statistics (configurations per size)
PAPER_MC_CONFIGS = 1_000_000
