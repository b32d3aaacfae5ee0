"""Speed-up of ``dreamrg mc`` from one to two Dask workers (issue #19's goal: ≥ 1.8x).

The same run (default L = 256, 2048 configurations in chunks of 64, 64 chains of which
the run uses 32, one segment each) three ways, each into a new store:

* in process on one numba thread (``mc.run(..., workers=1)``), the reference;
* on a ``local:1`` Dask cluster (one worker process, one thread);
* on a ``local:2`` Dask cluster (two worker processes, one thread each).

Cluster start-up and JIT compilation are not timed (a small warm-up run goes first on
every cluster). Every run writes the same bytes (checked). Wall seconds, wall
ns/spin/update (all updates of the run, equilibration included) and the ratios are
printed, with the load average before and after each run: other processes on the
machine share its cores, so read the 1 -> 2 worker ratio against the load::

    PYTHONPATH=src python benchmarks/dask_mc_speedup.py [--L 256] [--n-configs 2048] [--chunk-size 64] [--reps 1]
"""

import argparse
import os
import shutil
import tempfile
import time

import numpy as np

from dreamrg import _cluster, mc
from dreamrg.store import open_store


def timed(params: mc.MCParams, n: int, out: str, client=None, workers: int | None = None) -> float:
    t0 = time.perf_counter()
    mc.run(params, n, out, progress=False, client=client, workers=workers)
    return time.perf_counter() - t0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, default=256)
    ap.add_argument("--n-configs", type=int, default=2048)
    ap.add_argument("--chunk-size", type=int, default=64)
    ap.add_argument("--chains", type=int, default=0, help="default: dreamrg's (64)")
    ap.add_argument("--reps", type=int, default=1, help="best of this many runs per way")
    args = ap.parse_args(argv)
    p = mc.MCParams(L=args.L, chunk_size=args.chunk_size, chains=args.chains, seed=1)
    n = args.n_configs
    equil, recorded = mc.update_counts(p, n)
    spin_updates = (equil + recorded) * p.L**2
    root = tempfile.mkdtemp(prefix="dask_mc_")
    warm = mc.MCParams(L=8, chunk_size=8, chains=2, seed=99)
    rows = []
    try:
        timed(warm, 32, os.path.join(root, "warm-here"), workers=1)  # JIT compile here
        best, loads = np.inf, []
        for r in range(args.reps):
            loads.append(os.getloadavg()[0])
            best = min(best, timed(p, n, os.path.join(root, f"here{r}"), workers=1))
            loads.append(os.getloadavg()[0])
        rows.append(("in process, 1 numba thread", best, loads, os.path.join(root, "here0")))
        for workers in (1, 2):
            with _cluster.connect(f"local:{workers}") as client:
                timed(warm, 32, os.path.join(root, f"warm{workers}"), client=client)  # JIT compile on the workers
                best, loads = np.inf, []
                for r in range(args.reps):
                    loads.append(os.getloadavg()[0])
                    best = min(best, timed(p, n, os.path.join(root, f"dask{workers}-{r}"), client=client))
                    loads.append(os.getloadavg()[0])
            rows.append((f"Dask local:{workers}", best, loads, os.path.join(root, f"dask{workers}-0")))
        ref = open_store(rows[0][3]).read_packed()
        same = all(np.array_equal(ref, open_store(row[3]).read_packed()) for row in rows[1:])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    chains = min(p.chains, -(-n // p.chunk_size))
    print(f"MC SW L = {p.L}, n = {n}, chunk {p.chunk_size}, {chains} chains (thin {p.thin}, n_equil {p.n_equil}); "
          f"{os.cpu_count()} cores; best of {args.reps}; identical stores: {same}")
    print(f"{'':<28} {'wall s':>8} {'ns/spin/upd':>11} {'vs in process':>13}  load average before/after")
    for name, seconds, loads, _ in rows:
        print(f"{name:<28} {seconds:8.2f} {seconds / spin_updates * 1e9:11.2f} {rows[0][1] / seconds:13.2f}  "
              + " ".join(f"{x:.2f}" for x in loads))
    print(f"speed-up from 1 to 2 Dask workers: {rows[1][1] / rows[2][1]:.2f}x (goal ≥ 1.8x)")


if __name__ == "__main__":
    main()
