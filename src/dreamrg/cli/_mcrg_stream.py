"""``dreamrg mc ... --mcrg-only``: MCRG exponents straight from Monte Carlo, storing no configuration.

``--out`` is a run directory (:mod:`dreamrg.mcrg.streaming`: ``run.json`` and a
checkpoint per chain, ``chains/<c>.npz``) and, once the run is complete,
``mcrg.json`` (the results, as ``--json`` prints them). Re-running the same
command resumes every chain from its checkpoint; a finished run prints its
results again at once. With ``--scheduler`` the chains run as Dask tasks (the
directory must then be on storage the workers share); the output is the same.
``--carry DIR`` carries the finished chains between machines that share no storage
(:func:`dreamrg.mcrg.export_finished`): imported from DIR before the run, exported
there when it stops, finished or interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dreamrg._checks import json_safe
from dreamrg.cli._args import UsageError, _nonnegative_int, _positive_int, _print_mcrg, _scheduler
from dreamrg.mcrg.drivers import ORDERS

RESULTS = "mcrg.json"
BASES = ("symmetrised", "authors")


def add_options(mc: argparse.ArgumentParser) -> None:
    """The ``--mcrg-only`` options of ``dreamrg mc``."""
    mc.add_argument("--mcrg-only", action="store_true",
                    help="store no configuration: block each chunk as its chain samples it and accumulate the "
                    "MCRG moments, checkpointed per chain in --out (a run directory; re-running resumes); prints "
                    "what 'dreamrg mcrg' prints for the same configurations stored")
    mc.add_argument("--levels", type=_positive_int, default=None, help="with --mcrg-only: blocking steps (default 1)")
    mc.add_argument("--mcrg-seed", type=_nonnegative_int, default=None,
                    help="with --mcrg-only: tie-break seed of the blocking (default 0, as 'dreamrg mcrg --seed')")
    mc.add_argument("--basis", choices=BASES, default=None,
                    help="with --mcrg-only: operator basis, as 'dreamrg mcrg --basis' (default symmetrised; the "
                    "oriented basis's irrep analysis needs the stored configurations)")
    mc.add_argument("--boundary", choices=("periodic", "open"), default=None,
                    help="with --mcrg-only: operator sums, as 'dreamrg mcrg --boundary' (default periodic)")
    mc.add_argument("--order", choices=ORDERS, default=None,
                    help="with --mcrg-only: the order of the 32 jackknife bins, as 'dreamrg mcrg --order' (default "
                    "run); with chain, --chains 32 and a --chunk-size dividing N/32, each bin is one chain and a "
                    "carried chain is one block of moments")
    mc.add_argument("--carry", type=Path, default=None, metavar="DIR",
                    help="with --mcrg-only: a directory that carries the run's finished chains (accumulators only, "
                    "one piece per chunk: take --chunk-size large, e.g. 512 at L = 1024, or see --order) to another "
                    "machine: imported before the run, exported when it stops")


def check_options(args: argparse.Namespace) -> None:
    """Refuse the ``--mcrg-only`` options without ``--mcrg-only``."""
    extra = [f"--{k.replace('_', '-')}" for k in ("levels", "mcrg_seed", "basis", "boundary", "order", "carry")
             if getattr(args, k) is not None]
    if extra and not args.mcrg_only:
        raise UsageError(f"{', '.join(extra)} {'goes' if len(extra) == 1 else 'go'} with --mcrg-only (for a store, "
                         "use 'dreamrg mcrg STORE --levels N --seed S')")


def run_mcrg_only(args: argparse.Namespace, params) -> int:
    from dreamrg import mcrg
    from dreamrg.cache import write_json_atomic

    out = args.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; with --mcrg-only it names a run directory")
    if (out / "zarr.json").exists():
        raise UsageError(f"--out {out} is a configuration store or ensemble; with --mcrg-only it names a run "
                         "directory of its own")
    seed = args.mcrg_seed or 0
    carry = args.carry

    def say_carried() -> None:
        carried = mcrg.stream_progress(carry) if carry is not None and carry.is_dir() else None
        if carried is not None:
            print(f"--carry {carry} holds {carried.chains_done} of {carried.chains} chains, finished",
                  file=sys.stderr)

    try:
        with _scheduler(args) as client:  # bad input is refused before --out is created
            results = mcrg.mcrg_from_mc(params, args.n_configs, out, levels=args.levels or 1, seed=seed,
                                        basis=args.basis or "symmetrised", boundary=args.boundary or "periodic",
                                        workers=args.workers, progress=False if args.no_progress else None,
                                        client=client, carry=carry, order=args.order or "run")
    except KeyboardInterrupt:
        say_carried()  # what the next machine will find
        raise
    say_carried()
    write_json_atomic(out / RESULTS, json_safe([r.to_dict() for r in results]))
    prog = mcrg.stream_progress(out)
    if not args.json:
        n = args.n_configs
        print(f"MCRG of {n} MC configurations (none stored), run directory {out}: L={params.L} "
              f"K={params.K:.12g} {params.algorithm} thin={params.thin} chunk={params.chunk_size} "
              f"chains={params.chains} seed={params.seed}, tie-break seed {seed}")
        print(f"time: MC {1e3 * prog.seconds_mc / n:.3g} ms/config, MCRG {1e3 * prog.seconds_mcrg / n:.3g} "
              "ms/config (compute, all chains)", file=sys.stderr)
    _print_mcrg(results, args.json)
    return 0
