"""Cached recipes off criticality: MC stores at couplings around K_c, their analysis, and the dreamed side.

* :func:`couplings` -- the profile's couplings K = K_c · (K/K_c), one float per value, used everywhere;
* :func:`training_stores` -- MC training (stream 0, M) and validation (stream 1, M/5) stores at L_t
  for every coupling; at K_c they are the training chapter's stores when L_t and M agree;
* :func:`comparison_store` -- an MC store of one (K, L) compared with dreamed configurations
  (stream 2, independent of the training sets);
* :func:`training_check` -- ⟨e⟩ of every training set against Kaufman (:class:`TrainingCheck`);
* :func:`mc_offcritical` -- :class:`~dreamrg.offcritical.OffcriticalResult` of the MC stores;
* :func:`conditioned_ensembles` -- **the one adapter to the conditioned model** (issue #23): the
  model trained on the sets of ``train_permille``, dreamed by each scheme of :data:`SCHEMES`;
* :func:`dreamed_offcritical_result` -- the same analysis of the dreamed ensembles (:class:`DreamedSide`).

Results are kept as JSON under ``data/offcritical/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamrg import cache
from dreamrg.exact import K_C
from dreamrg.mc import MCParams
from dreamrg.observables import store_accumulator
from dreamrg.offcritical import CouplingPoint, OffcriticalResult, analyse, blocked_energies, coupling_point
from dreamrg.profiles import OffcriticalSection
from dreamrg.runs.mc import cached_store
from dreamrg.store import open_store

#: MC stream of the comparison stores (0: training and measurement sets, 1: validation sets)
COMPARISON_STREAM = 2
#: the method of the conditioned fit the chapter dreams with
METHOD = "exact"


def couplings(section: OffcriticalSection) -> tuple[float, ...]:
    """K = K_c · permille / 1000 for every coupling of the section (the one place this float is formed)."""
    return tuple(K_C * r / 1000 for r in section.K_permille)


def _rng(seed: int, K: float) -> np.random.Generator:
    """Tie-break generator of the blocking at coupling ``K`` (keyed by its K/K_c in 10⁻³)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(round(1000 * K / K_C),)))


def training_stores(section: OffcriticalSection, data_seed: int, *,
                    progress: bool | None = None) -> dict[float, tuple[Path, Path]]:
    """Cached training (M, stream 0) and validation (M/5, stream 1) stores of size L_t at every coupling."""
    out = {}
    for K in train_couplings(section):
        train = cached_store(_training_params(section, data_seed, K, 0), section.M, progress=progress)
        valid = cached_store(_training_params(section, data_seed, K, 1), section.M // 5, progress=progress)
        out[K] = (train, valid)
    return out


def _training_params(section: OffcriticalSection, data_seed: int, K: float, stream: int) -> MCParams:
    """The Monte Carlo of a training (stream 0) or validation (stream 1) set of the section at coupling ``K``."""
    return MCParams(L=section.L_t, K=K, seed=data_seed, stream=stream)


def comparison_store(L: int, K: float, n_configs: int, seed: int, *, progress: bool | None = None) -> Path:
    """Cached Swendsen–Wang store of ``n_configs`` configurations of size ``L`` at ``K`` (stream 2)."""
    return cached_store(MCParams(L=L, K=K, seed=seed, stream=COMPARISON_STREAM), n_configs, progress=progress)


@dataclass(frozen=True)
class TrainingCheck:
    """The training sets of every coupling judged against Kaufman: one point per K at L_t, and the store names."""

    points: tuple[CouplingPoint, ...]
    stores: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"points": [p.to_dict() for p in self.points], "stores": list(self.stores)}

    @classmethod
    def from_dict(cls, d: dict) -> "TrainingCheck":
        return cls(tuple(CouplingPoint.from_dict(p) for p in d["points"]), tuple(d["stores"]))


def training_check(section: OffcriticalSection, data_seed: int, *, progress: bool | None = None) -> TrainingCheck:
    """Observables of every training set (cached), so the data the model learns from are checked against exact."""
    # the result names its stores, whose names (cache keys) change with the MC stage's version
    key = {"K_permille": list(section.train_permille), "L_t": section.L_t, "M": section.M, "data_seed": data_seed,
           "mc_version": cache.STAGE_VERSIONS["mc"]}

    def compute() -> TrainingCheck:
        stores = training_stores(section, data_seed, progress=progress)
        points = []
        for K, (train, _) in stores.items():
            acc = store_accumulator(train, stop=section.M)
            points.append(coupling_point(acc.m, acc.e, section.L_t, K))
        return TrainingCheck(tuple(points), tuple(train.parent.name for train, _ in stores.values()))

    return cache.cached("offcritical", f"training-L{section.L_t}", key, compute, TrainingCheck.from_dict)


