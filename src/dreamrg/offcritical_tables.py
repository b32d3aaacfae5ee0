"""Tables and quoted numbers of the chapter "Dreaming off criticality" (beyond the paper).

Every function takes the MC side (:class:`~dreamrg.offcritical.OffcriticalResult`, from
:func:`dreamrg.experiments.offcritical_mc`) and the dreamed side (the same type, or
:class:`~dreamrg.experiments.Unavailable` while the conditioned model is missing, which
the tables show as "not available: ..." rather than a number). Every number comes with
its error, and the exact value (Kaufman's e(K, L), Onsager's K_c, ν = 1) beside it with
the deviation in units of the error; there is no exact flow, so the dreamed K_eff is
compared with MC's, errors in quadrature.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from dreamrg.exact import K_C
from dreamrg.experiments import Unavailable
from dreamrg.offcritical import MIN_BIN_TAUS, Crossing, OffcriticalResult, flow_exponent
from dreamrg.runs.offcritical import TrainingCheck
from dreamrg.stats import Estimate, format_estimate

Dreamed = OffcriticalResult | Unavailable
#: what a dreamed cell shows while the conditioned model is missing
NOT_AVAILABLE = "not available"


def _f(est: Estimate | None) -> str:
    return "—" if est is None else format_estimate(est.value, est.error)


def _z(est: Estimate | None, exact: float) -> float | None:
    if est is None or not (est.error > 0 and math.isfinite(est.value)):
        return None
    return round((est.value - exact) / est.error, 1)


def _ratio(K: float) -> str:
    return f"{K / K_C:.3f}"


def _sides(mc: OffcriticalResult, dreamed: Dreamed) -> dict[str, OffcriticalResult | None]:
    return {"MC": mc, "dreamed": dreamed if isinstance(dreamed, OffcriticalResult) else None}


def training_sets(check: TrainingCheck) -> pd.DataFrame:
    """⟨e⟩ of every training set against Kaufman's exact e(K, L_t), with τ_int(e) and (MC − exact)/σ."""
    return pd.DataFrame([{"K/K_c": _ratio(p.K), "K": f"{p.K:.6f}", "L_t": p.L, "configs": p.n, "<e> MC": _f(p.e),
                          "τ_int(e)": f"{p.e.tau:.2f}", "<e> exact (Kaufman)": f"{p.e_exact:.6f}",
                          "(MC − exact)/σ": round(p.z_e, 1), "store": name}
                         for p, name in zip(check.points, check.stores)])


def observables(mc: OffcriticalResult, dreamed: Dreamed) -> pd.DataFrame:
    """U4, χ, ⟨|m|⟩ and dU4/dK (fluctuation formula) at every (K, L), MC beside dreamed."""
    sides = _sides(mc, dreamed)
    rows = []
    for p in mc.points:
        row: dict[str, Any] = {"K/K_c": _ratio(p.K), "L": p.L}
        for name, label in (("U4", "U4"), ("chi", "χ"), ("abs_m", "<|m|>"), ("dU4_dK", "dU4/dK")):
            for side, res in sides.items():
                row[f"{label} {side}"] = _f(getattr(res.point(p.K, p.L), name)) if res else NOT_AVAILABLE
        rows.append(row)
    return pd.DataFrame(rows)


def energies(mc: OffcriticalResult, dreamed: Dreamed) -> pd.DataFrame:
    """⟨e⟩ at every (K, L) against Kaufman's exact finite-torus value, deviations in units of the error."""
    sides = _sides(mc, dreamed)
    rows = []
    for p in mc.points:
        row: dict[str, Any] = {"K/K_c": _ratio(p.K), "L": p.L, "<e> exact (Kaufman)": f"{p.e_exact:.6f}"}
        for side, res in sides.items():
            q = res.point(p.K, p.L) if res else None
            row[f"<e> {side}"] = _f(q.e) if q else NOT_AVAILABLE
            row[f"({side} − exact)/σ"] = round(q.z_e, 1) if q else None
        rows.append(row)
    return pd.DataFrame(rows)


