"""What a profile costs on a cluster: measured per-unit costs turned into wall times on W workers.

``benchmarks/unit_costs.py`` measures, on one worker (one thread), the cost of each kind
of unit the Dask paths run: a Monte Carlo configuration and a chain's equilibration per
lattice size, one MCRG blocking step per configuration, one dreamed configuration per
kernel size. It writes them to ``book/data/unit_costs.json``; :class:`UnitCosts` reads
that file. :func:`profile_items` lists a profile's largest items as :class:`CostItem`
(how many independent units, and the cost of one), and an item of ``U`` units of cost
``c`` takes about ``ceil(U / W) c`` on ``W`` workers (:meth:`CostItem.wall`): never less
than one unit, so a Monte Carlo store, whose 64 chains are its units, gains nothing past
64 workers. The cluster chapter shows the table.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dreamrg.mc import DEFAULT_CHAINS
from dreamrg.profiles import Profile

#: configurations per MCRG task (the default batch of :func:`dreamrg.mcrg.accumulate_store`)
MCRG_GROUP = 2048


@dataclass(frozen=True)
class UnitCosts:
    """Per-unit costs on one worker, as ``benchmarks/unit_costs.py`` measured them.

    ``mc_ms[L]``: milliseconds per recorded Monte Carlo configuration (thinning included);
    ``equil_s[L]``: seconds to equilibrate one chain; ``mcrg_ms[L]``: milliseconds per
    configuration for one blocking step at size L; ``dream_ms[k]``: milliseconds per
    configuration dreamed to the measured size with kernel size k. ``load`` is the load
    average before and after the measurement.
    """

    date: str
    machine: str
    load: tuple[float, float]
    mc_ms: dict[int, float]
    equil_s: dict[int, float]
    mcrg_ms: dict[int, float]
    dream_ms: dict[int, float]

    @classmethod
    def from_dict(cls, d: dict) -> "UnitCosts":
        mc = d["mc_sw"]
        return cls(d["date"], f"{d['machine']['cores']} cores ({d['machine']['processor']})",
                   (float(d["load_average"]["before"]), float(d["load_average"]["after"])),
                   {int(L): float(c["ms_per_config"]) for L, c in mc.items()},
                   {int(L): float(c["equilibration_s_per_chain"]) for L, c in mc.items()},
                   {int(L): float(c["ms_per_config"]) for L, c in d["mcrg"].items()},
                   {int(k.removeprefix("k")): float(c["ms_per_config"]) for k, c in d["dream"].items()})

    @classmethod
    def read(cls, path: str | Path) -> "UnitCosts":
        """The costs in a ``unit_costs.json`` written by ``benchmarks/unit_costs.py``."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def mcrg_step_ms(self, L: int) -> float:
        """One blocking step at size ``L``: measured, else scaled ∝ L² from the nearest measured size (in log L)."""
        near = min(self.mcrg_ms, key=lambda s: abs(math.log2(s / L)))
        return self.mcrg_ms[near] * (L / near) ** 2

    def mcrg_levels_ms(self, L: int, levels: int) -> float:
        """Every blocking step of an MCRG at size ``L``: step j acts on L / 2^j."""
        return sum(self.mcrg_step_ms(L >> j) for j in range(levels))

    def dream_model_ms(self, k: int) -> float:
        """Dreaming with kernel size ``k``: its own cost if measured, else that of the next larger measured k (an
        upper bound), else of the largest."""
        larger = [m for m in self.dream_ms if m >= k]
        return self.dream_ms[min(larger)] if larger else self.dream_ms[max(self.dream_ms)]


@dataclass(frozen=True)
class CostItem:
    """``units`` independent units of work costing ``seconds`` each on one worker."""

    name: str
    units: int
    seconds: float

    def wall(self, workers: int) -> float:
        """Seconds on ``workers`` workers of the same speed: ``ceil(units / workers)`` rounds of one unit."""
        if workers < 1:
            raise ValueError(f"workers must be ≥ 1; got {workers}")
        return math.ceil(self.units / workers) * self.seconds


