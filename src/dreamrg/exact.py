"""Exact results for the ferromagnetic 2D Ising model on an L x L torus.

Conventions (those of the paper): H = -K sum_<ij> s_i s_j over the 2 L^2 bonds
(i, j)-(i+1, j) and (i, j)-(i, j+1) taken mod L (for L = 2 every neighbour pair
therefore appears twice), m = L^-2 sum_i s_i, e = L^-2 sum_<ij> s_i s_j (so
e lies in [-2, 2]), <e> = L^-2 d lnZ/dK and c = L^2 (<e^2> - <e>^2) =
L^-2 d^2 lnZ/dK^2 (no K^2 factor).

Two independent routes: Kaufman's (1949, Phys. Rev. 76, 1232) closed form of
the finite-torus partition function, evaluated with mpmath together with its
analytic K-derivatives (valid for every L >= 2, odd L and L = 2 included), and
brute-force enumeration of all 2^(L^2) states for L <= 4 (the reference twin).
At the critical coupling K_C = ln(1 + sqrt 2)/2 of Onsager (1944, Phys. Rev.
65, 117), <e> -> sqrt(2) + 0.62244/L and c ~ (8/pi) ln L as L -> infinity.
:func:`onsager_energy` is Onsager's infinite-lattice <e> at any K, and
:func:`coupling_from_energy` inverts Kaufman's finite-L <e>(K) (the effective
coupling of a measured nearest-neighbour correlation).
"""

from __future__ import annotations

import math
import operator
from typing import Any

import mpmath
import numpy as np

__all__ = [
    "K_C",
    "log_partition_function",
    "exact_energy_and_heat_capacity",
    "onsager_energy",
    "coupling_from_energy",
    "enumerate_energy_magnetization",
    "exact_em_distribution",
    "exact_observables_enumeration",
]

#: Critical coupling of the square-lattice Ising model, ln(1 + sqrt 2) / 2.
K_C: float = 0.5 * math.log1p(math.sqrt(2.0))

_MAX_ENUM_L = 4


def _check_L(L: Any, max_L: int | None = None) -> int:
    if isinstance(L, bool):
        raise ValueError(f"L must be an integer >= 2, got {L!r}")
    try:
        L = operator.index(L)
    except TypeError:
        raise ValueError(f"L must be an integer >= 2, got {L!r}") from None
    if L < 2:
        raise ValueError(f"L must be an integer >= 2, got L={L}")
    if max_L is not None and L > max_L:
        raise ValueError(
            f"L={L} is too large for brute-force enumeration of 2^(L^2) states; "
            f"allowed is 2 <= L <= {max_L}"
        )
    return L


def _check_K(K: Any) -> None:
    try:
        ok = mpmath.isfinite(K) and K > 0
    except TypeError:
        raise ValueError(f"K must be a finite positive real number, got {K!r}") from None
    if not ok:
        raise ValueError(
            f"K must be a finite positive real number (ferromagnetic coupling), got K={K!r}"
        )


def _check_dps(dps: Any) -> int:
    if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)) or dps < 15:
        raise ValueError(f"dps must be an integer >= 15 (decimal digits), got {dps!r}")
    return int(dps)


def _mul(a: tuple, b: tuple) -> tuple:
    """Product rule for (f, f', f'') triples."""
    return (a[0] * b[0], a[1] * b[0] + a[0] * b[1], a[2] * b[0] + 2 * a[1] * b[1] + a[0] * b[2])


