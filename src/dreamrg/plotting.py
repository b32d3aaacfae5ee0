"""Plotting: the book's figures, drawn from typed results.

Single-panel helpers take a matplotlib ``Axes`` and draw on it; the multi-panel
figures of the paper (:func:`fig5`, :func:`fig6`, :func:`fig10`, :func:`fig11`, ...)
create their figure and return it. Every model is drawn in one style throughout the
book, :func:`model_style`: colour by kernel size, line style by weighting (and depth),
marker by source and depth; Monte Carlo is :data:`MC_STYLE`.

Figures follow the shipped style ``dreamrg.mplstyle`` (:func:`use_style`, :func:`style`):
one-column (:data:`COLUMN`, 3.4 in) or two-column (:data:`PAGE`, 7 in) wide, 8–9 pt
text at that size. :func:`glue_figure` saves a chapter's figure as PNG, SVG and PDF in
``<repo>/_build/figures/<chapter>/`` and glues it for a ``{glue:figure}`` directive,
shown in the HTML at its printed size.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from dreamrg import models, sampler
from dreamrg.experiments import ModelId
from dreamrg.fss import log_pdf_ratio
from dreamrg.mcrg import MCRGResult
from dreamrg.observables import MHistogram, SizeSummary
from dreamrg.paper_values import EXACT, EXACT_RG
from dreamrg.paths import repo_root
from dreamrg.runs.mcrg import DreamedMCRG, IllConditioned, IrrepRun
from dreamrg.runs.summaries import DreamSummary

#: the shipped matplotlib style
STYLE = Path(__file__).with_name("dreamrg.mplstyle")
#: width of a one-column figure (inches), as in the paper
COLUMN = 3.4
#: width of a two-column figure (inches)
PAGE = 7.0
#: resolution of the saved and glued PNG; the HTML shows it at CSS_PX_PER_INCH, i.e. at its printed size
PNG_DPI = 200
CSS_PX_PER_INCH = 96
#: formats written by :func:`save`
FORMATS = ("png", "svg", "pdf")

#: colour of each kernel size (others: gray)
K_COLORS = {3: "tab:blue", 5: "tab:orange", 7: "tab:green", 9: "tab:red"}
#: line style by (depth, weighted)
LINE_STYLES = {(1, False): "-", (1, True): "--", (2, False): ":", (2, True): "-."}
#: marker by (source, depth)
MARKERS = {("ours", 1): "o", ("authors", 1): "s", ("ours", 2): "^", ("authors", 2): "v"}
#: markers of the exact optima, by training-set lattice size L_t (others: "X")
EXACT_MARKERS = {16: "P", 32: "D", 64: "p", 128: "*"}
#: the Monte Carlo reference
MC_STYLE = dict(color="k", marker="x", ls="none", ms=5)


# ----------------------------------------------------------------------------- style, figures, files
def use_style() -> None:
    """Apply the book's style to every figure drawn afterwards (call once at the top of a chapter)."""
    plt.style.use(STYLE)


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The book's style for the figures created inside the ``with`` block only."""
    with plt.style.context(STYLE):
        yield


def _styled(func: Callable) -> Callable:
    """Run a drawing function inside :func:`style`, so its fonts, legends and error bars follow the book's style
    whatever the caller's rcParams."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with style():
            return func(*args, **kwargs)
    return wrapper


def figure(width: float = COLUMN, height: float = 2.6, nrows: int = 1, ncols: int = 1,
           **kwargs) -> tuple[Figure, Axes | np.ndarray]:
    """A new figure in the book's style, ``width`` × ``height`` inches (:data:`COLUMN` or :data:`PAGE`
    wide), with ``plt.subplots``'s axes (``kwargs`` go to it)."""
    with style():
        return plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)


def _panels(n: int, width: float, height: float, **kwargs) -> tuple[Figure, np.ndarray]:
    fig, axes = figure(width, height, 1, n, **kwargs)
    return fig, np.atleast_1d(axes)


def figures_dir(chapter: str) -> Path:
    """``<repo>/_build/figures/<chapter>/``, where :func:`save` writes (``./_build/figures`` outside a checkout)."""
    try:
        base = repo_root()
    except FileNotFoundError:
        base = Path.cwd()
    return base / "_build" / "figures" / chapter


