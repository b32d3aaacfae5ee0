"""Notebook display of kept results: the paper-profile snapshots shown at the end of each chapter."""

from __future__ import annotations

import json

from dreamrg.paths import repo_root


def show_snapshot(chapter: str, profile: str = "paper", current: str | None = None) -> None:
    """Display the kept results of ``chapter`` at ``profile`` (figures and tables), if any.

    Used at the end of chapters: when the book is built at another profile, the
    results of the last paper-profile run (committed under ``book/snapshots/``) are
    shown with their date and run time. Nothing is shown when ``current == profile``
    (the chapter itself already shows them) or when no snapshot exists.
    """
    from IPython.display import Image, Markdown, display

    if current == profile:
        return
    folder = repo_root() / "book" / "snapshots" / profile / chapter
    if not (folder / "meta.json").is_file():
        print(f"No {profile}-profile snapshot of this chapter has been kept yet.")
        return
    meta = json.loads((folder / "meta.json").read_text())
    commit = f", commit `{meta['git_commit']}`" if meta.get("git_commit") else ""
    display(Markdown(f"**Kept results of the `{profile}` profile** — run on {meta['date']} with dreamrg "
                     f"{meta['dreamrg_version']}{commit}; that execution took {meta['seconds'] / 60:.1f} min, reusing any "
                     "results already cached (not recomputed by this build)."))
    tables = (folder / "tables.md").read_text() if (folder / "tables.md").is_file() else ""
    if tables:
        display(Markdown(tables))
    for i in range(1, meta["figures"] + 1):
        display(Image(filename=str(folder / f"figure-{i}.png")))
