"""Numba kernels: the MCRG spin operators of many configurations at once.

Private module: :mod:`dreamrg.mcrg` builds the term table, validates the
input and allocates the output; the kernels here only compute.

Conventions
-----------
* Spins are ``int8`` ±1 of shape ``(n, L, L)`` on an ``L x L`` torus; site
  ``(y, x)`` is row ``y``, column ``x``.
* A *term* is one orientation of one operator class: a set of ``k`` (1 to 4)
  offsets ``(dy, dx)`` with ``0 <= dy, dx <= 2``. Its translation sum is

      t(σ) = Σ_{y, x} Π_i σ[(y + dy_i) % L, (x + dx_i) % L],

  and operator ``a`` is the sum of ``t`` over the terms with ``term_op == a``.
  With an open boundary the sum runs only over the anchors ``y < L - max dy``,
  ``x < L - max dx``, where no site wraps around.
  The term table is four arrays: ``term_dy``, ``term_dx`` (int64, shape
  ``(T, 4)``, only the first ``term_k[t]`` columns used), ``term_k`` (int64,
  ``(T,)``) and ``term_op`` (int64, ``(T,)``, values in ``[0, n_ops)``).
* Bit packing: bit ``x % 64`` of word ``x // 64`` of a packed row is 1 iff the
  spin in column ``x`` is -1. A product of spins is then ``(-1)**parity`` of
  the XOR of their bits, so that ``t = L**2 - 2 * popcount(XOR ...)`` summed
  over rows and words. Bits beyond column ``L - 1`` in the last word are 0 in
  every packed row, hence never counted.
* Scratch ``P`` of shape ``(3, L + 2, W)``, ``W = ceil(L / 64)``:
  ``P[dx, y]`` is row ``y % L`` with columns shifted by ``dx`` (bit ``x`` holds
  column ``(x + dx) % L``), so the product of term sites is the XOR of
  ``P[dx_i, y + dy_i]`` -- rows ``L`` and ``L + 1`` repeat rows 0 and 1.
  It is filled by one path for every ``L >= 2``: rows are packed 8 spins at a
  time (the sign bits of 8 int8 bytes gathered by one multiplication; bit by
  bit for a remainder when ``L % 8 != 0``), each row is extended cyclically
  (bit ``x`` = column ``x mod L`` for ``x < 2L``) and the two shifted copies
  are funnel shifts of that extension, the last word masked to ``L % 64`` bits.
* :func:`accumulate_moments` adds the centred first and second moments of a
  range of configurations to one block of the MCRG accumulator (plain loops:
  no BLAS call, hence no contention between BLAS and numba threads).

Kernels take only arrays and scalars, read no module globals, write into
caller-allocated arrays, and are compiled with ``cache=True``.
"""

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

__all__ = ["operator_sums", "operator_sums_serial", "accumulate_moments"]


