"""Upscaling kernels U(σ|μ): the symmetric single-layer model and the 2-layer CNN.

Convention (paper eq. 9)
------------------------
Given block spins μ ±1 of shape ``(n, l, l)``, let σ̃ be their nearest-neighbour
upsampling (each spin copied to a 2x2 block, shape ``(n, 2l, 2l)``). A model
produces a local field ``h`` of shape ``(n, 2l, 2l)`` and the fine spins are
independent with

    p(σ_i = s | μ) = exp(s h_i) / (2 cosh h_i),   i.e.  p(up) = sigmoid(2 h_i).

For the single-layer model ``h_i = (Wμ)_i = Σ_(di,dj) W[di,dj] σ̃_(i+di, j+dj)``
with a ``k x k`` kernel, offsets ``di, dj ∈ [-(k-1)/2, (k-1)/2]``, indices taken
modulo ``L = 2l`` (periodic lattice, the torus) and **no bias** (Z2 symmetry:
U(-σ|-μ) = U(σ|μ)). The kernel is a cross-correlation, like ``torch.nn.functional.conv2d``;
it is invariant under the 8 symmetries of the square, with one parameter per
orbit of offsets (:func:`kernel_orbits`).

Periodic wrap-around at any size
--------------------------------
The first upscalings act on tiny lattices (``L = 2, 4``) where a k = 5 or 7
kernel is wider than the lattice: offsets then wrap around the torus several
times and their weights add up on the same site. Two code paths compute the
same torus field:

* ``"conv"``: circular padding by ``(k-1)/2`` and ``F.conv2d`` -- used when
  ``L >= k`` (fast);
* ``"roll"``: ``Σ_offsets W[di,dj] * torch.roll(σ̃, (-di, -dj))`` -- ``torch.roll``
  wraps modulo ``L`` as often as needed, so it is valid at every ``L``.

``method="auto"`` (default) picks ``"conv"`` when ``L >= k`` and ``"roll"``
otherwise. The two-layer model instead tiles its input periodically (indices
modulo ``L``) to size ``L + k - 1`` before each unpadded convolution, which is
the same torus convolution at every size.

The authors' released weights
-----------------------------
Their networks take 0/1 inputs ``x = (s+1)/2`` and output a logit ``z`` with
``p(up) = sigmoid(z)``. Single layer: ``z = Σ K x + b`` with the bias tied to
``b = -ΣK/2``, so ``z = Σ K (s+1)/2 - ΣK/2 = ½ Σ K s``; matching
``sigmoid(z) = sigmoid(2h)`` gives ``h = ¼ Σ K s``, i.e. **W = K/4**
(:func:`from_release_entry` does this conversion). Two layer: the weights are
copied verbatim into a :class:`TwoLayerUpscaler` built with ``input_01=True``
(the network sees ``(σ̃+1)/2``) and its field is ``h = z/2``.

Model files
-----------
:func:`save_model` writes a model with its metadata as one JSON document
(``"format": "dreamrg-model"``, the state dict as float64 lists), atomically;
:func:`load_model` reads it back and raises :class:`ModelFileError` for a
missing, corrupt or foreign file.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dreamrg._checks import check_int, is_int, json_safe
from dreamrg._version import __version__
from dreamrg.cache import atomic_file
from dreamrg.coarse import upsample_nearest_torch
from dreamrg.patches import check_odd_kernel_size as _check_k
from dreamrg.patches import kernel_orbits

__all__ = [
    "kernel_orbits",
    "symmetric_kernel",
    "SymmetricUpscaler",
    "TwoLayerUpscaler",
    "release_entries",
    "from_release_entry",
    "RELEASE_META_KEYS",
    "MODEL_KINDS",
    "FORMAT",
    "ModelFileError",
    "save_model",
    "load_model",
    "check_model_size",
    "model_bytes",
    "non_finite_weights",
    "MAX_KERNEL_SIZE",
    "MAX_CHANNELS",
    "MAX_MODEL_BYTES",
]

#: metadata copied from a release entry onto ``model.release_meta``
RELEASE_META_KEYS = (
    "file", "model", "kernel_size", "L_train", "set_size", "weighted_loss", "batch_size", "learning_rate",
)


@lru_cache(maxsize=None)
def _orbit_index(k: int) -> torch.Tensor:
    """``(k, k)`` int64 map from kernel cell ``[di+c, dj+c]`` to its orbit number."""
    c = k // 2
    pos = {rep: n for n, rep in enumerate(kernel_orbits(k))}
    idx = torch.empty((k, k), dtype=torch.long)
    for di in range(-c, c + 1):
        for dj in range(-c, c + 1):
            a, b = sorted((abs(di), abs(dj)))
            idx[di + c, dj + c] = pos[(a, b)]
    return idx


def symmetric_kernel(params, k: int) -> torch.Tensor:
    """Fill a ``k x k`` kernel with one value per symmetry orbit (differentiable).

    Parameters
    ----------
    params : torch.Tensor or array_like, shape ((k+1)(k+3)/8,)
        One value per orbit, in the order of :func:`kernel_orbits`.
    k : int
        Odd kernel size >= 3.

    Returns
    -------
    torch.Tensor, shape (k, k), dtype of ``params``
        ``kernel[di + c, dj + c] = W[di, dj]``, ``c = (k-1)/2``.
    """
    k = _check_k(k)
    p = torch.as_tensor(params)
    n_orb = (k + 1) * (k + 3) // 8
    if p.shape != (n_orb,):
        raise ValueError(f"a k={k} symmetric kernel needs {n_orb} parameters, got shape {tuple(p.shape)}")
    return p[_orbit_index(k).to(p.device)]


def _as_spin_tensor(x, dtype: torch.dtype, name: str) -> torch.Tensor:
    t = torch.as_tensor(x)
    if t.ndim != 3 or t.shape[1] != t.shape[2]:
        raise ValueError(f"{name} must have shape (n, l, l), got {tuple(t.shape)}")
    return t.to(dtype)


def _wrap_pad_index(x: torch.Tensor, c: int) -> torch.Tensor:
    """Periodically extend the last two axes by ``c`` on each side (any size): the plain
    reference, by fancy indexing (rows, then columns)."""
    L = x.shape[-1]
    idx = torch.arange(-c, L + c, device=x.device) % L
    return x[..., idx, :][..., idx]


class _WrapPad(torch.autograd.Function):
    """:func:`_wrap_pad_index` for ``c ≤ L`` by slices, bit for bit, forward and backward.

    Forward: ``F.pad(mode="circular")`` makes the same copies. Backward: the autograd of
    the index form adds the gradients of the copies of one site into zeros in increasing
    padded position, columns first, then rows (``index_put_`` with accumulation, serial
    on the CPU). The slice additions below do the same additions in the same order, so
    the summed gradients -- and every training trajectory -- are unchanged, at a third of
    the cost (``benchmarks/bench_pad.py``).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, c: int) -> torch.Tensor:
        ctx.c = c
        return F.pad(x, (c, c, c, c), mode="circular")

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        c = ctx.c
        L = g.shape[-1] - 2 * c
        cols = g.new_zeros((*g.shape[:-1], L))
        cols[..., L - c:] += g[..., :c]
        cols += g[..., c:c + L]
        cols[..., :c] += g[..., c + L:]
        out = g.new_zeros((*g.shape[:-2], L, L))
        out[..., L - c:, :] += cols[..., :c, :]
        out += cols[..., c:c + L, :]
        out[..., :c, :] += cols[..., c + L:, :]
        return out, None


