"""Benchmark: dreaming with a temperature-conditioned model against the critical model, side by side.

A conditioned model dreams with one threshold table per level (the model at each
level's coupling, :func:`dreamrg.conditioned.plan_levels`, flow schedule); the critical
model (the conditioned one at t = 0) with one table for all levels. At ``K/K_c = 1`` the
per-level tables are the critical table, so the two draw the same spins and the ratio is
the cost of switching tables; off K_c the configurations differ (more ordered ones hit
fewer table entries, which is faster), so the ratio also holds that difference. Both go through :func:`dreamrg.sampler.dream_batch`
with their tables computed beforehand, as :func:`dreamrg.dream.run` computes them once
per run. The conditioned path must keep the table speed: "ratio" is conditioned over
critical ns per generated spin (goal ≤ 1.2). "tables ms" is the one-off cost per run of
the conditioned tables (plan, weights, one threshold table per level), and "share" that
cost over the time of one batch of ``--n`` chains.

"ns/spin" is wall time over the fine spins drawn at all levels, ``n (4 + 16 + ... + 4**n_up)``
from ``L0 = 1``; best of ``--repeats``, the two paths interleaved (the machine is shared;
the load average is printed before and after). ``<|m|>`` at the final size is a sanity
figure: the conditioned model at K > K_c must give more than at K_c::

    PYTHONPATH=src python benchmarks/bench_conditioned.py [--n 4096] [--n-up 7] [--repeats 3] [--K-ratio 1.03]
"""

import argparse
import os
import time

import numba
import numpy as np

from dreamrg import conditioned, patches
from dreamrg.exact import K_C
from dreamrg.sampler import dream_batch, level_thresholds

#: orbit weights a (at K_c) and slopes b per unit t, of the order of the fitted k = 3 model (the speed does
#: not depend on the values)
A = {3: (0.134, 0.160, 0.355), 5: (0.138, 0.174, 0.344, -0.035, -0.037, 0.026),
     7: (0.119, 0.211, 0.292, -0.017, -0.045, 0.024, -0.003, -0.008, -0.003, 0.003)}


def _model(k: int) -> conditioned.ConditionedUpscaler:
    a = np.asarray(A[k])
    return conditioned.ConditionedUpscaler(k, 1, np.stack([a, 1.2 * a]), t_range=(-0.1, 0.1))


def _conditioned_tables(model, K, n_up):
    plan = conditioned.plan_levels(model, K, n_up)
    levels = [model.at(t) for t in plan.t_used]
    return levels, level_thresholds(levels, n_up)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4096, help="chains per batch")
    ap.add_argument("--n-up", type=int, default=7, help="upscalings from L0 = 1 (7: L = 128)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--K-ratio", type=float, nargs="+", default=[1.0, 1.03],
                    help="target K/K_c of the conditioned dreams")
    ap.add_argument("--ks", type=int, nargs="+", default=[3, 5, 7])
    args = ap.parse_args()
    n, n_up = args.n, args.n_up
    spins = n * sum(4**t for t in range(1, n_up + 1))
    threads = sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)})
    print(f"load average before: {os.getloadavg()}")
    print(f"dream L0=1 -> L={2**n_up}, n={n} chains ({spins} spins), conditioned with the flow schedule, "
          f"best of {args.repeats}")
    hdr = (f"{'k':>2} {'K/K_c':>5} {'thr':>3} {'critical ns/spin':>16} {'<|m|>':>7} {'conditioned ns/spin':>19} "
           f"{'<|m|>':>7} {'ratio':>6} {'tables ms':>9} {'share':>6}")
    print(hdr)
    print("-" * len(hdr))
    for k, ratio in ((k, r) for k in args.ks for r in args.K_ratio):
        model = _model(k)
        critical = model.at(0.0)
        crit_thr = level_thresholds(critical, n_up)
        t0 = time.perf_counter()
        levels, cond_thr = _conditioned_tables(model, ratio * K_C, n_up)
        t_tables = time.perf_counter() - t0
        for nt in threads:
            numba.set_num_threads(nt)
            dream_batch(critical, 8, n_up, np.random.SeedSequence(0), thresholds=crit_thr)  # compile / load cache
            best = {"critical": np.inf, "conditioned": np.inf}
            absm = {}
            for _ in range(args.repeats):
                for name, m, thr in (("critical", critical, crit_thr), ("conditioned", levels, cond_thr)):
                    t = time.perf_counter()
                    res = dream_batch(m, n, n_up, np.random.SeedSequence(k), thresholds=thr)
                    best[name] = min(best[name], time.perf_counter() - t)
                    absm[name] = np.abs(res.m[:, -1]).mean()
                    del res
            ns = {name: best[name] / spins * 1e9 for name in best}
            print(f"{k:>2} {ratio:5.2f} {nt:>3} {ns['critical']:16.2f} {absm['critical']:7.4f} {ns['conditioned']:19.2f} "
                  f"{absm['conditioned']:7.4f} {ns['conditioned'] / ns['critical']:6.3f} {1e3 * t_tables:9.2f} "
                  f"{t_tables / best['conditioned']:6.1%}", flush=True)
    print(f"load average after: {os.getloadavg()}")
    print(f"patch sizes: {[patches.patch_geometry(k)[0] for k in args.ks]}")


if __name__ == "__main__":
    main()
