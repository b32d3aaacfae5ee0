"""The book's display helpers: full tables, legacy snapshot text, the status view and the cost table."""

import json
import re

import pandas as pd
import pytest

from dreamrg import cache, display


def test_table_html_is_full_sortable_and_escaped():
    df = pd.DataFrame({"row": [f"r{i}" for i in range(100)], "x": [0.1 * i for i in range(100)],
                       "text": ["<b>"] * 100})
    html = display.table_html(df)
    assert html.count("<tr>") == 101 and "dreamrg-frame tall" in html and "&lt;b&gt;" in html
    assert 'data-v="9.9' in html and "<script>" in html and "input" in html
    z = display.table_html(pd.DataFrame({"z": [round(-0.004, 2), -0.5]}))  # a z rounded to zero from below
    assert ">0.0</td>" in z and ">-0.0</td>" not in z and ">-0.5</td>" in z


def test_a_rounded_float_column_keeps_its_decimals():
    """A float column prints at least the decimals most of its values were rounded to ("1.0" beside "0.4"; a
    value that keeps more, like a z of 1.96 near the 2σ line, keeps them); whole-number columns and values
    with more than four decimals keep six significant digits."""
    t = display.table_html(pd.DataFrame({"z": [1.0, 0.4, -2.0, 1.96], "p": [0.05, 0.5, 1.0, 0.25],
                                         "n": [1.0, 2.0, 3.0, 4.0], "x": [1.0, 0.123456789, 2.5, 3.0],
                                         "s": ["a", 1.0, 0.25, 0.125]}))
    cells = [re.findall(r">([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", t)[1:]]
    assert [r[0] for r in cells] == ["1.0", "0.4", "-2.0", "1.96"]
    assert [r[1] for r in cells] == ["0.05", "0.50", "1.00", "0.25"]  # two decimals for most
    assert [r[2] for r in cells] == ["1", "2", "3", "4"] and [r[3] for r in cells] == ["1.0", "0.123457", "2.5", "3.0"]
    assert [r[4] for r in cells] == ["a", "1.00", "0.25", "0.125"]  # floats in a text column too
    w = display.table_html(pd.DataFrame({"W": [0.1365, 0.147, -0.06, 0.2131, 0.1234567]}))  # most kept to 4 decimals
    assert re.findall(r">([^<]*)</td>", w) == ["0.1365", "0.1470", "-0.0600", "0.2131", "0.123457"]

    twins = display.table_html(pd.DataFrame([[1.0, 0.12], [0.5, 0.25]], columns=["v", "v"]))  # one name, two columns
    assert re.findall(r">([^<]*)</td>", twins) == ["1.0", "0.12", "0.5", "0.25"]


def test_a_number_with_a_note_may_break_before_the_note():
    """"0.9995(22) (-0.2 σ)" is two unbreakable halves in a cell that may wrap between them, sorted by its number;
    labels and sentences in parentheses are left alone."""
    t = display.table_html(pd.DataFrame({"MC": ["0.9995(22) (-0.2 σ)", "2.2 (93%)", "none (no data)", "(8, 16)"]}))
    assert ('<td class="text pair" data-v="0.9995"><span class="nb">0.9995(22)</span> <span class="nb">(-0.2 σ)'
            '</span></td>') in t and '<span class="nb">2.2</span> <span class="nb">(93%)</span>' in t
    assert '<td class="text">none (no data)</td>' in t and '<td class="text">(8, 16)</td>' in t
    assert "td.pair{white-space:normal}" in t and "td span.nb{white-space:nowrap}" in t
    alt = display.table_html(pd.DataFrame({"quantity": ["γ/ν.*|1/ν \\(.*|η-FSS", "y_t"]}))
    assert ('<td class="text alternatives"><span class="nb">γ/ν.*|</span><wbr><span class="nb">1/ν \\(.*|</span><wbr>'
            '<span class="nb">η-FSS</span></td>') in alt  # breaks only after a "|", the regex's text stays whole
    assert '<td class="text">y_t</td>' in alt and "td.alternatives{white-space:normal}" in alt


