"""Where things live: the repository checkout and the result-cache directory."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The dreamrg checkout (the folder holding ``book/_toc.yml``): beside this package, else the working directory."""
    here = Path(__file__).resolve().parents[2]
    if (here / "book" / "_toc.yml").is_file():
        return here
    cwd = Path.cwd()
    if (cwd / "book" / "_toc.yml").is_file():
        return cwd
    raise FileNotFoundError("cannot find the dreamrg book (book/_toc.yml); run from the repository root")


def data_dir() -> Path:
    """The result cache: ``$DREAMRG_DATA`` if set, else ``data/`` of the checkout holding this package,
    else ``./data``."""
    env = os.environ.get("DREAMRG_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file():
        return repo / "data"
    return Path.cwd() / "data"


def carried_dir(root: Path | None = None) -> Path:
    """``book/data/carried/`` of the checkout: the results a long run carries between sittings, kept in git.

    A sparse mirror of the data directory (:mod:`dreamrg.runs.carry`): finished results and
    the finished chains of streamed runs, none of the stores.
    """
    return (root or repo_root()) / "book" / "data" / "carried"
