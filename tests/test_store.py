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
    with pytest.raises(StoreError, match="not the next chunk"):
        st.write_chunk(0, store.pack(-s))
    with pytest.raises(StoreError, match="not the next chunk"):
        st.write_chunk(2, store.pack(s))
    assert (store.load_configs(tmp_path / "s") == 1).all()


def test_uncommitted_tail_is_dropped_on_reopen(tmp_path):
    """A kill between resize and commit leaves extra rows that readers never see."""
    s = np.ones((4, 8, 8), np.int8)
    st = store.create_store(tmp_path / "s", _meta())
    st.write_chunk(0, store.pack(s))
    st._array.resize((8, 8, 1))           # what a killed append leaves behind
    st._array[4:8] = store.pack(-s)
    assert store.open_store(tmp_path / "s").count == 4
    again = store.create_store(tmp_path / "s", _meta())
    assert again._array.shape[0] == 4
    assert (store.load_configs(tmp_path / "s") == 1).all()


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
