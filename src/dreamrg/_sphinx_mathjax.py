"""Sphinx extension: the book carries its own MathJax 3, so its math renders with no network.

Jupyter Book loads MathJax from a CDN by default; offline, every formula then stays raw LaTeX.
This extension copies the plain MathJax 3 distribution (``es5/``) of an installed Python package
into the HTML output's ``_static/mathjax/`` when the build finishes, and checks at start-up that
``mathjax_path`` names a file of that copy. ``_config.yml`` enables it with::

    sphinx:
      extra_extensions: [dreamrg._sphinx_mathjax]
      config:
        mathjax_path: mathjax/tex-mml-chtml.js   # relative: served from _static/

The files come from the PyPI wheel ``django-static-mathjax`` (its ``mathjax/static/mathjax/es5/``
is the MathJax release as published; only the files are used, Django is not needed), pinned in
``requirements/lock.txt`` and in the ``[book]`` extra. A ``mathjax_path`` that is a URL is left
alone (nothing is copied), so pointing it back at a CDN restores Jupyter Book's default.

Imports only the standard library at module level; it is used by the book build, never by the
library itself.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

#: The directory under ``_static`` that receives the copy; ``mathjax_path`` must start with it.
STATIC_SUBDIR = "mathjax"
#: Where the distribution lies inside the ``mathjax`` package of ``django-static-mathjax``.
_ES5 = Path("static", "mathjax", "es5")
#: Top-level files of ``es5/`` that are other combined bundles (or fetch from a CDN): not copied.
_OTHER_BUNDLES = ("tex-*.js", "mml-*.js", "node-main.js", "latest.js")
INSTALL_HINT = "pip install django-static-mathjax==3.2.2.1 (it is in requirements/lock.txt and the [book] extra)"


def mathjax_dir() -> Path:
    """The installed MathJax 3 ``es5/`` directory; ``FileNotFoundError`` (with the fix) when absent."""
    spec = importlib.util.find_spec("mathjax")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / _ES5
        if (candidate / "tex-mml-chtml.js").is_file():
            return candidate
    raise FileNotFoundError(f"no local MathJax 3 found for the book; {INSTALL_HINT}")


def _is_local(path: str) -> bool:
    return bool(path) and "://" not in path and not path.startswith("/")


def _entry(mathjax_path: str) -> str:
    """``mathjax/tex-mml-chtml.js`` -> ``tex-mml-chtml.js`` (the file inside ``es5/``)."""
    prefix = STATIC_SUBDIR + "/"
    if not mathjax_path.startswith(prefix):
        raise ValueError(f"a local mathjax_path must start with {prefix!r}, got {mathjax_path!r}")
    return mathjax_path[len(prefix):]


def copy_mathjax(dest: Path, entry: str = "tex-mml-chtml.js", source: Path | None = None) -> int:
    """Copy MathJax's ``es5/`` into ``dest``: the ``entry`` bundle and every component directory
    (fonts, TeX extensions loaded on demand, menu, accessibility), not the other bundles.
    Returns the number of files in ``dest``."""
    source = source or mathjax_dir()
    if not (source / entry).is_file():
        raise FileNotFoundError(f"{entry} is not part of MathJax in {source}")

    def ignore(directory: str, names: list[str]) -> set[str]:
        if Path(directory) != source:
            return set()
        import fnmatch

        return {n for n in names if n != entry and any(fnmatch.fnmatch(n, p) for p in _OTHER_BUNDLES)}

    shutil.copytree(source, dest, ignore=ignore, dirs_exist_ok=True)
    return sum(1 for p in dest.rglob("*") if p.is_file())


def _check_config(app: Any, config: Any) -> None:
    from sphinx.errors import ConfigError

    path = config.mathjax_path
    if not _is_local(path):
        return
    try:
        source = mathjax_dir()
        entry = _entry(path)
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    if not (source / entry).is_file():
        raise ConfigError(f"mathjax_path {path!r}: {entry} is not part of MathJax in {source}")


def _copy_on_finish(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html" or not _is_local(app.config.mathjax_path):
        return
    copy_mathjax(Path(app.outdir) / "_static" / STATIC_SUBDIR, _entry(app.config.mathjax_path))


def setup(app: Any) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("config-inited", _check_config)
    app.connect("build-finished", _copy_on_finish)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
