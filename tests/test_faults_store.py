"""Fault injection on configuration stores and dreamed ensembles (issue 22, store side).

Each test reproduces one defect found on main e0e7d39 through the command line
(``dreamrg.cli.main`` in-process, or a subprocess where two processes or a memory
limit are needed) and through the Python API, and shows it fixed:

1. a re-run of ``dream`` with a smaller ``--n-configs`` shrank the ensemble;
2. a deleted chunk read as all-down spins (zarr's fill value), for stores and ensembles;
3. two concurrent ``mc import`` to one ``--out`` corrupted it (import took no lock);
4. a flipped byte in a chunk silently changed configurations (no checksum);
9. the writer lock depended on how the path was spelled (symlinks);
10. metadata were not checked against the arrays (ensemble ``sizes``, store ``count``);
12. ``mc --L 100000`` had no memory estimate;
13. ``mc import`` was looser than ``mc`` (K, L = 1, layout from the first 256 configurations);
14. the dream memory check used ``--batch-size``, not the real batch;
17. ``.lock`` files and ``.importing`` folders were left behind;
and huge counts (``--n-configs 10**400``) gave a traceback.
``dreamrg verify`` finds a deleted, a truncated and a flipped chunk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from _killed_runs import MC_PARAMS, kill_mc_run
from dreamrg import cli, dream, mc, models, store
from dreamrg.store import StoreError

K3 = models.SymmetricUpscaler(3, params=[0.1364, 0.1566, 0.3536])


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """``dreamrg ARGS`` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    try:
        rc = cli.main([str(a) for a in args])
    except SystemExit as exc:  # argparse
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("dreamrg: error:"), err
    assert "Traceback" not in err
    return lines[0]


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.name.endswith((".lock", ".importing")))


def mc_store(path: Path, n: int = 200, chunk: int = 50, L: int = 8, seed: int = 1) -> store.ConfigStore:
    return mc.run(mc.MCParams(L=L, seed=seed, chunk_size=chunk), n, path, progress=False)


def chunk_file(path: Path, j: int) -> Path:
    return path / "c" / str(j) / "0" / "0"


def flip_byte(f: Path) -> None:
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x10
    f.write_bytes(bytes(data))


def truncate(f: Path) -> None:
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


# ----------------------------------------------------------------------------- defect 1
def test_dream_with_fewer_chains_leaves_the_ensemble_as_it_is(tmp_path, capsys):
    model = models.save_model(tmp_path / "k3.json", K3, {})
    out = tmp_path / "E"
    base = ["dream", "--model", model, "--n-up", 3, "--seed", 1, "--out", out, "--no-progress"]
    assert run_cli(capsys, *base, "--n-configs", 1000)[0] == 0
    before = dream.open_ensemble(out).series(8)
    rc, stdout, _ = run_cli(capsys, *base, "--n-configs", 100)
    assert rc == 0 and "already holds 1000 chains" in stdout and "left as it is" in stdout
    ens = dream.open_ensemble(out)
    assert ens.count == 1000
    assert all(np.array_equal(a, b) for a, b in zip(before, ens.series(8)))
    # the API: nothing dreamed, nothing removed
    again = dream.run(K3, dream.DreamParams(n_up=3, seed=1), 10, out, progress=False)
    assert again.count == 1000 and np.array_equal(again.series(8)[0], before[0])


def test_a_trailing_partial_chunk_is_only_extended_with_the_same_data(tmp_path):
    meta = {"L": 8, "K": 0.44, "algorithm": "sw", "thin": 3, "seed": 1, "chunk_size": 40, "source": "test"}
    st = store.create_store(tmp_path / "s", meta)
    s = np.ones((30, 8, 8), np.int8)
    st.write_chunk(0, store.pack(s))
    with pytest.raises(StoreError, match="drop"):
        st.write_chunk(0, store.pack(s[:10]))                       # shorter: would shrink the store
    with pytest.raises(StoreError, match="differ"):
        st.write_chunk(0, store.pack(-np.ones((40, 8, 8), np.int8)))  # longer but other data
    assert store.open_store(tmp_path / "s").count == 30 and (store.load_configs(tmp_path / "s") == 1).all()
    st.write_chunk(0, store.pack(np.ones((40, 8, 8), np.int8)))      # the same 30, then 10 more
    assert store.open_store(tmp_path / "s").count == 40


