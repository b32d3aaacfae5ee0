"""The temperature-conditioned model on the command line: ``train --conditioned`` and ``dream --K``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dreamrg.cli._args import (UsageError, _check_free_space, _check_output_file, _check_replaceable_model,
                               _refuse_unconverged)

#: help of ``dream --K`` and ``--schedule`` (what happens outside the trained range, said plainly)
K_HELP = ("coupling K of the final size, for a temperature-conditioned model (required for one, refused for any "
          "other model)")
SCHEDULE_HELP = ("couplings of the smaller sizes, conditioned models only: 'flow' (default) gives the level of size "
                 "L0·2^l of a run of n upscalings t_l = t·2^(n-l) (t = K/K_c - 1: the target blocked n-l times, "
                 "linearised flow with y_t = 1); 'naive' gives every level t. A level whose t lies outside the "
                 "model's trained range is NOT dreamed at that t: it uses the model at the nearest end of the range "
                 "(the polynomial in t is not extrapolated); the output and the ensemble's metadata say which levels")


def _old_meta(path: Path) -> dict | None:
    """The ``meta`` of a dreamrg model file at ``path``, or None if it is anything else."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(doc, dict) and doc.get("format") == "dreamrg-model" and isinstance(doc.get("meta"), dict)
    return doc["meta"] if ok else None


