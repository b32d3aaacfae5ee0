"""Benchmark of the Ising cluster kernels in `dreamrg._mc_kernels`.

Prints nanoseconds per spin per update (best of several repetitions) for
Swendsen-Wang and Wolff (sweep-equivalents) at K_c, on one thread and on all
numba threads (with one chain per thread), next to a plain numba union-find
Swendsen-Wang written below, and <|m|> of the recorded states as a sanity
figure (at K_c, <|m|> ~ 1.0 L**(-1/8) roughly 0.6-0.7 for these sizes)::

    PYTHONPATH=src python benchmarks/bench_mc.py [--sizes 32 128 512] [--quick]
"""

import argparse
import time

import numba
import numpy as np
from numba import njit

from dreamrg._mc_kernels import sw_chains, wolff_chains

KC = float(np.log1p(np.sqrt(2.0)) / 2.0)


# --------------------------------------------------------------------------
# plain baseline: textbook union-find SW, np.random inside njit
# --------------------------------------------------------------------------
@njit
def _plain_find(parent, i):
    """Root of ``i``; compresses the path to point straight at the root."""
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit
def _plain_union(parent, i, j):
    """Attach the root of ``j`` below the root of ``i``."""
    ri = _plain_find(parent, i)
    rj = _plain_find(parent, j)
    if ri != rj:
        parent[rj] = ri


