"""Cost per configuration of MCRG streamed from Monte Carlo at large L (Table III's L = 1024 row).

For every L (default 128, 512, 1024) prints, best of a few repetitions on a few
configurations (the machine is shared: the load average is printed before and
after):

1. ms per configuration of :func:`dreamrg.mcrg.accumulate_chunk` -- the per-chunk
   map of the map/reduce MCRG: two majority-rule blockings, the 36 operators at
   three levels, the moment sums of two steps -- on one and on all numba
   threads, next to the plain-numpy twin of the operators alone
   (:func:`dreamrg.mcrg.operators_reference` at the three levels, no blocking),
   with the ratio twin / kernel;
2. ms per configuration of the Monte Carlo that feeds it: one Swendsen-Wang
   update (the kernel of :func:`dreamrg.mc.sample`) times the default
   thinning ``ceil(sqrt(L))``, plus the equilibration of the run's chains
   (``n_equil`` updates once per chain, the defaults), for 10^5 configurations;
3. ms to write a chain's checkpoint (its state and two accumulators, each bin
   with one piece; a chain's own chunks add a piece each) and its size;
   multi-thread figures mean little when other processes load the cores
   (a parallel region waits for its slowest thread);
4. the wall time these imply for 10^5 and 10^6 configurations on this machine's
   threads, with the share of the MCRG in it.

Random ±1 configurations are blocked (the MCRG cost does not depend on the
state); the Monte Carlo runs at K_c from a random start::

    PYTHONPATH=src python benchmarks/bench_mcrg_stream.py [--sizes 128 512 1024] [--configs 4] [--repeats 3]
"""

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

from dreamrg import mc, mcrg
from dreamrg._numba import numba_threads
from dreamrg.mcrg import streaming
from dreamrg.store import default_chunk_size


def best_of(fn, repeats):
    """Smallest wall time of ``repeats`` calls of ``fn`` (after one warm-up call)."""
    fn()
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def mcrg_cost(L, n, repeats, threads):
    """Seconds per configuration of accumulate_chunk (2 levels) on ``threads`` numba threads."""
    rng = np.random.default_rng(L)
    s = (2 * rng.integers(0, 2, size=(n, L, L), dtype=np.int8) - 1)
    with numba_threads(threads):
        t = best_of(lambda: mcrg.accumulate_chunk(s, 0, chunk_size=n, n_total=n, levels=2, n_bins=2,
                                                  threads=threads, check=False), repeats)
    return t / n


def reference_cost(L):
    """Seconds for the plain-numpy operators of one configuration at three levels (L, L/2, L/4)."""
    rng = np.random.default_rng(L)
    levels = [2 * rng.integers(0, 2, size=(1, L >> k, L >> k), dtype=np.int8) - 1 for k in range(3)]
    t = time.perf_counter()
    for x in levels:
        mcrg.operators_reference(x)
    return time.perf_counter() - t


def mc_cost(L, repeats, threads):
    """(seconds per SW update of one chain, default thin, n_equil, chunk_size) at K_c.

    The difference of two runs of the same chain, ``n`` and 2 records after 10
    updates from a random start, so the first updates do not weigh in.
    """
    p = mc.MCParams(L=L, n_equil=10, thin=1)
    d = mc.MCParams(L=L)
    n = max(10, 2**24 // L**2)  # at least ~10^7 spin updates timed
    with numba_threads(threads):
        long = best_of(lambda: mc.sample(p, n), max(1, repeats - 1))
        short = best_of(lambda: mc.sample(p, 2), max(1, repeats - 1))
    return max(long - short, 1e-12) / (n - 2), d.thin, d.n_equil, d.chains


def checkpoint_cost(L, tmp):
    rng = np.random.default_rng(1)
    s = 2 * rng.integers(0, 2, size=(4, L, L), dtype=np.int8) - 1
    accs = mcrg.accumulate_chunk(s, 0, chunk_size=4, n_total=10**6, levels=2, check=False)
    for k in range(1, 32):  # one head per jackknife bin, as a run in chunk order holds
        for acc, part in zip(accs, mcrg.accumulate_chunk(s, k * (10**6 // 32) // 4, chunk_size=4, n_total=10**6,
                                                         levels=2, check=False)):
            acc.merge(part)
    from dreamrg._mc_checkpoint import ChainState

    path = Path(tmp) / "ck.npz"
    state = ChainState(s[0], np.ones(4, np.uint64), 0, 1, -1)
    t = best_of(lambda: (path.unlink(missing_ok=True), streaming._save_chain(path, state, accs, {"segments": 1})), 3)
    return t, path.stat().st_size


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 512, 1024])
    ap.add_argument("--configs", type=int, default=4, help="configurations per timing")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    T = numba.config.NUMBA_NUM_THREADS
    print(f"load average before: {os.getloadavg()}; numba threads: {T}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ck_t, ck_b = checkpoint_cost(128, tmp)
        print(f"chain checkpoint at L=128, two accumulators (32 bins, 36 operators): {1e3 * ck_t:.1f} ms, "
              f"{ck_b / 1e6:.1f} MB, written at most once a minute per chain")
        for L in args.sizes:
            one = mcrg_cost(L, args.configs, args.repeats, 1)
            many = mcrg_cost(L, args.configs, args.repeats, T)
            ref = reference_cost(L)
            upd, thin, n_equil, chains = mc_cost(L, args.repeats, 1)
            mc_rec = upd * thin
            mc_eq = upd * n_equil * chains / 10**5
            print(f"L={L:5d}  MCRG accumulate_chunk (2 levels): {1e3 * one:8.1f} ms/config on 1 thread, "
                  f"{1e3 * many:8.1f} on {T}  | numpy twin of the operators alone {1e3 * ref:8.1f} ms "
                  f"(x{ref / one:.0f} the kernel's whole step)")
            print(f"          MC SW: {1e9 * upd / L**2:5.2f} ns/spin/update, {1e3 * mc_rec:8.1f} ms/config "
                  f"(thin {thin}) + {1e3 * mc_eq:8.1f} ms/config of equilibration ({n_equil} updates for each "
                  f"of {chains} chains, 10^5 configurations)")
            rows.append((L, one, many, mc_rec, mc_eq))
    print()
    print("implied wall time of 'dreamrg mc --mcrg-only --levels 2' on this machine (Monte Carlo chains in "
          f"parallel, one per thread; each chunk's MCRG at the better of 1 and {T} threads):")
    for L, one, many, mc_rec, mc_eq in rows:
        wall = (mc_rec + mc_eq) / T + min(one, many)
        for n in (10**5, 10**6):
            print(f"  L={L:5d} n={n:>8}: {n * wall / 3600:7.1f} h ({n * (mc_rec + mc_eq + one) / 3600:7.1f} h on one "
                  f"thread); MCRG {min(one, many) / wall:5.1%}, equilibration {mc_eq / T / wall:5.1%} of it")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
