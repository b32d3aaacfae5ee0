"""Benchmark: the conditioned exact fit on stores at several couplings, against one unconditioned fit per store.

Data: Monte Carlo stores at L_t = 32, one per coupling K/K_c in {0.90, 0.94, 0.97, 1.00,
1.03, 1.06, 1.10}, 10^4 configurations each (issue #23's "Done when"); given with
``--stores`` or made (and cached) with :func:`dreamrg.runs.mc.cached_store` (Swendsen-Wang,
seed 2300 + i; not timed).

Timed, in the same process, after a warm-up that compiles the numba kernels:

* conditioned: :func:`dreamrg.train_conditioned.train_conditioned_exact` on all stores
  (histogram per store, one joint Newton fit of θ of shape (degree + 1, n_orbits));
* reference: :func:`dreamrg.train.train_exact` on each store in turn (the same histograms,
  one Newton fit each).

The ratio should be about 1: both read and reduce the same configurations, and the joint
Newton fit costs milliseconds. Also printed: the first-call time including compilation
(what one ``dreamrg train --conditioned`` pays)::

    PYTHONPATH=src python benchmarks/bench_conditioned_fit.py [--k 3] [--degree 1] [--stores S1 S2 ...]
"""

import argparse
import os
import time

from dreamrg import train
from dreamrg import train_conditioned as tc
from dreamrg.exact import K_C
from dreamrg.mc import MCParams
from dreamrg.runs.mc import cached_store

RATIOS = (0.90, 0.94, 0.97, 1.00, 1.03, 1.06, 1.10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stores", nargs="+", default=None, help="stores to fit (default: the cached seven)")
    ap.add_argument("--L", type=int, default=32)
    ap.add_argument("--M", type=int, default=10_000, help="configurations per coupling (made stores)")
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--degree", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    stores = args.stores or [cached_store(MCParams(L=args.L, K=r * K_C, seed=2300 + i), args.M)
                             for i, r in enumerate(RATIOS)]
    params = train.TrainParams(k=args.k, method="exact")
    print(f"load average before: {os.getloadavg()}")
    t = time.perf_counter()
    model, info = tc.train_conditioned_exact(params, stores, degree=args.degree, progress=False)
    first = time.perf_counter() - t
    best_c = best_r = float("inf")
    for _ in range(args.repeats):
        t = time.perf_counter()
        model, info = tc.train_conditioned_exact(params, stores, degree=args.degree, progress=False)
        best_c = min(best_c, time.perf_counter() - t)
        t = time.perf_counter()
        for s in stores:
            train.train_exact(params, s, progress=False)
        best_r = min(best_r, time.perf_counter() - t)
    n = sum(c["M"] for c in info["couplings"])
    print(f"{len(stores)} couplings, {n} configurations at L = {info['couplings'][0]['data']['L']}, k = {args.k}, "
          f"degree {info['degree']}: loss {info['loss']:.6f}, {info['n_iter']} Newton steps, "
          f"converged {info['converged']}")
    print(f"first call (with numba compilation): {first:6.2f} s")
    print(f"conditioned fit (best of {args.repeats}):  {best_c:6.2f} s  (Newton part "
          f"{info['seconds_total'] - info['seconds_histogram']:.3f} s)")
    print(f"reference, {len(stores)} unconditioned fits: {best_r:6.2f} s")
    print(f"ratio conditioned / reference: {best_c / best_r:.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
