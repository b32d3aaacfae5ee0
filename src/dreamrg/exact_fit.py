"""Exact (full-batch) training of the single-layer symmetric upscaler by Newton's method.

The model (paper Sec. III A, eq. 9)
-----------------------------------
A coarse configuration ``mu`` (``l x l`` torus, spins ±1) is upsampled by the
nearest-neighbour rule to ``sigma_tilde`` (``L x L``, ``L = 2 l``,
``sigma_tilde[i, j] = mu[i // 2, j // 2]``). With an odd kernel size ``k`` and
``r = (k - 1) / 2`` the local field is the circular convolution

    h[i, j] = sum_{di, dj in [-r, r]} W[di, dj] sigma_tilde[(i + di) mod L, (j + dj) mod L]

and the fine spins are independent given ``mu``:
``p(sigma_ij = s | mu) = exp(s h) / (2 cosh h)``, i.e. ``p(up) = sigmoid(2 h)``,
``-log p(s | mu) = softplus(-2 s h)``. ``W`` is invariant under the 8
symmetries of the square: one parameter ``w_o`` per orbit of offsets, with orbit
representatives ``(a, b)``, ``0 <= a <= b``, in the order of
:data:`dreamrg.patches.ORBIT_REPRESENTATIVES` (k = 3 uses the first 3, k = 5 the first 6,
k = 7 all 10). Hence ``h = sum_o w_o F_o`` with
``F_o[i, j] = sum_{(di, dj) in orbit o} sigma_tilde[i + di, j + dj]``.

Losses (paper Sec. III B)
-------------------------
For ``M`` pairs ``(sigma_a, mu_a)`` with weights ``D_a`` (majority rule: ``D_a =
2**(-number of tied blocks)``), the *per-configuration* loss is

* unweighted, eq. (12): ``-(1/M) sum_a log U(sigma_a | mu_a)``;
* weighted, eq. (13): ``-sum_a wbar_a log U(sigma_a | mu_a)`` with normalised
  weights ``wbar_a = D_a / sum_b D_b`` (computed in log space). This differs from
  eq. (13) as printed, ``-(1/M) sum_a D_a log U``, by the positive constant factor
  ``(1/M) sum_b D_b``, which does not move the minimiser; the normalised form keeps
  the loss comparable to the unweighted one and representable when ``D_a``
  underflows (``2**-1000`` at L = 128).

The histogram reduction
-----------------------
The field of fine site ``(i, j)`` is a function of its block position ``pos`` and of
its ``P x P`` coarse *patch* (``P = (k + 1) / 2``; :mod:`dreamrg.patches` defines the
patches, their pattern codes and the orbit features ``F[pos, pattern]``). A data
set therefore reduces exactly to the weighted histogram
``counts[pos, pattern, spin_index]`` (``spin_index = 0`` for -1, ``1`` for +1) and
the loss to ``sum counts * softplus(-2 s F[pos, pattern] . w)``: a convex
logistic regression in ``w``, solved here by Newton's method. Patches are read
mod ``l``, which is exact at every ``l >= 1``; the histogram route is tested
against the direct loss of :mod:`dreamrg._exact_fit_reference` down to ``l = 1``.

Histogram normalisation: :func:`pattern_histogram` and
:attr:`HistogramAccumulator.counts` return counts weighted by the *normalised*
per-configuration weights (``1 / M`` unweighted, ``wbar_a`` weighted), so
``counts.sum() == L**2`` and ``sum counts * (-log p)`` is directly the loss per
configuration above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from scipy.special import expit

from dreamrg import _histogram_kernels as _hk
from dreamrg._checks import check_int
from dreamrg.patches import (
    as_spins,
    check_kernel_size,
    check_params,
    n_params,
    orbit_features,
    patch_geometry,
)

__all__ = [
    "HistogramAccumulator",
    "pattern_histogram",
    "histogram_loss",
    "histogram_loss_grad",
    "histogram_loss_grad_hess",
    "FitResult",
    "fit_exact",
    "newton",
]


# --------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------
def _check_pair(sigma, mu) -> tuple[np.ndarray, np.ndarray]:
    sigma = as_spins(sigma, "sigma")
    mu = as_spins(mu, "mu")
    n, L, L2 = sigma.shape
    if L != L2 or L < 2 or L % 2:
        raise ValueError(f"sigma must have shape (n, L, L) with even L >= 2; got {sigma.shape}")
    if mu.shape != (n, L // 2, L // 2):
        raise ValueError(f"mu must have shape (n, L/2, L/2) = {(n, L // 2, L // 2)}; got {mu.shape}")
    return sigma, mu


def _log_weights(n: int, weights, log_weights) -> np.ndarray:
    """Per-configuration log-weights, shape (n,), from exactly one of the two forms."""
    if weights is not None and log_weights is not None:
        raise ValueError("give weights or log_weights, not both")
    if weights is None and log_weights is None:
        return np.zeros(n)
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,):
            raise ValueError(f"weights must have shape ({n},); got {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite and >= 0")
        with np.errstate(divide="ignore"):
            return np.log(w)
    lw = np.asarray(log_weights, dtype=np.float64)
    if lw.shape != (n,):
        raise ValueError(f"log_weights must have shape ({n},); got {lw.shape}")
    if np.any(np.isnan(lw)) or np.any(lw == np.inf):
        raise ValueError("log_weights must be < +inf and not NaN (-inf means weight 0)")
    return lw


def _check_counts(counts, k) -> np.ndarray:
    k = check_kernel_size(k)
    P, _ = patch_geometry(k)
    counts = np.asarray(counts, dtype=np.float64)
    shape = (4, 2 ** (P * P), 2)
    if counts.shape != shape:
        raise ValueError(f"counts for k={k} must have shape {shape}; got {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("counts must be finite and >= 0")
    if not counts.sum() > 0:
        raise ValueError("empty histogram: counts sum to zero (no configurations or zero weight)")
    return counts


class HistogramAccumulator:
    """Stream (sigma, mu) batches into a weighted (position, pattern, spin) histogram.

    Weights are handled in log space: raw counts are stored relative to the
    largest log-weight seen so far (rescaled when a larger one arrives), so
    majority-rule weights ``2**(-ties)`` never underflow as a whole.

    Parameters
    ----------
    k : {3, 5, 7}
        Kernel size.
    n_chunks : int, optional
        Number of independent partial histograms (parallel work units);
        default ``max(8, numba.get_num_threads())``. For fixed ``n_chunks`` and
        batches the result does not depend on the number of threads. Memory:
        ``n_chunks * 4 * 2**(P*P) * 2 * 8`` bytes (4 MiB per chunk for k = 7).

    Attributes
    ----------
    k : int
    L : int or None
        Fine linear size (fixed by the first batch).
    n_configs : int
        Number of configurations added (including zero-weight ones).

    Examples
    --------
    >>> acc = HistogramAccumulator(3)
    >>> for sigma, mu, log_d in batches:            # doctest: +SKIP
    ...     acc.add(sigma, mu, log_weights=log_d)
    >>> fit = fit_exact(acc.counts, 3)              # doctest: +SKIP
    """

    def __init__(self, k: int, n_chunks: int | None = None):
        self.k = check_kernel_size(k)
        self._P, start = patch_geometry(self.k)
        self._start = np.asarray(start, dtype=np.int64)
        if n_chunks is None:
            n_chunks = max(8, numba.get_num_threads())
        n_chunks = check_int(n_chunks, "n_chunks", 1)
        self._partial = np.zeros((int(n_chunks), 4, 2 ** (self._P**2), 2))
        self._n_bad = np.zeros(int(n_chunks), dtype=np.int64)
        self.L: int | None = None
        self.n_configs = 0
        self._ref = -np.inf  # log of the reference weight
        self._sum_w = 0.0  # sum of exp(log_w - ref)
        self._sum_w2 = 0.0  # sum of exp(2 (log_w - ref))

    def add(self, sigma, mu, weights=None, *, log_weights=None) -> HistogramAccumulator:
        """Add a batch of configuration pairs.

        Parameters
        ----------
        sigma : array_like of int8, shape (n, L, L)
            Fine configurations (±1).
        mu : array_like of int8, shape (n, L/2, L/2)
            Their coarse (block-spin) configurations (±1).
        weights : array_like of float, shape (n,), optional
            Non-negative per-configuration weights ``D_a`` (default 1).
        log_weights : array_like of float, shape (n,), optional
            ``log D_a`` instead of ``weights`` (e.g. ``-ties * ln 2``);
            ``-inf`` is weight 0.

        Returns
        -------
        self
        """
        sigma, mu = _check_pair(sigma, mu)
        n, L = sigma.shape[0], sigma.shape[1]
        if self.L is None:
            self.L = L
        elif L != self.L:
            raise ValueError(f"all batches must have the same L; got {L} after {self.L}")
        lw = _log_weights(n, weights, log_weights)
        if n == 0:
            return self
        top = float(lw.max())
        if top > self._ref:
            if np.isfinite(self._ref):
                f = math.exp(self._ref - top)
                self._partial *= f
                self._sum_w *= f
                self._sum_w2 *= f * f
            self._ref = top
        if not np.isfinite(self._ref):  # all weights zero so far
            self.n_configs += n
            return self
        w = np.exp(lw - self._ref)
        self._sum_w += float(w.sum())
        self._sum_w2 += float((w * w).sum())
        bad = np.zeros_like(self._n_bad)
        _hk.accumulate_pattern_counts(sigma, mu, w, self._P, self._start, self._partial, bad)
        if bad.sum():
            # the batch has been partially counted: poison the accumulator
            self._n_bad += bad
            raise ValueError(
                f"{int(bad.sum())} spins are not ±1; this accumulator is now invalid"
            )
        self.n_configs += n
        return self

    def _check_valid(self) -> None:
        if self._n_bad.sum():
            raise ValueError("accumulator is invalid: it received spins that are not ±1; start a new one")
        if not self._sum_w > 0:
            raise ValueError("empty histogram: no configurations with non-zero weight")

    @property
    def counts(self) -> np.ndarray:
        """Normalised histogram, float64 of shape (4, 2**(P*P), 2).

        ``counts[pos, code, spin_index] = sum_a wbar_a n_a(pos, code, spin)`` with
        ``wbar_a = D_a / sum_b D_b`` (``1/M`` unweighted) and ``n_a`` the number of
        fine sites of configuration ``a`` at that position, patch pattern and
        spin (``spin_index`` 0 for -1, 1 for +1). ``counts.sum() == L**2``.
        """
        self._check_valid()
        return self._partial.sum(axis=0) / self._sum_w

    @property
    def log_total_weight(self) -> float:
        """``log sum_a D_a`` over all configurations added."""
        self._check_valid()
        return self._ref + math.log(self._sum_w)

    @property
    def effective_sample_size(self) -> float:
        """Kish effective sample size ``(sum D)**2 / sum D**2`` (= M unweighted)."""
        self._check_valid()
        return self._sum_w**2 / self._sum_w2


def pattern_histogram(sigma, mu, k: int, weights=None, *, log_weights=None,
                      n_chunks: int | None = None) -> np.ndarray:
    """Normalised (position, pattern, spin) histogram of a data set.

    Parameters
    ----------
    sigma : array_like of int8, shape (n, L, L)
        Fine configurations (±1), ``n >= 1``.
    mu : array_like of int8, shape (n, L/2, L/2)
        Coarse configurations (±1).
    k : {3, 5, 7}
        Kernel size.
    weights, log_weights : array_like of float, shape (n,), optional
        Per-configuration weights ``D_a`` or their logarithms (at most one).
    n_chunks : int, optional
        Partial histograms (see :class:`HistogramAccumulator`); few are cheaper for small batches.

    Returns
    -------
    numpy.ndarray of float64, shape (4, 2**(P*P), 2)
        See :attr:`HistogramAccumulator.counts`; ``counts.sum() == L**2``.
    """
    return HistogramAccumulator(k, n_chunks).add(sigma, mu, weights, log_weights=log_weights).counts


# --------------------------------------------------------------------------
# Loss on the histogram
# --------------------------------------------------------------------------
def _compress(counts, k):
    """Rows of the histogram with non-zero total: features, counts of +1, of -1."""
    counts = _check_counts(counts, k)
    F = orbit_features(k).reshape(-1, n_params(k))
    c = counts.reshape(-1, 2)
    keep = (c[:, 0] + c[:, 1]) > 0
    return np.ascontiguousarray(F[keep]), c[keep, 1].copy(), c[keep, 0].copy()


def _loss_rows(w, F, cp, cm, order: int):
    """Loss (and gradient, Hessian if order >= 1, 2) on compressed rows."""
    h2 = 2.0 * (F @ w)
    loss = float(cp @ np.logaddexp(0.0, -h2) + cm @ np.logaddexp(0.0, h2))
    if order == 0:
        return loss
    p_up = expit(h2)
    p_dn = expit(-h2)
    grad = F.T @ (2.0 * (cm * p_up - cp * p_dn))
    if order == 1:
        return loss, grad
    curv = 4.0 * (cp + cm) * p_up * p_dn
    hess = (F * curv[:, None]).T @ F
    return loss, grad, hess


def histogram_loss(w, counts, k: int) -> float:
    """Loss per configuration evaluated on a histogram.

    Parameters
    ----------
    w : array_like of float, shape (n_params(k),)
        Orbit parameters.
    counts : array_like of float, shape (4, 2**(P*P), 2)
        Normalised histogram from :func:`pattern_histogram` or
        :attr:`HistogramAccumulator.counts`.
    k : {3, 5, 7}
        Kernel size.

    Returns
    -------
    float
        ``sum_{pos, code, s} counts[pos, code, s] * softplus(-2 s F[pos, code] . w)``,
        which equals eq. (12) ``-(1/M) sum_a log U(sigma_a|mu_a)`` (unweighted
        histogram) or ``-sum_a wbar_a log U(sigma_a|mu_a)`` (weighted); equals
        ``L**2 ln 2`` at ``w = 0``.
    """
    w = check_params(w, k)
    return _loss_rows(w, *_compress(counts, k), order=0)


def histogram_loss_grad(w, counts, k: int) -> tuple[float, np.ndarray]:
    """Loss per configuration and its gradient in ``w`` (what a first-order optimiser needs).

    Parameters
    ----------
    w, counts, k
        As in :func:`histogram_loss`.

    Returns
    -------
    loss : float
    grad : numpy.ndarray of float64, shape (n_params(k),)
    """
    w = check_params(w, k)
    counts = _check_counts(counts, k)
    grad = np.zeros(n_params(k))
    # one fused pass over the histogram (numba); _loss_rows is the numpy reference it is tested against
    loss = _hk.histogram_loss_grad(counts, orbit_features(k), w, grad)
    return float(loss), grad


def histogram_loss_grad_hess(w, counts, k: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss per configuration with its gradient and Hessian in ``w``.

    Parameters
    ----------
    w, counts, k
        As in :func:`histogram_loss`.

    Returns
    -------
    loss : float
    grad : numpy.ndarray of float64, shape (n_params(k),)
    hess : numpy.ndarray of float64, shape (n_params(k), n_params(k))
        Positive semi-definite (the loss is convex). For an unweighted histogram
        of ``M`` configurations, ``M * hess`` at the optimum is the observed
        Fisher information of the data set.
    """
    w = check_params(w, k)
    return _loss_rows(w, *_compress(counts, k), order=2)