# ----------------------------------------------------------------------------- defect 2
def test_a_deleted_store_chunk_is_an_error_not_spins(tmp_path, capsys):
    path = tmp_path / "s"
    mc_store(path)
    chunk_file(path, 1).unlink()
    with pytest.raises(StoreError, match=r"c/1/0/0.*missing.*configurations 50\.\.99"):
        store.load_configs(path)
    for argv in (["observables", path], ["mcrg", path, "--no-progress"],
                 ["mc", "--L", 8, "--n-configs", 300, "--chunk-size", 50, "--seed", 1, "--out", path, "--no-progress"]):
        rc, out, err = run_cli(capsys, *argv)
        line = one_error_line(err)
        assert rc == 2 and str(chunk_file(path, 1)) in line and "50..99" in line, (argv, err)
    assert isinstance(pytest.raises(StoreError, store.open_store, path).value, store.ChunkError)
    assert not chunk_file(path, 1).exists() and not chunk_file(path, 4).exists()   # the resume wrote nothing


def test_a_deleted_ensemble_chunk_is_an_error(tmp_path, capsys):
    out = tmp_path / "E"
    dream.run(K3, dream.DreamParams(n_up=3, seed=2, batch_size=100, save_configs=True), 300, out, progress=False)
    (out / "M" / "c" / "1" / "0").unlink()
    with pytest.raises(dream.EnsembleError, match=r"M/c/1/0.*missing.*chains 100\.\.199"):
        dream.open_ensemble(out).series(8)
    rc, _, err = run_cli(capsys, "observables", out)
    assert rc == 2 and "M/c/1/0" in one_error_line(err)
    shutil.rmtree(out)
    dream.run(K3, dream.DreamParams(n_up=3, seed=2, batch_size=100, save_configs=True), 300, out, progress=False)
    (out / "configs" / "c" / "2" / "0" / "0").unlink()
    with pytest.raises(dream.EnsembleError, match="chains 200..299"):
        dream.open_ensemble(out).configs()
    rc, _, err = run_cli(capsys, "mcrg", out, "--no-progress")
    assert rc == 2 and "configs/c/2/0/0" in one_error_line(err)


# ----------------------------------------------------------------------------- defect 3
def test_mc_import_takes_the_writer_lock(tmp_path, capsys):
    rng = np.random.default_rng(3)
    src = tmp_path / "in.npy"
    np.save(src, (2 * rng.integers(0, 2, size=(500, 16, 16)) - 1).astype(np.int8))
    out = tmp_path / "out"
    with store.writer_lock(out, "configuration store"):
        rc, _, err = run_cli(capsys, "mc", "import", src, "--out", out)
        assert rc == 2 and "being written by another process" in one_error_line(err)
        with pytest.raises(StoreError, match="being written"):
            store.import_configs(src, out)
        # and mc itself, to the same store
        rc, _, err = run_cli(capsys, "mc", "--L", 16, "--n-configs", 10, "--seed", 1, "--out", out, "--no-progress")
        assert rc == 2 and "being written" in err
    assert not out.exists() and leftovers(tmp_path) == []


