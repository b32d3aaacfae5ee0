"""Training the temperature-conditioned upscaler on stores at several couplings: the exact optimum and AdamW.

Each store holds configurations at one coupling, read from its metadata (``K``); its
reduced coupling is ``t = K/K_c − 1``. The pooled loss per configuration is that of
:mod:`dreamrg.conditioned_fit`: every configuration contributes its own
``-log U(σ|μ; t)``, so a coupling weighs in by its number of configurations.

Tie-breaks of the majority rule: store ``i`` of the exact fit draws from
``SeedSequence(seed, spawn_key=(0,) if i == 0 else (0, i))``. The first store thus
uses the stream of :func:`dreamrg.train.train_exact`, and a fit on one store is
exactly the unconditioned exact fit (its degree is lowered to 0: one coupling
determines no slope). AdamW draws every epoch's permutation of the pooled
configurations and its tie-breaks from ``SeedSequence(seed, spawn_key=(epoch,))``, as
:func:`dreamrg.train.train_adamw` does, so with one store it retraces that run.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from dreamrg import coarse, exact_fit
from dreamrg._checks import check_int
from dreamrg._progress import _no_bar
from dreamrg.conditioned import ConditionedUpscaler, reduced_coupling
from dreamrg.conditioned_fit import conditioned_loss, conditioned_loss_grad, fit_conditioned, identifiable_degree
from dreamrg.exact import K_C
from dreamrg.patches import KERNEL_SIZES
from dreamrg.store import open_store
from dreamrg.train import TrainParams, _check_finite, _data_identity, _PackedSet

__all__ = ["store_coupling", "pooled_histograms", "train_conditioned_exact", "train_conditioned_adamw"]


def store_coupling(path) -> float:
    """The coupling K a store was sampled at (its metadata); ValueError if it does not say."""
    K = open_store(path).meta.get("K")
    if K is None:
        raise ValueError(f"store {path} does not record its coupling K (imported without --K?); a conditioned "
                         "model needs the coupling of every training store")
    return float(K)


def _check_params(params: TrainParams, method: str) -> None:
    if params.model != "symmetric" or params.k not in KERNEL_SIZES:
        raise ValueError(f"a conditioned model is a single-layer symmetric model with k in {KERNEL_SIZES}; "
                         f"got the {params.model} model with k = {params.k}")
    if params.method != method:
        raise ValueError(f"these parameters ask for method {params.method!r}, not {method!r}")
    if params.target_loss is not None or params.patience is not None:
        raise ValueError("target_loss and patience are not supported for conditioned models (fixed epochs)")


def _data(paths, n_train, K_c) -> tuple[list[_PackedSet], list[float], list[float]]:
    paths = list(paths)
    if not paths:
        raise ValueError("give at least one training store")
    sets = [_PackedSet(p, n_train) for p in paths]
    Ls = {s.L for s in sets}
    if len(Ls) > 1:
        raise ValueError(f"all training stores must have the same L; got {[s.L for s in sets]} for {paths}")
    Ks = [store_coupling(p) for p in paths]
    return sets, Ks, [reduced_coupling(K, K_c) for K in Ks]


def _stream(seed: int, base: int, i: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(base,) if i == 0 else (base, i)))


def _histograms(sets, seed: int, base: int, k: int, weighted: bool, batch: int):
    """Yield per store its normalised histogram and log(total weight) (log M unweighted), one tie-break draw."""
    for i, data in enumerate(sets):
        rng, acc = _stream(seed, base, i), exact_fit.HistogramAccumulator(k)
        for lo in range(0, len(data), batch):
            sigma = data.batch(np.arange(lo, min(lo + batch, len(data))))
            mu, log_d = coarse.majority_rule(sigma, rng)
            acc.add(sigma, mu, log_weights=log_d if weighted else None)
        yield acc.counts, acc.log_total_weight if weighted else math.log(len(data))


def _shares(log_totals) -> np.ndarray:
    """ω_j ∝ exp(log_totals[j]): each coupling's share of the (weighted) configurations."""
    lt = np.asarray(log_totals, dtype=np.float64)
    w = np.exp(lt - lt.max())
    return w / w.sum()


