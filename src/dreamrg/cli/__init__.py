"""The ``dreamrg`` command line: one sub-command per pipeline stage.

Errors in user input print one line ``dreamrg: error: ...`` to stderr and exit
with status 2; nothing is written in that case. An error of the operating system
(a full disk, a read-only file system, ...) prints one line naming the path and
what failed and exits with status 1 (2 for a path the user gave wrongly: missing,
not a directory, no permission); whatever was finished is kept. Ctrl-C exits with
status 130 without a traceback; re-running the same command resumes.

``--json`` output is always valid JSON: an undefined number (an error bar from a
single jackknife bin, say) is ``null``, and the text tables print ``n/a``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path

from dreamrg._checks import json_safe
from dreamrg.cli import _conditioned
from dreamrg.cli._parser import build_parser, import_parser
from dreamrg.observables import SizeSummary, format_estimate


from dreamrg.cli._args import (  # noqa: F401 - shared by the commands below; tests reach some through dreamrg.cli
    UsageError,
    MAX_INT,
    _shown,
    _int_arg,
    _positive_int,
    _nonnegative_int,
    _positive_float,
    _out_path,
    _print_json,
    _add_scheduler,
    _scheduler,
    _fmt,
    _Huge,
    _count,
    _check_count,
    _nearest_existing,
    _check_output_file,
    _check_replaceable_model,
    _refuse_unconverged,
    _check_free_space,
    _input_kind,
    _reading,
    _PATH_ERRORS,
    _OS_HINTS,
    _os_error_message,
    _print_summary,
    _print_mcrg,
)


def _cmd_mc(args: argparse.Namespace) -> int:
    from dreamrg import mc
    from dreamrg.observables import store_accumulator, summarize

    kwargs = dict(L=args.L, algorithm=args.algorithm, thin=args.thin, n_equil=args.n_equil,
                  seed=args.seed, chunk_size=args.chunk_size, chains=args.chains)
    if args.K is not None:
        kwargs["K"] = args.K
    _check_count("--n-configs", args.n_configs)
    if args.thin < 0 or args.n_equil < 0 or args.chunk_size < 0 or args.chains < 0:
        raise UsageError("--thin, --n-equil, --chunk-size and --chains must be ≥ 1 (or omitted for the default)")
    from dreamrg.cli import _mcrg_stream

    _mcrg_stream.check_options(args)
    params = mc.MCParams(**kwargs)
    if args.mcrg_only:
        return _mcrg_stream.run_mcrg_only(args, params)
    with _scheduler(args) as client:  # chain segments as Dask tasks, each worker writing its chunks to --out
        st = mc.run(params, args.n_configs, args.out, progress=False if args.no_progress else None,
                    workers=args.workers, client=client)
    if st.count > args.n_configs:
        print(f"store {args.out} already holds {st.count} configurations (--n-configs {args.n_configs}): "
              "left as it is", file=sys.stderr)
    summary = summarize(store_accumulator(args.out))
    if args.json:
        _print_json(summary.to_dict())
    else:
        print(f"store {args.out}: L={params.L} K={params.K:.12g} {params.algorithm} thin={params.thin} "
              f"seed={params.seed} chains={params.chains}")
        _print_summary([summary])
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from dreamrg.store import import_configs

    st = import_configs(args.file, args.out, K=args.K, chunk_size=args.chunk_size)
    print(f"imported {st.count} configurations of L={st.L} ({st.meta['layout']}) into {args.out}")
    return 0


def _cmd_observables(args: argparse.Namespace) -> int:
    from dreamrg.observables import store_accumulator, summarize

    from dreamrg.fss import ensemble_summaries

    rows = []
    kinds = [_input_kind(path) for path in args.paths]  # every path checked before any work
    with _scheduler(args) if "store" in kinds else contextlib.nullcontext() as client:
        for path, kind in zip(args.paths, kinds):
            if kind == "ensemble":
                rows += list(ensemble_summaries(path).values())
            else:
                rows.append(summarize(store_accumulator(path, client=client), n_bins=args.bins))
    if args.json:
        _print_json([r.to_dict() for r in rows])
    else:
        _print_summary(rows)
    return 0


def _model_run(path: Path) -> dict | None:
    """The ``meta`` of a dreamrg model file at ``path``, or None if it is anything else (read cheaply first)."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if not head.startswith(b'{"format": "dreamrg-model"'):
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return doc.get("meta") if isinstance(doc, dict) and isinstance(doc.get("meta"), dict) else None


