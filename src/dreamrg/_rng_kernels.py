"""The pseudo-random generator of the numba kernels: xoshiro256** streams seeded with splitmix64.

Private module, shared by :mod:`dreamrg._mc_kernels` (Monte Carlo) and
:mod:`dreamrg._dream_kernels` (dreaming); numba kernels in those modules inline
:func:`xoshiro_next`.

* xoshiro256** (Blackman & Vigna): a state of four ``uint64`` words, advanced
  in place by :func:`xoshiro_next`, one 64-bit output per step. An all-zero
  state is a fixed point (it outputs zeros forever); a caller must never pass one.
* splitmix64 (:func:`splitmix64_mix`, :func:`seed_states`): chain ``c`` of a
  batch with 64-bit key ``K`` takes outputs ``4 (first + c)`` to
  ``4 (first + c) + 3`` of the splitmix64 stream started at ``K``. splitmix64 is
  a bijection of its counter, so the four words are distinct and the state is
  never all zero. (The Monte Carlo chains are seeded by the caller from
  ``numpy.random.SeedSequence`` instead.)

Kernels take arrays and scalars only, read no module globals and write into
arrays allocated by the caller. numba's on-disk cache (``cache=True``) of a
calling kernel is keyed on the caller's own source file: after changing this
module, clear the ``__pycache__`` of the kernels that inline it.
"""

import numpy as np
from numba import njit

__all__ = ["xoshiro_next", "splitmix64_mix", "seed_states"]


@njit(inline="always")
def xoshiro_next(s0, s1, s2, s3):
    """Advance xoshiro256** by one step.

    Parameters
    ----------
    s0, s1, s2, s3 : numpy.uint64
        The four state words.

    Returns
    -------
    out : numpy.uint64
        The 64-bit output.
    s0, s1, s2, s3 : numpy.uint64
        The new state words.
    """
    x = s1 * np.uint64(5)
    r = ((x << np.uint64(7)) | (x >> np.uint64(57))) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    return r, s0, s1, s2, s3


@njit(inline="always")
def splitmix64_mix(z):
    """The splitmix64 output function (a bijection of ``uint64``)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def seed_states(key, first, out):
    """Per-chain xoshiro256** states from a batch key with splitmix64.

    Parameters
    ----------
    key : numpy.uint64
        64-bit batch key.
    first : int
        Global index of the first chain (``>= 0``).
    out : numpy.ndarray of uint64, shape (n, 4)
        Output: ``out[c, w] = mix(key + (4 (first + c) + w + 1) * GAMMA)``
        with ``GAMMA = 0x9E3779B97F4A7C15`` (wrapping arithmetic), i.e. words
        ``4 (first + c) .. 4 (first + c) + 3`` of the splitmix64 stream seeded
        with ``key``. The four words of a row are distinct, hence never all zero.
    """
    gamma = np.uint64(0x9E3779B97F4A7C15)
    key = np.uint64(key)
    for c in range(out.shape[0]):
        base = np.uint64(4) * np.uint64(first + c)
        for w in range(4):
            x = key + (base + np.uint64(w + 1)) * gamma
            out[c, w] = splitmix64_mix(x)
