"""Benchmark: exact k = 7 fit via the pattern histogram vs the plain numpy loss.

Data: M "random-but-structured" L = 32 configurations, dreamed from a single
spin by five steps of a k = 3 upscaler (w = (0.05, 0.2, 0.6)), then blocked by
the majority rule with random tie-breaks (log D = -ties ln 2). Generation is
not timed.

Timed: streaming all M pairs into a k = 7 :class:`HistogramAccumulator` with
the majority-rule log-weights, and :func:`fit_exact` on the result. Reference
in the same process: one evaluation of :func:`direct_loss` (upsampling + 49
``np.roll`` + softplus) on a subset.

Usage::

    .venv/bin/python benchmarks/bench_exact_fit.py [--M 100000] [--L 32] [--batch 10000]
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numba
import numpy as np
from scipy.special import expit

from dreamrg._exact_fit_reference import direct_loss, local_field
from dreamrg.exact_fit import HistogramAccumulator, fit_exact

W_GEN = np.array([0.05, 0.2, 0.6])


def dream(n: int, L: int, rng: np.random.Generator) -> np.ndarray:
    """Upscale n random single spins to L x L with the k = 3 model W_GEN."""
    s = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n, 1, 1))
    while s.shape[1] < L:
        h = local_field(W_GEN, s, 3)
        s = np.where(rng.random(h.shape) < expit(2.0 * h), 1, -1).astype(np.int8)
    return s


def majority(sigma: np.ndarray, rng: np.random.Generator):
    """2 x 2 majority rule with random tie-breaks; returns mu and log D."""
    n, L, _ = sigma.shape
    s = sigma.reshape(n, L // 2, 2, L // 2, 2).sum(axis=(2, 4), dtype=np.int16)
    ties = s == 0
    mu = np.sign(s).astype(np.int8)
    mu[ties] = rng.choice(np.array([-1, 1], dtype=np.int8), size=int(ties.sum()))
    return mu, -ties.sum(axis=(1, 2)) * math.log(2.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--M", type=int, default=100_000, help="number of configurations")
    ap.add_argument("--L", type=int, default=32, help="fine linear size")
    ap.add_argument("--k", type=int, default=7, choices=(3, 5, 7))
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--n-direct", type=int, default=2000, help="configurations for direct_loss")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--adamw-configs", type=int, default=20_000,
                    help="configurations for timing one AdamW epoch (the paper's optimiser)")
    args = ap.parse_args()
    M, L, k = args.M, args.L, args.k
    rng = np.random.default_rng(args.seed)

    print(f"numba threads: {numba.get_num_threads()}, load average: {os.getloadavg()[0]:.2f}")
    print(f"k={k}, L={L}, M={M}, batch={args.batch}")

    # warm-up (JIT compilation)
    s, (m, lw) = (x := dream(64, L, rng)), majority(x, rng)
    fit_exact(HistogramAccumulator(k).add(s, m, log_weights=lw).counts, k)

    acc = HistogramAccumulator(k)
    t_hist = 0.0
    keep = None
    ties_total = 0.0
    for start in range(0, M, args.batch):
        sigma = dream(min(args.batch, M - start), L, rng)
        mu, logd = majority(sigma, rng)
        ties_total += float(-logd.sum() / math.log(2.0))
        if keep is None:
            keep = (sigma[: args.n_direct], mu[: args.n_direct], logd[: args.n_direct])
        t0 = time.perf_counter()
        acc.add(sigma, mu, log_weights=logd)
        t_hist += time.perf_counter() - t0

    t0 = time.perf_counter()
    counts = acc.counts
    res = fit_exact(counts, k)
    t_fit = time.perf_counter() - t0

    sig_d, mu_d, logd_d = keep
    n_d = len(sig_d)
    t0 = time.perf_counter()
    f_direct = direct_loss(res.params, sig_d, mu_d, k, log_weights=logd_d)
    t_direct = time.perf_counter() - t0

    ns_hist = t_hist / M * 1e9
    ns_direct = t_direct / n_d * 1e9
    occupied = int((counts.sum(axis=2) > 0).sum())
    print(f"mean tied blocks per configuration: {ties_total / M:.2f}; "
          f"effective sample size: {acc.effective_sample_size:.4g}")
    print(f"histogram bins occupied: {occupied} / {counts.shape[0] * counts.shape[1]}")
    print(f"fit: converged={res.converged}, n_iter={res.n_iter}, loss={res.loss:.10f}, "
          f"grad_norm={res.grad_norm:.2e}")
    print("params:", np.array2string(res.params, precision=5, max_line_width=200))
    print(f"histogram build : {t_hist:8.3f} s  = {ns_hist:10.0f} ns/config "
          f"({ns_hist / L**2:.2f} ns/site)")
    print(f"Newton fit      : {t_fit:8.3f} s  (independent of M once all bins are populated)")
    print(f"direct_loss     : {t_direct:8.3f} s on {n_d} configs = {ns_direct:10.0f} ns/config "
          f"per evaluation (loss {f_direct:.4f} on that subset)")
    print(f"ratio direct_loss / histogram per config: {ns_direct / ns_hist:.1f}x "
          f"(a Newton fit needs loss+grad+Hessian each of {res.n_iter} iterations "
          f"on the direct route, once on the histogram route)")
    ext = ns_hist * 1e-9 * 1e6 + t_fit
    print(f"extrapolated to M = 10^6: {ext:.1f} s (target <= 60 s)")

    # one epoch of the paper's AdamW on the same kind of data (batches unpacked, blocked, forward+backward)
    import torch

    from dreamrg import models, train

    torch.set_num_threads(numba.get_num_threads())
    n_a = min(args.adamw_configs, M)
    sig_a = dream(n_a, L, rng)
    model = models.SymmetricUpscaler(k, dtype=torch.float32)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01)
    bs = min(50_000, n_a // 4)
    t0 = time.perf_counter()
    for lo in range(0, n_a, bs):
        train.adamw_step(model, opt, sig_a[lo:lo + bs], rng, True, torch.float32)
    t_epoch = time.perf_counter() - t0
    per_cfg = t_epoch / n_a
    print(f"AdamW epoch, torch autograd (reference): {t_epoch:8.3f} s on {n_a} configs = "
          f"{per_cfg * 1e6:8.1f} us/config -> {per_cfg * 1e6:.0f} s per epoch at M = 10^6 "
          f"(the exact fit of all 10^6 costs about {ext / (per_cfg * 1e6):.2f} AdamW epochs)")

    # the same epoch with the histogram engine (what train_adamw uses for single-layer models)
    model = models.SymmetricUpscaler(k, dtype=torch.float64)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01)
    hl = train._HistogramLoss(model, True)
    hl.loss(model, hl.counts(sig_a[:64], rng))  # warm-up
    t0 = time.perf_counter()
    for lo in range(0, n_a, bs):
        train.adamw_step(model, opt, sig_a[lo:lo + bs], rng, True, torch.float64, hl)
    t_hist_epoch = time.perf_counter() - t0
    per_cfg_h = t_hist_epoch / n_a
    print(f"AdamW epoch, histogram engine         : {t_hist_epoch:8.3f} s on {n_a} configs = "
          f"{per_cfg_h * 1e6:8.1f} us/config -> {per_cfg_h * 1e6:.0f} s per epoch at M = 10^6; "
          f"speed-up over torch autograd {per_cfg / per_cfg_h:.1f}x")


if __name__ == "__main__":
    main()
