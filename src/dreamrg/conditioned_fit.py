"""Exact fit of the temperature-conditioned upscaler: one pattern histogram per coupling, one joint Newton fit.

Data at couplings ``K_1 .. K_n`` (``t_j = K_j/K_c − 1``) are each reduced to their
normalised (position, pattern, spin) histogram ``counts_j`` (:mod:`dreamrg.exact_fit`;
``counts_j.sum() = L**2``). With orbit weights ``W(t) = Σ_d θ[d] t**d``
(:class:`dreamrg.conditioned.ConditionedUpscaler`) the loss per configuration of the
pooled data is

    ℓ(θ) = Σ_j ω_j ℓ_j(W(t_j)),     ω_j = M_j / Σ_i M_i,

where ``ℓ_j`` is the single-layer histogram loss of coupling j (eq. 12, or eq. 13
normalised within the coupling) and ``ω_j`` the share of the configurations taken at
``K_j``. Every ``ℓ_j`` is convex in W and W is linear in θ, so ℓ is convex in θ. By the
chain rule, with ``τ_j = (1, t_j, t_j**2, ...)``,

    ∂ℓ/∂θ[d, o] = Σ_j ω_j τ_j[d] g_j[o],
    ∂²ℓ/∂θ[d, o]∂θ[d', o'] = Σ_j ω_j τ_j[d] τ_j[d'] H_j[o, o'],

with ``g_j, H_j`` the gradient and Hessian of ``ℓ_j`` at ``W(t_j)``; :func:`fit_conditioned`
minimises ℓ with the damped Newton loop of :func:`dreamrg.exact_fit.newton`.

A polynomial of degree D is determined by the data only at D + 1 distinct couplings or
more; :func:`fit_conditioned` lowers the degree to (distinct couplings − 1) and records
it (``degree_requested``). With data at a single coupling the fit is therefore exactly
the unconditioned fit :func:`dreamrg.exact_fit.fit_exact` (``θ[0]`` = its weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dreamrg import _histogram_kernels as _hk
from dreamrg._checks import check_int
from dreamrg.exact_fit import _check_counts, _loss_rows, newton
from dreamrg.patches import check_kernel_size, n_params, orbit_features

__all__ = [
    "ConditionedFit",
    "identifiable_degree",
    "conditioned_loss",
    "conditioned_loss_grad",
    "conditioned_loss_grad_hess",
    "fit_conditioned",
]


def identifiable_degree(t_values, degree: int) -> int:
    """The highest degree ≤ ``degree`` the couplings ``t_values`` determine: ``min(degree, distinct − 1)``."""
    return min(check_int(degree, "degree", 0), len(np.unique(np.asarray(t_values, dtype=np.float64))) - 1)


def _inputs(counts_list, t_list, k, fractions):
    """Shared rows (features of the patterns any coupling has), per-coupling counts, t and ω."""
    k = check_kernel_size(k)
    if len(counts_list) == 0 or len(counts_list) != len(t_list):
        raise ValueError(f"give one t per histogram (at least one); got {len(counts_list)} histograms and "
                         f"{len(t_list)} couplings")
    t = np.asarray(t_list, dtype=np.float64)
    if t.ndim != 1 or not np.all(np.isfinite(t)) or np.any(t <= -1):
        raise ValueError(f"t must be finite numbers > -1 (couplings K > 0); got {t_list!r}")
    if fractions is None:
        omega = np.full(len(t), 1.0 / len(t))
    else:
        omega = np.asarray(fractions, dtype=np.float64)
        if omega.shape != t.shape or not np.all(np.isfinite(omega)) or np.any(omega < 0) or not omega.sum() > 0:
            raise ValueError(f"fractions must be one finite weight ≥ 0 per histogram, not all zero; "
                             f"got {fractions!r}")
        omega = omega / omega.sum()
    counts = np.stack([_check_counts(c, k).reshape(-1, 2) for c in counts_list])  # (n, rows, 2)
    keep = (counts.sum(axis=(0, 2)) > 0)
    F = np.ascontiguousarray(orbit_features(k).reshape(-1, n_params(k))[keep])
    return k, F, counts[:, keep, 1].copy(), counts[:, keep, 0].copy(), t, omega


def _check_theta(theta, k: int, degree: int | None = None) -> np.ndarray:
    th = np.asarray(theta, dtype=np.float64)
    if th.ndim != 2 or th.shape[1] != n_params(k) or th.shape[0] < 1 or (degree is not None
                                                                          and th.shape[0] != degree + 1):
        want = f"({'D' if degree is None else degree} + 1, {n_params(k)})"
        raise ValueError(f"theta must have shape {want} (one row per power of t); got {th.shape}")
    if not np.all(np.isfinite(th)):
        raise ValueError("theta must be finite")
    return th


def _joint(theta_flat, F, cp, cm, t, omega, n_orb, order):
    """Loss (gradient, Hessian) of the pooled data at the flattened θ (row-major (D+1, n_orb))."""
    theta = theta_flat.reshape(-1, n_orb)
    powers = t[:, None] ** np.arange(theta.shape[0])  # (n, D+1)
    loss, grad, hess = 0.0, np.zeros_like(theta), np.zeros((theta.size, theta.size))
    for j in range(len(t)):
        out = _loss_rows(powers[j] @ theta, F, cp[j], cm[j], order)
        if order == 0:
            loss += omega[j] * out
            continue
        loss += omega[j] * out[0]
        grad += omega[j] * np.outer(powers[j], out[1])
        if order == 2:
            hess += omega[j] * np.kron(np.outer(powers[j], powers[j]), out[2])
    if order == 0:
        return loss
    return (loss, grad.reshape(-1)) if order == 1 else (loss, grad.reshape(-1), hess)


def conditioned_loss(theta, counts_list, t_list, k: int, fractions=None) -> float:
    """Loss per configuration ``ℓ(θ)`` of the pooled data (module docstring).

    Parameters
    ----------
    theta : array_like of float, shape (D + 1, n_params(k))
        ``theta[d]`` multiplies ``t**d``.
    counts_list : sequence of array_like, each of shape (4, 2**(P*P), 2)
        Normalised histogram of each coupling (:func:`dreamrg.exact_fit.pattern_histogram`).
    t_list : sequence of float
        ``t_j = K_j/K_c − 1`` of each histogram.
    k : {3, 5, 7}
    fractions : sequence of float, optional
        ``ω_j`` (normalised to sum 1 here); default equal shares.
    """
    k, F, cp, cm, t, omega = _inputs(counts_list, t_list, k, fractions)
    th = _check_theta(theta, k)
    return float(_joint(th.reshape(-1), F, cp, cm, t, omega, n_params(k), 0))


def conditioned_loss_grad(theta, counts_list, t_list, k: int, fractions=None) -> tuple[float, np.ndarray]:
    """``ℓ(θ)`` and its gradient, shape (D + 1, n_params(k)), by the fused numba pass per coupling.

    What a first-order optimiser needs (the AdamW engine of
    :func:`dreamrg.train_conditioned.train_conditioned_adamw`); :func:`conditioned_loss_grad_hess`
    (numpy) is the reference it is tested against.
    """
    k = check_kernel_size(k)
    th = _check_theta(theta, k)
    if len(counts_list) == 0 or len(counts_list) != len(t_list):
        raise ValueError("give one t per histogram (at least one)")
    omega = (np.full(len(t_list), 1.0 / len(t_list)) if fractions is None
             else np.asarray(fractions, dtype=np.float64) / np.sum(fractions))
    Fk = orbit_features(k)
    loss, grad = 0.0, np.zeros_like(th)
    for c, tj, wj in zip(counts_list, t_list, omega):
        powers = float(tj) ** np.arange(th.shape[0])
        g = np.zeros(n_params(k))
        loss += wj * _hk.histogram_loss_grad(_check_counts(c, k), Fk, powers @ th, g)
        grad += wj * np.outer(powers, g)
    return float(loss), grad


def conditioned_loss_grad_hess(theta, counts_list, t_list, k: int, fractions=None):
    """``ℓ(θ)``, gradient (D + 1, n_params(k)) and Hessian of the flattened θ (numpy, row-major)."""
    k, F, cp, cm, t, omega = _inputs(counts_list, t_list, k, fractions)
    th = _check_theta(theta, k)
    loss, grad, hess = _joint(th.reshape(-1), F, cp, cm, t, omega, n_params(k), 2)
    return float(loss), grad.reshape(th.shape), hess


@dataclass(frozen=True)
class ConditionedFit:
    """Result of :func:`fit_conditioned`.

    Attributes
    ----------
    params : numpy.ndarray of float64, shape (degree + 1, n_params(k))
        ``params[d]`` multiplies ``t**d``.
    degree : int
        Degree fitted (``degree_requested`` lowered to distinct couplings − 1 if need be).
    degree_requested : int
    t_range : tuple of float
        Smallest and largest ``t`` of the data.
    loss, n_iter, grad_norm, converged :
        As in :class:`dreamrg.exact_fit.FitResult` (loss per configuration of the pooled data).
    hessian : numpy.ndarray, shape ((degree + 1) n_params(k),) * 2
        Hessian of the flattened ``params`` (row-major). For ``M`` unweighted configurations
        in all, the covariance of the flattened ``params`` is ``inv(hessian) / M``.
    """

    params: np.ndarray
    degree: int
    degree_requested: int
    t_range: tuple[float, float]
    loss: float
    n_iter: int
    grad_norm: float
    converged: bool
    hessian: np.ndarray


def fit_conditioned(counts_list, t_list, k: int, degree: int = 1, fractions=None, theta0=None,
                    tol: float = 1e-12, max_iter: int = 100) -> ConditionedFit:
    """Minimise ``ℓ(θ)`` (module docstring) by damped Newton's method.

    Parameters
    ----------
    counts_list, t_list, k, fractions :
        As in :func:`conditioned_loss`.
    degree : int
        Requested degree in t (0..3); lowered to (distinct couplings − 1) when the data
        cannot determine more.
    theta0 : array_like, shape (degree + 1, n_params(k)), optional
        Start (of the fitted degree; default zeros).
    tol, max_iter :
        As in :func:`dreamrg.exact_fit.fit_exact` (the gradient tolerance is relative to L**2).
    """
    k, F, cp, cm, t, omega = _inputs(counts_list, t_list, k, fractions)
    requested = check_int(degree, "degree", 0, 3)
    deg = identifiable_degree(t[omega > 0], requested)
    n_orb = n_params(k)
    th0 = np.zeros((deg + 1, n_orb)) if theta0 is None else _check_theta(theta0, k, deg)
    scale = float(omega @ (cp.sum(axis=1) + cm.sum(axis=1)))
    res = newton(lambda x, order: _joint(x, F, cp, cm, t, omega, n_orb, order), th0.reshape(-1), scale,
                 tol, max_iter)
    used = t[omega > 0]
    return ConditionedFit(params=res.params.reshape(deg + 1, n_orb), degree=deg, degree_requested=requested,
                          t_range=(float(used.min()), float(used.max())), loss=res.loss, n_iter=res.n_iter,
                          grad_norm=res.grad_norm, converged=res.converged, hessian=res.hessian)
