"""Plain reference twin of :mod:`dreamrg.conditioned_fit`: the pooled loss computed from the configurations.

Clarity over speed: the weights of each coupling are evaluated as the polynomial
``W(t) = Σ_d θ[d] t**d`` and the loss of its configurations by
:func:`dreamrg._exact_fit_reference.direct_loss` (explicit upsampling and ``np.roll``).
The tests compare the histogram route (:func:`dreamrg.conditioned_fit.conditioned_loss`
and its gradients, the fit) with it.
"""

from __future__ import annotations

import numpy as np

from dreamrg._exact_fit_reference import direct_loss

__all__ = ["weights_at", "direct_conditioned_loss"]


def weights_at(theta, t: float) -> np.ndarray:
    """``W(t) = Σ_d θ[d] t**d`` by Horner's rule, shape (n_orbits,)."""
    theta = np.asarray(theta, dtype=np.float64)
    w = np.zeros(theta.shape[1])
    for row in theta[::-1]:
        w = w * t + row
    return w


def direct_conditioned_loss(theta, data, k: int, fractions=None) -> float:
    """Pooled loss per configuration ``Σ_j ω_j (−Σ_a wbar_a log U(σ_a|μ_a; t_j))``, from the configurations.

    Parameters
    ----------
    theta : array_like of float, shape (D + 1, n_orbits)
    data : sequence of (t, sigma, mu) or (t, sigma, mu, log_weights)
        Configurations of each coupling: sigma (n, L, L) and mu (n, L/2, L/2), ±1.
    k : {3, 5, 7}
    fractions : sequence of float, optional
        ``ω_j``, normalised here (default equal shares).
    """
    omega = np.full(len(data), 1.0 / len(data)) if fractions is None else np.asarray(fractions, float)
    omega = omega / omega.sum()
    total = 0.0
    for wj, (t, sigma, mu, *rest) in zip(omega, data):
        total += wj * direct_loss(weights_at(theta, t), sigma, mu, k, log_weights=rest[0] if rest else None)
    return float(total)
