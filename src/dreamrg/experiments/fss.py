"""The finite-size-scaling experiments: Monte Carlo and dreamed summaries (Table II, Figs. 5-7), the seed spread of
our training, and the dreamed ensembles of the PDF collapse (Figs. 8-9)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from dreamrg.dream import DreamParams
from dreamrg.experiments.models import (MC, ModelId, as_profile, authors_models, single_layer_params, trained_model,
                                        trained_models, training_size_models)
from dreamrg.fss import PairExponents, pair_exponents
from dreamrg.mc import MCParams
from dreamrg.profiles import Profile
from dreamrg.runs.mc import cached_store, training_sets
from dreamrg.runs.models import cached_model
from dreamrg.runs.summaries import DreamSummary, MCSummary, dream_summary, mc_summary

__all__ = ["mc_summaries", "mc_validation", "mc_spread_seeds", "mc_validation_spread", "mc_followup_seeds",
           "mc_followup", "mc_training_store_paths",
           "mc_training_stores", "plot_sizes",
           "fss_dream_params", "dreamed_summaries", "training_size_summaries", "table_ii_rows", "table_ii_results",
           "seed_spread_results", "fss_spread_seeds", "fss_dream_spread", "pdf_models", "pdf_from_one", "pdf_from_mc",
           "authors_fss"]


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


#: the first stream index of each algorithm's seeds in :func:`mc_spread_seeds`
_SPREAD_STREAM = {"sw": 3000, "wolff": 4000}


def _line_seeds(profile: Profile | str, L: int, algorithm: str, streams: dict[str, int], count: int) -> list[int]:
    """``SeedSequence([monte_carlo.seed, streams[algorithm] + i, L]).generate_state(1)`` for i < ``count``."""
    if algorithm not in streams:
        raise ValueError(f"algorithm must be one of {', '.join(streams)}; got {algorithm!r}")
    seed, base = as_profile(profile).monte_carlo.seed, streams[algorithm]
    return [int(np.random.SeedSequence([seed, base + i, L]).generate_state(1)[0]) for i in range(count)]


def mc_spread_seeds(profile: Profile | str, L: int, algorithm: str = "sw") -> list[int]:
    """The MC seed of each seed i = 0 … ``monte_carlo.spread_seeds`` − 1 of :func:`mc_validation_spread` at size L.

    ``SeedSequence([monte_carlo.seed, base + i, L]).generate_state(1)`` with base 3000 for Swendsen–Wang and 4000
    for Wolff: a stream of its own per (algorithm, i, L), unrelated to the chapter's own stores (MC seed
    ``monte_carlo.seed``), to the other seeds and to the other sizes, so every line of the check is independent.
    """
    return _line_seeds(profile, L, algorithm, _SPREAD_STREAM, as_profile(profile).monte_carlo.spread_seeds)


def mc_validation_spread(profile: Profile | str) -> dict[tuple[str, int], list[MCSummary]]:
    """Summaries at each validation size with ``monte_carlo.spread_seeds`` independent seeds of ``spread_configs``
    configurations (cached), keyed by (algorithm, L) as :func:`mc_validation` (Swendsen–Wang, then Wolff), in seed
    order: the many-seed check of both samplers against Kaufman's exact values."""
    p = as_profile(profile)
    mc = p.monte_carlo
    return {(a, L): [mc_summary(L, mc.spread_configs, seed, algorithm=a) for seed in mc_spread_seeds(p, L, a)]
            for a in _SPREAD_STREAM for L in mc.validation_sizes}


#: the first stream index of each algorithm's seeds in :func:`mc_followup_seeds` (unused by any other run)
_FOLLOWUP_STREAM = {"sw": 5000, "wolff": 6000}


def mc_followup_seeds(profile: Profile | str, L: int, algorithm: str) -> list[int]:
    """The MC seed of each seed i = 0 … ``monte_carlo.followup_seeds`` − 1 of :func:`mc_followup`:
    ``SeedSequence([monte_carlo.seed, base + i, L]).generate_state(1)`` with base 5000 for Swendsen–Wang and
    6000 for Wolff, streams that neither the many-seed check (3000, 4000) nor any store of the chapter uses."""
    return _line_seeds(profile, L, algorithm, _FOLLOWUP_STREAM, as_profile(profile).monte_carlo.followup_seeds)


def mc_followup(profile: Profile | str, algorithm: str, L: int) -> list[MCSummary]:
    """One line of the many-seed check simulated again with fresh seeds and more statistics (cached):
    ``monte_carlo.followup_seeds`` seeds (:func:`mc_followup_seeds`) of ``followup_configs`` configurations of
    ``algorithm`` at size ``L``. The Monte Carlo chapter runs it on the line furthest from the exact value, a
    test of that deviation on data that played no part in choosing the line."""
    p = as_profile(profile)
    if L not in p.monte_carlo.validation_sizes:
        raise ValueError(f"L must be one of the validation sizes {list(p.monte_carlo.validation_sizes)}; got {L}")
    return [mc_summary(L, p.monte_carlo.followup_configs, seed, algorithm=algorithm)
            for seed in mc_followup_seeds(p, L, algorithm)]


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


def fss_spread_seeds(profile: Profile | str) -> list[int]:
    """The dreaming seed of each seed i = 0 … ``fss.spread_seeds`` − 1 of :func:`fss_dream_spread`.

    ``SeedSequence([fss.seed, 2000 + i]).generate_state(1)``: a stream of its own per i, unrelated to
    the chapter's own ensembles (dreaming seed ``fss.seed``) and to the other i.
    """
    f = as_profile(profile).fss
    return [int(np.random.SeedSequence([f.seed, 2000 + i]).generate_state(1)[0]) for i in range(f.spread_seeds)]


def fss_dream_spread(profile: Profile | str, models_: dict[ModelId, torch.nn.Module] | None = None
                     ) -> dict[ModelId, list[dict[tuple[int, int], PairExponents]]]:
    """Table II's exponents of each model dreamed with ``fss.spread_seeds`` independent seeds (cached).

    Per model and seed (:func:`fss_spread_seeds`), ``fss.spread_configs`` chains dreamed as the
    FSS chapter dreams (its ``n_up`` and batch size) with that seed; in seed order. ``models_``:
    by default the authors' six released single-layer models (no training involved, so the
    scatter is that of dreaming alone). The scatter of the S results against their jackknife
    errors tests those errors (:func:`dreamrg.stats.seed_spread`), and the mean of the S draws
    is compared with the paper more precisely than one draw.
    """
    p = as_profile(profile)
    base, n = fss_dream_params(p), p.fss.spread_configs
    out = {}
    for mid, m in (authors_models() if models_ is None else models_).items():
        out[mid] = [dream_summary(m, dataclasses.replace(base, seed=seed), n).exponents for seed in fss_spread_seeds(p)]
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


def authors_fss(profile: Profile | str) -> dict[ModelId, dict[tuple[int, int], PairExponents]]:
    """Table II exponents of the authors' released models, dreamed as in the FSS chapter (cached, no training)."""
    p = as_profile(profile)
    params, n = fss_dream_params(p), p.fss_dreaming.n_configs
    return {mid: dream_summary(m, params, n).exponents for mid, m in authors_models().items()}