def _wrap_pad(x: torch.Tensor, c: int) -> torch.Tensor:
    """Periodically extend the last two axes of ``(n, C, L, L)`` by ``c`` on each side (any ``c``)."""
    if x.dim() == 4 and 1 <= c <= x.shape[-1] and x.shape[-1] == x.shape[-2]:
        return _WrapPad.apply(x, c)
    return _wrap_pad_index(x, c)


class _Upscaler(torch.nn.Module):
    """Shared sampling / likelihood machinery; subclasses implement ``field``."""

    k: int

    def field(self, mu) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def n_params(self) -> int:
        """Number of trainable scalars."""
        return sum(p.numel() for p in self.parameters())

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def log_prob(self, sigma, mu) -> torch.Tensor:
        """``ln U(σ|μ) = Σ_i ln p(σ_i|μ) = Σ_i ln sigmoid(2 σ_i h_i)``, computed stably.

        Uses ``F.logsigmoid`` (= ``-softplus(-x)`` evaluated without overflow);
        ``F.softplus`` itself is avoided because its default ``threshold=20``
        linearises ``softplus(x) ≈ x`` and is off by up to ~2e-9 per site.

        Parameters
        ----------
        sigma : torch.Tensor or array_like, shape (n, 2l, 2l)
            Fine spins ±1 (any numeric dtype).
        mu : torch.Tensor or array_like, shape (n, l, l)
            Block spins ±1.

        Returns
        -------
        torch.Tensor, shape (n,), model dtype (float32 under a bfloat16/float16 autocast)
            Differentiable with respect to the parameters.
        """
        h = self.field(mu)
        if h.dtype in (torch.bfloat16, torch.float16):
            # autocast: the network in half precision, the likelihood not (the CPU's autocast runs logsigmoid in
            # float32 anyway; CUDA's would keep it in half precision, ~3 digits per site)
            h = h.float()
        s = _as_spin_tensor(sigma, h.dtype, "sigma")
        if s.shape != h.shape:
            raise ValueError(f"sigma has shape {tuple(s.shape)}, expected {tuple(h.shape)} (twice mu's size)")
        return F.logsigmoid(2.0 * s * h).sum(dim=(1, 2))

    @torch.no_grad()
    def prob_up(self, mu) -> torch.Tensor:
        """``p(σ_i = +1 | μ) = sigmoid(2 h_i)``, shape (n, 2l, 2l)."""
        return torch.sigmoid(2.0 * self.field(mu))

    @torch.no_grad()
    def sample(self, mu, generator: torch.Generator) -> torch.Tensor:
        """Draw σ ~ U(·|μ), every site independently.

        Parameters
        ----------
        mu : torch.Tensor or array_like, shape (n, l, l)
            Block spins ±1.
        generator : torch.Generator
            Source of the uniforms (one per fine site, drawn in the model dtype on the
            generator's device, then moved to the model's: a CPU generator gives the
            same uniforms whatever device the model is on).

        Returns
        -------
        torch.Tensor of int8, shape (n, 2l, 2l), on the model's device
            ``+1`` where the uniform is below ``sigmoid(2h)``, else ``-1``.
        """
        p = self.prob_up(mu)
        u = torch.rand(p.shape, generator=generator, dtype=p.dtype, device=generator.device).to(p.device)
        return torch.where(u < p, 1, -1).to(torch.int8)


