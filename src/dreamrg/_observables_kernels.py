"""Numba kernel: magnetisation and energy of bit-packed configurations, without unpacking them in memory.

Private module: :func:`dreamrg.observables.store_accumulator` calls it on the
chunks of a store; :func:`dreamrg.observables.magnetization_energy` (numpy, on
unpacked spins) is its plain reference twin.

Conventions as in :mod:`dreamrg.observables` and :mod:`dreamrg.store`: ``packed``
holds ``numpy.packbits`` of the 0/1 occupation along each row (big-endian bits,
1 = spin up), shape ``(n, L, ceil(L/8))``; ``M = Σ_i σ_i`` and
``E = Σ_<ij> σ_i σ_j`` over the ``2 L²`` bonds right ``(y, x)–(y, x+1)`` and down
``(y, x)–(y+1, x)`` of the torus (for L = 2 each pair twice, as ``np.roll`` counts).
"""

import numpy as np
from numba import njit, prange

__all__ = ["packed_m_e"]


@njit(inline="always")
def _unpack_row(src, L, dst):
    """Row of packed bytes ``src`` (uint8) into ±1 spins ``dst`` (int64, length L)."""
    for x in range(L):
        bit = (src[x >> 3] >> (7 - (x & 7))) & 1
        dst[x] = 2 * np.int64(bit) - 1


@njit(parallel=True, cache=True)
def packed_m_e(packed, L, M, E):
    """Integer magnetisation and energy of each packed configuration.

    Parameters
    ----------
    packed : numpy.ndarray of uint8, shape (n, L, ceil(L/8))
        Bit-packed configurations (see the module docstring).
    L : int
        Linear size (``>= 2``).
    M, E : numpy.ndarray of int64, shape (n,)
        Receive ``Σ σ`` and ``Σ_<ij> σσ`` of each configuration.
    """
    n = packed.shape[0]
    for k in prange(n):
        first = np.empty(L, np.int64)
        prev = np.empty(L, np.int64)
        cur = np.empty(L, np.int64)
        m = 0
        e = 0
        for y in range(L):
            _unpack_row(packed[k, y], L, cur)
            for x in range(L):
                s = cur[x]
                m += s
                e += s * cur[x + 1 if x + 1 < L else 0]
            if y == 0:
                first[:] = cur
            else:
                for x in range(L):
                    e += prev[x] * cur[x]
            prev[:] = cur
        for x in range(L):
            e += prev[x] * first[x]
        M[k] = m
        E[k] = e
