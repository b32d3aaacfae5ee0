"""Seed-spread checks of error bars, shared by the Monte Carlo chapter (against Kaufman's exact values), the FSS
chapter (Table II) and the MCRG chapter (Table IV).

The FSS and MCRG chapters dream the authors' released models with several independent seeds (the Monte Carlo
chapter runs both samplers with several seeds) and ask two questions of the
scatter (:func:`dreamrg.stats.seed_spread`): are the jackknife errors of one ensemble right (SD of the seeds
against the RMS jackknife σ, pooled over independent models with :func:`dreamrg.stats.pooled_ratio`), and does
the seeds' mean, a second estimate independent of the table's, agree with the paper? This module turns those
answers into table lines and prose; the chapters' table modules choose the grouping and the paper's statistics.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

from dreamrg.stats import SeedSpread, format_estimate, pooled_ratio
from dreamrg.verdicts import AGREE_Z, shown_z, z_score


def spread_row(s: SeedSpread, paper: str | None, ref: str = "paper") -> dict:
    """One line of a seed-spread table: the seeds' mean beside the paper's printed value, (mean − paper)/σ (combined
    σ), the SD of the seeds, the RMS of their errors, SD/σ with its error, χ²/dof and p; raw numbers in ``*_value``,
    ``*_err`` and ``p`` for the quotes. ``ref`` names the reference in the column names (``"exact"`` for an exact
    value printed to many digits, whose σ is then negligible)."""
    z = z_score(s.mean, s.mean_err, paper)
    return {"mean": format_estimate(s.mean, s.mean_err), ref: paper,
            f"(mean − {ref})/σ": shown_z(z), "SD of seeds": f"{s.sd:.2g}",
            "RMS jackknife σ": f"{s.rms_err:.2g}", "SD/σ": f"{s.ratio:.2f} ± {s.ratio_err:.2f}",
            "χ²/dof": f"{s.chi2:.1f}/{s.dof}", "p": round(s.p_value, 3),
            "mean_value": s.mean, "mean_err": s.mean_err, "ratio_value": s.ratio, "ratio_err": s.ratio_err,
            "chi2_value": s.chi2, "dof_value": s.dof, "rms_value": s.rms_err}


def pooled(rows: pd.DataFrame) -> tuple[float, float, float]:
    """SD/σ pooled over the lines ``rows`` of independent dreams, with its error and the χ² p-value; NaNs if none."""
    if not len(rows):
        return math.nan, math.nan, math.nan
    return pooled_ratio(rows["ratio_value"], rows["dof_value"], rows["chi2_value"])


def ratio_reading(R: float, R_err: float) -> str:
    """How a pooled SD/σ reads: ``"too small"`` (more than 2σ of the ratio above 1: the jackknife errors are smaller
    than the seeds' scatter), ``"conservative"`` (more than 2σ below 1), ``"stand"``, or ``"none"`` if not finite."""
    if not (math.isfinite(R) and math.isfinite(R_err)):
        return "none"
    if R - 1 > 2 * R_err:
        return "too small"
    if 1 - R > 2 * R_err:
        return "conservative"
    return "stand"


def means_text(rows: pd.DataFrame, *, configs: int, paper_configs: int | None, table: str,
               label: Callable[[object], str], ref: str = "paper") -> str:
    """How the seeds' means compare with ``table`` (e.g. "the paper's Table II"): how many agree (|z| ≤
    :data:`AGREE_Z`, combined σ) and, for each that does not, ``label(row)``, its z and, if ``paper_configs`` is
    given, the z with the paper's own statistical error added.

    The paper prints no statistical error for these numbers; it is estimated as our RMS jackknife σ scaled from
    ``configs`` to the paper's ``paper_configs`` dreamed configurations (or chains) per model. ``ref``: the column
    of the reference values (:func:`spread_row`).
    """
    rows = rows.dropna(subset=["mean_value"])
    rows = rows[rows[ref].notna()]
    if not len(rows):
        return f"none of them has a value of {table} to compare with"
    refs = list(rows[ref])
    z = [z_score(r.mean_value, r.mean_err, x) for r, x in zip(rows.itertuples(), refs)]
    off = [(r, zi, x) for r, zi, x in zip(rows.itertuples(), z, refs) if abs(zi) > AGREE_Z]
    text = f"{len(rows) - len(off)} of {len(rows)} agree with {table} within {AGREE_Z:g}σ"
    if not off:
        return text
    if paper_configs is None:
        return text + "; beyond it: " + ", ".join(f"{label(r)} (z = {zi:+.1f})" for r, zi, _ in off)
    scale = math.sqrt(configs / paper_configs)
    parts = []
    for r, zi, x in off:
        own = r.rms_value * scale
        z_own = z_score(r.mean_value, math.hypot(r.mean_err, own), x)
        parts.append(f"{label(r)} (z = {zi:+.1f}; z = {z_own:+.1f} with the paper's own statistical error added: it "
                     f"prints none, but at its {paper_configs:,} dreamed samples our jackknife puts it near {own:.2g})")
    return text + "; beyond it: " + ", ".join(parts)


def paper_own_error(rows: pd.DataFrame, *, configs: int, paper_configs: int) -> float:
    """The median over ``rows`` of the paper's own statistical error, estimated as in :func:`means_text`."""
    return float(rows["rms_value"].median() * math.sqrt(configs / paper_configs)) if len(rows) else math.nan


def estimate_or_na(value: float, error: float) -> str:
    """A value with its error as printed ("1.23(4)"), ``"n/a"`` if either is not finite (e.g. a pooled ratio
    over no lines)."""
    return format_estimate(value, error) if math.isfinite(value) and math.isfinite(error) else "n/a"


def seeds_columns(seeds: int, configs: int, unit: str = "configs") -> dict:
    """The columns naming a line's statistics: ``"seeds × {unit}"`` as printed and ``configs_value`` (the number
    per seed, raw, for the quotes; :func:`configs_of`)."""
    return {f"seeds × {unit}": f"{seeds} × {configs}", "configs_value": int(configs)}


def configs_of(spread: pd.DataFrame) -> int:
    """The configurations (or chains) per seed of a seed-spread table built with :func:`seeds_columns`."""
    return int(spread["configs_value"].iloc[0])
