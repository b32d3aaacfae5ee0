"""Which models and results a profile means: the experiments of the book, keyed by :class:`ModelId`.

A chapter asks for "our single-layer models", "the authors' released ones", "the
two-layer networks", or the cached results computed from them, at a profile; the
functions here read the :class:`~dreamrg.profiles.Profile` (its sections and named
cross-chapter members), choose the models and call the cached recipes of
:mod:`dreamrg.runs`. Every function takes a ``Profile`` (or the name of a built-in
one); a chapter's own overrides are part of the profile it passes
(``load_profile(name, {"fss": overrides})``). Results come back keyed by
:class:`ModelId` (the model's identity, with the paper's row label as
:attr:`ModelId.label`) and, for Monte Carlo, by lattice size. The tables against the paper are built from them in
:mod:`dreamrg.tables`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dreamrg import models, released, train
from dreamrg.conventions import OURS, PAPER_TABLE_IV_DREAMED, Convention
from dreamrg.dream import DreamParams
from dreamrg.mc import MCParams
from dreamrg.mcrg import MCRGResult, StreamProgress
from dreamrg.fss import PairExponents, pair_exponents
from dreamrg.offcritical import OffcriticalResult
from dreamrg.profiles import Profile, TrainingSection, load_profile
from dreamrg.runs import mcrg as _mcrg
from dreamrg.runs import offcritical as _offcritical
from dreamrg.runs.mc import cached_store, training_sets
from dreamrg.runs.models import cached_model
from dreamrg.runs.summaries import DreamSummary, MCSummary, dream_summary, mc_summary

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
            raise ValueError(f"weighted_batch_size has no entry for k={k}; it has {sorted(training.weighted_batch_size)}")
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


# ----------------------------------------------------------------------------- observables
def mc_summaries(profile: Profile | str) -> dict[int, MCSummary]:
    """Cached Monte Carlo summaries of the Monte Carlo chapter's FSS sizes."""
    sizes, n, seed = as_profile(profile).mc_fss
    return {L: mc_summary(L, n, seed) for L in sizes}


def mc_validation(profile: Profile | str) -> dict[tuple[str, int], MCSummary]:
    """Cached MC summaries compared with the exact solution, keyed by (algorithm, L): Swendsen–Wang, then Wolff."""
    p = as_profile(profile)
    mc = p.monte_carlo
    return {(algorithm, L): mc_summary(L, mc.validation_configs, p.data_seed, algorithm=algorithm)
            for algorithm in ("sw", "wolff") for L in mc.validation_sizes}


def mc_training_store_paths(profile: Profile | str) -> dict[int, tuple[Path, Path]]:
    """Where the training and validation stores of :func:`mc_training_stores` are kept, keyed by L_t; nothing is
    computed (the training chapter makes them when it trains, unless its models are cached or carried)."""
    from dreamrg.runs.mc import training_set_paths

    p = as_profile(profile)
    return {L_t: training_set_paths(L_t, p.data_seed) for L_t in p.monte_carlo.training_sizes}


def mc_training_stores(profile: Profile | str) -> dict[int, tuple[Path, Path]]:
    """The Monte Carlo chapter's training and validation stores (cached), keyed by L_t."""
    p = as_profile(profile)
    mc = p.monte_carlo
    return {L_t: training_sets(L_t, mc.training_M, p.data_seed) for L_t in mc.training_sizes}


def plot_sizes(summaries: dict[ModelId, DreamSummary], min_L: int = 4) -> list[int]:
    """Sizes ≥ ``min_L`` of the dreamed ensembles (those of the first summary), as the figures show them."""
    return [L for L in next(iter(summaries.values())).sizes if L >= min_L]


def fss_dream_params(profile: Profile | str) -> DreamParams:
    """How the FSS chapter dreams: from one spin, ``n_up`` upscalings, its seed and batch size."""
    d = as_profile(profile).fss_dreaming
    return DreamParams(n_up=d.n_up, seed=d.seed, batch_size=d.batch_size)


def dreamed_summaries(profile: Profile | str) -> dict[ModelId, DreamSummary]:
    """Cached dreamed-ensemble summaries of the FSS chapter: our AdamW models and the authors'."""
    p = as_profile(profile)
    params, n = fss_dream_params(p), p.fss_dreaming.n_configs
    return {mid: dream_summary(m, params, n) for mid, m in (trained_models(p) | authors_models()).items()}


