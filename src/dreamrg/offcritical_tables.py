"""Tables and quoted numbers of the chapter "Dreaming off criticality" (beyond the paper).

Every function takes the MC side (:class:`~dreamrg.offcritical.OffcriticalResult`, from
:func:`dreamrg.experiments.offcritical_mc`) and the dreamed side: one
:class:`~dreamrg.runs.offcritical.DreamedSide` per scheme (:data:`dreamrg.runs.offcritical.SCHEMES`,
from :func:`dreamrg.experiments.offcritical_dreamed`). Every number comes with its error, and
the exact value (Kaufman's e(K, L), Onsager's K_c, ν = 1) beside it with the deviation in units
of the error; where there is no exact value (U4, χ, ⟨|m|⟩, the flow) a dreamed number is
compared with MC's, errors in quadrature. A cell a scheme cannot fill (sizes at or below its
Monte Carlo start) shows "—".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from dreamrg.exact import K_C
from dreamrg.offcritical import MIN_BIN_TAUS, CouplingPoint, Crossing, OffcriticalResult, flow_exponent
from dreamrg.runs.offcritical import DegreeCheck, DreamedSide, RangeTest, TrainingCheck
from dreamrg.stats import Estimate, format_estimate

Dreamed = Mapping[str, DreamedSide]
#: the observables of :func:`observable`: attribute of a CouplingPoint -> label
OBSERVABLES = {"U4": "U4", "chi": "χ", "abs_m": "<|m|>", "dU4_dK": "dU4/dK"}
#: a deviation within this many σ counts as agreement
AGREE = 2.0


def _f(est: Estimate | None) -> str:
    return "—" if est is None else format_estimate(est.value, est.error)


def _z(est: Estimate | None, exact: float) -> float | None:
    if est is None or not (est.error > 0 and math.isfinite(est.value)):
        return None
    return round((est.value - exact) / est.error, 1)


def _dz(a: Estimate | None, b: Estimate | None) -> float | None:
    """(b − a)/σ with the errors in quadrature (None if either is missing)."""
    if a is None or b is None:
        return None
    sigma = math.hypot(a.error, b.error)
    return round((b.value - a.value) / sigma, 1) if sigma > 0 and math.isfinite(b.value) else None


def _ratio(K: float) -> str:
    return f"{K / K_C:.3f}"


def label(side: DreamedSide) -> str:
    """The chapter's short name of a dreamed scheme."""
    return {"naive": "naive", "flow": "flow"}.get(side.scheme, f"MC start L={side.L0}")


def sides(mc: OffcriticalResult, dreamed: Dreamed) -> dict[str, OffcriticalResult]:
    """MC first, then every dreamed scheme under its :func:`label`."""
    return {"MC": mc} | {label(d): d.result for d in dreamed.values()}


def _point(res: OffcriticalResult, K: float, L: int) -> CouplingPoint | None:
    return next((p for p in res.points if p.K == K and p.L == L), None)


def training_sets(check: TrainingCheck) -> pd.DataFrame:
    """⟨e⟩ of every training set against Kaufman's exact e(K, L_t), with τ_int(e) and (MC − exact)/σ."""
    return pd.DataFrame([{"K/K_c": _ratio(p.K), "K": f"{p.K:.6f}", "L_t": p.L, "configs": p.n, "<e> MC": _f(p.e),
                          "τ_int(e)": f"{p.e.tau:.2f}", "<e> exact (Kaufman)": f"{p.e_exact:.6f}",
                          "(MC − exact)/σ": round(p.z_e, 1), "store": name}
                         for p, name in zip(check.points, check.stores)])


def degree_choice(check: DegreeCheck) -> pd.DataFrame:
    """Per polynomial degree: parameters, training loss, its drop against degree 1 in units of its own
    statistical resolution, and how far the weights W(t_j) lie from separate fits at each coupling."""
    rows = []
    for d in check.degrees:
        rows.append({"degree": d.degree, "parameters": d.n_params, "loss per configuration": f"{d.loss:.5f}",
                     "2 M Δloss against degree 1": round(d.lr_statistic, 1),
                     "worst |W(t_j) − W_j separate|/σ": round(d.worst_z, 1), "at K/K_c": _ratio(d.worst_K),
                     "share within 2 σ": f"{d.share_within_2:.0%}"})
    return pd.DataFrame(rows).set_index("degree")


