"""The book's figures drawn from small typed results on the Agg backend: what each draws, and one style per model."""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from _typed_results import (AUTHORS_5, DEEP_3, ILL, OURS_3, OURS_3W, FakeModel, dream_summary,  # noqa: E402
                            dreamed_mcrg, irrep_run, mc_summaries, mcrg_result)
from matplotlib.container import ErrorbarContainer  # noqa: E402

from dreamrg import models, plotting  # noqa: E402
from dreamrg.experiments import ModelId  # noqa: E402
from dreamrg.profiles import PROFILES, load_profile  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def errorbars(ax) -> list[ErrorbarContainer]:
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def shown_models(profile: str) -> set[ModelId]:
    """Every model a figure of the book shows at ``profile``: ours (AdamW) and the authors' single-layer ones
    (the figures show their L_t = 32, M = 10^6 release; the other training sets only appear in a table),
    the exact optima of Fig. 6, our two-layer networks and the authors' ones (k = 3, 5, 7; both weightings)."""
    p = load_profile(profile)
    (L_t, M), (_, M2) = p.training_set, p.two_layer_training_set
    out = {ModelId("ours", 1, k, w, L_t, M) for k in p.trained_ks for w in (False, True)}
    out |= {ModelId("authors", 1, e["kernel_size"], e["weighted_loss"], e["L_train"], e["set_size"])
            for e in models.release_entries() if (e["L_train"], e["set_size"]) == (32, 1_000_000)}
    out |= {ModelId("ours", 1, k, False, Lt, Mt, "exact") for Lt, Mt in p.fig6_training_sets for k in p.trained_ks}
    out |= {ModelId("ours", 2, k, w, L_t, M2) for k in p.complexity.ks for w in (False, True)}
    out |= {ModelId("authors", 2, k, w, 32, 1_000_000) for k in (3, 5, 7) for w in (False, True)}
    return out


@pytest.mark.parametrize("profile", PROFILES)
def test_every_model_the_book_shows_has_its_own_style(profile):
    styles = {mid: plotting.model_style(mid) for mid in shown_models(profile)}
    for a, b in itertools.combinations(styles, 2):
        sa, sb = styles[a], styles[b]
        assert sa != sb, (a.label, b.label)
        if a.method == b.method == "adamw" and (sa["color"], sa["ls"]) == (sb["color"], sb["ls"]):
            # same kernel and loss: told apart by the marker of their source and depth
            assert (a.k, a.weighted) == (b.k, b.weighted) and sa["marker"] != sb["marker"], (a.label, b.label)


def test_model_style_encodes_k_weighting_source_and_depth():
    authors_deep_3w = ModelId("authors", 2, 3, True, 32, 1_000_000)
    s, t = plotting.model_style(OURS_3), plotting.model_style(authors_deep_3w)
    assert s["color"] == t["color"] == plotting.K_COLORS[3]                        # colour by k
    assert (s["color"], s["ls"]) != (t["color"], t["ls"])                           # "k=3" vs "authors 2-layer k=3, w."
    assert plotting.model_style(OURS_3W)["ls"] != s["ls"]                            # weighting
    assert plotting.model_style(DEEP_3)["marker"] != s["marker"] != plotting.model_style(AUTHORS_5)["marker"]
    assert plotting.model_style(AUTHORS_5)["alpha"] < 1 and "alpha" not in s
    small, large = (plotting.model_style(ModelId("ours", 1, 3, False, 32, M, "exact")) for M in (1_000, 1_000_000))
    assert large["color"] == plotting.K_COLORS[3] != small["color"]                # the exact fits: shade by M


def test_fig5_and_fig7_draw_every_model_and_mc():
    dreamed = {OURS_3: dream_summary(1.0), OURS_3W: dream_summary(1.1), AUTHORS_5: dream_summary(0.9)}
    mc, sizes = mc_summaries((4, 8, 16, 32, 64)), [4, 8, 16, 32]
    fig = plotting.fig5(dreamed, mc, sizes)
    assert len(fig.axes) == 3
    for ax in fig.axes:
        bars = errorbars(ax)
        assert len(bars) == 4                                                       # 3 models + MC
        assert [len(b.lines[0].get_xdata()) for b in bars] == [4, 4, 4, 4]         # MC restricted to the sizes
    labels = fig.axes[2].get_legend_handles_labels()[1]
    assert labels == ["k=3", "k=3, w.", "authors k=5", "MC"]
    fig, ax = plt.subplots()
    plotting.fig7(ax, dreamed, mc, sizes)
    assert len(errorbars(ax)) == 4 and len(ax.get_lines()) >= 1


