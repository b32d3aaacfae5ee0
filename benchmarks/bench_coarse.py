"""Benchmark of the 2x2 majority rule, `dreamrg.coarse.majority_rule`.

Prints microseconds per configuration (best of several repetitions) of the
numba implementation and of its NumPy reference twin
(`dreamrg._coarse_reference.majority_rule_numpy`), measured in the same process on the
same batch, and their ratio; also, for the numba version, the cost with the
plain float32 draw forced (no raw-word draw), the cost of the kernels alone
(uniforms drawn beforehand) and of the NumPy float32 draw alone. Both versions
are checked to agree bit for bit before timing. The kernels are serial (one
thread); the load average is printed since other processes skew the figures::

    PYTHONPATH=src python benchmarks/bench_coarse.py [--sizes 32 128 512] [--spins 2097152] [--single]

A batch holds ``max(1, spins // L**2)`` configurations (2 MiB of int8 spins by
default); ``--single`` times one configuration per call instead.
"""

import argparse
import os
import time

import numpy as np

from dreamrg import _coarse_kernels as ck
from dreamrg import coarse
from dreamrg._coarse_reference import majority_rule_numpy


def best_us(f, n_configs, repeats, min_time=0.05):
    """Best time of ``f()`` over ``repeats`` repetitions, in µs per configuration."""
    f()  # warm-up (compilation, page faults)
    k = 1
    while True:  # calls per repetition: enough for ~min_time
        t0 = time.perf_counter()
        for _ in range(k):
            f()
        dt = time.perf_counter() - t0
        if dt >= min_time or k >= 1 << 20:
            break
        k *= 2
    best = dt / k
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        for _ in range(k):
            f()
        best = min(best, (time.perf_counter() - t0) / k)
    return best / n_configs * 1e6


def bench_size(L, n, repeats):
    rng = np.random.default_rng(L)
    sigma = (2 * rng.integers(0, 2, size=(n, L, L)) - 1).astype(np.int8)
    l = L // 2

    # correctness first: same output and same generator use as the reference
    r1, r2 = np.random.default_rng(1), np.random.default_rng(1)
    mu1, ld1 = coarse.majority_rule(sigma, r1)
    mu2, ld2 = majority_rule_numpy(sigma, r2)
    assert np.array_equal(mu1, mu2) and np.array_equal(ld1, ld2)
    assert repr(r1.bit_generator.state) == repr(r2.bit_generator.state)

    g = np.random.default_rng(0)
    t_new = best_us(lambda: coarse.majority_rule(sigma, g), n, repeats)
    t_ref = best_us(lambda: majority_rule_numpy(sigma, g), n, repeats)
    mu = np.empty((n, l, l), np.int8)
    log_D = np.empty(n)
    u = g.random(n * l * l, dtype=np.float32)

    def kernels_only():
        ck.block_signs(sigma, mu, log_D, coarse._LN_HALF)
        ck.break_ties(mu.reshape(-1), u)

    t_kern = best_us(kernels_only, n, repeats)
    t_draw = best_us(lambda: g.random((n, l, l), dtype=np.float32), n, repeats)
    return t_new, t_ref, t_kern, t_draw


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 128, 512])
    ap.add_argument("--spins", type=int, default=1 << 21, help="spins per batch (default 2**21)")
    ap.add_argument("--single", action="store_true", help="one configuration per call")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  (cpus: {os.cpu_count()})")
    print("µs per configuration, best of", args.repeats, "repeats; numba kernels serial (1 thread)")
    hdr = f"{'L':>5} {'n':>6} {'numba':>10} {'numpy ref':>10} {'ratio':>7} | {'kernels':>9} {'np draw':>9}"
    print(hdr)
    print("-" * len(hdr))
    for L in args.sizes:
        n = 1 if args.single else max(1, args.spins // (L * L))
        t_new, t_ref, t_kern, t_draw = bench_size(L, n, args.repeats)
        print(f"{L:>5} {n:>6} {t_new:>10.2f} {t_ref:>10.2f} {t_ref / t_new:>6.1f}x |"
              f" {t_kern:>9.2f} {t_draw:>9.2f}")
    print("columns after |: the kernels alone; numpy's float32 draw alone (most of the remaining cost)")
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