def observable(mc: OffcriticalResult, dreamed: Dreamed, name: str) -> pd.DataFrame:
    """One observable (:data:`OBSERVABLES`) at every (K, L): MC, then each scheme with (scheme − MC)/σ."""
    if name not in OBSERVABLES:
        raise ValueError(f"name must be one of {', '.join(OBSERVABLES)}; got {name!r}")
    rows = []
    for p in mc.points:
        ref = getattr(p, name)
        row: dict[str, Any] = {"K/K_c": _ratio(p.K), "L": p.L, "MC": _f(ref)}
        for side, res in list(sides(mc, dreamed).items())[1:]:
            q = _point(res, p.K, p.L)
            row[side] = _f(getattr(q, name)) if q else "—"
            row[f"({side} − MC)/σ"] = _dz(ref, getattr(q, name)) if q else None
        rows.append(row)
    return pd.DataFrame(rows)


def energies(mc: OffcriticalResult, dreamed: Dreamed) -> pd.DataFrame:
    """⟨e⟩ at every (K, L) against Kaufman's exact finite-torus value, deviations in units of the error."""
    rows = []
    for p in mc.points:
        row: dict[str, Any] = {"K/K_c": _ratio(p.K), "L": p.L, "<e> exact (Kaufman)": f"{p.e_exact:.6f}"}
        for side, res in sides(mc, dreamed).items():
            q = _point(res, p.K, p.L)
            row[f"<e> {side}"] = _f(q.e) if q else "—"
            row[f"({side} − exact)/σ"] = round(q.z_e, 1) if q else None
        rows.append(row)
    return pd.DataFrame(rows)


def worst_energy(res: OffcriticalResult) -> tuple[float, float, int]:
    """(the largest |⟨e⟩ − e_exact|/σ, its K, its L)."""
    p = max(res.points, key=lambda q: abs(q.z_e))
    return abs(p.z_e), p.K, p.L


def energy_summary(mc: OffcriticalResult, dreamed: Dreamed) -> pd.DataFrame:
    """Per side: the number of (K, L), the worst |z| and where, the share with |z| ≤ 2, Σz²/n (≈ 1 if exact)
    and the mean relative deviation ⟨e⟩/e_exact − 1 (how large the deviation is, whatever its σ)."""
    rows = []
    for side, res in sides(mc, dreamed).items():
        z = [p.z_e for p in res.points]
        worst, K, L = worst_energy(res)
        rel = sum(p.e.value / p.e_exact - 1 for p in res.points) / len(z)
        rows.append({"side": side, "points": len(z), "worst |z|": round(worst, 1), "at K/K_c": _ratio(K), "at L": L,
                     "share |z| ≤ 2": f"{sum(abs(x) <= AGREE for x in z) / len(z):.0%}",
                     "Σz²/n": round(sum(x * x for x in z) / len(z), 2), "mean <e>/e_exact − 1": f"{rel:+.2%}"})
    return pd.DataFrame(rows).set_index("side")


def _crossing(res: OffcriticalResult, small: int, large: int, method: str) -> Crossing | None:
    return next((c for c in res.crossings if (c.L_small, c.L_large, c.method) == (small, large, method)), None)


def crossings(mc: OffcriticalResult, dreamed: Dreamed) -> pd.DataFrame:
    """Binder crossings of neighbouring sizes, both methods, MC and every scheme, against the exact K_c; "no sign
    change" where U4(L) − U4(L/2) keeps its sign over the grid (interpolated) or the reweighting range
    (reweighted), so there is no crossing to locate (the reason in full is the crossing's ``note``)."""
    rows = []
    for c in mc.crossings:
        row: dict[str, Any] = {"pair": f"({c.L_small}, {c.L_large})", "method": c.method, "K_c exact": f"{K_C:.6f}"}
        for side, res in sides(mc, dreamed).items():
            got = _crossing(res, c.L_small, c.L_large, c.method)
            row[f"K* {side}"] = (_f(got.K) if got and got.K else "no sign change" if got else "—")
            row[f"({side} − exact)/σ"] = _z(got.K, K_C) if got else None
        rows.append(row)
    return pd.DataFrame(rows)