def worst_energy(res: OffcriticalResult) -> tuple[float, float, int]:
    """(the largest |⟨e⟩ − e_exact|/σ, its K, its L)."""
    p = max(res.points, key=lambda q: abs(q.z_e))
    return abs(p.z_e), p.K, p.L


def energy_summary(mc: OffcriticalResult, dreamed: Dreamed) -> pd.DataFrame:
    """Per side: the number of (K, L), the worst |z| and where, the share with |z| ≤ 2 and Σz²/n (1 if exact)."""
    rows = []
    for side, res in _sides(mc, dreamed).items():
        if res is None:
            rows.append({"side": side, "points": NOT_AVAILABLE})
            continue
        z = [p.z_e for p in res.points]
        worst, K, L = worst_energy(res)
        rows.append({"side": side, "points": len(z), "worst |z|": round(worst, 1), "at K/K_c": _ratio(K), "at L": L,
                     "share |z| ≤ 2": f"{sum(abs(x) <= 2 for x in z) / len(z):.0%}",
                     "Σz²/n": round(sum(x * x for x in z) / len(z), 2)})
    return pd.DataFrame(rows).set_index("side")


def _crossing(res: OffcriticalResult | None, small: int, large: int, method: str) -> Crossing | None:
    if res is None:
        return None
    return next((c for c in res.crossings if (c.L_small, c.L_large, c.method) == (small, large, method)), None)


def crossings(mc: OffcriticalResult, dreamed: Dreamed) -> pd.DataFrame:
    """Binder crossings of neighbouring sizes, both methods, MC and dreamed, against the exact K_c."""
    rows = []
    for c in mc.crossings:
        row: dict[str, Any] = {"pair": f"({c.L_small}, {c.L_large})", "method": c.method,
                               "K_c exact": f"{K_C:.6f}"}
        for side, res in _sides(mc, dreamed).items():
            got = _crossing(res, c.L_small, c.L_large, c.method)
            row[f"K* {side}"] = NOT_AVAILABLE if res is None else (_f(got.K) if got and got.K else
                                                                   f"none ({got.note})" if got else "—")
            row[f"({side} − exact)/σ"] = _z(got.K, K_C) if got else None
        rows.append(row)
    return pd.DataFrame(rows)


def exponent(mc: OffcriticalResult, dreamed: Dreamed) -> pd.DataFrame:
    """ν from dU4/dK ∝ L^{1/ν} at the coupling closest to K_c, and y_t = log₂ dK_eff/dK of the one-coupling flow,
    MC and dreamed, beside the exact ν = 1/y_t = 1."""
    rows = []
    for side, res in _sides(mc, dreamed).items():
        if res is None:
            rows.append({"side": side, "estimator": "—", "value": NOT_AVAILABLE})
            continue
        f = res.nu
        rows.append({"side": side, "estimator": f"ν from dU4/dK at K/K_c = {f.K / K_C:.3f}, L = "
                                                f"{', '.join(map(str, f.sizes))} (χ²/dof = {f.chi2:.2f}/{f.dof})",
                     "value": _f(f.nu), "exact": 1, "(value − exact)/σ": _z(f.nu, 1.0)})
        slope = flow_exponent(res.flow)
        if slope is not None:
            # the flow projected on one coupling only approximates the thermal eigenvalue: no z against 1
            rows.append({"side": side, "estimator": f"y_t = log₂ dK_eff/dK at K_c (flow of L = {res.flow[0].L}, "
                                                    f"λ = {_f(slope[0])}; one-coupling projection, ≈ 1/ν)",
                         "value": _f(slope[1]), "exact": 1, "(value − exact)/σ": None})
    return pd.DataFrame(rows).set_index(["side", "estimator"])