def save(fig: Figure, name: str, chapter: str) -> dict[str, Path]:
    """Write ``fig`` as ``<name>.png`` (:data:`PNG_DPI`), ``.svg`` and ``.pdf`` into :func:`figures_dir`.

    Returns the path of each format.
    """
    out = figures_dir(chapter)
    out.mkdir(parents=True, exist_ok=True)
    paths = {fmt: out / f"{name}.{fmt}" for fmt in FORMATS}
    with style():  # savefig.* of the style (tight box, white background) even if the caller's rc differs
        for fmt, path in paths.items():
            fig.savefig(path, dpi=PNG_DPI if fmt == "png" else "figure")
    return paths


def glue_figure(name: str, fig: Figure, chapter: str) -> None:
    """Save ``fig`` (:func:`save`), glue its PNG under ``name`` for a ``{glue:figure}`` directive, close it.

    The PNG is glued with its width in CSS pixels at :data:`CSS_PX_PER_INCH`, so the page shows the
    figure at its printed size (fonts at their point size) and sharp on high-density screens. Needs
    myst-nb (the ``book`` extra); nothing is displayed where the cell runs.
    """
    from IPython.display import Image
    from myst_nb import glue

    paths = save(fig, name, chapter)
    png = paths["png"].read_bytes()
    width_px = int.from_bytes(png[16:20], "big")  # the PNG header's IHDR width
    glue(name, Image(data=png, format="png", width=round(width_px * CSS_PX_PER_INCH / PNG_DPI)), display=False)
    plt.close(fig)


def _legend_right(ax: Axes, **kwargs) -> None:
    """Legend to the right of the axes (the layout engine makes room for it)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def _model_order(mid: ModelId) -> tuple:
    """Sort key of the models in figures and legends: single layer first, ours before the authors', then by k,
    weighting and training set."""
    return mid.depth, mid.source != "ours", mid.k, mid.weighted, mid.method, mid.L_t, mid.M


def _sorted(by_model: dict) -> dict:
    return dict(sorted(by_model.items(), key=lambda item: _model_order(item[0])))


def _model_groups(mids, *extra: str) -> list[list[str]]:
    """Legend labels in groups of one depth and source (ordered by :func:`_model_order`), then ``extra``."""
    groups: dict[tuple, list[str]] = {}
    for mid in sorted(mids, key=_model_order):
        groups.setdefault((mid.depth, mid.source), []).append(mid.label)
    return list(groups.values()) + ([list(extra)] if extra else [])


def _grouped_legend(target: Figure | Axes, ax: Axes, groups: list[list[str]], rows: bool, **kwargs) -> None:
    """A legend on ``target`` of the entries of ``ax`` laid out one group per row (``rows``) or per column,
    padded with blank entries (matplotlib fills legends column by column)."""
    by_label = {label: handle for handle, label in zip(*ax.get_legend_handles_labels())}
    groups = [[label for label in g if label in by_label] for g in groups]
    groups = [g for g in groups if g]
    depth = max(len(g) for g in groups)
    blank = Line2D([], [], ls="none")
    padded = [[(by_label[label], label) for label in g] + [(blank, "")] * (depth - len(g)) for g in groups]
    if rows:   # group i is row i: read down each column of the grid
        entries = [padded[r][c] for c in range(depth) for r in range(len(padded))]
        ncols = depth
    else:      # group i is column i
        entries = [e for g in padded for e in g]
        ncols = len(padded)
    handles, labels = zip(*entries)
    target.legend(handles, labels, ncols=ncols, **kwargs)


def _legend_below(fig: Figure, ax: Axes, groups: list[list[str]]) -> None:
    """One legend for the whole figure, below its panels: one row per group of entries of ``ax``."""
    _grouped_legend(fig, ax, groups, rows=True, loc="outside lower center", handlelength=1.6, columnspacing=0.8,
                    handletextpad=0.4)


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
    style = dict(ls=LINE_STYLES[mid.depth, mid.weighted], marker=MARKERS[mid.source, mid.depth], ms=3.5)
    if mid.method == "exact":
        color = _lighter(color, float(np.clip(0.25 * (6 - np.log10(mid.M)), 0, 0.85)))
        style["marker"] = EXACT_MARKERS.get(mid.L_t, "X")
    if mid.source == "authors":
        style["alpha"] = 0.5
    return style | {"color": color}


# ----------------------------------------------------------------------------- building blocks
@_styled
def observable_vs_size(ax: Axes, summaries: dict[int, SizeSummary], name: str, *, label: str | None = None,
                       marker: str = "o", **kwargs) -> None:
    """Error-bar plot of observable ``name`` against L from per-size summaries."""
    sizes = sorted(summaries)
    vals = np.array([summaries[L].observable(name).value for L in sizes])
    errs = np.array([summaries[L].observable(name).error for L in sizes])
    ax.errorbar(sizes, vals, yerr=errs, marker=marker, label=label, **kwargs)
    ax.set_xlabel("$L$")


@_styled
def log_pdf(ax: Axes, hist: MHistogram, *, label: str | None = None, **kwargs) -> None:
    """ln P(x)/P(0) against x = m L^{1/8} with Poisson error bars."""
    x, y, dy = log_pdf_ratio(hist)
    ax.errorbar(x, y, yerr=dy, label=label, capsize=0, **kwargs)
    ax.set_xlabel(r"$m\,L^{1/8}$")
    ax.set_ylabel(r"$\ln P_L(m)/P_L(0)$")


@_styled
def spins(ax: Axes, config: np.ndarray, title: str | None = None) -> None:
    """Show one ±1 configuration as black/white pixels."""
    ax.imshow(config, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


@_styled
def mark_sizes(ax: Axes, sizes: Sequence[int]) -> None:
    """Log-2 axis with a tick at each size."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(sizes), [str(s) for s in sizes])
    ax.minorticks_off()