def test_two_concurrent_imports_to_one_out(tmp_path):
    rng = np.random.default_rng(4)
    data = (2 * rng.integers(0, 2, size=(30_000, 16, 16)) - 1).astype(np.int8)
    np.save(tmp_path / "in.npy", data)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "dreamrg.cli", "mc", "import", str(tmp_path / "in.npy"), "--out", str(out)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results                     # one wins; the other is refused, never both
    loser = [err for rc, err in results if rc == 2][0]
    assert "being written by another process" in loser or "already exists" in loser
    assert np.array_equal(store.load_configs(out), data)
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- defect 4 and verify
def test_a_flipped_or_replaced_chunk_is_an_error(tmp_path):
    path = tmp_path / "s"
    mc_store(path)
    flip_byte(chunk_file(path, 2))
    with pytest.raises(StoreError, match=r"c/2/0/0.*configurations 100\.\.149"):
        store.load_configs(path)
    assert store.load_configs(path, 0, 100).shape == (100, 8, 8)        # the intact chunks still read
    # a chunk replaced by another valid chunk decodes fine: only the recorded checksum sees it
    path2 = tmp_path / "s2"
    mc_store(path2)
    shutil.copy(chunk_file(path2, 0), chunk_file(path2, 3))
    with pytest.raises(StoreError, match=r"c/3/0/0.*checksum.*configurations 150\.\.199"):
        store.load_configs(path2, 160, 170)


def test_verify_finds_deleted_truncated_and_flipped_chunks(tmp_path, capsys):
    path = tmp_path / "s"
    mc_store(path, n=250)
    rc, out, _ = run_cli(capsys, "verify", path)
    assert rc == 0 and "ok" in out and "1 intact, 0 damaged" in out
    chunk_file(path, 1).unlink()
    truncate(chunk_file(path, 2))
    flip_byte(chunk_file(path, 4))
    rc, out, _ = run_cli(capsys, "verify", path)
    assert rc == 1 and "DAMAGED" in out
    for j, word in ((1, "missing"), (2, "truncated or corrupt"), (4, "")):
        (line,) = [x for x in out.splitlines() if str(chunk_file(path, j)) in x]
        assert word in line and f"configurations {50 * j}..{50 * j + 49}" in line
    rc, out, _ = run_cli(capsys, "verify", path, "--json")
    doc = json.loads(out)
    assert rc == 1 and doc["ok"] is False and doc["problems"] == 3
    assert sorted(p["start"] for p in doc["reports"][0]["problems"]) == [50, 100, 200]


def test_verify_a_cache_entry_directory(tmp_path, capsys):
    entry = tmp_path / "entry"
    mc_store(entry / "configs")
    dream.run(K3, dream.DreamParams(n_up=3, seed=2, batch_size=100, save_configs=True), 250,
              entry / "ensemble", progress=False)
    rc, out, _ = run_cli(capsys, "verify", entry, "--json")
    doc = json.loads(out)
    assert rc == 0 and doc["ok"] and doc["checked"] == 2
    assert sorted(r["kind"] for r in doc["reports"]) == ["ensemble", "store"]
    flip_byte(entry / "ensemble" / "E" / "c" / "2" / "0")
    truncate(entry / "ensemble" / "configs" / "c" / "0" / "0" / "0")
    rc, out, _ = run_cli(capsys, "verify", entry)
    assert rc == 1 and "E/c/2/0" in out and "chains 200..249" in out and "configs/c/0/0/0" in out
    rc, _, err = run_cli(capsys, "verify", tmp_path / "nothing")
    assert rc == 2 and "does not exist" in one_error_line(err)


# ----------------------------------------------------------------------------- defect 9
def test_the_writer_lock_follows_symlinks(tmp_path, capsys):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    params = mc.MCParams(L=8, seed=1, chunk_size=50)
    with store.writer_lock(real, "configuration store"):
        with pytest.raises(StoreError, match="being written by another process"):
            mc.run(params, 100, link, progress=False)
        rc, _, err = run_cli(capsys, "dream", "--model", models.save_model(tmp_path / "k3.json", K3, {}),
                             "--n-up", 2, "--n-configs", 10, "--seed", 1, "--out", link, "--no-progress")
        assert rc == 2 and "being written" in err
    # a symlinked parent directory, and '..' in the path
    (tmp_path / "d").mkdir()
    (tmp_path / "dlink").symlink_to(tmp_path / "d", target_is_directory=True)
    with store.writer_lock(tmp_path / "d" / "s", "configuration store"):
        for spelling in (tmp_path / "dlink" / "s", tmp_path / "d" / ".." / "d" / "s"):
            with pytest.raises(StoreError, match="being written"):
                mc.run(params, 100, spelling, progress=False)
    assert mc.run(params, 100, link, progress=False).count == 100
    assert store.load_configs(real).shape == (100, 8, 8) and leftovers(tmp_path) == []