def training_size_summaries(profile: Profile | str) -> dict[ModelId, DreamSummary]:
    """Dreamed summaries of every model of :func:`training_size_models`, dreamed as in the FSS chapter."""
    p = as_profile(profile)
    params, n = fss_dream_params(p), p.fss_dreaming.n_configs
    return {mid: dream_summary(m, params, n) for mid, m in training_size_models(p).items()}


def table_ii_rows(mc: dict[int, MCSummary], dreamed: dict[ModelId, DreamSummary]
                  ) -> dict[ModelId | str, dict[tuple[int, int], PairExponents]]:
    """Rows of Table II from summaries: ``"MC"`` (pairs of independent MC runs), then every dreamed model."""
    return {MC: pair_exponents(mc)} | {mid: d.exponents for mid, d in dreamed.items()}


def table_ii_results(profile: Profile | str) -> dict[ModelId | str, dict[tuple[int, int], PairExponents]]:
    """Rows of Table II: ``"MC"`` and every dreamed model of :func:`dreamed_summaries`."""
    p = as_profile(profile)
    return table_ii_rows(mc_summaries(p), dreamed_summaries(p))


def seed_spread_results(profile: Profile | str, k: int = 5, weighted: bool = True,
                        n_seeds: int = 3) -> dict[int, dict[tuple[int, int], PairExponents]]:
    """Table II exponents of one of our models trained with AdamW seeds ``seed, seed + 1, ...``.

    Same data and settings otherwise (the training chapter's), each dreamed as in the
    FSS chapter; keyed by the training seed.
    """
    p = as_profile(profile)
    L_t, M = p.training_set
    params, n = fss_dream_params(p), p.fss_dreaming.n_configs
    out = {}
    for seed in range(p.training_seed, p.training_seed + n_seeds):
        tp = single_layer_params(dataclasses.replace(p.training, seed=seed), k, weighted)
        out[seed] = dream_summary(cached_model(tp, L_t, M, p.data_seed), params, n).exponents
    return out


# ----------------------------------------------------------------------------- PDF collapse
def pdf_models(profile: Profile | str) -> dict[ModelId, torch.nn.Module]:
    """Our unweighted AdamW models (the PDF-collapse chapter's); a clear error if its ``k`` is not trained."""
    p = as_profile(profile)
    trained_model(p, p.pdf_collapse.k)
    return {mid: m for mid, m in trained_models(p).items() if not mid.weighted}


def pdf_from_one(profile: Profile | str) -> dict[ModelId, DreamSummary]:
    """Dreamed summaries of :func:`pdf_models` from a single spin to ``2**n_up`` (the paper's Fig. 8)."""
    P = as_profile(profile).pdf_collapse
    params = DreamParams(n_up=P.n_up, seed=P.seed, batch_size=P.batch_size)
    return {mid: dream_summary(m, params, P.n_configs) for mid, m in pdf_models(profile).items()}


def pdf_from_mc(profile: Profile | str) -> dict[ModelId, DreamSummary]:
    """Dreamed summaries of :func:`pdf_models` started from MC configurations of size ``L0_mc`` (Fig. 9).

    The starts are the first configurations of the MC chapter's store of that size
    (its FSS ensemble's number of configurations and the data seed); the chains end at ``2**n_up``.
    """
    p = as_profile(profile)
    P, (_, n_mc, seed) = p.pdf_collapse, p.mc_fss
    start = cached_store(MCParams(L=P.L0_mc, seed=seed), n_mc)
    params = DreamParams(n_up=P.n_up - (P.L0_mc.bit_length() - 1), L0=P.L0_mc, seed=P.seed, start=str(start),
                         batch_size=P.batch_size)
    return {mid: dream_summary(m, params, min(P.n_configs, n_mc)) for mid, m in pdf_models(p).items()}


# ----------------------------------------------------------------------------- MCRG
def _check_steps(convention: Convention, levels: int, what: str) -> None:
    if convention.step is not None and convention.step > levels:
        raise ValueError(f"convention {convention.name!r} reads blocking step {convention.step}, but {what} "
                         f"computes {levels} step(s)")