def _cmd_train(args: argparse.Namespace) -> int:
    import torch

    from dreamrg import models, train
    from dreamrg._device import device_tag
    from dreamrg.store import open_store, writer_lock

    device = device_tag(args.device)  # an unavailable device: one error before anything else
    if device is not None and args.method == "exact":
        raise UsageError(f"--method exact computes on the CPU (numpy); --device {args.device} applies to "
                         "--method adamw")
    if args.conditioned:
        return _conditioned.cmd_train_conditioned(args)
    if len(args.data) > 1:
        raise UsageError(f"{len(args.data)} --data stores given: several stores (one per coupling) train a "
                         "temperature-conditioned model and need --conditioned; otherwise give one store")
    if args.degree is not None:
        raise UsageError("--degree is the degree in t of a temperature-conditioned model; it needs --conditioned")
    if args.validation is not None and len(args.validation) > 1:
        raise UsageError("give one --validation store (several only with --conditioned)")
    args.data = args.data[0]
    args.validation = None if args.validation is None else args.validation[0]

    params = train.TrainParams(k=args.k, model=args.model, weighted=args.weighted, method=args.method,
                               epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    for path in (args.data, args.validation):
        if path is not None:
            open_store(path)  # clear error for missing or foreign data before any work
    if args.method == "adamw" and args.validation is None:
        raise UsageError("--method adamw needs --validation PATH (an independent store)")
    out = _check_output_file(args.out)
    meta = {"params": params.__dict__, "data": str(args.data), "L_t": open_store(args.data).L,
            "M": args.n_train or open_store(args.data).count}
    if device is not None:
        meta["device"] = device
    if args.bf16:
        meta["bf16"] = True
    if out.exists():
        _check_replaceable_model(args.out, _model_run(out), meta, ("params", "data", "device", "bf16"))
    if args.method == "adamw":
        try:
            engine = train.resolve_engine(params, args.engine, args.device)
        except ValueError as err:
            raise UsageError(str(err)) from None
        if args.bf16 and engine != "torch":
            raise UsageError(f"--bf16 applies to the torch engine; this run uses the {engine} engine "
                             "(give --engine torch, or drop --bf16)")
    elif args.bf16:
        raise UsageError("--bf16 applies to --method adamw (the torch engine)")
    n_weights = models.model_bytes("symmetric" if params.model == "symmetric" else "two-layer", params.k,
                                   params.channels) // 8
    checkpoint = out.with_name(out.name + ".checkpoint.pt") if args.method == "adamw" else None
    need = 4096 + 30 * n_weights + 200 * params.epochs + (0 if checkpoint is None else 4 * 8 * 4 * n_weights + 65536)
    _check_free_space(out, need, "the model file")
    progress = False if args.no_progress else None
    with writer_lock(out, "model file"):
        if args.method == "exact":
            model, info = train.train_exact(params, args.data, n_train=args.n_train, progress=progress)
            meta |= {"method": "exact", "fit": info}
            if not info["converged"]:
                msg = (f"the exact fit did NOT converge after {info['n_iter']} Newton steps (max |gradient| "
                       f"{info['grad_norm']:.3g}, loss {info['loss']:.6f} per configuration); the loss may have no "
                       "finite minimum on these data (e.g. separable data)")
                if _refuse_unconverged(msg, args.allow_unconverged):
                    return 1
            else:
                print(f"exact optimum: loss {info['loss']:.6f} per configuration after {info['n_iter']} Newton steps")
        else:
            torch.set_num_threads(max(1, torch.get_num_threads()))
            resuming = checkpoint.exists()
            try:
                model, hist = train.train_adamw(params, args.data, args.validation, n_train=args.n_train,
                                                progress=progress, engine=engine, checkpoint=checkpoint,
                                                device=args.device, bf16=args.bf16)
            except train.TrainingDiverged as exc:
                checkpoint.unlink(missing_ok=True)  # its run cannot finish: a rerun needs another --lr anyway
                print(f"dreamrg: error: {exc}; nothing written", file=sys.stderr)
                return 1
            except KeyboardInterrupt:
                if checkpoint.exists():
                    print(f"dreamrg: interrupted; the checkpoint {checkpoint} is kept: run the same command to resume",
                          file=sys.stderr)
                raise
            meta |= {"method": "adamw", "engine": engine, "history": hist}
            if resuming:
                print(f"resumed from {checkpoint}")
            print(f"final losses per configuration: train {hist['train_loss'][-1]:.6f}  "
                  f"validation {hist['valid_loss'][-1]:.6f}")
        models.save_model(out, model, meta)
        if checkpoint is not None:
            checkpoint.unlink(missing_ok=True)  # the model holds the result; its checkpoint has done its job
    if args.model == "symmetric":
        print("learned W per orbit (|di|, |dj|):")
        for orbit, w in zip(models.kernel_orbits(args.k), model.params.tolist()):
            print(f"  {orbit}: {w:+.6f}")
    else:
        print(f"two-layer model with {model.n_params} parameters")
    print(f"wrote {args.out}")
    return 0


def _cmd_dream(args: argparse.Namespace) -> int:
    from dreamrg import dream
    from dreamrg.conditioned import load_upscaler
    from dreamrg.fss import ensemble_summaries
    from dreamrg.store import open_store
    from dreamrg._device import resolve_device

    resolve_device(args.device)  # an unavailable device: one error before anything else
    if args.L0 is not None and args.from_mc is not None:
        raise UsageError("give either --L0 (a random start, L0 = 1) or --from-mc PATH (L0 = the store's L), not both")
    _check_count("--n-configs", args.n_configs)
    if (args.prefix_model is None) != (args.prefix_levels is None):
        raise UsageError("--prefix-model and --prefix-levels go together: give both (the prefix model draws the first "
                         "--prefix-levels upscalings) or neither")
    model = load_upscaler(args.model)
    prefix = load_upscaler(args.prefix_model) if args.prefix_model is not None else None
    target = _conditioned.dream_target(args, model)  # before anything is written
    if args.from_mc is not None:
        L0, start = open_store(args.from_mc).L, str(args.from_mc.resolve())
    else:
        L0, start = args.L0 or 1, "random"
    params = dream.DreamParams(n_up=args.n_up, L0=L0, seed=args.seed, batch_size=args.batch_size,
                               start=start, save_configs=args.save_configs, prefix_levels=args.prefix_levels or 0)
    if resolve_device(args.device).type != "cpu" and dream.sampler_name(model) != "torch":
        print(f"note: this model is dreamed by the {dream.sampler_name(model)} sampler, which runs on the CPU "
              f"(numba); --device {args.device} applies to the torch sampler only", file=sys.stderr)
    with _scheduler(args) as client:  # batches as Dask tasks, each worker writing its batch to --out
        ens = dream.run(model, params, args.n_configs, args.out, target=target,
                        progress=False if args.no_progress else None, device=args.device, client=client,
                        prefix=prefix)
    if ens.count > args.n_configs:
        print(f"ensemble {args.out} already holds {ens.count} chains (--n-configs {args.n_configs}): left as it "
              f"is; the table below uses the first {args.n_configs}")
    print(f"ensemble {args.out}: {args.n_configs} chains, sizes {params.sizes}")
    if target is not None:
        _conditioned.print_plan(ens.meta, None if args.from_mc is None else open_store(args.from_mc).meta.get("K"))
    _print_summary(list(ensemble_summaries(args.out, stop=args.n_configs).values()))
    return 0


def _cmd_mcrg(args: argparse.Namespace) -> int:
    from dreamrg import dream, mcrg

    progress = False if args.no_progress else None
    if args.irreps:
        if args.basis not in ("symmetrised", "oriented"):
            raise UsageError(f"--irreps means --basis oriented; it cannot be combined with --basis {args.basis}")
        args.basis = "oriented"
    irreps = args.basis == "oriented"
    conv = {"basis": args.basis, "boundary": args.boundary}
    trunc = {"n_odd": args.n_odd, "n_even": args.n_even}
    if irreps and (args.n_odd is not None or args.n_even is not None):
        raise UsageError("--basis oriented uses all 158 oriented operators; it cannot be combined with "
                         "--n-odd / --n-even")
    most_odd, most_even = len(mcrg.get_basis(args.basis).odd), len(mcrg.get_basis(args.basis).even)
    for name, value, most in (("--n-odd", args.n_odd, most_odd), ("--n-even", args.n_even, most_even)):
        if value is not None and value > most:
            raise UsageError(f"{name} must be between 1 and {most} (the number of operators in that sector of "
                             f"the {args.basis} basis); got {value}")
    kind = _input_kind(args.path)
    if kind == "ensemble" and args.order != "run":
        raise UsageError(f"--order {args.order} needs a Monte Carlo store; {args.path} is a dreamed ensemble, whose "
                         "configurations are independent (use --order run)")
    if kind == "ensemble":
        ens = dream.open_ensemble(args.path)
        n = min(args.n or ens.count, ens.count)
        batches = (ens.configs(lo, min(lo + 2048, n)) for lo in range(0, n, 2048))
        if irreps:
            accs = mcrg.accumulate_batches(batches, levels=args.levels, seed=args.seed, n_total=n, check=False,
                                           **conv)
        else:
            results = mcrg.mcrg_from_batches(batches, levels=args.levels, seed=args.seed, n_total=n, check=False,
                                             **trunc, **conv)
    else:
        with _scheduler(args) as client:
            if irreps:
                accs = mcrg.accumulate_store(args.path, levels=args.levels, n=args.n, seed=args.seed,
                                             progress=progress, client=client, order=args.order, **conv)
            else:
                results = mcrg.mcrg_from_store(args.path, levels=args.levels, n=args.n, seed=args.seed,
                                               progress=progress, client=client, order=args.order, **trunc, **conv)
    if irreps:
        from dreamrg.runs.mcrg import IrrepRun

        return _print_irreps(IrrepRun(tuple(s for acc in accs for s in acc.irrep_result())), args.json)
    _print_mcrg(results, args.json)
    return 0


def _print_irreps(run, as_json: bool) -> int:
    """The irrep spectra of an :class:`dreamrg.runs.mcrg.IrrepRun`: its JSON (as cached), or a table."""
    if as_json:
        _print_json(run.to_dict())
        return 0
    print(f"{'step':>11} {'n':>8} {'sector':>6} {'irrep':>5} {'dim':>4} {'y1':>12} {'y2':>12}")
    for level in run.levels:
        for r in run.at(level):
            ys = [_fmt(y, e) for y, e in zip(r.y[:2], r.y_err[:2])] + ["—", "—"]
            print(f"{r.L_fine:>5}->{r.L_coarse:<5} {r.n_configs:>8} {r.parity:>6} {r.irrep:>5} "
                  f"{r.dim:>4} {ys[0]:>12} {ys[1]:>12}")
        first = run.at(level)[0]
        y3, e3, where = run.third(level)
        print(f"{first.L_fine:>5}->{first.L_coarse:<5} third exponent of the whole spectrum: "
              f"{_fmt(y3, e3)} ({where})")
    return 0


def _cmd_cache(args: argparse.Namespace) -> int:
    from dreamrg.cache import STAGE_VERSIONS
    from dreamrg.paths import data_dir
    from dreamrg.runs.inventory import inventory

    if args.export is not None or args.import_ is not None:
        from dreamrg.runs import carry

        if args.writing or args.stale:
            raise UsageError("--export and --import take no --writing or --stale (they carry current results)")
        report = (carry.export_results(args.export, args.stage) if args.export is not None
                  else carry.import_results(args.import_, args.stage))
        if args.json:
            _print_json(report.to_dict())
        else:
            print(f"{'exported to' if args.export is not None else 'imported from'} "
                  f"{args.export or args.import_}: {report.summary()}")
        return 0
    rows = [r for r in inventory(args.stage) if (r["writer"] is not None or not args.writing)
            and (r["stale"] or not args.stale)]
    if args.json:
        _print_json(rows)
        return 0
    stale = [r for r in rows if r["stale"]]
    print(f"cache: {data_dir()} ({len(rows)} entries"
          + (f", {len(stale)} stale: {sum(r['MB'] for r in stale) / 1024:.1f} GB)" if stale else ")"))
    for r in rows:
        writer = f"writing (pid {r['writer']})" if r["writer"] is not None else ""
        old = f"stale (version {r['version']}; this code: {STAGE_VERSIONS[r['stage']]})" if r["stale"] else ""
        print(f"{r['stage']:<12} {r['entry']:<56} {r['progress']:<44} {r['MB']:>9.1f} MB  {r['modified']}  "
              f"{'  '.join(t for t in (writer, old) if t)}".rstrip())
    return 0


def _verify_targets(path: Path) -> list[tuple[str, Path]]:
    """("store" | "ensemble", path) of ``path`` itself, or of every store and ensemble below it."""
    from dreamrg.dream import is_ensemble
    from dreamrg.store import is_store

    if is_ensemble(path):
        return [("ensemble", path)]
    if is_store(path):
        return [("store", path)]
    if not path.is_dir():
        raise UsageError(f"{path} does not exist" if not path.exists() else
                         f"{path} is neither a store, an ensemble nor a directory holding them")
    found: list[tuple[str, Path]] = []
    for meta in sorted(path.rglob("zarr.json")):
        node = meta.parent
        if any(node.is_relative_to(p) for _, p in found if p != node):
            continue  # an array inside an ensemble found already
        if is_ensemble(node):
            found.append(("ensemble", node))
        elif is_store(node) and not is_ensemble(node.parent):
            try:
                attrs = json.loads(meta.read_text()).get("attributes", {})
            except (OSError, ValueError):
                attrs = {"L": None, "count": None}  # unreadable zarr.json: let verify say so
            if "L" in attrs and "count" in attrs:
                found.append(("store", node))
    return found


def _cmd_verify(args: argparse.Namespace) -> int:
    from dreamrg._integrity import Problem, Report
    from dreamrg.dream import EnsembleError, verify_ensemble
    from dreamrg.store import StoreError, verify_store

    targets = _verify_targets(args.path)
    if not targets:
        raise UsageError(f"no configuration store or dreamed ensemble under {args.path}")
    reports = []
    for kind, path in targets:
        try:
            reports.append(verify_store(path) if kind == "store" else verify_ensemble(path))
        except (StoreError, EnsembleError) as err:  # not even openable
            unit = "configurations" if kind == "store" else "chains"
            reports.append(Report(str(path), kind, unit, 0, 0, [Problem(str(path / "zarr.json"), 0, 0, "metadata",
                                                                        str(err))]))
    bad = [r for r in reports if not r.ok]
    if args.json:
        print(json.dumps({"ok": not bad, "checked": len(reports), "damaged": len(bad),
                          "problems": sum(len(r.problems) for r in reports),
                          "reports": [r.to_dict() for r in reports]}, indent=1))
        return 1 if bad else 0
    for r in reports:
        what = "chunks" if r.kind == "store" else "batches"
        print(f"{'ok' if r.ok else 'DAMAGED':<8} {r.kind:<8} {r.path}: {r.count} {r.unit} in {r.blocks} "
              f"recorded {what}" + (f", {len(r.problems)} problem(s)" if r.problems else ""))
        for p in r.problems:
            print(f"  {p.kind:<9} {p.message(r.unit)}")
    print(f"verified {len(reports)} store(s)/ensemble(s): {len(reports) - len(bad)} intact, {len(bad)} damaged, "
          f"{sum(len(r.problems) for r in reports)} problem(s)")
    return 1 if bad else 0


def _cmd_book(args: argparse.Namespace) -> int:
    from dreamrg.bookrun import build_book, parse_overrides, profile_file_overrides
    from dreamrg.profiles import CHAPTERS

    profile = args.profile or "quick"
    if args.profile_file is not None:  # checked (and its base found) before anything runs
        profile, _ = profile_file_overrides(args.profile_file, args.profile)
    overrides = parse_overrides(args.overrides, profile, list(args.chapters or CHAPTERS))
    from dreamrg import _cluster

    try:
        _cluster.resolve(args.scheduler)  # a malformed one fails before any work
    except _cluster.SchedulerError as exc:
        raise UsageError(str(exc)) from None
    build_book(profile=profile, chapters=args.chapters, build=not args.no_build, overrides=overrides,
               profile_file=args.profile_file, scheduler=args.scheduler, carry=args.carry)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) >= 2 and argv[0] == "mc" and argv[1] == "import":
        args = import_parser().parse_args(argv[2:])
        args.command = "mc-import"
    else:
        parser = build_parser()
        args = parser.parse_args(argv)
    from dreamrg.bookrun import ChapterFailed

    from dreamrg.cli._models import cmd_models

    handlers = {"models": cmd_models, "mc": _cmd_mc, "train": _cmd_train, "dream": _cmd_dream, "mcrg": _cmd_mcrg,
                "mc-import": _cmd_import, "observables": _cmd_observables, "cache": _cmd_cache, "verify": _cmd_verify,
                "book": _cmd_book}
    try:
        status = handlers[args.command](args)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return status
    except BrokenPipeError:
        # the reader went away (e.g. `dreamrg cache | head`): stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        # Ctrl-C: no traceback; every writer leaves resumable state (atomic files, committed chunks, checkpoints)
        return 130
    except (UsageError, ValueError) as exc:
        print(f"dreamrg: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"dreamrg: error: {_os_error_message(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, _PATH_ERRORS) else 1
    except (OverflowError, MemoryError) as exc:
        what = "a number is too large" if isinstance(exc, OverflowError) else "not enough memory"
        print(f"dreamrg: error: {what} ({exc or type(exc).__name__}); use smaller counts or sizes", file=sys.stderr)
        return 2
    except ChapterFailed as exc:
        print(f"dreamrg: {exc}", file=sys.stderr)
        return 1
