"""Per-unit costs of dreamrg's stages on one worker (one thread), for the book's cost table.

Measured here, in seconds in all:

* Monte Carlo (Swendsen–Wang at K_c): the kernel's ns/spin/update for L = 32 … 1024
  (one chain, best of two), the cost of recording a configuration (pack, checksum,
  commit) and, from them, ms per configuration at the default thinning (ceil √L
  updates per record) and seconds of equilibration per chain (``n_equil`` updates);
* dreaming from one spin to L = 128 (n_up = 7) with the authors' single-layer
  k = 3 and k = 7 models (table sampler): ms per configuration (M and E kept at every level);
* MCRG: one blocking step with the 36 symmetrised operators (:func:`dreamrg.mcrg.accumulate_chunk`)
  at L = 32, 128 and 512: ms per configuration.

Written to ``book/data/unit_costs.json`` (the book's "Running on a cluster" page reads
it) and printed. A worker of a Dask cluster runs one unit on one thread, so wall time
for W workers is about (units x cost) / W plus the slowest unit::

    PYTHONPATH=src python benchmarks/unit_costs.py [--out book/data/unit_costs.json]
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

from dreamrg import __version__, mc, models, sampler, store
from dreamrg._mc_kernels import sw_chains
from dreamrg.mcrg import accumulate_chunk

MC_SIZES = (32, 64, 128, 256, 512, 1024)
MCRG_SIZES = (32, 128, 512)


def mc_ns(L: int, updates: int, seed: int) -> float:
    """Wall ns/spin/update of ``sw_chains`` on one chain started ordered (a critical chain disorders fast)."""
    spins = np.ones((1, L, L), np.int8)
    state = np.random.SeedSequence(seed).generate_state(4, np.uint64).reshape(1, 4)
    none = np.empty((1, 0, L, L), np.int8)
    sw_chains(spins, state, mc.K_C, 2, 1, none)  # leave the ordered start
    t0 = time.perf_counter()
    sw_chains(spins, state, mc.K_C, updates, 1, none)
    return (time.perf_counter() - t0) / (updates * L * L) * 1e9


def record_seconds(L: int, chunk: int) -> float:
    """Seconds per configuration to pack, checksum and commit a chunk of random configurations."""
    spins = np.where(np.random.default_rng(0).random((chunk, L, L)) < 0.5, 1, -1).astype(np.int8)
    root = tempfile.mkdtemp(prefix="unit_costs_")
    try:
        st = store.create_store(os.path.join(root, "s"), mc.MCParams(L=L, chunk_size=chunk).store_meta())
        t0 = time.perf_counter()
        for j in range(2):
            st.write_chunk(j, store.pack(spins))
        return (time.perf_counter() - t0) / (2 * chunk)
    finally:
        shutil.rmtree(root)


def mc_costs() -> dict:
    out = {}
    for L in MC_SIZES:
        p = mc.MCParams(L=L)
        updates = max(4, int(3e7 // (L * L)))
        ns = min(mc_ns(L, updates, seed) for seed in (1, 2))
        rec = record_seconds(L, min(p.chunk_size, max(4, 2**22 // (L * L))))
        out[str(L)] = {"ns_per_spin_update": ns, "thin": p.thin, "n_equil": p.n_equil, "chunk_size": p.chunk_size,
                       "record_ms": rec * 1e3,
                       "ms_per_config": (p.thin * L * L * ns * 1e-9 + rec) * 1e3,
                       "equilibration_s_per_chain": p.n_equil * L * L * ns * 1e-9}
        print(f"MC L={L:>5}: {ns:6.2f} ns/spin/update, {out[str(L)]['ms_per_config']:9.3f} ms/config "
              f"(thin {p.thin}, record {rec * 1e3:.3f} ms), equilibration {out[str(L)]['equilibration_s_per_chain']:.2f} "
              "s/chain", flush=True)
    return out


def dream_costs(n: int = 256, n_up: int = 7) -> dict:
    out = {}
    released = {e["kernel_size"]: e for e in models.release_entries()
                if e["L_train"] == 32 and e["set_size"] == 1_000_000 and not e["weighted_loss"]}
    for k in (3, 7):
        model = models.from_release_entry(released[k])
        sampler.dream_batch(model, 8, n_up, np.random.SeedSequence(0))  # JIT and the tables
        best = np.inf
        for seed in (1, 2):
            t0 = time.perf_counter()
            sampler.dream_batch(model, n, n_up, np.random.SeedSequence(seed))
            best = min(best, time.perf_counter() - t0)
        out[f"k{k}"] = {"L": 2**n_up, "n_up": n_up, "ms_per_config": best / n * 1e3, "sampler": "table"}
        print(f"dream k={k} 1 -> {2**n_up}: {best / n * 1e3:.3f} ms/config", flush=True)
    return out


def mcrg_costs() -> dict:
    out = {}
    for L in MCRG_SIZES:
        n = max(32, 2**19 // (L * L))  # at least one per jackknife bin
        configs = mc.sample(mc.MCParams(L=L, n_equil=20, thin=2, seed=3), n)
        accumulate_chunk(configs[:2], 0, chunk_size=2, n_total=2, n_bins=2, threads=1)  # JIT
        t0 = time.perf_counter()
        accumulate_chunk(configs, 0, chunk_size=n, n_total=n, threads=1)
        ms = (time.perf_counter() - t0) / n * 1e3
        out[str(L)] = {"levels": 1, "basis": "classes", "ms_per_config": ms}
        print(f"MCRG L={L:>4} one blocking step: {ms:.3f} ms/config", flush=True)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "book" / "data" /
                    "unit_costs.json")
    args = ap.parse_args(argv)
    numba.set_num_threads(1)
    load = [os.getloadavg()[0]]
    t0 = time.perf_counter()
    doc = {"what": "per-unit costs on one worker (one thread): benchmarks/unit_costs.py",
           "date": datetime.date.today().isoformat(), "dreamrg_version": __version__,
           "machine": {"host": platform.node(), "processor": platform.processor() or platform.machine(),
                       "cores": os.cpu_count()},
           "threads": 1, "mc_sw": mc_costs(), "dream": dream_costs(), "mcrg": mcrg_costs()}
    load.append(os.getloadavg()[0])
    doc["load_average"] = {"before": load[0], "after": load[1]}
    doc["seconds"] = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(args.out)
    print(f"load average {load[0]:.2f} -> {load[1]:.2f}; {doc['seconds']:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
