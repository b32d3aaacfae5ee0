"""Notebook display for the book: full styled tables, kept snapshots, the verdict table and the cost table.

* :func:`show_table` / :func:`book_tables` — a DataFrame is shown in full (never cut
  by pandas), as styled HTML that sorts by a click on a column header and filters
  through a text box (a few lines of inline JavaScript, no network). A table wider than
  the text column widens into the right margin, and what still does not fit scrolls
  inside its frame. The same output carries the table's data at full precision under the
  MIME type :data:`TABLE_MIME`, from which :func:`dreamrg.bookrun.save_snapshot`
  keeps it as JSON.
* :func:`show_snapshot` — the kept paper-profile results at the end of a chapter;
  :func:`snapshot_tables` reads their tables back as DataFrames (from JSON, or parsed
  from the text that older snapshots kept); :func:`earlier_code_note` warns when the
  code has changed the numbers of the stages behind them since they were kept.
* :func:`status_view` — the status page's columns with the verdict linked to its explanation.
* :func:`cost_table` / :func:`snapshot_runs` — what the snapshots' ``meta.json`` record.
* ``parameters_table`` — what a chapter's build used (re-exported from
  :func:`dreamrg.chapter_parameters.parameters_table`, where the chapters find it by this module's name).
"""

from __future__ import annotations

import html
import json
import math
import numbers
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from dreamrg import cache
from dreamrg.chapter_parameters import parameters_markdown, parameters_table  # noqa: F401 (re-exported)
from dreamrg.cluster_costs import duration
from dreamrg.paths import repo_root
from dreamrg.verdicts import format_z

#: MIME type of a table's full data in a notebook output (``{"columns", "index", "index_names", "data"}``)
TABLE_MIME = "application/vnd.dreamrg.table+json"
#: a text column with a cell longer than this many characters wraps its cells (sentences, not labels)
PROSE_CHARS = 45
#: a header longer than this many characters keeps a minimum width (``th.long``), so it wraps onto few lines
LONG_HEADER_CHARS = 16
#: tables with more rows than this scroll vertically inside their frame (every row stays in the page)
SCROLL_ROWS = 25

_CSS = """<style>
/* a light card in both of the theme's modes, as the theme shows other HTML outputs in its dark mode */
.dreamrg-frame{max-width:100%;overflow:auto;margin:.4em 0 1em 0;border:1px solid #d0d7de;border-radius:4px;
 background:#fff;color:#1f2328}
.dreamrg-frame.tall{max-height:34em}
.dreamrg-frame.wide{position:relative;z-index:2;max-width:none}
.dreamrg-frame input.dreamrg-filter{position:sticky;left:0;margin:.3em;padding:.15em .4em;font-size:.85em;width:16em;
 background:#fff;color:#1f2328;border:1px solid #d0d7de}
table.dreamrg-table{border-collapse:collapse;font-size:.8em;white-space:nowrap;margin:0}
table.dreamrg-table th,table.dreamrg-table td{padding:.2em .5em;border-bottom:1px solid #eaeef2;text-align:right;
 color:#1f2328}
table.dreamrg-table thead th{position:sticky;top:0;background:#f6f8fa;cursor:pointer;user-select:none;
 white-space:normal;vertical-align:bottom}
table.dreamrg-table thead th[data-order=asc]::after{content:" \\25B2"}
table.dreamrg-table thead th[data-order=desc]::after{content:" \\25BC"}
table.dreamrg-table tbody tr:nth-child(even){background:#fafbfc}
table.dreamrg-table td.text,table.dreamrg-table th.text{text-align:left}
table.dreamrg-table td.agrees{background:#e6f4ea}
table.dreamrg-table td.explained{background:#fff4d6}
table.dreamrg-table td.unexplained{background:#fde2e1}
table.dreamrg-table thead th.long{min-width:9em}
table.dreamrg-table td.pair{white-space:normal}
table.dreamrg-table td span.nb{white-space:nowrap}
table.dreamrg-table td.alternatives{white-space:normal}
table.dreamrg-table td.prose{white-space:normal;min-width:24em;max-width:34em;line-height:1.3}
table.dreamrg-table td .reason{display:block;white-space:normal;min-width:12em;max-width:17em;font-size:.85em;
 line-height:1.25;color:#57606a}
</style>"""