def cmd_train_conditioned(args: argparse.Namespace) -> int:
    """``dreamrg train --conditioned``: one store per coupling (K from each store's metadata)."""
    from dreamrg import conditioned, train
    from dreamrg import train_conditioned as tc
    from dreamrg.patches import KERNEL_SIZES, kernel_orbits
    from dreamrg.store import open_store, writer_lock

    if args.model != "symmetric":
        raise UsageError("--conditioned trains the single-layer symmetric model; "
                         "a two-layer model cannot be conditioned")
    if args.k not in KERNEL_SIZES:
        raise UsageError(f"--conditioned needs --k in {KERNEL_SIZES} (the histogram fits); got {args.k}")
    if args.method == "adamw" and args.engine == "torch":
        raise UsageError("a conditioned AdamW run computes its gradients from pattern histograms; --engine torch "
                         "is not available for it")
    params = train.TrainParams(k=args.k, weighted=args.weighted, method=args.method, epochs=args.epochs,
                               batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    degree = 1 if args.degree is None else args.degree
    for path in list(args.data) + list(args.validation or []):
        open_store(path)  # clear error for missing or foreign data before any work
    Ks = [tc.store_coupling(p) for p in args.data]
    if args.method == "adamw":
        if args.validation is None or len(args.validation) != len(args.data):
            raise UsageError(f"--method adamw needs --validation with one independent store per --data store "
                             f"({len(args.data)}), at the same couplings")
        vKs = [tc.store_coupling(p) for p in args.validation]
        if vKs != Ks:
            raise UsageError(f"the --validation stores are at couplings {vKs}, the --data stores at {Ks}; give "
                             "them in the same order, one per coupling")
    out = _check_output_file(args.out)
    meta = {"params": params.__dict__, "conditioned": True, "degree_requested": degree,
            "data": [str(p) for p in args.data]}
    if out.exists():
        _check_replaceable_model(args.out, _old_meta(out), meta, ("params", "data", "degree_requested"))
    _check_free_space(out, 65536 + 200 * params.epochs, "the model file")
    progress = False if args.no_progress else None
    with writer_lock(out, "model file"):
        if args.method == "exact":
            model, info = tc.train_conditioned_exact(params, args.data, degree=degree, n_train=args.n_train,
                                                     progress=progress)
            meta |= {"method": "exact", "fit": info}
            if not info["converged"]:
                msg = (f"the exact fit did NOT converge after {info['n_iter']} Newton steps (max |gradient| "
                       f"{info['grad_norm']:.3g}, loss {info['loss']:.6f} per configuration)")
                if _refuse_unconverged(msg, args.allow_unconverged):
                    return 1
            else:
                print(f"exact optimum: loss {info['loss']:.6f} per configuration after {info['n_iter']} Newton steps "
                      f"({info['seconds_total']:.1f} s)")
        else:
            try:
                model, info = tc.train_conditioned_adamw(params, args.data, args.validation, degree=degree,
                                                         n_train=args.n_train, n_valid=None, progress=progress)
            except train.TrainingDiverged as exc:
                print(f"dreamrg: error: {exc}; nothing written", file=sys.stderr)
                return 1
            meta |= {"method": "adamw", "history": info}
            print(f"final losses per configuration: train {info['train_loss'][-1]:.6f}  "
                  f"validation {info['valid_loss'][-1]:.6f}")
        conditioned.save_conditioned(out, model, meta)
    print(f"{'store':<40} {'K':>12} {'t = K/K_c - 1':>14} {'M':>8}")
    for c in info["couplings"]:
        print(f"{c['path'][-40:]:<40} {c['K']:>12.8f} {c['t']:>+14.5f} {c['M']:>8}")
    if info["degree"] < degree:
        print(f"warning: {len({c['t'] for c in info['couplings']})} distinct coupling(s) determine a polynomial of "
              f"degree ≤ {info['degree']} in t, not {degree}: the model has degree {info['degree']}")
    lo, hi = model.t_range
    print(f"trained range: t in [{lo:+.5f}, {hi:+.5f}]; beyond it a dream uses the model at the nearest end")
    print("learned W(t) = " + " + ".join(["a", "b t", "c t^2", "d t^3"][:model.degree + 1])
          + " per orbit (|di|, |dj|):")
    for o, orbit in enumerate(kernel_orbits(args.k)):
        print(f"  {orbit}: " + "  ".join(f"{model.params[d, o].item():+.6f}" for d in range(model.degree + 1)))
    print(f"wrote {args.out}")
    return 0


def dream_target(args: argparse.Namespace, model):
    """The :class:`~dreamrg.conditioned.DreamTarget` of ``dream --K/--schedule``, or None; UsageError on a mismatch."""
    from dreamrg.conditioned import ConditionedUpscaler, DreamTarget

    if isinstance(model, ConditionedUpscaler):
        if args.K is None:
            rng = ("" if model.t_range is None else
                   f"; trained range t = K/K_c - 1 in [{model.t_range[0]:+.4f}, {model.t_range[1]:+.4f}], i.e. K in "
                   f"[{model.K_c * (1 + model.t_range[0]):.6f}, {model.K_c * (1 + model.t_range[1]):.6f}]")
            raise UsageError(f"{args.model} is a temperature-conditioned model: give the coupling to dream at with "
                             f"--K (K_c = {model.K_c:.10g}{rng})")
        return DreamTarget(K=args.K, schedule=args.schedule or "flow")
    if args.K is not None or args.schedule is not None:
        given = "--K" if args.K is not None else "--schedule"
        raise UsageError(f"{args.model} is not temperature-conditioned (a {type(model).__name__}): it dreams at the "
                         f"coupling it was trained at, and {given} applies to conditioned models only; drop {given}")
    return None


def print_plan(meta: dict, start_K: float | None = None) -> None:
    """The coupling of every level of a conditioned ensemble, and a warning per clipped level (and for a Monte
    Carlo start at another coupling than the schedule's, ``start_K`` being the store's K)."""
    from dreamrg.conditioned import LevelPlan

    plan = LevelPlan.from_dict(meta["conditioning"])
    sizes = meta["sizes"]
    print(f"target K = {plan.K:.10g} (t = {plan.t:+.5f}), schedule {plan.schedule!r}; per level:")
    for L, req, used in zip(sizes[1:], plan.t_levels, plan.t_used):
        note = "  (clipped to the trained range)" if req != used else ""
        print(f"  L = {L:>5}: t requested {req:+.5f}, used {used:+.5f}{note}")
    for line in plan.warnings(sizes[0]):
        print(f"warning: {line}")
    want = plan.K_c * (1 + plan.t_at(0))
    if start_K is not None and abs(start_K - want) > 1e-9 * want:
        print(f"warning: the start configurations (L = {sizes[0]}) are at K = {start_K:.8g}; the {plan.schedule!r} "
              f"schedule puts that size at K = {want:.8g} (t = {plan.t_at(0):+.5f})")
