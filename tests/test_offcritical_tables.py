"""The off-critical chapter's tables, quoted numbers and figures, on hand-made results (no computation)."""

from __future__ import annotations

import dataclasses

import matplotlib
import pandas as pd
import pytest

from dreamrg import offcritical_plots as op
from dreamrg import offcritical_tables as ot
from dreamrg.exact import K_C
from dreamrg.experiments import Unavailable
from dreamrg.offcritical import CouplingPoint, Crossing, FlowPoint, NuFit, OffcriticalResult
from dreamrg.runs.offcritical import TrainingCheck
from dreamrg.stats import Estimate

matplotlib.use("Agg")
KS = (0.97 * K_C, K_C, 1.03 * K_C)
SIZES = (8, 16)
MISSING = Unavailable("the conditioned model is not in this branch")


def _point(K: float, L: int, shift: float = 0.0) -> CouplingPoint:
    t = K / K_C - 1
    return CouplingPoint(K=K, L=L, n=1000, U4=Estimate(0.61 + t * L / 20, 0.002, 0.6),
                         chi=Estimate(L**1.75 * (1 - t), 0.5, 0.6), abs_m=Estimate(0.7 + t, 0.004, 0.6),
                         e=Estimate(1.45 + t + shift, 0.002, 0.7), dU4_dK=Estimate(0.25 * L, 0.05),
                         e_exact=1.45 + t)


def _result(shift: float = 0.0) -> OffcriticalResult:
    points = tuple(_point(K, L, shift) for K in KS for L in SIZES)
    crossings = (Crossing(8, 16, "reweighted", Estimate(K_C * (1 + shift), 0.001), K_C),
                 Crossing(8, 16, "interpolated", None, None, "does not change sign"))
    nu = NuFit(K_C, SIZES, Estimate(1.0 + shift, 0.05), Estimate(1.0 / (1.0 + shift), 0.05), 0.0, 0)
    flow = tuple(FlowPoint(K, 16, Estimate(1.4, 0.002), Estimate(K_C + 2 * (K - K_C) + shift, 0.001)) for K in KS)
    return OffcriticalResult(points, crossings, nu, flow)


MC = _result()
DREAMED = _result(shift=0.01)
CHECK = TrainingCheck(tuple(_point(K, 32) for K in KS), ("a", "b", "c"))


@pytest.mark.parametrize("dreamed", [MISSING, DREAMED], ids=["missing", "dreamed"])
def test_every_table_has_every_point_and_says_what_is_missing(dreamed):
    obs, en = ot.observables(MC, dreamed), ot.energies(MC, dreamed)
    assert len(obs) == len(en) == 6 and len(ot.flow(MC, dreamed)) == 3 and len(ot.crossings(MC, dreamed)) == 2
    cells = [str(x) for t in (obs, en, ot.flow(MC, dreamed), ot.verdict(MC, dreamed)) for x in t.to_numpy().ravel()]
    assert (ot.NOT_AVAILABLE in cells) == (dreamed is MISSING)
    assert "U4 MC" in obs and "<e> exact (Kaufman)" in en and "K_c exact" in ot.crossings(MC, dreamed)
    assert "none (does not change sign)" in ot.crossings(MC, dreamed)["K* MC"].tolist()


def test_deviations_in_units_of_the_error():
    en = ot.energies(MC, DREAMED)
    assert set(en["(MC − exact)/σ"]) == {0.0} and set(en["(dreamed − exact)/σ"]) == {5.0}   # 0.01 / 0.002
    v = ot.verdict(MC, DREAMED)
    row = v.loc["K_c: Binder crossing (8, 16), reweighted"]
    assert row["(MC − exact)/σ"] == 0.0 and row["(dreamed − exact)/σ"] == pytest.approx(round(0.01 * K_C / 0.001, 1))
    y_t = v.loc[[q for q in v.index if q.startswith("y_t")][0]]
    assert pd.isna(y_t["(MC − exact)/σ"]) and y_t["(dreamed − MC)/σ"] == 0.0    # judged against MC, not 1
    flow = ot.flow(MC, DREAMED)
    assert set(flow["(dreamed − MC)/σ"]) == {round(0.01 / (2**0.5 * 0.001), 1)}
    assert ot.energy_summary(MC, DREAMED).loc["dreamed", "worst |z|"] == 5.0


def test_quotes_and_verdict_sentence():
    q = ot.quotes(MC, MISSING, CHECK)
    assert q["off_dr_nu"] == ot.NOT_AVAILABLE and q["off_mc_Kc"] == "0.4407(10)" and q["off_pair"] == "(8, 16)"
    assert q["off_verdict"].startswith("No verdict yet") and "not in this branch" in q["off_dreamed_status"]
    assert all(isinstance(v, str) for v in q.values())
    q = ot.quotes(MC, DREAMED, CHECK)
    assert q["off_dreamed_status"] == "available"
    assert "K_c (Binder crossing) against the exact value differs" in q["off_verdict"]
    assert "ν against 1 agrees" in q["off_verdict"] and "worst 5.0 σ" in q["off_verdict"]
    assert "y_t against Monte Carlo's agrees (+0.0 σ)" in q["off_verdict"]     # a shifted flow has the same slope


def test_training_table_against_kaufman():
    t = ot.training_sets(CHECK)
    assert list(t["store"]) == ["a", "b", "c"] and set(t["(MC − exact)/σ"]) == {0.0}


@pytest.mark.parametrize("dreamed", [MISSING, DREAMED], ids=["missing", "dreamed"])
def test_figures_draw_both_sides_or_say_one_is_missing(dreamed):
    for draw in (op.observables_vs_coupling, op.energy_deviations, op.slopes_and_crossings, op.flow):
        fig = draw(MC, dreamed)
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert ("dreamed: not available" in texts) == (dreamed is MISSING), draw.__name__
        matplotlib.pyplot.close(fig)


def test_a_result_without_flow_is_drawn():
    no_flow = dataclasses.replace(DREAMED, flow=())
    fig = op.flow(MC, no_flow)
    assert len(fig.axes[0].lines) >= 2
    assert "no configurations kept" in ot.flow(MC, no_flow)["K_eff dreamed"].tolist()
