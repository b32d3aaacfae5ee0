import os
from pathlib import Path

import pytest

AUTHORS = Path(__file__).resolve().parents[2] / "shared" / "authors-release"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Tests never touch the real data/ cache."""
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path_factory.getbasetemp() / "data"))


@pytest.fixture
def authors_dir():
    if not AUTHORS.is_dir():
        pytest.skip("../shared/authors-release is not present")
    return AUTHORS