# --------------------------------------------------------------------------
# Newton fit
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class FitResult:
    """Result of :func:`fit_exact`.

    Attributes
    ----------
    params : numpy.ndarray of float64, shape (n_params(k),)
        Fitted orbit weights (order of :data:`dreamrg.patches.ORBIT_REPRESENTATIVES`).
    loss : float
        Loss per configuration at ``params``.
    n_iter : int
        Newton steps taken.
    grad_norm : float
        Max-norm of the gradient of the loss per configuration at ``params``.
    converged : bool
        Whether a stopping criterion of :func:`fit_exact` was met.
    hessian : numpy.ndarray of float64, shape (n_params(k), n_params(k))
        Hessian of the loss per configuration at ``params``. For unweighted data
        of ``M`` configurations drawn from the model, the covariance of ``params``
        is ``inv(hessian) / M``.
    """

    params: np.ndarray
    loss: float
    n_iter: int
    grad_norm: float
    converged: bool
    hessian: np.ndarray


def fit_exact(counts, k: int, w0=None, tol: float = 1e-12, max_iter: int = 100) -> FitResult:
    """Minimise the loss on a histogram by damped Newton's method.

    The loss is a convex logistic regression in ``w``; each iteration solves
    ``H d = -g`` and backtracks (Armijo, factor 1/2, with an allowance of
    ``1e-12 (1 + |loss|)`` for rounding) until the loss decreases sufficiently.

    Parameters
    ----------
    counts : array_like of float, shape (4, 2**(P*P), 2)
        Normalised histogram (:func:`pattern_histogram`).
    k : {3, 5, 7}
        Kernel size.
    w0 : array_like of float, shape (n_params(k),), optional
        Starting point (default zeros).
    tol : float
        Converged when ``max|grad| <= tol * counts.sum()`` (the gradient is
        relative to the number of fine sites per configuration, its natural
        scale), or when the Newton step satisfies
        ``max|d| <= tol * (1 + max|w|)`` (machine-precision stall).
    max_iter : int
        Maximum number of Newton steps.

    Returns
    -------
    FitResult
        ``converged`` is False if ``max_iter`` was reached, the line search
        failed, or the final Hessian is numerically singular (smallest
        eigenvalue ``<= 1e-10`` times the largest or ``<= 1e-8 * counts.sum()``)
        -- e.g. for separable data, where the loss decreases to 0 as
        ``|w| -> inf`` and no finite minimum exists.

    Raises
    ------
    ValueError
        Bad ``k``, histogram shape, negative/non-finite or all-zero counts,
        bad ``w0``, ``tol <= 0`` or ``max_iter < 0``.
    """
    k = check_kernel_size(k)
    F, cp, cm = _compress(counts, k)
    w = np.zeros(n_params(k)) if w0 is None else check_params(w0, k).copy()
    return newton(lambda x, order: _loss_rows(x, F, cp, cm, order), w, float(cp.sum() + cm.sum()), tol, max_iter)