def _kaufman(L: int, K: mpmath.mpf) -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf]:
    """Return (ln Z, d lnZ/dK, d^2 lnZ/dK^2) at the current mpmath precision.

    Kaufman: Z = 1/2 (2 sinh 2K)^(L^2/2) (Z1 + Z2 + Z3 + Z4) with
    Z1 = prod_{k odd} 2 cosh(L g_k/2), Z2 = prod_{k odd} 2 sinh(L g_k/2),
    Z3 = prod_{k even} 2 cosh(L g_k/2), Z4 = prod_{k even} 2 sinh(L g_k/2),
    k running over 0..2L-1 (L factors each), cosh g_k = A - cos(pi k/L) with
    A = cosh 2K coth 2K = s + 1/s (s = sinh 2K), g_k > 0 for k != 0 and the
    *signed* g_0 = 2K + ln tanh K (negative for K < K_C, zero at K_C).
    Each factor is carried with its first and second K-derivatives.
    """
    s, ch = mpmath.sinh(2 * K), mpmath.cosh(2 * K)
    dA = 2 * ch * (1 - 1 / s**2)
    d2A = 4 * s * (1 - 1 / s**2) + 8 * ch**2 / s**3
    A = s + 1 / s
    half = mpmath.mpf(L) / 2
    one = (mpmath.mpf(1), mpmath.mpf(0), mpmath.mpf(0))
    prods = {(parity, kind): one for parity in (0, 1) for kind in ("cosh", "sinh")}
    for k in range(2 * L):
        if k == 0:
            g = 2 * K + mpmath.log(mpmath.tanh(K))
            dg = 2 + 2 / s
            d2g = -4 * ch / s**2
        else:
            x = A - mpmath.cospi(mpmath.mpf(k) / L)  # > 1 for k != 0
            g = mpmath.acosh(x)
            sg = mpmath.sqrt((x - 1) * (x + 1))
            dg = dA / sg
            d2g = (d2A - x * dg**2) / sg
        cg, sgh = mpmath.cosh(half * g), mpmath.sinh(half * g)
        # d/dK 2cosh(L g/2) = L g' sinh(L g/2), and symmetrically for sinh.
        fc = (2 * cg, L * dg * sgh, L * d2g * sgh + L * half * dg**2 * cg)
        fs = (2 * sgh, L * dg * cg, L * d2g * cg + L * half * dg**2 * sgh)
        prods[(k % 2, "cosh")] = _mul(prods[(k % 2, "cosh")], fc)
        prods[(k % 2, "sinh")] = _mul(prods[(k % 2, "sinh")], fs)
    S = [sum(p[i] for p in prods.values()) for i in range(3)]
    N = L * L
    log_z = -mpmath.log(2) + half * L * mpmath.log(2 * s) + mpmath.log(S[0])
    d1 = N * ch / s + S[1] / S[0]
    d2 = -2 * N / s**2 + S[2] / S[0] - (S[1] / S[0]) ** 2
    return log_z, d1, d2


def log_partition_function(L: int, K: float, dps: int = 50) -> mpmath.mpf:
    """Exact ln Z of the L x L Ising torus from Kaufman's (1949) formula.

    Parameters
    ----------
    L : int
        Linear size, L >= 2 (odd L and L = 2, with its doubly counted bonds,
        are included; checked against enumeration).
    K : float or mpmath.mpf
        Coupling K = J/T > 0 in H = -K sum_<ij> s_i s_j over 2 L^2 bonds.
    dps : int, optional
        mpmath working precision in decimal digits (>= 15). ln Z is O(L^2),
        so 50 digits leave ample margin up to L ~ 10^3.

    Returns
    -------
    mpmath.mpf
        ln Z = ln sum_states exp(K sum_<ij> s_i s_j).

    Raises
    ------
    ValueError
        If L < 2 or not an integer, K <= 0 or not finite, or dps < 15.
    """
    L = _check_L(L)
    _check_K(K)
    with mpmath.workdps(_check_dps(dps)):
        return +_kaufman(L, mpmath.mpf(K))[0]


