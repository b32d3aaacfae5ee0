"""Which models and results a profile means: the experiments of the book, keyed by :class:`ModelId`.

A chapter asks for "our single-layer models", "the authors' released ones", "the
two-layer networks", or the cached results computed from them, at a profile; the
functions here read the profile's parameters, choose the models and call the cached
recipes of :mod:`dreamrg.runs`. Results come back keyed by :class:`ModelId` (the
model's identity, with the paper's row label as :attr:`ModelId.label`) and, for Monte
Carlo, by lattice size. The tables against the paper are built from them in
:mod:`dreamrg.tables`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from dreamrg import models, train
from dreamrg.dream import DreamParams
from dreamrg.fss import PairExponents, pair_exponents
from dreamrg.paths import repo_root
from dreamrg.profiles import chapter_params
from dreamrg.runs import mcrg as _mcrg
from dreamrg.runs.mc import training_sets
from dreamrg.runs.models import cached_model
from dreamrg.runs.summaries import DreamSummary, MCSummary, dream_summary, mc_summary

SOURCES = ("ours", "authors")
#: the key of the Monte Carlo row in results keyed by model (Tables II and IV)
MC = "MC"
#: the authors' released models were trained on 10^6 configurations of size 32
AUTHORS_L_T, AUTHORS_M = 32, 1_000_000


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
def single_layer_params(P: dict, k: int, weighted: bool, method: str = "adamw") -> train.TrainParams:
    """Hyper-parameters of one single-layer model of the training chapter's parameters ``P``.

    Weighted AdamW models use the profile's ``weighted_batch_size`` for their k (the
    paper profile follows the authors' released models there); everything else uses
    ``batch_size`` (the exact optimum does not depend on it).
    """
    batch = P["batch_size"]
    if weighted and method == "adamw":
        sizes = {int(key): int(v) for key, v in P["weighted_batch_size"].items()}  # JSON overrides give str keys
        if k not in sizes:
            raise ValueError(f"weighted_batch_size has no entry for k={k}; it has {sorted(sizes)}")
        batch = sizes[k]
    return train.TrainParams(k=k, weighted=weighted, method=method, epochs=P["epochs"], batch_size=batch,
                             seed=P["seed"])


def trained_models(profile: str, method: str = "adamw") -> dict[ModelId, torch.nn.Module]:
    """Our single-layer models of the training chapter (every k, unweighted then weighted)."""
    P = chapter_params("training", profile)
    return {ModelId("ours", 1, k, weighted, P["L_t"], P["M"], method): trained_model(profile, k, weighted, method)
            for k in P["ks"] for weighted in (False, True)}


def trained_model(profile: str, k: int, weighted: bool = False, method: str = "adamw") -> torch.nn.Module:
    """The training chapter's single-layer model of kernel size ``k``; a clear error for an untrained ``k``."""
    P = chapter_params("training", profile)
    if k not in P["ks"]:
        raise ValueError(f"k = {k!r}: no model of that size is trained at profile {profile!r}; trained: {P['ks']}")
    MC_ = chapter_params("monte_carlo", profile)
    return cached_model(single_layer_params(P, k, weighted, method), P["L_t"], P["M"], MC_["seed"])


def training_size_models(profile: str, overrides: dict | None = None) -> dict[ModelId, torch.nn.Module]:
    """Exact optima for every (L_t, M, k) of the training-size study (the data of the paper's Fig. 6).

    ``overrides`` replace entries of the training chapter's parameters.
    """
    P = chapter_params("training", profile, overrides)
    seed = chapter_params("monte_carlo", profile)["seed"]
    return {ModelId("ours", 1, k, False, L_t, M, "exact"):
            cached_model(train.TrainParams(k=k, method="exact", seed=P["seed"]), L_t, M, seed)
            for L_t in P["fig6_L_t"] for M in P["fig6_M"] for k in P["ks"]}