def test_cell_classes_go_to_their_own_column_and_row():
    """``cell_classes`` gives one column per-row classes (the status page's verdict colours); other columns keep
    only their own classes, and a row with an empty class adds nothing."""
    t = display.table_html(pd.DataFrame({"row": ["a", "b"], "verdict": ["agrees", "differs"]}),
                           cell_classes={"verdict": ["ok", ""]})
    assert '<td class="text ok">agrees</td>' in t and '<td class="text">differs</td>' in t
    assert '<td class="text">a</td>' in t and '<td class="text">b</td>' in t


def test_table_script_parses_and_widens_wide_tables(tmp_path):
    """The script every table carries (sorting, filtering, widening a table wider than the text column) is valid
    JavaScript, and the widening is defined once per page, capped at 136 % of the column and at the window."""
    import shutil
    import subprocess

    html = display.table_html(pd.DataFrame({"x": [1.0]}))
    script = re.search(r"<script>(.*)</script>", html, flags=re.S).group(1)
    assert "if(!window.dreamrgWiden)" in script and "1.36*room" in script and "clientWidth-" in script
    assert "document.currentScript" in script  # as the page is parsed, each script widens only its own frame
    assert ".dreamrg-frame.wide{" in html and "overflowX='visible'" in script  # out of the output's scroll box
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the script's syntax is not checked")
    (tmp_path / "table.js").write_text(script)
    done = subprocess.run([node, "--check", str(tmp_path / "table.js")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_table_headers_wrap_outside_parentheses_and_sentences_wrap():
    """Headers may wrap at their spaces, but not inside a pair "(32, 8)"; a text column holding sentences wraps its
    cells, a column of labels does not."""
    assert display.header_html("γ/ν (32, 8) paper") == "γ/ν (32,&nbsp;8) paper"
    assert display.header_html("a<b (x y)") == "a&lt;b (x&nbsp;y)"
    assert display.header_html("(MC start L=8 − exact)/σ") == "(MC&nbsp;start&nbsp;L=8&nbsp;− exact)/σ"
    long = "x" * (display.PROSE_CHARS + 1)
    t = display.table_html(pd.DataFrame({"label": ["k=3", "k=5"], "reason": ["short", long]}))
    assert '<td class="text prose">short</td>' in t and f'<td class="text prose">{long}</td>' in t
    assert '<td class="text">k=3</td>' in t and "(32,&nbsp;8)" in display.table_html(pd.DataFrame({"γ/ν (32, 8)": [1]}))


def test_parse_text_table_reads_wrapped_pandas_output():
    df = pd.DataFrame({"γ/ν (64, 16) paper": ["1.751", "1.804"], "γ/ν (128, 32)": ["1.74979(50)", "1.804128(17)"],
                       "W": [-0.0949, 0.3861], "third in": ["even B1", "odd A1"]},
                      index=pd.Index(["MC", "k=3, w."], name="row"))
    text = df.to_string()
    back = display.parse_text_table(text)
    assert list(back.columns) == list(df.columns) and back.index.name == "row"
    assert back.loc["k=3, w.", "γ/ν (128, 32)"] == "1.804128(17)" and back.loc["MC", "W"] == "-0.0949"
    wrapped = pd.DataFrame({f"column number {i}": [f"value {i}"] * 3 for i in range(12)}).to_string(line_width=80)
    assert "\\" in wrapped
    assert display.parse_text_table(wrapped).shape == (3, 12)


def test_status_view_links_explained_verdicts(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "fss.md").write_text("# FSS\n\n(fss-seed-spread)=\n## Seeds\n")
    judged = pd.DataFrame({"table": ["II", "II"], "row": ["k=5, w.", "MC"], "quantity": ["γ/ν (32, 8)"] * 2,
                           "paper": ["1.815", "1.754"], "ours": ["1.79(1)", "1.7540(1)"],
                           "(ours − paper)/σ": [-25.0, 0.0], "verdict": ["differs, explained", "agrees"],
                           "reason": ["seeds", None], "target": ["fss-seed-spread", None]})
    data, html = display.status_view(judged, root=tmp_path)
    assert list(data.columns[:7]) == ["table", "row", "quantity", "paper", "ours ± error", "(ours − paper)/σ",
                                      "verdict"]
    assert '<a href="fss.html#fss-seed-spread" title="seeds">differs, explained</a>' in html and 'class="text agrees"' in html
    assert list(data["(ours − paper)/σ"]) == ["−25.0", "+0.0"]  # signed, one decimal, sortable by their number
    assert '<td class="" data-v="-25.0">−25.0</td>' in html  # right-aligned as a number, sorted by it


def test_cost_table_from_fake_meta(tmp_path):
    book = tmp_path / "book"
    (book / "snapshots").mkdir(parents=True)
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: mc\n  - file: fss\n")
    for name, title in (("intro", "Intro"), ("mc", "Monte Carlo"), ("fss", "Scaling")):
        (book / f"{name}.md").write_text(f"# {title}\n")
    now = dict(cache.STAGE_VERSIONS)
    old = {**now, "mc": now["mc"] - 1}            # mc 3 -> 4: chains span chunks, other configurations
    runs = [("paper", "fss", 5.8, "abc1234", now), ("paper", "mc", 1380.4, None, now),
            ("quick", "mc", 22.0, "def5678", old), ("paper", "complexity_x", 9960.8, "f00", None)]
    for profile, chapter, seconds, commit, versions in runs:
        d = book / "snapshots" / profile / chapter
        d.mkdir(parents=True)
        meta = {"chapter": chapter, "profile": profile, "date": "2026-11-25", "dreamrg_version": "0.1.0",
                "seconds": seconds, "figures": 1, "tables": 0}
        if commit:
            meta["git_commit"] = commit
        if versions:
            meta["stage_versions"] = versions
        (d / "meta.json").write_text(json.dumps(meta))
    t = display.cost_table(tmp_path)
    assert list(t.index) == ["Monte Carlo", "Scaling", "complexity_x"]
    assert list(t.columns) == ["paper profile", "quick profile"]
    assert t.loc["Monte Carlo", "paper profile"] == "23 min (2026-11-25, commit not recorded)"
    assert t.loc["Monte Carlo", "quick profile"] == "22 s (2026-11-25, def5678; code since: mc)"
    assert t.loc["Scaling", "quick profile"] == "not kept"
    assert t.loc["complexity_x", "paper profile"] == "2.77 h (2026-11-25, f00; code since: not recorded)"  # cluster_costs.duration
    runs = display.snapshot_runs(tmp_path)
    assert len(runs) == 4 and sorted(runs["code since"]) == ["changed: mc", "not recorded", "same numbers",
                                                             "same numbers"]


def test_a_snapshot_made_with_earlier_code_says_so():
    """The kept results carry a warning naming each stage whose numbers the code has changed since."""
    now = dict(cache.STAGE_VERSIONS)
    assert display.earlier_code_note({"stage_versions": now}) is None
    note = display.earlier_code_note({"stage_versions": {**now, "mc": now["mc"] - 1}})
    assert note.startswith("**Made with earlier code.**")
    assert f"`mc` {now['mc'] - 1} → {now['mc']} ({cache.STAGE_CHANGES['mc'][now['mc']][1]})" in note
    assert "`mcrg`" not in note
    assert display.earlier_code_note({}).startswith("**Code versions not recorded.**")


def test_every_kept_snapshot_records_its_stage_versions():
    """So that a reader is told when the code has changed a kept result's numbers since (see above)."""
    metas = sorted((display.repo_root() / "book" / "snapshots").glob("*/*/meta.json"))
    assert metas
    for f in metas:
        versions = json.loads(f.read_text()).get("stage_versions")
        assert versions and set(versions) <= set(cache.STAGE_VERSIONS), f


def test_kept_figures_are_captioned_and_numbered(tmp_path):
    """A kept paper-profile figure is shown inside a <figure> whose caption is numbered and names its origin."""
    import base64

    from dreamrg.display import kept_figure_html

    png = tmp_path / "figure-2.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 8)
    text = kept_figure_html(png, 2, "paper", {"date": "2026-11-26", "git_commit": "abc1234"})
    assert text.startswith("<figure") and text.endswith("</figure>")
    assert '<span class="caption-number">Kept figure 2 </span>' in text and "<figcaption>" in text
    assert "2026-11-26" in text and "abc1234" in text and "paper profile" in text
    assert base64.b64encode(png.read_bytes()).decode() in text


def test_show_snapshot_puts_the_earlier_code_note_under_its_origin(monkeypatch):
    """The kept results of a chapter are introduced by their origin, then (if the code changed their numbers
    since) the warning, before any table or figure."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    meta = json.loads((display.snapshot_dir("mcrg") / "meta.json").read_text())
    display.show_snapshot("mcrg", "paper", current="smoke")
    texts = [getattr(o, "data", "") for o in shown]
    assert texts[0].startswith("**Kept results of the `paper` profile**")
    note = display.earlier_code_note(meta)
    assert (note is not None and texts[1] == f"> {note}") or (note is None and "earlier code" not in texts[1])
    assert sum("Made with earlier code" in t for t in texts if isinstance(t, str)) == (note is not None)
    # each run of kept results from one section comes under that section's heading, once
    runs = [meta["sections"][o] for o in meta["outputs"] if o in meta.get("sections", {})]
    expected = [display.section_line(h) for i, h in enumerate(runs) if i == 0 or runs[i - 1] != h]
    assert [t for t in texts if isinstance(t, str) and t.startswith("*From the section")] == expected
    assert len(expected) >= 5  # the MCRG chapter's paper snapshot records its sections


def test_prose_quoting_kept_results_says_when_and_by_which_code():
    """kept_origin, glued into every sentence that quotes kept results, names the date and says whether the code
    has changed those numbers since."""
    for chapter in ("fss", "mcrg", "status"):
        meta = json.loads((display.snapshot_dir(chapter) / "meta.json").read_text())
        phrase = display.kept_origin(chapter)
        assert phrase.startswith(f"kept on {meta['date']}")
        assert phrase.endswith("since changed these numbers") == bool(display.earlier_code(meta))
    from dreamrg import quotes

    assert quotes.mcrg_kept()["kept_origin_mcrg"] == display.kept_origin("mcrg")


def test_snapshot_meta_is_the_one_reader_of_kept_metadata(tmp_path):
    """snapshot_meta returns a kept snapshot's meta.json as written, None where none is kept; kept_origin of a
    chapter with nothing kept is one clear error naming the chapter, not a bare traceback from json."""
    d = tmp_path / "book" / "snapshots" / "paper" / "fss"
    d.mkdir(parents=True)
    meta = {"chapter": "fss", "date": "2026-11-26", "stage_versions": {"mc": 4}}
    (d / "meta.json").write_text(json.dumps(meta))
    assert display.snapshot_meta("fss", "paper", tmp_path) == meta
    assert display.snapshot_meta("mcrg", "paper", tmp_path) is None
    assert display.snapshot_meta("fss", "quick", tmp_path) is None
    with pytest.raises(FileNotFoundError, match="no paper-profile snapshot of chapter 'nosuchchapter'"):
        display.kept_origin("nosuchchapter")


def test_offcritical_kept_quotes_come_from_the_kept_verdict_table():
    """Every number the off-critical chapter quotes from its paper-profile snapshot is a cell of the kept verdict
    table, for Monte Carlo and each scheme (the Monte Carlo start's column named by its start size)."""
    from dreamrg import quotes

    q = quotes.offcritical_kept()
    kept = next(t for t in display.snapshot_tables("offcritical", "paper") if t.index.name == "quantity")
    cells = {str(x) for x in kept.to_numpy().ravel() if x is not None and not pd.isna(x)}
    sides = ("mc", "naive", "flow", "mcs")
    numbers = {k: v for k, v in q.items() if k.startswith("offk_") and k.split("_")[1] in sides}
    assert len(numbers) == 16 and all(v in cells or v == "—" for v in numbers.values())
    assert q["offk_mc_Kc"].startswith("0.4407") and q["kept_origin_offcritical"] == display.kept_origin("offcritical")
    # the Monte Carlo start at the lowest coupling: its energy cell and deficit, its U4 z's, from the kept tables
    energies = display.kept_table("offcritical", lambda t: "<e> MC start L=16" in t.columns, "energies")
    row = energies[(energies["K/K_c"] == q["offk_hot_K"] + "0") & (energies["L"] == int(q["offk_hot_L"]))].iloc[0]
    assert q["offk_hot_e"] == row["<e> MC start L=16"] and q["offk_hot_e_exact"] == row["<e> exact (Kaufman)"]
    assert 0 < int(q["offk_kc_e_pct"]) < int(q["offk_hot_e_pct"]) and q["offk_hot_u4_z"].count(" σ at L = ") == 3


def test_a_kept_table_that_is_not_there_is_one_clear_error(tmp_path, monkeypatch):
    """kept_table (and the quotes built on it) name the chapter, the table sought and the tables kept, instead of
    a bare StopIteration, when a snapshot lacks a table or a row (a renamed column, an older snapshot)."""
    from dreamrg import quotes

    d = tmp_path / "book" / "snapshots" / "paper" / "fss"
    d.mkdir(parents=True)
    df = pd.DataFrame({"γ/ν": [0.25], "x": [1]}, index=pd.Index(["k=3"], name="model"))
    (d / "table-1.json").write_text(json.dumps(display.table_data(df)))
    assert display.kept_table("fss", lambda t: "x" in t.columns, "x", root=tmp_path).equals(
        display.kept_table("fss", lambda t: True, "any", root=tmp_path))
    with pytest.raises(LookupError, match=r"kept 'paper' snapshot of chapter 'fss' .* has no Table II; its 1 "
                                          r"table\(s\) have the columns \[γ/ν, x\]"):
        display.kept_table("fss", lambda t: "γ/ν (128, 32) paper" in t.columns, "Table II", root=tmp_path)
    with pytest.raises(LookupError, match="has no seeds; its 0 table"):
        display.kept_table("mcrg", lambda t: True, "seeds", root=tmp_path)
    # a quote reading the real snapshots, with one of its rows renamed
    kept = display.kept_table("offcritical", lambda t: t.index.name == "quantity", "verdicts")
    renamed = kept.rename(index=lambda q: q.replace("ν", "nu"))
    monkeypatch.setattr(display, "kept_table", lambda *a, **k: renamed)
    with pytest.raises(LookupError, match=r"no row 'ν …' of the kept off-critical verdict table; there are: K_c"):
        quotes.offcritical_kept()


def test_kept_tables_keep_a_multiindex():
    """A table with a two-level index comes back from its kept data with both levels, whether kept as lists (now)
    or as printed tuples (snapshots kept before); an entry that is not such a tuple is one clear error."""
    df = pd.DataFrame({"value": [1.5, 2.5]},
                      index=pd.MultiIndex.from_tuples([("MC", "ν from dU4/dK"), ("flow", "y_t (≈ 1/ν)")],
                                                      names=["side", "estimator"]))
    data = json.loads(json.dumps(display.table_data(df)))
    assert data["index"][0] == ["MC", "ν from dU4/dK"]
    assert display.table_from_data(data).equals(df)
    old = dict(data, index=[str(tuple(e)) for e in data["index"]])     # as kept before: "('MC', 'ν from dU4/dK')"
    assert display.table_from_data(old).equals(df)
    with pytest.raises(ValueError, match="not a tuple of 2 values"):
        display.table_from_data(dict(data, index=["MC", "__import__('os')"]))
    kept = next(t for t in display.snapshot_tables("offcritical", "paper") if t.index.nlevels == 2)
    assert list(kept.index.names) == ["side", "estimator"] and kept.index[0][0] == "MC"
    assert ">('MC'," not in display.table_html(kept)


def test_glue_sentence_glues_markdown_with_its_markup_escaped(monkeypatch):
    """A sentence glued for ``{glue:md}`` keeps its characters: underscores, stars, brackets and dollars are escaped,
    so that "n_odd / n_even" or "$x$" is not read as emphasis or math."""
    import myst_nb
    from IPython.display import Markdown

    from dreamrg import quotes

    got = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: got.update({name: (value, display)}))
    quotes.glue_sentence("s", "use n_odd / n_even, *not* [x] or $y$")
    value, shown = got["s"]
    assert isinstance(value, Markdown) and shown is False
    assert value.data == r"use n\_odd / n\_even, \*not\* \[x\] or \$y\$"