@_styled
def dreamed_vs_size(ax: Axes, dreamed: dict[ModelId, DreamSummary], mc: dict[int, SizeSummary], sizes: Sequence[int],
                    name: str) -> None:
    """Observable ``name`` of every dreamed model (:func:`model_style`) and of MC at ``sizes``, log-2 axis."""
    for mid, d in _sorted(dreamed).items():
        observable_vs_size(ax, {L: d.sizes[L] for L in sizes}, name, label=mid.label, **model_style(mid))
    observable_vs_size(ax, {L: s for L, s in mc.items() if L in sizes}, name, label="MC", **MC_STYLE)
    mark_sizes(ax, sizes)


# ----------------------------------------------------------------------------- the Monte Carlo chapter
@_styled
def mc_observables(mc: dict[int, SizeSummary], sizes: Sequence[int]) -> Figure:
    """χ, c_me, c and U4 of the MC ensembles against L (U4(∞) dashed), 2×2 panels."""
    fig, axes = figure(PAGE, 4.4, 2, 2, sharex=True)
    labels = (r"(a) $\chi$", r"(b) $c_{me}$", r"(c) $c$", r"(d) $U_4$")
    for ax, name, label in zip(axes.flat, ("chi", "c_me", "c", "U4"), labels):
        observable_vs_size(ax, mc, name, label="MC (Swendsen–Wang)", **MC_STYLE)
        mark_sizes(ax, sizes)
        ax.set_ylabel(label)
    for ax in axes[0]:
        ax.set_xlabel("")
    axes[0, 0].set_yscale("log")
    axes[0, 1].set_yscale("log")
    axes[1, 1].axhline(EXACT["U4_infinity"], color="gray", ls="--", label=r"$U_4(\infty)=0.61069$")
    axes[1, 1].legend()
    return fig


@_styled
def mc_log_pdfs(ax: Axes, mc: dict[int, SizeSummary]) -> None:
    """ln P_L(m)/P_L(0) of every MC size against m L^{1/8}."""
    for L, s in mc.items():
        log_pdf(ax, s.hist, label=f"L={L}", marker=".", ms=3, lw=0.8)
    ax.set_ylim(bottom=-6)
    ax.legend(loc="lower center")


