"""Benchmark: periodic padding of the two-layer network, slices vs fancy indexing.

``models._wrap_pad`` (``F.pad`` circular forward, slice additions backward) against the
plain index form ``models._wrap_pad_index``, in the same process and on the same data:

* the padding alone, forward + backward, on a (batch, 32, 32, 32) float32 tensor;
* a few AdamW steps of the k = 7 two-layer net (the torch engine, float32) on dreamed
  L = 32 configurations, with a check that both paddings give bit-identical weights.

Usage::

    .venv/bin/python benchmarks/bench_pad.py [--batch 1000] [--steps 3]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
import torch

from dreamrg import models, sampler, train


def _best(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1000, help="configurations per step")
    ap.add_argument("--steps", type=int, default=3, help="timed AdamW steps")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(numba.get_num_threads())
    print(f"{torch.get_num_threads()} threads, batch {args.batch}")

    x = torch.randn(args.batch, 32, 32, 32, requires_grad=True)
    g = torch.randn(args.batch, 32, 38, 38)
    pads = {"index": models._wrap_pad_index, "slices": models._wrap_pad}
    t = {}
    for name, pad in pads.items():
        def run(pad=pad):
            x.grad = None
            pad(x, 3).backward(g)
        t[name] = _best(run, 3)
        print(f"pad c=3, forward + backward, {name:6s}: {t[name] * 1e3:8.1f} ms")
    print(f"  speed-up: {t['index'] / t['slices']:.1f}x")

    gen = models.SymmetricUpscaler(3, (0.1364, 0.1566, 0.3536))
    sig = sampler.dream_batch(gen, args.batch * args.steps, 5, np.random.SeedSequence(args.seed)).final
    warm = models.TwoLayerUpscaler(7, dtype=torch.float32)  # warm-up (allocator, thread pool), not timed
    train.adamw_step(warm, torch.optim.AdamW(warm.parameters()), sig[:args.batch], np.random.default_rng(0), True,
                     torch.float32, None)
    weights, t = {}, {}
    original = models._wrap_pad
    try:
        for name, pad in pads.items():
            models._wrap_pad = pad
            torch.manual_seed(0)
            model = models.TwoLayerUpscaler(7, dtype=torch.float32)
            opt = torch.optim.AdamW(model.parameters(), lr=0.01)
            rng = np.random.default_rng(args.seed)
            t0 = time.perf_counter()
            for lo in range(0, len(sig), args.batch):
                train.adamw_step(model, opt, sig[lo:lo + args.batch], rng, True, torch.float32, None)
            t[name] = (time.perf_counter() - t0) / args.steps
            weights[name] = [p.detach().clone() for p in model.parameters()]
            print(f"k=7 two-layer AdamW step, {name:6s}: {t[name]:6.2f} s")
    finally:
        models._wrap_pad = original
    same = all(torch.equal(a, b) for a, b in zip(weights["index"], weights["slices"]))
    print(f"  speed-up: {t['index'] / t['slices']:.2f}x; weights bit-identical after {args.steps} steps: {same}")


if __name__ == "__main__":
    main()
