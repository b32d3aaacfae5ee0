"""One-off conversion: the authors' released torch weights -> dreamrg's bundled JSON data.

Reads the ``.pth`` state dicts of a checkout of the paper authors' repository
(GitHub adam-rancon/upscaling_Ising: ``models/*.pth`` and ``weighted_loss_models/*.pth``)
with ``torch.load(..., weights_only=True)`` -- plain tensors only, never pickled code --
and writes the entries of one model kind as JSON numbers in the schema of
``src/dreamrg/data/authors_single_layer.json`` (``file``, ``model``, ``kernel_size``,
``L_train``, ``batch_size``, ``set_size``, ``weighted_loss``, ``learning_rate``,
``state_dict`` with ``shape`` and row-major ``values``). Nothing of dreamrg runs this at
run time; dreamrg only reads the JSON it writes.

    python tools/convert_authors_release.py CHECKOUT --kind two_layer_32ch \\
        --out src/dreamrg/data/authors_two_layer.json

The facts used from the file names (their own naming): ``conv_32`` marks the two-layer
32-channel network, ``ks<k>`` the kernel size, ``L<L>`` the training size,
``batch<b>``, ``setsize<M>`` and ``learning_r<lr>``; files under
``weighted_loss_models/`` were trained with the weighted loss.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import torch

COMMIT = "26d4eeb060999a9b93379fdf91740b8c7c8f99f2"
_NAME = re.compile(r"ks(?P<k>\d+)_learning_r(?P<lr>[\d.]+)_L(?P<L>\d+)_batch(?P<b>\d+)_setsize(?P<M>\d+)\.pth$")


def entry(root: Path, path: Path) -> dict:
    m = _NAME.search(path.name)
    if m is None:
        raise ValueError(f"{path}: file name not in the authors' pattern")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {
        "file": str(path.relative_to(root)),
        "model": "two_layer_32ch" if "conv_32" in path.name else "symmetric_single_layer",
        "kernel_size": int(m["k"]), "L_train": int(m["L"]), "batch_size": int(m["b"]), "set_size": int(m["M"]),
        "weighted_loss": path.parent.name == "weighted_loss_models", "learning_rate": float(m["lr"]),
        "state_dict": {name: {"shape": list(t.shape), "values": t.detach().double().reshape(-1).tolist()}
                       for name, t in state.items()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkout", type=Path, help="a checkout of adam-rancon/upscaling_Ising")
    ap.add_argument("--kind", choices=("two_layer_32ch", "symmetric_single_layer"), required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    files = sorted(p for d in ("models", "weighted_loss_models") for p in (args.checkout / d).glob("*.pth"))
    entries = [e for e in (entry(args.checkout, p) for p in files) if e["model"] == args.kind]
    if not entries:
        print(f"no {args.kind} weights under {args.checkout}", file=sys.stderr)
        return 1
    doc = {"source": f"Numbers only: the {args.kind} weights of the paper authors' public repository "
                     f"adam-rancon/upscaling_Ising (commit {COMMIT}, GPL-3.0), read with "
                     "torch.load(weights_only=True) and written as JSON numbers by "
                     "tools/convert_authors_release.py, without other change.",
           "models": entries}
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(json.dumps(doc))
    tmp.replace(args.out)
    print(f"wrote {len(entries)} {args.kind} entries to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
