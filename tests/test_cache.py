import os
import stat

import pytest
import torch

from dreamrg import cache, models, train


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_writes_give_ordinary_permissions_and_leave_nothing_on_error(tmp_path):
    """Cache files, models and checkpoints are readable like any file the user writes (0666 less the umask),
    and a failed write leaves the old file and no temporary file behind."""
    old = os.umask(0o022)
    try:
        cache.write_json_atomic(tmp_path / "a.json", {"x": 1})
        train.save_model(tmp_path / "m.json", models.SymmetricUpscaler(3), {})
        with cache.atomic_file(tmp_path / "c.pt") as tmp:
            torch.save({"x": 1}, tmp)
        for name in ("a.json", "m.json", "c.pt"):
            assert _mode(tmp_path / name) == 0o644, name
        circular: dict = {}
        circular["self"] = circular
        with pytest.raises(ValueError, match="Circular reference"):
            cache.write_json_atomic(tmp_path / "a.json", circular)
        assert (tmp_path / "a.json").read_text().count('"x": 1') == 1
        with pytest.raises(RuntimeError, match="boom"):
            with cache.atomic_file(tmp_path / "c.pt"):
                raise RuntimeError("boom")
        assert torch.load(tmp_path / "c.pt") == {"x": 1}
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "c.pt", "m.json"]
    finally:
        os.umask(old)