def test_a_dangling_symlink_out_writes_to_its_target(tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "target", target_is_directory=True)
    assert mc_store(link, n=100).count == 100
    assert store.load_configs(tmp_path / "target").shape == (100, 8, 8) and leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- defect 10
def _edit_attrs(path: Path, **changes) -> None:
    doc = json.loads((path / "zarr.json").read_text())
    doc["attributes"].update(changes)
    (path / "zarr.json").write_text(json.dumps(doc))


def test_ensemble_metadata_are_checked_against_the_arrays(tmp_path, capsys):
    out = tmp_path / "E"
    dream.run(K3, dream.DreamParams(n_up=3, seed=2, batch_size=100), 200, out, progress=False)
    _edit_attrs(out, sizes=[2, 4, 8, 16])
    with pytest.raises(dream.EnsembleError, match="sizes"):
        dream.open_ensemble(out)
    rc, _, err = run_cli(capsys, "observables", out)
    assert rc == 2 and "sizes" in one_error_line(err)
    # consistent-looking but edited after the data were written (L0, n_up and sizes together)
    _edit_attrs(out, sizes=[2, 4, 8, 16], L0=2)
    with pytest.raises(dream.EnsembleError):
        dream.open_ensemble(out)
    _edit_attrs(out, sizes=[1, 2, 4, 8], L0=1, count=500)
    with pytest.raises(dream.EnsembleError, match="count=500"):
        dream.open_ensemble(out)


def test_store_count_beyond_the_data_is_refused(tmp_path, capsys):
    path = tmp_path / "s"
    mc_store(path)
    _edit_attrs(path, count=400)
    with pytest.raises(StoreError, match="count=400"):
        store.open_store(path)
    rc, _, err = run_cli(capsys, "mc", "--L", 8, "--n-configs", 500, "--chunk-size", 50, "--seed", 1, "--out", path,
                         "--no-progress")
    assert rc == 2 and "count=400" in one_error_line(err)
    _edit_attrs(path, count=200, K=0.5)                                 # metadata edited after the data
    with pytest.raises(StoreError, match="changed after"):
        store.open_store(path)
    _edit_attrs(path, K=mc.MCParams(L=8).K, L=16)                       # L against the array's shape
    with pytest.raises(StoreError, match="L=16"):
        store.open_store(path)


# ----------------------------------------------------------------------------- defect 12 (mc side)
def _limited(max_bytes: int):
    def limit():
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))
    return limit


def test_mc_huge_L_is_refused_before_any_allocation(tmp_path):
    out = tmp_path / "big"
    t0 = time.time()
    res = subprocess.run([sys.executable, "-m", "dreamrg.cli", "mc", "--L", "100000", "--n-configs", "10", "--seed",
                          "1", "--out", str(out), "--no-progress"], capture_output=True, text=True,
                         preexec_fn=_limited(12 * 2**30))      # a regression must fail here, not exhaust the machine
    assert res.returncode == 2 and "GiB" in one_error_line(res.stderr) and "L=100000" in res.stderr, res.stderr
    assert time.time() - t0 < 60 and not out.exists() and leftovers(tmp_path) == []


