"""Dreaming: repeated upscaling from a single block spin (paper Sec. III C).

Starting from ``L0 x L0`` configurations (by default ``L0 = 1``: one spin,
+1 or -1 with probability ½), a model is applied ``n_up`` times to reach
``L = 2**n_up L0``. Every chain's magnetisation ``M = Σ σ`` and energy
``E = Σ_<ij> σ_i σ_j`` (``2 L**2`` periodic bonds right and down; ``E = 2`` at
``L = 1``, the ``np.roll`` convention) are recorded at every level, including
the start.

Samplers
--------
* :func:`dream_batch` -- the fast path for the single-layer
  :class:`~dreamrg.models.SymmetricUpscaler` with ``k`` in {3, 5, 7} (and the
  two-layer network with ``k = 3``, whose receptive field is that of a 5 x 5
  kernel; see :func:`table_kernel_size`). The field
  of a fine site depends only on its block position and on the ``P x P`` coarse
  patch around it (``P = (k+1)/2``, see :mod:`dreamrg.patches`), so ``p(up)``
  is tabulated once as 32-bit integer thresholds (:func:`threshold_table`) and
  each fine spin costs one table look-up and half a 64-bit xoshiro256**
  output. Numba kernels in :mod:`dreamrg._dream_kernels` process the batch
  level by level (all chains to ``2 L0``, then all to ``4 L0``, ...), in
  parallel over chains.
* :func:`dream_batch_two_layer` -- the two-layer network with ``k`` = 5, 7:
  its hidden activations are a table over the first layer's patterns, so each
  logit is a sum of ``k**2`` look-ups in per-offset tables
  (:func:`two_layer_tables`), then sampled with the same per-chain streams.
* :func:`dream_batch_torch` -- the reference path: ``model.sample`` level by
  level (any model, including :class:`~dreamrg.models.TwoLayerUpscaler`),
  observables computed with numpy.

The fast paths agree with the reference in distribution (tested), not draw by draw.

Randomness and reproducibility (fast path)
------------------------------------------
A batch takes one 64-bit key from its :class:`numpy.random.SeedSequence`
(``seed.generate_state(1, np.uint64)[0]``; ``generate_state`` does not mutate
the sequence, so the same seed object always gives the same batch). Chain
``c`` seeds its own xoshiro256** state from the key and ``c`` with splitmix64,
draws its start spin (when ``start is None``) and then all its fine spins from
that stream. Chain ``c``'s result therefore depends only on ``(seed, c)`` and
the model -- not on the number of numba threads, and not on ``n`` (chain ``c``
of a batch of 10 equals chain ``c`` of a batch of 1000 with the same seed).
Use ``seed.spawn(...)`` for independent batches.

Threshold precision
-------------------
A fine spin is +1 iff a uniform 32-bit word ``u`` satisfies ``u < thr`` with
``thr = min(round(p 2**32), 2**32 - 1)``. The realised probability ``thr /
2**32`` differs from ``p`` by at most ``2**-33`` from rounding, except that
``p > 1 - 2**-33`` is realised as ``1 - 2**-32`` (an up-probability of exactly 1
is not representable in ``uint32``; a down spin then occurs with probability
``2**-32`` instead of ~0). This happens only for fields ``|h| > 11.4``, far
beyond trained models (``|h| <~ 3``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np
import torch
from scipy.special import expit

from dreamrg import _dream_kernels as _dk
from dreamrg import _histogram_kernels as _hk
from dreamrg import _rng_kernels as _rk
from dreamrg._checks import check_int
from dreamrg import patches
from dreamrg.models import SymmetricUpscaler, TwoLayerUpscaler

__all__ = [
    "MAX_SIZE",
    "DreamBatch",
    "table_kernel_size",
    "logit_table",
    "threshold_table",
    "probability_table",
    "upscale",
    "level_thresholds",
    "dream_batch",
    "two_layer_tables",
    "dream_batch_two_layer",
    "dream_batch_torch",
]

#: Largest final linear size accepted by the samplers.
MAX_SIZE = 4096

_TWO32 = 4294967296.0


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------
def table_kernel_size(model) -> int | None:
    """Kernel size of the single-layer patch geometry that holds ``model``'s receptive field, or None.

    A fine site's field depends on its block position and on the coarse cells
    within its receptive field. For the single-layer model that field is the
    ``k x k`` kernel itself; for the two-layer network it is ``(2k-1) x (2k-1)``
    fine sites (two stacked ``k x k`` convolutions), the window of a single-layer
    kernel of size ``2k - 1``. Whenever that size is in
    :data:`dreamrg.patches.KERNEL_SIZES` (single layer k = 3, 5, 7; two-layer
    k = 3) the model is a look-up table over the patterns of
    :func:`dreamrg.patches.patch_geometry` of that size.
    """
    if isinstance(model, SymmetricUpscaler):
        size = model.k
    elif isinstance(model, TwoLayerUpscaler):
        size = 2 * model.k - 1
    else:
        return None
    return size if size in patches.KERNEL_SIZES else None


def _check_tabulable(model) -> int:
    size = table_kernel_size(model)
    if size is None and isinstance(model, SymmetricUpscaler):
        raise ValueError(f"the table sampler supports k in {patches.KERNEL_SIZES}; got k={model.k}")
    if size is None:
        raise TypeError(
            f"the table sampler needs a single-layer model with k in {patches.KERNEL_SIZES} or a two-layer "
            f"model with k = 3; got {type(model).__name__} with k={getattr(model, 'k', None)} "
            "(use dream_batch_torch for other models)"
        )
    return size


def _upsampled_patterns(P: int, dtype: torch.dtype, input_01: bool) -> torch.Tensor:
    """Every P x P coarse pattern (bit ``a P + b`` = cell (a, b) is +1), upsampled: (2**(P*P), 1, 2P, 2P)."""
    codes = torch.arange(2 ** (P * P))
    bits = (codes[:, None] >> torch.arange(P * P)) & 1
    x = (2.0 * bits - 1.0).to(dtype).reshape(-1, 1, P, P)
    x = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # nearest-neighbour upsampling
    return (x + 1.0) / 2.0 if input_01 else x


def _per_position(z: torch.Tensor, start: tuple[int, int], shift: int) -> torch.Tensor:
    """Pick each block position's site from unpadded-convolution outputs ``z[..., 2P - 2 shift, 2P - 2 shift]``.

    The fine site ``2 c + p`` sits at row ``p - 2 start[p]`` of the upsampled patch,
    hence at ``p - 2 start[p] - shift`` after convolutions of total radius ``shift``.
    """
    idx = [p - 2 * start[p] - shift for p in (0, 1)]
    return torch.stack([z[..., idx[pi], idx[pj]] for pi in (0, 1) for pj in (0, 1)])


def _two_layer_patch_logits(model: TwoLayerUpscaler, size: int) -> torch.Tensor:
    P, start = patches.patch_geometry(size)
    x = _upsampled_patterns(P, model.conv1.weight.dtype, model.input_01)
    # unpadded ("valid") convolutions: every output below is inside the patch, so no wrapping is needed
    z = model.conv2(torch.relu(model.conv1(x)))[:, 0]  # (npat, 2P - 4r, 2P - 4r)
    return _per_position(z, start, 2 * (model.k // 2))


def two_layer_tables(model: TwoLayerUpscaler) -> tuple[np.ndarray, float]:
    """Per-offset tables of a two-layer network with ``k`` in {3, 5, 7} (float64).

    The hidden activation ``y_c`` at a fine site depends only on the site's block
    position and its ``P x P`` first-layer patch (the single-layer geometry of
    size ``k``). The logit at site ``t`` is therefore
    ``z(t) = b2 + sum_d G[d, pos(t + d), code(t + d)]`` with
    ``G[d, pos, code] = sum_c W2[c, d] y_c[pos, code]`` over the ``k x k`` offsets ``d``.

    Returns
    -------
    G : numpy.ndarray of float64, shape (k*k, 4, 2**(P*P))
        Offset ``d = (a - r, b - r)`` is row ``a k + b`` (``r = k // 2``).
    b2 : float
        Second-layer bias.
    """
    import copy

    _check_two_layer(model, "two_layer_tables")
    m = copy.deepcopy(model).to(torch.float64)
    P, start = patches.patch_geometry(m.k)
    with torch.no_grad():
        y = torch.relu(m.conv1(_upsampled_patterns(P, torch.float64, m.input_01)))  # (npat, C, 2P-2r, 2P-2r)
        hid = _per_position(y.permute(1, 0, 2, 3), start, m.k // 2)  # (4, C, npat)
        W2 = m.conv2.weight[0].reshape(m.channels, m.k * m.k)  # (C, k*k)
        G = torch.einsum("cd,qcn->dqn", W2, hid)
    return np.ascontiguousarray(G.numpy()), float(m.conv2.bias.detach()[0])


def logit_table(model) -> torch.Tensor:
    """Logit ``z`` (``p(up) = sigmoid(z)``) of a fine site for every block position and coarse pattern.

    Differentiable in the model's parameters (used to train on a pattern histogram).

    Parameters
    ----------
    model : SymmetricUpscaler or TwoLayerUpscaler
        A model with a table geometry (see :func:`table_kernel_size`).

    Returns
    -------
    torch.Tensor, shape (4, 2**(P*P)), model dtype
        ``out[pos, code]`` for ``pos = 2 (i % 2) + (j % 2)`` and ``code`` the patch
        pattern of :func:`dreamrg.patches.site_patterns` with kernel size
        :func:`table_kernel_size`. For the single-layer model this is
        ``2 F[pos, code] @ w`` (``F = patches.orbit_features(k)``).
    """
    size = _check_tabulable(model)
    if isinstance(model, SymmetricUpscaler):
        F = torch.from_numpy(patches.orbit_features(size)).to(model.params.dtype)
        return 2.0 * (F @ model.params)
    return _two_layer_patch_logits(model, size)


def probability_table(model) -> np.ndarray:
    """``p(up)`` of a fine site for every block position and coarse patch pattern.

    Parameters
    ----------
    model : SymmetricUpscaler or TwoLayerUpscaler
        Single-layer model with ``k`` in {3, 5, 7}, or two-layer model with ``k = 3``.

    Returns
    -------
    numpy.ndarray of float64, shape (4, 2**(P*P))
        ``out[pos, code] = sigmoid(z[pos, code])`` with ``z`` from :func:`logit_table`
        evaluated in float64; for the single-layer model ``z = 2 F[pos, code] @ w``.
    """
    size = _check_tabulable(model)
    if isinstance(model, SymmetricUpscaler):
        # numpy float64 route: the tables of the published single-layer results
        w = model.params.detach().cpu().to(torch.float64).numpy()
        F = patches.orbit_features(size)
        # one (4 npat, n) @ (n,) product: the numbers of the stacked F @ w (tested bit for bit), which numpy
        # computes 4-60x slower (a conditioned dream builds a table per level: 0.5 s at k = 7 otherwise)
        return expit(2.0 * (F.reshape(-1, F.shape[-1]) @ w).reshape(F.shape[:2]))
    import copy

    with torch.no_grad():
        z = logit_table(copy.deepcopy(model).to(torch.float64))
    return expit(z.numpy())


def threshold_table(model: SymmetricUpscaler) -> np.ndarray:
    """32-bit sampling thresholds for every block position and coarse patch pattern.

    Parameters
    ----------
    model : SymmetricUpscaler or TwoLayerUpscaler
        A model with a table geometry (:func:`table_kernel_size`).

    Returns
    -------
    numpy.ndarray of uint32, shape (4, 2**(P*P))
        ``min(round(p 2**32), 2**32 - 1)`` with ``p`` from
        :func:`probability_table`; a fine spin is +1 iff a uniform 32-bit word
        is strictly below its threshold (see the module notes on precision).
    """
    p = probability_table(model)
    return np.minimum(np.floor(p * _TWO32 + 0.5), _TWO32 - 1.0).astype(np.uint32)


# --------------------------------------------------------------------------
# Results and validation
# --------------------------------------------------------------------------
@dataclass
class DreamBatch:
    """Result of a batch of dreams.

    Attributes
    ----------
    final : numpy.ndarray of int8, shape (n, L, L)
        Final configurations, ``L = sizes[-1] = L0 2**n_up``.
    M : numpy.ndarray of int64, shape (n, n_up + 1)
        Magnetisation ``Σ σ`` of every chain at every level (column 0: start).
    E : numpy.ndarray of int64, shape (n, n_up + 1)
        Energy ``Σ_<ij> σ_i σ_j`` over the ``2 L**2`` periodic bonds right and down.
    sizes : list of int
        Linear size of every level, ``[L0, 2 L0, ..., L0 2**n_up]``.
    """

    final: np.ndarray
    M: np.ndarray
    E: np.ndarray
    sizes: list[int] = field(default_factory=list)

    @property
    def m(self) -> np.ndarray:
        """Magnetisation densities ``M / L**2``, float64, shape (n, n_up + 1)."""
        return self.M / np.asarray(self.sizes, dtype=np.float64) ** 2

    @property
    def e(self) -> np.ndarray:
        """Energy densities ``E / L**2``, float64, shape (n, n_up + 1)."""
        return self.E / np.asarray(self.sizes, dtype=np.float64) ** 2


def _check_int(x, name: str, minimum: int) -> int:
    """Strict integer argument (int or numpy integer; not bool, float or str): :func:`dreamrg._checks.check_int`."""
    return check_int(x, name, minimum)


def _check_spins(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an integer array of ±1 (int8); got dtype {a.dtype}")
    if a.size and not np.all((a == 1) | (a == -1)):
        raise ValueError(f"{name} must contain only +1 and -1")
    return np.ascontiguousarray(a, dtype=np.int8)


def _check_dream_args(n, n_up, L0, start, max_bytes, bytes_per_site: float, what: str):
    """Validate the common arguments; return ``(n, n_up, L0, L, start_int8_or_None)``."""
    n = _check_int(n, "n", 1)
    n_up = _check_int(n_up, "n_up", 1)
    L0 = _check_int(L0, "L0", 1)
    if n_up > 12 or L0 * 2**n_up > MAX_SIZE:
        raise ValueError(f"final size L0 * 2**n_up = {L0} * 2**{n_up} exceeds the maximum {MAX_SIZE}")
    L = L0 * 2**n_up
    if start is None:
        if L0 != 1:
            raise ValueError(
                f"start=None draws single random spins and needs L0 = 1; got L0={L0} (pass start configurations)"
            )
    else:
        start = _check_spins(start, "start")
        if start.shape != (n, L0, L0):
            raise ValueError(f"start must have shape (n, L0, L0) = {(n, L0, L0)}; got {start.shape}")
    need = n * L * L * bytes_per_site
    if need > max_bytes:
        n_max = max(1, int(max_bytes // (L * L * bytes_per_site)))
        raise ValueError(
            f"{what} would need about {need / 2**20:.0f} MiB for n={n} chains of final size L={L} "
            f"(> max_bytes = {max_bytes / 2**20:.0f} MiB); reduce the batch to n <= {n_max} "
            "(split the work into several batches with seed.spawn(...)) or raise max_bytes"
        )
    return n, n_up, L0, L, start


def _as_seed_sequence(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.SeedSequence(int(seed))
    raise ValueError(f"seed must be a numpy.random.SeedSequence (or a non-negative int); got {seed!r}")


def _rng_states(seed, n: int) -> np.ndarray:
    key = _as_seed_sequence(seed).generate_state(1, np.uint64)[0]
    states = np.empty((n, 4), dtype=np.uint64)
    _rk.seed_states(np.uint64(key), 0, states)
    return states


def _states_and_start(seed, n: int, start: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-chain PRNG states and the level-0 configurations (single random spins if ``start`` is None)."""
    states = _rng_states(seed, n)
    if start is None:
        start = np.empty((n, 1, 1), dtype=np.int8)
        _dk.random_spins(states, start)
    return states, start


def _check_two_layer(model, what: str) -> TwoLayerUpscaler:
    if not isinstance(model, TwoLayerUpscaler) or model.k not in patches.KERNEL_SIZES:
        raise TypeError(f"{what} needs a TwoLayerUpscaler with k in {patches.KERNEL_SIZES}; "
                        f"got {type(model).__name__} (use dream_batch_torch for other models)")
    return model


def _patch_args(model) -> tuple[int, np.ndarray]:
    P, start = patches.patch_geometry(_check_tabulable(model))
    return P, np.asarray(start, dtype=np.int64)


def _n_chunks(n: int) -> int:
    return max(1, min(n, numba.get_num_threads()))


# --------------------------------------------------------------------------
# Fast path
# --------------------------------------------------------------------------
def upscale(model: SymmetricUpscaler, mu: np.ndarray, seed: np.random.SeedSequence) -> np.ndarray:
    """One upscaling step with the table sampler.

    Parameters
    ----------
    model : SymmetricUpscaler or TwoLayerUpscaler
        A model with a table geometry (:func:`table_kernel_size`).
    mu : numpy.ndarray of int, shape (n, l, l)
        Coarse configurations (±1), any ``l >= 1``.
    seed : numpy.random.SeedSequence
        Seed of the batch (chain ``c`` uses the stream derived from the key and ``c``).

    Returns
    -------
    numpy.ndarray of int8, shape (n, 2 l, 2 l)
        Fine spins, independent given ``mu``, +1 with probability
        ``model.prob_up(mu)`` (up to the 32-bit threshold precision).
    """
    _check_tabulable(model)
    mu = _check_spins(mu, "mu")
    if mu.ndim != 3 or mu.shape[1] != mu.shape[2] or mu.shape[0] < 1 or mu.shape[1] < 1:
        raise ValueError(f"mu must have shape (n, l, l) with n, l >= 1; got {mu.shape}")
    n, l = mu.shape[0], mu.shape[1]
    if 2 * l > MAX_SIZE:
        raise ValueError(f"fine size 2 l = {2 * l} exceeds the maximum {MAX_SIZE}")
    P, start = _patch_args(model)
    out = np.empty((n, 2 * l, 2 * l), dtype=np.int8)
    _dk.upscale_level(threshold_table(model), P, start, mu, _rng_states(seed, n), out, _n_chunks(n))
    return out


def _per_level(model, n_up: int) -> list | None:
    """The list of per-level models if ``model`` is a sequence (one per level, checked), else None."""
    if not isinstance(model, (list, tuple)):
        return None
    if len(model) != n_up:
        raise ValueError(f"a sequence of models needs one model per level: n_up = {n_up}, got {len(model)}")
    sizes = {table_kernel_size(m) for m in model}
    if len(sizes) != 1:
        raise ValueError(f"the per-level models must share one table geometry; got sizes {sorted(map(str, sizes))}")
    return list(model)


def level_thresholds(model, n_up: int) -> tuple[np.ndarray, np.ndarray]:
    """Threshold tables of a dream and the table of each level, as :func:`dreamrg._dream_kernels.dream` takes them.

    Parameters
    ----------
    model : model with a table geometry, or a sequence of ``n_up`` of them
        One model for every level, or level ``ℓ`` (1..n_up) drawn with ``model[ℓ - 1]``.
    n_up : int

    Returns
    -------
    thr : numpy.ndarray of uint32, shape (1 or n_up, 4, 2**(P*P))
        :func:`threshold_table` of each model.
    level_table : numpy.ndarray of int64, shape (n_up,)
        Index into ``thr`` of every level (zeros, or ``arange(n_up)``).
    """
    n_up = _check_int(n_up, "n_up", 1)
    levels = _per_level(model, n_up)
    if levels is None:
        _check_tabulable(model)
        return threshold_table(model)[None], np.zeros(n_up, dtype=np.int64)
    _check_tabulable(levels[0])
    return np.stack([threshold_table(m) for m in levels]), np.arange(n_up, dtype=np.int64)


def dream_batch(
    model,
    n: int,
    n_up: int,
    seed: np.random.SeedSequence,
    L0: int = 1,
    start: np.ndarray | None = None,
    max_bytes: int = 2**31,
    thresholds: tuple[np.ndarray, np.ndarray] | None = None,
) -> DreamBatch:
    """Dream ``n`` configurations with the table sampler (models with a table geometry).

    Parameters
    ----------
    model : SymmetricUpscaler or TwoLayerUpscaler, or a sequence of ``n_up`` of them
        A model with a table geometry (:func:`table_kernel_size`), used at every level; or
        one model per level (level ``ℓ`` is drawn with ``model[ℓ - 1]``, all of one geometry),
        e.g. a temperature-conditioned model at each level's coupling. Either way each
        level costs one table look-up per spin.
    n : int
        Number of chains (``>= 1``).
    n_up : int
        Number of upscalings (``>= 1``); final size ``L = L0 2**n_up <= 4096``.
    seed : numpy.random.SeedSequence
        Seed of the batch (a non-negative int is accepted as ``SeedSequence(int)``).
        It is not mutated: the same seed gives the same batch.
    L0 : int
        Start size. With ``start=None`` it must be 1 and each start spin is ±1
        with probability ½, drawn from the chain's own stream.
    start : numpy.ndarray of int, shape (n, L0, L0), optional
        Start configurations (e.g. Monte Carlo samples), ±1.
    max_bytes : int
        Refuse batches whose configuration memory, ``1.25 n L**2`` bytes (final
        configurations plus one half-size buffer for the intermediate levels),
        exceeds this.
    thresholds : (thr, level_table), optional
        :func:`level_thresholds` of ``model`` if already computed (a run computes them
        once for all its batches).

    Returns
    -------
    DreamBatch
        Final configurations and ``M``, ``E`` at every level.

    Raises
    ------
    TypeError
        If ``model`` has no table geometry (:func:`table_kernel_size` is None).
    ValueError
        For invalid sizes, seeds or start configurations, or a batch above ``max_bytes``.
    """
    levels = _per_level(model, _check_int(n_up, "n_up", 1))
    first = model if levels is None else levels[0]
    _check_tabulable(first)
    n, n_up, L0, L, start = _check_dream_args(n, n_up, L0, start, max_bytes, 1.25, "dream_batch")
    P, offsets = _patch_args(first)
    thr, level_table = level_thresholds(model, n_up) if thresholds is None else thresholds
    if (thr.dtype != np.uint32 or thr.ndim != 3 or thr.shape[1:] != (4, 2 ** (P * P)) or level_table.shape != (n_up,)
            or level_table.dtype != np.int64 or level_table.min() < 0 or level_table.max() >= thr.shape[0]):
        raise ValueError(f"thresholds of shapes {thr.shape}, {level_table.shape} do not belong to this model and n_up")
    states, start = _states_and_start(seed, n, start)
    final = np.empty(n * L * L, dtype=np.int8)
    scratch = np.empty(n * (L // 2) ** 2, dtype=np.int8)
    M = np.empty((n, n_up + 1), dtype=np.int64)
    E = np.empty((n, n_up + 1), dtype=np.int64)
    _dk.dream(np.ascontiguousarray(thr), level_table, P, offsets, start, states, n_up, final, scratch, M, E,
              _n_chunks(n))
    return DreamBatch(final.reshape(n, L, L), M, E, [L0 * 2**t for t in range(n_up + 1)])


def dream_batch_two_layer(
    model: TwoLayerUpscaler,
    n: int,
    n_up: int,
    seed: np.random.SeedSequence,
    L0: int = 1,
    start: np.ndarray | None = None,
    max_bytes: int = 2**31,
    tables: tuple[np.ndarray, float] | None = None,
) -> DreamBatch:
    """Dream ``n`` configurations of a two-layer network (``k`` in {3, 5, 7}) through its offset tables.

    For ``k = 3`` the whole network is one pattern table and :func:`dream_batch`
    is faster; this path serves ``k = 5, 7``, whose receptive fields (9x9, 13x13)
    are too large for one table. Per level it computes every fine site's
    first-layer patch code, the logit as a sum of ``k**2`` look-ups in
    :func:`two_layer_tables` (float64), and draws the spins with the chain's
    xoshiro256** stream (32-bit thresholds, as :func:`dream_batch`; chain ``c``
    depends only on ``(seed, c)``). Memory: ``~17 n L**2`` bytes at the last level.

    Parameters and return value as in :func:`dream_batch`; ``tables`` is
    ``two_layer_tables(model)`` if already computed (0.4 s at k = 7; reuse it across batches).
    """
    _check_two_layer(model, "dream_batch_two_layer")
    n, n_up, L0, L, start = _check_dream_args(n, n_up, L0, start, max_bytes, 17.25, "dream_batch_two_layer")
    states, start = _states_and_start(seed, n, start)
    G, b2 = two_layer_tables(model) if tables is None else tables
    P, offsets = patches.patch_geometry(model.k)
    if G.shape != (model.k**2, 4, 2 ** (P * P)):
        raise ValueError(f"tables of shape {G.shape} do not belong to a two-layer model with k={model.k}")
    offsets = np.asarray(offsets, dtype=np.int64)
    M = np.empty((n, n_up + 1), dtype=np.int64)
    E = np.empty((n, n_up + 1), dtype=np.int64)
    x = np.ascontiguousarray(start)
    _dk.magnetisation_energy(x, M[:, 0], E[:, 0])
    for t in range(1, n_up + 1):
        Lt = 2 * x.shape[1]
        codes = np.empty((n, Lt, Lt), dtype=np.int64)
        _hk.site_pattern_codes(x, P, offsets, codes)
        z = np.empty((n, Lt, Lt), dtype=np.float64)
        _dk.two_layer_logits(G, b2, codes, model.k, z)
        del codes
        x = np.empty((n, Lt, Lt), dtype=np.int8)
        _dk.sample_logits(z, states, x)
        del z
        Mt, Et = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        _dk.magnetisation_energy(x, Mt, Et)
        M[:, t], E[:, t] = Mt, Et
    return DreamBatch(x, M, E, [L0 * 2**t for t in range(n_up + 1)])


# --------------------------------------------------------------------------
# Reference path
# --------------------------------------------------------------------------
def _mag_energy_np(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = x.astype(np.int64)
    M = s.sum(axis=(1, 2))
    E = (s * (np.roll(s, -1, axis=1) + np.roll(s, -1, axis=2))).sum(axis=(1, 2))
    return M, E


@torch.no_grad()
def dream_batch_torch(
    model,
    n: int,
    n_up: int,
    generator: torch.Generator,
    L0: int = 1,
    start: np.ndarray | None = None,
    max_bytes: int = 2**31,
) -> DreamBatch:
    """Reference dreaming with ``model.sample``, level by level (any upscaler).

    Parameters
    ----------
    model : SymmetricUpscaler or TwoLayerUpscaler, or a sequence of ``n_up`` models
        Any model with a ``sample(mu, generator)`` method, or one per level (level ``ℓ``
        drawn with ``model[ℓ - 1]``): the reference of the per-level table sampler.
    n, n_up, L0, start :
        As in :func:`dream_batch`. With ``start=None`` (``L0 = 1``) the start
        spins are drawn with ``torch.randint`` from ``generator``.
    generator : torch.Generator
        Source of all randomness.
    max_bytes : int
        Refuse batches above ``(5 b + 1) n L**2`` bytes, ``b`` the model's float
        size (rough peak of the upsampled input, padded input, field,
        probabilities and uniforms at the last level: 41 bytes per site in
        float64, 21 in float32).

    Returns
    -------
    DreamBatch
    """
    levels = _per_level(model, _check_int(n_up, "n_up", 1)) or [model] * n_up
    try:
        itemsize = max(m.dtype.itemsize for m in levels)
    except (AttributeError, StopIteration):
        itemsize = 8
    n, n_up, L0, L, start = _check_dream_args(n, n_up, L0, start, max_bytes, 5.0 * itemsize + 1.0, "dream_batch_torch")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    if start is None:
        x = (2 * torch.randint(0, 2, (n, 1, 1), generator=generator) - 1).to(torch.int8)
    else:
        x = torch.from_numpy(start)
    M = np.empty((n, n_up + 1), dtype=np.int64)
    E = np.empty((n, n_up + 1), dtype=np.int64)
    M[:, 0], E[:, 0] = _mag_energy_np(x.numpy())
    for t in range(1, n_up + 1):
        x = levels[t - 1].sample(x, generator)
        M[:, t], E[:, t] = _mag_energy_np(x.numpy())
    return DreamBatch(x.numpy().astype(np.int8, copy=False), M, E, [L0 * 2**t for t in range(n_up + 1)])