def mc_item(name: str, costs: UnitCosts, L: int, n_configs: int, extra_ms: float = 0.0,
            chains: int = DEFAULT_CHAINS) -> CostItem:
    """A Monte Carlo run of ``n_configs`` at ``L``: one unit per chain, its share of the configurations plus its
    equilibration; ``extra_ms`` per configuration on top (e.g. streamed MCRG)."""
    per_chain = (n_configs * (costs.mc_ms[L] + extra_ms) / 1e3 + chains * costs.equil_s[L]) / chains
    return CostItem(name, chains, per_chain)


def batch_item(name: str, n: int, batch: int, ms: float, repeat: int = 1) -> CostItem:
    """``repeat`` × ``n`` configurations in batches of ``batch``, each configuration costing ``ms``."""
    return CostItem(name, repeat * math.ceil(n / batch), batch * ms / 1e3)


def profile_items(profile: Profile, costs: UnitCosts) -> list[CostItem]:
    """The largest items of ``profile``: its largest FSS Monte Carlo store, the MCRG chapter's largest store and its
    MCRG (or, for a size of ``mcrg.mc_streamed``, its streamed MC + MCRG in every MC convention), the streamed
    MC + MCRG, the FSS chapter's dreaming (our models, both weightings) and its dreaming-seed check (the authors'
    six released models, :func:`dreamrg.experiments.fss_dream_spread`)."""
    mc, rg, dr = profile.monte_carlo, profile.mcrg, profile.fss_dreaming
    L_fss, L_rg, L_st = max(mc.fss_sizes), max(rg.mc_sizes), max(rg.stream_sizes)
    ks = profile.training.ks
    n_models = 2 * len(ks)
    dream_ms = sum(costs.dream_model_ms(k) for k in ks) / len(ks)
    if L_rg in rg.mc_streamed:  # one pass in every MC convention; each evaluates its operators (an upper bound)
        from dreamrg.conventions import MC_CONVENTIONS
        from dreamrg.experiments.mcrg import STREAMED_MC_ORDER
        from dreamrg.runs.mcrg import stream_params

        n_conv = len(MC_CONVENTIONS)
        chains = stream_params(L_rg, rg.mc_configs, profile.data_seed, 32, STREAMED_MC_ORDER).chains  # 32 bins
        largest = [mc_item(f"Streamed Monte Carlo + MCRG ({n_conv} conventions), L = {L_rg}, {rg.mc_configs:,} "
                           "configurations", costs, L_rg, rg.mc_configs,
                           n_conv * costs.mcrg_levels_ms(L_rg, rg.levels), chains=chains)]
    else:
        largest = [mc_item(f"Monte Carlo, L = {L_rg}, {rg.mc_configs:,} configurations", costs, L_rg, rg.mc_configs),
                   batch_item(f"MCRG ({rg.levels} steps) of that store", rg.mc_configs, MCRG_GROUP,
                              costs.mcrg_levels_ms(L_rg, rg.levels))]
    return [
        mc_item(f"Monte Carlo, L = {L_fss}, {mc.fss_configs:,} configurations", costs, L_fss, mc.fss_configs),
        *largest,
        mc_item(f"Streamed Monte Carlo + MCRG, L = {L_st}, {rg.stream_configs:,} configurations", costs, L_st,
                rg.stream_configs, costs.mcrg_levels_ms(L_st, rg.levels)),
        batch_item(f"Dreaming, {n_models} models × {dr.n_configs:,} configurations to L = {2 ** dr.n_up}",
                   dr.n_configs, dr.batch_size, dream_ms, repeat=n_models),
        spread_item(profile, costs),
    ]