def mc_offcritical(section: OffcriticalSection, data_seed: int, *, progress: bool | None = None) -> OffcriticalResult:
    """The MC side: every (K, L) of the section, crossings, ν and the flow of the largest size (cached)."""
    key = {"source": "mc", "K_permille": list(section.K_permille), "sizes": list(section.sizes),
           "n": section.mc_configs, "data_seed": data_seed, "seed": section.seed, "stream": COMPARISON_STREAM}
    L_flow, n = max(section.sizes), section.mc_configs

    def compute() -> OffcriticalResult:
        series, blocked = {}, {}
        for K in couplings(section):
            for L in section.sizes:
                path = comparison_store(L, K, n, data_seed, progress=progress)
                acc = store_accumulator(path, stop=n)
                series[(K, L)] = (acc.m, acc.e)
                if L == L_flow:
                    batches = open_store(path).iter_batches(section.batch_size, stop=n)
                    blocked[K] = blocked_energies(batches, _rng(section.seed, K))
        return analyse(series, blocked, L_flow, seed=section.seed)

    return cache.cached("offcritical", f"mc-L{L_flow}", key, compute, OffcriticalResult.from_dict)


# ----------------------------------------------------------------------------- which polynomial degree
@dataclass(frozen=True)
class DegreeFit:
    """The joint exact fit of one degree, judged against separate fits at every training coupling.

    ``lr_statistic`` is 2 M (ℓ_1 − ℓ_d), M all configurations and ℓ the loss per configuration: twice the
    log-likelihood gain over degree 1, χ²-distributed with (d − 1)·n_orbits degrees of freedom if the extra
    terms were zero. ``z`` holds (W_d(t_j) − w_j)/σ_j for every coupling j (rows) and orbit (columns), w_j
    the separate exact fit of coupling j alone and σ_j its error (inverse Hessian / M_j).
    """

    degree: int
    n_params: int
    loss: float
    lr_statistic: float
    z: tuple[tuple[float, ...], ...]
    Ks: tuple[float, ...]

    @property
    def worst_z(self) -> float:
        return max(abs(x) for row in self.z for x in row)

    @property
    def worst_K(self) -> float:
        return max(zip(self.Ks, self.z), key=lambda kz: max(abs(x) for x in kz[1]))[0]

    @property
    def share_within_2(self) -> float:
        flat = [abs(x) for row in self.z for x in row]
        return sum(x <= 2 for x in flat) / len(flat)

    def to_dict(self) -> dict:
        return {"degree": self.degree, "n_params": self.n_params, "loss": self.loss,
                "lr_statistic": self.lr_statistic, "z": [list(r) for r in self.z], "Ks": list(self.Ks)}

    @classmethod
    def from_dict(cls, d: dict) -> "DegreeFit":
        return cls(int(d["degree"]), int(d["n_params"]), float(d["loss"]), float(d["lr_statistic"]),
                   tuple(tuple(float(x) for x in r) for r in d["z"]), tuple(float(K) for K in d["Ks"]))


@dataclass(frozen=True)
class DegreeCheck:
    """:class:`DegreeFit` of every degree tried on the section's training sets."""

    degrees: tuple[DegreeFit, ...]

    def to_dict(self) -> dict:
        return {"degrees": [d.to_dict() for d in self.degrees]}

    @classmethod
    def from_dict(cls, d: dict) -> "DegreeCheck":
        return cls(tuple(DegreeFit.from_dict(x) for x in d["degrees"]))