# ----------------------------------------------------------------------------- the training chapter
@_styled
def training_curves(fits: dict[ModelId, torch.nn.Module]) -> Figure:
    """The paper's Fig. 3: loss per spin against epoch of the AdamW models of ``fits`` (training solid,
    validation dashed, a marker per epoch), one panel per weighting."""
    fig, axes = _panels(2, PAGE, 2.6)
    for ax, weighted in zip(axes, (False, True)):
        ks = []
        for mid, m in fits.items():
            if mid.method != "adamw" or mid.weighted != weighted:
                continue
            h, color = m.meta["history"], model_style(mid)["color"]
            ax.plot(h["epoch"], np.array(h["train_loss"]) / mid.L_t ** 2, color=color, marker="o", ms=2.5)
            ax.plot(h["epoch"], np.array(h["valid_loss"]) / mid.L_t ** 2, ls="--", color=color, marker="o",
                    ms=2.5, mfc="white")
            ks.append(mid.k)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss per spin (nats)")
        ax.set_title("(b) weighted (eq. 13)" if weighted else "(a) unweighted (eq. 12)")
        handles = [Line2D([], [], color=K_COLORS.get(k, "gray"), label=f"$k={k}$") for k in sorted(set(ks))]
        handles += [Line2D([], [], color="gray", marker="o", ms=2.5, label="training"),
                    Line2D([], [], color="gray", ls="--", marker="o", ms=2.5, mfc="white", label="validation")]
        ax.legend(handles=handles)
    return fig


@_styled
def kernels(fits: dict[ModelId, torch.nn.Module]) -> Figure:
    """The full k×k kernel W of every exact optimum of ``fits``: one column per k, unweighted above weighted."""
    exact = {mid: m for mid, m in fits.items() if mid.method == "exact"}
    ks = sorted({mid.k for mid in exact})
    W = {mid: models.symmetric_kernel(m.params.detach(), mid.k).numpy() for mid, m in exact.items()}
    vmax = max([0.4] + [float(np.abs(w).max()) for w in W.values()])  # one symmetric scale, nothing clipped
    side = min(1.9, (PAGE - 0.9) / max(len(ks), 1))
    fig, axes = figure(side * len(ks) + 0.9, 2 * side + 0.4, 2, len(ks), squeeze=False)
    for mid in exact:
        ax = axes[int(mid.weighted), ks.index(mid.k)]
        im = ax.imshow(W[mid], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_title(f"$k={mid.k}$, {'weighted' if mid.weighted else 'unweighted'}")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.8, label="$W$")
    return fig


# ----------------------------------------------------------------------------- the dreaming chapter
@_styled
def chain(levels: Sequence[np.ndarray]) -> Figure:
    """The paper's Fig. 4: every level of one dreamed chain, in one row (two rows beyond five levels)."""
    n = len(levels)
    ncols = n if n <= 5 else math.ceil(n / 2)
    nrows = math.ceil(n / ncols)
    side = PAGE / ncols
    fig, axes = figure(PAGE, nrows * (side + 0.2), nrows, ncols, squeeze=False)
    for ax, s in zip(axes.flat, levels):
        spins(ax, s, title=f"{s.shape[0]}×{s.shape[0]}")
    for ax in axes.flat[n:]:
        ax.remove()
    return fig


@_styled
def patch_probabilities(ax: Axes, model: torch.nn.Module) -> None:
    """p(σ=+1|μ) of the top-left fine spin of a block for each of the 16 coarse 2×2 patches of a k=3 model,
    patches ordered by their sum."""
    table = sampler.probability_table(model)            # (4 positions, 16 patterns)
    patterns = np.array([[(code >> b) & 1 for b in range(4)] for code in range(16)]) * 2 - 1
    order = np.argsort(patterns.sum(axis=1), kind="stable")
    ax.bar(range(16), table[0, order], color=K_COLORS[3])
    signs = [["+" if v > 0 else "−" for v in patterns[c]] for c in order]
    ax.set_xticks(range(16), [f"{a}{b}\n{c}{d}" for a, b, c, d in signs], family="monospace", linespacing=1.0)
    ax.set_ylabel(r"$p(\sigma=+1\,|\,\mu)$")
    ax.set_xlabel("coarse 2×2 patch")
    ax.axhline(0.5, color="gray", lw=0.8)


