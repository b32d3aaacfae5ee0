"""The package's layering, read from the code's own imports (imports inside functions count).

Layers, lowest first; a module may import its own layer and the ones below, never above:

0. base -- utilities, numba kernels and their reference twins, paths, the cache mechanics,
   statistics, exact results, the paper's values and the profiles (pure data);
1. stages -- one module (or subpackage) per step of the pipeline; they know nothing of caching;
2. runs -- every cached recipe (``dreamrg.runs``);
3. experiments -- which models and results a profile means, and the tables against the paper;
4. presentation -- plotting, notebook display, the book runner and the command line.

A module that matches no rule fails the test: a new file must be placed on a layer deliberately.
"""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: (pattern, layer) -- the first pattern that matches a module's dotted name gives its layer
LAYERS: tuple[tuple[str, int], ...] = (
    ("dreamrg", 4),  # the package facade re-exports the public API
    ("dreamrg.__main__", 4),
    ("dreamrg._*_reference", 1),  # plain twins share their stage's input checks
    ("dreamrg._*", 0),  # incl. _cluster (where units run: in process or Dask)
    ("dreamrg.paths", 0),
    ("dreamrg.cache", 0),
    ("dreamrg.stats", 0),
    ("dreamrg.exact", 0),
    ("dreamrg.paper_values", 0),
    ("dreamrg.profiles", 0),
    ("dreamrg.conventions", 0),
    ("dreamrg.store", 1),
    ("dreamrg.mc", 1),
    ("dreamrg.coarse", 1),
    ("dreamrg.patches", 1),
    ("dreamrg.models", 1),
    ("dreamrg.models.*", 1),
    ("dreamrg.released", 1),
    ("dreamrg.exact_fit", 1),
    ("dreamrg.conditioned", 1),
    ("dreamrg.conditioned_fit", 1),
    ("dreamrg.train", 1),
    ("dreamrg.train_conditioned", 1),
    ("dreamrg.sampler", 1),
    ("dreamrg.dream", 1),
    ("dreamrg.ensemble", 1),
    ("dreamrg.observables", 1),
    ("dreamrg.fss", 1),
    ("dreamrg.offcritical", 1),
    ("dreamrg.mcrg", 1),
    ("dreamrg.mcrg.*", 1),
    ("dreamrg.runs", 2),
    ("dreamrg.runs.*", 2),
    ("dreamrg.experiments", 3),
    ("dreamrg.experiments.*", 3),
    ("dreamrg.cluster_costs", 3),  # a profile's wall time on W workers, from measured per-unit costs
    ("dreamrg.prewarm", 3),  # a profile's cached results computed on a Dask cluster before the chapters
    ("dreamrg.tables", 3),
    ("dreamrg.mcrg_tables", 3),
    ("dreamrg.table_views", 3),  # wide tables folded to fit a page
    ("dreamrg.spread_tables", 3),  # seed-spread checks of jackknife errors (the FSS and MCRG chapters')
    ("dreamrg.verdicts", 3),
    ("dreamrg.offcritical_tables", 3),
    ("dreamrg.plotting", 4),
    ("dreamrg.offcritical_plots", 4),
    ("dreamrg.display", 4),
    ("dreamrg.chapter_parameters", 4),  # the parameters a chapter used, as a small table
    ("dreamrg.quotes", 4),
    ("dreamrg.bookrun", 4),
    ("dreamrg.cli", 4),
    ("dreamrg.cli.*", 4),
)
LAYER_NAMES = ("base", "stages", "runs", "experiments", "presentation")


