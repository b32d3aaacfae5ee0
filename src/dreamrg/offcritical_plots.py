"""Figures of the chapter "Dreaming off criticality": MC (crosses, solid) beside each dreamed scheme.

Each function takes the MC side (:class:`~dreamrg.offcritical.OffcriticalResult`) and the
dreamed side (one :class:`~dreamrg.runs.offcritical.DreamedSide` per scheme) and returns a
figure in the book's style (:mod:`dreamrg.plotting`). Sizes are told apart by colour, the
same in every figure; where one panel holds every side, sides are told apart by colour and
marker (:data:`SIDE_COLORS`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from dreamrg.exact import K_C
from dreamrg.offcritical import OffcriticalResult
from dreamrg.offcritical_tables import Dreamed, label, sides
from dreamrg.plotting import COLUMN, PAGE, figure, style

#: how MC and a dreamed side are drawn beside each other
SIDE_STYLES = {"MC": dict(marker="x", ls="-", ms=5), "dreamed": dict(marker="o", ls="--", ms=4, mfc="none")}
#: colour and marker of every side where one panel holds them all
SIDE_COLORS = ("k", "tab:red", "tab:blue", "tab:green", "tab:purple")
SIDE_MARKERS = ("x", "o", "s", "^", "v")


def _side_style(i: int) -> dict:
    return dict(color=SIDE_COLORS[i % len(SIDE_COLORS)], marker=SIDE_MARKERS[i % len(SIDE_MARKERS)],
                mfc="none" if i else None, ms=4)


def size_colors(sizes) -> dict[int, tuple]:
    """One colour per size (viridis, small to large)."""
    sizes = sorted(sizes)
    return {L: plt.cm.viridis(i / max(1, len(sizes) - 1) * 0.85) for i, L in enumerate(sizes)}


def _size_legend(ax, sizes, **kwargs) -> None:
    colors = size_colors(sizes)
    handles = [Line2D([], [], color=colors[L], lw=1.5, label=f"L={L}") for L in sizes]
    handles += [Line2D([], [], color="k", label=side, **st) for side, st in SIDE_STYLES.items()]
    ax.legend(handles=handles, **kwargs)


def _curves(ax, res: OffcriticalResult, name: str, how: str, colors) -> None:
    for L in res.sizes:
        pts = [p for p in res.points if p.L == L]
        est = [getattr(p, name) for p in pts]
        ax.errorbar([p.K / K_C for p in pts], [e.value for e in est], yerr=[e.error for e in est],
                    color=colors[L], lw=1, **SIDE_STYLES[how])


def observables_vs_coupling(mc: OffcriticalResult, dreamed: Dreamed) -> Figure:
    """One row per dreamed scheme: (a) U4, (b) χ (log scale) and (c) ⟨|m|⟩ against K/K_c for every size,
    the scheme beside MC."""
    rows = list(dreamed.values())
    with style():
        fig, axes = figure(PAGE, 2.3 * len(rows), len(rows), 3)
        axes = np.asarray(axes).reshape(len(rows), 3)
        colors = size_colors(mc.sizes)
        for r, side in enumerate(rows):
            for c, (name, ylabel) in enumerate((("U4", r"$U_4$"), ("chi", r"$\chi$"),
                                                ("abs_m", r"$\langle|m|\rangle$"))):
                ax = axes[r, c]
                _curves(ax, mc, name, "MC", colors)
                _curves(ax, side.result, name, "dreamed", colors)
                ax.set_ylabel(f"({'abc'[c]}{r + 1}) {ylabel}")
                ax.set_title(f"dreamed: {label(side)}", fontsize=8)
                if name == "chi":
                    ax.set_yscale("log")
                if r == len(rows) - 1:
                    ax.set_xlabel(r"$K/K_c$")
        _size_legend(axes[0, 0], mc.sizes, fontsize=6)
        return fig


def energy_deviations(mc: OffcriticalResult, dreamed: Dreamed) -> Figure:
    """(⟨e⟩ − e_exact(K, L))/σ against K/K_c for every size and side (symmetric-log scale, ±2 shaded)."""
    with style():
        fig, ax = figure(COLUMN, 2.8)
        ax.axhspan(-2, 2, color="0.9", zorder=0)
        all_sides = sides(mc, dreamed)
        for i, (name, res) in enumerate(all_sides.items()):
            shift = 0.003 * (i - (len(all_sides) - 1) / 2)
            ax.plot([p.K / K_C + shift for p in res.points], [p.z_e for p in res.points], ls="none",
                    label=name, **_side_style(i))
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_yscale("symlog", linthresh=3)
        ax.set_xlabel(r"$K/K_c$")
        ax.set_ylabel(r"$(\langle e\rangle - e_{\rm exact})/\sigma$")
        ax.legend(fontsize=6)
        return fig


def slopes_and_crossings(mc: OffcriticalResult, dreamed: Dreamed) -> Figure:
    """(a) dU4/dK against L at the coupling closest to K_c with the fitted L^{1/ν}; (b) Binder crossings K*/K_c
    of the pairs (L/2, L) against L, reweighted (filled) and interpolated (squares), with the exact K_c."""
    with style():
        fig, (a, b) = figure(PAGE, 2.8, 1, 2)
        all_sides = sides(mc, dreamed)
        for i, (name, res) in enumerate(all_sides.items()):
            st = _side_style(i)
            pts = [res.point(res.nu.K, L) for L in res.nu.sizes]
            L = np.array(res.nu.sizes, dtype=float)
            y = np.array([p.dU4_dK.value for p in pts])
            a.errorbar(L, y, yerr=[p.dU4_dK.error for p in pts], ls="none", **st)
            slope = res.nu.inv_nu.value
            amp = np.exp(np.mean(np.log(np.abs(y)) - slope * np.log(L)))
            a.plot(L, amp * L**slope, color=st["color"], lw=1,
                   label=rf"{name}: $1/\nu$ = {res.nu.inv_nu.value:.3f}({round(res.nu.inv_nu.error * 1000)})")
            shift = 1 + 0.03 * i
            for method in ("reweighted", "interpolated"):
                cs = [c for c in res.crossings if c.method == method and c.K is not None]
                mst = dict(st, marker="s", mfc="none") if method == "interpolated" else st
                b.errorbar([c.L_large * shift for c in cs], [c.K.value / K_C for c in cs],
                           yerr=[c.K.error / K_C for c in cs], ls="none",
                           label=name if method == "reweighted" else None, **mst)
        b.axhline(1.0, color="gray", ls=":", label=r"exact $K_c$")
        for ax in (a, b):
            ax.set_xscale("log", base=2)
            ax.set_xticks(mc.sizes, [str(s) for s in mc.sizes])
            ax.minorticks_off()
            ax.set_xlabel(r"$L$")
        a.set_yscale("log")
        a.set_ylabel(rf"(a) $dU_4/dK$ at $K/K_c$ = {mc.nu.K / K_C:.3f}")
        b.set_ylabel(r"(b) crossing $K^*/K_c$ of $(L/2, L)$")
        a.legend(fontsize=6)
        b.legend(fontsize=6)
        return fig


def flow(mc: OffcriticalResult, dreamed: Dreamed) -> Figure:
    """K_eff/K_c of the once-blocked configurations against K/K_c, every side, with the line K_eff = K."""
    with style():
        fig, ax = figure(COLUMN, 2.8)
        x = np.array([f.K / K_C for f in mc.flow])
        ax.plot(x, x, color="gray", ls=":", lw=1, label=r"$K_{\rm eff}=K$")
        for i, (name, res) in enumerate(sides(mc, dreamed).items()):
            if not res.flow:
                continue
            ax.errorbar([f.K / K_C for f in res.flow], [f.K_eff.value / K_C for f in res.flow],
                        yerr=[f.K_eff.error / K_C for f in res.flow], lw=1, ls="-" if i == 0 else "--",
                        label=f"{name} (L={res.flow[0].L})", **_side_style(i))
        ax.set_xlabel(r"$K/K_c$")
        ax.set_ylabel(r"$K_{\rm eff}/K_c$ after one blocking")
        ax.legend(fontsize=6)
        return fig