# ----------------------------------------------------------------------------- the FSS chapter
@_styled
def fig5(dreamed: dict[ModelId, DreamSummary], mc: dict[int, SizeSummary], sizes: Sequence[int]) -> Figure:
    """The paper's Fig. 5: χ, c_me and c of every dreamed model and of MC against L, one legend below."""
    fig, axes = _panels(3, PAGE, 3.4)
    for ax, name, label in zip(axes, ("chi", "c_me", "c"), (r"(a) $\chi$", r"(b) $c_{me}$", r"(c) $c$")):
        dreamed_vs_size(ax, dreamed, mc, sizes, name)
        ax.set_ylabel(label)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    _legend_below(fig, axes[0], _model_groups(dreamed, "MC"))
    return fig


@_styled
def fig6(by_size: dict[ModelId, DreamSummary], mc: dict[int, SizeSummary], sizes: Sequence[int]) -> Figure:
    """The paper's Fig. 6: c against L of the exact optima of every training set, one panel per k, with MC."""
    ks = sorted({mid.k for mid in by_size})
    fig, axes = _panels(len(ks), PAGE if len(ks) > 1 else COLUMN, 2.8, sharey=True)
    for ax, k in zip(axes, ks):
        for mid, d in by_size.items():
            if mid.k == k:
                observable_vs_size(ax, {L: d.sizes[L] for L in sizes}, "c", label=f"$L_t={mid.L_t}$, $M={mid.M}$",
                                   **model_style(mid))
        observable_vs_size(ax, {L: s for L, s in mc.items() if L in sizes}, "c", label="MC", **MC_STYLE)
        mark_sizes(ax, sizes)
        ax.set_title(f"k={k}")
        ax.legend(loc="upper left")
    axes[0].set_ylabel("$c$")
    return fig


