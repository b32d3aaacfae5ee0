"""The whole book builds warning-free (``-W``) from papermill-executed chapters."""

from pathlib import Path

import pytest

from dreamrg.bookrun import build_book, toc_chapters

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_book_builds_warning_free_at_smoke_profile(tmp_path):
    index = build_book(profile="smoke", root=ROOT, base=tmp_path)
    assert index.is_file()
    html = index.parent
    for chapter in toc_chapters(ROOT):
        assert (html / f"{chapter}.html").is_file(), chapter
    mc_page = (html / "monte_carlo.html").read_text()
    assert "<img" in mc_page and "Traceback" not in mc_page


def test_snapshot_keeps_figures_and_tables(tmp_path):
    import json

    import nbformat

    from dreamrg.bookrun import save_snapshot

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
        nbformat.v4.new_output("execute_result", data={"text/html": "<table></table>", "text/plain": "a  b\n1  2"},
                               execution_count=1),
    ]
    nb.cells.append(cell)
    path = tmp_path / "ch.ipynb"
    nbformat.write(nb, path)
    (tmp_path / "book").mkdir()
    out = save_snapshot(tmp_path, "ch", "paper", path, 12.0)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["figures"] == 1 and meta["tables"] == 1 and meta["profile"] == "paper"
    assert (out / "figure-1.png").read_bytes().startswith(b"\x89PNG")
    assert "a  b" in (out / "tables.md").read_text()
    assert meta["git_commit"] is None                      # tmp_path is not a git checkout
    # a failing rewrite leaves the previous snapshot in place and no temporary directories behind
    (out / "figure-2.png").write_bytes(b"old")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("not a notebook")
    with pytest.raises(Exception):
        save_snapshot(tmp_path, "ch", "paper", broken, 1.0)
    assert (out / "figure-2.png").read_bytes() == b"old"
    assert sorted(p.name for p in out.parent.iterdir()) == ["ch"]
    # a successful rewrite replaces it completely
    save_snapshot(tmp_path, "ch", "paper", path, 3.0)
    assert not (out / "figure-2.png").exists() and json.loads((out / "meta.json").read_text())["seconds"] == 3.0