def authors_models(L_t: int = AUTHORS_L_T, M: int = AUTHORS_M) -> dict[ModelId, torch.nn.Module]:
    """The authors' released single-layer models for (L_t, M)."""
    out = {}
    for entry in models.release_entries():
        if entry["L_train"] == L_t and entry["set_size"] == M:
            mid = ModelId("authors", 1, entry["kernel_size"], entry["weighted_loss"], L_t, M)
            out[mid] = models.from_release_entry(entry)
    return out


# ----------------------------------------------------------------------------- observables
def mc_summaries(profile: str) -> dict[int, MCSummary]:
    """Cached Monte Carlo summaries of the Monte Carlo chapter's FSS sizes."""
    P = chapter_params("monte_carlo", profile)
    return {L: mc_summary(L, P["fss_configs"], P["seed"]) for L in P["fss_sizes"]}


def fss_dream_params(profile: str, overrides: dict | None = None) -> DreamParams:
    """How the FSS chapter dreams: from one spin, ``n_up`` upscalings, its seed and batch size."""
    P = chapter_params("fss", profile, overrides)
    return DreamParams(n_up=P["n_up"], seed=P["seed"], batch_size=P["batch_size"])


def dreamed_summaries(profile: str, overrides: dict | None = None) -> dict[ModelId, DreamSummary]:
    """Cached dreamed-ensemble summaries of the FSS chapter: our AdamW models and the authors'.

    ``overrides`` replace entries of the FSS chapter's parameters (as its ``overrides`` cell).
    """
    P = chapter_params("fss", profile, overrides)
    params = fss_dream_params(profile, overrides)
    return {mid: dream_summary(m, params, P["n_configs"])
            for mid, m in (trained_models(profile) | authors_models()).items()}


def training_size_summaries(profile: str, overrides: dict | None = None) -> dict[ModelId, DreamSummary]:
    """Dreamed summaries of every model of :func:`training_size_models`, dreamed as in the FSS chapter
    (``overrides``: the FSS chapter's parameters)."""
    n = chapter_params("fss", profile, overrides)["n_configs"]
    params = fss_dream_params(profile, overrides)
    return {mid: dream_summary(m, params, n) for mid, m in training_size_models(profile).items()}


def table_ii_results(profile: str, overrides: dict | None = None
                     ) -> dict[ModelId | str, dict[tuple[int, int], PairExponents]]:
    """Rows of Table II: ``"MC"`` and every dreamed model (``overrides``: FSS chapter parameters)."""
    return {MC: pair_exponents(mc_summaries(profile))} | {
        mid: d.exponents for mid, d in dreamed_summaries(profile, overrides).items()}


def seed_spread_results(profile: str, k: int = 5, weighted: bool = True,
                        n_seeds: int = 3) -> dict[int, dict[tuple[int, int], PairExponents]]:
    """Table II exponents of one of our models trained with AdamW seeds ``seed, seed + 1, ...``.

    Same data and settings otherwise (the training chapter's), each dreamed as in the
    FSS chapter; keyed by the training seed.
    """
    P = chapter_params("training", profile)
    data_seed = chapter_params("monte_carlo", profile)["seed"]
    n = chapter_params("fss", profile)["n_configs"]
    params = fss_dream_params(profile)
    out = {}
    for seed in range(P["seed"], P["seed"] + n_seeds):
        model = cached_model(single_layer_params({**P, "seed": seed}, k, weighted), P["L_t"], P["M"], data_seed)
        out[seed] = dream_summary(model, params, n).exponents
    return out


# ----------------------------------------------------------------------------- MCRG
def mcrg_mc(profile: str, overrides: dict | None = None) -> dict[int, _mcrg.MCRGRun]:
    """Cached MCRG results of MC configurations for the MCRG chapter's sizes (every blocking step).

    ``overrides`` replace entries of the MCRG chapter's parameters.
    """
    P = chapter_params("mcrg", profile, overrides)
    seed = chapter_params("monte_carlo", profile)["seed"]
    return {L: _mcrg.mc_mcrg(L, P["mc_configs"], seed, levels=P["levels"]) for L in P["mc_sizes"]}