def test_fig6_one_panel_per_k():
    exact = {ModelId("ours", 1, k, False, 32, M, "exact"): dream_summary() for k in (3, 5) for M in (1_000, 3_000)}
    fig = plotting.fig6(exact, mc_summaries((4, 8, 16, 32)), [4, 8, 16, 32])
    assert [ax.get_title() for ax in fig.axes] == ["k=3", "k=5"]
    assert all(len(errorbars(ax)) == 3 for ax in fig.axes)


def test_mc_figures():
    mc = mc_summaries((8, 16, 32))
    fig = plotting.mc_observables(mc, (8, 16, 32))
    assert len(fig.axes) == 4 and all(len(errorbars(ax)) == 1 for ax in fig.axes)
    fig, ax = plt.subplots()
    plotting.mc_log_pdfs(ax, mc)
    assert len(errorbars(ax)) == 3


def test_pdf_figures():
    from_one = {OURS_3: dream_summary(), ModelId("ours", 1, 5, False, 32, 10_000): dream_summary()}
    mc = mc_summaries((8, 32))
    fig, ax = plt.subplots()
    plotting.fig8(ax, OURS_3, from_one[OURS_3], mc, 32)
    assert len(errorbars(ax)) == 3 + 1                                              # L = 8, 16, 32 and MC
    fig, ax = plt.subplots()
    plotting.fig9(ax, from_one, from_one, mc, 32, 8)
    assert len(errorbars(ax)) == 2 * 2 + 1                                          # from MC and from one spin, MC
    colors = [b.lines[0].get_color() for b in errorbars(ax)]
    assert colors[0] == colors[1] != colors[2] == colors[3]                         # one colour per model


def test_fig10_leaves_out_the_ill_conditioned_models():
    dreamed = {OURS_3: dreamed_mcrg(shift=0.01), OURS_3W: ILL, AUTHORS_5: dreamed_mcrg(shift=-0.01)}
    fig = plotting.fig10(dreamed, mcrg_result())
    assert len(fig.axes) == 4
    for ax in fig.axes:
        assert len(errorbars(ax)) == 2 and len(ax.patches) == 1                    # two models, one MC band
    for ax in fig.axes[2:]:                                                         # the bottom row names them
        assert [t.get_text() for t in ax.get_xticklabels()] == ["k=3", "authors k=5"]
    assert len(fig.axes[0].get_lines()) >= 1                                        # y_t: the exact value


def test_anisotropy_three_candidates_per_model_and_the_mc_band():
    dreamed = {OURS_3: irrep_run(b1=-0.1), OURS_3W: ILL, AUTHORS_5: irrep_run(b1=0.1)}
    fig, ax = plt.subplots()
    plotting.anisotropy(ax, dreamed, {128: irrep_run(b1=0.15)}, 128)
    bars = errorbars(ax)
    assert len(bars) == 3 and all(len(b.lines[0].get_xdata()) == 2 for b in bars)
    assert len(ax.patches) == 1                                                     # MC third exponent at L = 128
    band = ax.patches[0]                                                           # a Rectangle (matplotlib ≥ 3.9)
    assert band.get_y() + band.get_height() / 2 == pytest.approx(0.15)              # third of MC: its B1 one
    fig, ax = plt.subplots()
    plotting.anisotropy(ax, dreamed, {64: irrep_run(64)}, 128)
    assert len(ax.patches) == 0                                                     # no MC at that size


def test_training_and_complexity_curves():
    history = {"epoch": [1, 2], "train_loss": [3.0, 2.0], "valid_loss": [3.1, 2.1], "seconds": [1.0, 1.0]}
    fits = {mid: FakeModel([0.1, 0.2, 0.3], {"history": history}) for mid in (OURS_3, OURS_3W)}
    fits[ModelId("ours", 1, 3, False, 32, 10_000, "exact")] = FakeModel([0.1, 0.2, 0.3])
    fits[ModelId("ours", 1, 3, True, 32, 10_000, "exact")] = FakeModel([0.1, 0.2, 0.3])
    fig = plotting.training_curves(fits)
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 2]                      # training and validation
    fig = plotting.kernels(fits)
    assert len(fig.axes) == 2 + 1                                                   # two kernels, one colour bar
    fig, ax = plt.subplots()
    plotting.validation_curves(ax, {DEEP_3: FakeModel([0.0], {"history": history})})
    assert len(ax.get_lines()) == 1