@njit
def plain_sw(spins, K, n_updates, seed):
    """Plain Swendsen-Wang on one ``(L, L)`` int8 lattice, in place.

    Parameters
    ----------
    spins : numpy.ndarray of int8, shape (L, L)
        +/-1 spins, updated in place.
    K : float
        Coupling.
    n_updates : int
        Number of SW updates.
    seed : int
        Seed for numba's ``np.random``.

    Returns
    -------
    float
        Mean ``|m|`` over the updates.
    """
    np.random.seed(seed)
    L = spins.shape[0]
    N = L * L
    p = 1.0 - np.exp(-2.0 * K)
    s = spins.ravel()
    parent = np.empty(N, dtype=np.int64)
    new_sign = np.empty(N, dtype=np.int8)
    mabs = 0.0
    for _ in range(n_updates):
        for i in range(N):
            parent[i] = i
            new_sign[i] = 0
        for y in range(L):
            for x in range(L):
                i = y * L + x
                j = y * L + (x + 1) % L
                k = ((y + 1) % L) * L + x
                if s[i] == s[j] and np.random.random() < p:
                    _plain_union(parent, i, j)
                if s[i] == s[k] and np.random.random() < p:
                    _plain_union(parent, i, k)
        m = 0
        for i in range(N):
            r = _plain_find(parent, i)
            if new_sign[r] == 0:
                new_sign[r] = 1 if np.random.random() < 0.5 else -1
            s[i] = s[i] * new_sign[r]
            m += s[i]
        mabs += abs(m) / N
    for i in range(N):
        spins[i // L, i % L] = s[i]
    return mabs / n_updates


# --------------------------------------------------------------------------
# timing helpers
# --------------------------------------------------------------------------
def _time_kernel(kernel, L, n_chains, n_updates, threads, reps, seed=0):
    """Best wall time per spin-update (ns), <|m|> of the records, and the
    kernel's return value (Wolff: cluster flips per update, per chain).

    The timed call includes 20 equilibration updates (for Wolff the first 10
    calibrate the number of cluster flips per sweep-equivalent); they are
    counted as work.
    """
    numba.set_num_threads(threads)
    spins = np.ones((n_chains, L, L), dtype=np.int8)
    st = np.random.SeedSequence(seed).generate_state(4 * n_chains, np.uint64)
    st = st.reshape(n_chains, 4)
    n_rec = min(n_updates, 20)
    thin = max(1, n_updates // n_rec)
    n_equil = 20
    out = np.empty((n_chains, n_rec, L, L), dtype=np.int8)
    kernel(spins, st, KC, 20, 1, out[:, :1].copy())  # burn-in
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        ret = kernel(spins, st, KC, n_equil, thin, out)
        best = min(best, time.perf_counter() - t0)
    work = n_chains * (n_equil + n_rec * thin) * L * L
    mabs = np.abs(out.mean(axis=(-2, -1), dtype=np.float64)).mean()
    return best / work * 1e9, mabs, ret


def _time_plain(L, n_updates, reps):
    """Best wall time per spin-update (ns) and <|m|> of the plain SW."""
    numba.set_num_threads(1)
    spins = np.ones((L, L), dtype=np.int8)
    plain_sw(spins, KC, 20, 1)
    best, mabs = np.inf, 0.0
    for r in range(reps):
        t0 = time.perf_counter()
        mabs = plain_sw(spins, KC, n_updates, 2 + r)
        best = min(best, time.perf_counter() - t0)
    return best / (n_updates * L * L) * 1e9, mabs


def main(argv=None):
    """Parse arguments, warm up the JIT, run and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 128, 512])
    ap.add_argument("--quick", action="store_true",
                    help="~8x less work and fewer repetitions")
    ap.add_argument("--spin-updates", type=float, default=3e7,
                    help="spin-updates per chain per timing (default 3e7)")
    args = ap.parse_args(argv)
    work = args.spin_updates / (8 if args.quick else 1)
    reps = 2 if args.quick else 3
    n_all = numba.config.NUMBA_NUM_THREADS

    t0 = time.perf_counter()  # JIT warm-up (also compiles the parallel path)
    for kernel in (sw_chains, wolff_chains):
        _time_kernel(kernel, 8, n_all, 2, n_all, 1)
    _time_plain(8, 2, 1)
    print(f"JIT warm-up {time.perf_counter() - t0:.1f} s; K = K_c = {KC:.6f}; "
          f"numba {numba.__version__}, {n_all} threads, "
          f"layer {numba.threading_layer()}")
    hdr = (f"{'L':>5} {'kernel':<12} {'threads':>7} {'chains':>6} "
           f"{'ns/spin/upd':>12} {'<|m|>':>7}  note")
    print(hdr)
    print("-" * len(hdr))
    summary = []
    for L in args.sizes:
        n_upd = max(4, int(round(work / (L * L))))
        res = {}
        for name, kernel in (("SW", sw_chains), ("Wolff", wolff_chains)):
            for threads in sorted({1, n_all}):
                ns, mabs, ret = _time_kernel(kernel, L, threads, n_upd,
                                             threads, reps)
                res[name, threads] = ns
                note = "" if ret is None else f"n_c = {[int(v) for v in ret]}"
                print(f"{L:>5} {name:<12} {threads:>7} {threads:>6} "
                      f"{ns:>12.2f} {mabs:>7.3f}  {note}")
        ns, mabs = _time_plain(L, n_upd, reps)
        print(f"{L:>5} {'plain SW':<12} {1:>7} {1:>6} {ns:>12.2f} {mabs:>7.3f}")
        summary.append((L, ns / res["SW", 1],
                        res["SW", 1] / res["SW", n_all],
                        res["Wolff", 1] / res["Wolff", n_all]))
    print()
    print(f"{'L':>5} {'plain/ours (SW, 1 thr)':>24} "
          f"{f'SW speed-up {n_all} thr':>20} {f'Wolff speed-up {n_all} thr':>23}")
    for L, ratio, sp_sw, sp_w in summary:
        print(f"{L:>5} {ratio:>24.2f} {sp_sw:>20.2f} {sp_w:>23.2f}")
    print("\nns/spin/update = wall time / (chains x updates x L^2); the "
          "parallel rows run one chain per thread, so their figure is per "
          "spin-update of the whole machine.  Wolff updates are "
          "sweep-equivalents (ceil(L^2/<|C|>) cluster flips).")


if __name__ == "__main__":
    main()
