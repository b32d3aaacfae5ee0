"""Training the upscalers: the paper's AdamW schedule and the exact optimum.

AdamW (the paper's section III.B)
---------------------------------
Minibatches of fine configurations σ are unpacked from the bit-packed store on
the fly (the packed training set is held in memory: 128 MB for 10^6
configurations at L_t = 32, 2 GB at 128; never the float configurations). Every
epoch draws a fresh permutation and fresh majority-rule tie-breaks from
``SeedSequence(seed, spawn_key=(epoch,))``. The loss is the negative
log-likelihood per configuration,

* unweighted (eq. 12): ``-(1/B) Σ_a log U(σ_a|μ_a)`` over a batch of B;
* weighted (eq. 13): ``-Σ_a w_a log U(σ_a|μ_a)`` with ``w_a = D(μ_a|σ_a) / Σ_b D(μ_b|σ_b)``
  normalised over the batch in log space (``D = 2^-ties`` underflows).

Optimiser: ``torch.optim.AdamW`` with learning rate 0.01 and torch's default
weight decay (0.01; the paper does not state it), no schedule, no early stopping.
The validation loss is computed every epoch on the independent validation set with
one fixed tie-break draw.

For the single-layer model the gradient of a batch is computed from the batch's
(position, coarse pattern, fine spin) histogram (the reduction of
:mod:`dreamrg.exact_fit`) instead of by autograd: same batches, tie-breaks and
optimiser, in float64, and 18-31x faster (``benchmarks/bench_exact_fit.py``). The
torch autograd route stays available (``engine="torch"``) as the reference the
tests compare it to, and is the only one for the two-layer model.

Exact optimum (beyond the paper)
--------------------------------
For the single-layer models the loss is a convex logistic regression in the
kernel parameters. :func:`train_exact` reduces the whole training set to a
histogram over (block position, coarse pattern, fine spin) and minimises the
loss with Newton's method (:mod:`dreamrg.exact_fit`). The weighted variant
normalises the weights over the whole training set (the objective eq. 13 is an
estimate of), not per batch.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import pickle
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dreamrg import coarse, models
from dreamrg._checks import check_int
from dreamrg._device import device_tag, resolve_device
from dreamrg.patches import KERNEL_SIZES
from dreamrg.cache import atomic_file
from dreamrg._progress import _no_bar
from dreamrg.store import data_identity, open_store, unpack

METHODS = ("adamw", "exact")

def _finite_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)


@dataclass(frozen=True)
class TrainParams:
    """Hyper-parameters of one training run (validated on construction)."""

    k: int
    model: str = "symmetric"
    weighted: bool = False
    method: str = "adamw"
    epochs: int = 50
    batch_size: int = 50_000
    lr: float = 0.01
    weight_decay: float = 0.01
    channels: int = 32
    seed: int = 0
    #: stop after the first epoch whose validation loss per configuration is <= this
    #: (the complexity chapter trains the two-layer network "to a comparable validation loss")
    target_loss: float | None = None
    #: also stop once the validation loss has not improved on its best for this many
    #: epochs, and return the best epoch's weights (None: no such stop; the last epoch's)
    patience: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 3 or self.k % 2 == 0:
            raise ValueError(f"k must be an odd integer ≥ 3; got {self.k!r}")
        for name in ("epochs", "batch_size", "channels", "seed"):
            check_int(getattr(self, name), name)
        if self.model not in models.MODEL_KINDS:
            raise ValueError(f"model must be one of {models.MODEL_KINDS}; got {self.model!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {self.method!r}")
        if self.method == "exact" and self.model != "symmetric":
            raise ValueError("the exact optimum exists only for the single-layer symmetric model")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be ≥ 1; got {self.epochs}, {self.batch_size}")
        if not (_finite_number(self.lr) and _finite_number(self.weight_decay)
                and self.lr > 0 and self.weight_decay >= 0):
            raise ValueError(f"lr must be a finite number > 0 and weight_decay one ≥ 0; "
                             f"got {self.lr}, {self.weight_decay}")
        if self.seed < 0 or self.channels < 1:
            raise ValueError("seed must be ≥ 0 and channels ≥ 1")
        if self.target_loss is not None and not (isinstance(self.target_loss, (int, float))
                                                 and math.isfinite(self.target_loss) and self.target_loss > 0):
            raise ValueError(f"target_loss must be None or a finite positive number; got {self.target_loss!r}")
        if self.target_loss is not None and self.method != "adamw":
            raise ValueError("target_loss applies to AdamW training only")
        if self.patience is not None and not (isinstance(self.patience, (int, np.integer))
                                              and not isinstance(self.patience, bool) and self.patience >= 1):
            raise ValueError(f"patience must be None or an integer ≥ 1; got {self.patience!r}")
        if self.patience is not None and self.method != "adamw":
            raise ValueError("patience applies to AdamW training only")


#: fields of :class:`TrainParams` that only decide where an AdamW run stops and which
#: epoch it returns; the epochs themselves (weights, losses) do not depend on them
STOPPING_FIELDS = ("epochs", "target_loss", "patience")


def stopping_point(valid_loss, epochs: int, target_loss: float | None = None,
                   patience: int | None = None) -> tuple[bool, int]:
    """The stopping rule of :func:`train_adamw`, as a function of the validation losses so far.

    Returns ``(stop, returned)``: whether a run whose epochs 1..n gave ``valid_loss``
    stops after epoch n, and the (1-based) epoch whose weights it returns. A run stops
    after ``epochs`` epochs, after the first epoch at or below ``target_loss``, or once
    ``patience`` epochs have passed without improving on the best validation loss.
    Without ``patience`` it returns the last epoch; with it, the best (first minimum).
    The last epoch of a run stopped by ``target_loss`` is always its best: an earlier
    epoch at or below it would have stopped the run.
    """
    n = len(valid_loss)
    if n == 0:
        return False, 0
    best = int(np.argmin(valid_loss)) + 1
    stop = (n >= epochs or (target_loss is not None and valid_loss[-1] <= target_loss)
            or (patience is not None and n - best >= patience))
    return bool(stop), (best if patience is not None else n)


def build_model(params: TrainParams, dtype: torch.dtype = torch.float64) -> torch.nn.Module:
    if params.model == "symmetric":
        return models.SymmetricUpscaler(params.k, dtype=dtype)
    torch.manual_seed(params.seed)  # torch's default init; seeded for reproducibility
    return models.TwoLayerUpscaler(params.k, channels=params.channels, dtype=dtype)


class _PackedSet:
    """The first ``n`` packed configurations of a store, held in memory (uint8)."""

    def __init__(self, path: str | os.PathLike, n: int | None):
        st = open_store(path)
        if st.L % 2:
            raise ValueError(f"training data must have even L (majority rule on 2x2 blocks); {path} has L={st.L}")
        n = st.count if n is None else check_int(n, "the number of configurations to use")
        if n < 1 or n > st.count:
            raise ValueError(f"{path} holds {st.count} configurations; cannot use {n}")
        self.L = st.L
        self.packed = st.read_packed(0, n)

    def __len__(self) -> int:
        return len(self.packed)

    def batch(self, idx: np.ndarray) -> np.ndarray:
        return unpack(self.packed[np.sort(idx)], self.L)


def _batch_loss(model, sigma: np.ndarray, rng: np.random.Generator, weighted: bool, dtype,
                bf16: bool = False) -> tuple[torch.Tensor, int]:
    # tie-breaks drawn with numpy on the CPU whatever the model's device; the tensors then move there
    mu, log_d = coarse.majority_rule(sigma, rng)
    dev = next(model.parameters()).device
    # bf16: the network's convolutions in bfloat16; log_prob's likelihood (and the weights) stay in float32
    with torch.autocast(dev.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext():
        logp = model.log_prob(torch.from_numpy(sigma).to(dev, dtype), torch.from_numpy(mu).to(dev, dtype))
    if weighted:
        w = torch.from_numpy(coarse.log_weights_normalised(log_d)).to(dev, logp.dtype)
        return -(w * logp).sum(), len(sigma)
    return -logp.mean(), len(sigma)


def _validation_batches(valid: _PackedSet, seed: int, batch: int):
    """Validation batches in order, with the one fixed tie-break stream (of ``seed``) every evaluation reuses."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31,)))
    for lo in range(0, len(valid), batch):
        yield valid.batch(np.arange(lo, min(lo + batch, len(valid)))), rng