def mcrg_reference_size(profile: str, overrides: dict | None = None) -> int:
    """MC size whose first blocking step the dreamed configurations are compared with.

    The dreamed size ``2**n_up`` when the MCRG chapter simulates it (the paper's
    Table IV compares at L = 128), else the largest MC size of the profile.
    """
    P = chapter_params("mcrg", profile, overrides)
    return 2 ** P["n_up"] if 2 ** P["n_up"] in P["mc_sizes"] else max(P["mc_sizes"])


def mcrg_truncations(profile: str, overrides: dict | None = None) -> dict[int, _mcrg.TruncationScan]:
    """Exponents for several operator truncations of the smallest MC size of the MCRG chapter (cached)."""
    P = chapter_params("mcrg", profile, overrides)
    seed = chapter_params("monte_carlo", profile)["seed"]
    L = min(P["mc_sizes"])
    return {L: _mcrg.mc_truncations(L, P["mc_configs"], seed, levels=P["levels"])}


def mcrg_irreps_mc(profile: str, overrides: dict | None = None
                   ) -> dict[int, _mcrg.IrrepRun | _mcrg.IllConditioned]:
    """𝒯 of MC configurations by spin-flip sector and D4 irrep, for the MCRG chapter's ``irrep_sizes``."""
    P = chapter_params("mcrg", profile, overrides)
    seed = chapter_params("monte_carlo", profile)["seed"]
    return {L: _mcrg.mc_irreps(L, P["irrep_configs"], seed, levels=P["levels"]) for L in P["irrep_sizes"]}


def mcrg_dream_params(profile: str, overrides: dict | None = None) -> DreamParams:
    """How the MCRG chapter dreams: its ``n_up`` and batch size, with the FSS chapter's dreaming seed."""
    P = chapter_params("mcrg", profile, overrides)
    return DreamParams(n_up=P["n_up"], seed=chapter_params("fss", profile)["seed"], batch_size=P["batch_size"])


def mcrg_models(profile: str) -> dict[ModelId, torch.nn.Module]:
    """The models the MCRG chapter dreams with: ours (AdamW) and the authors' single-layer ones."""
    return trained_models(profile) | authors_models()


def mcrg_dreamed(profile: str, overrides: dict | None = None
                 ) -> dict[ModelId, _mcrg.DreamedMCRG | _mcrg.IllConditioned]:
    """Cached MCRG results (one blocking of the final size) of every model of :func:`mcrg_models`.

    ``overrides`` replace entries of the MCRG chapter's parameters.
    """
    P = chapter_params("mcrg", profile, overrides)
    params = mcrg_dream_params(profile, overrides)
    return {mid: _mcrg.dreamed_mcrg(m, params, P["dream_configs"], seed=P["seed"])
            for mid, m in mcrg_models(profile).items()}


def mcrg_irreps_dreamed(profile: str, overrides: dict | None = None
                        ) -> dict[ModelId, _mcrg.IrrepRun | _mcrg.IllConditioned]:
    """Lattice-symmetry analysis (``irrep_configs`` configurations) of every model of :func:`mcrg_models`."""
    P = chapter_params("mcrg", profile, overrides)
    params = mcrg_dream_params(profile, overrides)
    return {mid: _mcrg.dreamed_irreps(m, params, P["irrep_configs"], seed=P["seed"])
            for mid, m in mcrg_models(profile).items()}


# ----------------------------------------------------------------------------- two-layer networks
def _two_layer_id(profile: str, overrides: dict | None, k: int, weighted: bool) -> ModelId:
    P = chapter_params("complexity", profile, overrides)
    return ModelId("ours", 2, k, weighted, chapter_params("training", profile)["L_t"], P["M"])


