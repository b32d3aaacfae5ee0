import os
from pathlib import Path

import pytest

AUTHORS = Path(__file__).resolve().parents[2] / "shared" / "authors-release"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Tests never touch the real data/ cache."""
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path_factory.getbasetemp() / "data"))


@pytest.fixture
def authors_dir():
    if not AUTHORS.is_dir():
        pytest.skip("../shared/authors-release is not present")
    return AUTHORS


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory) -> Path:
    """``_build/html/index.html`` of the smoke book, built once per session by ``dreamrg book`` (warning-free).

    Shared by the build test and the browser test; like every test it uses the session's cache, not data/.
    """
    from dreamrg.bookrun import build_book

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DREAMRG_DATA", str(tmp_path_factory.getbasetemp() / "data"))
        return build_book(profile="smoke", root=ROOT, base=tmp_path_factory.mktemp("smoke-book"))
