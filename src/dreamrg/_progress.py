"""Progress-bar policy shared by every long-running step."""

from __future__ import annotations

import sys


def _no_bar(progress: bool | None) -> bool:
    """tqdm's ``disable`` flag: ``None`` shows a bar only on an interactive terminal.

    Notebooks executed by papermill or Jupyter Book are not terminals, so the book
    stays free of progress-bar noise while the command line shows bars.
    """
    if progress is None:
        return not sys.stderr.isatty()
    return not progress
