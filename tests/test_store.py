import json

import numpy as np
import pytest

from dreamrg import store
from dreamrg.store import StoreError


def _meta(L=8, chunk=4, **kw):
    m = {"L": L, "K": 0.44, "algorithm": "sw", "thin": 3, "seed": 1, "chunk_size": chunk, "source": "test"}
    m.update(kw)
    return m


@pytest.mark.parametrize("L", [2, 3, 8, 13, 16])
def test_pack_roundtrip(L):
    rng = np.random.default_rng(0)
    s = (2 * rng.integers(0, 2, size=(5, L, L)) - 1).astype(np.int8)
    p = store.pack(s)
    assert p.shape == (5, L, (L + 7) // 8) and p.dtype == np.uint8
    assert np.array_equal(store.unpack(p, L), s)


def test_append_read_and_lazy_batches(tmp_path):
    rng = np.random.default_rng(1)
    s = (2 * rng.integers(0, 2, size=(10, 8, 8)) - 1).astype(np.int8)
    st = store.create_store(tmp_path / "s", _meta())
    st.write_chunk(0, store.pack(s[:4]))
    st.write_chunk(1, store.pack(s[4:8]))
    st.write_chunk(2, store.pack(s[8:]))
    assert np.array_equal(store.load_configs(tmp_path / "s"), s)
    assert np.array_equal(store.load_configs(tmp_path / "s", 3, 7), s[3:7])
    batches = list(store.open_store(tmp_path / "s").iter_batches(3))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert np.array_equal(np.concatenate(batches), s)
    with pytest.raises(StoreError, match="outside"):
        store.load_configs(tmp_path / "s", 0, 11)


def test_committed_chunks_are_never_overwritten(tmp_path):
    s = np.ones((4, 8, 8), np.int8)
    st = store.create_store(tmp_path / "s", _meta())
    st.write_chunk(0, store.pack(s))
    with pytest.raises(StoreError, match="differ from the 4 already recorded"):
        st.write_chunk(0, store.pack(-s))
    assert st.write_chunk(0, store.pack(s)) is False           # the same data again: nothing written
    assert (store.load_configs(tmp_path / "s") == 1).all()


def _random(n, L=8, seed=1):
    rng = np.random.default_rng(seed)
    return (2 * rng.integers(0, 2, size=(n, L, L)) - 1).astype(np.int8)


def test_out_of_order_commits_count_the_longest_finished_prefix(tmp_path):
    s = _random(18)
    st = store.create_store(tmp_path / "s", _meta())
    for j, want in ((2, 0), (4, 0), (0, 4), (3, 4), (1, 18)):   # chunk 4 is the partial last one (2 rows)
        st.write_chunk(j, store.pack(s[4 * j:4 * j + 4]))
        assert st.count == want and store.open_store(tmp_path / "s").count == want
    assert st.meta["count"] == 18                               # the coordinator raised the attribute
    assert st.missing_chunks(18) == [] and st.missing_chunks(24) == [4, 5]
    assert np.array_equal(store.load_configs(tmp_path / "s"), s)
    assert store.verify_store(tmp_path / "s").ok
    gap = store.create_store(tmp_path / "g", _meta())
    gap.write_chunk(2, store.pack(s[8:12]))
    (tmp_path / "g" / "c" / "2" / "0" / "0").unlink()      # a recorded chunk beyond the gap, lost
    with pytest.raises(store.ChunkError, match=r"c/2/0/0: chunk file missing.*configurations 8\.\.11"):
        store.open_store(tmp_path / "g", mode="r+")


def test_a_chunk_written_without_its_record_is_ignored_then_rewritten(tmp_path):
    """A writer killed between a chunk's file and its record: the chunk does not exist for readers,
    resuming writes it again, and the data read back are the new ones."""
    from dreamrg import _integrity

    s = np.ones((8, 8, 8), np.int8)
    st = store.create_store(tmp_path / "s", _meta())
    st.write_chunk(0, store.pack(s[:4]))
    real = _integrity.write_atomic

    def killed(path, data):
        raise KeyboardInterrupt  # stands for the kill: the chunk file is there, its record never is

    _integrity.write_atomic = killed
    try:
        with pytest.raises(KeyboardInterrupt):
            st.write_chunk(1, store.pack(-s[4:]))
    finally:
        _integrity.write_atomic = real
    assert (tmp_path / "s" / "c" / "1" / "0" / "0").is_file() and not (tmp_path / "s" / "commits" / "1.json").exists()
    again = store.open_store(tmp_path / "s", mode="r+")
    assert again.count == 4 and again.missing_chunks(8) == [1]
    assert store.verify_store(tmp_path / "s").ok               # an unrecorded chunk file is no damage
    assert again.write_chunk(1, store.pack(s[4:])) is True
    assert (store.load_configs(tmp_path / "s") == 1).all() and again.count == 8


def test_two_writers_of_one_chunk_write_the_same_bytes(tmp_path):
    """A coordinator and a worker (or two workers) commit the same chunk: identical files, one record."""
    s = _random(8)
    owner = store.create_store(tmp_path / "s", _meta())
    worker = store.open_store(tmp_path / "s", mode="chunks")
    assert worker.write_chunk(1, store.pack(s[4:])) is True
    before = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "s").rglob("*") if p.is_file()}
    assert owner.write_chunk(1, store.pack(s[4:])) is False     # re-read the record: done already
    owner._blocks.records.pop(1)                                # a writer that never saw the record ...
    import dreamrg._integrity as integ
    real = integ.Blocks.refresh
    integ.Blocks.refresh = lambda self, j: None                 # ... nor sees it now: it writes again
    try:
        assert owner.write_chunk(1, store.pack(s[4:])) is True
    finally:
        integ.Blocks.refresh = real
    after = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "s").rglob("*") if p.is_file()
             and p.name != "zarr.json"}
    assert after == {k: v for k, v in before.items() if k.name != "zarr.json"}   # the same bytes, file by file
    worker.write_chunk(0, store.pack(s[:4]))
    assert owner.meta["count"] == 0 and owner.recorded(0) == (4, store._integrity.crc32(store.pack(s[:4])))
    assert owner.sync_count() == 8 and owner.meta["count"] == 8      # the coordinator learns of it, then says so
    assert store.open_store(tmp_path / "s").count == 8 and np.array_equal(store.load_configs(tmp_path / "s"), s)
    with pytest.raises(StoreError, match="read-only"):
        store.open_store(tmp_path / "s").write_chunk(2, store.pack(s[:4]))
    with pytest.raises(StoreError, match="coordinator"):
        worker.add_seconds(1.0, 4)