def mcrg_mc(profile: Profile | str, convention: Convention = OURS) -> dict[int, _mcrg.MCRGRun]:
    """Cached MCRG results of MC configurations for the MCRG chapter's sizes (every blocking step).

    Sizes of ``mcrg.mc_streamed`` are not stored: their configurations are blocked as the chains
    make them, in every MC convention in one pass (:func:`_mcrg_streamed_mc`), and resume across
    sittings and machines from :func:`carried_dir`.

    ``convention`` (:mod:`dreamrg.conventions`) chooses the operator basis and boundary; its
    step must be among the profile's ``levels`` (every step is returned; read it with
    ``run[convention.level]``).
    """
    p = as_profile(profile)
    P = p.mcrg
    _check_steps(convention, P.levels, f"profile {p.name!r} (mcrg.levels)")
    conv = (convention.basis, convention.boundary)
    return {L: _mcrg_streamed_mc(p, L, conv) if L in P.mc_streamed else
            _mcrg.mc_mcrg(L, P.mc_configs, p.data_seed, levels=P.levels, basis=conv[0], boundary=conv[1])
            for L in P.mc_sizes}


def _mcrg_streamed_mc(p: Profile, L: int, conv: tuple[str, str]) -> _mcrg.MCRGRun:
    """An MC size of ``mcrg.mc_streamed``: every MC convention streamed in one pass (and ``conv`` if not among them),
    its finished chains carried in :func:`dreamrg.paths.carried_dir` between sittings."""
    from dreamrg import _cluster
    from dreamrg.conventions import MC_CONVENTIONS

    P = p.mcrg
    conventions = list(dict.fromkeys([*MC_CONVENTIONS, conv]))
    args = (L, P.mc_configs, p.data_seed, P.levels, conventions)
    carry = carried_dir(_mcrg.mc_mcrg_streamed_conventions_name(*args))
    return _mcrg.mc_mcrg_streamed_conventions(*args, client=_cluster.current(), carry=carry)[conv]


def mcrg_mc_streamed(profile: Profile | str, convention: Convention = OURS, *, compute: bool = False
                     ) -> dict[int, _mcrg.MCRGRun | StreamProgress | None]:
    """The MCRG chapter's streamed sizes (``mcrg.stream_sizes``, ``stream_configs`` configurations each).

    Streamed from the Monte Carlo chains, none stored (:func:`dreamrg.runs.mcrg.mc_mcrg_streamed`),
    with the seeds of :func:`mcrg_mc`. By default nothing is computed (such a run spans sittings, in
    the background): each size gives its :class:`~dreamrg.runs.mcrg.MCRGRun` once finished, else the
    :class:`~dreamrg.mcrg.StreamProgress` of its checkpoints, else None (not started). ``compute``
    runs (or resumes) them here instead.

    Each run's finished chains are carried in the repository, in :func:`carried_dir` (such a run
    outlasts a sitting, and the next sitting may be on a machine that has none of this one's data):
    read for the status, imported before a computation and exported after it.
    """
    p = as_profile(profile)
    P = p.mcrg
    _check_steps(convention, P.levels, f"profile {p.name!r} (mcrg.levels)")
    how = _mcrg.mc_mcrg_streamed if compute else _mcrg.mc_mcrg_streamed_status
    out = {}
    for L in P.stream_sizes:
        args = (L, P.stream_configs, p.data_seed, P.levels)
        conv = dict(basis=convention.basis, boundary=convention.boundary)
        carry = carried_dir(_mcrg.mc_mcrg_stream_name(*args, **conv))
        if (carry.parent / "result.json").is_file():  # finished in an earlier sitting, on another machine
            from dreamrg.runs.carry import import_entry

            import_entry(carry.parent, "mcrg")
        out[L] = how(*args, **conv, carry=carry)
    return out


def carried_dir(name: str, root: Path | None = None) -> Path:
    """Where the streamed MCRG run of entry ``name`` carries its finished chains: ``mcrg/<entry>/run`` of
    :func:`dreamrg.paths.carried_dir` (the layout of :mod:`dreamrg.runs.carry`), kept in git between sittings.

    ``name`` is the run's cache entry name (:func:`dreamrg.runs.mcrg.mc_mcrg_stream_name`,
    :func:`~dreamrg.runs.mcrg.mc_mcrg_streamed_conventions_name`).
    """
    from dreamrg import paths

    return paths.carried_dir(root) / "mcrg" / name / "run"


