"""Numba kernels for dreaming: single-layer threshold tables, two-layer offset tables.

Private module: :mod:`dreamrg.sampler` validates arguments, builds the
threshold table, allocates outputs and seeds the per-chain PRNG states; these
kernels only compute.

Conventions
-----------
* Spins are ``int8`` +1 / -1. A coarse configuration ``mu`` has shape
  ``(l, l)``; its upscaled configuration ``sigma`` has shape ``(2l, 2l)``.
  Fine site ``(i, j) = (2 ci + pi, 2 cj + pj)`` has *position*
  ``pos = 2 pi + pj``.
* The *patch* of a fine site is the ``P x P`` block of coarse cells whose
  top-left corner is ``((ci + start[pi]) mod l, (cj + start[pj]) mod l)``; its
  pattern code has bit ``a P + b`` set when patch cell ``(a, b)`` is +1 (the
  convention of :func:`dreamrg.patches.site_patterns`). Indices are taken
  modulo ``l``, which is exact at every ``l >= 1``. The kernels require
  ``start[1] - start[0]`` in ``{0, 1}`` (true for k = 3, 5, 7).
* ``thr`` is a ``uint32`` table of shape ``(4, 2**(P*P))``; the fine spin is
  +1 iff a uniform 32-bit word is ``< thr[pos, code]``, i.e. with probability
  ``thr / 2**32``. A threshold ``2**32`` is not representable, so
  ``p = 1`` is realised as ``1 - 2**-32`` (see :func:`dreamrg.sampler.threshold_table`).
* Randomness: xoshiro256** (:func:`dreamrg._rng_kernels.xoshiro_next`). Chain
  ``c`` owns row ``rng_state[c]`` (4 ``uint64`` words, never all zero),
  advanced in place. One 64-bit output yields the two fine spins of a block
  row: the high 32 bits decide ``pj = 0``, the low 32 bits ``pj = 1``. A
  chain's output depends only on its own input and state, never on the number
  of threads or on how chains are grouped in chunks.
* Seeding: :func:`dreamrg._rng_kernels.seed_states` (splitmix64 from a
  64-bit batch key; chain ``c``'s state depends only on the key and ``c``).
* Magnetisation and energy: ``M = sum_i s_i``, ``E = sum_<ij> s_i s_j`` over the
  ``2 L**2`` bonds right and down with periodic wrap (as ``np.roll`` sums): for
  ``L = 1`` the single site is its own neighbour twice, ``E = 2``; for ``L = 2``
  every neighbouring pair is bonded twice.

Pattern codes are computed incrementally, per chain and level: for every
coarse row ``a`` the ``P``-bit row codes ``rowcode[a, x]`` (cells ``x + start[0]
.. x + start[0] + P - 1``, mod l) are built with ``P`` vectorisable passes over a
bit row; a single row ``trow`` of full patch codes is then slid down the
lattice, ``trow = (trow >> P) | (rowcode[new row] << P (P - 1))``, as the fine
row index advances (the patch's top row ``ci + start[pi]`` is non-decreasing
in ``i``). Workspace per chunk of chains: ``l (l + 1)`` bytes of row codes and
``l + 1`` ``uint32`` patch codes.

Kernels take arrays and scalars only, read no module globals, write into
arrays allocated by the caller (apart from small per-chunk workspace), and are
compiled with ``cache=True``.
"""

import numpy as np
from numba import njit, prange

from dreamrg._rng_kernels import xoshiro_next

__all__ = ["random_spins", "upscale_level", "magnetisation_energy", "dream", "two_layer_logits",
           "sample_logits"]


# --------------------------------------------------------------------------
# Start spins
# --------------------------------------------------------------------------
@njit(parallel=True, cache=True)
def random_spins(rng_state, out):
    """Independent ±1 spins with probability ½ each, from each chain's stream.

    Parameters
    ----------
    rng_state : numpy.ndarray of uint64, shape (n, 4)
        Per-chain xoshiro256** states, advanced in place (one output per spin).
    out : numpy.ndarray of int8, shape (n, L, L)
        Output: spin ``+1`` when the top bit of the chain's next 64-bit output
        is set, row-major order.
    """
    n = out.shape[0]
    L = out.shape[1]
    for c in prange(n):
        s0 = rng_state[c, 0]
        s1 = rng_state[c, 1]
        s2 = rng_state[c, 2]
        s3 = rng_state[c, 3]
        for i in range(L):
            for j in range(L):
                r, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
                out[c, i, j] = np.int8(1) if (r >> np.uint64(63)) != np.uint64(0) else np.int8(-1)
        rng_state[c, 0] = s0
        rng_state[c, 1] = s1
        rng_state[c, 2] = s2
        rng_state[c, 3] = s3


