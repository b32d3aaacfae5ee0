"""Plain numpy reference twins of :mod:`dreamrg.exact_fit`.

Clarity over speed: :func:`local_field` upsamples explicitly and sums ``np.roll``
copies, :func:`direct_loss` evaluates the loss per configuration from the
configurations themselves. The tests compare the histogram route
(:func:`dreamrg.exact_fit.histogram_loss`, :func:`dreamrg.exact_fit.fit_exact`)
with them, and ``benchmarks/bench_exact_fit.py`` times it against them.
"""

from __future__ import annotations

import numpy as np

from dreamrg.exact_fit import _check_pair, _log_weights
from dreamrg.patches import check_params, kernel_from_params

__all__ = ["local_field", "direct_loss"]


def local_field(w, mu, k: int) -> np.ndarray:
    """Local fields of the upscaler by explicit upsampling and ``np.roll`` (reference).

    Parameters
    ----------
    w : array_like of float, shape (n_params(k),)
        Orbit parameters.
    mu : array_like of int8, shape (n, l, l)
        Coarse configurations (±1).
    k : {3, 5, 7}
        Kernel size.

    Returns
    -------
    numpy.ndarray of float64, shape (n, 2 l, 2 l)
        ``h[t, i, j] = sum_{di, dj} W[di, dj] sigma_tilde[t, (i + di) mod L,
        (j + dj) mod L]``; ``p(sigma_ij = +1 | mu) = sigmoid(2 h)``.
    """
    W = kernel_from_params(w, k)
    r = (k - 1) // 2
    mu = np.asarray(mu)
    if mu.ndim != 3 or mu.shape[1] != mu.shape[2]:
        raise ValueError(f"mu must have shape (n, l, l); got {mu.shape}")
    st = np.repeat(np.repeat(mu.astype(np.float64), 2, axis=1), 2, axis=2)
    h = np.zeros_like(st)
    for di in range(-r, r + 1):
        for dj in range(-r, r + 1):
            h += W[di + r, dj + r] * np.roll(st, (-di, -dj), axis=(1, 2))
    return h


def direct_loss(w, sigma, mu, k: int, weights=None, *, log_weights=None, batch: int = 1024) -> float:
    """Loss per configuration computed directly from configurations (reference twin).

    Parameters
    ----------
    w : array_like of float, shape (n_params(k),)
        Orbit parameters.
    sigma : array_like of int8, shape (n, L, L)
        Fine configurations (±1), ``n >= 1``.
    mu : array_like of int8, shape (n, L/2, L/2)
        Coarse configurations (±1).
    k : {3, 5, 7}
        Kernel size.
    weights, log_weights : array_like of float, shape (n,), optional
        Per-configuration weights ``D_a`` or their logarithms (at most one).
    batch : int
        Configurations processed at once (memory bound only).

    Returns
    -------
    float
        ``-sum_a wbar_a sum_ij log p(sigma_a,ij | mu_a)`` with
        ``-log p = softplus(-2 sigma h)`` and ``wbar_a = D_a / sum_b D_b``
        (``1/M`` unweighted): eq. (12), or eq. (13) normalised.
    """
    w = check_params(w, k)
    sigma, mu = _check_pair(sigma, mu)
    n = sigma.shape[0]
    lw = _log_weights(n, weights, log_weights)
    if n == 0 or not np.any(np.isfinite(lw)):
        raise ValueError("empty data set: no configurations with non-zero weight")
    wbar = np.exp(lw - lw.max())
    wbar /= wbar.sum()
    per_config = np.empty(n)
    for s in range(0, n, batch):
        h = local_field(w, mu[s : s + batch], k)
        per_config[s : s + batch] = np.logaddexp(0.0, -2.0 * sigma[s : s + batch] * h).sum(axis=(1, 2))
    return float(wbar @ per_config)