@intrinsic
def _popcount64(typingctx, x):
    """LLVM ``ctpop`` on a uint64 (vectorises to vpopcntq where available)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        v = args[0]
        if v.type != ir.IntType(64):
            v = builder.zext(v, ir.IntType(64)) if v.type.width < 64 else builder.trunc(v, ir.IntType(64))
        return builder.ctpop(v)

    return types.uint64(x), codegen


# --------------------------------------------------------------------------
# packing
# --------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _gather8(u):
    """Bits ``i`` (0..7) = sign bit of byte ``i`` of the little-endian word ``u``."""
    m = (u >> np.uint64(7)) & np.uint64(0x0101010101010101)
    return (m * np.uint64(0x0102040810204080)) >> np.uint64(56)


@njit(cache=True)
def _pack_fill(s, P, E):
    """Fill the shifted packed rows ``P`` (3, L+2, W) from one (L, L) int8 configuration.

    ``E`` (W + 2 words) is scratch for the cyclically extended row.
    """
    L = s.shape[0]
    W = P.shape[2]
    one = np.uint64(1)
    n8 = L // 8
    q = L // 64
    r = L % 64
    last_mask = np.uint64(0xFFFFFFFFFFFFFFFF)
    if r:
        last_mask = (one << np.uint64(r)) - one
    for y in range(L):
        row = s[y]
        # -- pack: byte gather for whole groups of 8 spins, bit by bit for the rest
        for w in range(W):
            P[0, y, w] = 0
        for g in range(n8):
            u = np.uint64(0)
            for b in range(8):
                u |= np.uint64(np.uint8(row[8 * g + b])) << np.uint64(8 * b)
            P[0, y, g // 8] |= _gather8(u) << np.uint64(8 * (g % 8))
        for x in range(8 * n8, L):
            P[0, y, x // 64] |= np.uint64(row[x] < 0) << np.uint64(x % 64)
        # -- cyclic extension: E holds bit x = spin (x mod L) for x < 2 L
        for w in range(W + 2):
            E[w] = 0
        for w in range(W):
            E[w] = P[0, y, w]
        for w in range(W + 2 - q):
            src = P[0, y, w] if w < W else np.uint64(0)
            E[w + q] |= src << np.uint64(r)
            if r and w + q + 1 < W + 2:
                E[w + q + 1] |= src >> np.uint64(64 - r)
        # -- shifted rows: bit x of P[dx] = spin (x + dx) mod L
        for dx in range(1, 3):
            sh = np.uint64(dx)
            sl = np.uint64(64 - dx)
            for w in range(W):
                P[dx, y, w] = (E[w] >> sh) | (E[w + 1] << sl)
            P[dx, y, W - 1] &= last_mask
    # rows L, L+1 repeat rows 0, 1 (modulo L)
    for dx in range(3):
        for e in range(2):
            for w in range(W):
                P[dx, L + e, w] = P[dx, (L + e) % L, w]


# --------------------------------------------------------------------------
# counting
# --------------------------------------------------------------------------
@njit(cache=True)
def _count_terms(P, L, term_dy, term_dx, term_k, term_op, out):
    """Add the periodic translation sums of all terms of one packed configuration to ``out``.

    ``P`` is the scratch flattened to ``3 * (L + 2) * W`` words. Indices are
    unsigned so that numba emits no negative-index wrap-around and LLVM
    vectorises the XOR/popcount loops; no array views are made inside the
    term loop (each would cost reference-count updates).
    """
    W = (L + 63) // 64
    n_words = np.uint64(L * W)
    plane = (L + 2) * W
    LL = L * L
    for t in range(term_k.shape[0]):
        k = term_k[t]
        o0 = np.uint64(term_dx[t, 0] * plane + term_dy[t, 0] * W)
        c = np.uint64(0)
        if k == 1:
            for r in range(n_words):
                c += _popcount64(P[o0 + r])
        elif k == 2:
            o1 = np.uint64(term_dx[t, 1] * plane + term_dy[t, 1] * W)
            for r in range(n_words):
                c += _popcount64(P[o0 + r] ^ P[o1 + r])
        elif k == 3:
            o1 = np.uint64(term_dx[t, 1] * plane + term_dy[t, 1] * W)
            o2 = np.uint64(term_dx[t, 2] * plane + term_dy[t, 2] * W)
            for r in range(n_words):
                c += _popcount64(P[o0 + r] ^ P[o1 + r] ^ P[o2 + r])
        else:
            o1 = np.uint64(term_dx[t, 1] * plane + term_dy[t, 1] * W)
            o2 = np.uint64(term_dx[t, 2] * plane + term_dy[t, 2] * W)
            o3 = np.uint64(term_dx[t, 3] * plane + term_dy[t, 3] * W)
            for r in range(n_words):
                c += _popcount64(P[o0 + r] ^ P[o1 + r] ^ P[o2 + r] ^ P[o3 + r])
        out[term_op[t]] += LL - 2 * np.int64(c)


@njit(cache=True)
def _count_terms_open(P, L, term_dy, term_dx, term_k, term_op, colmask, out):
    """Add the open-boundary sums of all terms of one packed configuration to ``out``.

    A term with extents ``e_y = max dy``, ``e_x = max dx`` (offsets start at 0)
    is counted at the ``(L - e_y)(L - e_x)`` anchors ``y < L - e_y``,
    ``x < L - e_x``, where none of its sites wraps around: rows beyond
    ``L - e_y`` are skipped and ``colmask[e_x]`` (shape ``(3, W)``) clears the
    columns ``x ≥ L - e_x`` of every word.
    """
    W = (L + 63) // 64
    plane = (L + 2) * W
    for t in range(term_k.shape[0]):
        k = term_k[t]
        ey = 0
        ex = 0
        for i in range(k):
            ey = max(ey, term_dy[t, i])
            ex = max(ex, term_dx[t, i])
        c = np.uint64(0)
        for y in range(L - ey):
            for w in range(W):
                v = np.uint64(0)
                for i in range(k):
                    v ^= P[term_dx[t, i] * plane + (term_dy[t, i] + y) * W + w]
                c += _popcount64(v & colmask[ex, w])
        out[term_op[t]] += np.int64((L - ey) * (L - ex)) - 2 * np.int64(c)


@njit(cache=True)
def _range_sums(spins, lo, hi, term_dy, term_dx, term_k, term_op, open_boundary, out):
    """Operators of configurations ``lo:hi`` into ``out[lo:hi]`` with one scratch buffer."""
    L = spins.shape[1]
    W = (L + 63) // 64
    P = np.zeros((3, L + 2, W), dtype=np.uint64)
    P2 = P.reshape(3 * (L + 2) * W)
    E = np.zeros(W + 2, dtype=np.uint64)
    # colmask[e, w]: the bits of word w whose column x satisfies x < L - e
    colmask = np.zeros((3, W), dtype=np.uint64)
    for e in range(3):
        for w in range(W):
            lim = L - e - 64 * w
            if lim >= 64:
                colmask[e, w] = np.uint64(0xFFFFFFFFFFFFFFFF)
            elif lim > 0:
                colmask[e, w] = (np.uint64(1) << np.uint64(lim)) - np.uint64(1)
    for i in range(lo, hi):
        _pack_fill(spins[i], P, E)
        row = out[i]
        for a in range(out.shape[1]):
            row[a] = 0
        if open_boundary:
            _count_terms_open(P2, L, term_dy, term_dx, term_k, term_op, colmask, row)
        else:
            _count_terms(P2, L, term_dy, term_dx, term_k, term_op, row)


@njit(cache=True, parallel=True)
def operator_sums(spins, term_dy, term_dx, term_k, term_op, open_boundary, n_chunks, out):
    """All operators of a batch of configurations, in parallel over configurations.

    Parameters
    ----------
    spins : numpy.ndarray of int8, shape (n, L, L)
        C-contiguous ±1 spins (not checked here).
    term_dy, term_dx : numpy.ndarray of int64, shape (T, 4)
        Offsets of the sites of every term (first ``term_k[t]`` columns).
    term_k : numpy.ndarray of int64, shape (T,)
        Number of sites (1..4) of every term.
    term_op : numpy.ndarray of int64, shape (T,)
        Operator index of every term.
    open_boundary : bool
        Sum every term only over the anchors where it does not wrap around
        (see :func:`_count_terms_open`); else over all ``L²`` torus translations.
    n_chunks : int
        The configurations are split into this many contiguous chunks, one
        ``prange`` iteration (and one scratch buffer) each; use the number of
        threads.
    out : numpy.ndarray of int64, shape (n, n_ops)
        Overwritten with the extensive operator values ``S_a(spins[i])``.
    """
    n = spins.shape[0]
    nc = max(1, min(n_chunks, n))
    for c in prange(nc):
        lo = (c * n) // nc
        hi = ((c + 1) * n) // nc
        _range_sums(spins, lo, hi, term_dy, term_dx, term_k, term_op, open_boundary, out)


@njit(cache=True)
def operator_sums_serial(spins, term_dy, term_dx, term_k, term_op, open_boundary, out):
    """Serial twin of :func:`operator_sums` (same arguments, no ``n_chunks``)."""
    _range_sums(spins, 0, spins.shape[0], term_dy, term_dx, term_k, term_op, open_boundary, out)


@njit(cache=True)
def accumulate_moments(f, c, lo, hi, f0, c0, sf, sc, scf, scc, sff):
    """Add centred moments of configurations ``lo:hi`` to one accumulator block.

    Parameters
    ----------
    f, c : numpy.ndarray of int64, shape (n, m)
        Extensive operator values at the fine and coarse level.
    lo, hi : int
        Range of rows to add.
    f0, c0 : numpy.ndarray of int64, shape (m,)
        Integer reference values subtracted before multiplying (exact).
    sf, sc : numpy.ndarray of float64, shape (m,)
        ``Σ (f - f0)`` and ``Σ (c - c0)``, updated in place.
    scf, scc, sff : numpy.ndarray of float64, shape (m, m)
        ``Σ (c - c0)(f - f0)ᵀ``, ``Σ (c - c0)(c - c0)ᵀ`` and
        ``Σ (f - f0)(f - f0)ᵀ``, updated in place.
    """
    m = f.shape[1]
    fv = np.empty(m, dtype=np.float64)
    cv = np.empty(m, dtype=np.float64)
    for i in range(lo, hi):
        for a in range(m):
            fv[a] = np.float64(f[i, a] - f0[a])
            cv[a] = np.float64(c[i, a] - c0[a])
        for a in range(m):
            sf[a] += fv[a]
            sc[a] += cv[a]
            ca = cv[a]
            fa = fv[a]
            for b in range(m):
                scf[a, b] += ca * fv[b]
                scc[a, b] += ca * cv[b]
                sff[a, b] += fa * fv[b]