def exponent(mc: OffcriticalResult, dreamed: Dreamed) -> pd.DataFrame:
    """ν from dU4/dK ∝ L^{1/ν} at the coupling closest to K_c, and y_t = log₂ dK_eff/dK of the one-coupling flow,
    MC and every scheme, beside the exact ν = 1/y_t = 1."""
    rows = []
    for side, res in sides(mc, dreamed).items():
        f = res.nu
        rows.append({"side": side, "estimator": f"ν from dU4/dK at K/K_c = {f.K / K_C:.3f}, L = "
                                                f"{', '.join(map(str, f.sizes))} (χ²/dof = {f.chi2:.1f}/{f.dof})",
                     "value": _f(f.nu), "exact": 1, "(value − exact)/σ": _z(f.nu, 1.0)})
        slope = flow_exponent(res.flow)
        if slope is not None:
            # the flow projected on one coupling only approximates the thermal eigenvalue: no z against 1
            rows.append({"side": side, "estimator": f"y_t = log₂ dK_eff/dK at K_c (flow of L = {res.flow[0].L}, "
                                                    f"λ = {_f(slope[0])}; one-coupling projection, ≈ 1/ν)",
                         "value": _f(slope[1]), "exact": 1, "(value − exact)/σ": None})
    return pd.DataFrame(rows).set_index(["side", "estimator"])


def flow(mc: OffcriticalResult, dreamed: Dreamed) -> pd.DataFrame:
    """K_eff of the once-blocked configurations of the largest size against K, every scheme beside MC."""
    rows = []
    for f in mc.flow:
        row: dict[str, Any] = {"K/K_c": _ratio(f.K), "L → L/2": f"{f.L} → {f.L // 2}",
                               "K_eff/K_c MC": _f(_scaled(f.K_eff))}
        for side, res in list(sides(mc, dreamed).items())[1:]:
            g = next((x for x in res.flow if x.K == f.K), None)
            row[f"K_eff/K_c {side}"] = _f(_scaled(g.K_eff)) if g else "no configurations kept"
            row[f"({side} − MC)/σ"] = _dz(f.K_eff, g.K_eff) if g else None
        rows.append(row)
    return pd.DataFrame(rows)


def _scaled(est: Estimate) -> Estimate:
    return Estimate(est.value / K_C, est.error / K_C)


def schedules(dreamed: Dreamed) -> pd.DataFrame:
    """The couplings every scheme asks of the model in its dream to the largest size, per target K:
    t = K/K_c − 1 requested at each level (from the first upscaling), how many were clipped to the trained
    range, and the start."""
    rows = []
    for side in dreamed.values():
        for plan in side.plans:
            req, used = plan["t_levels"], plan["t_used"]
            clipped = sum(a != b for a, b in zip(req, used))
            start = "one spin" if side.L0 == 1 else f"MC L={side.L0} at K/K_c = {1 + _t_start(plan):.3f}"
            rows.append({"scheme": label(side), "K/K_c": _ratio(plan["K"]), "start": start,
                         "t requested per level": " ".join(f"{x:+.2f}" for x in req),
                         "clipped levels": f"{clipped} of {len(req)}",
                         "trained t range": "[{:+.2f}, {:+.2f}]".format(*plan["t_range"])})
    return pd.DataFrame(rows)


def _t_start(plan: dict) -> float:
    """t of the start level (level 0) of a plan: the first level's t times 2^{y_t} (flow) or t (naive)."""
    if plan["schedule"] == "naive":
        return plan["t"]
    return max(plan["t_levels"][0] * 2.0 ** plan["y_t"], -1.0 + 1e-3)


def _with_z(est: Estimate, ref: Estimate) -> str:
    return f"{_f(est)} ({_dz(ref, est):+.1f} σ)"


def range_table(test: RangeTest, mc: OffcriticalResult) -> pd.DataFrame:
    """The flow scheme from one spin at size ``test.L``, trained on the section's couplings ("narrow") and on
    a wider range ("wide"): clipped levels, U4 and ⟨|m|⟩ with (dreamed − MC)/σ, ⟨e⟩ with
    (dreamed − exact)/σ."""
    rows = []
    for a, b, ca, cb in zip(test.narrow, test.wide, test.clipped_narrow, test.clipped_wide):
        ref = mc.point(a.K, test.L)
        n_up = test.L.bit_length() - 1
        rows.append({"K/K_c": _ratio(a.K), "clipped narrow": f"{ca} of {n_up}", "clipped wide": f"{cb} of {n_up}",
                     "U4 MC": _f(ref.U4), "U4 narrow": _with_z(a.U4, ref.U4), "U4 wide": _with_z(b.U4, ref.U4),
                     "<|m|> MC": _f(ref.abs_m), "<|m|> narrow": _with_z(a.abs_m, ref.abs_m),
                     "<|m|> wide": _with_z(b.abs_m, ref.abs_m), "<e> exact": f"{a.e_exact:.5f}",
                     "<e> narrow": f"{_f(a.e)} ({a.z_e:+.0f} σ)", "<e> wide": f"{_f(b.e)} ({b.z_e:+.0f} σ)"})
    return pd.DataFrame(rows)


