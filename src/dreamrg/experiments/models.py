"""Which models a profile means: :class:`ModelId` (whose, how deep, which kernel, loss and training set), our
single-layer models of the training chapter and the authors' released ones."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dreamrg import models, released, train
from dreamrg.profiles import Profile, TrainingSection, load_profile
from dreamrg.runs.models import cached_model

__all__ = ["SOURCES", "MC", "AUTHORS_L_T", "AUTHORS_M", "ModelId", "row_label", "paper_row", "as_profile",
           "single_layer_params", "trained_models", "trained_model", "single_layer_fits", "training_size_models",
           "authors_models", "authors_release"]


SOURCES = ("ours", "authors")
#: the key of the Monte Carlo row in results keyed by model (Tables II and IV)
MC = "MC"
#: the authors' released models were trained on 10^6 configurations of size 32
AUTHORS_L_T, AUTHORS_M = released.DEFAULT_L_T, released.DEFAULT_M


@dataclass(frozen=True, order=True)
class ModelId:
    """Identity of a trained upscaler: whose, how deep, which kernel, which loss, which training set.

    Attributes
    ----------
    source : {"ours", "authors"}
        Trained by dreamrg, or released by the paper's authors.
    depth : {1, 2}
        The single-layer symmetric model, or the two-layer network.
    k : int
        Kernel size.
    weighted : bool
        Weighted loss (the paper's eq. 13).
    L_t, M : int
        Size and number of the training configurations.
    method : {"adamw", "exact"}
        The paper's AdamW schedule, or the exact optimum of the single-layer loss.
    """

    source: str
    depth: int
    k: int
    weighted: bool
    L_t: int
    M: int
    method: str = "adamw"

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}; got {self.source!r}")
        if self.depth not in (1, 2):
            raise ValueError(f"depth must be 1 or 2; got {self.depth!r}")
        if self.method not in train.METHODS:
            raise ValueError(f"method must be one of {train.METHODS}; got {self.method!r}")

    @property
    def paper_row(self) -> str:
        """The row of the paper's Tables II and IV this model's kernel and loss belong to ("k=3", "k=3, w.")."""
        return f"k={self.k}, w." if self.weighted else f"k={self.k}"

    @property
    def label(self) -> str:
        """The paper's label: "k=3", "k=3, w.", "authors k=3", "2-layer k=7, w.", "authors 2-layer k=3, w."."""
        parts = ["authors"] if self.source == "authors" else []
        parts += ["exact"] if self.method == "exact" else []
        parts += ["2-layer"] if self.depth == 2 else []
        return " ".join(parts + [self.paper_row])

    def __str__(self) -> str:
        return self.label

    def to_dict(self) -> dict:
        return {"source": self.source, "depth": self.depth, "k": self.k, "weighted": self.weighted,
                "L_t": self.L_t, "M": self.M, "method": self.method}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelId":
        return cls(d["source"], int(d["depth"]), int(d["k"]), bool(d["weighted"]), int(d["L_t"]), int(d["M"]),
                   d.get("method", "adamw"))


def row_label(key: ModelId | str) -> str:
    """Row label of a result key: the model's label, or ``"MC"``."""
    return key.label if isinstance(key, ModelId) else str(key)


def paper_row(key: ModelId | str) -> str | None:
    """Key of the paper's Tables II and IV for a result key (``None`` for the two-layer networks)."""
    if isinstance(key, ModelId):
        return key.paper_row if key.depth == 1 else None
    return key


# ----------------------------------------------------------------------------- single-layer models
def as_profile(profile: Profile | str) -> Profile:
    """``profile`` itself, or the built-in profile of that name."""
    return profile if isinstance(profile, Profile) else load_profile(profile)


def single_layer_params(training: TrainingSection, k: int, weighted: bool, method: str = "adamw") -> train.TrainParams:
    """Hyper-parameters of one single-layer model of the training chapter's section ``training``.

    Weighted AdamW models use the profile's ``weighted_batch_size`` for their k (the
    paper profile follows the authors' released models there); everything else uses
    ``batch_size`` (the exact optimum does not depend on it).
    """
    batch = training.batch_size
    if weighted and method == "adamw":
        if k not in training.weighted_batch_size:
            raise ValueError(f"weighted_batch_size has no entry for k={k}; "
                             f"it has {sorted(training.weighted_batch_size)}")
        batch = training.weighted_batch_size[k]
    return train.TrainParams(k=k, weighted=weighted, method=method, epochs=training.epochs, batch_size=batch,
                             seed=training.seed)


def trained_models(profile: Profile | str, method: str = "adamw") -> dict[ModelId, torch.nn.Module]:
    """Our single-layer models of the training chapter (every k, unweighted then weighted)."""
    p = as_profile(profile)
    L_t, M = p.training_set
    return {ModelId("ours", 1, k, weighted, L_t, M, method): trained_model(p, k, weighted, method)
            for k in p.trained_ks for weighted in (False, True)}


def trained_model(profile: Profile | str, k: int, weighted: bool = False, method: str = "adamw") -> torch.nn.Module:
    """The training chapter's single-layer model of kernel size ``k``; a clear error for an untrained ``k``."""
    p = as_profile(profile)
    if k not in p.trained_ks:
        raise ValueError(f"k = {k!r}: no model of that size is trained at profile {p.name!r}; "
                         f"trained: {list(p.trained_ks)}")
    L_t, M = p.training_set
    return cached_model(single_layer_params(p.training, k, weighted, method), L_t, M, p.data_seed)


def single_layer_fits(profile: Profile | str) -> dict[ModelId, torch.nn.Module]:
    """Every single-layer model of the training chapter: each k, unweighted then weighted, AdamW then exact."""
    p = as_profile(profile)
    L_t, M = p.training_set
    return {ModelId("ours", 1, k, weighted, L_t, M, method): trained_model(p, k, weighted, method)
            for k in p.trained_ks for weighted in (False, True) for method in ("adamw", "exact")}


def training_size_models(profile: Profile | str) -> dict[ModelId, torch.nn.Module]:
    """Exact optima for every (L_t, M, k) of the training-size study (the data of the paper's Fig. 6)."""
    p = as_profile(profile)
    return {ModelId("ours", 1, k, False, L_t, M, "exact"):
            cached_model(train.TrainParams(k=k, method="exact", seed=p.training_seed), L_t, M, p.data_seed)
            for L_t, M in p.fig6_training_sets for k in p.trained_ks}


def authors_models(L_t: int = AUTHORS_L_T, M: int = AUTHORS_M) -> dict[ModelId, torch.nn.Module]:
    """The authors' released single-layer models for (L_t, M)."""
    out = {}
    for entry in models.release_entries():
        if entry["L_train"] == L_t and entry["set_size"] == M:
            mid = ModelId("authors", 1, entry["kernel_size"], entry["weighted_loss"], L_t, M)
            out[mid] = models.from_release_entry(entry)
    return out


def authors_release() -> dict[ModelId, torch.nn.Module]:
    """Every released single-layer model of the authors (all their training sets), in the release's order."""
    return {ModelId("authors", 1, e["kernel_size"], e["weighted_loss"], e["L_train"], e["set_size"]):
            models.from_release_entry(e) for e in models.release_entries() if e["model"] == "symmetric_single_layer"}