def flow(mc: OffcriticalResult, dreamed: Dreamed) -> pd.DataFrame:
    """K_eff of the once-blocked configurations against K, dreamed beside MC with (dreamed − MC)/σ."""
    d = _sides(mc, dreamed)["dreamed"]
    dreamed_flow = {f.K: f for f in d.flow} if d else {}
    rows = []
    for f in mc.flow:
        g = dreamed_flow.get(f.K)
        row = {"K/K_c": _ratio(f.K), "K": f"{f.K:.6f}", "L → L/2": f"{f.L} → {f.L // 2}",
               "<e> blocked MC": _f(f.e_blocked), "K_eff MC": _f(f.K_eff),
               "K_eff dreamed": _f(g.K_eff) if g else (NOT_AVAILABLE if d is None else "no configurations kept")}
        sigma = math.hypot(f.K_eff.error, g.K_eff.error) if g else 0.0
        row["(dreamed − MC)/σ"] = round((g.K_eff.value - f.K_eff.value) / sigma, 1) if g and sigma > 0 else None
        rows.append(row)
    return pd.DataFrame(rows)


def _crossing_K(method: str):
    def get(res: OffcriticalResult) -> Estimate | None:
        c = largest_pair(res, method)
        return c.K if c else None
    return get


def _flow_yt(res: OffcriticalResult) -> Estimate | None:
    got = flow_exponent(res.flow)
    return got[1] if got else None


def verdict(mc: OffcriticalResult, dreamed: Dreamed) -> pd.DataFrame:
    """The chapter's verdict in one table: K_c, ν, y_t and the energy test, MC and dreamed beside the exact values,
    with (x − exact)/σ for each side and (dreamed − MC)/σ (errors in quadrature)."""
    sides = _sides(mc, dreamed)
    pair = largest_pair(mc)
    label = f"({pair.L_small}, {pair.L_large})" if pair else ""
    # (quantity, estimate, exact value, judged against it): the one-coupling flow only approximates y_t = 1/ν = 1
    quantities = [(f"K_c: Binder crossing {label}, reweighted", _crossing_K("reweighted"), K_C, True),
                  (f"K_c: Binder crossing {label}, interpolated", _crossing_K("interpolated"), K_C, True),
                  ("ν from dU4/dK ∝ L^{1/ν}", lambda res: res.nu.nu, 1.0, True),
                  ("y_t = log₂ dK_eff/dK of the one-coupling flow (≈ 1/ν; judged against MC)", _flow_yt, 1.0, False)]
    rows = []
    for quantity, get, exact, judged in quantities:
        ests = {side: get(res) if res else None for side, res in sides.items()}
        row: dict[str, Any] = {"quantity": quantity}
        row |= {side: _f(est) if sides[side] else NOT_AVAILABLE for side, est in ests.items()}
        row["exact"] = f"{exact:.6g}"
        row |= {f"({side} − exact)/σ": _z(est, exact) if judged else None for side, est in ests.items()}
        a, b = ests["MC"], ests["dreamed"]
        sigma = math.hypot(a.error, b.error) if a and b else 0.0
        row["(dreamed − MC)/σ"] = round((b.value - a.value) / sigma, 1) if sigma > 0 else None
        rows.append(row)
    rows.append({"quantity": f"worst |<e> − e_exact|/σ over the {len(mc.points)} (K, L)",
                 **{side: f"{worst_energy(res)[0]:.1f}" if res else NOT_AVAILABLE for side, res in sides.items()},
                 "exact": "0"})
    return pd.DataFrame(rows).set_index("quantity")


def largest_pair(res: OffcriticalResult, method: str = "reweighted") -> Crossing | None:
    """The crossing of the two largest sizes by ``method``."""
    return max((c for c in res.crossings if c.method == method), key=lambda c: c.L_large, default=None)