# --------------------------------------------------------------------------
# Observables
# --------------------------------------------------------------------------
@njit(inline="always")
def _mag_energy(x):
    """``(M, E)`` of one ``(L, L)`` configuration (``2 L**2`` periodic bonds)."""
    L = x.shape[0]
    m = 0
    e = 0
    for i in range(L):
        r = x[i]
        dn = x[i + 1] if i + 1 < L else x[0]
        mr = np.int32(0)
        er = np.int32(0)
        for j in range(L - 1):
            a = np.int32(r[j])
            mr += a
            er += a * (np.int32(r[j + 1]) + np.int32(dn[j]))
        a = np.int32(r[L - 1])
        mr += a
        er += a * (np.int32(r[0]) + np.int32(dn[L - 1]))
        m += mr
        e += er
    return m, e


@njit(parallel=True, cache=True)
def magnetisation_energy(x, M, E):
    """Integer magnetisation and energy of a batch of configurations.

    Parameters
    ----------
    x : numpy.ndarray of int8, shape (n, L, L)
        ±1 configurations.
    M, E : numpy.ndarray of int64, shape (n,)
        Outputs: ``M = sum s``, ``E = sum_<ij> s_i s_j`` over the bonds right and
        down with periodic wrap (``E = 2`` for ``L = 1``).
    """
    for c in prange(x.shape[0]):
        m, e = _mag_energy(x[c])
        M[c] = m
        E[c] = e


# --------------------------------------------------------------------------
# One chain, one level
# --------------------------------------------------------------------------
@njit(inline="always")
def _upscale_one(thr, P, st0, st1, mu, out, rng_state, c, rowcode, trow, bits):
    """Sample ``out`` (2l, 2l) given ``mu`` (l, l) for chain ``c``.

    ``rowcode`` (>= l x (l + 1) uint8), ``trow`` (>= l + 1 uint32) and ``bits``
    (>= l + P + 1 uint8) are workspace.
    """
    l = mu.shape[0]
    d = st1 - st0
    W = l + d
    off = st0 % l  # Python-style modulo: in [0, l)
    # row codes: rowcode[a, x] = sum_b [mu[a, (x + st0 + b) mod l] == +1] << b
    for a in range(l):
        row = mu[a]
        y = off
        for x in range(W + P - 1):
            bits[x] = np.uint8(1) if row[y] == 1 else np.uint8(0)
            y += 1
            if y == l:
                y = 0
        rc = rowcode[a]
        for x in range(W):
            rc[x] = bits[x]
        for b in range(1, P):
            for x in range(W):
                rc[x] |= bits[x + b] << b
    # patch codes of the patch whose top row is `cur` (unwrapped)
    cur = st0
    for x in range(W):
        trow[x] = 0
    a = off
    for k in range(P):
        sh = k * P
        rc = rowcode[a]
        for x in range(W):
            trow[x] |= np.uint32(np.uint32(rc[x]) << sh)
        a += 1
        if a == l:
            a = 0
    # `a` is now the (wrapped) coarse row entering the patch on the next advance
    top = P * (P - 1)
    s0 = rng_state[c, 0]
    s1 = rng_state[c, 1]
    s2 = rng_state[c, 2]
    s3 = rng_state[c, 3]
    mask = np.uint64(0xFFFFFFFF)
    for ci in range(l):
        for pi in range(2):
            u = ci + (st0 if pi == 0 else st1)
            while cur < u:
                rc = rowcode[a]
                for x in range(W):
                    trow[x] = np.uint32((trow[x] >> P) | (np.uint32(rc[x]) << top))
                cur += 1
                a += 1
                if a == l:
                    a = 0
            t0 = thr[2 * pi]
            t1 = thr[2 * pi + 1]
            o = out[2 * ci + pi]
            for cj in range(l):
                r, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
                o[2 * cj] = np.int8(1) if (r >> np.uint64(32)) < t0[trow[cj]] else np.int8(-1)
                o[2 * cj + 1] = np.int8(1) if (r & mask) < t1[trow[cj + d]] else np.int8(-1)
    rng_state[c, 0] = s0
    rng_state[c, 1] = s1
    rng_state[c, 2] = s2
    rng_state[c, 3] = s3