def test_concurrent_writer_processes(tmp_path):
    """Four processes commit the same six chunks at once, each in its own order, with no lock:
    the store is whole and verified, every chunk recorded once with the data all of them computed."""
    import subprocess
    import sys

    s = _random(24, seed=3)
    np.save(tmp_path / "s.npy", s)
    store.create_store(tmp_path / "st", _meta())
    code = ("import sys, numpy as np; from dreamrg import store\n"
            "s = np.load(sys.argv[1]); st = store.open_store(sys.argv[2], mode='chunks')\n"
            "for j in map(int, sys.argv[3].split(',')):\n"
            "    st.write_chunk(j, store.pack(s[4 * j:4 * j + 4]))\n")
    orders = ["0,1,2,3,4,5", "5,4,3,2,1,0", "2,4,0,5,1,3", "3,0,4,1,5,2"]
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "s.npy"), str(tmp_path / "st"), o])
             for o in orders]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    assert store.verify_store(tmp_path / "st").ok
    assert np.array_equal(store.load_configs(tmp_path / "st"), s)
    assert sorted(f.name for f in (tmp_path / "st" / "commits").iterdir()) == [f"{j}.json" for j in range(6)]


def test_metadata_mismatch_and_foreign_paths_refused(tmp_path):
    store.create_store(tmp_path / "s", _meta())
    with pytest.raises(StoreError, match="different metadata.*seed"):
        store.create_store(tmp_path / "s", _meta(seed=2))
    other = tmp_path / "notastore"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(StoreError, match="not a dreamrg store"):
        store.create_store(other, _meta())
    assert (other / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize("layout", ["pm1", "01", "packed"])
def test_import_layouts(tmp_path, layout):
    rng = np.random.default_rng(2)
    s = (2 * rng.integers(0, 2, size=(7, 16, 16)) - 1).astype(np.int8)
    data = {"pm1": s, "01": (s > 0).astype(np.int64), "packed": np.packbits(s > 0, axis=-1)}[layout]
    np.save(tmp_path / "in.npy", data)
    st = store.import_configs(tmp_path / "in.npy", tmp_path / "out", chunk_size=3)
    assert st.meta["layout"] == layout and st.count == 7
    assert np.array_equal(store.load_configs(tmp_path / "out"), s)
    with pytest.raises(StoreError, match="already exists"):
        store.import_configs(tmp_path / "in.npy", tmp_path / "out")


def test_import_rejects_bad_values(tmp_path):
    np.save(tmp_path / "bad.npy", np.full((3, 8, 8), 2, np.int8))
    with pytest.raises(StoreError, match="cannot tell the layout"):
        store.import_configs(tmp_path / "bad.npy", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_import_authors_example(tmp_path, authors_dir):
    raw = np.load(authors_dir / "training_data_L8.npy")
    by_hand = np.unpackbits(raw, axis=-1).astype(np.int8) * 2 - 1   # big-endian, 1 = up
    st = store.import_configs(authors_dir / "training_data_L8.npy", tmp_path / "authors")
    assert st.L == 8 and st.count == len(raw) == 10_000
    assert np.array_equal(store.load_configs(tmp_path / "authors"), by_hand)


def test_one_writer_at_a_time(tmp_path):
    """A second process (or call) extending a store, an ensemble or a model entry that another one is
    writing gets one clear error at once and writes nothing; after the first releases, it resumes."""
    import subprocess
    import sys

    from dreamrg import dream, mc, models

    out = tmp_path / "s"
    p = mc.MCParams(L=8, seed=1, chunk_size=50)
    with store.writer_lock(out, "configuration store"):
        with pytest.raises(StoreError, match="being written by another process"):
            mc.run(p, 100, out, progress=False)
        assert not out.exists()
        # another process: the CLI exits with status 2 and the same message
        res = subprocess.run([sys.executable, "-m", "dreamrg.cli", "mc", "--L", "8", "--n-configs", "100",
                              "--chunk-size", "50", "--seed", "1", "--out", str(out), "--no-progress"],
                             capture_output=True, text=True)
        assert res.returncode == 2 and "being written by another process" in res.stderr, res.stderr
        assert not out.exists()
    assert mc.run(p, 100, out, progress=False).count == 100        # released: runs normally
    ens = tmp_path / "e"
    model = models.SymmetricUpscaler(3, (0.1, 0.15, 0.35))
    dp = dream.DreamParams(n_up=3, seed=2, batch_size=10)
    with store.writer_lock(ens, "dreamed ensemble"):
        with pytest.raises(StoreError, match="dreamed ensemble .* being written"):
            dream.run(model, dp, 20, ens, progress=False)
    assert dream.run(model, dp, 20, ens, progress=False).count == 20


def test_a_store_whose_array_ends_at_its_count_is_grown_by_its_coordinator(tmp_path):
    """Stores written before the arrays had their full length (shape = count): workers are refused
    until a coordinator opens the store for appending, which grows the array (deleting nothing)."""
    s = _random(8)
    st = store.create_store(tmp_path / "s", _meta())
    st.write_chunk(0, store.pack(s[:4]))
    doc = json.loads((tmp_path / "s" / "zarr.json").read_text())
    doc["shape"][0] = 4                                         # how such a store looks
    (tmp_path / "s" / "zarr.json").write_text(json.dumps(doc))
    with pytest.raises(StoreError, match="not prepared for workers"):
        store.open_store(tmp_path / "s", mode="chunks")
    old = store.open_store(tmp_path / "s", mode="r+")
    assert old._array.shape[0] == store.MAX_COUNT and old.count == 4
    store.open_store(tmp_path / "s", mode="chunks").write_chunk(1, store.pack(s[4:]))
    assert np.array_equal(store.load_configs(tmp_path / "s"), s)
