"""Plotting helpers: each takes prepared data and a matplotlib ``Axes``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

from dreamrg.fss import log_pdf_ratio
from dreamrg.observables import MHistogram, SizeSummary


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