_JS = """<script>
(function(){
if(!window.dreamrgTables){window.dreamrgTables=function(){
 function key(c){var v=c.getAttribute('data-v');
  return v!==null?[0,parseFloat(v)]:[1,c.textContent.trim().toLowerCase()];}
 function cmp(a,b,s){return a[0]-b[0]||s*(a[1]<b[1]?-1:a[1]>b[1]?1:0);}  // numbers first, blanks last
 document.querySelectorAll('table.dreamrg-table:not([data-ready])').forEach(function(t){
  t.setAttribute('data-ready','1');
  var box=t.closest('.dreamrg-frame'),f=box&&box.querySelector('input.dreamrg-filter'),body=t.tBodies[0];
  if(f){f.addEventListener('input',function(){var q=f.value.toLowerCase();
   Array.from(body.rows).forEach(function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)<0?'none':'';});});}
  Array.from(t.tHead.rows[0].cells).forEach(function(th,i){th.title='click to sort';
   th.addEventListener('click',function(){
   var asc=th.getAttribute('data-order')!=='asc';
   Array.from(th.parentNode.cells).forEach(function(h){h.removeAttribute('data-order');});
   th.setAttribute('data-order',asc?'asc':'desc');
   Array.from(body.rows).sort(function(a,b){return cmp(key(a.cells[i]),key(b.cells[i]),asc?1:-1);})
    .forEach(function(r){body.appendChild(r);});});});
 });};}
window.dreamrgTables();
// a table wider than the text column widens its frame (and lets it out of the output's own scrolling box) into the
// right margin: at most 136 % of the column, as the theme's full-width cells, and never past the window; what
// still does not fit scrolls inside the frame
// (one frame as the page is parsed, the one this script follows; every frame on load and on resize)
if(!window.dreamrgWiden){window.dreamrgWiden=function(only){
 (only?[only]:document.querySelectorAll('.dreamrg-frame')).forEach(function(box){
  var t=box.querySelector('table.dreamrg-table');if(!t)return;
  box.style.width='';box.classList.remove('wide');box.parentElement.style.overflowX='';
  var room=box.parentElement.clientWidth;if(t.scrollWidth<=box.clientWidth+1)return;
  var edge=document.documentElement.clientWidth-box.getBoundingClientRect().left-16;
  var w=Math.min(t.scrollWidth+box.offsetWidth-box.clientWidth,Math.max(room,Math.min(1.36*room,edge)));
  if(w>room+1){box.style.width=w+'px';box.classList.add('wide');box.parentElement.style.overflowX='visible';}
 });};
 var all=function(){window.dreamrgWiden();};
 window.addEventListener('load',all);window.addEventListener('resize',all);}
var me=document.currentScript,box=me&&me.previousElementSibling;
// in a notebook's output a script has no frame before it: widen them all
if(box&&box.classList.contains('dreamrg-frame'))window.dreamrgWiden(box);else window.dreamrgWiden();
})();
</script>"""

_LEADING_NUMBER = re.compile(r"^\s*[-+−]?\d+(\.\d+)?")
_ESTIMATE = re.compile(r"^\s*[-+−]?\d+(\.\d+)?(\(\d+\))?\s*$")
#: a number with a short note in parentheses, "0.9995(22) (-0.2 σ)" or "2.2 (93%)": it may break before the note
_WITH_NOTE = re.compile(r"^([-+−]?\d\S*) (\([^()]*\))$")


# ----------------------------------------------------------------------------- full tables
def _decimals(x: float) -> int | None:
    """The fewest decimals (0 to 4) that print ``x`` exactly, or None."""
    return next((d for d in range(5) if abs(x - round(x, d)) <= 1e-9 * max(1.0, abs(x))), None)


def _column_decimals(values) -> int | None:
    """The decimals most of a float column's values were rounded to (1 to 4; a tie takes the fewer), when some
    are not whole: every value is printed with at least as many, so a z column reads "1.0" beside "0.4" (and
    "1.96" where a value keeps two). None otherwise: each value printed with six significant digits."""
    counts: dict[int, int] = {}
    for x in values:
        if isinstance(x, numbers.Real) and not isinstance(x, (numbers.Integral, bool)) and math.isfinite(x):
            d = _decimals(float(x))
            if d:
                counts[d] = counts.get(d, 0) + 1
    return min(counts, key=lambda d: (-counts[d], d)) if counts else None


