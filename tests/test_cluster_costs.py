"""dreamrg.cluster_costs: per-unit costs turned into wall times on W workers."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dreamrg import cluster_costs as cc
from dreamrg.paths import repo_root
from dreamrg.profiles import load_profile

COSTS = cc.UnitCosts(date="2026-12-02", machine="2 cores (x86_64)", load=(1.0, 2.0),
                     mc_ms={128: 3.0, 512: 60.0, 1024: 400.0}, equil_s={128: 0.5, 512: 2.0, 1024: 8.0},
                     mcrg_ms={128: 0.1, 512: 2.0}, dream_ms={3: 0.1, 7: 0.3})


def test_wall_time_is_rounds_of_one_unit():
    item = cc.CostItem("x", units=64, seconds=10.0)
    assert [item.wall(w) for w in (1, 2, 16, 63, 64, 1000)] == [640.0, 320.0, 40.0, 20.0, 10.0, 10.0]
    with pytest.raises(ValueError, match="workers must be"):
        item.wall(0)
    assert cc.total_wall([item, cc.CostItem("y", 3, 1.0)], 2) == 320.0 + 2.0


def test_mcrg_and_dream_costs_at_unmeasured_sizes():
    assert COSTS.mcrg_step_ms(512) == 2.0
    assert COSTS.mcrg_step_ms(256) == pytest.approx(0.1 * 4)        # as near 128 as 512 in log L: the first
    assert COSTS.mcrg_step_ms(1024) == pytest.approx(2.0 * 4)       # scaled ∝ L² from 512
    assert COSTS.mcrg_levels_ms(1024, 2) == pytest.approx(8.0 + 2.0)
    assert (COSTS.dream_model_ms(3), COSTS.dream_model_ms(5), COSTS.dream_model_ms(7)) == (0.1, 0.3, 0.3)
    assert COSTS.dream_model_ms(9) == 0.3                           # beyond the measured: the largest


def test_profile_items_by_hand():
    p = load_profile("paper")
    items = cc.profile_items(p, COSTS)
    n = p.mcrg.mc_configs
    # the paper profile streams L = 512 in the three MC conventions: each evaluates its operators on every config
    st512 = next(it for it in items if it.name.startswith("Streamed Monte Carlo + MCRG (3 conventions), L = 512"))
    assert st512.units == 32  # one chain per jackknife bin (runs.mcrg.stream_params)
    assert st512.seconds == pytest.approx((n * (60.0 + 3 * COSTS.mcrg_levels_ms(512, 2)) / 1e3 + 32 * 2.0) / 32)
    stored = dataclasses.replace(p, mcrg=dataclasses.replace(p.mcrg, mc_streamed=()))
    mc512 = next(it for it in cc.profile_items(stored, COSTS) if it.name.startswith("Monte Carlo, L = 512"))
    assert mc512.units == 64 and mc512.seconds == pytest.approx((n * 60.0 / 1e3 + 64 * 2.0) / 64)
    assert len(cc.profile_items(stored, COSTS)) == 6
    dream, check = items[-2], items[-1]
    ks = p.training.ks
    assert dream.units == 2 * len(ks) * -(-p.fss_dreaming.n_configs // p.fss_dreaming.batch_size)
    assert dream.seconds == pytest.approx(p.fss_dreaming.batch_size * sum(COSTS.dream_model_ms(k) for k in ks)
                                          / len(ks) / 1e3)
    assert check.name.startswith("Dreaming-seed check of Table II's errors, 6 released models × ")
    assert check.units == 6 * p.fss.spread_seeds * -(-p.fss.spread_configs // p.fss_dreaming.batch_size)
    assert check.seconds == pytest.approx(p.fss_dreaming.batch_size * sum(COSTS.dream_model_ms(k) for k in (3, 5, 7))
                                          / 3 / 1e3)
    assert len(items) == 5
    table = cc.wall_table(items, (1, 64))
    assert list(table.columns) == ["units", "one unit", "1 worker", "64 workers"]


def test_the_measured_costs_file_reads():
    path = repo_root() / "book" / "data" / "unit_costs.json"
    costs = cc.UnitCosts.read(path)
    raw = json.loads(path.read_text())
    assert costs.mc_ms[512] == raw["mc_sw"]["512"]["ms_per_config"] and set(costs.dream_ms) == {3, 7}
    assert cc.duration(5400) == "1.5 h" and cc.duration(90) == "1.5 min" and cc.duration(4) == "4 s"


def test_the_dask_speedup_record_reads_and_tabulates():
    path = repo_root() / "book" / "data" / "dask_speedup.json"
    sp = cc.DaskSpeedup.read(path)
    raw = json.loads(path.read_text())
    assert sp.reference == "in process, 1 numba thread" and sp.identical is raw["identical_stores"]
    table = sp.table()
    assert list(table.index) == list(raw["ways"]) and table.iloc[0]["speed-up against in process"] == "1.00"
    ways = raw["ways"]
    assert float(table.loc["Dask local:2", "speed-up against in process"]) == pytest.approx(
        ways["in process, 1 numba thread"]["wall_s"] / ways["Dask local:2"]["wall_s"], abs=0.005)