def spread_item(profile: Profile, costs: UnitCosts) -> CostItem:
    """The FSS chapter's dreaming-seed check: every released single-layer model of the default training set
    (:mod:`dreamrg.released`, as :func:`dreamrg.experiments.fss_dream_spread` dreams them) × its seeds."""
    from dreamrg.released import DEFAULT_L_T, DEFAULT_M, released_models

    ks = [m.k for m in released_models().values() if m.depth == 1 and (m.L_t, m.M) == (DEFAULT_L_T, DEFAULT_M)]
    seeds, n, batch = profile.fss.spread_seeds, profile.fss.spread_configs, profile.fss_dreaming.batch_size
    return batch_item(f"Dreaming-seed check of Table II's errors, {len(ks)} released models × {seeds} seeds × {n:,} "
                      "configurations", n, batch, sum(map(costs.dream_model_ms, ks)) / max(len(ks), 1),
                      repeat=len(ks) * seeds)


def duration(seconds: float) -> str:
    """A duration in the unit that reads best, to three significant digits in hours, two otherwise."""
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 60:.2g} min" if seconds >= 60 else f"{seconds:.2g} s"


def wall_table(items: list[CostItem], workers: tuple[int, ...]) -> pd.DataFrame:
    """One row per item: its units, one unit's cost and the wall time on each number of workers."""
    rows = {it.name: {"units": it.units, "one unit": duration(it.seconds),
                      **{f"{w} worker{'s' * (w > 1)}": duration(it.wall(w)) for w in workers}} for it in items}
    return pd.DataFrame.from_dict(rows, orient="index")


def total_wall(items: list[CostItem], workers: int) -> float:
    """Seconds for every item on ``workers`` workers, one item after another (as the warm-up runs them)."""
    return sum(it.wall(workers) for it in items)


@dataclass(frozen=True)
class DaskSpeedup:
    """One Monte Carlo run timed three ways by ``benchmarks/dask_mc_speedup.py`` (``book/data/dask_speedup.json``).

    ``wall_s`` / ``cpu_s``: best wall and CPU seconds of each way ("in process, 1 numba thread",
    "Dask local:1", "Dask local:2"), in that order; ``identical``: whether the three stores were
    byte-identical; ``capacity``: the speed-up of two plain processes of the bare kernel over one,
    timed before and after (what the machine gives a second process); ``load``: load averages
    during the measurement.
    """

    date: str
    L: int
    n_configs: int
    chains: int
    reps: int
    spin_updates: int
    identical: bool
    wall_s: dict[str, float]
    cpu_s: dict[str, float]
    speedup_1_to_2: float
    speedup_free_cores: float
    capacity: tuple[float, ...]
    load: tuple[float, ...]

    @classmethod
    def read(cls, path: str | Path) -> "DaskSpeedup":
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(d["date"], int(d["L"]), int(d["n_configs"]), int(d["chains"]), int(d["reps"]),
                   int(d["spin_updates"]), bool(d["identical_stores"]),
                   {w: float(v["wall_s"]) for w, v in d["ways"].items()},
                   {w: float(v["cpu_s"]) for w, v in d["ways"].items()},
                   float(d["speedup_1_to_2"]), float(d["speedup_free_cores"]),
                   tuple(float(v) for v in d["capacity"].values()), tuple(float(v) for v in d["load_average"]))

    @property
    def reference(self) -> str:
        """The way the others are compared with: the first (in process)."""
        return next(iter(self.wall_s))

    def table(self) -> pd.DataFrame:
        """Wall time, ns per spin update and speed-up against :attr:`reference`, one row per way."""
        ref = self.wall_s[self.reference]
        return pd.DataFrame({"wall time (s)": [f"{v:.1f}" for v in self.wall_s.values()],
                             "ns per spin update": [f"{v / self.spin_updates * 1e9:.2f}" for v in self.wall_s.values()],
                             "speed-up against in process": [f"{ref / v:.2f}" for v in self.wall_s.values()]},
                            index=pd.Index(list(self.wall_s), name="how"))
