"""The parameters table each chapter shows, and the removal of the parameter cells from the rendered page."""

import json

import nbformat
import pytest

from dreamrg.display import parameters_markdown, parameters_table
from dreamrg.profiles import CHAPTERS, SECTIONS, load_profile


def _rows(text: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split(" | ") for line in text.splitlines() if line.startswith("| `")]
    return {r[0].strip(): [c.strip() for c in r[1:]] for r in rows}


def test_table_lists_every_parameter_of_the_chapter_with_its_value_and_a_meaning():
    import dataclasses

    for chapter, cls in SECTIONS.items():
        text = parameters_markdown("smoke", chapter)
        assert text.startswith("This build used the **smoke** profile:"), chapter
        rows = _rows(text)
        assert list(rows) == [f"`{f.name}`" for f in dataclasses.fields(cls)], chapter
        assert all(value and meaning for value, meaning in rows.values()), (chapter, rows)
    rows = _rows(parameters_markdown("paper", "training"))
    assert rows["`M`"][0] == "1\u202f000\u202f000"                       # grouped, so commas only separate items
    assert rows["`fig6_M`"][0] == "10\u202f000, 100\u202f000, 1\u202f000\u202f000"
    assert rows["`weighted_batch_size`"][0] == "k=3: 100\u202f000; k=5: 1000; k=7: 1000"
    assert rows["`seed`"][0] == "7"


def test_overridden_values_are_bold_beside_the_profile_value_and_shared_members_are_listed():
    prof = load_profile("smoke", {"fss": {"n_configs": 1000}})
    text = parameters_markdown(prof, "fss", also=("trained_ks", "training_set", "mc_fss"))
    assert text.startswith("This build used the **smoke** profile, modified (set here: `n_configs`):")
    rows = _rows(text)
    assert rows["`n_configs`"][0] == "**1000** (profile: 400)"
    assert rows["`trained_ks` (shared)"][0] == "3, 5"
    assert rows["`training_set` (shared)"][0] == "L_t = 16, M = 500"
    assert rows["`mc_fss` (shared)"][0] == "sizes = 8, 16, 32, n_configs = 1000, seed = 2024"
    assert ":attr:" not in text and "``" not in text                      # docstrings made plain
    # a change in another chapter only: said so, no bold row here
    other = parameters_markdown(load_profile("smoke", {"training": {"epochs": 9}}), "fss")
    assert "modified in other chapters" in other and "**" not in other.split("\n", 1)[1]
    with pytest.raises(ValueError, match="unknown cross-chapter member 'bogus'"):
        parameters_markdown("smoke", "fss", also=("bogus",))


def test_pages_without_parameters_get_one_line_and_the_display_object_is_markdown():
    for chapter in set(CHAPTERS) - set(SECTIONS):
        assert parameters_markdown("quick", chapter) == (
            "This build used the **quick** profile; this page has no parameters of its own.")
    shown = parameters_table(load_profile("quick"), "dreaming")
    assert shown._repr_markdown_().startswith("This build used the **quick** profile:")
    assert "| `n_up` | 7 |" in shown._repr_markdown_()


def test_profile_file_is_named_as_such(tmp_path):
    file = tmp_path / "mine.toml"
    file.write_text('base = "smoke"\n[fss]\nn_configs = 300\n')
    text = parameters_markdown(load_profile(file=file), "fss")
    assert text.startswith("This build used the profile **mine** (a profile file):")
    assert _rows(text)["`n_configs`"][0] == "300"


def test_parameter_cells_are_tagged_remove_cell_once(tmp_path):
    from dreamrg.bookrun import hide_parameter_cells, is_notebook_source

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('profile = "quick"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell('# Parameters\nprofile = "smoke"\n',
                                          metadata={"tags": ["injected-parameters"]}),
                nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "ch.ipynb"
    nbformat.write(nb, path)
    assert hide_parameter_cells(path) is True
    tags = [c["metadata"].get("tags", []) for c in json.loads(path.read_text())["cells"]]
    assert tags == [["parameters", "remove-cell"], ["injected-parameters", "remove-cell"], []]
    before = path.read_text()
    assert hide_parameter_cells(path) is False and path.read_text() == before
    nbformat.validate(nbformat.read(path, as_version=4))

    page = tmp_path / "api.md"
    page.write_text("# API\n\n```{eval-rst}\n.. automodule:: dreamrg\n```\n")
    chapter = tmp_path / "fss.md"
    chapter.write_text("---\njupytext:\n  text_representation:\n    extension: .md\nkernelspec:\n  name: python3\n---\n")
    assert not is_notebook_source(page) and is_notebook_source(chapter)