def pooled_histograms(paths, k: int, *, seed: int = 0, weighted: bool = False, K_c: float = K_C,
                      n_train: int | None = None, batch: int = 4096,
                      progress: bool | None = None) -> tuple[list[np.ndarray], list[float], np.ndarray, list[int]]:
    """The inputs of the exact fit (:func:`dreamrg.conditioned_fit.fit_conditioned`) of stores at several couplings.

    The same histograms (and tie-break draws) :func:`train_conditioned_exact` fits with the same
    ``seed``, ``weighted`` and ``n_train``.

    Returns
    -------
    counts : list of numpy.ndarray
        Normalised pattern histogram of every store (:func:`dreamrg.exact_fit.pattern_histogram`).
    t : list of float
        ``K/K_c − 1`` of every store (its metadata).
    fractions : numpy.ndarray, shape (n_stores,)
        Each store's share ω_j of the (weighted) configurations.
    M : list of int
        Configurations used from every store.
    """
    from tqdm import tqdm

    sets, _, ts = _data(paths, n_train, K_c)
    hists = list(tqdm(_histograms(sets, seed, 0, check_int(k, "k", 3), weighted, batch), disable=_no_bar(progress),
                      desc=f"histograms k={k}", total=len(sets), unit="store"))
    return [c for c, _ in hists], ts, _shares([lt for _, lt in hists]), [len(s) for s in sets]


def _couplings_meta(paths, Ks, ts, sets) -> list[dict[str, Any]]:
    return [{"path": str(p), "K": K, "t": t, "M": len(s), "data": _data_identity(p)}
            for p, K, t, s in zip(paths, Ks, ts, sets)]


def train_conditioned_exact(params: TrainParams, paths, *, degree: int = 1, K_c: float = K_C,
                            n_train: int | None = None, batch: int = 4096,
                            progress: bool | None = None) -> tuple[ConditionedUpscaler, dict[str, Any]]:
    """Exact minimiser of the pooled loss (one tie-break draw per store); returns (model, info).

    Parameters
    ----------
    params : TrainParams
        ``k`` (3, 5, 7), ``weighted`` and ``seed`` are used; ``method`` must be ``"exact"``.
    paths : sequence of store paths
        One store per coupling (the same L); each store's K comes from its metadata.
    degree : int
        Requested degree in t; lowered to (distinct couplings − 1) if the data cannot fix more
        (``info["degree"]``, ``info["degree_requested"]``).
    K_c : float
        Where t is measured from (default Onsager's K_c).
    n_train : int, optional
        Use the first ``n_train`` configurations of every store.

    Returns
    -------
    model : ConditionedUpscaler
        With ``t_range`` = the smallest and largest t of the data.
    info : dict
        ``loss``, ``n_iter``, ``grad_norm``, ``converged``, ``degree``, ``degree_requested``,
        ``couplings`` (path, K, t, M per store), ``seconds_histogram``, ``seconds_total``.
    """
    from tqdm import tqdm

    _check_params(params, "exact")
    t0 = time.perf_counter()
    sets, Ks, ts = _data(paths, n_train, K_c)
    hists = list(tqdm(_histograms(sets, params.seed, 0, params.k, params.weighted, batch),
                      disable=_no_bar(progress), desc=f"histograms k={params.k}", total=len(sets), unit="store"))
    t_hist = time.perf_counter() - t0
    fit = fit_conditioned([c for c, _ in hists], ts, params.k, degree, fractions=_shares([lt for _, lt in hists]))
    model = ConditionedUpscaler(params.k, fit.degree, fit.params, K_c=K_c, t_range=fit.t_range)
    info = {"loss": fit.loss, "n_iter": fit.n_iter, "grad_norm": fit.grad_norm, "converged": fit.converged,
            "degree": fit.degree, "degree_requested": fit.degree_requested,
            "couplings": _couplings_meta(paths, Ks, ts, sets),
            "seconds_histogram": t_hist, "seconds_total": time.perf_counter() - t0}
    return model, info


