"""Cached observables: per-size summaries of Monte Carlo stores and of dreamed ensembles.

* :func:`mc_summary` -- :class:`MCSummary` of ``n_configs`` Monte Carlo configurations
  of one size (the store is cached too), with a histogram of m·L^{1/8}.
* :func:`dream_summary` -- :class:`DreamSummary` of a dreamed ensemble: every size
  and the Table II exponents of every pair (L, L/4) with a joint jackknife.

Both are kept as JSON in ``data/observables/`` and come back as the same types.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch

from dreamrg import cache
from dreamrg.dream import DreamParams, dream_key, model_id
from dreamrg.exact import K_C
from dreamrg.fss import PairExponents, ensemble_summaries, joint_pair_exponents, m_histogram
from dreamrg.mc import MCParams
from dreamrg.observables import SizeSummary, store_accumulator, summarize
from dreamrg.runs.ensembles import cached_ensemble
from dreamrg.runs.mc import cached_store


@dataclass(frozen=True, kw_only=True)
class MCSummary(SizeSummary):
    """A :class:`~dreamrg.observables.SizeSummary` of Monte Carlo configurations (with their m histogram),
    the wall time spent producing the store (``seconds``; zero when it was cached already) and the cache
    key it was computed for (``params``: the store's metadata and ``n_configs``)."""

    seconds: float
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return super().to_dict() | {"seconds": self.seconds, "params": self.params}

    @classmethod
    def from_dict(cls, d: dict) -> "MCSummary":
        return cls(**cls._fields_from_dict(d), seconds=d["seconds"], params=d["params"])


@dataclass(frozen=True)
class DreamSummary:
    """Observables of every size of one dreamed ensemble.

    Attributes
    ----------
    sizes : dict of int to SizeSummary
        Every size ≥ 2, with its m histogram.
    exponents : dict of (L, L/4) to PairExponents
        γ/ν and 1/ν of every pair of sizes, with a joint jackknife over chains.
    seconds : float
        Wall time of dreaming (zero when the ensemble was cached already).
    n : int
        Number of chains.
    """

    sizes: dict[int, SizeSummary]
    exponents: dict[tuple[int, int], PairExponents]
    seconds: float
    n: int

    def to_dict(self) -> dict:
        return {"sizes": {str(L): s.to_dict() for L, s in self.sizes.items()},
                "exponents": {f"{a},{b}": e.to_dict() for (a, b), e in self.exponents.items()},
                "seconds": self.seconds, "n": int(self.n)}

    @classmethod
    def from_dict(cls, d: dict) -> "DreamSummary":
        return cls(sizes={int(L): SizeSummary.from_dict(s) for L, s in d["sizes"].items()},
                   exponents={tuple(int(x) for x in key.split(",")): PairExponents.from_dict(e)
                              for key, e in d["exponents"].items()},
                   seconds=d["seconds"], n=int(d["n"]))


def mc_summary(L: int, n_configs: int, seed: int, algorithm: str = "sw", K: float = K_C,
               progress: bool | None = None) -> MCSummary:
    """Observables of ``n_configs`` Swendsen–Wang (or Wolff) configurations of size ``L`` (cached)."""
    params = MCParams(L=L, K=K, algorithm=algorithm, seed=seed)
    key = params.store_meta() | {"n_configs": int(n_configs)}

    def compute() -> MCSummary:
        t0 = time.perf_counter()
        path = cached_store(params, n_configs, progress=progress)
        t_mc = time.perf_counter() - t0
        acc = store_accumulator(path, stop=n_configs)
        s = summarize(acc).with_hist(m_histogram(acc.m, L))
        return MCSummary(**{name: getattr(s, name) for name in s.__dataclass_fields__}, seconds=t_mc, params=key)

    return cache.cached("observables", f"mc-L{L}-{algorithm}", key, compute, MCSummary.from_dict)


def dream_summary(model: torch.nn.Module, params: DreamParams, n_configs: int,
                  progress: bool | None = None) -> DreamSummary:
    """Per-size summaries and joint Table-II exponents of the cached ensemble ``model`` dreams (cached)."""
    key = dream_key(model, params) | {"n_configs": int(n_configs)}

    def compute() -> DreamSummary:
        t0 = time.perf_counter()
        path = cached_ensemble(model, params, n_configs, progress=progress)
        seconds = time.perf_counter() - t0
        return DreamSummary(sizes=ensemble_summaries(path, stop=n_configs),
                            exponents=joint_pair_exponents(path, stop=n_configs), seconds=seconds,
                            n=int(n_configs))

    return cache.cached("observables", f"dream-{model_id(model)}", key, compute, DreamSummary.from_dict)
