"""The off-critical chapter's tables, quoted numbers and figures, on hand-made results (no computation)."""

from __future__ import annotations

import dataclasses

import matplotlib
import pytest

from dreamrg import offcritical_plots as op
from dreamrg import offcritical_tables as ot
from dreamrg.exact import K_C
from dreamrg.offcritical import CouplingPoint, Crossing, FlowPoint, NuFit, OffcriticalResult
from dreamrg.runs.offcritical import DegreeCheck, DegreeFit, DreamedSide, TrainingCheck
from dreamrg.stats import Estimate

matplotlib.use("Agg")
KS = (0.97 * K_C, K_C, 1.03 * K_C)
SIZES = (8, 16)


def _point(K: float, L: int, shift: float = 0.0) -> CouplingPoint:
    t = K / K_C - 1
    return CouplingPoint(K=K, L=L, n=1000, U4=Estimate(0.61 + t * L / 20 + shift, 0.002, 0.6),
                         chi=Estimate(L**1.75 * (1 - t), 0.5, 0.6), abs_m=Estimate(0.7 + t, 0.004, 0.6),
                         e=Estimate(1.45 + t + shift, 0.002, 0.7), dU4_dK=Estimate(0.25 * L, 0.05),
                         e_exact=1.45 + t)


def _result(shift: float = 0.0, sizes=SIZES) -> OffcriticalResult:
    points = tuple(_point(K, L, shift) for K in KS for L in sizes)
    crossings = (Crossing(8, 16, "reweighted", Estimate(K_C * (1 + shift), 0.001), K_C),
                 Crossing(8, 16, "interpolated", None, None, "does not change sign"))
    nu = NuFit(K_C, sizes, Estimate(1.0 + shift, 0.05), Estimate(1.0 / (1.0 + shift), 0.05), 0.0, 0)
    flow = tuple(FlowPoint(K, 16, Estimate(1.4, 0.002), Estimate(K_C + 2 * (K - K_C) + shift, 0.001)) for K in KS)
    return OffcriticalResult(points, crossings, nu, flow)


def _plan(K: float, schedule: str, n: int) -> dict:
    t = K / K_C - 1
    req = [t * 2.0 ** (n - lvl) if schedule == "flow" else t for lvl in range(1, n + 1)]
    return {"K": K, "t": t, "K_c": K_C, "schedule": schedule, "y_t": 1.0, "t_range": [-0.031, 0.031],
            "t_levels": req, "t_used": [min(max(x, -0.031), 0.031) for x in req]}


MC = _result()
DREAMED = {"naive": DreamedSide("naive", 1, _result(0.01), tuple(_plan(K, "naive", 4) for K in KS)),
           "flow": DreamedSide("flow", 1, _result(0.01), tuple(_plan(K, "flow", 4) for K in KS)),
           "flow-mc": DreamedSide("flow-mc", 8, dataclasses.replace(
               _result(0.0, (16,)), crossings=(), nu=NuFit(K_C, (16,), Estimate(1.0, 0.1), Estimate(1.0, 0.1), 0, 0)),
               tuple(_plan(K, "flow", 1) for K in KS))}
CHECK = TrainingCheck(tuple(_point(K, 32) for K in KS), ("a", "b", "c"))
DEGREES = DegreeCheck((DegreeFit(1, 6, 1.0, 0.0, ((3.0, -1.0, 0.5),) * 3, KS),
                       DegreeFit(2, 9, 0.99, 20.0, ((1.0, -1.0, 0.5),) * 3, KS)))


def test_every_table_has_every_point_and_marks_what_a_scheme_cannot_fill():
    u4, en = ot.observable(MC, DREAMED, "U4"), ot.energies(MC, DREAMED)
    assert len(u4) == len(en) == 6 and len(ot.flow(MC, DREAMED)) == 3 and len(ot.crossings(MC, DREAMED)) == 2
    assert list(u4.columns[:3]) == ["K/K_c", "L", "MC"] and "(MC start L=8 − MC)/σ" in u4
    assert (u4["MC start L=8"] == "—").sum() == 3                       # L = 8 is the start size: not dreamed
    assert "<e> exact (Kaufman)" in en and "K_c exact" in ot.crossings(MC, DREAMED)
    assert "no sign change" in ot.crossings(MC, DREAMED)["K* MC"].tolist()
    with pytest.raises(ValueError, match="name must be one of"):
        ot.observable(MC, DREAMED, "energy")