def train_conditioned_adamw(params: TrainParams, paths, valid_paths=None, *, degree: int = 1, K_c: float = K_C,
                            n_train: int | None = None, n_valid: int | None = None,
                            progress: bool | None = None) -> tuple[ConditionedUpscaler, dict[str, Any]]:
    """Train with AdamW as in the paper (Sec. III B), on the pooled configurations of all couplings.

    Every epoch permutes the pooled configurations; a minibatch's gradient is that of the
    pooled histogram loss of its configurations (each store's part reduced to its pattern
    histogram, :func:`dreamrg.conditioned_fit.conditioned_loss_grad`), normalised over the
    batch as eq. (12) / (13). Optimiser, learning rate and weight decay are those of
    ``params``, as in :func:`dreamrg.train.train_adamw`. Runs the ``params.epochs`` epochs
    (no stopping rule, no checkpoint: an epoch of 7 × 10^4 configurations at L = 32 takes
    about a second).

    Parameters
    ----------
    valid_paths : sequence of store paths, optional
        One validation store per training store, at the same coupling; the validation loss
        (one fixed tie-break draw) is recorded every epoch. Without them ``valid_loss`` is None.
    Other parameters as in :func:`train_conditioned_exact` (``params.method`` must be ``"adamw"``).

    Returns
    -------
    model : ConditionedUpscaler
    history : dict
        Per epoch ``epoch``, ``train_loss`` (mean of the batch losses), ``valid_loss``,
        ``seconds``, ``params`` (θ as nested lists); and ``degree``, ``degree_requested``,
        ``couplings``.
    """
    from tqdm import tqdm

    _check_params(params, "adamw")
    sets, Ks, ts = _data(paths, n_train, K_c)
    valid = None
    if valid_paths is not None:
        vsets, vKs, _ = _data(valid_paths, n_valid, K_c)
        if len(vsets) != len(sets) or vKs != Ks or vsets[0].L != sets[0].L:
            raise ValueError(f"give one validation store per training store, at the same coupling and L; got "
                             f"K = {vKs} (L = {vsets[0].L}) for training K = {Ks} (L = {sets[0].L})")
        hv = list(_histograms(vsets, params.seed, 2**31, params.k, params.weighted, 4096))
        valid = ([c for c, _ in hv], _shares([lt for _, lt in hv]))
    requested = degree
    deg = identifiable_degree(ts, degree)
    model = ConditionedUpscaler(params.k, deg, K_c=K_c, t_range=(min(ts), max(ts)))
    opt = torch.optim.AdamW(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    offsets = np.cumsum([0] + [len(s) for s in sets])
    M, bs = int(offsets[-1]), min(params.batch_size, int(offsets[-1]))
    hist: dict[str, Any] = {"epoch": [], "train_loss": [], "valid_loss": [], "seconds": [], "params": []}
    for epoch in tqdm(range(params.epochs), disable=_no_bar(progress), desc=f"AdamW conditioned k={params.k}",
                      unit="epoch"):
        t0 = time.perf_counter()
        rng = np.random.default_rng(np.random.SeedSequence(params.seed, spawn_key=(epoch,)))
        order = rng.permutation(M)
        losses, sizes = [], []
        for lo in range(0, M, bs):
            idx = order[lo:lo + bs]
            owner = np.searchsorted(offsets, idx, side="right") - 1
            counts, tb, log_totals = [], [], []
            for i in np.unique(owner):
                sigma = sets[i].batch(idx[owner == i] - offsets[i])
                mu, log_d = coarse.majority_rule(sigma, rng)
                counts.append(exact_fit.pattern_histogram(sigma, mu, params.k, n_chunks=2,
                                                          log_weights=log_d if params.weighted else None))
                tb.append(ts[i])
                log_totals.append(float(np.logaddexp.reduce(log_d)) if params.weighted else math.log(len(sigma)))
            opt.zero_grad()
            loss, grad = conditioned_loss_grad(model.params.detach().numpy(), counts, tb, params.k,
                                               _shares(log_totals))
            model.params.grad = torch.from_numpy(grad)
            opt.step()
            _check_finite(model, loss, epoch, lo // bs, params.lr)
            losses.append(loss)
            sizes.append(len(idx))
        hist["epoch"].append(epoch + 1)
        hist["train_loss"].append(float(np.average(losses, weights=sizes)))
        hist["valid_loss"].append(None if valid is None else
                                  conditioned_loss(model.params.detach().numpy(), valid[0], ts, params.k, valid[1]))
        hist["seconds"].append(time.perf_counter() - t0)
        hist["params"].append(model.params.detach().double().tolist())
    hist |= {"degree": deg, "degree_requested": requested, "couplings": _couplings_meta(paths, Ks, ts, sets)}
    return model, hist
