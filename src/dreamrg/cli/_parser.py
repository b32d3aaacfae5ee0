"""The argument parsers of the ``dreamrg`` command line: one sub-parser per stage (``dreamrg mc import`` has its own,
as its positional file would clash with ``mc``'s options)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dreamrg.cli import _conditioned
from dreamrg.cli._args import (_add_scheduler, _count, _int_arg, _nonnegative_int, _out_path, _positive_float,
                               _positive_int)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dreamrg",
        description="Reproduce 'Dreaming up scale invariance via inverse renormalization group'.",
    )
    from dreamrg import __version__

    parser.add_argument("--version", action="version", version=f"dreamrg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="STAGE")
    sub.required = True

    mc = sub.add_parser("mc", help="Monte Carlo configurations (Swendsen–Wang / Wolff) into a store; "
                        "'dreamrg mc import FILE --out PATH' imports a .npy file",
                        description="Sample critical 2D Ising configurations into a bit-packed store. "
                        "Re-running the same command resumes an interrupted run.")
    mc.add_argument("--L", type=int, required=True, help="linear lattice size (≥ 2)")
    mc.add_argument("--n-configs", type=_count, required=True, help="number of configurations (≥ 1)")
    mc.add_argument("--seed", type=int, required=True, help="root seed (≥ 0)")
    mc.add_argument("--out", type=_out_path, required=True, help="store directory")
    mc.add_argument("--K", type=float, default=None, help="coupling (> 0); default K_c = ln(1+√2)/2")
    mc.add_argument("--algorithm", choices=("sw", "wolff"), default="sw")
    mc.add_argument("--thin", type=int, default=0, help="cluster updates between records (default ceil(√L))")
    mc.add_argument("--n-equil", type=int, default=0,
                    help="equilibration updates, once per chain (default max(100, 20·thin))")
    mc.add_argument("--chunk-size", type=int, default=0,
                    help="configurations per chunk, one segment of a chain (default 1024 up to L = 256, 2 MB above)")
    mc.add_argument("--chains", type=int, default=0,
                    help="independent Markov chains (default 64); chunk j continues chain j mod chains")
    mc.add_argument("--workers", type=_positive_int, default=None,
                    help="threads (default: all cores); in process only (with --scheduler, the Dask workers run)")
    mc.add_argument("--json", action="store_true", help="print the final observables as JSON")
    mc.add_argument("--no-progress", action="store_true")
    from dreamrg.cli import _mcrg_stream

    _mcrg_stream.add_options(mc)
    _add_scheduler(mc)
    _add_stage_parsers(parser, sub)
    from dreamrg.cli import _models

    _models.add_parser(sub)
    return parser


def import_parser() -> argparse.ArgumentParser:
    imp = argparse.ArgumentParser(prog="dreamrg mc import",
                                  description="Import external configurations into a new store.")
    imp.add_argument("file", type=Path, help=".npy file: ±1 or 0/1 of shape (n, L, L), or packbits (n, L, L/8)")
    imp.add_argument("--out", type=_out_path, required=True)
    imp.add_argument("--K", type=float, default=None, help="coupling the data were sampled at, if known (> 0)")
    imp.add_argument("--chunk-size", type=_positive_int, default=None,
                     help="configurations per chunk (default as for 'dreamrg mc')")
    return imp


def _add_stage_parsers(parser: argparse.ArgumentParser, sub) -> None:
    rg = sub.add_parser("mcrg", help="Monte Carlo RG exponents (36 couplings, T matrix) of a store or ensemble",
                        description="Block the configurations with the majority rule and compute the linearised "
                        "RG matrix per symmetry sector; prints y_h, y_t, the redundant exponent and omega.")
    rg.add_argument("path", type=Path, help="MC store, or dreamed ensemble saved with --save-configs")
    rg.add_argument("--levels", type=_positive_int, default=1, help="blocking steps")
    rg.add_argument("--n", type=_positive_int, default=None, help="use the first N configurations")
    rg.add_argument("--seed", type=_nonnegative_int, default=0, help="tie-break seed of the blocking")
    rg.add_argument("--n-odd", type=_positive_int, default=None,
                    help="keep only the first N odd operators (1..11; default all)")
    rg.add_argument("--n-even", type=_positive_int, default=None,
                    help="keep only the first N even operators (1..25; default all)")
    rg.add_argument("--basis", choices=("symmetrised", "authors", "oriented"), default="symmetrised",
                    help="operators: the 36 symmetrised class sums (default); the paper authors' 36 "
                    "single-orientation products (their duplicate left out); or the 158 orientations one at a time, "
                    "T split by spin-flip sector and lattice-symmetry irrep (A1, A2, B1, B2, E), printing the "
                    "leading exponents of each and the third of the whole spectrum")
    rg.add_argument("--boundary", choices=("periodic", "open"), default="periodic",
                    help="sum the operators over all translations of the torus (default), or only where a "
                    "product fits inside the lattice without wrapping around")
    rg.add_argument("--order", choices=("run", "chain"), default="run",
                    help="order of the jackknife bins over a Monte Carlo store: its own (default), or chain by chain "
                    "(each bin holds whole chains, as the paper profile's streamed L = 512)")
    rg.add_argument("--irreps", action="store_true", help="same as --basis oriented")
    rg.add_argument("--json", action="store_true")
    rg.add_argument("--no-progress", action="store_true")
    _add_scheduler(rg)

    dr = sub.add_parser("dream", help="dream up configurations by iterated upscaling",
                        description="Upscale n_up times from a single random spin (default) or from MC "
                        "configurations, recording M and E at every size. Re-running resumes.")
    dr.add_argument("--model", type=Path, required=True, help="model file written by 'dreamrg train'")
    dr.add_argument("--n-up", type=_positive_int, required=True, help="number of upscalings")
    dr.add_argument("--L0", type=_positive_int, default=None, help="start size (1: a single random spin)")
    dr.add_argument("--from-mc", type=Path, default=None, help="MC store to start from (its L is L0)")
    dr.add_argument("--n-configs", type=_count, required=True,
                    help="number of chains; an ensemble holding more is left as it is")
    dr.add_argument("--seed", type=int, required=True)
    dr.add_argument("--batch-size", type=_positive_int, default=4096)
    dr.add_argument("--save-configs", action="store_true", help="also store the final-size configurations")
    dr.add_argument("--prefix-model", type=Path, default=None,
                    help="model file that draws the first --prefix-levels upscalings (the authors' small-lattice "
                    "start: their k = 3 model for k = 5, 7; see 'dreamrg models list')")
    dr.add_argument("--prefix-levels", type=_positive_int, default=None,
                    help="how many first upscalings --prefix-model draws (< --n-up)")
    dr.add_argument("--K", type=_positive_float, default=None, help=_conditioned.K_HELP)
    dr.add_argument("--schedule", choices=("flow", "naive"), default=None, help=_conditioned.SCHEDULE_HELP)
    dr.add_argument("--out", type=_out_path, required=True)
    dr.add_argument("--device", default="cpu", metavar="{cpu,cuda,cuda:N,mps}",
                    help="where the torch sampler runs (default cpu; the table samplers of single-layer and "
                    "two-layer k ≤ 7 models always run on the CPU); not bit-identical to the CPU, so a GPU "
                    "ensemble records its device")
    dr.add_argument("--no-progress", action="store_true")
    _add_scheduler(dr)

    tr = sub.add_parser("train", help="train an upscaler U(σ|μ) on a configuration store",
                        description="Train a single-layer symmetric (or two-layer) upscaler with the paper's "
                        "AdamW schedule, or find the exact optimum of the single-layer loss.")
    tr.add_argument("--data", type=Path, nargs="+", required=True,
                    help="training store (fine configurations); with --conditioned one store per coupling")
    tr.add_argument("--validation", type=Path, nargs="+", default=None,
                    help="independent validation store (required for --method adamw; with --conditioned one per "
                    "--data store, in the same order)")
    tr.add_argument("--conditioned", action="store_true",
                    help="train a temperature-conditioned single-layer model: each orbit weight a polynomial in "
                    "t = K/K_c - 1, with each store's K read from its metadata")
    tr.add_argument("--degree", type=_int_arg(0, 3), default=None,
                    help="--conditioned: degree of the weights in t (default 1: W = a + b t; 2 adds c t^2)")
    tr.add_argument("--k", type=_int_arg(3, 255), required=True, help="odd kernel size ≥ 3")
    tr.add_argument("--weighted", action="store_true", help="weighted loss (paper eq. 13)")
    tr.add_argument("--method", choices=("adamw", "exact"), default="adamw")
    tr.add_argument("--model", choices=("symmetric", "two-layer"), default="symmetric")
    tr.add_argument("--epochs", type=_positive_int, default=50)
    tr.add_argument("--batch-size", type=_positive_int, default=50_000)
    tr.add_argument("--lr", type=_positive_float, default=0.01)
    tr.add_argument("--n-train", type=_positive_int, default=None, help="use the first N configurations")
    tr.add_argument("--engine", choices=("auto", "histogram", "torch"), default="auto",
                    help="AdamW gradient: pattern histogram (single layer, default) or torch autograd")
    tr.add_argument("--seed", type=_nonnegative_int, default=0)
    tr.add_argument("--out", type=_out_path, required=True,
                    help="model file (JSON) to write; AdamW keeps a checkpoint OUT.checkpoint.pt beside it while "
                    "training, so re-running the same command resumes an interrupted run")
    tr.add_argument("--device", default="cpu", metavar="{cpu,cuda,cuda:N,mps}",
                    help="where AdamW's torch engine trains (default cpu; another device selects the torch engine "
                    "under --engine auto); the model file records it")
    tr.add_argument("--bf16", action="store_true",
                    help="torch engine: run the network under bfloat16 autocast (faster on CPUs with AVX512-BF16 "
                    "or AMX, and on GPUs; losses within ~1e-3 of float32); the model file records it")
    tr.add_argument("--allow-unconverged", action="store_true",
                    help="--method exact: write the model even if the Newton fit did not converge (exit 0)")
    tr.add_argument("--no-progress", action="store_true")


    obs = sub.add_parser("observables", help="χ, c_me, c, U4, <|m|>, <e> with errors for stores",
                         description="Print observables with jackknife errors for every store given.")
    obs.add_argument("paths", type=Path, nargs="+")
    obs.add_argument("--json", action="store_true")
    obs.add_argument("--bins", type=_positive_int, default=100, help="jackknife bins")
    _add_scheduler(obs)  # per-chunk (m, e) of stores as Dask tasks; ensembles hold theirs already

    inv = sub.add_parser("cache", help="list the cached results under the data directory and how far each has got",
                         description="One line per cache entry: stage, entry, progress (configurations, chains, "
                         "epochs or a result), the pid of a process writing it now, size and last change. "
                         "Reads only; safe while runs are going on.")
    from dreamrg.cache import STAGE_VERSIONS

    inv.add_argument("--stage", choices=sorted(STAGE_VERSIONS), action="append", default=None,
                     help="only this stage (repeatable)")
    inv.add_argument("--writing", action="store_true", help="only entries a process is writing now")
    inv.add_argument("--stale", action="store_true",
                     help="only entries made by another version of their stage's code, which this code never reads "
                          "(its cache keys include the version): they only take disk space, and can be deleted")
    carry = inv.add_mutually_exclusive_group()
    carry.add_argument("--export", type=Path, default=None, metavar="DIR",
                       help="copy every finished result (not the stores or ensembles), the finished chains of "
                       "unfinished streamed MCRG runs and the checkpoints of unfinished trainings into the carry "
                       "directory DIR, to go on on a machine that shares no storage with this one (e.g. "
                       "book/data/carried, kept in git)")
    carry.add_argument("--import", dest="import_", type=Path, default=None, metavar="DIR",
                       help="check the carry directory DIR whole, then copy into the data directory the results "
                       "and chains it lacks")
    inv.add_argument("--json", action="store_true")

    ver = sub.add_parser("verify",
                         help="check every chunk of a store, an ensemble or a cache entry against its checksum",
                         description="Check a configuration store, a dreamed ensemble, or every store and ensemble "
                         "under a directory (a cache entry, or the whole data directory): metadata against the "
                         "arrays, a completion record and a checksum for every chunk, every chunk decoded. Prints "
                         "each problem and a summary; exit status 0 when everything is intact, 1 otherwise. "
                         "Reads only.")
    ver.add_argument("path", type=Path, help="store, ensemble, or a directory holding them")
    ver.add_argument("--json", action="store_true")

    book = sub.add_parser("book", help="execute every chapter with papermill and build the HTML book")
    from dreamrg.profiles import CHAPTERS, PROFILES

    book.add_argument("--profile", choices=PROFILES, default=None,
                      help="built-in profile (default: the profile file's base, else quick)")
    book.add_argument("--profile-file", default=None, metavar="FILE.toml",
                      help="your own profile: a TOML file with one table per chapter (e.g. [fss] n_configs = 1000) "
                      "and optional base = \"paper\", applied on top of the profile; no paper snapshot is written")
    book.add_argument("--chapters", nargs="+", choices=CHAPTERS, default=None,
                      help="execute only these chapters (the others are rendered from their last execution)")
    book.add_argument("--no-build", action="store_true", help="only execute the chapters")
    book.add_argument("--set", dest="overrides", action="append", default=[], metavar="CHAPTER.KEY=VALUE",
                      help="override one parameter of an executed chapter, e.g. fss.n_configs=1000 "
                      "(VALUE is JSON, else a string; repeatable; no paper snapshot is written for such a chapter)")
    book.add_argument("--carry", action="store_true",
                      help="also export what the cache has finished to book/data/carried while the chapters run "
                      "(every 10 min and at the end), for a run that spans sittings on machines that share no "
                      "storage; give the run a data directory of its own (DREAMRG_DATA)")
    _add_scheduler(book)  # the profile's stores, models and ensembles on Dask first (dreamrg.prewarm)
