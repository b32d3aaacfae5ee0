"""Benchmark of the MCRG operators (`dreamrg._mcrg_kernels`) and of the 𝒯 accumulation.

Prints, best of several repetitions (the machine is shared: the load average
is printed before and after):

1. microseconds per L = 128 configuration to evaluate all 36 operators
   (158 oriented products summed over the lattice) with the bit-packed numba
   kernel, on one and on two numba threads, next to a plain PyTorch
   evaluation -- for every oriented product, the product of ``torch.roll``
   shifts of the batch, summed over the lattice -- on one torch thread for
   batches of 1 and 64 configurations (plus a variant that rolls each of
   the 9 plaquette shifts only once), with the speed-up ratios;
   then every operator basis and boundary (symmetrised, oriented, authors';
   periodic, open) on one thread against its plain numpy twin;
2. microseconds per configuration for the whole 𝒯 accumulation of one
   blocking step (majority rule, operators at both levels, centred moment
   sums) at L = 32, 128, 512, split into its parts, and the fixed cost of
   :meth:`MCRGAccumulator.result` (36×36 solves and eigenvalues for 32
   jackknife bins).

Random ±1 configurations are used (the cost does not depend on the state)::

    PYTHONPATH=src python benchmarks/bench_mcrg.py [--repeats 5] [--quick]
"""

import argparse
import os
import time

import numba
import numpy as np
import torch

from dreamrg import mcrg
from dreamrg.coarse import majority_rule


