"""Plotting: the book's figures, drawn from typed results.

Single-panel helpers take a matplotlib ``Axes`` and draw on it; the multi-panel
figures of the paper (:func:`fig5`, :func:`fig6`, :func:`fig10`, :func:`fig11`, ...)
create their figure and return it. Every model is drawn in one style throughout the
book, :func:`model_style`: colour by kernel size, line style by weighting (and depth),
marker by source and depth; Monte Carlo is :data:`MC_STYLE`.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure

from dreamrg import models, sampler
from dreamrg.experiments import ModelId
from dreamrg.fss import log_pdf_ratio
from dreamrg.mcrg import MCRGResult
from dreamrg.observables import MHistogram, SizeSummary
from dreamrg.paper_values import EXACT, EXACT_RG
from dreamrg.runs.mcrg import DreamedMCRG, IllConditioned, IrrepRun
from dreamrg.runs.summaries import DreamSummary

#: colour of each kernel size (others: gray)
K_COLORS = {3: "tab:blue", 5: "tab:orange", 7: "tab:green", 9: "tab:red"}
#: line style by (depth, weighted)
LINE_STYLES = {(1, False): "-", (1, True): "--", (2, False): ":", (2, True): "-."}
#: marker by (source, depth)
MARKERS = {("ours", 1): "o", ("authors", 1): "s", ("ours", 2): "^", ("authors", 2): "v"}
#: markers of the exact optima, by training-set lattice size L_t (others: "X")
EXACT_MARKERS = {16: "P", 32: "D", 64: "p", 128: "*"}
#: the Monte Carlo reference
MC_STYLE = dict(color="k", marker="x", ls="none", ms=8)


def _lighter(color: str, amount: float) -> str:
    """``color`` mixed with white (``amount`` 0: unchanged, 1: white)."""
    if amount <= 0:
        return color
    rgb = np.array(to_rgb(color))
    return to_hex(rgb + (1.0 - rgb) * amount)


def model_style(mid: ModelId) -> dict:
    """Matplotlib keywords of one model, the same in every figure.

    Colour by k (:data:`K_COLORS`); line style by weighting, dotted variants for the
    two-layer networks (:data:`LINE_STYLES`); marker by source and depth
    (:data:`MARKERS`), the authors' models faded. The exact optima of the training-size
    study (``method="exact"``) differ only in their training set: marker by L_t
    (:data:`EXACT_MARKERS`) and the k colour lightened by a quarter per decade of M below 10^6.
    """
    color = K_COLORS.get(mid.k, "gray")
    style = dict(ls=LINE_STYLES[mid.depth, mid.weighted], marker=MARKERS[mid.source, mid.depth], ms=3)
    if mid.method == "exact":
        color = _lighter(color, float(np.clip(0.25 * (6 - np.log10(mid.M)), 0, 0.85)))
        style["marker"] = EXACT_MARKERS.get(mid.L_t, "X")
    if mid.source == "authors":
        style["alpha"] = 0.5
    return style | {"color": color}


# ----------------------------------------------------------------------------- building blocks
def observable_vs_size(ax: Axes, summaries: dict[int, SizeSummary], name: str, *, label: str | None = None,
                       marker: str = "o", **kwargs) -> None:
    """Error-bar plot of observable ``name`` against L from per-size summaries."""
    sizes = sorted(summaries)
    vals = np.array([summaries[L].observable(name).value for L in sizes])
    errs = np.array([summaries[L].observable(name).error for L in sizes])
    ax.errorbar(sizes, vals, yerr=errs, marker=marker, label=label, capsize=2, **kwargs)
    ax.set_xlabel("$L$")


def log_pdf(ax: Axes, hist: MHistogram, *, label: str | None = None, **kwargs) -> None:
    """ln P(x)/P(0) against x = m L^{1/8} with Poisson error bars."""
    x, y, dy = log_pdf_ratio(hist)
    ax.errorbar(x, y, yerr=dy, label=label, capsize=0, **kwargs)
    ax.set_xlabel(r"$m\,L^{1/8}$")
    ax.set_ylabel(r"$\ln P_L(m)/P_L(0)$")


def spins(ax: Axes, config: np.ndarray, title: str | None = None) -> None:
    """Show one ±1 configuration as black/white pixels."""
    ax.imshow(config, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


def mark_sizes(ax: Axes, sizes: Sequence[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(sizes), [str(s) for s in sizes])


def dreamed_vs_size(ax: Axes, dreamed: dict[ModelId, DreamSummary], mc: dict[int, SizeSummary], sizes: Sequence[int],
                    name: str) -> None:
    """Observable ``name`` of every dreamed model (:func:`model_style`) and of MC at ``sizes``, log-2 axis."""
    for mid, d in dreamed.items():
        observable_vs_size(ax, {L: d.sizes[L] for L in sizes}, name, label=mid.label, **model_style(mid))
    observable_vs_size(ax, {L: s for L, s in mc.items() if L in sizes}, name, label="MC", **MC_STYLE)
    mark_sizes(ax, sizes)


def _panels(n: int, width: float, height: float, **kwargs) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(1, n, figsize=(width, height), **kwargs)
    return fig, np.atleast_1d(axes)


# ----------------------------------------------------------------------------- the Monte Carlo chapter
def mc_observables(mc: dict[int, SizeSummary], sizes: Sequence[int]) -> Figure:
    """χ, c_me, c and U4 of the MC ensembles against L (U4(∞) dashed)."""
    fig, axes = _panels(4, 15, 3.4)
    for ax, name, title in zip(axes, ("chi", "c_me", "c", "U4"), (r"$\chi$", r"$c_{me}$", r"$c$", r"$U_4$")):
        observable_vs_size(ax, mc, name, label="MC (Swendsen–Wang)", color="k", marker="x", ls="none")
        mark_sizes(ax, sizes)
        ax.set_title(title)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[3].axhline(EXACT["U4_infinity"], color="gray", ls="--", label=r"$U_4(\infty)=0.61069$")
    axes[3].legend(fontsize=8)
    fig.tight_layout()
    return fig


def mc_log_pdfs(ax: Axes, mc: dict[int, SizeSummary]) -> None:
    """ln P_L(m)/P_L(0) of every MC size against m L^{1/8}."""
    for L, s in mc.items():
        log_pdf(ax, s.hist, label=f"L={L}", marker=".", ms=3, lw=0.8)
    ax.set_ylim(bottom=-6)
    ax.legend(fontsize=8)


# ----------------------------------------------------------------------------- the training chapter
def training_curves(fits: dict[ModelId, torch.nn.Module]) -> Figure:
    """The paper's Fig. 3: loss per spin against epoch of the AdamW models of ``fits`` (training solid,
    validation dashed), one panel per weighting."""
    fig, axes = _panels(2, 11, 3.6, sharey=False)
    for ax, weighted in zip(axes, (False, True)):
        for mid, m in fits.items():
            if mid.method != "adamw" or mid.weighted != weighted:
                continue
            h, color = m.meta["history"], model_style(mid)["color"]
            ax.plot(h["epoch"], np.array(h["train_loss"]) / mid.L_t ** 2, color=color, label=f"k={mid.k} training")
            ax.plot(h["epoch"], np.array(h["valid_loss"]) / mid.L_t ** 2, ls="--", color=color,
                    label=f"k={mid.k} validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss per spin (nats)")
        ax.set_title("weighted (eq. 13)" if weighted else "unweighted (eq. 12)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def kernels(fits: dict[ModelId, torch.nn.Module]) -> Figure:
    """The full k×k kernel W of every exact optimum of ``fits``: one column per k, unweighted above weighted."""
    exact = {mid: m for mid, m in fits.items() if mid.method == "exact"}
    ks = sorted({mid.k for mid in exact})
    fig, axes = plt.subplots(2, len(ks), figsize=(3.2 * len(ks), 6), squeeze=False)
    for mid, m in exact.items():
        ax = axes[int(mid.weighted), ks.index(mid.k)]
        im = ax.imshow(models.symmetric_kernel(m.params.detach(), mid.k).numpy(), cmap="RdBu_r", vmin=-0.4, vmax=0.4)
        ax.set_title(f"k={mid.k}, {'weighted' if mid.weighted else 'unweighted'}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.7, label="$W$")
    return fig


# ----------------------------------------------------------------------------- the dreaming chapter
def chain(levels: Sequence[np.ndarray]) -> Figure:
    """The paper's Fig. 4: every level of one dreamed chain."""
    fig, axes = _panels(len(levels), 2.0 * len(levels), 2.3)
    for ax, s in zip(axes, levels):
        spins(ax, s, title=f"{s.shape[0]}×{s.shape[0]}")
    fig.tight_layout()
    return fig


