"""Patch geometry of the upscalers: kernel orbits, per-position coarse patches, pattern codes.

Shared by :mod:`dreamrg.exact_fit` (histogram reduction of the loss),
:mod:`dreamrg.sampler` (table sampler) and :mod:`dreamrg.train` (histogram engine).

Kernel orbits
-------------
A ``k x k`` kernel invariant under the 8 symmetries of the square has one
parameter per orbit of offsets ``{(±a, ±b), (±b, ±a)}``; :func:`kernel_orbits`
lists one representative ``(a, b)``, ``0 <= a <= b``, per orbit in the fixed
parameter order (that of the authors' released ``convs.params``). For the sizes
with a patch geometry, :data:`KERNEL_SIZES`, the order of k = 3 and 5 is a prefix of
that of k = 7 (:data:`ORBIT_REPRESENTATIVES`).

Patches
-------
A coarse configuration ``mu`` (``l x l`` torus) is upsampled by the
nearest-neighbour rule to ``sigma_tilde`` (``L = 2 l``). Fine site
``(i, j) = (2 ci + pi, 2 cj + pj)`` sits at *position* ``pos = 2 pi + pj`` of its
block. With ``r = (k - 1) / 2`` its window ``i - r .. i + r`` covers coarse rows
``ci + start[pi] .. ci + start[pi] + P - 1`` with ``start[p] = floor((p - r) / 2)``
and ``P = r + 1 = (k + 1) / 2`` for *both* parities (same for columns). So the
field of a ``k x k`` kernel is a function of ``pos`` and the ``P x P`` coarse
*patch* with top-left corner ``(ci + start[pi], cj + start[pj])`` (mod l):

======  ====  ===========  ===========  ===========
k       P     start[0]     start[1]     patterns
======  ====  ===========  ===========  ===========
3       2     -1           0            16
5       3     -1           -1           512
7       4     -2           -1           65536
======  ====  ===========  ===========  ===========

The patch is defined per position (for k = 3, 7 the two parities use different
corners; the union of the four windows would be ``P + 1`` wide and waste a factor
``2**(2P+1)`` in patterns). Pattern code: bit ``a P + b`` (row-major, cell
``(0, 0)`` least significant) is 1 when coarse cell ``(a, b)`` of the patch is
+1 (:func:`site_patterns`).

Small lattices: when ``l < P`` the patch wraps onto itself (some coarse cells
appear twice). Reading the patch mod ``l`` is still exact, because
``sigma_tilde[(i + d) mod L] = mu[((i + d) // 2) mod l]`` for even ``L``; such
patterns merely have equal duplicated bits.
"""

from __future__ import annotations

import functools

import numpy as np

from dreamrg import _histogram_kernels as _hk
from dreamrg._checks import is_int

__all__ = [
    "check_odd_kernel_size",
    "kernel_orbits",
    "ORBIT_REPRESENTATIVES",
    "KERNEL_SIZES",
    "check_kernel_size",
    "n_params",
    "patch_geometry",
    "orbit_index_map",
    "check_params",
    "kernel_from_params",
    "orbit_features",
    "as_spins",
    "site_patterns",
]


def check_odd_kernel_size(k) -> int:
    """``k`` as an int if it is an odd integer >= 3 (any model kernel size); ValueError otherwise."""
    if not is_int(k) or k < 3 or k % 2 == 0:
        raise ValueError(f"kernel size k must be an odd integer >= 3 (an int, not a float or a string), got {k!r}")
    return int(k)


def kernel_orbits(k: int) -> list[tuple[int, int]]:
    """One representative offset per orbit of the square's symmetry group.

    The orbit of ``(a, b)`` is ``{(±a, ±b), (±b, ±a)}``; the representative has
    ``0 <= a <= b <= (k-1)/2``. Order (fixed; it matches the authors' released
    ``convs.params``): ring 1 ``(1,1), (0,1)``, then the centre ``(0,0)``, then
    each ring ``r = 2, 3, ...`` as ``(r,r), (0,r), (r-1,r), (r-2,r), ..., (1,r)``.
    For k = 7 this is (1,1), (0,1), (0,0), (2,2), (0,2), (1,2), (3,3), (0,3),
    (2,3), (1,3).

    Parameters
    ----------
    k : int
        Odd kernel size >= 3.

    Returns
    -------
    list of (int, int)
        ``(k+1)(k+3)/8`` representatives.
    """
    c = check_odd_kernel_size(k) // 2
    orbits = [(1, 1), (0, 1), (0, 0)]
    for r in range(2, c + 1):
        orbits += [(r, r), (0, r)] + [(a, r) for a in range(r - 1, 0, -1)]
    return orbits


