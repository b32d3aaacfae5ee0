"""Numba Monte Carlo kernels for the ferromagnetic 2D Ising model on an L x L torus.

Private module: the public wrapper validates arguments, allocates outputs and
seeds the per-chain PRNG states; these kernels only compute.

Conventions
-----------
* Hamiltonian ``H = -K * sum_<ij> s_i s_j`` over the ``2 L**2`` bonds
  "right" ``(y, x) -- (y, x+1 mod L)`` and "down" ``(y, x) -- (y+1 mod L, x)``.
  For ``L = 2`` every neighbouring pair is therefore bonded *twice*; the two
  bonds are activated independently (this is what the exact enumeration with
  ``np.roll`` counts).
* Spins are ``int8`` with values +1 / -1; site ``(y, x)`` has flat index
  ``y * L + x``.
* Randomness: xoshiro256** (Blackman & Vigna; :mod:`dreamrg._rng_kernels`), inlined.  Each chain
  owns one row ``rng_state[c, :4]`` of ``uint64`` that is advanced in place, so
  a chain's trajectory depends only on its own spins and state words, never on
  the number of numba threads.  An all-zero state is a fixed point of
  xoshiro256** (it outputs zeros forever, i.e. every bond would be activated);
  the caller must not pass one (seeding from
  ``numpy.random.SeedSequence(...).generate_state(4, np.uint64)`` and checking
  for the zero row is sufficient).
* Probabilities are compared as 32-bit integer thresholds:
  ``thr = round(p * 2**32)`` and an event fires when a uniform 32-bit word is
  ``< thr`` (resolution ``2**-32``).

Kernels read no module globals, take only arrays and scalars, and write into
arrays allocated by the caller.  The three public kernels are compiled with
``cache=True`` (on-disk cache in ``__pycache__``).
"""

import numpy as np
from numba import njit, prange

from dreamrg._rng_kernels import xoshiro_next

__all__ = ["sw_chains", "wolff_chains", "wolff_chains_fixed"]


# --------------------------------------------------------------------------
# Probabilities
# --------------------------------------------------------------------------
@njit(inline="always")
def _threshold32(p):
    """Integer threshold ``round(p * 2**32)`` as ``uint64`` (``0 <= p <= 1``).

    Parameters
    ----------
    p : float
        Probability.

    Returns
    -------
    numpy.uint64
        Threshold; an event with probability ``p`` fires when a uniform
        32-bit word is strictly smaller.
    """
    return np.uint64(np.floor(p * 4294967296.0 + 0.5))


# --------------------------------------------------------------------------
# Swendsen-Wang
# --------------------------------------------------------------------------
@njit(inline="always")
def _find(parent, a):
    """Root of ``a``, with path splitting (each visited node is re-pointed to
    its grandparent).

    Parameters
    ----------
    parent : numpy.ndarray of int32, shape (N,)
        Union-find forest; invariant ``parent[a] <= a``.
    a : int
        Site index.

    Returns
    -------
    int
        Index of the root (the smallest site index in the cluster).
    """
    p = parent[a]
    while p != a:
        g = parent[p]
        parent[a] = g
        a = p
        p = g
    return a


@njit(inline="always")
def _union(parent, a, b):
    """Merge the clusters of sites ``a`` and ``b`` (union by index).

    The larger root is attached below the smaller one, so the root of a
    cluster is always its smallest site index and ``parent[a] <= a`` holds
    everywhere.

    Parameters
    ----------
    parent : numpy.ndarray of int32, shape (N,)
        Union-find forest, modified in place.
    a, b : int
        Site indices.
    """
    ra = _find(parent, a)
    rb = _find(parent, b)
    if rb < ra:
        parent[ra] = rb
    elif ra < rb:
        parent[rb] = ra