def degree_check(section: OffcriticalSection, data_seed: int, degrees: tuple[int, ...] = (1, 2), *,
                 progress: bool | None = None) -> DegreeCheck:
    """The exact fits of degree 1 and 2 on the training sets against separate fits per coupling (cached).

    Uses the histograms (and tie-breaks) the conditioned model is trained on
    (:func:`dreamrg.train_conditioned.pooled_histograms`, seed 0).
    """
    from dreamrg.conditioned_fit import fit_conditioned
    from dreamrg.train_conditioned import pooled_histograms

    key = {"train_permille": list(section.train_permille), "L_t": section.L_t, "M": section.M, "k": section.k,
           "degrees": list(degrees), "data_seed": data_seed}

    def compute() -> DegreeCheck:
        stores = [train for train, _ in training_stores(section, data_seed, progress=progress).values()]
        counts, ts, omega, Ms = pooled_histograms(stores, section.k, n_train=section.M, progress=progress)
        alone, sigma = [], []
        for c, t, M in zip(counts, ts, Ms):
            f = fit_conditioned([c], [t], section.k, 0)
            alone.append(f.params[0])
            sigma.append(np.sqrt(np.diag(np.linalg.inv(f.hessian)) / M))
        fits = {d: fit_conditioned(counts, ts, section.k, d, fractions=omega) for d in degrees}
        out = []
        for d, f in fits.items():
            W = (np.asarray(ts)[:, None] ** np.arange(f.params.shape[0])) @ f.params
            z = (W - np.asarray(alone)) / np.asarray(sigma)
            lr = 2 * sum(Ms) * (fits[min(degrees)].loss - f.loss)
            out.append(DegreeFit(d, int(f.params.size), float(f.loss), float(lr),
                                 tuple(tuple(float(x) for x in row) for row in z), tuple(train_couplings(section))))
        return DegreeCheck(tuple(out))

    return cache.cached("offcritical", f"degrees-L{section.L_t}", key, compute, DegreeCheck.from_dict)


# ----------------------------------------------------------------------------- THE ADAPTER to the conditioned model
#: MC stream of the start stores of the scheme "flow-mc" (0, 1: training sets, 2: comparison stores)
START_STREAM = 3
#: how the dreamed side is made, and how the chapter labels it
SCHEMES: dict[str, str] = {
    "naive": "from one spin, the target's K at every level (one dream to the largest size gives every size)",
    "flow": "from one spin, level couplings of the linearised flow t_ℓ = t·2^(n−ℓ) (one dream per size)",
    "flow-mc": "from Monte Carlo of size L0_mc at the flow's coupling of that size, then the flow's levels "
               "(one dream per size above L0_mc)",
}


def train_couplings(section: OffcriticalSection) -> tuple[float, ...]:
    """K of every training set: K_c · train_permille / 1000."""
    return tuple(K_C * r / 1000 for r in section.train_permille)


def conditioned(section: OffcriticalSection, data_seed: int, degree: int | None = None):
    """The conditioned model (exact fit) on the training sets of every coupling of ``train_permille``
    (cached by :func:`dreamrg.runs.conditioned.conditioned_model`); ``degree`` defaults to the section's."""
    from dreamrg.runs.conditioned import PlannedStore, conditioned_model

    # the training stores of training_stores(), named by their parameters: made only if the model is not cached
    stores = [PlannedStore(_training_params(section, data_seed, K, 0), section.M) for K in train_couplings(section)]
    return conditioned_model(stores, section.k, section.degree if degree is None else degree, METHOD,
                             n_train=section.M)  # the K_c store is shared with the critical chapters, which grow it


def start_coupling(K: float, L: int, L0: int) -> float:
    """K of the Monte Carlo start of size ``L0`` for a dream to (K, L): the linearised flow's
    K_c (1 + t (L/L0)^{y_t}), y_t = 1; where that falls to K ≤ 0 (|t| L/L0 ≥ 1 on the disordered side),
    K_c/1000 (practically infinite temperature)."""
    from dreamrg.conditioned import Y_T

    t = K / K_C - 1.0
    return K_C * max(1.0 + t * (L / L0) ** Y_T, 1e-3)


def _dream_seed(seed: int, scheme: str, K: float, L: int) -> int:
    """An independent dreaming seed for every (scheme, coupling, size), spawned from the section's seed."""
    key = (list(SCHEMES).index(scheme), round(1000 * K / K_C), L)
    return int(np.random.SeedSequence(seed, spawn_key=key).generate_state(1, np.uint32)[0])


