"""Every figure of the book is glued, captioned, labelled and cited; every code cell of a chapter is hidden.

Reads the chapters' MyST sources (no execution): a ``{glue:figure}`` directive must carry a ``:name:`` that
some ``{numref}`` cites and a caption; every ``plotting.glue_figure("<name>", ...)`` of a code cell must be
pasted by a directive (and vice versa); a code cell that draws must glue its figure (else it would show
uncaptioned); every code cell is tagged so that its code is hidden.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p for p in (ROOT / "book").glob("*.md") if "kernelspec:" in p.read_text()[:600])
#: chapters whose cells another part of the book owns (generated tables, no figures)
UNTAGGED_OK = {"status"}

CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.M | re.S)
GLUE_FIGURE = re.compile(r"^```\{glue:figure\}\s+(\S+)\n(.*?)^```", re.M | re.S)
GLUED = re.compile(r"""plotting\.glue_figure\(\s*["']([^"']+)["']""")
DRAWS = re.compile(r"plotting\.(?!glue_figure|model_style)\w+\(|plt\.(subplots|figure)\(")


def _book_text() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "book").glob("*.md"))


def _cells(path: Path) -> list[str]:
    return CODE_CELL.findall(path.read_text())


def _tags(cell: str) -> list[str]:
    m = re.match(r":tags:\s*\[([^\]]*)\]", cell)
    return [t.strip() for t in m.group(1).split(",")] if m else []


def test_chapters_found():
    assert {"monte_carlo", "fss", "mcrg", "complexity"} <= {p.stem for p in CHAPTERS}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_is_glued_captioned_labelled_and_cited(path):
    text = path.read_text()
    cited = set(re.findall(r"\{numref\}`([^`<]+)`", _book_text()))
    directives = GLUE_FIGURE.findall(text)
    pasted = set()
    for key, body in directives:
        name = re.search(r"^:name:\s*(\S+)", body, re.M)
        assert name, f"{path.stem}: glue:figure {key} has no :name:"
        assert name.group(1) in cited, f"{path.stem}: no {{numref}} cites {name.group(1)}"
        caption = "\n".join(line for line in body.splitlines() if line.strip() and not line.startswith(":"))
        assert len(caption) > 40, f"{path.stem}: {key} has no caption"
        assert re.search(r"Figs?\. \d+(?: and \d+)? of the paper|no such figure|Beyond the paper", caption), \
            f"{path.stem}: {key}'s caption names no paper figure (or says there is none)"
        pasted.add(key)
    glued = [name for cell in _cells(path) for name in GLUED.findall(cell)]
    assert len(glued) == len(set(glued)), f"{path.stem}: a figure glued twice"
    assert set(glued) == pasted, f"{path.stem}: glued {sorted(set(glued) - pasted)} never pasted, " \
                                 f"pasted {sorted(pasted - set(glued))} never glued"
    for cell in _cells(path):
        if DRAWS.search(cell) and ("figure(" in cell or re.search(r"fig\s*=", cell)):
            assert GLUED.search(cell), f"{path.stem}: a cell draws a figure without gluing it:\n{cell}"


@pytest.mark.parametrize("path", [p for p in CHAPTERS if p.stem not in UNTAGGED_OK], ids=lambda p: p.stem)
def test_every_code_cell_hides_its_code(path):
    for cell in _cells(path):
        tags = _tags(cell)
        assert {"hide-input", "remove-input", "remove-cell"} & set(tags), f"{path.stem}: visible code:\n{cell}"
        if "parameters" in tags:
            assert "remove-cell" in tags, f"{path.stem}: the parameters cell is shown"