@njit
def _sw_update(s, parent, pend, st, L, thr):
    """One Swendsen-Wang update of a single chain, in place.

    Parameters
    ----------
    s : numpy.ndarray of int8, shape (L*L,)
        Spins (flat, row-major), overwritten by the new configuration.
    parent : numpy.ndarray of int32, shape (L*L,)
        Workspace (union-find forest).
    pend : numpy.ndarray of int32, shape (>= 2*L*L + 4*L + 4,)
        Workspace (deferred merges).
    st : numpy.ndarray of uint64, shape (>=4,)
        xoshiro256** state of the chain, advanced in place.
    L : int
        Linear size (``>= 2``).
    thr : numpy.uint64
        32-bit threshold of ``p = 1 - exp(-2K)``.

    Notes
    -----
    The ``2 L**2`` bonds are visited as "left" and "up" bonds of each site
    (the same set as right/down).  Pass 1 runs in raster order with one 64-bit
    draw per site (low half: left bond, high half: up bond); a bond can only
    be active between aligned spins (the threshold is multiplied by the
    alignment flag, so the test is a single branch-free comparison).  A site
    inherits the parent pointer of its bonded left or up neighbour; when both
    bonds are active and the two pointers differ the merge is *deferred* to a
    list (written unconditionally, counter advanced by the flag) together
    with the ``2L`` periodic wrap bonds, and the list is then merged with
    union-by-index and path splitting.  This keeps the raster loop free of
    data-dependent branches.

    Pass 2 runs in raster order: every root is the smallest index of its
    cluster and ``parent[a] <= a``, so ``parent[parent[i]]`` is already the
    root when ``i`` is reached (one-pass relabelling).  Each root consumes one
    fresh random bit (flip with probability 1/2) and every other site copies
    the new spin of its root (sites of a cluster are aligned).
    """
    N = L * L
    M32 = np.uint64(0xFFFFFFFF)
    H = np.uint64(32)
    s0 = st[0]
    s1 = st[1]
    s2 = st[2]
    s3 = st[3]
    # ---- pass 1: row 0 (left bonds only; wrap bonds are done below)
    parent[0] = 0
    v = 0
    for i in range(1, L):
        u, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
        bl = (u & M32) < thr * np.uint64(s[i - 1] == s[i])
        v = v if bl else i
        parent[i] = v
    n = 0
    for y in range(1, L):
        row = y * L
        # column 0: up bond only
        u, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
        bu = (u & M32) < thr * np.uint64(s[row - L] == s[row])
        v = parent[row - L] if bu else row
        parent[row] = v
        for i in range(row + 1, row + L):
            u, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
            si = s[i]
            bl = (u & M32) < thr * np.uint64(s[i - 1] == si)
            bu = (u >> H) < thr * np.uint64(s[i - L] == si)
            a = v  # == parent[i - 1]
            b = parent[i - L]
            v = b if bu else i
            v = a if bl else v
            parent[i] = v
            pend[n] = a
            pend[n + 1] = b
            n += 2 * (bl & bu & (a != b))
    # periodic wrap bonds: row t (L-1 -- 0) and column t (L-1 -- 0)
    last = N - L
    for t in range(L):
        u, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
        row = t * L
        pend[n] = row
        pend[n + 1] = row + L - 1
        n += 2 * ((u & M32) < thr * np.uint64(s[row] == s[row + L - 1]))
        pend[n] = t
        pend[n + 1] = last + t
        n += 2 * ((u >> H) < thr * np.uint64(s[t] == s[last + t]))
    for k in range(0, n, 2):
        _union(parent, pend[k], pend[k + 1])
    # ---- pass 2: relabel and flip, branch-free except the buffer refill
    one = np.uint64(1)
    buf, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
    nbits = 64
    for i in range(N):
        p = parent[i]
        r = parent[p]
        isroot = p == i
        parent[i] = r
        flip = np.int8(-2) * np.int8((buf & one) & np.uint64(isroot))
        s[i] = s[r] ^ flip  # x ^ -2 maps +1 <-> -1
        buf >>= np.uint64(isroot)
        nbits -= isroot
        if nbits == 0:
            buf, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
            nbits = 64
    st[0] = s0
    st[1] = s1
    st[2] = s2
    st[3] = s3