class SymmetricUpscaler(_Upscaler):
    """Single-layer symmetric kernel, paper eq. 9: ``h = W σ̃`` on the torus, no bias.

    ``h_i = Σ_(di,dj) W[di,dj] σ̃_(i+di, j+dj)`` (indices mod L) with σ̃ the
    nearest-neighbour upsampling of μ (±1), ``p(σ_i=s|μ) = exp(s h_i)/(2 cosh h_i)``
    so ``p(up) = sigmoid(2h)``. ``W`` is symmetric under the square's 8
    symmetries, parametrised by one value per orbit (:func:`kernel_orbits`).

    Parameters
    ----------
    k : int
        Odd kernel size >= 3.
    params : array_like, shape ((k+1)(k+3)/8,), optional
        Initial orbit values of W (default zeros: p(up) = ½ everywhere).
    dtype : torch.dtype
        ``torch.float64`` (default) or ``torch.float32``.

    Attributes
    ----------
    params : torch.nn.Parameter, shape ((k+1)(k+3)/8,)
    """

    def __init__(self, k: int, params=None, dtype: torch.dtype = torch.float64):
        super().__init__()
        self.k = _check_k(k)
        check_model_size("symmetric", self.k)
        n_orb = (self.k + 1) * (self.k + 3) // 8
        if params is None:
            p = torch.zeros(n_orb, dtype=dtype)
        else:
            p = torch.as_tensor(np.asarray(params, dtype=np.float64)).to(dtype).clone()
            if p.shape != (n_orb,):
                raise ValueError(f"k={self.k} needs {n_orb} parameters, got shape {tuple(p.shape)}")
        self.params = torch.nn.Parameter(p)

    @property
    def kernel(self) -> torch.Tensor:
        """The full ``(k, k)`` kernel W, ``kernel[di+c, dj+c] = W[di, dj]``."""
        return symmetric_kernel(self.params, self.k)

    def field(self, mu, method: str = "auto") -> torch.Tensor:
        """Local field ``h = W σ̃`` on the torus.

        Parameters
        ----------
        mu : torch.Tensor or array_like, shape (n, l, l)
            Block spins ±1, any numeric dtype.
        method : {"auto", "conv", "roll"}
            ``"conv"`` (circular padding + conv2d, needs ``2l >= k``), ``"roll"``
            (sum of rolled copies, any size), ``"auto"``: conv when possible.

        Returns
        -------
        torch.Tensor, shape (n, 2l, 2l), model dtype
        """
        x = upsample_nearest_torch(_as_spin_tensor(mu, self.params.dtype, "mu"))
        L, k, c = x.shape[-1], self.k, self.k // 2
        W = self.kernel
        if method == "auto":
            method = "conv" if L >= k else "roll"
        if method == "conv":
            if L < k:
                raise ValueError(f"conv path needs lattice size L >= k, got L={L}, k={k}; use method='roll'")
            xp = F.pad(x[:, None], (c, c, c, c), mode="circular")
            return F.conv2d(xp, W[None, None])[:, 0]
        if method == "roll":
            h = torch.zeros_like(x)
            for di in range(-c, c + 1):
                for dj in range(-c, c + 1):
                    h = h + W[di + c, dj + c] * torch.roll(x, shifts=(-di, -dj), dims=(1, 2))
            return h
        raise ValueError(f"method must be 'auto', 'conv' or 'roll', got {method!r}")

    def extra_repr(self) -> str:
        return f"k={self.k}, n_params={self.n_params}"


