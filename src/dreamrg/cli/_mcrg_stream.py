"""``dreamrg mc ... --mcrg-only``: MCRG exponents straight from Monte Carlo, storing no configuration.

``--out`` is a run directory holding ``checkpoint.npz`` (the accumulators after
the last finished group of chunks, :func:`dreamrg.mcrg.accumulate_mc`) and, once
the run is complete, ``mcrg.json`` (the results, as ``--json`` prints them).
Re-running the same command resumes from the checkpoint; a finished run prints
its results again at once.
"""

from __future__ import annotations

import argparse
import sys

from dreamrg._checks import json_safe
from dreamrg.cli._args import UsageError, _print_mcrg

CHECKPOINT = "checkpoint.npz"
RESULTS = "mcrg.json"


def run_mcrg_only(args: argparse.Namespace, params) -> int:
    from dreamrg import mcrg
    from dreamrg.cache import write_json_atomic

    out = args.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; with --mcrg-only it names a run directory")
    if (out / "zarr.json").exists():
        raise UsageError(f"--out {out} is a configuration store or ensemble; with --mcrg-only it names a run "
                         "directory of its own")
    accs = mcrg.accumulate_mc(params, args.n_configs, out / CHECKPOINT, levels=args.levels or 1,
                              seed=args.mcrg_seed or 0, workers=args.workers,
                              progress=False if args.no_progress else None)  # checks all before creating --out
    results = [a.result() for a in accs]
    write_json_atomic(out / RESULTS, json_safe([r.to_dict() for r in results]))
    _, meta = mcrg.read_checkpoint(out / CHECKPOINT)
    if not args.json:
        n = args.n_configs
        print(f"MCRG of {n} MC configurations (none stored), run directory {out}: L={params.L} "
              f"K={params.K:.12g} {params.algorithm} thin={params.thin} chunk={params.chunk_size} "
              f"seed={params.seed}, tie-break seed {args.mcrg_seed or 0}")
        print(f"time: MC {1e3 * meta['seconds_mc'] / n:.3g} ms/config, MCRG {1e3 * meta['seconds_mcrg'] / n:.3g} "
              "ms/config", file=sys.stderr)
    _print_mcrg(results, args.json)
    return 0