class Cell(NamedTuple):
    """One rendered table cell."""

    text: str  #: escaped HTML
    key: str | None = None  #: numeric sort key, or None for a cell that sorts as text
    #: the cell's own CSS class: "pair", a number and its note, which may break between them; "alternatives"
    #: ("a|b-c"), which may break after a "|" and nowhere else
    cls: str = ""


def _cell(x, decimals: int | None = None) -> Cell:
    """One cell of ``x``; a float with at least ``decimals`` (its column's :func:`_column_decimals`) when it has
    at most four, else six significant digits."""
    if x is None or x is pd.NA or (isinstance(x, numbers.Real) and not isinstance(x, numbers.Integral)
                                   and math.isnan(x)):
        return Cell("—")
    if isinstance(x, (bool, np.bool_)):
        return Cell(str(bool(x)))
    if isinstance(x, numbers.Integral):
        return Cell(str(int(x)), str(int(x)))
    if isinstance(x, numbers.Real):
        x = float(x) + 0.0  # a value rounded to zero from below shows as 0, not "-0"
        own = _decimals(x) if decimals is not None else None
        return Cell(f"{x:.{max(decimals, own)}f}" if own is not None else f"{x:.6g}", repr(x))
    s = str(x)
    m = _LEADING_NUMBER.match(s)
    key = m.group(0).replace("−", "-") if m else None
    note = _WITH_NOTE.match(s)
    if note:  # two unbreakable halves: a narrow column puts the note under its number
        return Cell(" ".join(f'<span class="nb">{html.escape(part)}</span>' for part in note.groups()), key, "pair")
    if "|" in s:  # alternatives ("a.*|b-c|d", a pattern or a list) break after a "|", never inside one
        *first, last = s.split("|")
        parts = [html.escape(a) + "|" for a in first] + [html.escape(last)]
        return Cell("<wbr>".join(f'<span class="nb">{a}</span>' for a in parts), key, "alternatives")
    return Cell(html.escape(s), key)


def header_html(name: str) -> str:
    """A column name, escaped, for a header that may wrap at its spaces (headers wider than their numbers
    made tables scroll sideways), except inside parentheses: "γ/ν (32, 8) paper" breaks only before "paper".
    Inside parentheses a line may still break after a minus sign, so "(MC start L=8 − exact)/σ" takes two
    short lines above its z column instead of one long one."""
    return re.sub(r"\([^()]*\)", lambda m: m.group(0).replace(" ", "&nbsp;").replace("−&nbsp;", "− "),
                  html.escape(name))