def range_quotes(test: RangeTest, mc: OffcriticalResult) -> dict[str, str]:
    """Quoted numbers of the wider-range test: its couplings, the median |z| of U4 against MC per range, and how
    well degree 2 fits the wide range."""
    out = {"off_range_L": str(test.L), "off_range_lo": f"{min(test.wide_permille) / 1000:.2f}",
           "off_range_hi": f"{max(test.wide_permille) / 1000:.2f}"}
    for name, pts in (("narrow", test.narrow), ("wide", test.wide)):
        for obs in ("U4", "abs_m"):
            z = sorted(abs(_dz(getattr(mc.point(p.K, test.L), obs), getattr(p, obs))) for p in pts)
            out[f"off_range_{name}_{obs}"] = f"{z[len(z) // 2]:.0f}"
        e = sorted(abs(p.z_e) for p in pts)
        out[f"off_range_{name}_e"] = f"{e[len(e) // 2]:.0f}"
    d2 = next((d for d in test.degrees.degrees if d.degree == 2), None)
    if d2 is not None:
        out["off_range_deg2_worst"] = f"{d2.worst_z:.1f}"
        out["off_range_deg2_share"] = f"{d2.share_within_2:.0%}"
    return out


def largest_pair(res: OffcriticalResult, method: str = "reweighted") -> Crossing | None:
    """The crossing of the two largest sizes by ``method``."""
    return max((c for c in res.crossings if c.method == method), key=lambda c: c.L_large, default=None)


def _crossing_K(method: str):
    def get(res: OffcriticalResult) -> Estimate | None:
        c = largest_pair(res, method)
        return c.K if c else None
    return get


def _flow_yt(res: OffcriticalResult) -> Estimate | None:
    got = flow_exponent(res.flow)
    return got[1] if got else None


def agreement(mc: OffcriticalResult, res: OffcriticalResult, name: str, where=None) -> tuple[float, float]:
    """(share of the common (K, L) where the observable lies within :data:`AGREE` σ of MC, the worst |z|);
    ``where(K)`` selects couplings (default all)."""
    z = [_dz(getattr(p, name), getattr(q, name)) for p in mc.points
         if (where is None or where(p.K)) and (q := _point(res, p.K, p.L))]
    z = [abs(x) for x in z if x is not None]
    return (sum(x <= AGREE for x in z) / len(z), max(z)) if z else (math.nan, math.nan)


def verdict(mc: OffcriticalResult, dreamed: Dreamed) -> pd.DataFrame:
    """The chapter's verdict in one table: K_c, ν, y_t, the energy test and the agreement of U4 and ⟨|m|⟩ with
    MC, for MC and every scheme, with (x − exact)/σ (or (x − MC)/σ where nothing exact exists)."""
    all_sides = sides(mc, dreamed)
    pair = largest_pair(mc)
    name = f"({pair.L_small}, {pair.L_large})" if pair else ""
    quantities = [(f"K_c: Binder crossing {name}, reweighted", _crossing_K("reweighted"), K_C),
                  (f"K_c: Binder crossing {name}, interpolated", _crossing_K("interpolated"), K_C),
                  ("ν from dU4/dK ∝ L^{1/ν}", lambda res: res.nu.nu, 1.0),
                  ("y_t of the one-coupling flow (≈ 1/ν; z against MC)", _flow_yt, None)]
    rows = []
    for quantity, get, exact in quantities:
        row: dict[str, Any] = {"quantity": quantity, "exact": "—" if exact is None else f"{exact:.6g}"}
        ref = get(mc)
        for side, res in all_sides.items():
            est = get(res)
            z = _z(est, exact) if exact is not None else (None if side == "MC" else _dz(ref, est))
            row[side] = _f(est) + ("" if z is None else f" ({z:+.1f} σ)")
        rows.append(row)
    row = {"quantity": f"worst |<e> − e_exact|/σ (share within 2 σ)", "exact": "0"}
    for side, res in all_sides.items():
        share = sum(abs(p.z_e) <= AGREE for p in res.points) / len(res.points)
        row[side] = f"{worst_energy(res)[0]:.1f} ({share:.0%})"
    rows.append(row)
    for obs in ("U4", "abs_m"):
        row = {"quantity": f"{OBSERVABLES[obs]}: share of (K, L) within 2 σ of MC (worst |z|)", "exact": "—",
               "MC": "—"}
        for side, res in list(all_sides.items())[1:]:
            share, worst = agreement(mc, res, obs)
            row[side] = f"{share:.0%} ({worst:.0f})"
        rows.append(row)
    return pd.DataFrame(rows).set_index("quantity")


