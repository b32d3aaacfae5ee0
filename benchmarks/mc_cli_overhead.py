"""What `dreamrg mc` costs per spin update against its kernel alone, and the equilibration share of a run.

1. CLI against kernel, in one process, interleaved (best of ``--reps``): ``dreamrg mc
   --L 128 --workers 1`` with default thinning, run through ``dreamrg.cli.main`` (after a
   warm-up, so no interpreter start-up or JIT is timed), against ``sw_chains`` on one
   chain and one thread doing the same number of updates with nothing around it. Both
   figures are time / (updates x L^2), as wall time and as CPU time of the process (the
   CPU figure is the one to read on a loaded machine); the CLI rows count every update
   the run does (equilibration included) and, stricter, only the recorded ones (n x thin).
   The fixed start-up of a ``dreamrg`` process (imports of numpy, zarr and numba, loading
   the kernels' JIT cache) is timed apart, with a one-configuration run in a subprocess,
   and given as a share of the run above: it does not grow with the run.

2. Equilibration share of the default layout (``dreamrg.mc``) at L = 512 and 1024 for
   runs of 10^5 and 10^6 configurations: equilibration updates / all updates, the cost
   of an update and of a record (packing, checksum, write) measured here, next to the
   old layout where every chunk was a new chain::

    PYTHONPATH=src python benchmarks/mc_cli_overhead.py [--n-configs 4096] [--reps 3] [--skip-share]
"""

import argparse
import os
import shutil
import tempfile
import time

import numba
import numpy as np

from dreamrg import cli, mc, store
from dreamrg._mc_kernels import sw_chains


def kernel_ns(L: int, thin: int, n_records: int, seed: int = 0) -> np.ndarray:
    """(wall, CPU) ns/spin/update of ``sw_chains`` alone: one chain, ``n_records`` x ``thin`` updates."""
    spins = np.ones((1, L, L), np.int8)
    st = np.random.SeedSequence(seed).generate_state(4, np.uint64).reshape(1, 4)
    out = np.empty((1, n_records, L, L), np.int8)
    t0, c0 = time.perf_counter(), time.process_time()
    sw_chains(spins, st, mc.K_C, 0, thin, out)
    return np.array([time.perf_counter() - t0, time.process_time() - c0]) / (n_records * thin * L * L) * 1e9


def cli_seconds(L: int, n: int, seed: int, root: str) -> np.ndarray:
    """(wall, CPU) seconds of ``dreamrg mc`` in this process."""
    out = os.path.join(root, f"s{seed}")
    t0, c0 = time.perf_counter(), time.process_time()
    rc = cli.main(["mc", "--L", str(L), "--n-configs", str(n), "--seed", str(seed), "--out", out,
                   "--no-progress", "--workers", "1", "--json"])
    seconds = np.array([time.perf_counter() - t0, time.process_time() - c0])
    assert rc == 0
    shutil.rmtree(out)
    return seconds


def startup_seconds(root: str) -> float:
    """Wall time of ``python -m dreamrg.cli mc`` for one L = 8 configuration (best of 2): a process's fixed cost."""
    import subprocess
    import sys

    best = np.inf
    for k in range(2):
        out = os.path.join(root, f"tiny{k}")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dreamrg.cli", "mc", "--L", "8", "--n-configs", "1", "--seed", "1",
                        "--out", out, "--no-progress", "--workers", "1"], check=True, capture_output=True)
        best = min(best, time.perf_counter() - t0)
        shutil.rmtree(out)
    return best