def mcrg_reference_size(profile: Profile | str) -> int:
    """MC size whose first blocking step the dreamed configurations are compared with.

    The dreamed size ``2**n_up`` when the MCRG chapter simulates it (the paper's
    Table IV compares at L = 128), else the largest MC size of the profile.
    """
    P = as_profile(profile).mcrg
    return 2 ** P.n_up if 2 ** P.n_up in P.mc_sizes else max(P.mc_sizes)


def mcrg_reference(profile: Profile | str, convention: Convention = OURS) -> MCRGResult:
    """MC at :func:`mcrg_reference_size` in the convention's basis and boundary, at its step (the first for ``OURS``)."""
    p = as_profile(profile)
    run = mcrg_mc(p, dataclasses.replace(convention, step=None))[mcrg_reference_size(p)]
    level = convention.level or 0
    if level >= len(run):
        raise ValueError(f"profile {p.name!r} computes {len(run)} blocking step(s), not step {convention.step}")
    return run[level]


def mcrg_truncations(profile: Profile | str) -> dict[int, _mcrg.TruncationScan]:
    """Exponents for several operator truncations of the smallest MC size of the MCRG chapter (cached)."""
    p = as_profile(profile)
    L = min(p.mcrg.mc_sizes)
    return {L: _mcrg.mc_truncations(L, p.mcrg.mc_configs, p.data_seed, levels=p.mcrg.levels)}


def mcrg_irreps_mc(profile: Profile | str) -> dict[int, _mcrg.IrrepRun | _mcrg.IllConditioned]:
    """𝒯 of MC configurations by spin-flip sector and D4 irrep, for the MCRG chapter's ``irrep_sizes``."""
    p = as_profile(profile)
    P = p.mcrg
    return {L: _mcrg.mc_irreps(L, P.irrep_configs, p.data_seed, levels=P.levels) for L in P.irrep_sizes}


def mcrg_dream_params(profile: Profile | str) -> DreamParams:
    """How the MCRG chapter dreams: its ``n_up`` and batch size, with the FSS chapter's dreaming seed."""
    p = as_profile(profile)
    return DreamParams(n_up=p.mcrg.n_up, seed=p.mcrg_dream_seed, batch_size=p.mcrg.batch_size)


def mcrg_models(profile: Profile | str) -> dict[ModelId, torch.nn.Module]:
    """The models the MCRG chapter dreams with: ours (AdamW) and the authors' single-layer ones."""
    return trained_models(profile) | authors_models()


#: the conventions of the dreamed analyses: computed together, from one pass of dreaming per model (and start)
DREAMED_CONVENTIONS: tuple[Convention, ...] = (OURS, PAPER_TABLE_IV_DREAMED)


def small_lattice_start(mid: ModelId) -> tuple[torch.nn.Module, int] | None:
    """The authors' small-lattice start of a released model: (its k = 3 partner, N), else None.

    :func:`dreamrg.released.small_lattice_start` for the authors' single-layer k = 5, 7 models
    and two-layer k = 7 networks; None for every other model (ours, k = 3).
    """
    if mid.source != "authors":
        return None
    match = [r for r in released.released_models().values()
             if (r.depth, r.k, r.weighted, r.L_t, r.M) == (mid.depth, mid.k, mid.weighted, mid.L_t, mid.M)]
    start = released.small_lattice_start(match[0].name) if len(match) == 1 else None
    return None if start is None else (released.released_model(start[0]).model(), start[1])


def _dream_start(mid: ModelId, convention: Convention, params: DreamParams):
    """``(params, prefix)`` a dreamed analysis of ``mid`` in ``convention`` dreams with."""
    start = small_lattice_start(mid) if convention.small_lattice_start else None
    if start is None:
        return params, None
    return dataclasses.replace(params, prefix_levels=start[1]), start[0]


