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
        models.save_model(tmp_path / "m.json", models.SymmetricUpscaler(3), {})
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


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """An empty data directory of this test's own (the session-wide test cache holds other tests' entries)."""
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "data"))


def _by_entry(rows):
    return {r["entry"].rsplit("-", 1)[0]: r for r in rows}


@pytest.mark.slow
def test_inventory_reports_what_each_entry_holds_and_who_writes_it(own_cache):
    """`runs.inventory.inventory` (and `dreamrg cache`) read each kind of entry: configurations and chains stored,
    a trained model's epochs, a checkpointed run's position, a JSON result, an empty or damaged entry;
    the writer column names the process holding the entry's writer lock."""
    import json
    import pathlib

    from dreamrg import cli, dream, mc, store
    from dreamrg.runs.ensembles import cached_ensemble
    from dreamrg.runs.inventory import inventory
    from dreamrg.runs.mc import cached_store

    mc_path = cached_store(mc.MCParams(L=4, seed=1, chunk_size=8), 16, progress=False)
    cached_ensemble(models.SymmetricUpscaler(3), dream.DreamParams(n_up=2, seed=1, batch_size=8), 10,
                    progress=False)
    model = models.SymmetricUpscaler(3)
    models.save_model(cache.entry("models", "done", {"a": 1}) / "model.json", model,
                     {"history": {"epoch": [1, 2, 3], "returned_epoch": 2}})
    opt = torch.optim.AdamW(model.parameters())
    train._save_checkpoint(cache.entry("models", "running", {"a": 2}) / "checkpoint.pt", {}, 2, model, opt,
                           {"valid_loss": [1.5, 1.25]}, inside={"next": 300})
    (cache.entry("models", "broken", {"a": 3}) / "checkpoint.pt").write_bytes(b"not a checkpoint")
    cache.cached_json("observables", "obs", {"b": 1}, lambda: {"x": 1})
    cache.entry("mcrg", "nothing", {"c": 1})

    rows = _by_entry(inventory())
    assert rows["L4-sw"]["progress"] == "16 configurations"
    assert rows["SymmetricUpscaler-" + dream.model_id(model) + "-n2"]["progress"] == "10 chains to L=4"
    assert rows["done"]["progress"] == "trained (3 epochs, epoch 2 kept)"
    assert rows["running"]["progress"] == "training: 2 epochs done (last validation loss 1.25), epoch 3 300 samples in"
    assert rows["broken"]["progress"].startswith("unreadable (")
    assert rows["obs"]["progress"] == "result" and rows["nothing"]["progress"] == "empty"
    assert [r["stage"] for r in inventory(["models"])] == ["models"] * 3
    assert all(r["writer"] is None for r in rows.values())
    with pytest.raises(ValueError, match=r"unknown cache stage\(s\) \['model'\]; known: \['ensembles'"):
        inventory(["model"])

    if not pathlib.Path("/proc/locks").exists():
        pytest.skip("writer detection reads Linux's /proc/locks")
    with store.writer_lock(mc_path, "configuration store"):
        rows = _by_entry(inventory())
        assert rows["L4-sw"]["writer"] == os.getpid()
        assert sum(r["writer"] is not None for r in rows.values()) == 1
        assert cli.main(["cache", "--writing", "--json"]) == 0
    assert cli.main(["cache", "--writing", "--json"]) == 0


def test_cache_command_prints_one_line_per_entry(own_cache, capsys):
    import json

    from dreamrg import cli, store

    cache.cached_json("observables", "obs", {"b": 1}, lambda: {"x": 1})
    path = cache.entry("mcrg", "nothing", {"c": 1})
    assert cli.main(["cache"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("(2 entries)") and len(out) == 3
    assert out[1].split()[:3] == ["mcrg", path.name, "empty"]
    assert cli.main(["cache", "--stage", "observables", "--json"]) == 0
    assert [r["progress"] for r in json.loads(capsys.readouterr().out)] == ["result"]
    with store.writer_lock(path / "x", "store"):
        assert cli.main(["cache", "--writing", "--json"]) == 0
        writing = json.loads(capsys.readouterr().out)
    assert [r["entry"] for r in writing] == ([path.name] if os.path.exists("/proc/locks") else [])


def test_changes_since_lists_only_bumps_that_change_numbers(monkeypatch):
    """A snapshot's recorded stage versions against the code's: checksum-only bumps (mc 3, ensembles 2, mcrg 2)
    leave the numbers; chains spanning chunks (mc 4) and per-chunk tie-breaks (mcrg 3) change them."""
    from dreamrg import cache

    assert set(cache.STAGE_CHANGES) == set(cache.STAGE_VERSIONS)
    for stage, history in cache.STAGE_CHANGES.items():
        assert all(1 <= v <= cache.STAGE_VERSIONS[stage] for v in history), stage
    assert cache.changes_since(dict(cache.STAGE_VERSIONS)) == []
    monkeypatch.setattr(cache, "STAGE_VERSIONS", {"mc": 4, "observables": 3, "models": 2, "ensembles": 2,
                                                  "mcrg": 3})
    kept = {"mc": 2, "observables": 3, "models": 2, "ensembles": 1, "mcrg": 2}
    assert cache.changes_since(kept) == [("mc", 2, 4, cache.STAGE_CHANGES["mc"][4][1]),
                                         ("mcrg", 2, 3, cache.STAGE_CHANGES["mcrg"][3][1])]
    assert cache.changes_since({"mc": 3, "ensembles": 1, "mcrg": 1}) == [
        ("mc", 3, 4, cache.STAGE_CHANGES["mc"][4][1]), ("mcrg", 1, 3, cache.STAGE_CHANGES["mcrg"][3][1])]
    assert cache.changes_since({"ensembles": 1, "mcrg": 2}) == [("mcrg", 2, 3, cache.STAGE_CHANGES["mcrg"][3][1])]
    # a version older than the recorded history counts as changing numbers
    assert cache.changes_since({"observables": 1}) == [("observables", 1, 3, "version 2 to 3, changes not recorded")]
    assert cache.changes_since({"models": 1})[0][:3] == ("models", 1, 2)
    assert cache.changes_since({}) == []       # stages a snapshot did not know are not its concern
    assert cache.changes_since({"mcrg": 4}) == [("mcrg", 4, 3, "made by a newer version than this code's 3")]


def test_cache_command_finds_entries_of_an_older_stage_version(own_cache, capsys, monkeypatch):
    """An entry made by another version of its stage's code is never read again (the key holds the version):
    `dreamrg cache --stale` lists exactly those, with the version that made them, so their space can be freed."""
    import json

    from dreamrg import cli

    current = cache.entry("mcrg", "now", {"c": 1})
    with monkeypatch.context() as m:
        m.setitem(cache.STAGE_VERSIONS, "mcrg", cache.STAGE_VERSIONS["mcrg"] - 1)
        old = cache.entry("mcrg", "before", {"c": 1})
    (old / "x.bin").write_bytes(b"\0" * 2**20)
    assert cli.main(["cache", "--stale", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["entry"] for r in rows] == [old.name] and rows[0]["version"] == cache.STAGE_VERSIONS["mcrg"] - 1
    assert cli.main(["cache"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("(2 entries, 1 stale: 0.0 GB)")
    line = next(ln for ln in out if old.name in ln)
    assert line.endswith(f"stale (version {cache.STAGE_VERSIONS['mcrg'] - 1}; this code: "
                         f"{cache.STAGE_VERSIONS['mcrg']})")
    assert not any(current.name in ln and "stale" in ln for ln in out)
