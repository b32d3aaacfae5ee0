"""Majority-rule block spins (the coarse-graining kernel D) and nearest upsampling.

Conventions
-----------
Spins are ``int8`` arrays with values ±1, of shape ``(n, L, L)`` (a batch of
``n`` configurations) or ``(L, L)`` (a single one); lattices are periodic but
the 2x2 blocking below never needs the wrap-around.

The majority rule (paper, section II) maps an ``L x L`` configuration σ, ``L``
even, to an ``L/2 x L/2`` block-spin configuration μ. Block ``(I, J)`` holds the
four spins ``σ[2I:2I+2, 2J:2J+2]``; its block spin is the sign of their sum, and
a tie (sum 0, two up and two down) is broken to +1 or -1 with probability ½.
The kernel is therefore stochastic,

    D(μ|σ) = Π_blocks d(μ_B|σ_B),   d = 1 (clear majority) or ½ (tie),

so ``D(μ|σ) = 2^(-ties)`` for every μ compatible with σ. That number underflows
double precision beyond ~1075 ties (a random 128x128 configuration has ~1500),
hence it is returned as ``log_D = ties * ln ½``. The weights of the weighted
loss (paper eq. 13) are built from ``log_D`` with a log-sum-exp,
:func:`log_weights_normalised`.

Randomness: :func:`majority_rule` draws exactly one uniform number per block
(tie or not) from the ``numpy.random.Generator`` it is given, as one array of
shape ``(n, L/2, L/2)`` in C order, and sends a tied block up iff its uniform is
``< ½``. The output is thus a deterministic function of the generator state,
and the generator advances by the same amount whatever the input.

Implementation: the block sums, tie decisions and tie counts run in numba
kernels (:mod:`dreamrg._coarse_kernels`);
:func:`dreamrg._coarse_reference.majority_rule_numpy` is the original NumPy
implementation, kept as a reference twin with bit-identical outputs and
generator use. At L = 128 the kernels take ~1 µs per configuration
and NumPy's float32 draw ~5.5 µs, which is now most of the cost; drawing raw
64-bit words instead would halve it but depends on how NumPy splits words into
32-bit draws, so we keep the plain ``rng.random`` call.
"""

from __future__ import annotations

import math

import numpy as np

from dreamrg import _coarse_kernels as _ck

__all__ = [
    "majority_rule",
    "upsample_nearest",
    "upsample_nearest_torch",
    "log_weights_normalised",
]

_LN_HALF = -math.log(2.0)


def _as_spins(sigma: np.ndarray, name: str = "sigma") -> np.ndarray:
    """Validate a ±1 array and return it as ``int8`` (no copy when possible)."""
    a = np.asarray(sigma)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"{name} must hold ±1 numbers, got dtype {a.dtype}")
    if a.size and not np.all((a == 1) | (a == -1)):
        raise ValueError(f"{name} must contain only the spin values -1 and +1")
    return a.astype(np.int8, copy=False)


def _as_batch(s: np.ndarray, sigma) -> tuple[np.ndarray, bool, int]:
    """Shape checks shared by :func:`majority_rule` and its reference twin: (n, L, L), L even ≥ 2."""
    single = s.ndim == 2
    if single:
        s = s[None]
    if s.ndim != 3 or s.shape[1] != s.shape[2]:
        raise ValueError(
            f"sigma must have shape (n, L, L) or (L, L) with square lattices, got shape {np.shape(sigma)}"
        )
    L = s.shape[1]
    if L < 2 or L % 2:
        raise ValueError(f"majority rule needs an even linear size L >= 2 (2x2 blocks), got L = {L}")
    return s, single, L


def _break_ties(mu: np.ndarray, rng: np.random.Generator) -> None:
    """Resolve the ties (zeros) of the block signs ``mu`` (C-contiguous) in place.

    Draws ``rng.random(mu.shape, dtype=np.float32)`` -- one uniform per block, C
    order, whatever the ties -- and sends a tie up iff its uniform is ``< 0.5``.
    """
    _ck.break_ties(mu.reshape(-1), rng.random(mu.shape, dtype=np.float32).reshape(-1))