def mcrg_dreamed(profile: Profile | str, convention: Convention = OURS,
                 models_: dict[ModelId, torch.nn.Module] | None = None
                 ) -> dict[ModelId, _mcrg.DreamedMCRG | _mcrg.IllConditioned]:
    """Cached MCRG results (one blocking of the final size) of every model of :func:`mcrg_models`.

    ``convention`` chooses the operator basis and boundary (the dreamed lattice is blocked
    once, so its step must be 1 or every step); ``models_`` replaces the models. Every
    convention of :data:`DREAMED_CONVENTIONS` that dreams ``mid`` the same way (with or
    without the authors' small-lattice start, :func:`small_lattice_start`) is computed (and
    cached) in the same pass of dreaming, so asking for one of them after another dreams
    nothing again.
    """
    p = as_profile(profile)
    _check_steps(convention, 1, "the dreamed analysis")
    params = mcrg_dream_params(p)
    chosen = mcrg_models(p) if models_ is None else models_
    out = {}
    for mid, m in chosen.items():
        how, prefix = _dream_start(mid, convention, params)
        wanted = list(dict.fromkeys((c.basis, c.boundary) for c in DREAMED_CONVENTIONS + (convention,)
                                    if _dream_start(mid, c, params)[0] == how))
        out[mid] = _mcrg.dreamed_mcrg_conventions(m, how, p.mcrg.dream_configs, wanted, seed=p.mcrg.seed,
                                                  prefix=prefix)[(convention.basis, convention.boundary)]
    return out


def mcrg_spread_seeds(profile: Profile | str) -> list[tuple[int, int]]:
    """``(dreaming seed, tie-break seed)`` of each seed i = 0 … ``spread_seeds`` − 1 of :func:`mcrg_seed_spread`.

    Both from ``SeedSequence([mcrg.seed, 1000 + i]).generate_state(2)`` (two 32-bit words): a
    stream of its own per i, unrelated to the chapter's main run (dreaming seed
    :attr:`~dreamrg.profiles.Profile.mcrg_dream_seed`, tie-breaks ``mcrg.seed``) and to the other i.
    """
    P = as_profile(profile).mcrg
    return [tuple(int(s) for s in np.random.SeedSequence([P.seed, 1000 + i]).generate_state(2))
            for i in range(P.spread_seeds)]


def mcrg_seed_spread(profile: Profile | str, convention: Convention = PAPER_TABLE_IV_DREAMED,
                     models_: dict[ModelId, torch.nn.Module] | None = None
                     ) -> dict[ModelId, list[_mcrg.DreamedMCRG | _mcrg.IllConditioned]]:
    """The dreamed MCRG of each model with ``spread_seeds`` independent seeds (cached), in seed order.

    Per model and seed (:func:`mcrg_spread_seeds`), ``spread_configs`` configurations are dreamed
    as :func:`mcrg_dreamed` dreams them for :data:`~dreamrg.conventions.PAPER_TABLE_IV_DREAMED`
    (the MCRG chapter's ``n_up`` and batch size, the authors' small-lattice start for their k = 5, 7
    models) with that seed's dreaming seed, blocked once with its tie-break seed, and analysed in
    the bases of :data:`DREAMED_CONVENTIONS` and ``convention`` in one pass (each kept under the
    normal dreamed-MCRG entry of :func:`dreamrg.runs.mcrg.dreamed_mcrg`). ``convention`` chooses the
    basis and boundary returned; the dreams are those of the paper's convention whatever it is, so
    :data:`~dreamrg.conventions.OURS` here means symmetrised operators on those same dreams (for the
    authors' k = 5, 7 models not :func:`mcrg_dreamed`'s, which dreams them without the start).
    ``models_``: by default the authors' six released single-layer models (:func:`authors_models`).
    The scatter of the S results against their jackknife errors tests the errors
    (:func:`dreamrg.stats.seed_spread`).
    """
    p = as_profile(profile)
    _check_steps(convention, 1, "the dreamed analysis")
    wanted = list(dict.fromkeys((c.basis, c.boundary) for c in DREAMED_CONVENTIONS + (convention,)))
    out: dict[ModelId, list] = {}
    for mid, m in (authors_models() if models_ is None else models_).items():
        out[mid] = []
        for dream_seed, tie_seed in mcrg_spread_seeds(p):
            params = dataclasses.replace(mcrg_dream_params(p), seed=dream_seed)
            how, prefix = _dream_start(mid, PAPER_TABLE_IV_DREAMED, params)
            res = _mcrg.dreamed_mcrg_conventions(m, how, p.mcrg.spread_configs, wanted, seed=tie_seed, prefix=prefix)
            out[mid].append(res[(convention.basis, convention.boundary)])
    return out


