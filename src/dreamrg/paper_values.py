"""Numbers printed in the paper, typed once as data, as the paper prints them.

Source: Rançon, Rançon, Ivek, Balog, "Dreaming up scale invariance via inverse
renormalization group", Tables II, III and IV. Each number is kept as its printed
text ("1.750" keeps its three decimals, "1.87537(5)" its error bar), because how
precisely the paper states a number is part of the comparison
(:func:`dreamrg.verdicts.paper_sigma`); :func:`parse_printed` reads such a text.
``TABLE_II``, ``TABLE_III`` and ``TABLE_IV`` give the same numbers as floats.

Keys of ``PRINTED_II``/``TABLE_II``: row label ("MC", "k=3", ..., "k=7, w."), then
exponent ("gamma_nu" from χ, "inv_nu" from c_me), then the pair (L, L/4).
"""

from __future__ import annotations

import re
from typing import NamedTuple

PAIRS: tuple[tuple[int, int], ...] = ((32, 8), (64, 16), (128, 32))

_GAMMA_NU = {
    "MC": ("1.754", "1.751", "1.749"),
    "k=3": ("1.803", "1.804", "1.805"),
    "k=5": ("1.781", "1.782", "1.782"),
    "k=7": ("1.777", "1.778", "1.778"),
    "k=3, w.": ("1.834", "1.835", "1.836"),
    "k=5, w.": ("1.815", "1.816", "1.816"),
    "k=7, w.": ("1.812", "1.812", "1.812"),
}
_INV_NU = {
    "MC": ("1.077", "1.038", "1.020"),
    "k=3": ("1.163", "1.157", "1.155"),
    "k=5": ("1.138", "1.120", "1.112"),
    "k=7": ("1.129", "1.106", "1.096"),
    "k=3, w.": ("1.169", "1.164", "1.163"),
    "k=5, w.": ("1.138", "1.116", "1.107"),
    "k=7, w.": ("1.126", "1.103", "1.093"),
}

#: Table II as printed: row -> exponent -> pair -> text
PRINTED_II: dict[str, dict[str, dict[tuple[int, int], str]]] = {
    row: {"gamma_nu": dict(zip(PAIRS, _GAMMA_NU[row])), "inv_nu": dict(zip(PAIRS, _INV_NU[row]))}
    for row in _GAMMA_NU
}

#: Table III as printed (MCRG on 10^6 MC configurations per size): L -> exponent -> text
PRINTED_III: dict[int, dict[str, str]] = {
    32: {"y_h": "1.87537(5)", "y_t": "0.931(2)", "omega": "-1.35(5)"},
    128: {"y_h": "1.87582(4)", "y_t": "0.973(3)", "omega": "-1.08(5)"},
    512: {"y_h": "1.87599(4)", "y_t": "0.992(2)", "omega": "-1.04(4)"},
    1024: {"y_h": "1.87600(4)", "y_t": "0.997(2)", "omega": "-1.03(4)"},
}

#: Table IV as printed: η and 1/ν from FSS (the (128, 32) column of Table II) and from RSRG at L = 128
PRINTED_IV: dict[str, dict[str, str]] = {
    "MC": {"eta_fss": "0.251", "eta_rsrg": "0.248", "inv_nu_fss": "1.020", "inv_nu_rsrg": "0.973"},
    "k=3": {"eta_fss": "0.195", "eta_rsrg": "0.282", "inv_nu_fss": "1.155", "inv_nu_rsrg": "1.111"},
    "k=5": {"eta_fss": "0.218", "eta_rsrg": "0.285", "inv_nu_fss": "1.112", "inv_nu_rsrg": "1.067"},
    "k=7": {"eta_fss": "0.222", "eta_rsrg": "0.287", "inv_nu_fss": "1.096", "inv_nu_rsrg": "1.055"},
    "k=3, w.": {"eta_fss": "0.164", "eta_rsrg": "0.243", "inv_nu_fss": "1.163", "inv_nu_rsrg": "1.130"},
    "k=5, w.": {"eta_fss": "0.184", "eta_rsrg": "0.223", "inv_nu_fss": "1.107", "inv_nu_rsrg": "1.074"},
    "k=7, w.": {"eta_fss": "0.188", "eta_rsrg": "0.227", "inv_nu_fss": "1.093", "inv_nu_rsrg": "1.059"},
}


class Printed(NamedTuple):
    """A number as printed: its value, its stated error bar (``None`` if none is printed) and its decimals."""

    value: float
    error: float | None
    decimals: int


_PRINTED = re.compile(r"^\s*([-+−]?\d+)(?:\.(\d+))?(?:\((\d+)\))?\s*$")


def parse_printed(text: str) -> Printed:
    """Read ``"1.750"`` (no error bar, 3 decimals) or ``"1.87537(5)"`` (error 5 in the last digit).

    The digits in parentheses count in units of the last printed decimal, as usual:
    ``"0.280901(100)"`` has error 0.000100. Raises ``ValueError`` for anything else.
    """
    m = _PRINTED.match(text)
    if not m:
        raise ValueError(f"not a printed number: {text!r}")
    whole, frac, err = m.groups()
    decimals = len(frac or "")
    value = float(f"{whole.replace('−', '-')}.{frac or '0'}")
    return Printed(value, int(err) / 10**decimals if err else None, decimals)


TABLE_II: dict[str, dict[str, dict[tuple[int, int], float]]] = {
    row: {q: {pair: parse_printed(t).value for pair, t in by_pair.items()} for q, by_pair in d.items()}
    for row, d in PRINTED_II.items()
}
#: Table III: L -> (value, error) per exponent
TABLE_III: dict[int, dict[str, tuple[float, float]]] = {
    L: {q: parse_printed(t)[:2] for q, t in d.items()} for L, d in PRINTED_III.items()
}
#: Table IV as floats
TABLE_IV: dict[str, dict[str, float]] = {
    row: {q: parse_printed(t).value for q, t in d.items()} for row, d in PRINTED_IV.items()
}

#: exact 2D Ising values
EXACT = {"gamma_nu": 1.75, "inv_nu": 1.0, "U4_infinity": 0.61069, "beta_nu": 0.125}
#: the paper's Monte Carlo statistics (configurations per size)
PAPER_MC_CONFIGS = 1_000_000
#: dreamed configurations behind each of the paper's Table IV RSRG numbers (Sec. V: "10^6 configurations of
#: upscaled configurations in total"); the paper prints no error bar for them
PAPER_RSRG_DREAMED_CONFIGS = 1_000_000
#: dreamed chains behind each of the paper's Table II numbers (Sec. IV: 10^6 configurations generated for every
#: model and every size); the paper prints no error bar, only that the last digit shown is reliable
PAPER_FSS_DREAMED_CONFIGS = 1_000_000
#: exact values of Table III's columns
EXACT_RG = {"y_h": 1.875, "y_t": 1.0, "omega": -1.0}