def newton(fun, w, scale: float, tol: float = 1e-12, max_iter: int = 100) -> FitResult:
    """Damped Newton's method on a convex function of a parameter vector (the loop of :func:`fit_exact`).

    Parameters
    ----------
    fun : callable
        ``fun(w, 0)`` returns the loss, ``fun(w, 2)`` the loss, gradient and Hessian at ``w``.
    w : numpy.ndarray of float64, shape (n,)
        Starting point (not modified).
    scale : float
        Natural scale of the gradient (the number of fine sites per configuration);
        converged when ``max|grad| <= tol * scale``.
    tol, max_iter :
        As in :func:`fit_exact`, whose stopping and convergence rules this applies.
    """
    if not tol > 0:
        raise ValueError(f"tol must be > 0; got {tol}")
    max_iter = check_int(max_iter, "max_iter", 0)
    w = np.array(w, dtype=np.float64)
    f, g, H = fun(w, 2)
    converged = False
    n_iter = 0
    while True:
        if np.max(np.abs(g)) <= tol * scale:
            converged = True
            break
        if n_iter >= max_iter:
            break
        try:
            d = np.linalg.solve(H, -g)
        except np.linalg.LinAlgError:
            d = np.linalg.lstsq(H, -g, rcond=None)[0]
        n_iter += 1
        if np.max(np.abs(d)) <= tol * (1.0 + np.max(np.abs(w))):
            w = w + d
            f, g, H = fun(w, 2)
            converged = True
            break
        slope = float(g @ d)
        if not slope < 0:  # singular H with g outside its range
            d, slope = -g, -float(g @ g)
        # Armijo test with an allowance for rounding in f: near the optimum the
        # predicted decrease (~ -slope) falls below the float64 noise of a sum
        # over ~10**5 histogram rows, and an exact test would stall there.
        noise = 1e-12 * (1.0 + abs(f))
        t = 1.0
        while t > 1e-12:
            f_new = fun(w + t * d, 0)
            if f_new <= f + 1e-4 * t * slope + noise:
                break
            t *= 0.5
        else:
            break  # no decrease possible: converged = False
        w = w + t * d
        f, g, H = fun(w, 2)
    # A (numerically) singular Hessian means the minimum is not attained at a
    # finite, unique w (separable data: loss -> 0 as |w| -> inf), even though
    # the gradient has become tiny.
    ev = np.linalg.eigvalsh(H)
    if not (ev[0] > 1e-10 * ev[-1] and ev[0] > 1e-8 * scale):
        converged = False
    return FitResult(
        params=w,
        loss=f,
        n_iter=n_iter,
        grad_norm=float(np.max(np.abs(g))),
        converged=converged,
        hessian=H,
    )
