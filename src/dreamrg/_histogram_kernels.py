"""Numba kernels that reduce (fine, coarse) configuration pairs to pattern histograms.

Private module: :mod:`dreamrg.exact_fit` and :mod:`dreamrg.patches` validate
arguments, allocate the outputs and call these kernels; the kernels only compute.

Conventions
-----------
* ``sigma`` is ``int8`` with shape ``(n, L, L)``, ``mu`` is ``int8`` with shape
  ``(n, l, l)``, ``L = 2 l``; values are +1 / -1.
* Fine site ``(i, j) = (2 ci + pi, 2 cj + pj)`` sits at *position*
  ``pos = 2 pi + pj`` (``pi, pj`` in {0, 1}) of coarse block ``(ci, cj)``.
* The coarse *patch* of a fine site is the ``P x P`` block of coarse cells with
  top-left corner ``((ci + start[pi]) mod l, (cj + start[pj]) mod l)``, where
  ``start`` (length 2, one entry per parity) and ``P`` are supplied by the
  caller. Its *pattern code* is ``sum_{a,b} [mu[corner + (a, b)] == +1] << (a P + b)``
  (row-major bits, cell ``(0, 0)`` is the least significant bit, indices mod l).
* ``spin_index = 0`` for a fine spin -1 and ``1`` for +1.

Kernels take arrays and scalars only, read no module globals, and write into
arrays allocated by the caller.
"""

import numpy as np
from numba import njit, prange

__all__ = ["accumulate_pattern_counts", "site_pattern_codes", "histogram_loss_grad"]


@njit(inline="always")
def _block_codes(mu_n, P, wrap, rowcode, code):
    """Pattern code of the P x P block anchored at every coarse cell.

    Parameters
    ----------
    mu_n : numpy.ndarray of int8, shape (l, l)
        One coarse configuration (+1 / -1; anything but +1 reads as -1).
    P : int
        Patch size.
    wrap : numpy.ndarray of int64, shape (l + P,)
        ``wrap[x] = x mod l``.
    rowcode : numpy.ndarray of int64, shape (l, l)
        Scratch; on return ``rowcode[a, b0]`` holds the P-bit code of
        ``mu_n[a, b0:b0+P]`` (columns mod l, bit b for column b0 + b).
    code : numpy.ndarray of int64, shape (l, l)
        Output; ``code[a0, b0]`` is the pattern code of the block whose
        top-left cell is ``(a0, b0)``.
    """
    l = mu_n.shape[0]
    for a in range(l):
        row = mu_n[a]
        for b0 in range(l):
            c = 0
            for b in range(P):
                if row[wrap[b0 + b]] == 1:
                    c |= 1 << b
            rowcode[a, b0] = c
    for a0 in range(l):
        for b0 in range(l):
            c = 0
            for a in range(P):
                c |= rowcode[wrap[a0 + a], b0] << (a * P)
            code[a0, b0] = c


@njit
def _tables(l, P, start):
    """``wrap[x] = x mod l`` (x < l + P) and ``anchor[p, c] = (c + start[p]) mod l``."""
    wrap = np.empty(l + P, dtype=np.int64)
    for x in range(l + P):
        wrap[x] = x % l
    anchor = np.empty((2, l), dtype=np.int64)
    for p in range(2):
        for c in range(l):
            anchor[p, c] = (c + start[p] + l * P) % l
    return wrap, anchor