def test_deviations_in_units_of_the_error():
    en = ot.energies(MC, DREAMED)
    assert set(en["(MC − exact)/σ"]) == {0.0} and set(en["(naive − exact)/σ"]) == {5.0}   # 0.01 / 0.002
    u4 = ot.observable(MC, DREAMED, "U4")
    assert set(u4["(flow − MC)/σ"]) == {round(0.01 / (2**0.5 * 0.002), 1)}
    v = ot.verdict(MC, DREAMED)
    row = v.loc["K_c: Binder crossing (8, 16), reweighted"]
    assert row["MC"].endswith("(+0.0 σ)") and row["naive"].endswith(f"({0.01 * K_C / 0.001:+.1f} σ)")
    y_t = v.loc[[q for q in v.index if q.startswith("y_t")][0]]
    assert y_t["exact"] == "—" and y_t["naive"].endswith("(+0.0 σ)")      # judged against MC, not 1
    flow = ot.flow(MC, DREAMED)
    assert set(flow["(naive − MC)/σ"]) == {round(0.01 / (2**0.5 * 0.001), 1)}
    assert ot.energy_summary(MC, DREAMED).loc["naive", "worst |z|"] == 5.0


def test_schedules_count_the_clipped_levels():
    s = ot.schedules(DREAMED)
    assert len(s) == 9
    flow = s[s["scheme"] == "flow"]
    assert flow["clipped levels"].tolist() == ["3 of 4", "0 of 4", "3 of 4"]   # t·8 .. t·2 outside ±0.031
    assert s[s["scheme"] == "naive"]["clipped levels"].tolist() == ["0 of 4"] * 3
    assert s[s["scheme"] == "MC start L=8"]["start"].iloc[0] == "MC L=8 at K/K_c = 0.940"


def test_degree_table_and_quotes():
    d = ot.degree_choice(DEGREES)
    assert d.loc[2, "worst |W(t_j) − W_j separate|/σ"] == 1.0 and d.loc[1, "share within 2 σ"] == "67%"
    q = ot.quotes(MC, DREAMED, CHECK, DEGREES)
    assert q["off_deg2_lr"] == "20" and q["off_deg_dof"] == "3" and q["off_deg1_worst"] == "3.0"
    assert q["off_mc_Kc"] == "0.4407(10)" and q["off_pair"] == "(8, 16)" and q["off_t_range"] == "[-0.03, +0.03]"
    assert q["off_flow_clipped"] == "3 of 4 levels (at K/K_c = 1.03)"
    assert all(isinstance(v, str) for v in q.values())
    assert q["off_naive_m_ordered_example"].startswith("at K/K_c = 1.03 and L = 8 (no level clipped) ⟨|m|⟩ = ")
    assert q["off_flow_m_ordered_example"].startswith("at K/K_c = 1.03 and L = 8 (some level clipped)")
    assert q["off_mcs_m_ordered_example"] == "—"                       # one size only
    assert "K_c from the interpolated crossing against the exact value: no estimate, the reweighted one " \
           f"{0.01 * K_C / 0.001:+.1f} σ" in q["off_naive_verdict"]
    assert "ν against 1 agrees" in q["off_naive_verdict"] and "worst 5 σ, on average +0.7%" in q["off_naive_verdict"]
    assert "y_t against Monte Carlo's agrees (+0.0 σ)" in q["off_naive_verdict"]   # a shifted flow, same slope
    assert q["off_mcs_verdict"].startswith("MC start L=8: K_c from the interpolated crossing against the exact "
                                           "value: no estimate;")


def test_training_table_against_kaufman():
    t = ot.training_sets(CHECK)
    assert list(t["store"]) == ["a", "b", "c"] and set(t["(MC − exact)/σ"]) == {0.0}


def test_figures_draw_every_side():
    for draw in (op.observables_vs_coupling, op.energy_deviations, op.slopes_and_crossings, op.flow):
        fig = draw(MC, DREAMED)
        labels = {t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()}
        titles = {ax.get_title() for ax in fig.axes}
        assert any("MC start L=8" in x for x in labels | titles), draw.__name__
        matplotlib.pyplot.close(fig)


def test_a_result_without_flow_is_drawn():
    no_flow = dict(DREAMED, naive=dataclasses.replace(DREAMED["naive"],
                                                      result=dataclasses.replace(DREAMED["naive"].result, flow=())))
    fig = op.flow(MC, no_flow)
    assert len(fig.axes[0].lines) >= 2
    assert "no configurations kept" in ot.flow(MC, no_flow)["K_eff/K_c naive"].tolist()
