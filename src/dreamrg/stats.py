"""Statistics shared by every stage: estimates with error bars, the binned jackknife, τ_int.

* :class:`Estimate` -- a value, its one-standard-deviation error and, where it was
  measured, the integrated autocorrelation time of its series (netket's ``Stats`` idea).
* :func:`jackknife` -- binned (blocked) jackknife of any smooth function of means;
  used for the FSS observables and their exponents.
* :func:`jackknife_error` -- the error from given leave-one-bin-out estimates,
  for bins of unequal sizes (weighted delete-a-group jackknife); used for the
  MCRG exponents, whose bins are blocks of a streaming accumulator.
* :func:`tau_int` -- Sokal's automatic-window estimate of τ_int.
* :func:`seed_spread` -- are the error bars of repeated independent estimates honest? The
  scatter of the estimates against their own errors, as a :class:`SeedSpread`;
  :func:`pooled_ratio` takes several independent ones together.
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


def jackknife(func: Callable[[np.ndarray], np.ndarray], samples: np.ndarray,
              n_bins: int = 100) -> tuple[np.ndarray, np.ndarray]:
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


@dataclass(frozen=True)
class SeedSpread:
    """S independent estimates x_i ± σ_i of one quantity: their scatter against their error bars.

    Attributes
    ----------
    n : int
        Number of estimates S (≥ 2).
    mean, mean_err : float
        Plain mean x̄ of the estimates, and its error ``max(sd, rms_err)/√S`` (the larger of the
        error the scatter implies and the one the σ_i imply; ``mean_err_from`` says which).
    mean_err_from : {"spread", "errors"}
        ``"spread"`` if ``sd ≥ rms_err`` (the scatter sets the error of the mean), else ``"errors"``.
    sd : float
        Sample standard deviation of the x_i (ddof = 1).
    rms_err : float
        Root mean square of the σ_i, √(mean σ_i²).
    ratio, ratio_err : float
        r = sd/rms_err, ≈ 1 if the σ_i are honest, and its approximate 1σ uncertainty r/√(2(S−1))
        (for Gaussian estimates; the relative error of a sample standard deviation).
    chi2 : float
        Σ (x_i − x̄_w)²/σ_i² about the inverse-variance weighted mean x̄_w (the plain mean when the
        σ_i are equal), χ²-distributed with ``dof`` = S − 1 degrees of freedom for honest Gaussian errors.
    dof : int
    p_value : float
        P(χ²_dof ≥ chi2): small if the estimates scatter more than their errors allow.
    """

    n: int
    mean: float
    mean_err: float
    mean_err_from: str
    sd: float
    rms_err: float
    ratio: float
    ratio_err: float
    chi2: float
    dof: int
    p_value: float

    def to_dict(self) -> dict:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict) -> "SeedSpread":
        return cls(**{f: (int(d[f]) if f in ("n", "dof") else d[f] if f == "mean_err_from" else float(d[f]))
                      for f in cls.__dataclass_fields__})


def seed_spread(values, errors) -> SeedSpread:
    """The scatter of S independent estimates against their error bars (:class:`SeedSpread`).

    Parameters
    ----------
    values, errors : array_like of float, shape (S,)
        The estimates x_i (e.g. one per independent seed) and their one-standard-deviation
        errors σ_i (e.g. jackknife), S ≥ 2, every σ_i finite and > 0.

    Returns
    -------
    SeedSpread
        If the σ_i are honest, ``ratio`` scatters about 1 (within ``ratio_err``) and ``p_value``
        is uniform on [0, 1]; if they are too small by a factor f, ``ratio`` is near f.
    """
    from scipy.stats import chi2 as _chi2

    x = np.asarray(values, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    if x.ndim != 1 or x.shape != e.shape or x.size < 2:
        raise ValueError(f"values and errors must be two 1-d arrays of the same length ≥ 2; got shapes "
                         f"{x.shape} and {e.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(e)) and np.all(e > 0)):
        raise ValueError(f"values must be finite and errors finite and > 0; got values {x.tolist()}, "
                         f"errors {e.tolist()}")
    S = x.size
    sd = float(np.std(x, ddof=1))
    rms = float(np.sqrt(np.mean(e**2)))
    ratio = sd / rms
    w = 1.0 / e**2
    chi2 = float(np.sum(w * (x - np.sum(w * x) / np.sum(w)) ** 2))
    return SeedSpread(n=S, mean=float(x.mean()), mean_err=max(sd, rms) / math.sqrt(S),
                      mean_err_from="spread" if sd >= rms else "errors", sd=sd, rms_err=rms, ratio=ratio,
                      ratio_err=ratio / math.sqrt(2 * (S - 1)), chi2=chi2, dof=S - 1,
                      p_value=float(_chi2.sf(chi2, S - 1)))


def pooled_ratio(ratios, dofs, chi2s) -> tuple[float, float, float]:
    """(R, R_err, p) of several independent :class:`SeedSpread` (e.g. one per model) taken together.

    ``ratios``, ``dofs``, ``chi2s``: their ``ratio``, ``dof`` and ``chi2``, one entry each. R² =
    Σ dof_j r_j² / Σ dof_j (the ratios weighted by their degrees of freedom), its approximate 1σ
    uncertainty R/√(2 Σ dof_j), and p = P(χ²_{Σ dof_j} ≥ Σ χ²_j). Only for spreads of independent
    data: estimates from the same configurations (two quantities, two operator bases) are
    correlated and must not be pooled.
    """
    from scipy.stats import chi2 as _chi2

    r, d, c = (np.asarray(a, dtype=np.float64) for a in (ratios, dofs, chi2s))
    if r.ndim != 1 or r.size == 0 or r.shape != d.shape or r.shape != c.shape or np.any(d < 1):
        raise ValueError(f"pooled_ratio needs at least one spread: ratios, dofs (≥ 1) and chi2s of the same length; "
                         f"got {r.size}, {d.size}, {c.size}")
    dof = float(d.sum())
    R = math.sqrt(float(np.sum(d * r**2)) / dof)
    return R, R / math.sqrt(2 * dof), float(_chi2.sf(float(c.sum()), dof))
