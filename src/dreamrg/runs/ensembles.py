"""Cached dreamed ensembles: one per (model, dreaming parameters), extended when more chains are asked for."""

from __future__ import annotations

from pathlib import Path

import torch

from dreamrg import _cluster, cache
from dreamrg.dream import DreamParams, dream_key, ensemble_device, is_ensemble, model_id, open_ensemble, run


def cached_ensemble(model: torch.nn.Module, params: DreamParams, n_configs: int, *,
                    progress: bool | None = None, device: str | torch.device | None = "cpu", client=None,
                    prefix: torch.nn.Module | None = None) -> Path:
    """Dream (or reuse) an ensemble in the result cache; returns its path.

    The key is the dreaming parameters and :func:`dreamrg.dream.model_id` (not
    ``n_configs``): asking for more chains later extends the same ensemble. A device
    that changes the chains (:func:`dreamrg.dream.ensemble_device`: the torch sampler
    off the CPU) is part of the key; the CPU's keys are those from before the option.
    ``client``: dream the batches on Dask (default :func:`dreamrg._cluster.current`); same bytes.
    ``prefix``: the model of the first ``params.prefix_levels`` upscalings (:func:`dreamrg.dream.run`),
    in the key; such ensembles are dreamed in process.
    """
    key = dream_key(model, params, prefix)
    dev = ensemble_device(model, device)
    if dev is not None:
        key["device"] = dev
    tag = f"-p{params.prefix_levels}-{model_id(prefix)}" if prefix is not None else ""
    path = cache.entry("ensembles", f"{type(model).__name__}-{model_id(model)}-n{params.n_up}{tag}", key) / "ensemble"
    if is_ensemble(path) and open_ensemble(path).count >= n_configs:
        return path
    if client is None and prefix is None:
        client = _cluster.current()
    run(model, params, n_configs, path, progress=progress, device=device, client=client, prefix=prefix)
    return path
