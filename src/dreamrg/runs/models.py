"""Cached trained models: one model file per (hyper-parameters, training data), and the rule that reuses a run.

A model lives in ``data/models/<name>-<key>/model.json``, keyed by every
hyper-parameter and the identity of its training data (a cached Monte Carlo
training set, :func:`dreamrg.runs.mc.training_sets`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from dreamrg import cache, models, train
from dreamrg._device import device_tag
from dreamrg.runs.mc import training_sets
from dreamrg.store import writer_lock
from dreamrg.train import STOPPING_FIELDS, TrainParams, stopping_point


def cached_model(params: TrainParams, L_t: int, M: int, data_seed: int, *,
                 progress: bool | None = None, device: str | torch.device | None = "cpu",
                 bf16: bool = False) -> torch.nn.Module:
    """Train (or reuse) a model on the cached Monte Carlo training set of (L_t, M, data_seed).

    The training set is :func:`dreamrg.runs.mc.training_sets` (validation M/5 from an
    independent stream). The model file lives in ``data/models/<name>-<key>/model.json``,
    keyed by every hyper-parameter and the data identity. AdamW runs keep a per-epoch
    ``checkpoint.pt`` there until the model file is written, so an interrupted call
    resumes (bit-identically) instead of starting over.

    ``device``: where AdamW's torch engine trains (:func:`dreamrg.train.train_adamw`).
    A device other than the CPU is part of the key and of the model's metadata (its
    weights are close to the CPU's, not bit-identical); CPU keys are those from before
    the option. The exact method computes on the CPU and ignores it. ``bf16``
    (:func:`dreamrg.train.train_adamw`'s bfloat16 autocast) likewise enters key and
    metadata only when true.
    """
    tag = device_tag(device) if params.method == "adamw" else None
    train_key = asdict(params)
    for field_name in ("target_loss", "patience"):
        if train_key[field_name] is None:
            del train_key[field_name]  # keys of models trained before the field existed stay valid
    key = {"train": train_key, "L_t": L_t, "M": M, "data_seed": data_seed,
           "mc_version": cache.STAGE_VERSIONS["mc"]}
    if params.model != "symmetric":
        # the two-layer k = 3 model moved from the torch to the histogram engine (float64): new entries
        key["engine"] = train.resolve_engine(params, device=device)
    if tag is not None:
        key["device"] = tag
        key["engine"] = train.resolve_engine(params, device=device)
    if bf16:
        key["bf16"] = True
    name = f"{params.model}-k{params.k}-{params.method}{'-w' if params.weighted else ''}-L{L_t}-M{M}"
    path = cache.entry("models", name, key) / "model.json"
    if path.exists():
        return models.load_model(path)
    if params.method == "adamw" and not path.with_name("checkpoint.pt").exists():
        reused = same_run_other_stopping_rule(path, params)
        if reused is not None:
            return reused
    train_path, valid_path = training_sets(L_t, M, data_seed, progress=progress)
    meta: dict[str, Any] = {"params": asdict(params), "L_t": L_t, "M": M, "data_seed": data_seed}
    # one writing process per model entry: a second one gets a clear error instead of racing on the checkpoint
    with writer_lock(path, "model"):
        if path.exists():  # another process finished this run in the meantime
            return models.load_model(path)
        if params.method == "exact":
            model, info = train.train_exact(params, train_path, n_train=M, progress=progress)
            meta["fit"] = info
        else:
            # per-epoch checkpoint: an interrupted run (hours for the two-layer model) resumes where it stopped
            checkpoint = path.with_name("checkpoint.pt")
            model, hist = train.train_adamw(params, train_path, valid_path, n_train=M, n_valid=M // 5,
                                      progress=progress, checkpoint=checkpoint, device=device, bf16=bf16)
            meta["history"] = hist
            meta["engine"] = train.resolve_engine(params, device=device)
            if tag is not None:
                meta["device"] = tag
            if bf16:
                meta["bf16"] = True
            meta["full_loss"] = train.exact_loss_of(
                model, TrainParams(k=params.k, weighted=params.weighted, method="exact", seed=params.seed),
                train_path, n_train=M) if params.model == "symmetric" else None
        models.save_model(path, model, meta)
        path.with_name("checkpoint.pt").unlink(missing_ok=True)
    return models.load_model(path)


def same_run_other_stopping_rule(path: Path, params: TrainParams) -> torch.nn.Module | None:
    """A cached AdamW model that ``params``' stopping rule would also have returned, copied to ``path``.

    Runs that differ only in :data:`dreamrg.train.STOPPING_FIELDS` go through the same epochs
    (bit-identical: every epoch's permutation and tie-breaks come from its own seed).
    A finished run whose recorded validation losses make
    :func:`dreamrg.train.stopping_point` with ``params``' rule stop at its last
    epoch and return that epoch, which is the one it saved, is therefore exactly
    the model this rule trains. It is copied to
    the new entry (its meta records the source), so changing the rule does not
    retrain hours of two-layer epochs it would reproduce bit for bit.
    """
    key = json.loads((path.parent / "params.json").read_text())
    stem = path.parent.name.rsplit("-", 1)[0]

    def run_identity(k: dict) -> dict:
        return {**k["params"], "train": {f: v for f, v in k["params"]["train"].items() if f not in STOPPING_FIELDS}}

    for other in sorted(path.parent.parent.glob(f"{stem}-*/model.json")):
        try:
            okey = json.loads((other.parent / "params.json").read_text())
            if okey.get("version") != key["version"] or run_identity(okey) != run_identity(key):
                continue
            model = models.load_model(other)
        except (OSError, ValueError, KeyError):
            continue
        meta = model.meta
        old, losses = meta["params"], meta["history"]["valid_loss"]
        stop_old, ret_old = stopping_point(losses, old["epochs"], old.get("target_loss"), old.get("patience"))
        if not (stop_old and ret_old == len(losses)):
            continue
        # the first epoch at which the new rule stops must be the run's last
        first = next((n for n in range(1, len(losses) + 1)
                      if stopping_point(losses[:n], params.epochs, params.target_loss, params.patience)[0]), None)
        if first != len(losses) or stopping_point(losses, params.epochs, params.target_loss,
                                                  params.patience)[1] != len(losses):
            continue
        history = {**meta["history"], "returned_epoch": len(losses)}
        models.save_model(path, model, {**meta, "params": asdict(params), "history": history,
                                 "reused_from": other.parent.name})
        return models.load_model(path)
    return None


def validation_loss(model: torch.nn.Module, L_t: int, M: int, data_seed: int, *, weighted: bool, seed: int,
                    batch: int) -> float:
    """The loss of ``model`` on the first M/5 configurations of the validation set of (L_t, M, data_seed) (cached).

    :func:`dreamrg.train.evaluate_loss` with that tie-break ``seed`` and ``batch``, as a training
    run records its own validation loss. Cached by the model's id, so a model carried from
    another machine is not evaluated again, and the validation store is not made again for it.
    """
    from dreamrg.dream import model_id

    mid = model_id(model)
    key = {"model_id": mid, "L_t": int(L_t), "M": int(M), "data_seed": data_seed, "weighted": bool(weighted),
           "seed": seed, "batch": int(batch), "mc_version": cache.STAGE_VERSIONS["mc"]}

    def compute() -> dict:
        _, valid = training_sets(L_t, M, data_seed)
        return {"loss": float(train.evaluate_loss(model, valid, M // 5, weighted=weighted, seed=seed, batch=batch))}

    return float(cache.cached_json("observables", f"valid-loss-{mid}", key, compute)["loss"])