def best_of(fn, repeats):
    """Smallest wall time of ``repeats`` calls of ``fn`` (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def torch_operators_plain(x):
    """All 36 operators of a batch (n, L, L) int8 tensor: one torch.roll per site of every term."""
    out = torch.zeros((x.shape[0], 36), dtype=torch.int64)
    for op in mcrg.OPERATORS:
        for o in op.orientations:
            prod = None
            for dy, dx in o:
                r = torch.roll(x, shifts=(-dy, -dx), dims=(1, 2))
                prod = r if prod is None else prod * r
            out[:, op.index] += prod.sum(dim=(1, 2), dtype=torch.int64)
    return out


def torch_operators_cached(x):
    """Same, rolling each of the 9 plaquette shifts once and reusing it."""
    shifted = {(dy, dx): torch.roll(x, shifts=(-dy, -dx), dims=(1, 2)) for dy in range(3) for dx in range(3)}
    out = torch.zeros((x.shape[0], 36), dtype=torch.int64)
    for op in mcrg.OPERATORS:
        for o in op.orientations:
            prod = shifted[o[0]]
            for site in o[1:]:
                prod = prod * shifted[site]
            out[:, op.index] += prod.sum(dim=(1, 2), dtype=torch.int64)
    return out


def random_spins(rng, n, L):
    return np.where(rng.random((n, L, L)) < 0.5, 1, -1).astype(np.int8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer configurations and repeats")
    args = ap.parse_args()
    R = 2 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    max_threads = numba.config.NUMBA_NUM_THREADS
    print(f"load average before: {os.getloadavg()}  (cores: {os.cpu_count()}, numba threads: {max_threads})")
    print(f"numba {numba.__version__}, numpy {np.__version__}, torch {torch.__version__}; best of {R}\n")

    # ---------------------------------------------------------------- operators
    L = 128
    n = 256 if args.quick else 1024
    s = random_spins(rng, n, L)
    ref = mcrg.operators(s[:4], threads=1)
    assert np.array_equal(torch_operators_plain(torch.from_numpy(s[:4])).numpy(), ref)
    assert np.array_equal(torch_operators_cached(torch.from_numpy(s[:4])).numpy(), ref)
    rows = []
    fast = {}
    for th in sorted({1, min(2, max_threads)}):
        t = best_of(lambda: mcrg.operators(s, threads=th, check=False), R)
        fast[th] = t / n * 1e6
        rows.append((f"numba bit-packed, {th} thread{'s' if th > 1 else ''}, batch {n}", fast[th]))
    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name, fn in (("torch.roll products", torch_operators_plain),
                         ("torch, 9 cached rolls", torch_operators_cached)):
            for b in (1, 64):
                xb = torch.from_numpy(s[:b].copy())
                reps = max(1, (4 if args.quick else 16) // b)

                def run(xb=xb, reps=reps, fn=fn):
                    for _ in range(reps):
                        fn(xb)

                t = best_of(run, R)
                rows.append((f"{name}, 1 thread, batch {b}", t / (reps * b) * 1e6))
    finally:
        torch.set_num_threads(old_threads)
    print(f"36 operators (158 oriented products) per L = {L} configuration")
    print(f"  {'method':<48} {'us/config':>10} {'vs numba 1 thr':>15}")
    for name, us in rows:
        print(f"  {name:<48} {us:10.2f} {us / fast[1]:14.1f}x")

    # ---------------------------------------------------------------- other bases and the open boundary
    print(f"\nother operator bases and boundaries, L = {L}, 1 thread (the plain numpy twin on 8 configurations)")
    print(f"  {'basis':<12} {'boundary':<9} {'us/config':>10} {'numpy twin':>11} {'twin/kernel':>12}")
    for basis in mcrg.BASES:
        for boundary in mcrg.BOUNDARIES:
            assert np.array_equal(mcrg.operators(s[:8], threads=1, basis=basis, boundary=boundary),
                                  mcrg.operators_reference(s[:8], basis=basis, boundary=boundary))
            t = best_of(lambda: mcrg.operators(s, threads=1, check=False, basis=basis, boundary=boundary), R)
            t_ref = best_of(lambda: mcrg.operators_reference(s[:8], basis=basis, boundary=boundary), 1)
            us, us_ref = t / len(s) * 1e6, t_ref / 8 * 1e6
            print(f"  {basis:<12} {boundary:<9} {us:10.2f} {us_ref:11.1f} {us_ref / us:11.1f}x")

    # ---------------------------------------------------------------- T accumulation
    print("\n𝒯 accumulation for one blocking step L -> L/2 (us per configuration)")
    print(f"  {'L':>5} {'thr':>3} {'majority':>9} {'ops fine':>9} {'ops coarse':>10} {'moments':>8} {'total':>9}"
          f" {'pipeline':>9}")
    for L in (32, 128, 512):
        n = max(32, {32: 8192, 128: 1024, 512: 64}[L] // (4 if args.quick else 1))
        s = random_spins(rng, n, L)
        mu, _ = majority_rule(s, np.random.default_rng(1))
        f_ops, c_ops = mcrg.operators(s), mcrg.operators(mu)
        for th in sorted({1, min(2, max_threads)}):
            t_maj = best_of(lambda: majority_rule(s, np.random.default_rng(1)), R)
            t_of = best_of(lambda: mcrg.operators(s, threads=th, check=False), R)
            t_oc = best_of(lambda: mcrg.operators(mu, threads=th, check=False), R)

            def moments():
                acc = mcrg.MCRGAccumulator(32, n_expected=n)
                acc.add_operators(f_ops, c_ops)

            t_mom = best_of(moments, R)

            def pipeline():
                # the streaming front end as used on stores, result() excluded
                acc = mcrg.MCRGAccumulator(32, n_expected=n)
                nxt, _ = majority_rule(s, np.random.default_rng(1))
                acc.add_operators(mcrg.operators(s, threads=th, check=False),
                                  mcrg.operators(nxt, threads=th, check=False))

            t_pipe = best_of(pipeline, R)
            parts = [t / n * 1e6 for t in (t_maj, t_of, t_oc, t_mom)]
            print(f"  {L:5d} {th:3d} {parts[0]:9.2f} {parts[1]:9.2f} {parts[2]:10.2f} {parts[3]:8.2f}"
                  f" {sum(parts):9.2f} {t_pipe / n * 1e6:9.2f}")
    acc = mcrg.MCRGAccumulator(32, n_expected=len(f_ops))
    acc.add_operators(f_ops, c_ops)
    t_res = best_of(lambda: acc.result(), R)
    print(f"\nresult() (both sectors, 32 jackknife bins): {t_res * 1e3:.1f} ms per call, independent of n")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