def overhead(L: int, n: int, reps: int) -> None:
    p = mc.MCParams(L=L)
    equil, recorded = mc.update_counts(p, n)
    root = tempfile.mkdtemp(prefix="mc_cli_")
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        cli_seconds(L, 2 * p.chunk_size, 10**6, root)  # warm-up: JIT caches, zarr, numpy
    numba.set_num_threads(1)
    kernel_ns(8, 1, 2)
    best_k, best_c = np.full(2, np.inf), np.full(2, np.inf)
    for r in range(reps):
        best_k = np.minimum(best_k, kernel_ns(L, p.thin, min(n, 2 * p.chunk_size), seed=r))
        with contextlib.redirect_stdout(io.StringIO()):
            best_c = np.minimum(best_c, cli_seconds(L, n, r + 1, root))
    startup = startup_seconds(root)
    shutil.rmtree(root)
    all_ns = best_c / ((equil + recorded) * L * L) * 1e9
    rec_ns = best_c / (recorded * L * L) * 1e9
    print(f"L = {L}, n = {n}, thin = {p.thin}, chunk {p.chunk_size}, {min(p.chains, -(-n // p.chunk_size))} chains "
          f"(n_equil {p.n_equil}), 1 thread, best of {reps}; load average {os.getloadavg()[0]:.2f}")
    print(f"{'ns/spin/update':<34} {'wall':>7} {'ratio':>6} {'CPU':>7} {'ratio':>6}")
    for name, v in (("kernel sw_chains alone", best_k), ("dreamrg mc, all updates", all_ns),
                    ("dreamrg mc, recorded updates only", rec_ns)):
        print(f"{name:<34} {v[0]:7.2f} {v[0] / best_k[0]:6.3f} {v[1]:7.2f} {v[1] / best_k[1]:6.3f}")
    print("(recorded updates only: the equilibration counted as overhead)")
    print(f"process start-up (imports, JIT cache): {startup:.2f} s, {startup / best_c[0]:.1%} of this run's "
          f"{best_c[0]:.1f} s; {startup / (best_c[0] * 10**5 / n):.2%} of a run of 10^5 configurations")


def record_cost(L: int, chunk: int) -> float:
    """Seconds per configuration to pack, checksum and commit a chunk of ``chunk`` configurations of size L."""
    rng = np.random.default_rng(0)
    spins = np.where(rng.random((chunk, L, L)) < 0.5, 1, -1).astype(np.int8)
    root = tempfile.mkdtemp(prefix="mc_rec_")
    meta = mc.MCParams(L=L, chunk_size=chunk).store_meta()
    st = store.create_store(os.path.join(root, "s"), meta)
    t0 = time.perf_counter()
    for j in range(3):
        st.write_chunk(j, store.pack(spins))
    seconds = (time.perf_counter() - t0) / (3 * chunk)
    shutil.rmtree(root)
    return seconds


def share(sizes=(512, 1024), counts=(10**5, 10**6)) -> None:
    numba.set_num_threads(1)
    print("\nEquilibration share of a run's time (defaults; per-update (CPU) and per-record (wall) costs "
          "measured here, 1 thread)")
    print(f"{'L':>5} {'n':>8} {'thin':>5} {'n_equil':>7} {'chunk':>5} {'chains':>6} {'chunks/chain':>12} "
          f"{'ns/spin/upd':>11} {'ms/record':>9} {'share':>7} {'old layout':>10}")
    for L in sizes:
        p = mc.MCParams(L=L)
        ns = kernel_ns(L, 1, 3)[1]
        t_upd = ns * 1e-9 * L * L
        t_rec = record_cost(L, p.chunk_size)
        for n in counts:
            equil, recorded = mc.update_counts(p, n)
            chains = min(p.chains, store.n_chunks(n, p.chunk_size))
            total = (equil + recorded) * t_upd + n * t_rec
            old_equil = store.n_chunks(n, p.chunk_size) * p.n_equil * t_upd
            old_total = old_equil + recorded * t_upd + n * t_rec
            print(f"{L:>5} {n:>8} {p.thin:>5} {p.n_equil:>7} {p.chunk_size:>5} {chains:>6} "
                  f"{-(-store.n_chunks(n, p.chunk_size) // chains):>12} {ns:>11.2f} {t_rec * 1e3:>9.3f} "
                  f"{equil * t_upd / total:>7.2%} {old_equil / old_total:>10.1%}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, default=128)
    ap.add_argument("--n-configs", type=int, default=4096)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--skip-share", action="store_true")
    args = ap.parse_args(argv)
    overhead(args.L, args.n_configs, args.reps)
    if not args.skip_share:
        share()


if __name__ == "__main__":
    main()