def table_html(df: pd.DataFrame, html_columns: tuple[str, ...] = (), cell_classes: dict | None = None) -> str:
    """``df`` in full as a styled, sortable and filterable HTML table inside a scrolling frame.

    ``html_columns`` hold trusted HTML (shown as is); every other cell is escaped. Numbers
    are shown with six significant digits (the full values stay in the data the output
    carries). ``cell_classes`` maps a column to a per-row list of CSS classes.
    """
    show_index = not isinstance(df.index, pd.RangeIndex) or df.index.name is not None
    frame = df.reset_index() if show_index else df
    cols = [str(c) for c in frame.columns]
    text_cols = {c for c, dt in zip(cols, frame.dtypes) if (dt == object or str(dt).startswith(("str", "string")))
                 and not all(_ESTIMATE.match(str(x)) for x in frame[c] if isinstance(x, str))}  # "1.2(3)" aligns right
    prose_cols = {c for c in text_cols if c not in html_columns
                  and any(isinstance(x, str) and len(x) > PROSE_CHARS for x in frame[c])}  # sentences wrap
    def th(c: str) -> str:
        cls = " ".join(filter(None, ["text" if c in text_cols else "", "long" if len(c) > LONG_HEADER_CHARS else ""]))
        return f'<th class="{cls}">{header_html(c)}</th>'

    head = "".join(map(th, cols))
    decimals = [None if c in html_columns else _column_decimals(frame.iloc[:, j]) for j, c in enumerate(cols)]
    given = [(cell_classes or {}).get(c) for c in cols]  # a column's per-row classes, looked up once
    body = []
    for i, row in enumerate(frame.itertuples(index=False)):
        cells = []
        for j, (c, x) in enumerate(zip(cols, row)):
            cell = Cell("—" if x is None else str(x)) if c in html_columns else _cell(x, decimals[j])
            cls = " ".join(filter(None, ["text" if c in text_cols else "", "prose" if c in prose_cols else "",
                                         cell.cls, given[j][i] if given[j] is not None else ""]))
            cells.append(f'<td class="{cls}"' + (f' data-v="{cell.key}"' if cell.key else "") + f">{cell.text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    tall = " tall" if len(frame) > SCROLL_ROWS else ""
    return (f'{_CSS}<div class="dreamrg-frame{tall}"><input class="dreamrg-filter" type="search" '
            f'placeholder="filter {len(frame)} rows…" aria-label="filter rows">'
            f'<table class="dreamrg-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
            f"</div>{_JS}")


def _plain(x):
    """A JSON-ready Python value (NaN → None, numpy scalars → Python)."""
    if hasattr(x, "item") and not isinstance(x, (list, dict, str)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    return str(x)


def table_data(df: pd.DataFrame) -> dict:
    """The full data of ``df`` as JSON-ready lists, floats at full precision (see :func:`table_from_data`)."""
    index = [[_plain(x) for x in i] if isinstance(i, tuple) else _plain(i) for i in df.index]  # MultiIndex: lists
    return {"columns": [_plain(c) for c in df.columns], "index": index,
            "index_names": [_plain(n) for n in df.index.names],
            "data": [[_plain(x) for x in row] for row in df.itertuples(index=False)]}


def _printed_tuple(text: str, n: int) -> tuple:
    """A MultiIndex entry that an older snapshot kept as its printed tuple, e.g. "('MC', 'ν …')", read back as
    a literal (never evaluated); one clear error if it is not a tuple of ``n`` plain values."""
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = None
    if not (isinstance(value, tuple) and len(value) == n):
        raise ValueError(f"kept table: index entry {text!r} is not a tuple of {n} values (the index has {n} levels)")
    return value


def table_from_data(data: dict) -> pd.DataFrame:
    """The DataFrame of :func:`table_data`'s output (None for missing numbers)."""
    names = data.get("index_names") or [None]
    if len(names) > 1:  # a MultiIndex, its entries as lists (or, in snapshots kept before, as printed tuples)
        index = pd.MultiIndex.from_tuples([tuple(e) if isinstance(e, list) else _printed_tuple(e, len(names))
                                           for e in data["index"]], names=names)
    else:
        index = pd.Index(data["index"], name=names[0]) if names[0] is not None else None
    df = pd.DataFrame(data["data"], columns=data["columns"], dtype=object)
    df = df.infer_objects()
    if index is not None:
        df.index = index
    return df


def _bundle(df: pd.DataFrame, html_text: str | None = None) -> dict:
    return {"text/html": html_text or table_html(df),
            "text/plain": df.to_string(max_rows=None, max_cols=None),
            TABLE_MIME: table_data(df)}


def show_table(df: pd.DataFrame, **kwargs) -> None:
    """Display ``df`` in full (:func:`table_html` with ``kwargs``), carrying its data for snapshots."""
    from IPython.display import display

    display(_bundle(df, table_html(df, **kwargs)), raw=True)


def book_tables() -> None:
    """Show every DataFrame a cell returns as :func:`show_table` does (for the rest of this kernel's life)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.mimebundle_formatter.for_type(pd.DataFrame, lambda df, include=None, exclude=None:
                                                               _bundle(df))


# ----------------------------------------------------------------------------- the status table
def label_pages(root: Path | None = None) -> dict[str, str]:
    """MyST target label → chapter stem, for every ``(label)=`` in ``book/*.md``."""
    out = {}
    for f in sorted(((root or repo_root()) / "book").glob("*.md")):
        for label in re.findall(r"^\(([A-Za-z0-9_.:-]+)\)=\s*$", f.read_text(encoding="utf-8"), flags=re.M):
            out[label] = f.stem
    return out


_VERDICT_CLASS = {"agrees": "agrees", "differs, explained": "explained", "differs, unexplained": "unexplained"}


def status_view(judged: pd.DataFrame, root: Path | None = None) -> tuple[pd.DataFrame, str]:
    """The status page's columns of a judged table (:func:`dreamrg.verdicts.judge`) and their HTML.

    Columns: table, row, quantity, paper, ours ± error, (ours − paper)/σ, verdict; an
    explained verdict links to the book's section named by its explanation's target,
    with the one-line reason beneath.
    """
    pages = label_pages(root)
    verdict_html = []
    for v, reason, target in zip(judged["verdict"], judged["reason"], judged["target"]):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            verdict_html.append("—")
        elif isinstance(target, str):
            href = f"{pages.get(target, 'status')}.html#{target}"
            verdict_html.append(f'<a href="{html.escape(href)}" title="{html.escape(str(reason))}">{html.escape(v)}</a>'
                                f'<span class="reason">{html.escape(str(reason))}</span>')
        else:
            verdict_html.append(html.escape(v))
    z = judged["(ours − paper)/σ"]
    view = pd.DataFrame({"table": judged["table"], "row": judged["row"], "quantity": judged["quantity"],
                         "paper": judged["paper"], "ours ± error": judged["ours"],
                         "(ours − paper)/σ": [None if x is None or pd.isna(x) else format_z(float(x)) for x in z],
                         "verdict": verdict_html}).reset_index(drop=True)
    classes = [_VERDICT_CLASS.get(v, "") if isinstance(v, str) else "" for v in judged["verdict"]]
    data = view.assign(verdict=list(judged["verdict"]), reason=list(judged["reason"]), target=list(judged["target"]))
    return data, table_html(view, html_columns=("verdict",), cell_classes={"verdict": classes})


def show_status(judged: pd.DataFrame) -> None:
    """Display :func:`status_view` (full, sortable, filterable; the data kept for snapshots)."""
    from IPython.display import display

    data, html_text = status_view(judged)
    display(_bundle(data, html_text), raw=True)


# ----------------------------------------------------------------------------- snapshots
def snapshot_dir(chapter: str, profile: str = "paper", root: Path | None = None) -> Path:
    return (root or repo_root()) / "book" / "snapshots" / profile / chapter


_RUN = re.compile(r"\S+(?: \S+)*")  # words separated by single spaces


def _is_edge(line: str, e: int) -> bool:
    return len(line) >= e and line[e - 1] != " " and (len(line) == e or line[e] == " ")


def _parse_block(block: list[str]) -> tuple[list[str], str | None, dict[str, list[str | None]]]:
    """Columns, index name and rows (index → cells) of one block of pandas' printed text.

    pandas left-aligns the index and right-aligns every column and its header, so a
    column ends where a word of the header ends, every row has a character followed by
    a blank (or the line's end) and at least one line a double blank (columns are apart
    by two; a minus sign can take one of them).
    """
    header, body = block[0], block[1:]
    index_name = None
    if len(body) > 1 and len(_RUN.findall(body[0])) == 1 and not body[0].startswith(" "):
        index_name, body = body[0].strip(), body[1:]  # a line naming the index
    firsts = [_RUN.match(ln) for ln in body]
    width = max((m.end() for m in firsts if m), default=0)
    edges = [m.end() for m in re.finditer(r"\S+", header)
             if m.end() > width and all(_is_edge(ln, m.end()) for ln in body)
             and any(ln[m.end():m.end() + 2] in ("  ", "") for ln in [header] + body)]  # a wider gap somewhere
    columns = [header[a:b].strip() for a, b in zip([width] + edges[:-1], edges)]
    rows = {}
    for ln, first in zip(body, firsts):
        if first is None or set(first.group(0)) <= {"."}:
            continue  # a row pandas cut ("..") is lost
        rows[first.group(0)] = [ln[a:b].strip() or None for a, b in zip([width] + edges[:-1], edges)]
    return columns, index_name, rows


def parse_text_table(text: str) -> pd.DataFrame:
    """A DataFrame from pandas' printed text (as older snapshots kept it), wrapped blocks joined.

    Rows that pandas cut ("..") are dropped: they are lost. Cells stay strings.
    """
    lines = [ln.rstrip().removesuffix("\\").rstrip() for ln in text.strip("\n").splitlines()]
    lines = [ln for ln in lines if not re.match(r"^\[\d+ rows x \d+ columns\]$", ln.strip())]
    blocks, cur = [], []
    for ln in lines + [""]:
        if ln.strip():
            cur.append(ln)
        elif cur:
            blocks.append(cur)
            cur = []
    columns: list[str] = []
    rows: dict[str, dict[str, str | None]] = {}
    index_name = None
    for block in blocks:
        cols, name, body = _parse_block(block)
        index_name = index_name or name
        columns += cols
        for key, cells in body.items():
            rows.setdefault(key, {}).update(zip(cols, cells))
    df = pd.DataFrame.from_dict(rows, orient="index", columns=list(dict.fromkeys(columns)), dtype=object)
    df.index.name = index_name
    return df


def legacy_text_tables(folder: Path) -> list[str]:
    """The printed tables of an older snapshot's ``tables.md`` (one text per table)."""
    f = folder / "tables.md"
    return re.findall(r"```text\n(.*?)\n```", f.read_text(encoding="utf-8"), flags=re.S) if f.is_file() else []


def is_truncated(text: str) -> bool:
    """Whether pandas cut rows or columns of a printed table."""
    return bool(re.search(r"^\[\d+ rows x \d+ columns\]$", text, flags=re.M))


def snapshot_tables(chapter: str, profile: str = "paper", root: Path | None = None) -> list[pd.DataFrame]:
    """The tables a chapter's snapshot kept, in order: from ``table-<i>.json`` (full precision), or parsed from
    an older snapshot's printed text (:func:`parse_text_table`; numbers pandas cut are missing)."""
    folder = snapshot_dir(chapter, profile, root)
    files = sorted(folder.glob("table-*.json"), key=lambda f: int(f.stem.split("-")[1]))
    if files:
        return [table_from_data(json.loads(f.read_text())) for f in files]
    return [parse_text_table(t) for t in legacy_text_tables(folder)]


def kept_table(chapter: str, matches, what: str, profile: str = "paper", root: Path | None = None) -> pd.DataFrame:
    """The first table of a chapter's kept snapshot for which ``matches(table)`` is true.

    ``what`` names the table for the error: a snapshot with no such table (a renamed
    column, a chapter kept before the table existed) is one clear ``LookupError`` that
    says which chapter and profile and what its tables hold, not a bare ``StopIteration``.
    """
    kept = snapshot_tables(chapter, profile, root)
    for table in kept:
        if matches(table):
            return table
    held = "; ".join(f"[{', '.join(map(str, t.columns[:4]))}{', …' if len(t.columns) > 4 else ''}]" for t in kept)
    raise LookupError(f"the kept {profile!r} snapshot of chapter {chapter!r} ({snapshot_dir(chapter, profile, root)}) "
                      f"has no {what}; its {len(kept)} table(s) have the columns {held or '(none)'}. Keep the "
                      f"chapter again ('dreamrg book --profile {profile} --chapters {chapter}')")


def _meta_line(profile: str, meta: dict) -> str:
    commit = f", commit `{meta['git_commit']}`" if meta.get("git_commit") else ""
    longest = meta.get("seconds_longest", meta["seconds"])
    most = ("; the longest execution kept with the same chapter parameters and code took "
            f"{duration(longest)}" if longest > meta["seconds"] else "")
    return (f"**Kept results of the `{profile}` profile** — run on {meta['date']} with dreamrg "
            f"{meta['dreamrg_version']}{commit}; that execution took {duration(meta['seconds'])}, reusing any "
            f"results already cached{most} (not recomputed by this build).")


def earlier_code(meta: dict) -> list[tuple[str, int, int, str]] | None:
    """How the code changed the numbers of its cache stages since a snapshot was kept.

    :func:`dreamrg.cache.changes_since` of the stage versions the snapshot recorded
    (``meta["stage_versions"]``; an empty list when nothing changed), or None when it
    recorded none, so that what changed is not known.
    """
    versions = meta.get("stage_versions")
    return None if versions is None else cache.changes_since(versions)


def snapshot_meta(chapter: str, profile: str = "paper", root: Path | None = None) -> dict | None:
    """The ``meta.json`` of a chapter's kept snapshot (profile, date, commit, stage versions, outputs), or None
    when none is kept. The one reader of that file: the notes, phrases and tables about kept results use it."""
    f = snapshot_dir(chapter, profile, root) / "meta.json"
    return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else None


def earlier_code_note(meta: dict) -> str | None:
    """A Markdown warning for a snapshot made with code whose numbers have changed since, or None."""
    changes = earlier_code(meta)
    if changes is None:
        return ("**Code versions not recorded.** This snapshot does not say which versions of the cache "
                "stages made it, so whether this code gives the same numbers is not known.")
    if not changes:
        return None
    what = "; ".join(f"`{stage}` {then} → {now} ({text})" for stage, then, now, text in changes)
    return ("**Made with earlier code.** Since these results were kept, these stages of the code changed the "
            f"numbers they produce: {what}. Where this chapter draws on them, the kept numbers are those of the "
            "earlier code at the paper's statistics, not the values this code gives; the next paper-profile run "
            "of this chapter replaces them (see the appendix on how the paper profile was run).")


def kept_origin(chapter: str, profile: str = "paper") -> str:
    """A phrase for prose that quotes a chapter's kept results: when they were kept, and whether the code has
    changed their numbers since (:func:`earlier_code`), e.g. "kept on 2026-11-26 by code that has since
    changed these numbers"."""
    meta = snapshot_meta(chapter, profile)
    if meta is None:
        raise FileNotFoundError(f"no {profile}-profile snapshot of chapter {chapter!r} is kept "
                                f"({snapshot_dir(chapter, profile)} has no meta.json)")
    changes = earlier_code(meta)
    when = f"kept on {meta.get('date', '?')}"
    if changes is None:
        return f"{when}, code versions not recorded"
    return f"{when} by code that has since changed these numbers" if changes else when


def show_notes(notes: Iterable[str]) -> None:
    """Display each Markdown note as a quote (a notice under a result, typeset rather than printed)."""
    from IPython.display import Markdown, display

    for note in notes:
        display(Markdown(f"> {note}"))


def show_earlier_code_note(chapter: str, profile: str = "paper") -> None:
    """Display :func:`earlier_code_note` of a chapter's kept snapshot, as a quote (nothing if the numbers stand)."""
    meta = snapshot_meta(chapter, profile)
    note = earlier_code_note(meta) if meta is not None else None
    show_notes([note] if note else [])


LEGACY_NOTE = ("These tables were kept as pandas' printed text, before snapshots kept their data. Pandas cut "
               "tables longer than 60 rows to their first and last five rows (and wide tables to their outer "
               "columns); the numbers it cut are not stored anywhere and only come back by re-running the paper "
               "profile (about a day on two cores; see the appendix on how the paper profile was run).")


def kept_figure_html(png: Path, number: int, profile: str, meta: dict) -> str:
    """A kept figure as an HTML ``<figure>`` with a numbered caption saying where it comes from.

    The kept figures of a chapter are numbered in the order the chapter drew its own
    figures ("Kept figure 2" is the chapter's second figure, at ``profile``'s statistics).
    """
    import base64

    data = base64.b64encode(png.read_bytes()).decode()
    commit = f", commit {html.escape(str(meta['git_commit']))}" if meta.get("git_commit") else ""
    return (f'<figure class="dreamrg-kept-figure" style="margin: 1em 0">'
            f'<img src="data:image/png;base64,{data}" alt="kept figure {number}" style="max-width: 100%">'
            f'<figcaption><p><span class="caption-number">Kept figure {number} </span>'
            f'<span class="caption-text">The chapter\'s figure {number} at the {html.escape(profile)} profile, '
            f'as kept on {html.escape(str(meta.get("date", "?")))}{commit} (not recomputed by this build).'
            f'</span></p></figcaption></figure>')


def section_line(heading: str) -> str:
    """The line above a chapter's kept results of one section: its heading, set apart from the page's own."""
    return f"*From the section “{heading}”:*"


def show_snapshot(chapter: str, profile: str = "paper", current: str | None = None) -> None:
    """Display the kept results of ``chapter`` at ``profile`` (figures and full tables), if any.

    Used at the end of chapters: when the book is built at another profile, the results
    of the last paper-profile run (committed under ``book/snapshots/``) are shown with
    their date and run time, in the order the chapter produced them, each run of results under the
    section heading it appeared under (when the snapshot recorded it). Nothing is shown when
    ``current == profile`` (the chapter itself already shows them) or when no snapshot exists.
    """
    from IPython.display import HTML, Markdown, display

    if current == profile:
        return
    folder = snapshot_dir(chapter, profile)
    meta = snapshot_meta(chapter, profile)
    if meta is None:
        print(f"No {profile}-profile snapshot of this chapter has been kept yet.")
        return
    display(Markdown(_meta_line(profile, meta)))
    show_earlier_code_note(chapter, profile)
    outputs = meta.get("outputs")
    if outputs is None:  # an older snapshot: tables as printed text, then the figures
        texts = legacy_text_tables(folder)
        if any(is_truncated(t) for t in texts):
            display(Markdown(f"*{LEGACY_NOTE}*"))
        for t in texts:
            display(Markdown(f"```text\n{t}\n```"))
        outputs = [f"figure-{i}.png" for i in range(1, meta["figures"] + 1)]
    texts = legacy_text_tables(folder)
    sections = meta.get("sections") or {}  # kept before sections were recorded: none
    figure, shown = 0, None
    for name in outputs:
        if sections.get(name) and sections[name] != shown:  # where in the chapter the next results come from
            shown = sections[name]
            display(Markdown(section_line(shown)))
        if name.endswith(".png"):
            figure += 1
            display(HTML(kept_figure_html(folder / name, figure, profile, meta)))
        elif name.endswith(".json"):
            show_table(table_from_data(json.loads((folder / name).read_text())))
        elif name.startswith("tables.md:"):
            display(Markdown(f"```text\n{texts[int(name.split(':')[1]) - 1]}\n```"))


# ----------------------------------------------------------------------------- run costs
def snapshot_runs(root: Path | None = None) -> pd.DataFrame:
    """One line per kept snapshot (``book/snapshots/<profile>/<chapter>/meta.json``): chapter, profile, date,
    commit, dreamrg version, seconds (the longest execution kept with the same chapter parameters and code,
    :func:`dreamrg.bookrun.longest_seconds`), figures, tables and "code since" (:func:`earlier_code`: "same
    numbers", "changed: <stages>" or "not recorded")."""
    root = root or repo_root()
    rows = []
    for f in sorted((root / "book" / "snapshots").glob("*/*/meta.json")):
        m = json.loads(f.read_text())
        rows.append({"chapter": m.get("chapter", f.parent.name), "profile": m.get("profile", f.parent.parent.name),
                     "date": m.get("date"), "commit": m.get("git_commit"), "dreamrg": m.get("dreamrg_version"),
                     "seconds": m.get("seconds_longest", m.get("seconds")),
                     "figures": m.get("figures"), "tables": m.get("tables"),
                     "code since": _since(m)})
    return pd.DataFrame(rows, columns=["chapter", "profile", "date", "commit", "dreamrg", "seconds", "figures",
                                       "tables", "code since"])


def _since(meta: dict) -> str:
    """"same numbers", "changed: mc, mcrg" or "not recorded": how the code changed since a snapshot."""
    changes = earlier_code(meta)
    if changes is None:
        return "not recorded"
    return "changed: " + ", ".join(stage for stage, *_ in changes) if changes else "same numbers"


def chapter_titles(root: Path | None = None) -> dict[str, str]:
    """Chapter stem → its first level-1 heading (a line ``# Title``), in table-of-contents order (other
    chapters after)."""
    import yaml

    root = root or repo_root()
    toc = yaml.safe_load((root / "book" / "_toc.yml").read_text())
    names = [toc["root"]] + [c["file"] for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}])
                             for c in part["chapters"]]
    out = {}
    for name in names + sorted(p.stem for p in (root / "book").glob("*.md") if p.stem not in names):
        f = root / "book" / f"{name}.md"
        if f.is_file():
            m = re.search(r"^# (.+)$", f.read_text(encoding="utf-8"), flags=re.M)
            out[name] = m.group(1).strip() if m else name
    return out


def cost_table(root: Path | None = None) -> pd.DataFrame:
    """Chapter × profile → "time (date, commit)" of the kept snapshots' executions (see :func:`snapshot_runs`),
    with "; code since: <stages>" when the code has changed those stages' numbers since (or not recorded them)."""
    runs = snapshot_runs(root)
    titles = chapter_titles(root)
    if runs.empty:
        return pd.DataFrame(index=pd.Index([], name="chapter"))
    runs["cell"] = [f"{duration(s)} ({d}, {c if isinstance(c, str) else 'commit not recorded'}"
                    + (")" if since == "same numbers" else f"; code since: {since.removeprefix('changed: ')})")
                    for s, d, c, since in zip(runs["seconds"], runs["date"], runs["commit"], runs["code since"])]
    wide = runs.pivot(index="chapter", columns="profile", values="cell")
    order = [c for c in titles if c in wide.index] + [c for c in wide.index if c not in titles]
    wide = wide.loc[order]
    wide.index = pd.Index([titles.get(c, c) for c in wide.index], name="chapter")
    wide.columns = [f"{p} profile" for p in wide.columns]
    return wide.fillna("not kept")