@njit(inline="always")
def _store(s, dst, L):
    """Copy flat spins ``s`` (shape ``(L*L,)``) into ``dst`` (shape ``(L, L)``)."""
    for y in range(L):
        for x in range(L):
            dst[y, x] = s[y * L + x]


@njit(inline="always")
def _load(src, s, L):
    """Copy ``src`` (shape ``(L, L)``) into flat spins ``s`` (shape ``(L*L,)``)."""
    for y in range(L):
        for x in range(L):
            s[y * L + x] = src[y, x]


@njit(parallel=True, cache=True)
def sw_chains(spins, rng_state, K, n_equil, thin, out):
    """Run independent Swendsen-Wang chains and record configurations.

    Parameters
    ----------
    spins : numpy.ndarray of int8, shape (C, L, L)
        Initial +/-1 configurations, C-contiguous; overwritten with the final
        state of each chain.
    rng_state : numpy.ndarray of uint64, shape (C, 4)
        Per-chain xoshiro256** state, advanced in place.  No row may be all
        zero.
    K : float
        Coupling ``K = J / T > 0``; bonds between aligned neighbours are
        activated with probability ``p = 1 - exp(-2K)``.
    n_equil : int
        Number of SW updates before the first record (``>= 0``).
    thin : int
        Number of SW updates before each record (``>= 1``); record ``r`` is
        the state after ``n_equil + (r + 1) * thin`` updates.
    out : numpy.ndarray of int8, shape (C, R, L, L)
        Receives ``R`` records per chain.

    Notes
    -----
    Chains run in parallel (``prange`` over ``C``); each chain is a
    deterministic function of its own spins and ``rng_state`` row, so results
    do not depend on the number of threads.  Workspace is ``13 L**2`` bytes per
    chain.
    """
    C = spins.shape[0]
    L = spins.shape[1]
    R = out.shape[1]
    N = L * L
    thr = _threshold32(1.0 - np.exp(-2.0 * K))
    for c in prange(C):
        s = np.empty(N, dtype=np.int8)
        parent = np.empty(N, dtype=np.int32)
        pend = np.empty(2 * N + 4 * L + 4, dtype=np.int32)
        st = rng_state[c]
        _load(spins[c], s, L)
        for _ in range(n_equil):
            _sw_update(s, parent, pend, st, L, thr)
        for r in range(R):
            for _ in range(thin):
                _sw_update(s, parent, pend, st, L, thr)
            _store(s, out[c, r], L)
        _store(s, spins[c], L)