def _side_quotes(res: OffcriticalResult | None, prefix: str, reason: str) -> dict[str, Any]:
    if res is None:
        return {f"{prefix}_{k}": reason for k in ("Kc", "Kc_z", "nu", "nu_z", "worst_z", "worst_at", "Kc_interp", "yt")}
    out: dict[str, Any] = {}
    for key, method in (("Kc", "reweighted"), ("Kc_interp", "interpolated")):
        c = largest_pair(res, method)
        out[f"{prefix}_{key}"] = _f(c.K) if c and c.K else "none found"
        if key == "Kc":
            out[f"{prefix}_Kc_z"] = f"{_z(c.K, K_C):+.1f}" if c and c.K else "—"
    out[f"{prefix}_nu"] = _f(res.nu.nu)
    out[f"{prefix}_nu_z"] = f"{_z(res.nu.nu, 1.0):+.1f}"
    slope = flow_exponent(res.flow)
    out[f"{prefix}_yt"] = _f(slope[1]) if slope else "—"
    worst, K, L = worst_energy(res)
    out[f"{prefix}_worst_z"] = f"{worst:.1f}"
    out[f"{prefix}_worst_at"] = f"K/K_c = {K / K_C:.3f}, L = {L}"
    return out


def _judged(name: str, z: float | None) -> str:
    if z is None:
        return f"{name}: no estimate"
    return f"{name} {'agrees' if abs(z) <= 2 else 'differs'} ({z:+.1f} σ)"


def dreamed_verdict(mc: OffcriticalResult, dreamed: Dreamed) -> str:
    """One sentence judging the dreamed side: each test agrees when |z| ≤ 2 (against exact, or MC for the flow)."""
    if isinstance(dreamed, Unavailable):
        return "No verdict yet: the conditioned model is not part of this build."
    kc = largest_pair(dreamed)
    z = [p.z_e for p in dreamed.points]
    yt_mc, yt_dr = _flow_yt(mc), _flow_yt(dreamed)
    z_flow = (round((yt_dr.value - yt_mc.value) / math.hypot(yt_mc.error, yt_dr.error), 1)
              if yt_mc and yt_dr else None)
    parts = [_judged("K_c (Binder crossing) against the exact value", _z(kc.K, K_C) if kc and kc.K else None),
             _judged("ν against 1", _z(dreamed.nu.nu, 1.0)),
             _judged("the flow's y_t against Monte Carlo's", z_flow),
             f"the energy is within 2 σ of Kaufman's at {sum(abs(x) <= 2 for x in z)} of {len(z)} (K, L), "
             f"worst {max(abs(x) for x in z):.1f} σ"]
    return "; ".join(parts) + "."


def quotes(mc: OffcriticalResult, dreamed: Dreamed, check: TrainingCheck) -> dict[str, Any]:
    """The numbers the chapter's prose quotes (``{glue:text}``), as text with their errors."""
    reason = NOT_AVAILABLE if isinstance(dreamed, Unavailable) else ""
    pair = largest_pair(mc)
    t_max = max(abs(K / K_C - 1) for K in mc.couplings)
    out = {"off_Kc_exact": f"{K_C:.6f}", "off_points": str(len(mc.points)),
           "off_pair": f"({pair.L_small}, {pair.L_large})" if pair else "—",
           "off_window_small": f"{t_max * min(mc.sizes):.1f} at L = {min(mc.sizes)}",
           "off_window_large": f"{t_max * max(mc.sizes):.1f} at L = {max(mc.sizes)}",
           "off_bin_taus": str(MIN_BIN_TAUS),
           "off_training_worst_z": f"{max(abs(p.z_e) for p in check.points):.1f}",
           "off_dreamed_status": "available" if not reason else f"not available ({dreamed.reason})",
           "off_verdict": dreamed_verdict(mc, dreamed)}
    out |= _side_quotes(mc, "off_mc", reason)
    out |= _side_quotes(_sides(mc, dreamed)["dreamed"], "off_dr", reason)
    return out