#: Orbit representatives ``(a, b)``, ``0 <= a <= b``, in parameter order
#: (k = 7 covers k = 3, 5 as prefixes).
ORBIT_REPRESENTATIVES: tuple[tuple[int, int], ...] = tuple(kernel_orbits(7))

#: Kernel sizes with a patch geometry (the single-layer model's supported sizes).
KERNEL_SIZES: tuple[int, ...] = (3, 5, 7)


def check_kernel_size(k) -> int:
    """``k`` as an int if it is in :data:`KERNEL_SIZES`; ValueError otherwise."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) not in KERNEL_SIZES:
        raise ValueError(f"kernel size k must be one of {KERNEL_SIZES}; got {k!r}")
    return int(k)


def n_params(k: int) -> int:
    """Number of independent kernel parameters, ``(k + 1)(k + 3) / 8``.

    Parameters
    ----------
    k : {3, 5, 7}
        Kernel size.

    Returns
    -------
    int
        3, 6 or 10.
    """
    k = check_kernel_size(k)
    return (k + 1) * (k + 3) // 8


def patch_geometry(k: int) -> tuple[int, tuple[int, int]]:
    """Patch size and per-parity patch corner offsets.

    Parameters
    ----------
    k : {3, 5, 7}
        Kernel size.

    Returns
    -------
    P : int
        Patch size ``(k + 1) / 2`` (in coarse cells).
    start : tuple of int, length 2
        ``start[p] = floor((p - r) / 2)``: the fine site ``2 c + p`` has its patch
        on coarse rows (columns) ``c + start[p] .. c + start[p] + P - 1``.
    """
    k = check_kernel_size(k)
    r = (k - 1) // 2
    return r + 1, ((0 - r) // 2, (1 - r) // 2)


@functools.cache
def _orbit_index_map(k: int) -> np.ndarray:
    r = (k - 1) // 2
    rep_index = {rep: o for o, rep in enumerate(ORBIT_REPRESENTATIVES[: n_params(k)])}
    out = np.empty((k, k), dtype=np.int64)
    for di in range(-r, r + 1):
        for dj in range(-r, r + 1):
            a, b = sorted((abs(di), abs(dj)))
            out[di + r, dj + r] = rep_index[(a, b)]
    out.setflags(write=False)
    return out


def orbit_index_map(k: int) -> np.ndarray:
    """Orbit (parameter) index of every kernel offset.

    Parameters
    ----------
    k : {3, 5, 7}
        Kernel size.

    Returns
    -------
    numpy.ndarray of int64, shape (k, k), read-only
        ``out[di + r, dj + r]`` is the index into :data:`ORBIT_REPRESENTATIVES` of
        the orbit of offset ``(di, dj)``, i.e. of ``sorted((|di|, |dj|))``.
    """
    return _orbit_index_map(check_kernel_size(k))


def kernel_from_params(w, k: int) -> np.ndarray:
    """Expand orbit parameters into the symmetric convolution kernel.

    Parameters
    ----------
    w : array_like of float, shape (n_params(k),)
        One weight per orbit, in the order of :data:`ORBIT_REPRESENTATIVES`.
    k : {3, 5, 7}
        Kernel size.

    Returns
    -------
    numpy.ndarray of float64, shape (k, k)
        ``W[di + r, dj + r]``, the weight of ``sigma_tilde[i + di, j + dj]`` in
        ``h[i, j]``.
    """
    w = check_params(w, k)
    return w[orbit_index_map(k)]


@functools.cache
def _orbit_features(k: int) -> np.ndarray:
    P, start = patch_geometry(k)
    r = (k - 1) // 2
    no = n_params(k)
    omap = orbit_index_map(k)
    # A[pos, o, cell]: number of offsets of orbit o landing on patch cell `cell`
    A = np.zeros((4, no, P * P))
    for pi in range(2):
        for pj in range(2):
            for di in range(-r, r + 1):
                for dj in range(-r, r + 1):
                    a = (pi + di) // 2 - start[pi]
                    b = (pj + dj) // 2 - start[pj]
                    assert 0 <= a < P and 0 <= b < P
                    A[2 * pi + pj, omap[di + r, dj + r], a * P + b] += 1
    codes = np.arange(2 ** (P * P), dtype=np.int64)
    spins = 2.0 * ((codes[:, None] >> np.arange(P * P)) & 1) - 1.0  # (npat, P*P)
    F = np.ascontiguousarray(np.einsum("pc,qoc->qpo", spins, A))
    F.setflags(write=False)
    return F


def orbit_features(k: int) -> np.ndarray:
    """Orbit features ``F_o`` for every (position, coarse pattern).

    Parameters
    ----------
    k : {3, 5, 7}
        Kernel size.

    Returns
    -------
    numpy.ndarray of float64, shape (4, 2**(P*P), n_params(k)), read-only
        ``F[pos, code, o] = sum_{(di, dj) in orbit o} sigma_tilde[i + di, j + dj]``
        for a fine site at position ``pos = 2 (i % 2) + (j % 2)`` whose patch has
        pattern ``code`` (bit ``a P + b`` set when patch cell ``(a, b)`` is +1; see
        the module docstring and :func:`patch_geometry`). The local field is
        ``F[pos, code] @ w``. Entries are integers in ``[-8, 8]``. Cached.
    """
    return _orbit_features(check_kernel_size(k))


def check_params(w, k) -> np.ndarray:
    """Orbit parameters ``w`` of a size-``k`` kernel as a float64 array of shape (n_params(k),), all finite."""
    k = check_kernel_size(k)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (n_params(k),):
        raise ValueError(f"k={k} needs {n_params(k)} parameters; got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        bad = np.flatnonzero(~np.isfinite(w)).tolist()
        raise ValueError(f"the orbit weights of the k={k} kernel must be finite numbers; got {w.tolist()} "
                         f"(NaN or ±inf at orbit(s) {bad}; a diverged training or a damaged model file?)")
    return w


def as_spins(x, name: str, ndim: int = 3) -> np.ndarray:
    """``x`` as a C-contiguous int8 array of ±1 with ``ndim`` dimensions (ValueError/TypeError otherwise).

    An int8 input is passed through without checking its values (the kernels count bad spins).
    """
    x = np.asarray(x)
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions (n, L, L); got shape {x.shape}")
    if x.dtype != np.int8:
        if x.dtype.kind not in "iu":
            raise TypeError(f"{name} must be an integer (int8) array of ±1; got dtype {x.dtype}")
        if x.size and not np.all((x == 1) | (x == -1)):
            raise ValueError(f"{name} must contain only ±1")
        x = x.astype(np.int8)
    return np.ascontiguousarray(x)


def site_patterns(mu, k: int) -> np.ndarray:
    """Patch pattern code of every fine site.

    Parameters
    ----------
    mu : array_like of int8, shape (n, l, l)
        Coarse configurations (±1).
    k : {3, 5, 7}
        Kernel size.

    Returns
    -------
    numpy.ndarray of int64, shape (n, 2 l, 2 l)
        ``out[t, i, j]`` is the pattern code (see :func:`orbit_features`) of fine
        site ``(i, j)``, whose position is ``2 (i % 2) + (j % 2)``; the local
        field there is ``orbit_features(k)[pos, out[t, i, j]] @ w``.
    """
    P, start = patch_geometry(k)
    mu = as_spins(mu, "mu")
    n, l, l2 = mu.shape
    if l != l2 or l < 1:
        raise ValueError(f"mu must have shape (n, l, l) with l >= 1; got {mu.shape}")
    if mu.size and not np.all((mu == 1) | (mu == -1)):
        raise ValueError("mu must contain only ±1")
    out = np.empty((n, 2 * l, 2 * l), dtype=np.int64)
    _hk.site_pattern_codes(mu, P, np.asarray(start, dtype=np.int64), out)
    return out