class TwoLayerUpscaler(_Upscaler):
    """Two-layer CNN (paper section VI): upsample, conv k x k 1→C, ReLU, conv k x k C→1.

    Both convolutions have stride 1, free biases and periodic (torus) boundary
    conditions at any lattice size (periodic tiling + unpadded conv). The
    network's output is a logit ``z`` with ``p(up) = sigmoid(z)``; the field of
    the common convention ``p(up) = sigmoid(2h)`` is ``h = z/2``. There is no
    symmetry constraint. Parameters get torch's default initialisation
    (seed it with ``torch.manual_seed``).

    Parameters
    ----------
    k : int
        Odd kernel size >= 3 of both layers.
    channels : int
        Hidden channels (paper: 32).
    dtype : torch.dtype
        ``torch.float64`` (default) or ``torch.float32``.
    input_01 : bool
        If False (default) the first layer sees σ̃ ∈ {-1, +1}; if True it sees
        ``(σ̃+1)/2 ∈ {0, 1}``, the authors' convention (used to load their
        weights verbatim).

    Attributes
    ----------
    conv1 : torch.nn.Conv2d   (channels, 1, k, k) weights, (channels,) bias
    conv2 : torch.nn.Conv2d   (1, channels, k, k) weights, (1,) bias
    """

    def __init__(self, k: int, channels: int = 32, dtype: torch.dtype = torch.float64, input_01: bool = False):
        super().__init__()
        self.k = _check_k(k)
        self.channels = check_int(channels, "channels", 1)
        check_model_size("two-layer", self.k, self.channels)
        self.input_01 = bool(input_01)
        self.conv1 = torch.nn.Conv2d(1, self.channels, self.k, bias=True, dtype=dtype)
        self.conv2 = torch.nn.Conv2d(self.channels, 1, self.k, bias=True, dtype=dtype)

    def logit(self, mu) -> torch.Tensor:
        """Network output ``z`` (``p(up) = sigmoid(z)``), shape (n, 2l, 2l)."""
        x = upsample_nearest_torch(_as_spin_tensor(mu, self.conv1.weight.dtype, "mu"))
        if self.input_01:
            x = (x + 1.0) / 2.0
        c = self.k // 2
        y = torch.relu(self.conv1(_wrap_pad(x[:, None], c)))
        return self.conv2(_wrap_pad(y, c))[:, 0]

    def field(self, mu) -> torch.Tensor:
        """Local field ``h = z/2`` of the convention ``p(up) = sigmoid(2h)``.

        Parameters
        ----------
        mu : torch.Tensor or array_like, shape (n, l, l)
            Block spins ±1, any numeric dtype.

        Returns
        -------
        torch.Tensor, shape (n, 2l, 2l), model dtype
        """
        return 0.5 * self.logit(mu)

    def extra_repr(self) -> str:
        return f"k={self.k}, channels={self.channels}, input_01={self.input_01}"


