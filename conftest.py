"""Collect the book's jupytext chapters for nbval.

nbval only collects ``.ipynb``; this collector reads every ``book/*.md`` whose
header declares jupytext and a kernelspec, inserts ``profile = "smoke"`` right
after the cell tagged ``parameters`` (as papermill would), and lets nbval run
every code cell in the current environment (``--nbval-lax``: text notebooks
store no outputs, so only errors fail).
"""

from __future__ import annotations

import nbformat
import pytest
import nbval.plugin as _nbval

SMOKE_CELL = 'profile = "smoke"  # injected by conftest.py for the test suite'


def _is_jupytext_chapter(path) -> bool:
    if path.suffix != ".md" or path.parent.name != "book":
        return False
    head = path.read_text(encoding="utf-8")[:600]
    return "jupytext:" in head and "kernelspec:" in head


class JupytextChapter(_nbval.IPyNbFile):
    """An nbval notebook file read through jupytext, run at the smoke profile."""

    def collect(self):
        import jupytext

        nb = jupytext.read(str(self.fspath))
        for i, cell in enumerate(nb.cells):
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                nb.cells.insert(i + 1, nbformat.v4.new_code_cell(SMOKE_CELL))
                break
        original = _nbval.nbformat.read
        _nbval.nbformat.read = lambda *args, **kwargs: nb
        try:
            for item in super().collect():
                # executing a chapter is an end-to-end run, not part of the fast loop (-m "not slow")
                item.add_marker(pytest.mark.slow)
                yield item
        finally:
            _nbval.nbformat.read = original


def pytest_collect_file(file_path, parent):
    opt = parent.config.option
    if (opt.nbval or opt.nbval_lax) and _is_jupytext_chapter(file_path):
        return JupytextChapter.from_parent(parent, path=file_path)
    return None