def authors_fss(profile: Profile | str) -> dict[ModelId, dict[tuple[int, int], PairExponents]]:
    """Table II exponents of the authors' released models, dreamed as in the FSS chapter (cached, no training)."""
    p = as_profile(profile)
    params, n = fss_dream_params(p), p.fss_dreaming.n_configs
    return {mid: dream_summary(m, params, n).exponents for mid, m in authors_models().items()}


def mcrg_parent(profile: Profile | str) -> dict[ModelId, _mcrg.DreamedMCRG | _mcrg.IllConditioned]:
    """𝒯 of the authors' released models with the dreamed lattice's parent as the coarse lattice (cached).

    :func:`dreamrg.runs.mcrg.dreamed_parent_mcrg` with ``parent_configs`` configurations of the
    MCRG chapter's dreamed size, symmetrised operators.
    """
    p = as_profile(profile)
    params = mcrg_dream_params(p)
    return {mid: _mcrg.dreamed_parent_mcrg(m, params, p.mcrg.parent_configs) for mid, m in authors_models().items()}


def mcrg_irreps_dreamed(profile: Profile | str) -> dict[ModelId, _mcrg.IrrepRun | _mcrg.IllConditioned]:
    """Lattice-symmetry analysis (``irrep_configs`` configurations) of every model of :func:`mcrg_models`."""
    p = as_profile(profile)
    params = mcrg_dream_params(p)
    return {mid: _mcrg.dreamed_irreps(m, params, p.mcrg.irrep_configs, seed=p.mcrg.seed)
            for mid, m in mcrg_models(p).items()}


# ----------------------------------------------------------------------------- two-layer networks
def two_layer_targets(profile: Profile | str) -> dict[ModelId, float]:
    """Validation loss each of our two-layer networks is trained to reach, keyed by the network.

    The loss of the training chapter's single-layer AdamW model of the same k and
    weighting, evaluated exactly as the two-layer run records its own validation loss:
    the first M/5 configurations of the complexity chapter's validation set, with the
    run's tie-break draw and batch size.
    """
    from dreamrg.runs.models import validation_loss

    p = as_profile(profile)
    C = p.complexity
    L_t, M = p.two_layer_training_set
    return {ModelId("ours", 2, k, w, L_t, M):
            validation_loss(trained_model(p, k, w), L_t, M, p.data_seed, weighted=w, seed=C.seed,
                            batch=min(C.batch_size, M))
            for k in C.ks for w in (False, True)}


def two_layer_models(profile: Profile | str) -> dict[ModelId, torch.nn.Module]:
    """Our two-layer models of the complexity chapter (AdamW, same training data as the single layer).

    Each is trained until its validation loss reaches that of the single-layer
    model of the same k and weighting (:func:`two_layer_targets`: "a comparable
    validation loss", as in the paper's section VI), for at most the profile's epochs,
    or until ``patience`` epochs pass without a better validation loss; the best
    epoch is returned then (:func:`dreamrg.train.stopping_point`).
    """
    p = as_profile(profile)
    return {mid: cached_model(tp, mid.L_t, mid.M, p.data_seed) for mid, tp in two_layer_params(p).items()}


def two_layer_params(profile: Profile | str) -> dict[ModelId, train.TrainParams]:
    """The training parameters of :func:`two_layer_models` (their targets computed from the single-layer models)."""
    p = as_profile(profile)
    C = p.complexity
    return {mid: train.TrainParams(k=mid.k, model="two-layer", weighted=mid.weighted, epochs=C.epochs,
                                   patience=C.patience, batch_size=C.batch_size, channels=C.channels,
                                   seed=C.seed, target_loss=target)
            for mid, target in two_layer_targets(p).items()}