# ---------------------------------------------------------------- authors' release

def _default_release_path():
    return resources.files("dreamrg") / "data" / "authors_single_layer.json"


def release_entries(path=None) -> list[dict]:
    """Entries of the authors' released models.

    Parameters
    ----------
    path : str or Path, optional
        A JSON file with a ``models`` list in the schema of
        ``../shared/authors-release/released_models.json`` (26 entries, single-
        and two-layer). Default: the packaged ``dreamrg/data/authors_single_layer.json``
        (the 16 single-layer entries only, same schema).

    Returns
    -------
    list of dict
        Each with ``file``, ``model`` (``"symmetric_single_layer"`` or
        ``"two_layer_32ch"``), ``kernel_size``, ``L_train``, ``batch_size``,
        ``set_size``, ``weighted_loss``, ``learning_rate`` and ``state_dict``
        (name -> ``{"shape": [...], "values": [...]}``, row-major).
    """
    src = _default_release_path() if path is None else Path(path)
    with src.open("r", encoding="utf-8") as fh:
        return list(json.load(fh)["models"])


def _tensor(entry: dict, name: str, dtype: torch.dtype) -> torch.Tensor:
    t = entry["state_dict"][name]
    return torch.tensor(t["values"], dtype=torch.float64).reshape(t["shape"]).to(dtype)


def from_release_entry(entry: dict, dtype: torch.dtype = torch.float64) -> torch.nn.Module:
    """Build a dreamrg model from one entry of the authors' release.

    Single layer: a :class:`SymmetricUpscaler` with ``params = K/4`` (their
    ``convs.params`` K are in the orbit order of :func:`kernel_orbits`; see the
    module docstring for W = K/4). Two layer: a :class:`TwoLayerUpscaler` with
    ``input_01=True`` and the weights copied verbatim (``convs.0`` -> ``conv1``,
    ``convs.2`` -> ``conv2``). Either way ``sigmoid(2 * model.field(mu))`` is
    their ``p(up)``.

    Parameters
    ----------
    entry : dict
        One element of :func:`release_entries`.
    dtype : torch.dtype
        Model dtype (default float64; the released numbers are float32 values).

    Returns
    -------
    SymmetricUpscaler or TwoLayerUpscaler
        With ``model.release_meta``: a dict of :data:`RELEASE_META_KEYS`.
    """
    kind, k = entry["model"], check_int(entry["kernel_size"], "kernel_size", 3)
    if kind == "symmetric_single_layer":
        K = _tensor(entry, "convs.params", torch.float64)
        model = SymmetricUpscaler(k, params=(K / 4.0).numpy(), dtype=dtype)
    elif kind == "two_layer_32ch":
        w1 = _tensor(entry, "convs.0.weight", dtype)
        model = TwoLayerUpscaler(k, channels=w1.shape[0], dtype=dtype, input_01=True)
        with torch.no_grad():
            for mine, theirs in ((model.conv1, "convs.0"), (model.conv2, "convs.2")):
                for attr in ("weight", "bias"):
                    src = _tensor(entry, f"{theirs}.{attr}", dtype)
                    dst = getattr(mine, attr)
                    if src.shape != dst.shape:
                        raise ValueError(f"{theirs}.{attr} has shape {tuple(src.shape)}, expected {tuple(dst.shape)}")
                    dst.copy_(src)
    else:
        raise ValueError(f"unknown model kind {kind!r}; expected 'symmetric_single_layer' or 'two_layer_32ch'")
    model.release_meta = {key: entry.get(key) for key in RELEASE_META_KEYS}
    return model


# ---------------------------------------------------------------- model files

#: model classes a model file can hold (the ``"model"`` field)
MODEL_KINDS = ("symmetric", "two-layer")
#: the ``"format"`` field of a model file
FORMAT = "dreamrg-model"


class ModelFileError(ValueError):
    """A model file is missing, corrupt or of another kind than expected."""


