"""Plain-numpy twins of the MCRG kernels (slow; for tests, runtime checks and benchmarks).

* :func:`operators_reference` -- the operators by ``np.roll`` products, the twin
  of :func:`dreamrg.mcrg.operators` (bit-packed kernel).
* :func:`correlations_reference` -- the connected correlation matrices by
  ``np.cov``, the twin of :meth:`dreamrg.mcrg.MCRGAccumulator.correlations`
  (moments accumulated by :func:`dreamrg._mcrg_kernels.accumulate_moments`).

The twins live inside the ``mcrg`` package (not beside it as ``_mcrg_reference``)
because they read the operator table of :mod:`dreamrg.mcrg.spin_operators`; a
module there stays in the stage's own layer.
"""

from __future__ import annotations

import numpy as np

from dreamrg.mcrg.spin_operators import OPERATORS, _as_config_batch, _check_basis

__all__ = ["operators_reference", "correlations_reference"]


def operators_reference(sigma, basis: str = "classes") -> np.ndarray:
    """Plain-numpy twin of :func:`dreamrg.mcrg.operators` (``np.roll`` products; slow, for tests).

    Parameters
    ----------
    sigma : array_like, shape (n, L, L) or (L, L)
        Spins ±1, ``L ≥ 3``.
    basis : {"classes", "oriented"}
        As in :func:`dreamrg.mcrg.operators`.

    Returns
    -------
    numpy.ndarray of int64, shape (n, 36) or (n, 158) (or one row)
        Same values as :func:`dreamrg.mcrg.operators`.
    """
    m = _check_basis(basis)
    single = np.ndim(sigma) == 2
    s = _as_config_batch(sigma).astype(np.int64)
    out = np.zeros((s.shape[0], m), dtype=np.int64)
    j = 0
    for op in OPERATORS:
        for o in op.orientations:
            prod = np.ones_like(s)
            for dy, dx in o:
                # rolled[..., y, x] = s[..., (y + dy) % L, (x + dx) % L]
                prod = prod * np.roll(s, shift=(-dy, -dx), axis=(-2, -1))
            out[:, op.index if basis == "classes" else j] += prod.sum(axis=(-2, -1))
            j += 1
    return out[0] if single else out


def correlations_reference(fine_ops, coarse_ops) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected correlations of operator values by ``np.cov`` (twin of ``MCRGAccumulator.correlations``).

    Parameters
    ----------
    fine_ops, coarse_ops : array_like of int, shape (n, m)
        ``S(σ)`` and ``S(μ)`` of the same ``n`` configurations.

    Returns
    -------
    N, M, F : numpy.ndarray of float64, shape (m, m)
        Cross-level ``cov(S(μ), S(σ))``, coarse-level ``cov(S(μ), S(μ))`` and
        fine-level ``cov(S(σ), S(σ))``, normalised by ``1/n``.
    """
    f = np.asarray(fine_ops, dtype=np.float64)
    c = np.asarray(coarse_ops, dtype=np.float64)
    m = f.shape[1]
    both = np.cov(np.concatenate([c, f], axis=1), rowvar=False, bias=True)
    return both[:m, m:], both[:m, :m], both[m:, m:]