def authors_two_layer_models(path=None, L_t: int = AUTHORS_L_T, M: int = AUTHORS_M) -> dict[ModelId, torch.nn.Module]:
    """The authors' released two-layer models for (L_t, M).

    By default the bundled weights (:mod:`dreamrg.released`); ``path``: a JSON file in the
    schema of :func:`dreamrg.models.release_entries` instead (empty if it does not exist).
    """
    if path is None:
        return {ModelId("authors", 2, r.k, r.weighted, L_t, M): r.model()
                for r in released.released_models().values() if (r.depth, r.L_t, r.M) == (2, L_t, M)}
    path = Path(path)
    if not path.is_file():
        return {}
    out = {}
    for entry in models.release_entries(path):
        if entry["model"] == "two_layer_32ch" and entry["L_train"] == L_t and entry["set_size"] == M:
            out[ModelId("authors", 2, entry["kernel_size"], entry["weighted_loss"], L_t, M)] = \
                models.from_release_entry(entry)
    return out


def complexity_single_layer(profile: Profile | str) -> dict[ModelId, torch.nn.Module]:
    """Our single-layer models with the kernel sizes the complexity chapter compares."""
    p = as_profile(profile)
    return {mid: m for mid, m in trained_models(p).items() if mid.k in p.complexity.ks}


def complexity_dream_params(profile: Profile | str) -> DreamParams:
    """How the complexity chapter dreams its two-layer networks."""
    C = as_profile(profile).complexity
    return DreamParams(n_up=C.n_up, seed=C.seed, batch_size=C.batch_dream)


def two_layer_summaries(profile: Profile | str,
                        networks: dict[ModelId, torch.nn.Module] | None = None) -> dict[ModelId, DreamSummary]:
    """Dreamed summaries of two-layer networks: ``networks``, by default ours and the authors' (where available)."""
    p = as_profile(profile)
    params = complexity_dream_params(p)
    nets = networks if networks is not None else two_layer_models(p) | authors_two_layer_models()
    return {mid: dream_summary(m, params, p.complexity.n_configs) for mid, m in nets.items()}


def validation_losses(profile: Profile | str, networks: dict[ModelId, torch.nn.Module]) -> dict[ModelId, float]:
    """Validation loss per configuration of each network, as :func:`two_layer_targets` evaluates it.

    The first M/5 configurations of the complexity chapter's validation set, with the
    two-layer run's tie-break draw and batch size, and the network's own weighting.
    """
    from dreamrg.runs.models import validation_loss

    p = as_profile(profile)
    C = p.complexity
    L_t, M = p.two_layer_training_set
    return {mid: validation_loss(m, L_t, M, p.data_seed, weighted=mid.weighted, seed=C.seed,
                                 batch=min(C.batch_size, M))
            for mid, m in networks.items()}


# ----------------------------------------------------------------------------- beyond the paper: off criticality
@dataclass(frozen=True)
class Unavailable:
    """A result this checkout cannot compute, and why (shown in its place, never replaced by made-up data)."""

    reason: str


def offcritical_training(profile: Profile | str) -> _offcritical.TrainingCheck:
    """The off-critical chapter's training sets (L_t, M per coupling, seed :attr:`Profile.data_seed`) against exact."""
    p = as_profile(profile)
    return _offcritical.training_check(p.offcritical, p.data_seed)


def offcritical_mc(profile: Profile | str) -> OffcriticalResult:
    """The MC side of the off-critical chapter: every coupling and size, crossings, ν and the flow."""
    p = as_profile(profile)
    return _offcritical.mc_offcritical(p.offcritical, p.data_seed)


def offcritical_degrees(profile: Profile | str) -> _offcritical.DegreeCheck:
    """The exact fits of degree 1 and 2 on the off-critical training sets against separate fits per coupling."""
    p = as_profile(profile)
    return _offcritical.degree_check(p.offcritical, p.data_seed)


def offcritical_range(profile: Profile | str) -> _offcritical.RangeTest:
    """The flow scheme from one spin with the profile's trained range and with a wider one (``wide_permille``)."""
    p = as_profile(profile)
    return _offcritical.range_test(p.offcritical, p.data_seed)


def offcritical_dreamed(profile: Profile | str) -> dict[str, _offcritical.DreamedSide]:
    """The dreamed side, one entry per scheme of :data:`dreamrg.runs.offcritical.SCHEMES` (naive and flow from one
    spin, flow from a Monte Carlo start), each analysed as :func:`offcritical_mc`."""
    p = as_profile(profile)
    return {scheme: _offcritical.dreamed_offcritical_result(p.offcritical, p.data_seed, scheme)
            for scheme in _offcritical.SCHEMES}