#: largest kernel size a model may have (the paper uses 3..7; the limit only keeps a damaged file from
#: asking for absurd amounts of memory)
MAX_KERNEL_SIZE = 255
#: most hidden channels of a two-layer model (the paper: 32)
MAX_CHANNELS = 4096
#: most memory the weights of one model may take (float64), checked before anything is allocated
MAX_MODEL_BYTES = 2**30


def model_bytes(kind: str, k: int, channels: int | None = None) -> int:
    """Bytes of float64 weights a model of this class and size holds (its full kernels)."""
    if kind == "symmetric":
        return 8 * k * k
    return 8 * (2 * channels * k * k + channels + 1)


def check_model_size(kind: str, k, channels=None) -> None:
    """ValueError unless a ``kind`` model of kernel size ``k`` (and ``channels``) is within the size limits.

    Runs before any allocation: ``k`` ≤ :data:`MAX_KERNEL_SIZE`, ``channels`` ≤ :data:`MAX_CHANNELS`
    and the weights within :data:`MAX_MODEL_BYTES` (the estimate is :func:`model_bytes`).
    """
    k = _check_k(k)
    if k > MAX_KERNEL_SIZE:
        raise ValueError(f"kernel size k={k} is beyond the largest supported, {MAX_KERNEL_SIZE}")
    if kind == "two-layer":
        channels = check_int(channels, "channels", 1)
        if channels > MAX_CHANNELS:
            raise ValueError(f"channels={channels} is beyond the largest supported, {MAX_CHANNELS}")
    need = model_bytes(kind, k, channels)
    if need > MAX_MODEL_BYTES:
        raise ValueError(f"a {kind} model with k={k}" + (f", channels={channels}" if kind == "two-layer" else "")
                         + f" would need {need / 2**30:.1f} GiB for its weights "
                           f"(limit {MAX_MODEL_BYTES / 2**30:.0f} GiB)")


def non_finite_weights(model: torch.nn.Module) -> dict[str, int]:
    """{parameter name: number of NaN or ±inf entries} of every tensor of ``model`` that has some."""
    return {name: int((~torch.isfinite(t)).sum()) for name, t in model.state_dict().items()
            if t.is_floating_point() and not bool(torch.isfinite(t).all())}


def _state_to_json(model: torch.nn.Module) -> dict[str, Any]:
    return {name: {"shape": list(t.shape), "values": t.detach().double().reshape(-1).tolist()}
            for name, t in model.state_dict().items()}


def save_model(path: str | os.PathLike, model: torch.nn.Module, meta: dict[str, Any]) -> Path:
    """Write a model and its metadata as JSON, atomically (temporary file + rename).

    A model whose weights are not all finite (a diverged training) is refused (ValueError).
    """
    path = Path(path)
    if isinstance(model, SymmetricUpscaler):
        kind, extra = "symmetric", {"k": model.k}
    elif isinstance(model, TwoLayerUpscaler):
        kind, extra = "two-layer", {"k": model.k, "channels": model.channels, "input_01": model.input_01}
    else:
        raise TypeError(f"cannot save a {type(model).__name__}")
    bad = non_finite_weights(model)
    if bad:
        raise ValueError(f"refusing to write {path}: the model's weights are not all finite "
                         f"({', '.join(f'{n}: {c} NaN/inf' for n, c in bad.items())}); the training diverged")
    doc = {"format": FORMAT, "format_version": 1, "model": kind, **extra,
           "dreamrg_version": __version__, "meta": json_safe(meta), "state_dict": _state_to_json(model)}
    with atomic_file(path) as tmp, open(tmp, "w") as fh:
        json.dump(doc, fh, allow_nan=False)
    return path


def _read_model_doc(path: Path) -> dict:
    """The JSON document of a model file; ModelFileError (naming the file) for anything else."""
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file; give the .json file 'dreamrg train' wrote")
    if not path.exists():
        if path.is_symlink():
            raise ModelFileError(f"model file {path} is a dangling symlink (to {os.readlink(path)})")
        raise ModelFileError(f"model file {path} does not exist")
    if not path.is_file():
        raise ModelFileError(f"{path} is not a regular file, so not a dreamrg model file")
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ModelFileError(f"{path} is not a dreamrg model file (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path} is not a dreamrg model file (invalid JSON: {exc})") from None
    except (ValueError, RecursionError) as exc:  # e.g. Python's limit on the digits of an integer
        what = "an integer in it has too many digits" if "digits" in str(exc) else f"{type(exc).__name__}"
        raise ModelFileError(f"{path} is not a usable dreamrg model file ({what})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a dreamrg model file (no '\"format\": \"{FORMAT}\"')")
    return doc