@njit(parallel=True, cache=True)
def upscale_level(thr, P, start, mu, rng_state, out, n_chunks):
    """One upscaling step for a batch of chains.

    Parameters
    ----------
    thr : numpy.ndarray of uint32, shape (4, 2**(P*P))
        Threshold table: fine spin +1 iff a uniform 32-bit word is
        ``< thr[pos, code]``.
    P : int
        Patch size ``(k + 1) / 2``.
    start : numpy.ndarray of int64, shape (2,)
        Patch corner offsets per parity, ``start[1] - start[0]`` in {0, 1}.
    mu : numpy.ndarray of int8, shape (n, l, l)
        Coarse configurations (+1 / -1; anything but +1 reads as -1).
    rng_state : numpy.ndarray of uint64, shape (n, 4)
        Per-chain xoshiro256** states, advanced in place (``l**2`` outputs per chain).
    out : numpy.ndarray of int8, shape (n, 2 l, 2 l)
        Output fine configurations.
    n_chunks : int
        Number of parallel work units (``prange``); does not affect the result.
    """
    n = mu.shape[0]
    l = mu.shape[1]
    st0 = start[0]
    st1 = start[1]
    for ch in prange(n_chunks):
        rowcode = np.empty((l, l + 1), dtype=np.uint8)
        trow = np.empty(l + 1, dtype=np.uint32)
        bits = np.empty(l + P + 1, dtype=np.uint8)
        for c in range((ch * n) // n_chunks, ((ch + 1) * n) // n_chunks):
            _upscale_one(thr, P, st0, st1, mu[c], out[c], rng_state, c, rowcode, trow, bits)


# --------------------------------------------------------------------------
# A whole dream
# --------------------------------------------------------------------------
@njit(parallel=True, cache=True)
def dream(thr, level_table, P, start, init, rng_state, n_up, final_flat, scratch_flat, M, E, n_chunks):
    """Upscale a batch ``n_up`` times, level by level, recording M and E.

    All chains are taken to level 1, then all to level 2, and so on, so the
    threshold table of the level stays in cache. Level ``t`` (``L_t = 2**t L0``) is stored in
    ``final_flat`` when ``n_up - t`` is even and in ``scratch_flat`` otherwise, so
    consecutive levels never share memory and the last lands in ``final_flat``.

    Parameters
    ----------
    thr : numpy.ndarray of uint32, shape (n_tables, 4, 2**(P*P))
        Threshold tables (as in :func:`upscale_level`, one per distinct model).
    level_table : numpy.ndarray of int64, shape (n_up,)
        Level ``t`` is drawn with ``thr[level_table[t - 1]]`` (all zeros: one model at
        every level; ``arange(n_up)``: a table per level, e.g. a temperature-conditioned
        model at each level's coupling).
    P, start :
        As in :func:`upscale_level`.
    init : numpy.ndarray of int8, shape (n, L0, L0)
        Start configurations (level 0).
    rng_state : numpy.ndarray of uint64, shape (n, 4)
        Per-chain xoshiro256** states, advanced in place.
    n_up : int
        Number of upscalings (``>= 1``).
    final_flat : numpy.ndarray of int8, shape (>= n * L**2,)
        Output: the first ``n L**2`` entries hold the final configurations
        ``(n, L, L)``, ``L = 2**n_up L0``, C order. Also used as workspace.
    scratch_flat : numpy.ndarray of int8, shape (>= n * (L/2)**2,)
        Workspace.
    M, E : numpy.ndarray of int64, shape (n, n_up + 1)
        Outputs: magnetisation and energy of every chain at every level,
        column ``t`` for size ``2**t L0`` (column 0: the start).
    n_chunks : int
        Number of parallel work units; does not affect the result.
    """
    n = init.shape[0]
    L0 = init.shape[1]
    st0 = start[0]
    st1 = start[1]
    for c in prange(n):
        m, e = _mag_energy(init[c])
        M[c, 0] = m
        E[c, 0] = e
    l = L0
    src = init
    for t in range(1, n_up + 1):
        L = 2 * l
        if (n_up - t) % 2 == 0:
            dst = final_flat[: n * L * L].reshape((n, L, L))
        else:
            dst = scratch_flat[: n * L * L].reshape((n, L, L))
        tab = thr[level_table[t - 1]]
        for ch in prange(n_chunks):
            rowcode = np.empty((l, l + 1), dtype=np.uint8)
            trow = np.empty(l + 1, dtype=np.uint32)
            bits = np.empty(l + P + 1, dtype=np.uint8)
            for c in range((ch * n) // n_chunks, ((ch + 1) * n) // n_chunks):
                _upscale_one(tab, P, st0, st1, src[c], dst[c], rng_state, c, rowcode, trow, bits)
                m, e = _mag_energy(dst[c])
                M[c, t] = m
                E[c, t] = e
        src = dst
        l = L


# --------------------------------------------------------------------------
# Two-layer network: logits from per-offset tables, then sampling
# --------------------------------------------------------------------------
@njit(parallel=True, cache=True)
def two_layer_logits(G, b2, codes, k, out):
    """Logits of a two-layer network from its per-offset tables.

    Parameters
    ----------
    G : numpy.ndarray of float64, shape (k*k, 4, 2**(P*P))
        ``G[a k + b, pos, code]``: the contribution of a hidden site at offset
        ``(a - r, b - r)`` (``r = k // 2``) whose position is ``pos`` and whose
        first-layer patch has pattern ``code``.
    b2 : float
        Bias of the second layer.
    codes : numpy.ndarray of int64, shape (n, L, L)
        First-layer patch code of every fine site (``L`` even).
    k : int
        Kernel size.
    out : numpy.ndarray of float64, shape (n, L, L)
        Output: ``out[c, i, j] = b2 + sum_{a, b} G[a k + b, pos(i'), codes[c, i', j']]``
        with ``i' = (i + a - r) mod L``, ``j' = (j + b - r) mod L``.
    """
    n = codes.shape[0]
    L = codes.shape[1]
    r = k // 2
    for c in prange(n):
        for i in range(L):
            for j in range(L):
                out[c, i, j] = b2
    jdx = np.empty((k, L), dtype=np.int64)
    for b in range(k):
        for j in range(L):
            jdx[b, j] = (j + b - r) % L
    # offsets outside, chains inside: one offset's table (4 x 2**(P*P) doubles, 2 MiB at k = 7)
    # stays in cache for the whole batch (4.7x faster than chains outside, measured at L = 128)
    for a in range(k):
        for b in range(k):
            g = G[a * k + b]
            jb = jdx[b]
            for c in prange(n):
                cc = codes[c]
                z = out[c]
                for i in range(L):
                    ii = (i + a - r) % L
                    g0 = g[2 * (ii & 1)]
                    g1 = g[2 * (ii & 1) + 1]
                    crow = cc[ii]
                    zr = z[i]
                    for j in range(L):
                        jj = jb[j]
                        zr[j] += g1[crow[jj]] if jj & 1 else g0[crow[jj]]


@njit(inline="always")
def _threshold(z):
    p = 1.0 / (1.0 + np.exp(-z))
    t = np.floor(p * 4294967296.0 + 0.5)
    if t > 4294967295.0:
        t = 4294967295.0
    return np.uint64(t)


@njit(parallel=True, cache=True)
def sample_logits(z, rng_state, out):
    """Independent spins, +1 with probability ``sigmoid(z)`` (32-bit thresholds).

    Parameters
    ----------
    z : numpy.ndarray of float64, shape (n, L, L)
        Logits (``L`` even).
    rng_state : numpy.ndarray of uint64, shape (n, 4)
        Per-chain xoshiro256** states, advanced in place (``L**2 / 2`` outputs per
        chain: the high 32 bits decide site ``(i, 2 j)``, the low ones ``(i, 2 j + 1)``,
        as in the table sampler).
    out : numpy.ndarray of int8, shape (n, L, L)
        Output spins; +1 iff the 32-bit word is below ``min(round(sigmoid(z) 2**32), 2**32 - 1)``.
    """
    n = z.shape[0]
    L = z.shape[1]
    mask = np.uint64(0xFFFFFFFF)
    for c in prange(n):
        s0 = rng_state[c, 0]
        s1 = rng_state[c, 1]
        s2 = rng_state[c, 2]
        s3 = rng_state[c, 3]
        for i in range(L):
            zr = z[c, i]
            o = out[c, i]
            for j in range(L // 2):
                r, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
                o[2 * j] = np.int8(1) if (r >> np.uint64(32)) < _threshold(zr[2 * j]) else np.int8(-1)
                o[2 * j + 1] = np.int8(1) if (r & mask) < _threshold(zr[2 * j + 1]) else np.int8(-1)
        rng_state[c, 0] = s0
        rng_state[c, 1] = s1
        rng_state[c, 2] = s2
        rng_state[c, 3] = s3
