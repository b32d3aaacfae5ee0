"""Benchmark: the two-layer network through pattern tables vs plain torch.

The two-layer network with k = 3 sees a (2k-1) x (2k-1) = 5x5 fine window, i.e. a
3x3 coarse patch per block position, so it is a table of 4 x 512 logits
(:func:`dreamrg.sampler.logit_table`). Two uses are timed against the plain torch
path on the same data, in the same process:

* one AdamW epoch (batch ``--batch``) on dreamed L = 32 configurations: torch
  autograd through ``log_prob`` (float32, the reference engine) vs the
  pattern-histogram engine (float64);
* dreaming ``--n`` chains from one spin to L = 128: ``dream_batch_torch``
  (float32) vs the numba table sampler ``dream_batch`` (k = 3) and, for k = 7,
  vs ``dream_batch_two_layer`` (per-offset tables of the hidden layer).

Usage::

    .venv/bin/python benchmarks/bench_two_layer.py [--configs 20000] [--batch 10000] [--n 2000]
"""

from __future__ import annotations

import argparse
import copy
import time

import numba
import numpy as np
import torch

from dreamrg import models, sampler, train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", type=int, default=20_000, help="configurations in the timed AdamW epoch")
    ap.add_argument("--batch", type=int, default=10_000, help="AdamW batch size")
    ap.add_argument("--n", type=int, default=2_000, help="dreamed chains (L = 1 -> 128)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(numba.get_num_threads())
    rng = np.random.default_rng(args.seed)
    gen = models.SymmetricUpscaler(3, (0.1364, 0.1566, 0.3536))
    sig = sampler.dream_batch(gen, args.configs, 5, np.random.SeedSequence(args.seed)).final
    print(f"{numba.get_num_threads()} threads; {args.configs} L=32 configurations, batch {args.batch}")

    times = {}
    for engine, dtype in (("torch", torch.float32), ("histogram", torch.float64)):
        torch.manual_seed(0)
        model = models.TwoLayerUpscaler(3, dtype=dtype)
        opt = torch.optim.AdamW(model.parameters(), lr=0.01)
        hl = train._HistogramLoss(model, True) if engine == "histogram" else None
        train.adamw_step(model, opt, sig[:64], rng, True, dtype, hl)  # warm-up
        t0 = time.perf_counter()
        for lo in range(0, args.configs, args.batch):
            train.adamw_step(model, opt, sig[lo:lo + args.batch], rng, True, dtype, hl)
        times[engine] = (time.perf_counter() - t0) / args.configs
        print(f"AdamW epoch, {engine:9s}: {times[engine] * 1e6:8.1f} us/config -> "
              f"{times[engine] * 1e6:8.0f} s per epoch at M = 10^6")
    print(f"  speed-up of the histogram engine: {times['torch'] / times['histogram']:.0f}x")

    for k, fast, name in ((3, sampler.dream_batch, "one table"), (7, sampler.dream_batch_two_layer, "offset tables")):
        torch.manual_seed(1)
        model = models.TwoLayerUpscaler(k)
        model32 = copy.deepcopy(model).float()
        fast(model, 8, 7, np.random.SeedSequence(0))  # warm-up (numba compile)
        n_torch = args.n if k == 3 else max(1, args.n // 4)
        t0 = time.perf_counter()
        with torch.no_grad():
            sampler.dream_batch_torch(model32, n_torch, 7, torch.Generator().manual_seed(0))
        t_torch = (time.perf_counter() - t0) / n_torch
        t0 = time.perf_counter()
        fast(model, args.n, 7, np.random.SeedSequence(0))
        t_fast = (time.perf_counter() - t0) / args.n
        print(f"k={k} dream 1 -> 128, torch        : {t_torch * 1e3:7.3f} ms/chain -> "
              f"{t_torch * 1e6 / 3600:5.2f} h per 10^6 chains")
        print(f"k={k} dream 1 -> 128, {name:13s}: {t_fast * 1e3:7.3f} ms/chain -> "
              f"{t_fast * 1e6 / 3600:5.2f} h per 10^6 chains; speed-up {t_torch / t_fast:.0f}x")


if __name__ == "__main__":
    main()
