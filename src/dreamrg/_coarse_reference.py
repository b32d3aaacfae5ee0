"""Plain NumPy reference twin of :mod:`dreamrg.coarse`.

:func:`majority_rule_numpy` is the original array implementation of the 2x2
majority rule; the tests and ``benchmarks/bench_coarse.py`` check the numba
kernels of :func:`dreamrg.coarse.majority_rule` against it bit for bit (outputs,
errors and generator use).
"""

from __future__ import annotations

import numpy as np

from dreamrg.coarse import _LN_HALF, _as_batch, _as_spins

__all__ = ["majority_rule_numpy"]


def majority_rule_numpy(sigma: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """NumPy reference twin of :func:`dreamrg.coarse.majority_rule` (the original implementation).

    Same arguments, outputs, random draws and errors (it shares the stage's input
    checks); kept for tests and benchmarks.
    """
    s = _as_spins(sigma)
    s, single, L = _as_batch(s, sigma)
    n, l = s.shape[0], L // 2
    # block sums in {-4, -2, 0, 2, 4}; int8 cannot overflow
    block = s[:, 0::2, 0::2] + s[:, 0::2, 1::2] + s[:, 1::2, 0::2] + s[:, 1::2, 1::2]
    u = rng.random((n, l, l), dtype=np.float32)
    tie = block == 0
    mu = np.where(block > 0, 1, -1).astype(np.int8)
    mu[tie & (u < 0.5)] = 1
    log_D = tie.sum(axis=(1, 2)).astype(np.float64) * _LN_HALF
    if single:
        return mu[0], log_D[0]
    return mu, log_D
