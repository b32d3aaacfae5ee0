"""Numba kernels of the 2x2 majority rule (:func:`dreamrg.coarse.majority_rule`).

Private module: :mod:`dreamrg.coarse` validates the shapes, draws the
tie-breaking random numbers with NumPy and allocates every output; the kernels
here only compute.

Conventions
-----------
* ``s`` is a C-contiguous ``int8`` array of shape ``(n, L, L)``, ``L`` even,
  ``l = L // 2``; block ``(I, J)`` of configuration ``a`` holds the four spins
  ``s[a, 2I:2I+2, 2J:2J+2]``.
* The work is split in two passes so that the caller can reject bad spin
  values *before* it draws any random number (the generator is then left
  untouched, as with the NumPy reference):

  1. :func:`block_signs` writes the sign of every block sum into ``mu``
     (+1, -1, or 0 for a tie), counts the ties of every configuration (and
     writes ``ties * ln ½``) and reports whether any spin differs from ±1;
  2. :func:`break_ties` (float32 uniforms) replaces every 0 of the flattened
     ``mu`` by +1 or -1.

* Spin check: an ``int8`` spin ``x`` is ±1 iff ``(x + 1) & ~2 == 0`` in 8-bit
  arithmetic (``x + 1`` is then 0 or 2). The block sum of four ±1 spins lies
  in ``{-4, -2, 0, 2, 4}`` and fits in ``int8``; it is only trusted when the
  check passes.
* Tie rule: a tie goes up iff the float32 uniform of its block is ``< 0.5``.

Kernels take only arrays and scalars, read no module globals, write into
caller-allocated arrays, and are compiled with ``cache=True``.
"""

import numpy as np
from numba import njit

__all__ = ["block_signs", "break_ties"]


@njit(cache=True)
def block_signs(s, mu, log_D, ln_half):
    """Block-sum signs and ``log D`` (tie count times ln ½) of every configuration.

    Parameters
    ----------
    s : numpy.ndarray of int8, shape (n, L, L), C-contiguous
        Spins; values other than ±1 are detected, not trusted.
    mu : numpy.ndarray of int8, shape (n, L/2, L/2)
        Output: +1 / -1 for a clear majority, 0 for a tied block.
    log_D : numpy.ndarray of float64, shape (n,)
        Output: ``float(ties) * ln_half``, ``ties`` the number of tied blocks
        of the configuration (the same rounding as NumPy's
        ``ties.astype(float64) * ln_half``).
    ln_half : float
        ``ln ½``.

    Returns
    -------
    bool
        True iff some spin of ``s`` is neither +1 nor -1 (``mu`` and ``log_D``
        are then meaningless).
    """
    l = mu.shape[1]
    one = np.int8(1)
    not2 = np.int8(-3)  # 0xFD
    bad = np.int8(0)
    for a in range(s.shape[0]):
        t = 0
        for I in range(l):
            r0 = s[a, 2 * I]
            r1 = s[a, 2 * I + 1]
            m = mu[a, I]
            for J in range(l):
                x0 = r0[2 * J]
                x1 = r0[2 * J + 1]
                y0 = r1[2 * J]
                y1 = r1[2 * J + 1]
                bad |= (np.int8(x0 + one) | np.int8(x1 + one) | np.int8(y0 + one) | np.int8(y1 + one)) & not2
                b = np.int8(x0 + x1 + y0 + y1)
                m[J] = np.int8(b > 0) - np.int8(b < 0)
                t += b == 0
        log_D[a] = np.float64(t) * ln_half
    return bad != 0


@njit(cache=True, inline="always")
def _break_range(mu, u, k0, cnt, j0):
    """Ties of ``mu[k0 : k0 + cnt]`` from the uniforms ``u[j0 : j0 + cnt]``."""
    half = np.float32(0.5)
    for i in range(cnt):
        v = mu[k0 + i]
        t = np.int8(1) if u[j0 + i] < half else np.int8(-1)
        mu[k0 + i] = t if v == 0 else v


@njit(cache=True)
def break_ties(mu, u):
    """Resolve ties in place from float32 uniforms.

    Parameters
    ----------
    mu : numpy.ndarray of int8, 1-D
        Block signs (+1, -1, 0 = tie), e.g. the flattened output of
        :func:`block_signs`. Every 0 becomes +1 if the uniform of its block is
        ``< 0.5``, else -1; ±1 are left alone.
    u : numpy.ndarray of float32, 1-D, same length as ``mu``
        One uniform per block, in the same order.
    """
    _break_range(mu, u, 0, mu.shape[0], 0)
