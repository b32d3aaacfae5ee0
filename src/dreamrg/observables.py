"""Global observables of Ising configurations, with error bars.

Conventions (the paper's section IV, eq. 14), for configurations of linear size L:

* m = L^-2 Σ_i σ_i,  e = L^-2 Σ_<ij> σ_i σ_j over the 2L² bonds right and down;
* χ    = L² (<m²> − <m>²)
* c_me = L² (<|m||e|> − <|m|><|e|>) / <|m|>
* c    = L² (<e²> − <e>²)
* U4   = 1 − <m⁴> / (3 <m²>²)

Errors come from a binned (blocked) jackknife over the configuration index:
the n samples are cut into ``n_bins`` consecutive bins, every estimator is
recomputed with one bin left out, and the spread of those leave-one-out values
gives the error. Binning also absorbs residual autocorrelation shorter than a
bin. :func:`tau_int` estimates the integrated autocorrelation time with
Sokal's automatic window so users can check that recorded samples are
effectively independent.

Everything streams: :class:`SeriesAccumulator` keeps only (m, e) per
configuration (16 bytes), never the configurations themselves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
import numpy as np

from dreamrg.stats import Estimate, format_estimate, jackknife, tau_int

#: observable names in the order used by tables and the JSON output
OBSERVABLES: tuple[str, ...] = ("chi", "c_me", "c", "U4", "abs_m", "e")


def magnetization_energy(spins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-configuration m and e.

    Parameters
    ----------
    spins : ndarray, shape (n, L, L) or (L, L), values ±1 (any integer dtype)

    Returns
    -------
    m, e : float64 arrays of shape (n,)
    """
    s = np.asarray(spins)
    if s.ndim == 2:
        s = s[None]
    if s.ndim != 3 or s.shape[1] != s.shape[2]:
        raise ValueError(f"spins must have shape (n, L, L); got {s.shape}")
    L = s.shape[1]
    s = s.astype(np.int32, copy=False)
    M = s.sum(axis=(1, 2), dtype=np.int64)
    E = (s * np.roll(s, -1, axis=1)).sum(axis=(1, 2), dtype=np.int64)
    E += (s * np.roll(s, -1, axis=2)).sum(axis=(1, 2), dtype=np.int64)
    return M / L**2, E / L**2


def _moments(m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Per-sample moments needed by every estimator, shape (n, 8)."""
    am, ae = np.abs(m), np.abs(e)
    m2 = m * m
    return np.stack([m, m2, m2 * m2, am, am * ae, ae, e, e * e], axis=1)


def _estimators(mom: np.ndarray, L: int) -> np.ndarray:
    """Observables from averaged moments; ``mom`` has shape (..., 8). Returns (..., 6)."""
    m1, m2, m4, am, amae, ae, e1, e2 = (mom[..., i] for i in range(8))
    V = float(L) ** 2
    chi = V * (m2 - m1**2)
    c_me = V * (amae - am * ae) / am
    c = V * (e2 - e1**2)
    u4 = 1.0 - m4 / (3.0 * m2**2)
    return np.stack([chi, c_me, c, u4, am, e1], axis=-1)


def fss_observables(m: np.ndarray, e: np.ndarray, L: int, n_bins: int = 100) -> dict[str, Estimate]:
    """χ, c_me, c, U4, <|m|>, <e> with jackknife errors from per-configuration m and e."""
    m = np.asarray(m, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    if m.shape != e.shape or m.ndim != 1 or m.size == 0:
        raise ValueError(f"m and e must be equal-length non-empty 1-d arrays; got {m.shape} and {e.shape}")
    value, error = jackknife(lambda mom: _estimators(mom, L), _moments(m, e), n_bins=n_bins)
    return {name: Estimate(float(v), float(s)) for name, v, s in zip(OBSERVABLES, value, error)}


class SeriesAccumulator:
    """Collects per-configuration (m, e) from batches of one lattice size."""

    def __init__(self, L: int):
        self.L = int(L)
        self._m: list[np.ndarray] = []
        self._e: list[np.ndarray] = []

    def add(self, spins: np.ndarray) -> None:
        if spins.shape[-1] != self.L:
            raise ValueError(f"batch has L={spins.shape[-1]}, accumulator expects L={self.L}")
        m, e = magnetization_energy(spins)
        self._m.append(m)
        self._e.append(e)

    def add_series(self, m: np.ndarray, e: np.ndarray) -> None:
        self._m.append(np.asarray(m, dtype=np.float64))
        self._e.append(np.asarray(e, dtype=np.float64))

    @property
    def m(self) -> np.ndarray:
        return np.concatenate(self._m) if self._m else np.empty(0)

    @property
    def e(self) -> np.ndarray:
        return np.concatenate(self._e) if self._e else np.empty(0)

    def __len__(self) -> int:
        return sum(len(a) for a in self._m)

    def result(self, n_bins: int = 100) -> dict[str, Estimate]:
        return fss_observables(self.m, self.e, self.L, n_bins=n_bins)


def store_series(batches: Iterable[np.ndarray], L: int) -> SeriesAccumulator:
    """Accumulate (m, e) over an iterable of spin batches."""
    acc = SeriesAccumulator(L)
    for batch in batches:
        acc.add(batch)
    return acc


def exponent_from_pair(large: Estimate, small: Estimate, ratio: float = 4.0) -> Estimate:
    """Exponent x from X(L) ∝ L^x using two independent sizes L and L/ratio (the paper's Table II).

    x = ln(X(L)/X(L/ratio)) / ln(ratio), errors added in quadrature (valid for
    independent samples, e.g. separate Monte Carlo runs).
    """
    value = math.log(large.value / small.value) / math.log(ratio)
    error = math.hypot(large.error / large.value, small.error / small.value) / math.log(ratio)
    return Estimate(value, error)


def store_accumulator(path, batch_size: int | None = None, progress: bool = False,
                      stop: int | None = None) -> SeriesAccumulator:
    """Stream configurations ``0:stop`` of a store and collect their (m, e) series."""
    from tqdm import tqdm

    from dreamrg._progress import _no_bar
    from dreamrg.store import open_store

    st = open_store(path)
    acc = SeriesAccumulator(st.L)
    n = st.count if stop is None else min(stop, st.count)
    for batch in tqdm(st.iter_batches(batch_size, stop=n), total=-(-n // (batch_size or st.chunk_size)),
                      disable=_no_bar(progress), desc=f"observables L={st.L}", unit="chunk"):
        acc.add(batch)
    return acc


def summarize(acc: SeriesAccumulator, n_bins: int = 100) -> dict:
    """Observables with errors plus τ_int of m² and e, as a JSON-ready dict."""
    res = {"L": acc.L, "n": len(acc)}
    res.update({k: v.to_dict() for k, v in acc.result(n_bins=n_bins).items()})
    if len(acc) >= 4:
        for name, series in (("m2", acc.m**2), ("e", acc.e)):
            t, dt = tau_int(series)
            res[f"tau_int_{name}"] = {"value": t, "error": dt}
    return res
