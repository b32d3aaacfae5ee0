"""Plain-numpy twins of the MCRG kernels (slow; for tests, runtime checks and benchmarks).

* :func:`operators_reference` -- the operators by ``np.roll`` (or slice) products, the twin
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

from dreamrg.mcrg.authors_basis import AUTHORS_OFFSETS
from dreamrg.mcrg.spin_operators import OPERATORS, ORIENTED, _as_config_batch, check_boundary, get_basis

__all__ = ["operators_reference", "correlations_reference"]


def operators_reference(sigma, basis: str = "symmetrised", boundary: str = "periodic") -> np.ndarray:
    """Plain-numpy twin of :func:`dreamrg.mcrg.operators` (``np.roll`` or slice products; slow, for tests).

    Parameters
    ----------
    sigma : array_like, shape (n, L, L) or (L, L)
        Spins ±1, ``L ≥ 3``.
    basis : {"symmetrised", "oriented", "authors"}
    boundary : {"periodic", "open"}
        As in :func:`dreamrg.mcrg.operators`.

    Returns
    -------
    numpy.ndarray of int64, shape (n, m) (or one row)
        Same values as :func:`dreamrg.mcrg.operators`. The products are taken
        from the definitions (:data:`OPERATORS`, :data:`ORIENTED`,
        :data:`~dreamrg.mcrg.authors_basis.AUTHORS_OFFSETS`), not from the kernel's term table.
    """
    b = get_basis(basis)
    check_boundary(boundary)
    single = np.ndim(sigma) == 2
    s = _as_config_batch(sigma).astype(np.int64)
    L = s.shape[-1]
    if basis == "symmetrised":
        products = [(op.index, o) for op in OPERATORS for o in op.orientations]
    elif basis == "oriented":
        products = [(j, o) for j, (_, o) in enumerate(ORIENTED)]
    else:
        products = list(enumerate(AUTHORS_OFFSETS))
    out = np.zeros((s.shape[0], b.n_ops), dtype=np.int64)
    for a, sites in products:
        prod = np.ones_like(s)
        if boundary == "periodic":
            for dy, dx in sites:
                # rolled[..., y, x] = s[..., (y + dy) % L, (x + dx) % L]
                prod = prod * np.roll(s, shift=(-dy, -dx), axis=(-2, -1))
        else:
            y0, x0 = min(y for y, _ in sites), min(x for _, x in sites)
            ey, ex = max(y for y, _ in sites) - y0, max(x for _, x in sites) - x0
            prod = prod[..., : L - ey, : L - ex]
            for dy, dx in sites:
                # anchors (y, x) with y < L - ey, x < L - ex: the site is s[y + dy - y0, x + dx - x0]
                prod = prod * s[..., dy - y0: dy - y0 + L - ey, dx - x0: dx - x0 + L - ex]
        out[:, a] += prod.sum(axis=(-2, -1))
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
