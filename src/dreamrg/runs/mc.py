"""Cached Monte Carlo stores: measurement runs and the training/validation sets of the upscalers."""

from __future__ import annotations

from pathlib import Path

from dreamrg import _cluster, cache
from dreamrg import store as _store
from dreamrg.mc import MCParams, run


def store_path(params: MCParams) -> Path:
    """Where :func:`cached_store` keeps the store of ``params``; nothing is created or computed."""
    return cache.entry_path("mc", f"L{params.L}-{params.algorithm}", params.store_meta()) / "configs"


def training_set_paths(L: int, seed: int) -> tuple[Path, Path]:
    """Where :func:`training_sets` keeps the training and validation stores of size ``L``; nothing is computed."""
    return store_path(MCParams(L=L, seed=seed, stream=0)), store_path(MCParams(L=L, seed=seed, stream=1))


def cached_store(params: MCParams, n_configs: int, *, progress: bool | None = None, client=None) -> Path:
    """Run (or reuse) a Monte Carlo store in the result cache; returns its path.

    The cache key is the full parameter set (not ``n_configs``): asking for more
    configurations later extends the same store, asking for fewer reuses a prefix.
    ``client``: run the chain segments on Dask (default :func:`dreamrg._cluster.current`); same bytes.
    """
    path = cache.entry("mc", f"L{params.L}-{params.algorithm}", params.store_meta()) / "configs"  # = store_path
    if _store.is_store(path) and _store.open_store(path).count >= n_configs:
        return path
    run(params, n_configs, path, progress=progress, client=client if client is not None else _cluster.current())
    return path


def training_sets(L: int, M: int, seed: int, *, progress: bool | None = None, client=None) -> tuple[Path, Path]:
    """Cached training (M configurations, stream 0) and validation (M/5, stream 1) stores at K_c."""
    if M < 5:
        raise ValueError(f"M must be ≥ 5 (the validation set has M/5 configurations); got {M}")
    train = cached_store(MCParams(L=L, seed=seed, stream=0), M, progress=progress, client=client)
    valid = cached_store(MCParams(L=L, seed=seed, stream=1), M // 5, progress=progress, client=client)
    return train, valid
