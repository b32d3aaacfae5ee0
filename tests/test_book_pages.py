"""The book's plain pages (API reference, bibliography) and the Sphinx helpers behind them (no build)."""

import re
from pathlib import Path

import yaml

from dreamrg import _sphinx_api as api
from dreamrg._sphinx_book import markdown_launch_url

ROOT = Path(__file__).resolve().parents[1]
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


def test_every_cited_work_is_in_refs_bib_and_the_bibliography_page_is_in_the_toc():
    keys = set(re.findall(r"^@\w+\{([^,]+),", (ROOT / "refs.bib").read_text(), flags=re.M))
    cited = {k.strip(): page.name for page in (ROOT / "book").glob("*.md")
             for group in CITE.findall(page.read_text()) for k in group.split(",")}
    assert cited, "no {cite} found in the book"
    assert not {k: p for k, p in cited.items() if k not in keys}, "cited keys missing from refs.bib"
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files = [c["file"] for c in toc["chapters"]]
    assert files[-2:] == ["api", "references"]
    assert "```{bibliography}" in (ROOT / "book" / "references.md").read_text()
    # one bibliography only: a second {bibliography} lists every cited work again (duplicate citations)
    others = [p.name for p in (ROOT / "book").glob("*.md")
              if p.name != "references.md" and "{bibliography}" in p.read_text()]
    assert not others, f"{others}: the bibliography is book/references.md only"


def test_api_page_documents_every_public_module_that_exists():
    text = (ROOT / "book" / "api.md").read_text()
    documented = re.findall(r"^\.\. automodule:: (\S+)", text, flags=re.M)
    assert len(documented) == len(set(documented))
    for module in ["dreamrg", "dreamrg.stats", "dreamrg.exact", "dreamrg.profiles", "dreamrg.store", "dreamrg.mc",
                   "dreamrg.coarse", "dreamrg.patches", "dreamrg.models", "dreamrg.exact_fit", "dreamrg.train",
                   "dreamrg.sampler", "dreamrg.dream", "dreamrg.observables", "dreamrg.fss", "dreamrg.mcrg",
                   "dreamrg.experiments", "dreamrg.verdicts", "dreamrg.tables", "dreamrg.plotting", "dreamrg.display"]:
        assert module in documented, module
    public = set()
    for f in (ROOT / "src").rglob("*.py"):  # every module without an underscore in its path (bar __init__)
        parts = f.relative_to(ROOT / "src").with_suffix("").parts
        if not any(x.startswith("_") and x != "__init__" for x in parts):
            public.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    assert public - set(documented) == {"dreamrg.cli"}            # the command line documents itself (--help)
    for module in documented:
        assert api.lookup(module) is not api._MISSING, module


def test_bars_are_escaped_outside_code_only():
    assert api.escape_bars("chi = L^2 <|m|> and c_me ~ <|m||e|>") == r"chi = L^2 <\|m\|> and c_me ~ <\|m\|\|e\|>"
    for kept in ["``<|m|>``", ":math:`|m|`", "`|m|`", "| a | b |", "a || b", "x | y"]:
        assert api.escape_bars(kept) == kept


def test_lookup_finds_public_objects_by_any_name_and_nothing_else():
    import dreamrg.mcrg
    from dreamrg.mcrg import results

    assert api.lookup("dreamrg.mcrg.MCRGResult") is results.MCRGResult is api.lookup("dreamrg.mcrg.results.MCRGResult")
    assert api.lookup("dreamrg.mcrg.OPERATORS") is dreamrg.mcrg.OPERATORS
    assert api.lookup("dreamrg.stats.Estimate.to_dict") is not api._MISSING
    assert api.lookup("dreamrg.stats.Estimate.value") is api._FIELD          # a dataclass field
    assert api.lookup("dreamrg.stats.no_such_name") is api._MISSING
    assert api.lookup("numpy.ndarray") is api._MISSING                          # outside the package
    assert api._candidates("ODD", "dreamrg.mcrg.spin_operators", None) == [
        "dreamrg.mcrg.spin_operators.ODD", "dreamrg.mcrg.ODD", "dreamrg.ODD", "ODD"]


def test_binder_opens_the_jupytext_source():
    url = "https://mybinder.org/v2/gh/dreamrg/dreamrg/main?urlpath=lab/tree/book/fss.ipynb"
    assert markdown_launch_url(url) == "https://mybinder.org/v2/gh/dreamrg/dreamrg/main?urlpath=lab/tree/book/fss.md"
    colab = "https://colab.research.google.com/github/dreamrg/dreamrg/blob/main/book/fss.ipynb"
    assert markdown_launch_url(colab) == colab


def test_config_launch_and_repository_settings():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"].startswith("https://github.com/")
    assert config["repository"]["path_to_book"] == "book"
    assert config["launch_buttons"]["binderhub_url"] and config["launch_buttons"]["colab_url"]
    extensions = config["sphinx"]["extra_extensions"]
    assert extensions.index("sphinx.ext.napoleon") < extensions.index("dreamrg._sphinx_api")


def test_no_chapter_prints_raw_text():
    """A chapter's results are typeset: tables, figures, glued prose and quoted notes. A print() in an executed
    cell would put an unformatted monospace line on the page (and duplicate what the parameters table shows)."""
    import ast

    import jupytext

    from dreamrg.bookrun import toc_notebooks

    offenders = []
    for chapter in toc_notebooks(ROOT):
        for cell in jupytext.read(ROOT / "book" / f"{chapter}.md").cells:
            if cell.cell_type != "code":
                continue
            code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            offenders += [f"{chapter}: line {n.lineno} of a cell" for n in ast.walk(ast.parse(code))
                          if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"]
    assert not offenders, offenders