def _validation_loss(model, valid: _PackedSet, weighted: bool, seed: int, batch: int, dtype) -> float:
    total, n = 0.0, 0
    with torch.no_grad():
        for sigma, rng in _validation_batches(valid, seed, batch):
            loss, size = _batch_loss(model, sigma, rng, weighted, dtype)
            total += float(loss) * size
            n += size
    return total / n


class _HistogramLoss:
    """Exact per-batch loss and gradient from a (position, coarse pattern, spin) histogram.

    When a fine site's field depends only on its block position and a small coarse
    patch (:func:`dreamrg.sampler.table_kernel_size`: the single-layer model with
    k = 3, 5, 7 and the two-layer network with k = 3), the loss of a batch depends
    on the data only through its pattern histogram (:mod:`dreamrg.exact_fit`),
    normalised like eq. (12)/(13) over the batch. Building the histogram costs a
    few µs per configuration; the loss and gradient on it then cost microseconds
    (single layer: fused numba pass) to a millisecond (two-layer: torch autograd
    through :func:`dreamrg.sampler.logit_table`), independent of the batch size.
    """

    def __init__(self, model: torch.nn.Module, weighted: bool):
        from dreamrg import exact_fit, sampler

        self._fit, self._sampler = exact_fit, sampler
        self.size = sampler.table_kernel_size(model)
        if self.size is None:
            raise ValueError(f"no pattern-histogram loss for {type(model).__name__} with k={model.k}")
        self.symmetric = isinstance(model, models.SymmetricUpscaler)
        self.weighted = weighted

    def counts(self, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mu, log_d = coarse.majority_rule(sigma, rng)
        # two partial histograms: enough for two threads, and cheap to clear and sum for small batches
        return self._fit.pattern_histogram(sigma, mu, self.size, log_weights=log_d if self.weighted else None,
                                           n_chunks=2)

    def _torch_loss(self, model, counts: np.ndarray) -> torch.Tensor:
        z = self._sampler.logit_table(model)
        c = torch.from_numpy(counts).to(z.dtype)
        return -(c[..., 1] * torch.nn.functional.logsigmoid(z) + c[..., 0] * torch.nn.functional.logsigmoid(-z)).sum()

    def loss_grad(self, model, counts: np.ndarray) -> float:
        """The batch loss; stores its gradient in the parameters' ``.grad``."""
        if self.symmetric:
            loss, grad = self._fit.histogram_loss_grad(model.params.detach().numpy(), counts, self.size)
            model.params.grad = torch.from_numpy(grad)
            return float(loss)
        loss_t = self._torch_loss(model, counts)
        loss_t.backward()
        return float(loss_t.detach())

    def loss(self, model, counts: np.ndarray) -> float:
        if self.symmetric:
            return self._fit.histogram_loss(model.params.detach().numpy(), counts, self.size)
        with torch.no_grad():
            return float(self._torch_loss(model, counts))


def _validation_counts(hl: _HistogramLoss, valid: _PackedSet, seed: int, batch: int):
    """Per-batch validation histograms with the fixed tie-break draw of :func:`_validation_loss`."""
    return [(hl.counts(sigma, rng), len(sigma)) for sigma, rng in _validation_batches(valid, seed, batch)]


def adamw_step(model, opt, sigma: np.ndarray, rng: np.random.Generator, weighted: bool, dtype,
               hl: _HistogramLoss | None = None, bf16: bool = False) -> float:
    """One optimiser step on a batch; returns the batch loss.

    With ``hl`` the gradient comes from the batch's pattern histogram, otherwise
    from torch autograd through ``model.log_prob`` (with ``bf16``, under bfloat16 autocast).
    """
    opt.zero_grad()
    if hl is not None:
        loss = hl.loss_grad(model, hl.counts(sigma, rng))
    else:
        loss_t, _ = _batch_loss(model, sigma, rng, weighted, dtype, bf16)
        loss_t.backward()
        loss = float(loss_t.detach())
    opt.step()
    return float(loss)


ENGINES = ("auto", "histogram", "torch")


def resolve_engine(params: TrainParams, engine: str = "auto", device: str | torch.device | None = "cpu") -> str:
    """The AdamW gradient engine actually used for ``params`` on ``device`` (see :func:`train_adamw`)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}; got {engine!r}")
    on_cpu = resolve_device(device).type == "cpu"
    if engine == "histogram" and not on_cpu:
        raise ValueError(f"the histogram engine computes on the CPU (numba); --device {device} needs the torch engine")
    # the models with a pattern table (sampler.table_kernel_size): a single layer whose kernel, or a two-layer
    # network whose receptive field (2k - 1), has a patch geometry: single layer k = 3, 5, 7; two-layer k = 3
    tabulable = (params.k if params.model == "symmetric" else 2 * params.k - 1) in KERNEL_SIZES
    if engine == "auto":
        return "histogram" if tabulable and on_cpu else "torch"
    if engine == "histogram" and not tabulable:
        raise ValueError("the histogram engine exists for the single-layer model with k = 3, 5, 7 and the "
                         f"two-layer model with k = 3 only; got the {params.model} model with k = {params.k}")
    return engine


#: Seconds of training between two checkpoints inside an epoch (a k = 7 two-layer epoch takes ~45 min).
CHECKPOINT_SECONDS = 300.0


def train_adamw(params: TrainParams, train_path, valid_path, *, n_train: int | None = None,
                n_valid: int | None = None, progress: bool | None = None,
                dtype: torch.dtype | None = None, engine: str = "auto",
                checkpoint: str | os.PathLike | None = None,
                checkpoint_seconds: float = CHECKPOINT_SECONDS,
                device: str | torch.device | None = "cpu", bf16: bool = False) -> tuple[torch.nn.Module, dict]:
    """Train with AdamW as in the paper. Returns (model, history).

    ``history`` holds per-epoch ``train_loss`` (mean of the batch losses),
    ``valid_loss``, ``seconds`` and the single-layer ``params`` trajectory.
    Losses are per configuration (eq. 12/13 without the 1/L² of a per-spin loss).

    Engines (same batches, tie-breaks and optimiser; they differ only in how a
    batch's loss gradient is computed):

    ``"torch"``
        autograd through the model's ``log_prob`` (any model; float32 by default);
    ``"histogram"``
        single-layer models and the two-layer model with k = 3 (whose receptive
        field is a 5 x 5 window): the gradient of the batch's pattern histogram
        (:class:`_HistogramLoss`, float64), ~18x faster at k = 7;
    ``"auto"``
        ``"histogram"`` where it exists and ``device`` is the CPU, ``"torch"`` otherwise
        (two-layer k >= 5, or a GPU).

    The two engines agree to rounding (tested in float64 on the same data).

    ``device``: where the torch engine computes, ``"cpu"`` (default), ``"cuda"``
    (``"cuda:N"``) or ``"mps"``; one this machine lacks is refused before any work
    (:func:`dreamrg._device.resolve_device`). The initial weights (torch's CPU
    generator), batches and tie-breaks (numpy) are the same on every device; only the
    arithmetic differs, so a GPU run is close to the CPU's but not bit-identical. The
    device is part of a checkpoint's identity when it is not the CPU, and the model
    is returned on the CPU in float64 whatever the device.

    ``bf16``: the torch engine's training steps run the network under bfloat16 autocast
    (convolutions in bfloat16; weights, optimiser and the log-likelihood sum in
    float32). On a CPU with AVX512-BF16 this makes the k = 7 two-layer epoch 1.75x
    faster (two cores: ~31 -> ~19 min at M = 10^6, ``benchmarks/two_layer_epoch.py``);
    on a CPU without native bfloat16 it can be slower. A batch loss differs from
    float32's by up to ~3e-3 relative (tested within 5e-3), so the trajectory is not the
    float32 one; the validation loss stays in float32, comparable with float32 runs.
    Part of the checkpoint identity. (``torch.compile`` and channels-last, also
    measured there, gain less in float32 and nothing on top of bf16 on two threads.)

    ``checkpoint``: a file where the model, optimiser state and history are saved
    (atomically) after every epoch, and also within an epoch every
    ``checkpoint_seconds`` of training (then with the epoch's position, batch
    losses and random-generator state). If it exists, training resumes where it
    stopped, also in the middle of an epoch; the result is bit-identical to an
    uninterrupted run, because every epoch's permutation and tie-breaks come from
    its own seed and the generator state is restored. A checkpoint of a run with
    fewer epochs (otherwise the same) is a valid start; one from different
    hyper-parameters or data is an error.

    ``params.target_loss``: training stops after the first epoch whose validation
    loss is at or below it (``history["epoch"]`` then ends before ``params.epochs``).
    ``params.patience``: training also stops once that many epochs have passed
    without a better validation loss, and the best epoch's weights are returned
    (kept in the checkpoint). The rule is :func:`stopping_point`;
    ``history["returned_epoch"]`` names the epoch returned.
    """
    from tqdm import tqdm

    dev = resolve_device(device)
    engine = resolve_engine(params, engine, dev)
    if dtype is None:
        dtype = torch.float64 if engine == "histogram" else torch.float32
    if engine == "histogram" and dtype != torch.float64:
        raise ValueError("the histogram engine computes in float64")
    if bf16 and (engine != "torch" or dtype != torch.float32):
        raise ValueError(f"bf16 autocast applies to the torch engine in float32; got the {engine} engine in {dtype}")
    train = _PackedSet(train_path, n_train)
    valid = _PackedSet(valid_path, n_valid)
    if valid.L != train.L:
        raise ValueError(f"training (L={train.L}) and validation (L={valid.L}) sizes differ")
    model = build_model(params, dtype=dtype).to(dev)  # initialised on the CPU, the same on every device
    opt = torch.optim.AdamW(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    hist: dict[str, list] = {"epoch": [], "train_loss": [], "valid_loss": [], "seconds": [], "params": []}
    bs = min(params.batch_size, len(train))
    # a checkpoint of a run with another stopping rule (same epochs) is a valid start
    identity = {"params": {k: v for k, v in asdict(params).items() if k not in STOPPING_FIELDS},
                "engine": engine,
                "dtype": str(dtype), "n_train": len(train), "n_valid": len(valid),
                "train_data": _data_identity(train_path), "valid_data": _data_identity(valid_path)}
    if device_tag(dev) is not None:  # CPU checkpoints keep the identity they had before devices existed
        identity["device"] = device_tag(dev)
    if bf16:
        identity["bf16"] = True
    if not checkpoint_seconds >= 0:
        raise ValueError(f"checkpoint_seconds must be a number ≥ 0; got {checkpoint_seconds!r}")
    start, best_state, partial = 0, None, None
    if checkpoint is not None and Path(checkpoint).exists():
        start, hist, best_state, partial = _load_checkpoint(Path(checkpoint), identity, model, opt, params.epochs)
        if params.patience is not None and best_state is None:
            _, best = stopping_point(hist["valid_loss"], params.epochs, params.target_loss, params.patience)
            if best != start or (partial is not None and start > 0):  # inside an epoch: the weights moved on
                raise ValueError(f"checkpoint {checkpoint} does not hold the weights of its best epoch {best} "
                                 f"(written without patience); delete it to train with patience {params.patience}")
            best_state = _copy_state(model)

    def done(h: dict) -> bool:
        return stopping_point(h["valid_loss"], params.epochs, params.target_loss, params.patience)[0]

    hl = _HistogramLoss(model, params.weighted) if engine == "histogram" else None
    if hl is not None and not done(hist):
        valid_counts = _validation_counts(hl, valid, params.seed, bs)
    stop = start if done(hist) else params.epochs
    for epoch in tqdm(range(start, stop), disable=_no_bar(progress), desc=f"AdamW k={params.k}",
                      unit="epoch", initial=start, total=params.epochs):
        t0 = time.perf_counter()
        rng = np.random.default_rng(np.random.SeedSequence(params.seed, spawn_key=(epoch,)))
        order = rng.permutation(len(train))
        losses, sizes, first, earlier = [], [], 0, 0.0
        if partial is not None:  # resume inside this epoch, with its generator state
            rng.bit_generator.state = partial["rng"]
            losses, sizes, first, earlier = partial["losses"], partial["sizes"], partial["next"], partial["seconds"]
            partial = None
        saved = time.perf_counter()
        for lo in range(first, len(train), bs):
            sigma = train.batch(order[lo:lo + bs])
            losses.append(adamw_step(model, opt, sigma, rng, params.weighted, dtype, hl, bf16))
            _check_finite(model, losses[-1], epoch, lo // bs, params.lr)
            sizes.append(len(sigma))
            if checkpoint is not None and lo + bs < len(train) and time.perf_counter() - saved >= checkpoint_seconds:
                inside = {"next": lo + bs, "rng": rng.bit_generator.state, "losses": losses, "sizes": sizes,
                          "seconds": earlier + time.perf_counter() - t0}
                _save_checkpoint(Path(checkpoint), identity, epoch, model, opt, hist, best_state, inside)
                saved = time.perf_counter()
        hist["epoch"].append(epoch + 1)
        hist["train_loss"].append(float(np.average(losses, weights=sizes)))
        if hl is not None:
            hist["valid_loss"].append(float(np.average([hl.loss(model, c) for c, _ in valid_counts],
                                                       weights=[n for _, n in valid_counts])))
        else:
            hist["valid_loss"].append(_validation_loss(model, valid, params.weighted, params.seed, bs, dtype))
        hist["seconds"].append(earlier + time.perf_counter() - t0)
        if params.model == "symmetric":
            hist["params"].append(model.params.detach().double().tolist())
        if params.patience is not None and int(np.argmin(hist["valid_loss"])) == epoch:
            best_state = _copy_state(model)
        if checkpoint is not None:
            _save_checkpoint(Path(checkpoint), identity, epoch + 1, model, opt, hist, best_state)
        if done(hist):
            break
    _, returned = stopping_point(hist["valid_loss"], params.epochs, params.target_loss, params.patience)
    hist["returned_epoch"] = returned
    if best_state is not None and returned != hist["epoch"][-1]:
        model.load_state_dict(best_state)
    return model.to("cpu", torch.float64), hist


class TrainingDiverged(ArithmeticError):
    """The loss or the weights of an AdamW run stopped being finite numbers (learning rate too large)."""


def _check_finite(model, loss: float, epoch: int, batch: int, lr: float) -> None:
    """Raise :class:`TrainingDiverged` once a batch loss or a weight is NaN or ±inf (before any checkpoint of it)."""
    bad = models.non_finite_weights(model)
    if bad or not math.isfinite(loss):
        what = f"the weights became NaN/inf ({', '.join(bad)})" if bad else f"the loss became {loss}"
        raise TrainingDiverged(f"training diverged in epoch {epoch + 1}, batch {batch + 1}: {what}; "
                               f"try a smaller learning rate than {lr:g}")


def _data_identity(path) -> dict[str, Any]:
    return data_identity(path)


def _copy_state(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _save_checkpoint(path: Path, identity: dict, epoch: int, model, opt, hist: dict,
                     best_state: dict | None = None, inside: dict | None = None) -> None:
    """Save after ``epoch`` complete epochs; ``inside``: the position within the next epoch."""
    state = {"format": "dreamrg-checkpoint", "identity": json.dumps(identity, sort_keys=True, default=str),
             "epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict(), "history": hist}
    if best_state is not None:
        state["best_model"] = best_state
    if inside is not None:
        state["inside_epoch"] = inside
    with atomic_file(path) as tmp:
        torch.save(state, tmp)


def checkpoint_error(err: BaseException) -> str:
    """One short line saying why ``torch.load(..., weights_only=True)`` refused a file."""
    if isinstance(err, pickle.UnpicklingError) or "weights_only" in str(err):
        return "it holds objects other than tensors and plain data, which are never unpickled"
    first = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return first if len(first) <= 160 else first[:157] + "..."


def _run_identity(identity_json: str) -> dict:
    """A checkpoint's identity without the stopping fields (older checkpoints recorded some of them)."""
    identity = json.loads(identity_json)
    identity["params"] = {k: v for k, v in identity["params"].items() if k not in STOPPING_FIELDS}
    return identity


def _load_checkpoint(path: Path, identity: dict, model, opt,
                     epochs: int) -> tuple[int, dict, dict | None, dict | None]:
    try:
        # weights_only: tensors and plain data only -- a crafted pickle cannot run code here
        state = torch.load(path, weights_only=True, map_location="cpu")
        ok = isinstance(state, dict) and state.get("format") == "dreamrg-checkpoint"
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same message
        raise models.ModelFileError(f"{path} is not a readable dreamrg training checkpoint "
                                    f"({checkpoint_error(err)}); delete it to train from the start") from None
    if not ok:
        raise models.ModelFileError(f"{path} is not a dreamrg training checkpoint")
    old, new = _run_identity(state["identity"]), _run_identity(json.dumps(identity, default=str))
    if old != new and {**old, "device": None} == {**new, "device": None}:
        raise ValueError(f"checkpoint {path} was written training on {old.get('device', 'cpu')}, not on "
                         f"{new.get('device', 'cpu')}; resume it there (the arithmetic differs between devices), "
                         "or delete it to start again")
    if old != new:
        raise ValueError(f"checkpoint {path} belongs to another training run (hyper-parameters or data differ); "
                         "delete it or choose another checkpoint path")
    inside = state.get("inside_epoch")
    if state["epoch"] > epochs or (inside is not None and state["epoch"] >= epochs):
        raise ValueError(f"checkpoint {path} is after epoch "
                         f"{state['epoch']}{' and part of the next' if inside else ''}, "
                         f"beyond the {epochs} epochs asked for")
    try:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise models.ModelFileError(f"{path} is a damaged dreamrg training checkpoint ({checkpoint_error(err)}); "
                                    "delete it to train from the start") from None
    return int(state["epoch"]), state["history"], state.get("best_model"), inside


def train_exact(params: TrainParams, train_path, *, n_train: int | None = None, batch: int = 4096,
              progress: bool | None = None) -> tuple[models.SymmetricUpscaler, dict]:
    """Exact minimiser of the single-layer loss over the training set (one tie-break draw)."""
    from tqdm import tqdm

    from dreamrg import exact_fit

    if params.model != "symmetric":
        raise ValueError("the exact optimum exists only for the single-layer symmetric model")
    batch = check_int(batch, "batch", 1)
    train = _PackedSet(train_path, n_train)
    rng = np.random.default_rng(np.random.SeedSequence(params.seed, spawn_key=(0,)))
    acc = exact_fit.HistogramAccumulator(params.k)
    t0 = time.perf_counter()
    for lo in tqdm(range(0, len(train), batch), disable=_no_bar(progress), desc=f"histogram k={params.k}"):
        sigma = train.batch(np.arange(lo, min(lo + batch, len(train))))
        mu, log_d = coarse.majority_rule(sigma, rng)
        acc.add(sigma, mu, log_weights=log_d if params.weighted else None)
    t_hist = time.perf_counter() - t0
    res = exact_fit.fit_exact(acc.counts, params.k)
    model = models.SymmetricUpscaler(params.k, params=torch.tensor(res.params, dtype=torch.float64))
    info = {"loss": res.loss, "n_iter": res.n_iter, "grad_norm": res.grad_norm, "converged": res.converged,
            "seconds_histogram": t_hist, "seconds_total": time.perf_counter() - t0}
    return model, info


def exact_loss_of(model: models.SymmetricUpscaler, params: TrainParams, train_path, *,
                  n_train: int | None = None, batch: int = 4096) -> float:
    """The full-data loss (same tie-break draw as :func:`train_exact`) of given single-layer parameters."""
    from dreamrg import exact_fit

    batch = check_int(batch, "batch", 1)
    train = _PackedSet(train_path, n_train)
    rng = np.random.default_rng(np.random.SeedSequence(params.seed, spawn_key=(0,)))
    acc = exact_fit.HistogramAccumulator(params.k)
    for lo in range(0, len(train), batch):
        sigma = train.batch(np.arange(lo, min(lo + batch, len(train))))
        mu, log_d = coarse.majority_rule(sigma, rng)
        acc.add(sigma, mu, log_weights=log_d if params.weighted else None)
    return exact_fit.histogram_loss(model.params.detach().double().numpy(), acc.counts, params.k)


def evaluate_loss(model: torch.nn.Module, path, n: int, *, weighted: bool = False, seed: int = 0,
                  batch: int = 1000, device: str | torch.device | None = "cpu") -> float:
    """Loss per configuration of ``model`` on the first ``n`` configurations of a store.

    The tie-breaks are drawn from ``SeedSequence(seed, spawn_key=(2**31,))`` as for
    the validation loss during training, so every model evaluated with the same
    (path, n, seed) sees exactly the same (σ, μ) pairs.
    """
    import copy

    dev = resolve_device(device)
    batch = check_int(batch, "batch", 1)
    data = _PackedSet(path, check_int(n, "n", 1))
    return _validation_loss(copy.deepcopy(model).float().to(dev), data, weighted, seed, batch, torch.float32)
