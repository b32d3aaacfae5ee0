"""Sphinx extension: the book's launch buttons open the chapters as the repository holds them.

``dreamrg book`` renders notebooks executed by papermill (``_build/notebooks/<profile>/<chapter>.ipynb``),
so sphinx-book-theme builds its Binder link to ``book/<chapter>.ipynb``, a file the repository does
not have: the chapters are MyST-markdown notebooks (``book/<chapter>.md``), which Jupyter opens as
notebooks through jupytext (installed with the package's requirements). This extension points the
Binder (and JupyterHub) launch link at the ``.md`` source. Colab opens only ``.ipynb`` files from
GitHub, so its button needs executed notebooks published in the repository (it is left as the theme
builds it). Enabled in ``_config.yml`` (``sphinx: extra_extensions``); standard library only.
"""

from __future__ import annotations

import re
from typing import Any

_NOTEBOOK_IN_URLPATH = re.compile(r"((?:urlpath=|%2F|/)(?:tree|lab(?:/|%2F)tree)(?:/|%2F)[^?&#]*?)\.ipynb\b")


def markdown_launch_url(url: str) -> str:
    """``...?urlpath=lab/tree/book/fss.ipynb`` -> ``...?urlpath=lab/tree/book/fss.md`` (Binder, JupyterHub)."""
    return _NOTEBOOK_IN_URLPATH.sub(r"\1.md", url)


def _launch_md(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("text") in ("Binder", "JupyterHub") and "url" in button:
                button["url"] = markdown_launch_url(button["url"])


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", _launch_md, priority=502)  # after sphinx-book-theme's buttons (501)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