@njit(parallel=True)
def accumulate_pattern_counts(sigma, mu, weights, P, start, partial, n_bad):
    """Add weighted (position, pattern, spin) counts into per-chunk histograms.

    Configurations are split into ``C = partial.shape[0]`` contiguous chunks
    (chunk ``c`` holds configurations ``c*n//C`` to ``(c+1)*n//C``), processed in
    parallel (``prange`` over chunks); chunk ``c`` adds only into
    ``partial[c]``. The result is therefore independent of the number of
    threads; the caller sums ``partial`` over its first axis.

    Parameters
    ----------
    sigma : numpy.ndarray of int8, shape (n, L, L)
        Fine configurations (+1 / -1).
    mu : numpy.ndarray of int8, shape (n, l, l)
        Coarse configurations, ``L = 2 l``.
    weights : numpy.ndarray of float64, shape (n,)
        Weight added per fine site of each configuration.
    P : int
        Patch size, ``2**(P*P) == partial.shape[2]``.
    start : numpy.ndarray of int64, shape (2,)
        Patch corner offset (in coarse cells, ``>= -P``) for fine parity 0 and 1.
    partial : numpy.ndarray of float64, shape (C, 4, 2**(P*P), 2)
        Accumulated into (not zeroed): ``partial[c, pos, code, spin_index]``.
    n_bad : numpy.ndarray of int64, shape (C,)
        Accumulated into: number of fine plus coarse spins not equal to
        +1 / -1. If non-zero, ``partial`` holds garbage for this batch (an
        invalid fine spin is still counted in some bin; a coarse spin that is
        not +1 is read as -1) and the caller must discard it.
    """
    n = sigma.shape[0]
    l = mu.shape[1]
    C = partial.shape[0]
    wrap, anchor = _tables(l, P, start)
    for c in prange(C):
        rowcode = np.empty((l, l), dtype=np.int64)
        code = np.empty((l, l), dtype=np.int64)
        pc = partial[c]
        bad = 0
        for t in range((c * n) // C, ((c + 1) * n) // C):
            mu_t = mu[t]
            for a in range(l):
                for b in range(l):
                    m = mu_t[a, b]
                    if m != 1 and m != -1:
                        bad += 1
            _block_codes(mu_t, P, wrap, rowcode, code)
            w = weights[t]
            for i in range(2 * l):
                pi = i & 1
                crow = code[anchor[pi, i >> 1]]
                srow = sigma[t, i]
                for j in range(2 * l):
                    pj = j & 1
                    s = np.int64(srow[j])
                    # branchless (random spins would defeat branch prediction): an
                    # invalid spin is counted in n_bad and lands in a valid bin
                    bad += s * s != 1
                    pc[2 * pi + pj, crow[anchor[pj, j >> 1]], ((s + 1) >> 1) & 1] += w
        n_bad[c] += bad


@njit(parallel=True)
def site_pattern_codes(mu, P, start, out):
    """Pattern code of every fine site.

    Parameters
    ----------
    mu : numpy.ndarray of int8, shape (n, l, l)
        Coarse configurations (+1 / -1; anything but +1 reads as -1).
    P : int
        Patch size.
    start : numpy.ndarray of int64, shape (2,)
        Patch corner offset for fine parity 0 and 1.
    out : numpy.ndarray of int64, shape (n, 2 l, 2 l)
        Output: ``out[t, i, j]`` is the code of the patch of fine site
        ``(i, j)``; its position is ``2 (i % 2) + (j % 2)``.
    """
    n = mu.shape[0]
    l = mu.shape[1]
    wrap, anchor = _tables(l, P, start)
    for t in prange(n):
        rowcode = np.empty((l, l), dtype=np.int64)
        code = np.empty((l, l), dtype=np.int64)
        _block_codes(mu[t], P, wrap, rowcode, code)
        for i in range(2 * l):
            crow = code[anchor[i & 1, i >> 1]]
            for j in range(2 * l):
                out[t, i, j] = crow[anchor[j & 1, j >> 1]]


@njit(cache=True)
def histogram_loss_grad(counts, F, w, grad):
    """Loss ``sum counts * softplus(-2 s F.w)`` over a (position, pattern, spin) histogram; gradient into ``grad``.

    ``counts`` is float64 ``(4, npat, 2)``, ``F`` float64 ``(4, npat, n_params)``,
    ``w`` float64 ``(n_params,)``; ``grad`` (zeroed by the caller) receives the
    gradient. Rows with zero counts are skipped. One sequential pass, so the result
    does not depend on the number of threads. Returns the loss.
    """
    npos, npat, no = F.shape
    loss = 0.0
    for pos in range(npos):
        for code in range(npat):
            cm = counts[pos, code, 0]
            cp = counts[pos, code, 1]
            if cm == 0.0 and cp == 0.0:
                continue
            h2 = 0.0
            for o in range(no):
                h2 += F[pos, code, o] * w[o]
            h2 *= 2.0
            sp = max(h2, 0.0) + np.log1p(np.exp(-abs(h2)))  # softplus(h2) = -log p(down)
            loss += cp * (sp - h2) + cm * sp                 # softplus(-h2) = softplus(h2) - h2
            if h2 >= 0.0:
                p_up = 1.0 / (1.0 + np.exp(-h2))
            else:
                e = np.exp(h2)
                p_up = e / (1.0 + e)
            g = 2.0 * (cm * p_up - cp * (1.0 - p_up))
            for o in range(no):
                grad[o] += g * F[pos, code, o]
    return loss
