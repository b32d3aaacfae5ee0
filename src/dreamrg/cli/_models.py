"""``dreamrg models``: the paper authors' released models bundled with dreamrg.

``dreamrg models list`` shows them (name, depth, k, weighted, L_t, M);
``dreamrg models export NAME --out m.json`` writes one as a dreamrg model file that
``dreamrg dream --model m.json`` takes. The names are those of :mod:`dreamrg.released`.
"""

from __future__ import annotations

import argparse
import json

from dreamrg.cli._args import UsageError, _check_output_file, _out_path, _print_json


def add_parser(sub) -> None:
    """The ``models`` sub-command and its two actions."""
    mo = sub.add_parser("models", help="the paper authors' released models bundled with dreamrg: list, export",
                        description="List the released models (single- and two-layer, with their training set) "
                        "or write one as a dreamrg model file for 'dreamrg dream --model'.")
    act = mo.add_subparsers(dest="action", metavar="ACTION")
    act.required = True
    ls = act.add_parser("list", help="name, depth, k, weighted loss, L_t and M of every bundled model")
    ls.add_argument("--json", action="store_true")
    ex = act.add_parser("export", help="write one released model as a dreamrg model file")
    ex.add_argument("name", help="a name from 'dreamrg models list', e.g. authors-k3 or authors-k7w")
    ex.add_argument("--out", type=_out_path, required=True, help="model file to write (JSON)")


def cmd_models(args: argparse.Namespace) -> int:
    from dreamrg import released

    if args.action == "list":
        rows = [m.row() for m in released.released_models().values()]
        if args.json:
            _print_json(rows)
            return 0
        print(f"{'name':<30} {'depth':>5} {'k':>2} {'weighted':>8} {'L_t':>4} {'M':>8}")
        for r in rows:
            print(f"{r['name']:<30} {r['depth']:>5} {r['k']:>2} {'yes' if r['weighted'] else 'no':>8} "
                  f"{r['L_t']:>4} {r['M']:>8}")
        print(f"{len(rows)} models, released by the paper's authors (weights under GPL-3.0-only, see "
              "dreamrg/data/NOTICE); default training set L_t = 32, M = 10^6")
        return 0
    try:
        released.released_model(args.name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = _check_output_file(args.out)
    if out.exists() and _exported_name(out) != args.name:  # re-running the same export may replace its file
        raise UsageError(f"--out {args.out} exists and is not this released model's file; refusing to overwrite "
                         "it (choose another --out or remove it)")
    released.export_model(args.name, out)
    print(f"wrote {args.name} to {args.out}")
    return 0


def _exported_name(path) -> str | None:
    """The released model a dreamrg model file at ``path`` was exported from, or None."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    meta = doc.get("meta") if isinstance(doc, dict) and doc.get("format") == "dreamrg-model" else None
    return meta.get("released_model") if isinstance(meta, dict) else None
