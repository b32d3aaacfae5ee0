"""Benchmark: CPU options for one AdamW epoch of the k = 7 two-layer network (torch engine).

The k = 7 two-layer network (32 hidden channels) has no pattern-table engine, so
every AdamW batch goes through torch autograd (:func:`dreamrg.train.adamw_step`,
float32). This script times one batch step -- unpacking the batch from the packed
training set, majority rule with tie-breaks, forward, backward and the AdamW update --
for the baseline (what ``train_adamw`` does: float32, NCHW, eager) and for CPU options,
in the same process, on the same dreamed L_t = 32 configurations:

``channels_last``
    weights (hence the hidden activations) in the NHWC memory format;
``compile``
    the loss (forward, and through AOTAutograd the backward) compiled with ``torch.compile``;
``bf16``
    ``torch.autocast("cpu", torch.bfloat16)`` around the network (``train_adamw(bf16=True)``):
    convolutions in bfloat16, the log-likelihood and the weights in float32;
``bf16-conv``
    float32 code with oneDNN's implicit bfloat16 convolutions
    (``torch.backends.mkldnn.conv.fp32_precision = "bf16"``);

and combinations. Every option trains its own copy of the same initial network on the
same batches, round-robin (one pass of all options per repetition), so a change in the
machine's load hits every option alike; the median over repetitions is reported, with
the ratio to the baseline, the extrapolated epoch at ``M = 10^6`` (``10^6 / batch``
steps plus the validation loss on ``M / 5`` configurations, forward only) and the
relative difference of the first batch's loss from the float32 baseline.

Usage::

    .venv/bin/python benchmarks/two_layer_epoch.py [--batch 2000] [--batches 10] [--repeat 3]
        [--options baseline,channels_last,compile,bf16,...] [--threads N]

On a machine shared with other work, ``--threads 1`` and the CPU-time columns give the
steadiest ratios (OpenMP threads wait for each other when the cores are oversubscribed).

Per-configuration cost is linear in the batch size (the convolutions are per sample);
``--batch 10000`` (the paper profile's batch) needs ~10 GB of memory.

Measured on two shared cores of an AMD EPYC with AVX512-BF16 (no AMX), torch 2.13, batch
2000, CPU time per step against the baseline: bf16 1.75x (epoch ~31 -> ~19 min), compile
1.36x, channels-last 1.24x; bf16 combined with channels-last or compile 0.95-0.98x on two
threads (2.2x on one). ``train_adamw(bf16=True)`` / ``dreamrg train --bf16`` keeps bf16.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from dreamrg import coarse, models, sampler, store, train

OPTIONS = ("baseline", "channels_last", "compile", "bf16", "bf16-conv", "channels_last+compile", "channels_last+bf16",
           "compile+bf16", "channels_last+compile+bf16")
#: measured by default; "bf16-conv" is a no-op on CPUs without AMX (oneDNN keeps float32: the loss is unchanged)
DEFAULT = ("baseline", "channels_last", "compile", "bf16", "channels_last+bf16", "compile+bf16",
           "channels_last+compile+bf16")


def _loss(model, s: torch.Tensor, mu: torch.Tensor, bf16: bool) -> torch.Tensor:
    """Unweighted loss (eq. 12) of a batch; with ``bf16`` the network runs under bfloat16 autocast."""
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    with ctx:
        h = model.field(mu)
    return -F.logsigmoid(2.0 * s * h.float()).sum(dim=(1, 2)).mean()


class Variant:
    """One option: its own network, optimiser and (maybe compiled) loss."""

    def __init__(self, name: str, k: int, channels: int, seed: int):
        self.name = name
        parts = set(name.split("+"))
        self.bf16 = "bf16" in parts
        self.conv_bf16 = "bf16-conv" in parts
        torch.manual_seed(seed)
        self.model = models.TwoLayerUpscaler(k, channels=channels, dtype=torch.float32)
        if "channels_last" in parts:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=0.01)
        self.compiled = "compile" in parts
        self.loss = torch.compile(_loss, dynamic=False) if self.compiled else _loss
        self.times: list[float] = []
        self.cpu: list[float] = []
        self.forward_cpu: list[float] = []
        self.forward: list[float] = []
        self.first_loss: float | None = None

    @contextlib.contextmanager
    def _precision(self):
        if not self.conv_bf16:
            yield
            return
        old = torch.backends.mkldnn.conv.fp32_precision
        torch.backends.mkldnn.conv.fp32_precision = "bf16"
        try:
            yield
        finally:
            torch.backends.mkldnn.conv.fp32_precision = old

    def step(self, sigma: np.ndarray, rng: np.random.Generator) -> float:
        if not self.compiled:  # the library's own step (train_adamw's; bf16: its bf16 option)
            with self._precision():
                return train.adamw_step(self.model, self.opt, sigma, rng, False, torch.float32, bf16=self.bf16)
        mu, _ = coarse.majority_rule(sigma, rng)
        self.opt.zero_grad()
        with self._precision():
            loss = self.loss(self.model, torch.from_numpy(sigma).float(), torch.from_numpy(mu).float(), self.bf16)
            loss.backward()
        self.opt.step()
        return float(loss.detach())

    def valid(self, sigma: np.ndarray, rng: np.random.Generator, validation: bool = False) -> float:
        """The batch loss without gradient; ``validation``: as train_adamw's validation loss (float32 for its bf16)."""
        if not self.compiled:
            bf16 = self.bf16 and not validation
            with torch.no_grad(), self._precision():
                return float(train._batch_loss(self.model, sigma, rng, False, torch.float32, bf16)[0])
        mu, _ = coarse.majority_rule(sigma, rng)
        with torch.no_grad(), self._precision():
            return float(self.loss(self.model, torch.from_numpy(sigma).float(), torch.from_numpy(mu).float(),
                                   self.bf16))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=2000, help="configurations per AdamW step")
    ap.add_argument("--batches", type=int, default=10, help="timed steps per option and repetition")
    ap.add_argument("--repeat", type=int, default=3, help="round-robin repetitions (median reported)")
    ap.add_argument("--k", type=int, default=7)
    ap.add_argument("--channels", type=int, default=32)
    ap.add_argument("--L", type=int, default=32, help="training lattice size L_t (a power of 2)")
    ap.add_argument("--M", type=float, default=1e6, help="training-set size the epoch is extrapolated to")
    ap.add_argument("--options", default=",".join(DEFAULT), help=f"comma-separated subset of {OPTIONS}")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's, one per core)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = ["baseline"] + [o for o in args.options.split(",") if o and o != "baseline"]
    for o in names:
        if o not in OPTIONS:
            raise SystemExit(f"unknown option {o!r}; known: {OPTIONS}")

    n = args.batch * args.batches
    gen = models.SymmetricUpscaler(3, (0.1364, 0.1566, 0.3536))  # near-critical dreamed configurations
    n_up = int(np.log2(args.L))
    packed = store.pack(sampler.dream_batch(gen, n, n_up, np.random.SeedSequence(args.seed)).final)
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    isa = [f for f in ("avx512f", "avx512_bf16", "amx_bf16") if f" {f}" in flags]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, flags: {' '.join(isa) or 'none of avx512f/avx512_bf16/amx'}")
    print(f"k={args.k}, {args.channels} channels, L_t={args.L}, batch {args.batch}, {args.batches} batches x "
          f"{args.repeat} repetitions; load average at start {os.getloadavg()[0]:.2f}")

    variants = [Variant(o, args.k, args.channels, args.seed) for o in names]
    warm = train._PackedSet.__new__(train._PackedSet)
    warm.L, warm.packed = args.L, packed
    for v in variants:  # warm-up (compilation, allocator, thread pool), not timed
        t0 = time.perf_counter()
        for _ in range(2):
            v.step(warm.batch(np.arange(args.batch)), np.random.default_rng(0))
            v.valid(warm.batch(np.arange(args.batch)), np.random.default_rng(0))
        print(f"  warm-up {v.name:20s} {time.perf_counter() - t0:7.1f} s")
    # the first batch's loss from the same initial weights and tie-breaks, per option
    for v in variants:
        probe = Variant(v.name, args.k, args.channels, args.seed)
        probe.loss, probe.compiled = v.loss, v.compiled  # reuse the compiled function
        v.first_loss = probe.valid(warm.batch(np.arange(args.batch)), np.random.default_rng(1))
    loads = []
    for rep in range(args.repeat):
        loads.append(os.getloadavg()[0])
        for v in variants:
            rng = np.random.default_rng(np.random.SeedSequence(args.seed, spawn_key=(rep,)))
            order = rng.permutation(n)
            t0, c0 = time.perf_counter(), time.process_time()
            for lo in range(0, n, args.batch):
                v.step(warm.batch(order[lo:lo + args.batch]), rng)
            v.times.append((time.perf_counter() - t0) / args.batches)
            v.cpu.append((time.process_time() - c0) / args.batches)
            t0, c0 = time.perf_counter(), time.process_time()
            v.valid(warm.batch(np.arange(args.batch)), rng, validation=True)
            v.forward.append(time.perf_counter() - t0)
            v.forward_cpu.append(time.process_time() - c0)
        print(f"  repetition {rep + 1}: " + ", ".join(f"{v.name} {v.times[-1]:.2f} s" for v in variants))
    loads.append(os.getloadavg()[0])

    base = variants[0]
    t_base = statistics.median(base.times)
    steps = args.M / args.batch
    print(f"\nper AdamW step of {args.batch} configurations (median of {args.repeat}); epoch at M = {args.M:.0e} "
          f"= {steps:.0f} steps + validation of M/5 (forward only); load average {min(loads):.2f}-{max(loads):.2f}")
    c_base = statistics.median(base.cpu)
    threads = torch.get_num_threads()
    print("(wall: elapsed seconds, spread = (max - min) / median over the repetitions; cpu: CPU seconds of all "
          f"threads, less sensitive to other processes; cpu/{threads}: the wall time on idle cores, if the "
          "threads are kept busy; loss vs fp32: first batch, same weights)")
    print(f"{'option':27s} {'wall s/step':>11s} {'spread':>7s} {'speed-up':>9s} {'epoch/min':>10s} "
          f"{'cpu s/step':>11s} {'speed-up':>9s} {f'epoch/min (cpu/{threads})':>22s} {'loss vs fp32':>13s}")
    for v in variants:
        t, c = statistics.median(v.times), statistics.median(v.cpu)
        spread = (max(v.times) - min(v.times)) / t
        epoch = (steps * t + steps / 5 * statistics.median(v.forward)) / 60
        epoch_cpu = (steps * c + steps / 5 * statistics.median(v.forward_cpu)) / 60 / threads
        rel = (v.first_loss - base.first_loss) / abs(base.first_loss)
        print(f"{v.name:27s} {t:11.3f} {spread:6.0%} {t_base / t:8.2f}x {epoch:10.1f} {c:11.3f} {c_base / c:8.2f}x "
              f"{epoch_cpu:22.1f} {rel:+13.1e}")


if __name__ == "__main__":
    main()