def exact_energy_and_heat_capacity(L: int, K: float = K_C, dps: int = 50) -> tuple[float, float]:
    """Exact <e> and c of the L x L torus from analytic K-derivatives of Kaufman's ln Z.

    Parameters
    ----------
    L : int
        Linear size, L >= 2.
    K : float or mpmath.mpf, optional
        Coupling K > 0; default the critical coupling ``K_C``.
    dps : int, optional
        mpmath working precision (>= 15 decimal digits).

    Returns
    -------
    e : float
        <e> = L^-2 d lnZ/dK, with e = L^-2 sum_<ij> s_i s_j (tends to sqrt 2 at K_C).
    c : float
        c = L^-2 d^2 lnZ/dK^2 = L^2 (<e^2> - <e>^2) (no K^2 factor).

    Raises
    ------
    ValueError
        If L < 2 or not an integer, K <= 0 or not finite, or dps < 15.
    """
    L = _check_L(L)
    _check_K(K)
    with mpmath.workdps(_check_dps(dps)):
        _, d1, d2 = _kaufman(L, mpmath.mpf(K))
        return float(d1 / L**2), float(d2 / L**2)


def onsager_energy(K: float, dps: int = 30) -> float:
    """Onsager's infinite-lattice <e> = lim L^-2 <sum_<ij> s_i s_j> at coupling K.

    <e> = coth 2K [1 + (2/pi)(2 tanh^2 2K - 1) K(k^2)] with k = 2 sinh 2K / cosh^2 2K and
    K(m) the complete elliptic integral of the first kind of parameter m (Onsager 1944; the
    internal energy per spin is -J times this). At K_C the bracket's second term vanishes
    (its logarithmic divergence times a linear zero) and <e> = coth 2K_C = sqrt 2.

    Raises
    ------
    ValueError
        If K <= 0 or not finite, or dps < 15.
    """
    _check_K(K)
    with mpmath.workdps(_check_dps(dps)):
        K = mpmath.mpf(K)
        s, c = mpmath.sinh(2 * K), mpmath.cosh(2 * K)
        m = (2 * s / c**2) ** 2
        if m >= 1:  # only at K_C, where the elliptic term is 0 * infinity -> 0
            return float(c / s)
        t2 = (s / c) ** 2
        return float(c / s * (1 + 2 / mpmath.pi * (2 * t2 - 1) * mpmath.ellipk(m)))


def coupling_from_energy(e: float, L: int, tol: float = 1e-13, dps: int = 30) -> float:
    """The coupling K whose exact finite-torus <e>(K, L) equals ``e`` (Kaufman inverted).

    <e>(K, L) rises strictly from 0 (K -> 0) to 2 (K -> infinity), with slope
    d<e>/dK = c(K, L) > 0, so the root is unique. Found by Newton steps on K with the
    analytic slope, safeguarded by bisection inside a bracket that is widened until
    it holds the root.

    Parameters
    ----------
    e : float
        A nearest-neighbour correlation per site, 0 < e < 2 (ferromagnetic side).
    L : int
        Linear size of the torus whose exact <e>(K, L) is matched, L >= 2.
    tol : float, optional
        Absolute tolerance on K.
    dps : int, optional
        mpmath working precision (>= 15).

    Returns
    -------
    float
        K with exact_energy_and_heat_capacity(L, K)[0] == e to within tol * c.

    Raises
    ------
    ValueError
        If e is not a finite number in (0, 2), or L or dps is invalid.
    """
    L = _check_L(L)
    dps = _check_dps(dps)
    if not (isinstance(e, (int, float, np.floating)) and math.isfinite(e) and 0.0 < e < 2.0):
        raise ValueError(f"e must be a finite nearest-neighbour correlation in (0, 2) (a ferromagnetic "
                         f"coupling K > 0 exists only there); got e={e!r}")
    e = float(e)
    lo, hi = 0.0, 0.5
    while exact_energy_and_heat_capacity(L, hi, dps)[0] < e:
        lo, hi = hi, 2 * hi
        if hi > 64:  # e within ~1e-50 of 2: beyond what a float can resolve
            raise ValueError(f"e={e!r} is too close to 2 to define a finite coupling at L={L}")
    K = 0.5 * (lo + hi) if lo > 0 else min(0.5 * e, 0.5 * hi)
    for _ in range(200):
        value, slope = exact_energy_and_heat_capacity(L, K, dps)
        step = (e - value) / slope
        if abs(step) < tol:
            return float(K + step)
        if value < e:
            lo = K
        else:
            hi = K
        K = K + step if lo < K + step < hi else 0.5 * (lo + hi)
        if hi - lo < tol:
            return float(K)
    raise ArithmeticError(f"no convergence inverting <e>(K, L={L}) = {e!r}")  # pragma: no cover


