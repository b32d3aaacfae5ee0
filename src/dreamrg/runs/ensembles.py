"""Cached dreamed ensembles: one per (model, dreaming parameters), extended when more chains are asked for."""

from __future__ import annotations

from pathlib import Path

import torch

from dreamrg import cache
from dreamrg.dream import DreamParams, dream_key, is_ensemble, model_id, open_ensemble, run


def cached_ensemble(model: torch.nn.Module, params: DreamParams, n_configs: int, *,
                    progress: bool | None = None, prefix: torch.nn.Module | None = None) -> Path:
    """Dream (or reuse) an ensemble in the result cache; returns its path.

    The key is the dreaming parameters and :func:`dreamrg.dream.model_id` (not
    ``n_configs``): asking for more chains later extends the same ensemble. ``prefix``: the
    model of the first ``params.prefix_levels`` upscalings (:func:`dreamrg.dream.run`), in the key.
    """
    key = dream_key(model, params, prefix)
    tag = f"-p{params.prefix_levels}-{model_id(prefix)}" if prefix is not None else ""
    path = cache.entry("ensembles", f"{type(model).__name__}-{model_id(model)}-n{params.n_up}{tag}", key) / "ensemble"
    if is_ensemble(path) and open_ensemble(path).count >= n_configs:
        return path
    run(model, params, n_configs, path, progress=progress, prefix=prefix)
    return path