def modules(src: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``package`` under ``src``."""
    out = {}
    for f in sorted((src / package).rglob("*.py")):
        parts = list(f.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def import_graph(src: Path, package: str) -> dict[str, set[str]]:
    """module -> the modules of ``package`` it imports, at any depth of its code.

    ``from a.b import c`` counts as an import of ``a.b.c`` when that is a module, else of ``a.b``.
    """
    files = modules(src, package)

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, f in files.items():
        is_pkg = f.name == "__init__.py"
        base = mod.split(".") if is_pkg else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"), str(f))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    stem = ".".join(base[: len(base) - node.level + 1])
                    stem = f"{stem}.{node.module}" if node.module else stem
                else:
                    stem = node.module or ""
                targets = [f"{stem}.{a.name}" for a in node.names]
            else:
                continue
            for t in targets:
                if t.split(".")[0] == package:
                    r = resolve(t)
                    if r and r != mod:
                        graph[mod].add(r)
    return graph


def layer_of(module: str, rules=LAYERS) -> int | None:
    for pattern, layer in rules:
        if fnmatch.fnmatchcase(module, pattern):
            return layer
    return None


def upward_imports(graph: dict[str, set[str]], rules=LAYERS) -> list[str]:
    """Every import of a module from a higher layer, as readable lines."""
    bad = []
    for mod, targets in sorted(graph.items()):
        for t in sorted(targets):
            lm, lt = layer_of(mod, rules), layer_of(t, rules)
            if lm is not None and lt is not None and lt > lm:
                bad.append(f"{mod} ({LAYER_NAMES[lm]}) imports {t} ({LAYER_NAMES[lt]})")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


# ----------------------------------------------------------------------------- the package itself
def test_every_module_has_a_layer():
    unplaced = [m for m in modules(SRC, "dreamrg") if layer_of(m) is None]
    assert not unplaced, f"place these modules on a layer in tests/test_layers.py: {unplaced}"


def test_no_module_imports_a_higher_layer():
    bad = upward_imports(import_graph(SRC, "dreamrg"))
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_import_cycles():
    graph = import_graph(SRC, "dreamrg")
    # a package's __init__ re-exports its submodules; the submodules importing the package's other
    # members through it is not a cycle of the code
    for pkg in [m for m, f in modules(SRC, "dreamrg").items() if f.name == "__init__.py"]:
        graph[pkg] = {t for t in graph[pkg] if not t.startswith(pkg + ".")}
    assert not cycles(graph), f"import cycles: {cycles(graph)}"


def test_no_module_over_700_lines():
    long = {m: n for m, f in modules(SRC, "dreamrg").items()
            if (n := len(f.read_text(encoding="utf-8").splitlines())) > 700}
    assert not long, f"modules over 700 lines: {long}"


# ----------------------------------------------------------------------------- the checker catches what it must
def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = tmp_path / "pkg" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path


RULES = (("pkg", 2), ("pkg.low", 0), ("pkg.mid", 1), ("pkg.top", 2))


def test_checker_finds_an_upward_import_inside_a_function(tmp_path):
    src = _package(tmp_path, {"__init__.py": "", "low.py": "def f():\n    from pkg import top\n",
                              "mid.py": "import pkg.low\n", "top.py": "from pkg.mid import x\n"})
    graph = import_graph(src, "pkg")
    assert graph["pkg.low"] == {"pkg.top"}
    assert upward_imports(graph, RULES) == ["pkg.low (base) imports pkg.top (runs)"]


def test_checker_finds_a_cycle_through_relative_imports(tmp_path):
    src = _package(tmp_path, {"__init__.py": "", "low.py": "from . import mid\n",
                              "mid.py": "def g():\n    from .low import f\n", "top.py": ""})
    assert cycles(import_graph(src, "pkg")) == [["pkg.low", "pkg.mid"]]


def test_checker_passes_a_clean_package(tmp_path):
    src = _package(tmp_path, {"__init__.py": "from pkg.top import t\n", "low.py": "",
                              "mid.py": "from pkg import low\n", "top.py": "from .mid import m\nimport pkg.low\n"})
    graph = import_graph(src, "pkg")
    assert graph["pkg.top"] == {"pkg.mid", "pkg.low"}
    assert upward_imports(graph, RULES) == [] and cycles(graph) == []


@pytest.mark.parametrize("module", ["dreamrg.runs.mc", "dreamrg.mcrg.drivers", "dreamrg._numba"])
def test_rules_place_subpackage_modules(module):
    assert layer_of(module) is not None
