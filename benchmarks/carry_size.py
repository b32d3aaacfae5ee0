"""Bytes a streamed MCRG run carries between sittings: binned in the run's own order against chain by chain.

A carried chain (``dreamrg.mcrg.export_finished``) holds its moment sums, one block per piece
of each convention and blocking step. How many pieces it has depends only on the run's layout
(configurations, chunk size, chains, jackknife bins), not on L: each block is 36 operators
wide whatever the lattice. So the paper profile's streamed L = 512 layout is run here at a
small L, with the same numbers of configurations, chunks, chains and bins:

* reference, the run's own order: 64 chains in chunks of 2048 (``runs.mcrg.stream_chunk_size(512)``);
* chain by chain, one chain per bin: ``runs.mcrg.stream_params(512, n, seed, 32, "chain")``
  (32 chains in chunks of 1250 at n = 10^6).

Both stream every MC convention (``conventions.MC_CONVENTIONS``) over 2 blocking steps into a
carry directory; printed are the chains, the pieces per chain and step, the bytes carried and
the ratio reference / chain by chain::

    PYTHONPATH=src python benchmarks/carry_size.py [--n-configs 1000000] [--L 16]
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from dreamrg import mc, mcrg
from dreamrg.conventions import MC_CONVENTIONS
from dreamrg.runs.mcrg import stream_chunk_size, stream_params

N_BINS, LEVELS, SEED = 32, 2, 2024


def carried(params: mc.MCParams, n: int, order: str, where: Path) -> tuple[int, float, float]:
    """(chains, mean pieces per chain, convention and step; bytes) of a run carried to ``where``."""
    mcrg.accumulate_mc_conventions(params, n, where / "run", list(MC_CONVENTIONS), levels=LEVELS, seed=SEED,
                                   n_bins=N_BINS, progress=False, carry=where / "carry", order=order)
    files = sorted((where / "carry" / "chains").glob("*.npz"))
    pieces = []
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            pieces += [len(z[k]) for k in z.files if k.endswith("moments.start")]
    return len(files), float(np.mean(pieces)), float(sum(f.stat().st_size for f in files))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-configs", type=int, default=1_000_000)
    ap.add_argument("--L", type=int, default=16, help="lattice size of the stand-in run (the layout is L = 512's)")
    args = ap.parse_args()
    n, L = args.n_configs, args.L
    chained = stream_params(512, n, SEED, N_BINS, "chain")
    layouts = {"run order (reference)": (mc.MCParams(L=L, seed=SEED, chunk_size=stream_chunk_size(512)), "run"),
               "chain by chain": (mc.MCParams(L=L, seed=SEED, chunk_size=chained.chunk_size, chains=chained.chains),
                                  "chain")}
    print(f"{n} configurations at L = {L} in the layout of the paper profile's streamed L = 512, "
          f"{len(MC_CONVENTIONS)} conventions, {LEVELS} steps, {N_BINS} bins")
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, (params, order)) in enumerate(layouts.items()):
            t0 = time.perf_counter()
            chains, pieces, size = carried(params, n, order, Path(tmp) / str(i))
            sizes[name] = size
            print(f"{name:>22}: {chains} chains of chunks of {params.chunk_size}, {pieces:.2f} pieces per chain, "
                  f"convention and step, {size / 1e6:.2f} MB carried ({time.perf_counter() - t0:.0f} s)")
    ref, new = sizes.values()
    print(f"ratio reference / chain by chain: {ref / new:.1f}")


if __name__ == "__main__":
    main()