def conditioned_ensembles(section: OffcriticalSection, data_seed: int, scheme: str, *,
                          progress: bool | None = None) -> tuple[str, dict[float, dict[int, Path]]]:
    """Train (or reuse) the conditioned model and dream every coupling and size of the section by ``scheme``.

    This is the only place that calls the temperature-conditioned upscaler
    (:func:`dreamrg.runs.conditioned.conditioned_model` and
    :func:`~dreamrg.runs.conditioned.dreamed_offcritical`). The ensemble of the largest size keeps
    its final configurations (for the flow). Each dream has its own seed (:func:`_dream_seed`).

    Returns
    -------
    model_id : str
        :func:`dreamrg.dream.model_id` of the model (keys the cached analysis).
    ensembles : dict of float to dict of int to Path
        For every coupling of :func:`couplings`, the ensemble holding each size (``"naive"``: one
        ensemble for every size; ``"flow-mc"``: only the sizes above ``L0_mc``).
    """
    from dreamrg.dream import model_id
    from dreamrg.runs.conditioned import dreamed_offcritical

    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}; got {scheme!r}")
    model = conditioned(section, data_seed)
    L_max, n, B = max(section.sizes), section.n_configs, section.batch_size
    out: dict[float, dict[int, Path]] = {}
    for K in couplings(section):
        if scheme == "naive":
            path = dreamed_offcritical(model, K, section.n_up, n, _dream_seed(section.seed, scheme, K, L_max),
                                       schedule="naive", batch_size=B, save_configs=True, progress=progress)
            out[K] = {L: path for L in section.sizes}
            continue
        L0 = 1 if scheme == "flow" else section.L0_mc
        out[K] = {}
        for L in (L for L in section.sizes if L > L0):
            start = "random"
            if L0 > 1:
                start = str(cached_store(MCParams(L=L0, K=start_coupling(K, L, L0), seed=data_seed,
                                                  stream=START_STREAM), n, progress=progress))
            out[K][L] = dreamed_offcritical(model, K, (L // L0).bit_length() - 1, n,
                                            _dream_seed(section.seed, scheme, K, L), schedule="flow", L0=L0,
                                            start=start, batch_size=B, save_configs=L == L_max, progress=progress)
    return model_id(model), out


@dataclass(frozen=True)
class DreamedSide:
    """One dreamed scheme analysed as the MC side, with the level plan of its largest-size dream at every K.

    ``plans[i]`` is the :class:`~dreamrg.conditioned.LevelPlan` (as a dict: requested and used t of
    every level) of coupling ``result.couplings[i]``; ``L0`` is the start size (1: one spin).
    """

    scheme: str
    L0: int
    result: OffcriticalResult
    plans: tuple[dict, ...]

    def to_dict(self) -> dict:
        return {"scheme": self.scheme, "L0": self.L0, "result": self.result.to_dict(), "plans": list(self.plans)}

    @classmethod
    def from_dict(cls, d: dict) -> "DreamedSide":
        return cls(d["scheme"], int(d["L0"]), OffcriticalResult.from_dict(d["result"]), tuple(d["plans"]))


def dreamed_offcritical_result(section: OffcriticalSection, data_seed: int, scheme: str, *,
                               progress: bool | None = None) -> DreamedSide:
    """One dreamed scheme, analysed exactly as :func:`mc_offcritical` (cached by the model's id).

    The flow blocks the final-level configurations of the largest size. Once the result is
    cached, the ensembles are not needed: a rerun loads the model (for its id) and nothing
    else, so the ensembles (about 2 GB per coupling and scheme at L = 128 and 10^6 chains,
    with their configurations) may be deleted after the analysis.
    """
    from dreamrg.dream import model_id, open_ensemble

    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}; got {scheme!r}")
    mid = model_id(conditioned(section, data_seed))
    L0 = {"naive": 1, "flow": 1}.get(scheme, section.L0_mc)
    key = {"source": "dreamed", "scheme": scheme, "model_id": mid, "K_permille": list(section.K_permille),
           "sizes": list(section.sizes), "n": section.n_configs, "seed": section.seed, "L0": L0,
           "data_seed": data_seed}
    L_flow, n = max(section.sizes), section.n_configs

    def compute() -> DreamedSide:
        ensemble_id, ensembles = conditioned_ensembles(section, data_seed, scheme, progress=progress)
        assert ensemble_id == mid, "the ensembles' model is not the one the key names"
        series, blocked, plans = {}, {}, []
        for K, by_size in ensembles.items():
            for L, path in by_size.items():
                series[(K, L)] = open_ensemble(path).series(L, n)
            ens = open_ensemble(by_size[L_flow])
            plans.append(ens.meta["conditioning"])
            batches = (ens.configs(a, min(a + section.batch_size, n)) for a in range(0, n, section.batch_size))
            blocked[K] = blocked_energies(batches, _rng(section.seed, K))
        return DreamedSide(scheme, L0, analyse(series, blocked, L_flow, seed=section.seed), tuple(plans))

    return cache.cached("offcritical", f"dreamed-{scheme}-{mid}", key, compute, DreamedSide.from_dict)