def _state_from_json(path: Path, model: torch.nn.Module, sd: Any) -> dict[str, torch.Tensor]:
    """The state dict of a model file, checked name by name against ``model`` before anything is built."""
    expect = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    if not isinstance(sd, dict) or set(sd) != set(expect):
        got = sorted(sd) if isinstance(sd, dict) else type(sd).__name__
        raise ModelFileError(f"{path} is a corrupt dreamrg model file: its state_dict holds {got}, "
                             f"expected {sorted(expect)}")
    state = {}
    for name, shape in expect.items():
        entry = sd[name]
        values = entry.get("values") if isinstance(entry, dict) else None
        if not isinstance(values, list) or entry.get("shape") != list(shape) or len(values) != int(np.prod(shape)):
            raise ModelFileError(f"{path} is a corrupt dreamrg model file: {name} must have shape {list(shape)} "
                                 f"and {int(np.prod(shape))} values")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise ModelFileError(f"{path} is a corrupt dreamrg model file: {name} holds values that are not numbers")
        try:
            t = torch.tensor(values, dtype=torch.float64).reshape(shape)
        except (OverflowError, RuntimeError) as exc:
            raise ModelFileError(f"{path} is a corrupt dreamrg model file: {name}: {exc}") from None
        n_bad = int((~torch.isfinite(t)).sum())
        if n_bad:
            raise ModelFileError(f"{path}: {name} has {n_bad} non-finite weight(s) (NaN or ±inf); a model must "
                                 "have finite weights (was it written by a diverged training?)")
        state[name] = t
    return state


def load_model(path: str | os.PathLike, expected: str | None = None) -> torch.nn.Module:
    """Load a model written by :func:`save_model`; ``model.meta`` holds its metadata.

    The file is checked before anything is allocated: its class, an integer kernel size
    and channel count within :func:`check_model_size`, a state dict of exactly the model's
    tensors and shapes, and finite weights. Any problem raises :class:`ModelFileError`
    naming the file.

    Parameters
    ----------
    expected : {"symmetric", "two-layer"}, optional
        Raise :class:`ModelFileError` if the file holds another model class.
    """
    path = Path(path)
    doc = _read_model_doc(path)
    kind = doc.get("model")
    if kind == "symmetric-conditioned":
        raise ModelFileError(f"{path} holds a temperature-conditioned model; load it with "
                             "dreamrg.conditioned.load_conditioned (or load_upscaler, which takes either kind)")
    if kind not in MODEL_KINDS:
        raise ModelFileError(f"{path}: unknown model class {kind!r}; allowed: {MODEL_KINDS}")
    if expected is not None and kind != expected:
        raise ModelFileError(f"{path} holds a {kind!r} model; expected {expected!r}")
    k, channels, input_01 = doc.get("k"), doc.get("channels"), doc.get("input_01", False)
    if not is_int(k):
        raise ModelFileError(f"{path} is a corrupt dreamrg model file: 'k' must be an odd integer ≥ 3; got {k!r}")
    if kind == "two-layer" and not is_int(channels):
        raise ModelFileError(f"{path} is a corrupt dreamrg model file: 'channels' must be an integer ≥ 1; "
                             f"got {channels!r}")
    if not isinstance(input_01, bool):
        raise ModelFileError(f"{path} is a corrupt dreamrg model file: 'input_01' must be true or false")
    try:
        check_model_size(kind, k, channels)
    except ValueError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    if kind == "symmetric":
        model = SymmetricUpscaler(k)
    else:
        model = TwoLayerUpscaler(k, channels=channels, input_01=input_01)
    model.load_state_dict(_state_from_json(path, model, doc.get("state_dict")))
    meta = doc.get("meta", {})
    model.meta = meta if isinstance(meta, dict) else {}
    return model
