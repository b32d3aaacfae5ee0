"""Figures of the chapter "Dreaming off criticality": MC (crosses, solid) beside dreamed (circles, dashed).

Each function takes the MC side (:class:`~dreamrg.offcritical.OffcriticalResult`) and the
dreamed side (the same, or :class:`~dreamrg.experiments.Unavailable`, then MC alone is drawn
and the panel says so) and returns a figure in the book's style (:mod:`dreamrg.plotting`).
Sizes are told apart by colour, the same in every figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from dreamrg.exact import K_C
from dreamrg.experiments import Unavailable
from dreamrg.offcritical import OffcriticalResult
from dreamrg.plotting import COLUMN, PAGE, figure, style

Dreamed = OffcriticalResult | Unavailable
#: how each side is drawn
SIDE_STYLES = {"MC": dict(marker="x", ls="-", ms=5), "dreamed": dict(marker="o", ls="--", ms=4, mfc="none")}


def _sides(mc: OffcriticalResult, dreamed: Dreamed) -> dict[str, OffcriticalResult]:
    return {"MC": mc} | ({"dreamed": dreamed} if isinstance(dreamed, OffcriticalResult) else {})


def size_colors(sizes) -> dict[int, tuple]:
    """One colour per size (viridis, small to large)."""
    sizes = sorted(sizes)
    return {L: plt.cm.viridis(i / max(1, len(sizes) - 1) * 0.85) for i, L in enumerate(sizes)}


def _legend(ax, sizes, dreamed: Dreamed, **kwargs) -> None:
    colors = size_colors(sizes)
    handles = [Line2D([], [], color=colors[L], lw=1.5, label=f"L={L}") for L in sizes]
    handles += [Line2D([], [], color="k", label=side, **st) for side, st in SIDE_STYLES.items()
                if side == "MC" or isinstance(dreamed, OffcriticalResult)]
    ax.legend(handles=handles, **kwargs)


def _missing(ax, dreamed: Dreamed) -> None:
    if isinstance(dreamed, Unavailable):
        ax.text(0.98, 0.02, "dreamed: not available", transform=ax.transAxes, fontsize=7, color="gray", ha="right")


def observables_vs_coupling(mc: OffcriticalResult, dreamed: Dreamed) -> Figure:
    """(a) U4, (b) χ (log scale) and (c) ⟨|m|⟩ against K/K_c for every size."""
    with style():
        fig, axes = figure(PAGE, 2.6, 1, 3)
        colors = size_colors(mc.sizes)
        for ax, name, label in zip(axes, ("U4", "chi", "abs_m"), (r"(a) $U_4$", r"(b) $\chi$", r"(c) $\langle|m|\rangle$")):
            for side, res in _sides(mc, dreamed).items():
                for L in res.sizes:
                    pts = [res.point(K, L) for K in res.couplings]
                    est = [getattr(p, name) for p in pts]
                    ax.errorbar([p.K / K_C for p in pts], [e.value for e in est], yerr=[e.error for e in est],
                                color=colors[L], lw=1, **SIDE_STYLES[side])
            ax.set_xlabel(r"$K/K_c$")
            ax.set_ylabel(label)
            _missing(ax, dreamed)
        axes[1].set_yscale("log")
        _legend(axes[0], mc.sizes, dreamed, fontsize=7)
        return fig


def energy_deviations(mc: OffcriticalResult, dreamed: Dreamed) -> Figure:
    """(⟨e⟩ − e_exact(K, L))/σ against K/K_c for every size (±2 shaded)."""
    with style():
        fig, ax = figure(COLUMN, 2.6)
        colors = size_colors(mc.sizes)
        ax.axhspan(-2, 2, color="0.9", zorder=0)
        offsets = {"MC": -0.002, "dreamed": 0.002}
        for side, res in _sides(mc, dreamed).items():
            for L in res.sizes:
                pts = [res.point(K, L) for K in res.couplings]
                st = dict(SIDE_STYLES[side], ls="none")
                ax.plot([p.K / K_C + offsets[side] for p in pts], [p.z_e for p in pts], color=colors[L], **st)
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_xlabel(r"$K/K_c$")
        ax.set_ylabel(r"$(\langle e\rangle - e_{\rm exact})/\sigma$")
        _missing(ax, dreamed)
        _legend(ax, mc.sizes, dreamed, fontsize=6, ncol=2)
        return fig


def slopes_and_crossings(mc: OffcriticalResult, dreamed: Dreamed) -> Figure:
    """(a) dU4/dK against L at the coupling closest to K_c with the fitted L^{1/ν}; (b) Binder crossings K*/K_c
    of the pairs (L/2, L) against L, both methods, with the exact K_c."""
    with style():
        fig, (a, b) = figure(PAGE, 2.8, 1, 2)
        for side, res in _sides(mc, dreamed).items():
            st = dict(SIDE_STYLES[side], color="k" if side == "MC" else "tab:red")
            pts = [res.point(res.nu.K, L) for L in res.nu.sizes]
            L = np.array(res.nu.sizes, dtype=float)
            y = np.array([p.dU4_dK.value for p in pts])
            a.errorbar(L, y, yerr=[p.dU4_dK.error for p in pts], ls="none", label=side, **{k: v for k, v in st.items()
                                                                                         if k != "ls"})
            slope = res.nu.inv_nu.value
            amp = np.exp(np.mean(np.log(np.abs(y)) - slope * np.log(L)))
            a.plot(L, amp * L**slope, color=st["color"], ls=st["ls"], lw=1,
                   label=rf"{side}: $1/\nu$ = {res.nu.inv_nu.value:.3f}({round(res.nu.inv_nu.error * 1000)})")
            for method, marker in (("reweighted", st["marker"]), ("interpolated", "s")):
                cs = [c for c in res.crossings if c.method == method and c.K is not None]
                b.errorbar([c.L_large * (1.03 if method == "interpolated" else 1) for c in cs],
                           [c.K.value / K_C for c in cs], yerr=[c.K.error / K_C for c in cs], ls="none",
                           marker=marker, color=st["color"], mfc="none" if side == "dreamed" else None,
                           label=f"{side}, {method}")
        b.axhline(1.0, color="gray", ls=":", label=r"exact $K_c$")
        for ax in (a, b):
            ax.set_xscale("log", base=2)
            ax.set_xticks(mc.sizes, [str(s) for s in mc.sizes])
            ax.minorticks_off()
            ax.set_xlabel(r"$L$")
            _missing(ax, dreamed)
        a.set_yscale("log")
        a.set_ylabel(rf"(a) $dU_4/dK$ at $K/K_c$ = {mc.nu.K / K_C:.3f}")
        b.set_ylabel(r"(b) crossing $K^*/K_c$ of $(L/2, L)$")
        a.legend(fontsize=7)
        b.legend(fontsize=7)
        return fig


def flow(mc: OffcriticalResult, dreamed: Dreamed) -> Figure:
    """K_eff/K_c of the once-blocked configurations against K/K_c, with the line K_eff = K."""
    with style():
        fig, ax = figure(COLUMN, 2.8)
        x = np.array([f.K / K_C for f in mc.flow])
        ax.plot(x, x, color="gray", ls=":", lw=1, label=r"$K_{\rm eff}=K$")
        for side, res in _sides(mc, dreamed).items():
            if not res.flow:
                continue
            st = dict(SIDE_STYLES[side], color="k" if side == "MC" else "tab:red")
            ax.errorbar([f.K / K_C for f in res.flow], [f.K_eff.value / K_C for f in res.flow],
                        yerr=[f.K_eff.error / K_C for f in res.flow], lw=1, label=f"{side} (L={res.flow[0].L})", **st)
        ax.set_xlabel(r"$K/K_c$")
        ax.set_ylabel(r"$K_{\rm eff}/K_c$ after one blocking")
        _missing(ax, dreamed)
        ax.legend(fontsize=7)
        return fig