def patch_probabilities(ax: Axes, model: torch.nn.Module) -> None:
    """p(σ=+1|μ) of the top-left fine spin of a block for each of the 16 coarse 2×2 patches of a k=3 model,
    patches ordered by their sum."""
    table = sampler.probability_table(model)            # (4 positions, 16 patterns)
    patterns = np.array([[(code >> b) & 1 for b in range(4)] for code in range(16)]) * 2 - 1
    order = np.argsort(patterns.sum(axis=1), kind="stable")
    ax.bar(range(16), table[0, order], color="tab:blue")
    ax.set_xticks(range(16), ["".join("+" if v > 0 else "−" for v in patterns[c]) for c in order], rotation=60,
                  fontsize=8)
    ax.set_ylabel(r"$p(\sigma=+1\,|\,\mu)$")
    ax.set_xlabel("coarse 2×2 patch (row-major)")
    ax.axhline(0.5, color="gray", lw=0.8)


# ----------------------------------------------------------------------------- the FSS chapter
def fig5(dreamed: dict[ModelId, DreamSummary], mc: dict[int, SizeSummary], sizes: Sequence[int]) -> Figure:
    """The paper's Fig. 5: χ, c_me and c of every dreamed model and of MC against L."""
    fig, axes = _panels(3, 15, 4)
    for ax, name, title in zip(axes, ("chi", "c_me", "c"), (r"(a) $\chi$", r"(b) $c_{me}$", r"(c) $c$")):
        dreamed_vs_size(ax, dreamed, mc, sizes, name)
        ax.set_title(title)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[2].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig


