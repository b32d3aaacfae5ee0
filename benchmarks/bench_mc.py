"""Benchmark of the Ising cluster kernels in `dreamrg._mc_kernels`.

Prints nanoseconds per spin per update (best of several repetitions) for
Swendsen-Wang and Wolff (sweep-equivalents) at K_c, on one thread and on all
numba threads (with one chain per thread), next to a plain numba union-find
Swendsen-Wang written below, and <|m|> of the 20 recorded states per chain as
a sanity figure (at K_c, <|m|> ~ L**(-1/8): about 0.65, 0.55, 0.46 for
L = 32, 128, 512, within +-0.1 for so few records)::

    PYTHONPATH=src python benchmarks/bench_mc.py [--sizes 32 128 512] [--quick]
"""

import argparse
import os
import time

import numba
import numpy as np
from numba import njit

from dreamrg._mc_kernels import sw_chains, wolff_chains, wolff_chains_fixed

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
class _Run:
    """One timed configuration: a kernel on ``n_chains`` chains of size L.

    Each call to `once` runs ``n_updates`` updates per chain (20 records) and
    returns the wall time in ns per spin-update; `mabs` is <|m|> of the last
    records.  Wolff is timed through `wolff_chains_fixed` with a common
    ``n_c`` so that the 1-thread and all-thread rows do identical work.
    """

    def __init__(self, name, L, n_chains, n_updates, threads, n_c=0, seed=0):
        """Allocate state and outputs; `name` is "SW", "Wolff" or "plain SW"."""
        self.name, self.L, self.threads, self.n_c = name, L, threads, n_c
        self.spins = np.ones((n_chains, L, L), dtype=np.int8)
        st = np.random.SeedSequence(seed).generate_state(4 * n_chains, np.uint64)
        self.st = st.reshape(n_chains, 4)
        n_rec = min(n_updates, 20)
        self.thin = max(1, n_updates // n_rec)
        self.out = np.empty((n_chains, n_rec, L, L), dtype=np.int8)
        self.work = n_chains * n_rec * self.thin * L * L
        self.best = np.inf
        self._call(20)  # burn-in

    def _call(self, n_equil):
        """One kernel call (``n_equil`` extra updates, then the records)."""
        numba.set_num_threads(self.threads)
        if self.name == "SW":
            sw_chains(self.spins, self.st, KC, n_equil, self.thin, self.out)
        elif self.name == "Wolff":
            wolff_chains_fixed(self.spins, self.st, KC, np.full(len(self.spins), self.n_c, np.int64),
                               n_equil, self.thin, self.out)
        else:
            self.plain_mabs = plain_sw(self.spins[0], KC, self.work // self.L**2
                                       if n_equil == 0 else n_equil, 7)

    def once(self):
        """Time one call and keep the best time."""
        t0 = time.perf_counter()
        self._call(0)
        self.best = min(self.best, time.perf_counter() - t0)

    @property
    def ns(self):
        """Best time in ns per spin-update."""
        return self.best / self.work * 1e9

    @property
    def mabs(self):
        """<|m|> of the recorded states (plain SW: average over the run)."""
        if self.name == "plain SW":
            return self.plain_mabs
        return np.abs(self.out.mean(axis=(-2, -1), dtype=np.float64)).mean()


def _calibrate_wolff(L, seed=1):
    """Cluster flips per sweep-equivalent at K_c, as `wolff_chains` sets it
    (here from 50 calibration sweeps of one chain)."""
    numba.set_num_threads(1)
    spins = np.ones((1, L, L), dtype=np.int8)
    st = np.random.SeedSequence(seed).generate_state(4, np.uint64).reshape(1, 4)
    out = np.empty((1, 1, L, L), dtype=np.int8)
    return int(wolff_chains(spins, st, KC, 100, 1, out)[0])


def main(argv=None):
    """Parse arguments, warm up the JIT, run and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 128, 512])
    ap.add_argument("--quick", action="store_true",
                    help="~8x less work and fewer repetitions")
    ap.add_argument("--spin-updates", type=float, default=2e7,
                    help="spin-updates per chain per timing (default 2e7)")
    args = ap.parse_args(argv)
    work = args.spin_updates / (8 if args.quick else 1)
    reps = 2 if args.quick else 5
    n_all = numba.config.NUMBA_NUM_THREADS

    t0 = time.perf_counter()  # JIT warm-up (also compiles the parallel path)
    for name in ("SW", "Wolff", "plain SW"):
        _Run(name, 8, n_all, 2, n_all, n_c=1).once()
    _calibrate_wolff(8)
    print(f"JIT warm-up {time.perf_counter() - t0:.1f} s; K = K_c = {KC:.6f}; "
          f"numba {numba.__version__}, {n_all} threads, "
          f"layer {numba.threading_layer()}; load average before: "
          f"{os.getloadavg()[0]:.2f}\n(best of {reps} interleaved "
          f"repetitions; other processes on the machine distort the "
          f"parallel rows)")
    hdr = (f"{'L':>5} {'kernel':<9} {'threads':>7} {'chains':>6} "
           f"{'ns/spin/upd':>12} {'<|m|>':>7}  note")
    print(hdr)
    print("-" * len(hdr))
    summary = []
    for L in args.sizes:
        n_upd = max(4, int(round(work / (L * L))))
        n_c = _calibrate_wolff(L)
        runs = [_Run(name, L, th, n_upd, th, n_c=n_c)
                for name in ("SW", "Wolff") for th in sorted({1, n_all})]
        runs.append(_Run("plain SW", L, 1, n_upd, 1))
        for _ in range(reps):
            for run in runs:
                run.once()
        for run in runs:
            note = f"n_c = {n_c}" if run.name == "Wolff" else ""
            print(f"{L:>5} {run.name:<9} {run.threads:>7} "
                  f"{run.spins.shape[0]:>6} {run.ns:>12.2f} {run.mabs:>7.3f}"
                  f"  {note}")
        sw1, sw2, w1, w2, plain = (run.ns for run in runs) if n_all > 1 else (
            runs[0].ns, runs[0].ns, runs[1].ns, runs[1].ns, runs[2].ns)
        summary.append((L, plain / sw1, sw1 / sw2, w1 / w2))
    print()
    print(f"{'L':>5} {'plain/ours (SW, 1 thr)':>24} "
          f"{f'SW speed-up {n_all} thr':>20} {f'Wolff speed-up {n_all} thr':>23}")
    for L, ratio, sp_sw, sp_w in summary:
        print(f"{L:>5} {ratio:>24.2f} {sp_sw:>20.2f} {sp_w:>23.2f}")
    print("\nns/spin/update = wall time / (chains x updates x L^2); the "
          "parallel rows run one chain per thread, so their figure is per "
          "spin-update of the whole machine.  Wolff updates are "
          "sweep-equivalents: n_c single-cluster flips, n_c = ceil(L^2/<|C|>) "
          "calibrated by wolff_chains.")


if __name__ == "__main__":
    main()
