"""The paper authors' released models bundled with dreamrg, by name.

The authors' repository (GitHub adam-rancon/upscaling_Ising) releases the trained
weights of their single-layer symmetric upscalers (kernel sizes 3, 5, 7) and of
their two-layer 32-channel networks (kernel sizes 3, 7), for several training sets.
dreamrg bundles them as JSON numbers (``dreamrg/data/authors_single_layer.json``,
``dreamrg/data/authors_two_layer.json``; GPL-3.0-only, see ``dreamrg/data/NOTICE``)
and builds dreamrg models from them with :func:`dreamrg.models.from_release_entry`.

Names (:func:`release_name`): ``authors-`` then ``2layer-`` for a two-layer network,
``k<k>``, ``w`` for the weighted loss, and, for a training set other than the paper's
default L_t = 32 with M = 10^6 configurations, ``-Lt<L_t>-M<M>`` with M written as a
power of ten: ``authors-k3``, ``authors-k7w``, ``authors-k3-Lt128-M1e6``,
``authors-2layer-k7-Lt32-M1e4``.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch

from dreamrg.models import from_release_entry, release_entries, save_model

__all__ = ["DEFAULT_L_T", "DEFAULT_M", "ReleasedModel", "release_name", "released_models", "released_model",
           "export_model", "SMALL_LATTICE_LEVELS", "small_lattice_start"]

#: the training set of the paper's released models unless a name says otherwise
DEFAULT_L_T, DEFAULT_M = 32, 1_000_000
_FILES = ("authors_single_layer.json", "authors_two_layer.json")
_DEPTH = {"symmetric_single_layer": 1, "two_layer_32ch": 2}


@dataclass(frozen=True)
class ReleasedModel:
    """One released model: its name, architecture and training set, and the bundled entry.

    Attributes
    ----------
    name : str
        As :func:`release_name` gives it.
    depth : {1, 2}
        Single-layer symmetric upscaler or two-layer 32-channel network.
    k : int
        Kernel size.
    weighted : bool
        Trained with the weighted loss (the paper's eq. 13).
    L_t, M : int
        Size and number of the training configurations.
    entry : dict
        The bundled entry (file name, batch size, learning rate, state dict).
    """

    name: str
    depth: int
    k: int
    weighted: bool
    L_t: int
    M: int
    entry: dict = field(repr=False, compare=False)

    def model(self) -> torch.nn.Module:
        """The dreamrg model of these weights (:func:`dreamrg.models.from_release_entry`)."""
        return from_release_entry(self.entry)

    def row(self) -> dict:
        """name, depth, k, weighted, L_t, M, batch size and the authors' file, for a listing."""
        return {"name": self.name, "depth": self.depth, "k": self.k, "weighted": self.weighted, "L_t": self.L_t,
                "M": self.M, "batch_size": self.entry.get("batch_size"), "file": self.entry.get("file")}


def _power_of_ten(M: int) -> str:
    e = round(math.log10(M)) if M > 0 else 0
    return f"1e{e}" if M == 10 ** e else str(M)


def release_name(entry: dict) -> str:
    """The dreamrg name of one release entry (see the module docstring)."""
    depth = _DEPTH.get(entry["model"])
    if depth is None:
        raise ValueError(f"unknown model kind {entry['model']!r}; expected one of {', '.join(_DEPTH)}")
    name = "authors-" + ("2layer-" if depth == 2 else "") + f"k{entry['kernel_size']}"
    name += "w" if entry["weighted_loss"] else ""
    if (entry["L_train"], entry["set_size"]) != (DEFAULT_L_T, DEFAULT_M):
        name += f"-Lt{entry['L_train']}-M{_power_of_ten(entry['set_size'])}"
    return name


@functools.cache
def _bundled() -> tuple[ReleasedModel, ...]:
    out = []
    for fname in _FILES:
        src = resources.files("dreamrg") / "data" / fname
        if not src.is_file():  # an MIT-only redistribution may leave the GPL data out (see LICENSE)
            continue
        for e in release_entries(src):
            out.append(ReleasedModel(release_name(e), _DEPTH[e["model"]], int(e["kernel_size"]),
                                     bool(e["weighted_loss"]), int(e["L_train"]), int(e["set_size"]), e))
    names = [m.name for m in out]
    if len(set(names)) != len(names):
        raise RuntimeError(f"two bundled models share a name: {sorted(n for n in names if names.count(n) > 1)}")
    return tuple(sorted(out, key=lambda m: (m.depth, m.k, m.weighted, m.L_t != DEFAULT_L_T or m.M != DEFAULT_M,
                                            m.L_t, m.M)))


def released_models() -> dict[str, ReleasedModel]:
    """Every bundled released model by name (single-layer first, then by k, loss and training set)."""
    return {m.name: m for m in _bundled()}


def released_model(name: str) -> ReleasedModel:
    """The bundled model called ``name``; ``ValueError`` listing the allowed names otherwise."""
    models = released_models()
    if name not in models:
        raise ValueError(f"unknown released model {name!r}; allowed: {', '.join(models)}")
    return models[name]


def export_model(name: str, path: str | os.PathLike) -> Path:
    """Write the released model ``name`` as a dreamrg model file (atomically), for ``dreamrg dream --model``.

    The file's metadata name the model, its training set and the authors' file, and
    state the weights' licence (GPL-3.0-only, as the bundled data).
    """
    m = released_model(name)
    meta = {"released_model": m.name, "source": "released by the paper's authors "
            "(GitHub adam-rancon/upscaling_Ising, commit 26d4eeb); weights under GPL-3.0-only, see dreamrg/data/NOTICE",
            **{k: v for k, v in m.row().items() if k != "name"},
            "learning_rate": m.entry.get("learning_rate")}
    return save_model(path, m.model(), meta)


#: how many first upscalings the authors' k = 3 model draws, by (depth, k) of the released model ("because of
#: padding problems", their ``calculate_observables.py``): one for single-layer k = 5, two for k = 7 (single-
#: and two-layer; the two-layer k = 7 network starts with the two-layer k = 3 one)
SMALL_LATTICE_LEVELS = {(1, 5): 1, (1, 7): 2, (2, 7): 2}


def small_lattice_start(name: str) -> tuple[str, int] | None:
    """The authors' small-lattice start of a released model: ``(name of its k = 3 partner, N)``, or None.

    The authors dream their single-layer k = 5 models with their k = 3 model for the first
    upscaling (1 → 2) and their k = 7 models with it for the first two (1 → 2 → 4), whose
    lattices are narrower than the kernel; likewise their two-layer k = 7 networks with the
    two-layer k = 3 one for the first two. The partner is the k = 3 model of the same depth,
    training set (L_t, M) and loss. ``None`` for k = 3 (dreamed with one model at every
    level). Use it as ``prefix`` with ``DreamParams(prefix_levels=N)`` (:func:`dreamrg.dream.run`).
    """
    m = released_model(name)
    if (m.depth, m.k) not in SMALL_LATTICE_LEVELS:
        return None
    partner = [p for p in _bundled()
               if (p.depth, p.k, p.weighted, p.L_t, p.M) == (m.depth, 3, m.weighted, m.L_t, m.M)]
    if len(partner) != 1:
        raise ValueError(f"released model {name!r} has {len(partner)} k = 3 partners (same L_t = {m.L_t}, "
                         f"M = {m.M}, weighted = {m.weighted}); expected one")
    return partner[0].name, SMALL_LATTICE_LEVELS[m.depth, m.k]