def test_fig11_and_the_chain():
    import numpy as np

    fig = plotting.fig11({OURS_3: dream_summary()}, {DEEP_3: dream_summary()}, mc_summaries((4, 8)), [4, 8])
    assert len(fig.axes) == 3 and all(len(errorbars(ax)) == 3 for ax in fig.axes)
    fig = plotting.chain([np.ones((2 ** i, 2 ** i), dtype=np.int8) for i in range(4)])
    assert [ax.get_title() for ax in fig.axes] == ["1×1", "2×2", "4×4", "8×8"]


# ----------------------------------------------------------------------------- the book's style
def every_figure():
    """(name, figure) of every plotting function, drawn from small typed results; Axes functions on a figure
    made by :func:`plotting.figure` as the chapters make them."""
    import numpy as np

    history = {"epoch": [1], "train_loss": [3.0], "valid_loss": [3.1], "seconds": [1.0]}      # a one-epoch run
    many = {ModelId(src, 1, k, w, 32, 10_000 if src == "ours" else 1_000_000): dream_summary(1 + 0.01 * k)
            for src in ("ours", "authors") for k in (3, 5, 7) for w in (False, True)}
    mc = mc_summaries((2, 4, 8, 16, 32))
    sizes = [2, 4, 8, 16, 32]
    fits = {mid: FakeModel([0.1, 0.2, 0.3], {"history": history}) for mid in (OURS_3, OURS_3W)}
    fits |= {ModelId("ours", 1, 3, w, 32, 10_000, "exact"): FakeModel([0.1, 0.2, 0.3]) for w in (False, True)}
    out = {
        "mc_observables": plotting.mc_observables(mc, sizes),
        "training_curves": plotting.training_curves(fits),
        "kernels": plotting.kernels(fits),
        "chain": plotting.chain([np.ones((2 ** i, 2 ** i), dtype=np.int8) for i in range(8)]),
        "fig5": plotting.fig5(many, mc, sizes),
        "fig6": plotting.fig6({ModelId("ours", 1, k, False, 32, M, "exact"): dream_summary()
                               for k in (3, 5, 7) for M in (1_000, 3_000, 10_000)}, mc, sizes),
        "fig10": plotting.fig10({mid: dreamed_mcrg(shift=0.01) for mid in many}, mcrg_result()),
        "fig11": plotting.fig11(many, {DEEP_3: dream_summary()}, mc, sizes),
    }
    axes_figures = [
        ("mc_log_pdfs", plotting.COLUMN, lambda ax: plotting.mc_log_pdfs(ax, mc)),
        ("fig7", plotting.PAGE, lambda ax: plotting.fig7(ax, many, mc, sizes)),
        ("fig8", plotting.COLUMN, lambda ax: plotting.fig8(ax, OURS_3, dream_summary(), mc, 32)),
        ("fig9", plotting.PAGE, lambda ax: plotting.fig9(ax, {OURS_3: dream_summary()}, {OURS_3: dream_summary()},
                                                          mc, 32, 8)),
        ("anisotropy", plotting.PAGE, lambda ax: plotting.anisotropy(ax, {mid: irrep_run() for mid in many},
                                                                      {128: irrep_run()}, 128)),
        ("validation_curves", plotting.COLUMN,
         lambda ax: plotting.validation_curves(ax, {DEEP_3: FakeModel([0.0], {"history": history})})),
    ]
    for name, width, draw in axes_figures:
        fig, ax = plotting.figure(width, 2.8)
        draw(ax)
        out[name] = fig
    return out