def fig6(by_size: dict[ModelId, DreamSummary], mc: dict[int, SizeSummary], sizes: Sequence[int]) -> Figure:
    """The paper's Fig. 6: c against L of the exact optima of every training set, one panel per k, with MC."""
    ks = sorted({mid.k for mid in by_size})
    fig, axes = _panels(len(ks), 5 * len(ks), 3.6, sharey=True)
    for ax, k in zip(axes, ks):
        for mid, d in by_size.items():
            if mid.k == k:
                observable_vs_size(ax, {L: d.sizes[L] for L in sizes}, "c", label=f"$L_t$={mid.L_t}, M={mid.M}",
                                   **model_style(mid))
        observable_vs_size(ax, {L: s for L, s in mc.items() if L in sizes}, "c", label="MC", **MC_STYLE)
        mark_sizes(ax, sizes)
        ax.set_title(f"k={k}")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("$c$")
    fig.tight_layout()
    return fig


def fig7(ax: Axes, dreamed: dict[ModelId, DreamSummary], mc: dict[int, SizeSummary], sizes: Sequence[int]) -> None:
    """The paper's Fig. 7: the Binder ratio U4 of every dreamed model and of MC against L, with U4(∞)."""
    dreamed_vs_size(ax, dreamed, mc, sizes, "U4")
    ax.axhline(EXACT["U4_infinity"], color="gray", ls=":", label="0.61069")
    ax.set_ylabel("$U_4$")
    ax.legend(fontsize=6, ncol=2)


