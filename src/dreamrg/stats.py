"""Statistics shared by every stage: estimates with error bars, the binned jackknife, τ_int.

* :class:`Estimate` -- a value, its one-standard-deviation error and, where it was
  measured, the integrated autocorrelation time of its series (netket's ``Stats`` idea).
* :func:`jackknife` -- binned (blocked) jackknife of any smooth function of means;
  used for the FSS observables and their exponents.
* :func:`jackknife_error` -- the error from given leave-one-bin-out estimates,
  for bins of unequal sizes (weighted delete-a-group jackknife); used for the
  MCRG exponents, whose bins are blocks of a streaming accumulator.
* :func:`tau_int` -- Sokal's automatic-window estimate of τ_int.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A value with its one-standard-deviation error."""

    value: float
    error: float
    #: integrated autocorrelation time of the series the value was measured on, where it was measured
    tau: float | None = None

    def to_dict(self) -> dict[str, float]:
        out = {"value": float(self.value), "error": float(self.error)}
        if self.tau is not None:
            out["tau"] = float(self.tau)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Estimate":
        """Inverse of :meth:`to_dict`; a JSON ``null`` error (undefined) reads as NaN."""
        err = d.get("error")
        return cls(float(d["value"]), float("nan") if err is None else float(err),
                   None if d.get("tau") is None else float(d["tau"]))

    def __format__(self, spec: str) -> str:
        return format_estimate(self.value, self.error)


def format_estimate(value: float, error: float, digits: int = 2) -> str:
    """Format ``value(error)`` with ``digits`` significant digits of the error, e.g. 1.2345(67)."""
    if not np.isfinite(error) or error <= 0:
        return f"{value:.6g}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(error))))
    err_digits = round(error * 10**decimals)
    return f"{value:.{decimals}f}({err_digits})"


def jackknife(func: Callable[[np.ndarray], np.ndarray], samples: np.ndarray, n_bins: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Binned jackknife of ``func(mean of samples)``.

    Parameters
    ----------
    func : callable
        Maps averaged samples of shape (..., k) to estimates of shape (..., q).
    samples : ndarray, shape (n, k)
        Per-sample quantities in their natural (time) order.
    n_bins : int
        Number of jackknife bins; the trailing ``n % n_bins`` samples are dropped
        from the bins (they still enter the central value).

    Returns
    -------
    value, error : ndarrays of shape (q,)
    """
    samples = np.asarray(samples, dtype=np.float64)
    n = samples.shape[0]
    value = func(samples.mean(axis=0))
    nb = min(n_bins, n)
    if nb < 2:
        return value, np.full_like(value, np.nan)
    size = n // nb
    sums = samples[: nb * size].reshape(nb, size, -1).sum(axis=1)
    total = sums.sum(axis=0)
    loo = (total[None, :] - sums) / ((nb - 1) * size)
    est = func(loo)
    error = np.sqrt((nb - 1) / nb * ((est - est.mean(axis=0)) ** 2).sum(axis=0))
    return value, error


def jackknife_error(full: np.ndarray, loo: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Weighted delete-a-group jackknife error from leave-one-bin-out estimates.

    For bins of unequal sizes (Busing, Meijer & van der Leeden 1999); with
    equal bins it reduces to the usual ``sqrt((g-1)/g · Σ_j (θ_j - θ̄)²)``.

    Parameters
    ----------
    full : ndarray, shape (q,)
        Estimates from all data.
    loo : ndarray, shape (g, q)
        Estimates with bin ``j`` left out, one row per bin.
    sizes : ndarray, shape (g,)
        Number of samples in each bin (all positive).

    Returns
    -------
    error : ndarray of float64, shape (q,)
        One-standard-deviation errors of ``full``.

    Notes
    -----
    With ``h_j = n / n_j`` the pseudo-values are ``h_j θ - (h_j - 1) θ_j``;
    the error is the square root of the mean over bins of
    ``(pseudo_j - mean pseudo)² / (h_j - 1)``.
    """
    n = sizes.sum()
    h = n / sizes
    pseudo = h[:, None] * full[None, :] - (h[:, None] - 1.0) * loo
    theta_j = pseudo.mean(axis=0)
    var = (((pseudo - theta_j[None, :]) ** 2) / (h[:, None] - 1.0)).mean(axis=0)
    return np.sqrt(var)


def tau_int(x: np.ndarray, c: float = 6.0) -> tuple[float, float]:
    """Integrated autocorrelation time with Sokal's automatic window.

    τ_int = ½ + Σ_{t=1}^{W} ρ(t), with the smallest window W such that
    W ≥ c·τ_int(W). τ_int = ½ for independent samples (the convention in which
    the variance of the mean is 2τ_int σ²/n).

    Returns
    -------
    tau, error : float
        The estimate and its Madras–Sokal error √(2(2W+1)/n)·τ.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 4:
        raise ValueError(f"need at least 4 samples for an autocorrelation time; got {n}")
    y = x - x.mean()
    var = float(np.dot(y, y)) / n
    if var == 0.0:
        return 0.5, 0.0
    nfft = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(y, nfft)
    acf = np.fft.irfft(f * np.conj(f), nfft)[:n] / (n * var)
    tau = 0.5
    window = n - 1
    for t in range(1, n):
        tau += acf[t]
        if t >= c * tau:
            window = t
            break
    return float(tau), float(tau * math.sqrt(2.0 * (2 * window + 1) / n))