@pytest.mark.slow
def test_style_is_shipped_and_used_by_every_figure(tmp_path, monkeypatch):
    """Every figure is at most two columns wide (7 in) and every text in it is at least 8 pt at that size,
    whatever the caller's rcParams (here matplotlib's defaults, legend 6 pt)."""
    from matplotlib.text import Text

    assert plotting.STYLE.is_file() and plotting.STYLE.name == "dreamrg.mplstyle"
    monkeypatch.setattr(plotting, "figures_dir", lambda chapter: tmp_path / chapter)
    monkeypatch.setattr(plotting, "FORMATS", ("png",))                              # SVG and PDF: the glue test
    with plt.rc_context({"legend.fontsize": 6, "xtick.labelsize": 6}):
        figures = every_figure()
        for name, fig in figures.items():
            png = plotting.save(fig, name, "test")["png"].read_bytes()             # draws in the book's style
            width, height = fig.get_size_inches()
            assert width <= 7.1 and height <= 6, (name, width, height)
            saved = int.from_bytes(png[16:20], "big") / plotting.PNG_DPI            # tight box, legends included
            assert saved <= 7.1, (name, saved)
            texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
            assert texts, name
            small = {t.get_text(): t.get_fontsize() for t in texts if t.get_fontsize() < 8}
            assert not small, (name, small)
            legends = [lg for ax in fig.axes for lg in [ax.get_legend()] if lg] + fig.legends
            assert all(t.get_fontsize() >= 8 for lg in legends for t in lg.get_texts()), name


def test_one_epoch_runs_are_drawn_as_markers():
    history = {"epoch": [1], "train_loss": [3.0], "valid_loss": [3.1], "seconds": [1.0]}
    fig, ax = plotting.figure()
    plotting.validation_curves(ax, {DEEP_3: FakeModel([0.0], {"history": history})})
    (line,) = ax.get_lines()
    assert len(line.get_xdata()) == 1 and line.get_marker() not in (None, "", "None")
    fig = plotting.training_curves({OURS_3: FakeModel([0.1, 0.2, 0.3], {"history": history})})
    assert all(line.get_marker() not in (None, "", "None") for line in fig.axes[0].get_lines())


def test_fig11_models_differ_in_colour_or_line_style():
    """The paper-profile Fig. 11 drew "k=3" and "authors 2-layer k=3, w." alike: now every curve differs in
    colour, line style or marker (and the two-layer ones in line style from the single-layer ones)."""
    single = {ModelId(src, 1, 3, w, 32, 10_000 if src == "ours" else 1_000_000): dream_summary()
              for src in ("ours", "authors") for w in (False, True)}
    deep = {ModelId(src, 2, 3, w, 32, 3_000 if src == "ours" else 1_000_000): dream_summary()
            for src in ("ours", "authors") for w in (False, True)}
    fig = plotting.fig11(single, deep, mc_summaries((4, 8)), [4, 8])
    drawn = [(b.lines[0].get_color(), b.lines[0].get_linestyle(), b.lines[0].get_marker())
             for b in errorbars(fig.axes[0])]
    assert len(drawn) == len(set(drawn)) == 9
    k3, authors_deep_w = drawn[0], drawn[7]
    assert k3[1] != authors_deep_w[1]


def test_glue_figure_saves_three_formats_glues_the_png_at_print_size_and_closes(tmp_path, monkeypatch):
    import myst_nb

    glued = {}
    monkeypatch.setattr(plotting, "figures_dir", lambda chapter: tmp_path / chapter)
    monkeypatch.setattr(myst_nb, "glue", lambda name, obj, display=True: glued.update(name=name, obj=obj,
                                                                                      display=display))
    fig, ax = plotting.figure(plotting.COLUMN, 2.6)
    ax.plot([0, 1], [0, 1])
    assert plotting.glue_figure("fig-x", fig, "ch") is None                        # nothing shown by the cell
    paths = {p.suffix[1:]: p for p in (tmp_path / "ch").iterdir()}
    assert sorted(paths) == ["pdf", "png", "svg"] and all(p.stem == "fig-x" for p in paths.values())
    assert paths["png"].read_bytes().startswith(b"\x89PNG") and paths["pdf"].read_bytes().startswith(b"%PDF")
    assert "<svg" in paths["svg"].read_text()
    assert glued["name"] == "fig-x" and glued["display"] is False
    width = glued["obj"].width                                                      # CSS px at 96 per inch
    assert 0.9 * 3.4 * 96 < width <= 3.4 * 96 * 1.02
    assert not plt.fignum_exists(fig.number)