# ----------------------------------------------------------------------------- the PDF-collapse chapter
def fig8(ax: Axes, mid: ModelId, dreamed: DreamSummary, mc: dict[int, SizeSummary], L_final: int) -> None:
    """The paper's Fig. 8: ln P/P(0) of one model's dreamed sizes ≥ L_final/4 (one chain from L0=1), and MC."""
    for L in [L for L in dreamed.sizes if L >= L_final // 4]:
        log_pdf(ax, dreamed.sizes[L].hist, label=f"dreamed L={L}", marker="o", ms=3, lw=0.8)
    if L_final in mc:
        log_pdf(ax, mc[L_final].hist, label=f"MC L={L_final}", color="k", marker="x", ls="none")
    ax.set_ylim(bottom=-6)
    ax.legend(fontsize=8)
    ax.set_title(f"k={mid.k}, {'weighted' if mid.weighted else 'unweighted'}, from $L_0=1$")


def fig9(ax: Axes, from_mc: dict[ModelId, DreamSummary], from_one: dict[ModelId, DreamSummary],
         mc: dict[int, SizeSummary], L_final: int, L0: int) -> None:
    """The paper's Fig. 9: ln P/P(0) at L_final of each model started from MC at L0 (squares) and from one
    spin (circles, dotted), and MC."""
    for mid, d in from_mc.items():
        color = model_style(mid)["color"]
        log_pdf(ax, d.sizes[L_final].hist, label=f"k={mid.k}, $L_0$={L0}", marker="s", ms=3, lw=0.8, color=color)
        log_pdf(ax, from_one[mid].sizes[L_final].hist, label=f"k={mid.k}, $L_0$=1", marker="o", ms=3, lw=0.8,
                ls=":", color=color)
    if L_final in mc:
        log_pdf(ax, mc[L_final].hist, label=f"MC L={L_final}", color="k", marker="x", ls="none")
    ax.set_ylim(bottom=-6)
    ax.legend(fontsize=7)
    ax.set_title(f"L={L_final}")


# ----------------------------------------------------------------------------- the MCRG chapter
_FIG10 = (("y_t", r"(a) $y_t=1/\nu$"), ("y_h", r"(b) $y_h$"), ("y_r1", "(c) redundant"), ("omega", r"(d) $\omega$"))


def fig10(dreamed: dict[ModelId, DreamedMCRG | IllConditioned], ref: MCRGResult) -> Figure:
    """The paper's Fig. 10: y_t, y_h, the redundant exponent and ω of every dreamed model (the ill-conditioned
    ones left out), with MC at the same size as a band and the exact values dotted."""
    ok = {mid: r.result for mid, r in dreamed.items() if not isinstance(r, IllConditioned)}
    fig, axes = _panels(4, 16, 4)
    for ax, (key, title) in zip(axes, _FIG10):
        for x, (mid, r) in enumerate(ok.items()):
            style = model_style(mid)
            ax.errorbar([x], [getattr(r, key)], yerr=[getattr(r, key + "_err")], ls="none", capsize=3,
                        marker=style["marker"], color=style["color"], alpha=style.get("alpha", 1.0))
        v, e = getattr(ref, key), getattr(ref, key + "_err")
        ax.axhspan(v - e, v + e, color="gray", alpha=0.3, label=f"MC L={ref.L_fine}")
        if key in EXACT_RG:
            ax.axhline(EXACT_RG[key], color="k", ls=":", label="exact")
        ax.set_xticks(range(len(ok)), [mid.label for mid in ok], rotation=70, fontsize=7)
        ax.set_title(title)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def _mc_third(mc: dict[int, IrrepRun | IllConditioned], L: int) -> tuple[float, float] | None:
    """Third exponent (and error) of the first MC blocking step whose fine size is ``L``."""
    for res in mc.values():
        if isinstance(res, IllConditioned):
            continue
        for level in res.levels:
            if res.at(level)[0].L_fine == L:
                y3, e3, _ = res.third(level)
                return y3, e3
    return None


_CANDIDATES = (("third", "third of the full spectrum"), (("even", "B2", 0), "leading even $B_2$"),
               (("odd", "A1", 1), "second odd $A_1$"))


def anisotropy(ax: Axes, dreamed: dict[ModelId, IrrepRun | IllConditioned], mc: dict[int, IrrepRun | IllConditioned],
               L: int) -> None:
    """Per dreamed model (one blocking of size ``L``): the third exponent of the full spectrum, the leading even
    B2 and the second odd A1 exponent; MC's third exponent at the same fine size as a band."""
    ok = {mid: r for mid, r in dreamed.items() if not isinstance(r, IllConditioned) and np.isfinite(r.third()[0])}
    x = np.arange(len(ok))
    for shift, (what, label) in zip((-0.2, 0.0, 0.2), _CANDIDATES):
        ys = [r.third()[:2] if what == "third" else _rank(r.get(*what[:2]), what[2]) for r in ok.values()]
        ax.errorbar(x + shift, [y for y, _ in ys], yerr=[e for _, e in ys], fmt="o", capsize=3, label=label)
    band = _mc_third(mc, L)
    if band:
        ax.axhspan(band[0] - band[1], band[0] + band[1], color="gray", alpha=0.3, label=f"MC L={L}, third")
    ax.axhline(0, color="k", ls=":", lw=1)
    ax.set_xticks(x, [mid.label for mid in ok], rotation=70, fontsize=7)
    ax.set_ylabel("$y$")
    ax.set_title(f"Anisotropy and redundant candidates, dreamed $L={L}$ (one blocking step)")
    ax.legend(fontsize=7)


def _rank(spectrum, i: int) -> tuple[float, float]:
    return float(spectrum.y[i]), float(spectrum.y_err[i])


# ----------------------------------------------------------------------------- the complexity chapter
def validation_curves(ax: Axes, networks: dict[ModelId, torch.nn.Module]) -> None:
    """Validation loss per spin against epoch of trained networks (their ``meta["history"]``)."""
    for mid, m in networks.items():
        h = m.meta["history"]
        ax.plot(h["epoch"], np.array(h["valid_loss"]) / mid.L_t ** 2, label=mid.label,
                color=model_style(mid)["color"], ls=model_style(mid)["ls"])
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss per spin")
    ax.legend(fontsize=7)


def fig11(single: dict[ModelId, DreamSummary], deep: dict[ModelId, DreamSummary], mc: dict[int, SizeSummary],
          sizes: Sequence[int]) -> Figure:
    """The paper's Fig. 11: c, χ and U4 of the single-layer and two-layer models and of MC against L."""
    fig, axes = _panels(3, 15, 4)
    for ax, name, title in zip(axes, ("c", "chi", "U4"), (r"$c$", r"$\chi$", r"$U_4$")):
        dreamed_vs_size(ax, single | deep, mc, sizes, name)
        ax.set_title(title)
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    return fig