# --------------------------------------------------------------------------
# Wolff
# --------------------------------------------------------------------------
@njit
def _wolff_update(s, stack, st, L, thr, min_flips, max_clusters):
    """Single-cluster Wolff flips on one chain, in place.

    Flips clusters until at least ``min_flips`` spins have been flipped in
    total *or* ``max_clusters`` clusters have been flipped, whichever comes
    first.

    Parameters
    ----------
    s : numpy.ndarray of int8, shape (L*L,)
        Spins (flat, row-major), modified in place.
    stack : numpy.ndarray of int32, shape (L*L,)
        Workspace.
    st : numpy.ndarray of uint64, shape (>=4,)
        xoshiro256** state of the chain, advanced in place.
    L : int
        Linear size (``>= 2``).
    thr : numpy.uint64
        32-bit threshold of ``p = 1 - exp(-2K)``.
    min_flips, max_clusters : int
        Stopping rule (see above).

    Returns
    -------
    n_clusters : int
        Number of clusters flipped.
    n_flipped : int
        Total number of spins flipped.

    Notes
    -----
    The seed is uniform on the ``L*L`` sites (Lemire multiply-shift with
    rejection, exact).  A site joins the cluster when it is aligned with the
    cluster spin and a 32-bit draw is below ``thr``; each site is flipped as it
    joins, which also marks it as visited.  The four neighbours right, left,
    down, up are tried separately, so for ``L = 2`` each pair gets its two
    bonds.  Every cluster flip satisfies detailed balance, but stopping on the
    number of flipped spins does *not* preserve the Boltzmann distribution
    (states reached by large flips are over-sampled); see `wolff_chains`.
    """
    N = L * L
    M32 = np.uint64(0xFFFFFFFF)
    H = np.uint64(32)
    NN = np.uint64(N)
    reject = (np.uint64(4294967296) - NN) % NN
    s0 = st[0]
    s1 = st[1]
    s2 = st[2]
    s3 = st[3]
    hi = np.uint64(0)
    have = False
    flipped = 0
    ncl = 0
    while flipped < min_flips and ncl < max_clusters:
        while True:
            u, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
            m = (u >> H) * NN
            if (m & M32) >= reject:
                break
        seed = np.int64(m >> H)
        sv = s[seed]
        s[seed] = -sv
        stack[0] = seed
        top = 1
        size = 1
        while top > 0:
            top -= 1
            i = np.int64(stack[top])
            x = np.int64(np.uint32(i) % np.uint32(L))
            right = i + 1 if x < L - 1 else i - x
            left = i - 1 if x > 0 else i + L - 1
            down = i + L if i + L < N else i + L - N
            up = i - L if i >= L else i - L + N
            for j in (right, left, down, up):
                if s[j] == sv:
                    if have:
                        w = hi
                        have = False
                    else:
                        u, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
                        w = u & M32
                        hi = u >> H
                        have = True
                    if w < thr:
                        s[j] = -sv
                        stack[top] = j
                        top += 1
                        size += 1
        flipped += size
        ncl += 1
    st[0] = s0
    st[1] = s1
    st[2] = s2
    st[3] = s3
    return ncl, flipped


