"""Benchmark of dreaming (repeated upscaling from one spin) with single-layer models.

Times :func:`dreamrg.sampler.dream_batch` (numba threshold tables, level by
level over the batch, M and E recorded at every level) from ``L0 = 1`` to
``L = 128`` (``n_up = 7``) for k = 3, 5, 7 on one and on two numba threads, and
a plain torch pipeline doing the same work (nearest upsample, circular padding
+ ``conv2d`` -- or a periodic tiling when the lattice is smaller than the
kernel -- sigmoid, Bernoulli, M and E per level) on the same numbers of
threads.

"ns/spin" is wall time divided by the number of fine spins drawn at all
levels, ``n * (4 + 16 + ... + 4**7) = 21844 n`` from ``L0 = 1`` to 128 (the
final level alone is 3/4 of them). Each figure is the best of ``--repeats``
runs (the machine is shared; the load average is printed before and after).
``<|m|>`` at ``L = 128`` is printed as a sanity figure (about 0.60 for these
models; the exact critical Ising value is 0.637 at L = 128)::

    PYTHONPATH=src python benchmarks/bench_dream.py [--n 4096] [--repeats 3] [--quick] [--skip-torch]
"""

import argparse
import os
import time

import numba
import numpy as np
import torch
import torch.nn.functional as F

from dreamrg.models import SymmetricUpscaler
from dreamrg.sampler import dream_batch

PARAMS = {
    3: (0.1364, 0.1566, 0.3536),
    5: (0.1383, 0.1739, 0.3442, -0.0353, -0.0373, 0.0264),
    7: (0.119, 0.211, 0.292, -0.017, -0.045, 0.024, -0.003, -0.008, -0.003, 0.003),
}


def torch_dream(kernel: torch.Tensor, n: int, n_up: int, gen: torch.Generator, chunk: int):
    """Plain torch dream from one spin; returns <|m|> at the final level (M, E kept per level)."""
    k = kernel.shape[-1]
    c = k // 2
    dtype = kernel.dtype
    absm = []
    for lo in range(0, n, chunk):
        nb = min(chunk, n - lo)
        x = (2 * torch.randint(0, 2, (nb, 1, 1, 1), generator=gen) - 1).to(dtype)
        Ms, Es = [], []
        for _ in range(n_up):
            x = x.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)
            L = x.shape[-1]
            if L > c:
                xp = F.pad(x, (c, c, c, c), mode="circular")
            else:  # circular padding needs pad <= size: tile periodically instead
                idx = torch.arange(-c, L + c) % L
                xp = x[..., idx, :][..., idx]
            h = F.conv2d(xp, kernel)
            x = 2.0 * torch.bernoulli(torch.sigmoid(2.0 * h), generator=gen) - 1.0
            Ms.append(x.sum(dim=(1, 2, 3)))
            Es.append((x * (torch.roll(x, -1, 2) + torch.roll(x, -1, 3))).sum(dim=(1, 2, 3)))
        absm.append(Ms[-1].abs() / x.shape[-1] ** 2)
    return float(torch.cat(absm).mean())


def best_time(fn, repeats: int):
    out, best = None, float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4096, help="chains per batch (numba)")
    ap.add_argument("--n-up", type=int, default=7, help="upscalings from L0 = 1 (7: L = 128)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--torch-n", type=int, default=1024, help="chains timed on the torch pipeline")
    ap.add_argument("--torch-chunk", type=int, default=1024, help="torch sub-batch size")
    ap.add_argument("--torch-dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--ks", type=int, nargs="+", default=[3, 5, 7])
    ap.add_argument("--skip-torch", action="store_true", help="time the numba sampler only")
    ap.add_argument("--quick", action="store_true", help="n=512, 1 repeat, small torch run")
    args = ap.parse_args()
    if args.quick:
        args.n, args.repeats, args.torch_n, args.torch_chunk = 512, 1, 128, 128
    n, n_up = args.n, args.n_up
    spins_per_chain = sum(4**t for t in range(1, n_up + 1))
    threads = sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)})
    tdtype = getattr(torch, args.torch_dtype)

    print(f"load average before: {os.getloadavg()}")
    print(f"numba {numba.__version__}, torch {torch.__version__}, NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}")
    print(f"dream L0=1 -> L={2**n_up}: {spins_per_chain} spins drawn per chain (all levels); "
          f"numba n={n}, torch n={args.torch_n} (chunks of {args.torch_chunk}, {args.torch_dtype}); "
          f"best of {args.repeats}")
    hdr = f"{'k':>2} {'thr':>3} {'numba s':>8} {'ns/spin':>8} {'<|m|>128':>9} {'torch s':>8} {'ns/spin':>8} {'<|m|>128':>9} {'torch/numba':>11}"
    print(hdr)
    print("-" * len(hdr))
    for k in args.ks:
        model = SymmetricUpscaler(k, PARAMS[k])
        kernel = model.kernel.detach().to(tdtype)[None, None].contiguous()
        dream_batch(model, 8, n_up, np.random.SeedSequence(0))  # compile / load cache
        for nt in threads:
            numba.set_num_threads(nt)
            torch.set_num_threads(nt)
            seed = np.random.SeedSequence(k)
            t_nb, res = best_time(lambda: dream_batch(model, n, n_up, seed), args.repeats)
            ns_nb = t_nb / (n * spins_per_chain) * 1e9
            m_nb = np.abs(res.m[:, -1]).mean()
            del res
            if args.skip_torch:
                t_t = m_t = ns_t = float("nan")
            else:
                gen = torch.Generator().manual_seed(k)
                t_t, m_t = best_time(lambda: torch_dream(kernel, args.torch_n, n_up, gen, args.torch_chunk), args.repeats)
                ns_t = t_t / (args.torch_n * spins_per_chain) * 1e9
            print(f"{k:>2} {nt:>3} {t_nb:8.3f} {ns_nb:8.2f} {m_nb:9.4f} {t_t:8.3f} {ns_t:8.2f} {m_t:9.4f} {ns_t / ns_nb:11.1f}",
                  flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