def test_mc_memory_estimate(tmp_path, monkeypatch):
    from dreamrg import _memory

    p = mc.MCParams(L=256, seed=1, chunk_size=1024)
    assert mc.memory_per_chain(p) >= 256 * 256 * 1024
    monkeypatch.setattr(_memory, "available_bytes", lambda: 100 * 2**20)
    with pytest.raises(ValueError, match=r"needs ~.*GiB.*available"):
        mc.run(p, 10, tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()
    # room for one chain but not two: runs them one at a time, same output
    small = mc.MCParams(L=16, seed=3, chunk_size=50)
    assert mc.parallel_chains(small, 8, available=int(1.3 * mc.memory_per_chain(small) / 0.8)) == 1
    ref = mc.run(small, 200, tmp_path / "ref", progress=False, workers=2).read()
    monkeypatch.setattr(_memory, "available_bytes", lambda: int(1.3 * mc.memory_per_chain(small) / 0.8))
    assert np.array_equal(mc.run(small, 200, tmp_path / "one", progress=False, workers=2).read(), ref)


# ----------------------------------------------------------------------------- huge counts
@pytest.mark.parametrize("count", [str(10**400), "9" * 5000, str(2**40 + 1)])
def test_huge_counts_one_clear_line(tmp_path, capsys, count):
    model = models.save_model(tmp_path / "k3.json", K3, {})
    for argv in (["mc", "--L", 8, "--seed", 1, "--out", tmp_path / "s", "--no-progress", "--n-configs", count],
                 ["dream", "--model", model, "--n-up", 2, "--seed", 1, "--out", tmp_path / "e", "--no-progress",
                  "--n-configs", count]):
        rc, _, err = run_cli(capsys, *argv)
        line = one_error_line(err)
        assert rc == 2 and "--n-configs must be between 1 and" in line and len(line) < 200, line
    with pytest.raises(ValueError, match="between 1 and"):
        mc.run(mc.MCParams(L=8), 10**400, tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="between 1 and"):
        dream.run(K3, dream.DreamParams(n_up=2), 10**400, tmp_path / "e", progress=False)
    assert not (tmp_path / "s").exists() and not (tmp_path / "e").exists()


@pytest.mark.parametrize("count", ["-5", "0"])
def test_counts_below_one_one_clear_line(tmp_path, capsys, count):
    """(Held before the fixes too; kept so the new count parser does not lose it.)"""
    rc, _, err = run_cli(capsys, "mc", "--L", 8, "--seed", 1, "--out", tmp_path / "s", "--n-configs", count)
    assert rc == 2 and "--n-configs must be" in one_error_line(err) and not (tmp_path / "s").exists()


# ----------------------------------------------------------------------------- defect 13
def test_mc_import_applies_the_rules_of_mc(tmp_path, capsys):
    rng = np.random.default_rng(5)
    pm1 = (2 * rng.integers(0, 2, size=(20, 8, 8)) - 1).astype(np.int8)
    np.save(tmp_path / "ok.npy", pm1)
    for K, fragment in (("-3", "K must be"), ("nan", "K must be"), ("inf", "K must be"), ("0", "K must be")):
        rc, _, err = run_cli(capsys, "mc", "import", tmp_path / "ok.npy", "--out", tmp_path / "o", "--K", K)
        assert rc == 2 and fragment in one_error_line(err), (K, err)
    np.save(tmp_path / "L1.npy", np.ones((5, 1, 1), np.int8))
    rc, _, err = run_cli(capsys, "mc", "import", tmp_path / "L1.npy", "--out", tmp_path / "o")
    assert rc == 2 and "L ≥ 2" in one_error_line(err)
    assert not (tmp_path / "o").exists() and leftovers(tmp_path) == []


def test_import_detects_the_layout_from_every_configuration(tmp_path):
    rng = np.random.default_rng(6)
    s = (2 * rng.integers(0, 2, size=(600, 8, 8)) - 1).astype(np.int8)
    s[:300] = 1                                          # the first 300 all up: 0/1 and ±1 look alike there
    zero_one = (s > 0).astype(np.int8)
    np.save(tmp_path / "01.npy", zero_one)
    st = store.import_configs(tmp_path / "01.npy", tmp_path / "a")
    assert st.meta["layout"] == "01" and np.array_equal(store.load_configs(tmp_path / "a"), s)
    mixed = s.copy()
    mixed[500, 0, 0] = 0                                 # a 0 among ±1 values, after the first 256
    np.save(tmp_path / "mixed.npy", mixed)
    with pytest.raises(StoreError, match=r"configuration 500"):
        store.import_configs(tmp_path / "mixed.npy", tmp_path / "b")
    bad = s.astype(np.float32)
    bad[400, 3, 3] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(StoreError, match=r"configuration 400"):
        store.import_configs(tmp_path / "nan.npy", tmp_path / "c")
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists() and leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- defect 14
def test_dream_memory_check_uses_the_real_batch(tmp_path, capsys):
    model = models.save_model(tmp_path / "k3.json", K3, {})
    rc, out, err = run_cli(capsys, "dream", "--model", model, "--n-up", 10, "--n-configs", 4, "--seed", 1,
                           "--out", tmp_path / "e", "--no-progress")
    assert rc == 0, err
    assert dream.open_ensemble(tmp_path / "e").count == 4 and dream.open_ensemble(tmp_path / "e").sizes[-1] == 1024
    with pytest.raises(ValueError, match="a batch of 4 chains"):
        dream.run(K3, dream.DreamParams(n_up=10, seed=1), 4, tmp_path / "f", progress=False, max_bytes=2**20)


# ----------------------------------------------------------------------------- defect 17 (store side)
def test_no_lock_files_or_import_folders_are_left_behind(tmp_path, capsys, monkeypatch):
    path = tmp_path / "s"
    mc_store(path)
    assert leftovers(tmp_path) == []                                       # after a normal run
    rc, _, _ = run_cli(capsys, "mc", "--L", 8, "--n-configs", 10, "--seed", 2, "--out", path, "--no-progress")
    assert rc == 2 and leftovers(tmp_path) == []                           # refused: other metadata
    with store.writer_lock(path, "configuration store"):
        assert run_cli(capsys, "mc", "--L", 8, "--n-configs", 10, "--seed", 1, "--out", path, "--no-progress")[0] == 2
    assert leftovers(tmp_path) == []                                       # refused: locked
    dream.run(K3, dream.DreamParams(n_up=2, seed=1, batch_size=10), 20, tmp_path / "e", progress=False)
    with pytest.raises(dream.EnsembleError):
        dream.run(K3, dream.DreamParams(n_up=2, seed=2, batch_size=10), 20, tmp_path / "e", progress=False)
    assert leftovers(tmp_path) == []
    # an import that fails half-way (here: the disk, simulated) leaves neither its folder nor a lock
    rng = np.random.default_rng(7)
    np.save(tmp_path / "in.npy", (2 * rng.integers(0, 2, size=(100, 8, 8)) - 1).astype(np.int8))
    real_write = store.ConfigStore.write_chunk

    def failing(self, index, packed):
        if index == 2:
            raise OSError(28, "No space left on device")
        return real_write(self, index, packed)

    monkeypatch.setattr(store.ConfigStore, "write_chunk", failing)
    with pytest.raises(OSError):
        store.import_configs(tmp_path / "in.npy", tmp_path / "imp", chunk_size=20)
    rc, _, err = run_cli(capsys, "mc", "import", tmp_path / "in.npy", "--out", tmp_path / "imp2", "--chunk-size", 20)
    assert rc == 1 and "No space left on device" in one_error_line(err)  # an OS error: status 1
    assert not (tmp_path / "imp").exists() and not (tmp_path / "imp2").exists() and leftovers(tmp_path) == []
    monkeypatch.undo()
    assert store.import_configs(tmp_path / "in.npy", tmp_path / "imp").count == 100


@pytest.mark.slow
def test_a_killed_writer_leaves_a_lock_the_next_one_takes(tmp_path):
    """SIGKILL leaves the lock file (unheld); the next run takes it, resumes and removes it."""
    out = tmp_path / "s"
    cmd = kill_mc_run(out, 3000, at=200)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    assert store.open_store(out).count == 3000 and leftovers(tmp_path) == []
    ref = mc.run(mc.MCParams(**MC_PARAMS), 3000, tmp_path / "ref", progress=False)
    assert np.array_equal(store.load_configs(out), ref.read())