def _side_quotes(res: OffcriticalResult, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, method in (("Kc", "reweighted"), ("Kc_interp", "interpolated")):
        c = largest_pair(res, method)
        out[f"{prefix}_{key}"] = _f(c.K) if c and c.K else "none found"
        z = _z(c.K, K_C) if c and c.K else None
        out[f"{prefix}_{key}_z"] = f"{z:+.1f}" if z is not None else "—"
    out[f"{prefix}_nu"] = _f(res.nu.nu)
    z = _z(res.nu.nu, 1.0)
    out[f"{prefix}_nu_z"] = f"{z:+.1f}" if z is not None else "—"
    slope = flow_exponent(res.flow)
    out[f"{prefix}_yt"] = _f(slope[1]) if slope else "—"
    worst, K, L = worst_energy(res)
    out[f"{prefix}_worst_z"] = f"{worst:.1f}"
    out[f"{prefix}_worst_at"] = f"K/K_c = {K / K_C:.3f}, L = {L}"
    return out


def _judged(name: str, z: float | None) -> str:
    if z is None:
        return f"{name}: no estimate"
    return f"{name} {'agrees' if abs(z) <= AGREE else 'differs'} ({z:+.1f} σ)"


def dreamed_verdict(mc: OffcriticalResult, side: DreamedSide) -> str:
    """One sentence judging a scheme: each test agrees when |z| ≤ 2 (against exact; against MC for the flow,
    U4 and ⟨|m|⟩). K_c is judged by the interpolated crossing, which needs no Boltzmann weights; the reweighted
    crossing and ν (fluctuation formula) assume them, so they also test whether the dreams have that form."""
    res = side.result
    interp, rew = largest_pair(res, "interpolated"), largest_pair(res, "reweighted")
    z = [p.z_e for p in res.points]
    rel = sum(p.e.value / p.e_exact - 1 for p in res.points) / len(z)
    u4, m = agreement(mc, res, "U4"), agreement(mc, res, "abs_m")
    z_rew = _z(rew.K, K_C) if rew and rew.K else None
    parts = [_judged("K_c from the interpolated crossing against the exact value",
                     _z(interp.K, K_C) if interp and interp.K else None)
             + ("" if z_rew is None else f", the reweighted one {z_rew:+.1f} σ"),
             _judged("ν against 1", _z(res.nu.nu, 1.0)),
             _judged("the flow's y_t against Monte Carlo's", _dz(_flow_yt(mc), _flow_yt(res))),
             f"U4 lies within 2 σ of Monte Carlo at {u4[0]:.0%} of the (K, L) (worst {u4[1]:.0f} σ), "
             f"⟨|m|⟩ at {m[0]:.0%} (worst {m[1]:.0f} σ)",
             f"the energy is within 2 σ of Kaufman's at {sum(abs(x) <= AGREE for x in z)} of {len(z)} (K, L), "
             f"worst {max(abs(x) for x in z):.0f} σ, on average {rel:+.1%}"]
    return f"{label(side)}: " + "; ".join(parts) + "."


#: the quotes' prefix of each scheme
PREFIX = {"naive": "off_naive", "flow": "off_flow", "flow-mc": "off_mcs"}


def _span(res: OffcriticalResult, name: str) -> str:
    """An observable at the largest size from the smallest to the largest coupling, with errors."""
    L, Ks = max(res.sizes), res.couplings
    lo, hi = res.point(Ks[0], L), res.point(Ks[-1], L)
    return (f"{_f(getattr(lo, name))} at K/K_c = {Ks[0] / K_C:.2f} to {_f(getattr(hi, name))} at "
            f"{Ks[-1] / K_C:.2f}")


def _ordered_example(mc: OffcriticalResult, side: DreamedSide) -> str:
    """⟨|m|⟩ of a scheme against MC at the first coupling above K_c and the second largest size, and whether
    any level of that dream was clipped to the trained range (flow schedule from the scheme's start size)."""
    above = [K for K in side.result.couplings if K > K_C]
    if not above or len(side.result.sizes) < 2:
        return "—"
    K, L = above[0], sorted(side.result.sizes)[-2]
    p, q = mc.point(K, L), side.result.point(K, L)
    t, (lo, hi) = K / K_C - 1, side.plans[0]["t_range"]
    levels = [t * L / Ll for Ll in (side.L0 * 2**i for i in range(1, L.bit_length())) if Ll <= L]
    clipped = "naive" != side.scheme and any(not lo <= x <= hi for x in levels)
    return (f"at K/K_c = {K / K_C:.2f} and L = {L} ({'some' if clipped else 'no'} level clipped) ⟨|m|⟩ = "
            f"{_f(q.abs_m)} against Monte Carlo's {_f(p.abs_m)} ({_dz(p.abs_m, q.abs_m):+.1f} σ)")


def quotes(mc: OffcriticalResult, dreamed: Dreamed, check: TrainingCheck,
           degrees: DegreeCheck | None = None) -> dict[str, Any]:
    """The numbers the chapter's prose quotes (``{glue:text}``), as text with their errors."""
    pair = largest_pair(mc)
    t_max = max(abs(K / K_C - 1) for K in mc.couplings)
    plans = [p for side in dreamed.values() for p in side.plans]
    out = {"off_Kc_exact": f"{K_C:.6f}", "off_points": str(len(mc.points)),
           "off_pair": f"({pair.L_small}, {pair.L_large})" if pair else "—",
           "off_window_small": f"{t_max * min(mc.sizes):.1f} at L = {min(mc.sizes)}",
           "off_window_large": f"{t_max * max(mc.sizes):.1f} at L = {max(mc.sizes)}",
           "off_bin_taus": str(MIN_BIN_TAUS), "off_L_max": str(max(mc.sizes)),
           "off_training_worst_z": f"{max(abs(p.z_e) for p in check.points):.1f}",
           "off_t_range": "[{:+.2f}, {:+.2f}]".format(*plans[0]["t_range"]) if plans else "—",
           "off_mc_u4_span": _span(mc, "U4"), "off_mc_m_span": _span(mc, "abs_m")}
    if degrees is not None:
        by = {d.degree: d for d in degrees.degrees}
        for d, fit in by.items():
            out[f"off_deg{d}_worst"] = f"{fit.worst_z:.1f}"
            out[f"off_deg{d}_share"] = f"{fit.share_within_2:.0%}"
            out[f"off_deg{d}_lr"] = f"{fit.lr_statistic:.0f}"
        if 1 in by and 2 in by:
            out["off_deg_dof"] = str(by[2].n_params - by[1].n_params)
    out |= _side_quotes(mc, "off_mc")
    for scheme, side in dreamed.items():
        prefix = PREFIX[scheme]
        out |= _side_quotes(side.result, prefix)
        out[f"{prefix}_verdict"] = dreamed_verdict(mc, side)
        out[f"{prefix}_u4_span"] = _span(side.result, "U4")
        out[f"{prefix}_m_span"] = _span(side.result, "abs_m")
        out[f"{prefix}_m_ordered_example"] = _ordered_example(mc, side)
        for obs in ("U4", "abs_m"):
            for name, where in (("dis", lambda K: K < K_C), ("crit", lambda K: K == K_C), ("ord", lambda K: K > K_C)):
                share, worst = agreement(mc, side.result, obs, where)
                out[f"{prefix}_{obs}_{name}"] = "—" if math.isnan(share) else f"{share:.0%} (worst {worst:.0f} σ)"
        crit = side.result.point(min(side.result.couplings, key=lambda K: abs(K - K_C)), max(side.result.sizes))
        out[f"{prefix}_e_crit"] = _f(crit.e)
        out["off_e_crit_exact"] = f"{crit.e_exact:.5f}"
        clipped = [(sum(a != b for a, b in zip(p["t_levels"], p["t_used"])), len(p["t_levels"]), p["K"])
                   for p in side.plans]
        worst = max(clipped)
        out[f"{prefix}_clipped"] = f"{worst[0]} of {worst[1]} levels (at K/K_c = {worst[2] / K_C:.2f})"
    return out