@njit
def _wolff_chain(s, st, L, thr, n_clusters, n_equil, thin, out_c):
    """Drive one Wolff chain (see `wolff_chains`); returns the ``n_clusters`` used.

    Parameters
    ----------
    s : numpy.ndarray of int8, shape (L*L,)
        Spins, modified in place.
    st : numpy.ndarray of uint64, shape (>=4,)
        PRNG state, advanced in place.
    L : int
        Linear size.
    thr : numpy.uint64
        32-bit bond threshold.
    n_clusters : int
        Cluster flips per update; ``<= 0`` means calibrate (see
        `wolff_chains`).
    n_equil, thin : int
        Updates before the first record and between records.
    out_c : numpy.ndarray of int8, shape (R, L, L)
        Records of this chain.

    Returns
    -------
    int
        Cluster flips per update used for the records.
    """
    N = L * L
    big = 1 << 62
    stack = np.empty(N, dtype=np.int32)
    done = 0
    if n_clusters <= 0:
        n_cal = max(1, (n_equil + 1) // 2)
        tot_cl = 0
        tot_fl = 0
        for _ in range(n_cal):
            a, b = _wolff_update(s, stack, st, L, thr, N, big)
            tot_cl += a
            tot_fl += b
        n_clusters = max(1, int(np.ceil(N * tot_cl / tot_fl)))
        done = n_cal
    for _ in range(done, n_equil):
        _wolff_update(s, stack, st, L, thr, big, n_clusters)
    for r in range(out_c.shape[0]):
        for _ in range(thin):
            _wolff_update(s, stack, st, L, thr, big, n_clusters)
        _store(s, out_c[r], L)
    return n_clusters


@njit(parallel=True, cache=True)
def wolff_chains(spins, rng_state, K, n_equil, thin, out):
    """Run independent Wolff chains in sweep-equivalent units and record them.

    One *update* is one sweep-equivalent: ``n_c`` single-cluster flips with
    ``n_c = ceil(L**2 / <|C|>)`` fixed per chain, so that on average at least
    about ``L**2`` spins are flipped per update.

    Parameters
    ----------
    spins : numpy.ndarray of int8, shape (C, L, L)
        Initial +/-1 configurations; overwritten with the final states.
    rng_state : numpy.ndarray of uint64, shape (C, 4)
        Per-chain xoshiro256** state, advanced in place; no row all zero.
    K : float
        Coupling ``K > 0``; bond probability ``p = 1 - exp(-2K)``.
    n_equil : int
        Sweep-equivalents before the first record (``>= 0``).
    thin : int
        Sweep-equivalents before each record (``>= 1``).
    out : numpy.ndarray of int8, shape (C, R, L, L)
        Receives ``R`` records per chain.

    Returns
    -------
    n_clusters : numpy.ndarray of int64, shape (C,)
        The per-chain ``n_c`` that was used.

    Notes
    -----
    Why a fixed count: flipping clusters *until* the cumulative number of
    flipped spins reaches ``L**2`` and recording there is a state-dependent
    stopping time and is biased (records are weighted by the size of the
    clusters around them; at ``L = 2..4`` and ``K_c`` ordered states come out
    15-50 % too frequent).  A fixed number of cluster flips per update is an
    exact Boltzmann-preserving kernel.

    Calibration: the first ``max(1, ceil(n_equil / 2))`` updates use the
    stopping rule "flip until >= ``L**2`` spins flipped"; ``n_c`` is set from
    the clusters flipped there, ``n_c = max(1, ceil(L**2 * n_clusters /
    n_flipped))``, and frozen for the remaining equilibration updates and all
    records.  With ``n_equil = 0`` one calibration update is still performed.
    Use `wolff_chains_fixed` to prescribe ``n_c`` directly.  Each chain is
    deterministic given its spins and ``rng_state`` row (independent of the
    thread count); workspace is ``5 L**2`` bytes per chain.
    """
    C = spins.shape[0]
    L = spins.shape[1]
    thr = _threshold32(1.0 - np.exp(-2.0 * K))
    ncl = np.empty(C, dtype=np.int64)
    for c in prange(C):
        s = np.empty(L * L, dtype=np.int8)
        _load(spins[c], s, L)
        ncl[c] = _wolff_chain(s, rng_state[c], L, thr, 0, n_equil, thin, out[c])
        _store(s, spins[c], L)
    return ncl


@njit(parallel=True, cache=True)
def wolff_chains_fixed(spins, rng_state, K, n_clusters, n_equil, thin, out):
    """Run independent Wolff chains with a prescribed number of cluster flips per chain.

    Like `wolff_chains`, but one update of chain ``c`` is exactly
    ``n_clusters[c]`` single-cluster flips (no calibration): this continues
    chains that `wolff_chains` calibrated, from their saved state.

    Parameters
    ----------
    spins : numpy.ndarray of int8, shape (C, L, L)
        Initial +/-1 configurations; overwritten with the final states.
    rng_state : numpy.ndarray of uint64, shape (C, 4)
        Per-chain xoshiro256** state, advanced in place; no row all zero.
    K : float
        Coupling ``K > 0``.
    n_clusters : numpy.ndarray of int64, shape (C,)
        Cluster flips per update of each chain (``>= 1``).
    n_equil : int
        Updates before the first record (``>= 0``).
    thin : int
        Updates before each record (``>= 1``).
    out : numpy.ndarray of int8, shape (C, R, L, L)
        Receives ``R`` records per chain.
    """
    C = spins.shape[0]
    L = spins.shape[1]
    thr = _threshold32(1.0 - np.exp(-2.0 * K))
    for c in prange(C):
        s = np.empty(L * L, dtype=np.int8)
        _load(spins[c], s, L)
        _wolff_chain(s, rng_state[c], L, thr, max(1, n_clusters[c]), n_equil,
                     thin, out[c])
        _store(s, spins[c], L)
