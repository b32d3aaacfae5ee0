"""Packaging: the sdist carries the whole reproduction, the wheel the library, and a wheel
installed into a clean virtual environment runs the pipeline on a tiny case.

The sdist and wheel are built from a copy of the source tree (so nothing is written into the
checkout), with the running interpreter's setuptools and no build isolation, i.e. offline and
with the setuptools of ``requirements/lock.txt``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAME = "dreamrg-0.1.0"

#: files every sdist must hold (besides the package and everything under book/, tests/, benchmarks/)
SDIST_FILES = {
    "README.md", "LICENSE", "LICENSES/GPL-3.0-only.txt", "CITATION.cff", "environment.yml", "Makefile",
    "_config.yml", "refs.bib", "conftest.py", "pyproject.toml", ".ci/run", "data/README.md",
    "requirements/top.txt", "requirements/lock.txt", "book/_toc.yml",
    "src/dreamrg/py.typed", "src/dreamrg/data/NOTICE", "src/dreamrg/data/authors_single_layer.json",
    "src/dreamrg/data/authors_two_layer.json", "tools/convert_authors_release.py",
}
#: directories of the tree whose every file must be in the sdist
SDIST_TREES = ("book", "tests", "benchmarks", "requirements", "src/dreamrg")
_SKIP = shutil.ignore_patterns("__pycache__", "*.py[cod]", ".ipynb_checkpoints", "*.egg-info")


def _copy_tree(dest: Path) -> Path:
    """The source tree without caches and build products (data/ keeps only its README)."""
    def ignore(directory, names):
        skipped = set(_SKIP(directory, names))
        if Path(directory) == ROOT:
            skipped |= {n for n in names if n in {"data", "_build", "dist", "build", ".venv", ".git",
                                                  ".benchmarks", ".pytest_cache"}}
        return skipped

    shutil.copytree(ROOT, dest, ignore=ignore)
    (dest / "data").mkdir()
    shutil.copy(ROOT / "data" / "README.md", dest / "data" / "README.md")
    return dest


def _tree_files(top: Path, sub: str) -> set[str]:
    return {p.relative_to(top).as_posix() for p in (top / sub).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".ipynb"}
            and ".ipynb_checkpoints" not in p.parts}


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """``{"sdist": ..., "wheel": ..., "tree": ...}`` built from a copy of the source tree."""
    base = tmp_path_factory.mktemp("dist")
    tree = _copy_tree(base / "src-tree")
    code = "from setuptools import build_meta as b; print(b.build_sdist('dist'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    sdist = tree / "dist" / out.stdout.strip().splitlines()[-1]
    wheel_dir = base / "wheel"
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "--disable-pip-version-check", "-q", "-w", str(wheel_dir), str(sdist)],
                         cwd=base, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    (wheel,) = wheel_dir.glob("dreamrg-*.whl")
    return {"sdist": sdist, "wheel": wheel, "tree": tree}


def test_sdist_holds_the_whole_reproduction(dists):
    with tarfile.open(dists["sdist"]) as tar:
        members = {m.name.removeprefix(NAME + "/") for m in tar.getmembers() if m.isfile()}
        pkg_info = tar.extractfile(f"{NAME}/PKG-INFO").read().decode()
    assert SDIST_FILES <= members, sorted(SDIST_FILES - members)
    for sub in SDIST_TREES:
        missing = _tree_files(dists["tree"], sub) - members
        assert not missing, f"{sub}/ files missing from the sdist: {sorted(missing)[:10]}"
    assert not [m for m in members if m.startswith("data/") and m != "data/README.md"]  # no cache
    assert not [m for m in members if "__pycache__" in m or m.endswith(".pyc") or m.startswith("_build/")]
    assert "License-Expression: MIT AND GPL-3.0-only" in pkg_info
    assert "Requires-Dist: pyyaml" in pkg_info.replace("PyYAML", "pyyaml")


def test_wheel_ships_the_library_its_data_types_and_licences(dists):
    with zipfile.ZipFile(dists["wheel"]) as whl:
        names = set(whl.namelist())
        info = f"{NAME}.dist-info"
        meta = whl.read(f"{info}/METADATA").decode()
    for need in ["dreamrg/py.typed", "dreamrg/dreamrg.mplstyle", "dreamrg/data/authors_single_layer.json",
                 "dreamrg/data/authors_two_layer.json",
                 "dreamrg/data/NOTICE",
                 "dreamrg/cli/__init__.py", "dreamrg/cli/__main__.py", "dreamrg/_sphinx_mathjax.py", "dreamrg/_mc_reference.py",
                 f"{info}/licenses/LICENSE", f"{info}/licenses/LICENSES/GPL-3.0-only.txt",
                 f"{info}/entry_points.txt"]:
        assert need in names, need
    assert not [n for n in names if n.startswith(("tests/", "book/", "benchmarks/"))]
    assert "License-Expression: MIT AND GPL-3.0-only" in meta
    assert all(f"Requires-Dist: {d}" in meta for d in ["numpy", "torch", "zarr", "pyyaml"])


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))} exited {out.returncode}:\n{out.stderr[-3000:]}"
    return out


@pytest.mark.slow
def test_wheel_in_a_clean_venv_runs_mc_train_dream_observables(dists, tmp_path):
    """pip-installs the built wheel (core dependencies pinned by requirements/lock.txt) into a new
    venv without the checkout on its path, then runs the four stages on an L=8 case."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_ = venv / "bin"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env |= {"DREAMRG_DATA": str(tmp_path / "cache"), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PATH": f"{bin_}{os.pathsep}{env.get('PATH', '')}"}
    probe = subprocess.run([str(bin_ / "pip"), "download", "--no-deps", "-q", "-d", str(tmp_path / "probe"),
                            "tqdm==4.70.1"], env=env, capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no message"])[-1]
        pytest.skip(f"no package registry reachable: pip could not download tqdm==4.70.1 ({last}); "
                    "installing the wheel's dependencies into a clean venv needs PyPI")
    _run([str(bin_ / "pip"), "install", "-q", str(dists["wheel"]), "-c", str(ROOT / "requirements" / "lock.txt")],
         tmp_path, env, timeout=1800)
    where = _run([str(bin_ / "python"), "-c", "import dreamrg; print(dreamrg.__file__)"], tmp_path, env).stdout
    assert Path(where.strip()).is_relative_to(venv), where  # the installed copy, not the checkout

    dreamrg = str(bin_ / "dreamrg")
    _run([dreamrg, "mc", "--L", "8", "--n-configs", "256", "--seed", "1", "--out", "mc8", "--no-progress"],
         tmp_path, env)
    fit = _run([dreamrg, "train", "--data", "mc8", "--k", "3", "--method", "exact", "--out", "k3.json",
                "--no-progress"], tmp_path, env)
    assert "exact optimum" in fit.stdout
    _run([dreamrg, "dream", "--model", "k3.json", "--n-up", "3", "--n-configs", "64", "--seed", "1",
          "--out", "dream", "--no-progress"], tmp_path, env)
    obs = json.loads(_run([dreamrg, "observables", "mc8", "dream", "--json"], tmp_path, env).stdout)
    sizes = sorted(row["L"] for row in obs)
    assert sizes == [2, 4, 8, 8], sizes  # the MC store (L=8) and the dreamed sizes 2, 4, 8
    assert all(0 < row["abs_m"]["value"] <= 1 for row in obs)


#: the longest line, in characters, a Python file of the package may have
MAX_LINE = 120


def test_no_package_source_line_is_longer_than_max_line():
    """The package's code keeps to one line length, so that it reads without wrapping in an editor or a
    side-by-side diff; a longer line is named by file and line number."""
    too_long = [f"{path.relative_to(ROOT)}:{number} ({len(line)} characters)"
                for path in sorted((ROOT / "src" / "dreamrg").rglob("*.py"))
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if len(line) > MAX_LINE]
    assert not too_long, f"lines longer than {MAX_LINE} characters:\n" + "\n".join(too_long)