def two_layer_targets(profile: str, overrides: dict | None = None) -> dict[ModelId, float]:
    """Validation loss each of our two-layer networks is trained to reach, keyed by the network.

    The loss of the training chapter's single-layer AdamW model of the same k and
    weighting, evaluated exactly as the two-layer run records its own validation loss:
    the first M/5 configurations of the complexity chapter's validation set, with the
    run's tie-break draw and batch size. ``overrides`` replace entries of the
    complexity chapter's parameters.
    """
    P = chapter_params("complexity", profile, overrides)
    T = chapter_params("training", profile)
    _, valid = training_sets(T["L_t"], P["M"], chapter_params("monte_carlo", profile)["seed"])
    return {_two_layer_id(profile, overrides, k, w):
            train.evaluate_loss(trained_model(profile, k, w), valid, P["M"] // 5, weighted=w, seed=P["seed"],
                                batch=min(P["batch_size"], P["M"]))
            for k in P["ks"] for w in (False, True)}


def two_layer_models(profile: str, overrides: dict | None = None) -> dict[ModelId, torch.nn.Module]:
    """Our two-layer models of the complexity chapter (AdamW, same training data as the single layer).

    Each is trained until its validation loss reaches that of the single-layer
    model of the same k and weighting (:func:`two_layer_targets`: "a comparable
    validation loss", as in the paper's section VI), for at most the profile's epochs,
    or until ``patience`` epochs pass without a better validation loss; the best
    epoch is returned then (:func:`dreamrg.train.stopping_point`).
    ``overrides`` replace entries of the complexity chapter's parameters.
    """
    P = chapter_params("complexity", profile, overrides)
    T = chapter_params("training", profile)
    seed = chapter_params("monte_carlo", profile)["seed"]
    targets = two_layer_targets(profile, overrides)
    out = {}
    for mid, target in targets.items():
        tp = train.TrainParams(k=mid.k, model="two-layer", weighted=mid.weighted, epochs=P["epochs"],
                               patience=P["patience"], batch_size=P["batch_size"], channels=P["channels"],
                               seed=P["seed"], target_loss=target)
        out[mid] = cached_model(tp, T["L_t"], P["M"], seed)
    return out


def authors_two_layer_models(path=None, L_t: int = AUTHORS_L_T, M: int = AUTHORS_M) -> dict[ModelId, torch.nn.Module]:
    """The authors' released two-layer models, if their full JSON is available (else empty).

    Default path: ``../shared/authors-release/released_models.json`` beside the repository.
    """
    path = Path(path) if path else repo_root().parent / "shared" / "authors-release" / "released_models.json"
    if not path.is_file():
        return {}
    out = {}
    for entry in models.release_entries(path):
        if entry["model"] == "two_layer_32ch" and entry["L_train"] == L_t and entry["set_size"] == M:
            out[ModelId("authors", 2, entry["kernel_size"], entry["weighted_loss"], L_t, M)] = \
                models.from_release_entry(entry)
    return out


def complexity_single_layer(profile: str) -> dict[ModelId, torch.nn.Module]:
    """Our single-layer models with the kernel sizes the complexity chapter compares."""
    ks = chapter_params("complexity", profile)["ks"]
    return {mid: m for mid, m in trained_models(profile).items() if mid.k in ks}


def complexity_dream_params(profile: str, overrides: dict | None = None) -> DreamParams:
    P = chapter_params("complexity", profile, overrides)
    return DreamParams(n_up=P["n_up"], seed=P["seed"], batch_size=P["batch_dream"])


def two_layer_summaries(profile: str, overrides: dict | None = None) -> dict[ModelId, DreamSummary]:
    """Dreamed summaries of our two-layer networks and of the authors' (where available)."""
    P = chapter_params("complexity", profile, overrides)
    params = complexity_dream_params(profile, overrides)
    nets = two_layer_models(profile, overrides) | authors_two_layer_models()
    return {mid: dream_summary(m, params, P["n_configs"]) for mid, m in nets.items()}