def majority_rule(sigma: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Block-spin a configuration with the 2x2 majority rule, ties broken at random.

    Parameters
    ----------
    sigma : numpy.ndarray, shape (n, L, L) or (L, L)
        Spins ±1 (any integer or float dtype; converted to ``int8``). ``L`` must
        be even and ≥ 2.
    rng : numpy.random.Generator
        Source of the tie-breaking randomness. Exactly ``n * (L/2)**2`` uniforms
        are drawn (one per block, C order, as ``float32``); a tied block is +1
        iff its uniform is < ½.

    Returns
    -------
    mu : numpy.ndarray of int8, shape (n, L/2, L/2) or (L/2, L/2)
        Block spins ±1; ``mu[..., I, J]`` is the block ``sigma[..., 2I:2I+2, 2J:2J+2]``.
    log_D : numpy.ndarray of float64, shape (n,) or ()
        ``ln D(mu|sigma) = (number of tied blocks) * ln ½``, per configuration.

    Raises
    ------
    ValueError
        If ``sigma`` is not 2-D/3-D and square, if ``L`` is odd or < 2, or if it
        holds values other than ±1.
    """
    a = np.asarray(sigma)
    if a.dtype == np.int8:
        # the ±1 check is fused into the kernel (below) -- unless the shape is
        # wrong, where the reference checks the values first
        s = a
        shape_ok = a.ndim in (2, 3) and a.shape[-1] == a.shape[-2] and a.shape[-1] >= 2 and a.shape[-1] % 2 == 0
        if not shape_ok:
            _as_spins(a)
    else:
        s = _as_spins(a)
    s, single, L = _as_batch(s, sigma)
    n, l = s.shape[0], L // 2
    s = np.ascontiguousarray(s)
    mu = np.empty((n, l, l), dtype=np.int8)
    log_D = np.empty(n, dtype=np.float64)
    # pass 1: block signs (0 = tie), log_D = ties * ln ½, spin check -- before
    # any draw, so that a rejected input leaves the generator untouched
    if _ck.block_signs(s, mu, log_D, _LN_HALF):
        raise ValueError("sigma must contain only the spin values -1 and +1")
    # pass 2: ties from the draws of rng.random((n, l, l), float32) (C order,
    # one per block, whatever the ties)
    _break_ties(mu, rng)
    if single:
        return mu[0], log_D[0]
    return mu, log_D


def upsample_nearest(mu: np.ndarray) -> np.ndarray:
    """Nearest-neighbour upsampling: every spin becomes a 2x2 block.

    Parameters
    ----------
    mu : numpy.ndarray, shape (..., l, l)
        Block spins (any dtype; kept).

    Returns
    -------
    numpy.ndarray, shape (..., 2l, 2l)
        ``out[..., i, j] = mu[..., i // 2, j // 2]``.
    """
    m = np.asarray(mu)
    if m.ndim < 2:
        raise ValueError(f"mu must have at least 2 dimensions (..., l, l), got shape {m.shape}")
    return np.repeat(np.repeat(m, 2, axis=-2), 2, axis=-1)


def upsample_nearest_torch(mu):
    """Torch twin of :func:`upsample_nearest` (same shapes, dtype and device kept).

    Parameters
    ----------
    mu : torch.Tensor, shape (..., l, l)

    Returns
    -------
    torch.Tensor, shape (..., 2l, 2l)
        ``out[..., i, j] = mu[..., i // 2, j // 2]``.
    """
    return mu.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)


def log_weights_normalised(log_D: np.ndarray) -> np.ndarray:
    """Normalised weights ``w_a / Σ_b w_b`` from log weights, computed in log space.

    With ``w_a = D(μ^(a)|σ^(a)) = exp(log_D[a])`` (paper eq. 13) the raw weights
    underflow for large lattices; subtracting the log-sum-exp first keeps every
    weight representable (the largest becomes ≥ 1/len(log_D)).

    Parameters
    ----------
    log_D : array_like of float, shape (M,)
        Log weights, e.g. the second output of :func:`majority_rule`. ``-inf``
        entries get weight 0; at least one entry must be finite.

    Returns
    -------
    numpy.ndarray of float64, shape (M,)
        Non-negative weights summing to 1 (not their logarithms). Multiply by
        ``M`` to recover the paper's normalisation ``(1/M) Σ_a w_a ln U`` with
        mean weight 1.
    """
    x = np.asarray(log_D, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"log_D must be a non-empty 1-D array, got shape {x.shape}")
    if np.any(np.isnan(x)) or np.any(x == np.inf):
        raise ValueError("log_D must not contain NaN or +inf")
    m = x.max()
    if not np.isfinite(m):
        raise ValueError("log_D has no finite entry: all weights are zero")
    lse = m + np.log(np.exp(x - m).sum())
    return np.exp(x - lse)