def enumerate_energy_magnetization(L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Enumerate all 2^(L^2) states of the L x L torus and histogram (E, M).

    Parameters
    ----------
    L : int
        Linear size, 2 <= L <= 4 (L = 4 means 65536 states).

    Returns
    -------
    E : numpy.ndarray of int64
        Bond sum E = sum_<ij> s_i s_j over the 2 L^2 bonds (one row per distinct pair).
    M : numpy.ndarray of int64
        Magnetisation M = sum_i s_i.
    degeneracy : numpy.ndarray of int64
        Number of states with that (E, M); sums to 2^(L^2).

    Raises
    ------
    ValueError
        If L is not an integer in [2, 4].
    """
    L = _check_L(L, _MAX_ENUM_L)
    n = L * L
    codes = np.arange(2**n, dtype=np.int64)
    bits = (codes[:, None] >> np.arange(n, dtype=np.int64)) & 1
    spins = (2 * bits - 1).reshape(-1, L, L)  # spins[state, row, col]
    right = spins * np.roll(spins, -1, axis=2)  # bond (i, j)-(i, j+1 mod L)
    down = spins * np.roll(spins, -1, axis=1)  # bond (i, j)-(i+1 mod L, j)
    E = right.sum(axis=(1, 2)) + down.sum(axis=(1, 2))
    M = spins.sum(axis=(1, 2))
    pairs, counts = np.unique(np.stack([E, M], axis=1), axis=0, return_counts=True)
    return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64), counts.astype(np.int64)


def exact_em_distribution(L: int, K: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boltzmann probabilities of every (E, M) pair from exact enumeration.

    Parameters
    ----------
    L : int
        Linear size, 2 <= L <= 4.
    K : float
        Coupling K > 0.

    Returns
    -------
    E, M : numpy.ndarray of int64
        As in :func:`enumerate_energy_magnetization`.
    prob : numpy.ndarray of float64
        P(E, M) = g exp(K E) / Z, normalised to 1 (evaluated with the maximum
        exponent subtracted, so no overflow for any K).

    Raises
    ------
    ValueError
        If L is not in [2, 4] or K <= 0 or not finite.
    """
    _check_K(K)
    E, M, g = enumerate_energy_magnetization(L)
    log_w = np.log(g.astype(np.float64)) + float(K) * E
    w = np.exp(log_w - log_w.max())
    return E, M, w / w.sum()


def exact_observables_enumeration(L: int, K: float) -> dict[str, float]:
    """Exact thermal averages from enumeration of the L x L torus (L <= 4).

    Parameters
    ----------
    L : int
        Linear size, 2 <= L <= 4.
    K : float
        Coupling K > 0.

    Returns
    -------
    dict of str to float
        Keys ``e`` (<e>), ``c`` (L^2 var(e)), ``abs_m`` (<|m|>), ``m2`` (<m^2>),
        ``m4`` (<m^4>), ``chi`` (L^2 <m^2>; <m> = 0 by symmetry) and ``U4``
        (1 - <m^4> / (3 <m^2>^2)), with m = M/L^2 and e = E/L^2.

    Raises
    ------
    ValueError
        If L is not in [2, 4] or K <= 0 or not finite.
    """
    E, M, p = exact_em_distribution(L, K)
    n = L * L
    e, m = E / n, M / n
    e_mean = float(p @ e)
    m2, m4 = float(p @ m**2), float(p @ m**4)
    return {
        "e": e_mean,
        "c": n * float(p @ (e - e_mean) ** 2),
        "abs_m": float(p @ np.abs(m)),
        "m2": m2,
        "m4": m4,
        "chi": n * m2,
        "U4": 1.0 - m4 / (3.0 * m2**2),
    }
