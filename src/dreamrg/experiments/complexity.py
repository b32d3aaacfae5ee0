"""The complexity experiments (section VI): two-layer networks trained to the single-layer validation loss, the
authors' released two-layer networks, and what they dream."""

from __future__ import annotations

from pathlib import Path

import torch

from dreamrg import models, released, train
from dreamrg.dream import DreamParams
from dreamrg.experiments.models import AUTHORS_L_T, AUTHORS_M, ModelId, as_profile, trained_model, trained_models
from dreamrg.profiles import Profile
from dreamrg.runs.models import cached_model
from dreamrg.runs.summaries import DreamSummary, dream_summary

__all__ = ["two_layer_targets", "two_layer_models", "two_layer_params", "authors_two_layer_models",
           "complexity_single_layer", "complexity_dream_params", "two_layer_summaries", "validation_losses"]


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