# ----------------------------------------------------------------------------- a wider trained range
@dataclass(frozen=True)
class RangeTest:
    """Flow dreams from one spin to size ``L`` by the model of the section (trained on ``train_permille``) and by
    one trained on ``wide_permille``, at every coupling of the section.

    ``narrow[i]``, ``wide[i]``: :class:`~dreamrg.offcritical.CouplingPoint` of coupling i; ``clipped_*[i]``:
    how many of the ``n_up`` levels were clipped to the model's trained range; ``degrees``: the
    :class:`DegreeCheck` of the wide training sets.
    """

    L: int
    wide_permille: tuple[int, ...]
    narrow: tuple[CouplingPoint, ...]
    wide: tuple[CouplingPoint, ...]
    clipped_narrow: tuple[int, ...]
    clipped_wide: tuple[int, ...]
    degrees: DegreeCheck

    def to_dict(self) -> dict:
        return {"L": self.L, "wide_permille": list(self.wide_permille),
                "narrow": [p.to_dict() for p in self.narrow], "wide": [p.to_dict() for p in self.wide],
                "clipped_narrow": list(self.clipped_narrow), "clipped_wide": list(self.clipped_wide),
                "degrees": self.degrees.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "RangeTest":
        return cls(int(d["L"]), tuple(d["wide_permille"]), tuple(CouplingPoint.from_dict(p) for p in d["narrow"]),
                   tuple(CouplingPoint.from_dict(p) for p in d["wide"]), tuple(d["clipped_narrow"]),
                   tuple(d["clipped_wide"]), DegreeCheck.from_dict(d["degrees"]))


def range_test(section: OffcriticalSection, data_seed: int, *, progress: bool | None = None) -> RangeTest:
    """Does a wider trained range help the flow scheme from one spin? (cached)

    The size is the second largest of the section (the flow scheme's own dreams of that size serve
    the narrow side); the wide model is trained on ``wide_permille`` with the section's degree, and
    dreams with the same seeds.
    """
    from dreamrg.dream import model_id, open_ensemble
    from dreamrg.runs.conditioned import dreamed_offcritical

    L = sorted(section.sizes)[-2]
    wide_section = section.with_overrides({"train_permille": list(section.wide_permille)})
    models = {"narrow": conditioned(section, data_seed), "wide": conditioned(wide_section, data_seed)}
    key = {"L": L, "models": {k: model_id(m) for k, m in models.items()}, "K_permille": list(section.K_permille),
           "n": section.n_configs, "seed": section.seed, "batch_size": section.batch_size}

    def compute() -> RangeTest:
        points: dict[str, list] = {"narrow": [], "wide": []}
        clipped: dict[str, list] = {"narrow": [], "wide": []}
        for K in couplings(section):
            for name, model in models.items():
                path = dreamed_offcritical(model, K, L.bit_length() - 1, section.n_configs,
                                           _dream_seed(section.seed, "flow", K, L), schedule="flow",
                                           batch_size=section.batch_size, save_configs=L == max(section.sizes),
                                           progress=progress)
                ens = open_ensemble(path)
                m, e = ens.series(L, section.n_configs)
                points[name].append(coupling_point(m, e, L, K))
                plan = ens.meta["conditioning"]
                clipped[name].append(sum(a != b for a, b in zip(plan["t_levels"], plan["t_used"])))
        return RangeTest(L, tuple(section.wide_permille), tuple(points["narrow"]), tuple(points["wide"]),
                         tuple(clipped["narrow"]), tuple(clipped["wide"]),
                         degree_check(wide_section, data_seed, progress=progress))

    return cache.cached("offcritical", f"range-L{L}", key, compute, RangeTest.from_dict)