@_styled
def fig7(ax: Axes, dreamed: dict[ModelId, DreamSummary], mc: dict[int, SizeSummary], sizes: Sequence[int]) -> None:
    """The paper's Fig. 7: the Binder ratio U4 of every dreamed model and of MC against L, with U4(∞);
    legend to the right of the axes."""
    dreamed_vs_size(ax, dreamed, mc, sizes, "U4")
    ax.axhline(EXACT["U4_infinity"], color="gray", ls=":", label=r"$U_4(\infty)$")
    ax.set_ylabel("$U_4$")
    _grouped_legend(ax, ax, _model_groups(dreamed, "MC", r"$U_4(\infty)$"), rows=False, loc="upper left",
                    bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


# ----------------------------------------------------------------------------- the PDF-collapse chapter
@_styled
def fig8(ax: Axes, mid: ModelId, dreamed: DreamSummary, mc: dict[int, SizeSummary], L_final: int) -> None:
    """The paper's Fig. 8: ln P/P(0) of one model's dreamed sizes ≥ L_final/4 (one chain from L0=1), and MC."""
    for L in sorted(L for L in dreamed.sizes if L >= L_final // 4):
        log_pdf(ax, dreamed.sizes[L].hist, label=f"dreamed L={L}", marker="o", ms=3, lw=0.8)
    if L_final in mc:
        log_pdf(ax, mc[L_final].hist, label=f"MC L={L_final}", color="k", marker="x", ls="none", ms=4)
    ax.set_ylim(bottom=-6)
    ax.legend(loc="lower center")
    ax.set_title(f"$k={mid.k}$, {'weighted' if mid.weighted else 'unweighted'}, from $L_0=1$")


@_styled
def fig9(ax: Axes, from_mc: dict[ModelId, DreamSummary], from_one: dict[ModelId, DreamSummary],
         mc: dict[int, SizeSummary], L_final: int, L0: int) -> None:
    """The paper's Fig. 9: ln P/P(0) at L_final of each model started from MC at L0 (squares) and from one
    spin (circles, dotted), and MC; legend to the right of the axes."""
    for mid, d in from_mc.items():
        color = model_style(mid)["color"]
        log_pdf(ax, d.sizes[L_final].hist, label=f"k={mid.k}, $L_0$={L0}", marker="s", ms=3, lw=0.8, color=color)
        log_pdf(ax, from_one[mid].sizes[L_final].hist, label=f"k={mid.k}, $L_0$=1", marker="o", ms=3, lw=0.8,
                ls=":", color=color)
    if L_final in mc:
        log_pdf(ax, mc[L_final].hist, label=f"MC L={L_final}", color="k", marker="x", ls="none", ms=4)
    ax.set_ylim(bottom=-6)
    _legend_right(ax)
    ax.set_title(f"$L={L_final}$")


# ----------------------------------------------------------------------------- the MCRG chapter
_FIG10 = (("y_t", r"(a) $y_t=1/\nu$"), ("y_h", r"(b) $y_h$"), ("y_r1", "(c) redundant"), ("omega", r"(d) $\omega$"))


@_styled
def fig10(dreamed: dict[ModelId, DreamedMCRG | IllConditioned], ref: MCRGResult) -> Figure:
    """The paper's Fig. 10: y_t, y_h, the redundant exponent and ω of every dreamed model (the ill-conditioned
    ones left out), with MC at the same size as a band and the exact values dotted; 2×2 panels."""
    ok = {mid: r.result for mid, r in _sorted(dreamed).items() if not isinstance(r, IllConditioned)}
    fig, axes = figure(PAGE, 5.2, 2, 2, sharex=True)
    for ax, (key, title) in zip(axes.flat, _FIG10):
        for x, (mid, r) in enumerate(ok.items()):
            style = model_style(mid)
            ax.errorbar([x], [getattr(r, key)], yerr=[getattr(r, key + "_err")], ls="none", capsize=2,
                        marker=style["marker"], color=style["color"], alpha=style.get("alpha", 1.0))
        v, e = getattr(ref, key), getattr(ref, key + "_err")
        ax.axhspan(v - e, v + e, color="gray", alpha=0.3, label=f"MC L={ref.L_fine}")
        if key in EXACT_RG:
            ax.axhline(EXACT_RG[key], color="k", ls=":", label="exact")
        ax.set_xticks(range(len(ok)), [mid.label for mid in ok], rotation=60, ha="right", rotation_mode="anchor")
        ax.set_ylabel(title)
    axes[0, 0].legend(loc="best")
    return fig


_FIG10_THIRD = (("y_t", r"(a) $y_t=1/\nu$"), ("y_h", r"(b) $y_h$"), ("third", "(c) third eigenvalue"),
                ("omega", r"(d) $\omega$"))


def _exponent(r: MCRGResult, key: str) -> tuple[float, float]:
    """An exponent of a result and its error; ``"third"``: the third of the merged spectrum
    (:meth:`MCRGResult.third`)."""
    return r.third()[:2] if key == "third" else (getattr(r, key), getattr(r, key + "_err"))


@_styled
def fig10_conventions(dreamed: dict[str, dict[ModelId, DreamedMCRG | IllConditioned]],
                      refs: dict[str, MCRGResult]) -> Figure:
    """The paper's Fig. 10 in two operator bases side by side: per model, one marker per convention.

    ``dreamed`` maps a convention's label to the dreamed results of the models (same
    models in each), ``refs`` the same labels to the MC result at the same size in that
    convention (a band each). Panel (c) is the third eigenvalue of the merged spectrum, as
    the paper defines it. Filled markers: the first convention; open: the second.
    """
    labels = list(dreamed)
    mids = [mid for mid in _sorted(dreamed[labels[0]])
            if all(not isinstance(dreamed[c].get(mid), IllConditioned) for c in labels)]
    fig, axes = figure(PAGE, 5.6, 2, 2, sharex=True)
    shifts = np.linspace(-0.18, 0.18, len(labels))
    for ax, (key, title) in zip(axes.flat, _FIG10_THIRD):
        for j, (c, shift) in enumerate(zip(labels, shifts)):
            for x, mid in enumerate(mids):
                style = model_style(mid)
                v, e = _exponent(dreamed[c][mid].result, key)
                ax.errorbar([x + shift], [v], yerr=[e], ls="none", capsize=2, marker=style["marker"],
                            color=style["color"], mfc=style["color"] if j == 0 else "white", ms=4)
            if c in refs:
                v, e = _exponent(refs[c], key)
                ax.axhspan(v - e, v + e, color=f"C{7 + j}", alpha=0.25, label=f"MC L={refs[c].L_fine}, {c}")
        if key in EXACT_RG:
            ax.axhline(EXACT_RG[key], color="k", ls=":", lw=1)
        ax.set_xticks(range(len(mids)), [mid.label for mid in mids], rotation=60, ha="right", rotation_mode="anchor")
        ax.set_ylabel(title)
    handles = [Line2D([], [], ls="none", marker="o", color="k", mfc="k" if j == 0 else "white", label=c)
               for j, c in enumerate(labels)]
    fig.legend(handles=handles + axes[0, 0].get_legend_handles_labels()[0], loc="upper center", ncols=2,
               bbox_to_anchor=(0.5, 1.06), fontsize="small")
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


@_styled
def anisotropy(ax: Axes, dreamed: dict[ModelId, IrrepRun | IllConditioned], mc: dict[int, IrrepRun | IllConditioned],
               L: int) -> None:
    """Per dreamed model (one blocking of size ``L``): the third exponent of the full spectrum, the leading even
    B2 and the second odd A1 exponent; MC's third exponent at the same fine size as a band. Legend above."""
    ok = {mid: r for mid, r in _sorted(dreamed).items()
          if not isinstance(r, IllConditioned) and np.isfinite(r.third()[0])}
    x = np.arange(len(ok))
    for shift, marker, (what, label) in zip((-0.2, 0.0, 0.2), "osD", _CANDIDATES):
        ys = [r.third()[:2] if what == "third" else _rank(r.get(*what[:2]), what[2]) for r in ok.values()]
        ax.errorbar(x + shift, [y for y, _ in ys], yerr=[e for _, e in ys], fmt=marker, ms=3.5, capsize=2,
                    label=label)
    band = _mc_third(mc, L)
    if band:
        ax.axhspan(band[0] - band[1], band[0] + band[1], color="gray", alpha=0.3, label=f"MC L={L}, third")
    ax.axhline(0, color="k", ls=":", lw=1)
    ax.set_xticks(x, [mid.label for mid in ok], rotation=60, ha="right", rotation_mode="anchor")
    ax.set_ylabel(f"$y$ (dreamed $L={L}$, one blocking)")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=4, borderaxespad=0.0)


def _rank(spectrum, i: int) -> tuple[float, float]:
    return float(spectrum.y[i]), float(spectrum.y_err[i])


# ----------------------------------------------------------------------------- the complexity chapter
@_styled
def validation_curves(ax: Axes, networks: dict[ModelId, torch.nn.Module]) -> None:
    """Validation loss per spin against epoch of trained networks (their ``meta["history"]``), a marker per
    epoch so that a one-epoch run shows as a point."""
    for mid, m in networks.items():
        h, style = m.meta["history"], model_style(mid)
        ax.plot(h["epoch"], np.array(h["valid_loss"]) / mid.L_t ** 2, label=mid.label, color=style["color"],
                ls=style["ls"], marker=style["marker"], ms=4)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss per spin")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()


@_styled
def fig11(single: dict[ModelId, DreamSummary], deep: dict[ModelId, DreamSummary], mc: dict[int, SizeSummary],
          sizes: Sequence[int]) -> Figure:
    """The paper's Fig. 11: c, χ and U4 of the single-layer and two-layer models and of MC against L,
    one legend below."""
    fig, axes = _panels(3, PAGE, 3.4)
    for ax, name, label in zip(axes, ("c", "chi", "U4"), (r"(a) $c$", r"(b) $\chi$", r"(c) $U_4$")):
        dreamed_vs_size(ax, single | deep, mc, sizes, name)
        ax.set_ylabel(label)
    axes[1].set_yscale("log")
    c = [d.sizes[L].c.value for d in (single | deep).values() for L in sizes]
    if min(c) > 0 and max(c) > 20 * min(c):
        axes[0].set_yscale("log")      # a model whose c runs away would flatten all the others
    _legend_below(fig, axes[0], _model_groups(single | deep, "MC"))
    return fig
