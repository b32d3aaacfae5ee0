"""The book serves its own MathJax 3 (``dreamrg._sphinx_mathjax``), so its math renders offline."""

from pathlib import Path

import pytest
import yaml

from dreamrg import _sphinx_mathjax as smj

ROOT = Path(__file__).resolve().parents[1]


def test_config_points_mathjax_at_the_local_copy():
    sphinx = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]
    assert "dreamrg._sphinx_mathjax" in sphinx["extra_extensions"]
    path = sphinx["config"]["mathjax_path"]
    assert "://" not in path and smj._entry(path) == "tex-mml-chtml.js"


def test_copy_takes_the_entry_bundle_and_components_not_the_other_bundles(tmp_path):
    es5 = tmp_path / "es5"
    for name in ["tex-mml-chtml.js", "tex-svg.js", "mml-chtml.js", "latest.js", "startup.js",
                 "output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff", "input/tex/extensions/color.js"]:
        (es5 / name).parent.mkdir(parents=True, exist_ok=True)
        (es5 / name).write_text(name)
    dest = tmp_path / "out" / "_static" / "mathjax"
    assert smj.copy_mathjax(dest, source=es5) == 4
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*.js*") if p.is_file()) == [
        "input/tex/extensions/color.js", "startup.js", "tex-mml-chtml.js"]
    assert smj.copy_mathjax(dest, source=es5) == 4  # a rebuild copies over the old files
    with pytest.raises(FileNotFoundError, match="tex-chtml.js"):
        smj.copy_mathjax(dest, "tex-chtml.js", source=es5)
    with pytest.raises(ValueError, match="must start with 'mathjax/'"):
        smj._entry("js/tex-mml-chtml.js")
    assert not smj._is_local("https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js")


def test_the_installed_mathjax_has_the_bundle_and_its_fonts():
    try:
        es5 = smj.mathjax_dir()
    except FileNotFoundError as exc:
        pytest.skip(f"{exc} -- `make test` installs it from requirements/lock.txt")
    assert (es5 / "tex-mml-chtml.js").stat().st_size > 500_000
    assert len(list((es5 / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))) > 20
