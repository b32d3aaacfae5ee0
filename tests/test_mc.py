"""The Monte Carlo driver: exact finite-size values, determinism, resumption."""

import json
import os
import subprocess

import numba
import numpy as np
import pytest

from _killed_runs import MC_PARAMS, kill_mc_run
from dreamrg import mc, store
from dreamrg.exact import K_C, exact_energy_and_heat_capacity
from dreamrg.observables import fss_observables, magnetization_energy


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["sw", "wolff"])
@pytest.mark.parametrize("L", [8, 16, 32])
def test_energy_and_heat_capacity_match_kaufman(tmp_path, algorithm, L):
    """⟨e⟩ and c within 3σ of the exact torus values (Kaufman 1949) at K_c."""
    params = mc.MCParams(L=L, algorithm=algorithm, seed=11, chunk_size=2000)
    st = mc.run(params, 16_000, tmp_path / "s", progress=False)
    m, e = magnetization_energy(st.read())
    r = fss_observables(m, e, L)
    e_ex, c_ex = exact_energy_and_heat_capacity(L, K_C)
    assert abs(r["e"].value - e_ex) < 3 * r["e"].error
    assert abs(r["c"].value - c_ex) < 3 * r["c"].error


def test_same_seed_same_bits_whatever_the_threads(tmp_path):
    params = mc.MCParams(L=16, seed=5, chunk_size=50)
    a = mc.run(params, 300, tmp_path / "a", progress=False, workers=1).read()
    b = mc.run(params, 300, tmp_path / "b", progress=False, workers=2).read()
    assert np.array_equal(a, b)
    c = mc.run(mc.MCParams(L=16, seed=6, chunk_size=50), 300, tmp_path / "c", progress=False).read()
    assert not np.array_equal(a, c)


def test_resume_extends_without_loss_or_duplication(tmp_path):
    params = mc.MCParams(L=8, seed=3, chunk_size=40)
    full = mc.run(params, 200, tmp_path / "full", progress=False).read()
    mc.run(params, 70, tmp_path / "part", progress=False)          # ends with a partial chunk
    part = mc.run(params, 200, tmp_path / "part", progress=False).read()
    assert np.array_equal(full, part)


@pytest.mark.slow
def test_killed_run_reopens_and_resumes(tmp_path):
    """SIGKILL a CLI run mid-way; the store holds whole chunks and re-running completes it identically."""
    out = tmp_path / "killed"
    cmd = kill_mc_run(out, 6000, at=300)
    st = store.open_store(out, mode="r+")
    assert 300 <= st.count < 6000 and st.count % 100 == 0
    before = st.read()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    resumed = store.load_configs(out)
    assert len(resumed) == 6000 and np.array_equal(resumed[: len(before)], before)
    reference = mc.run(mc.MCParams(**MC_PARAMS), 6000, tmp_path / "ref", progress=False)
    assert np.array_equal(resumed, reference.read())


@pytest.mark.parametrize("kwargs, match", [
    ({"L": 1}, "L must be"), ({"L": 8, "K": 0.0}, "K must be"), ({"L": 8, "K": -1.0}, "K must be"),
    ({"L": 8, "algorithm": "metropolis"}, "algorithm"), ({"L": 8, "thin": -2}, "thin"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mc.MCParams(**kwargs)


def test_defaults_follow_the_paper():
    p = mc.MCParams(L=128)
    assert p.K == K_C and p.thin == 12 and p.algorithm == "sw"
    assert mc.MCParams(L=32).thin == 6


# -- chains that span chunks -------------------------------------------------------------------------
def test_layout_is_a_function_of_the_parameters():
    p = mc.MCParams(L=8, chunk_size=10, chains=3)
    units = mc.plan(p, 95)                                  # chunks 0..9, the last with 5 configurations
    assert [(u.chain, list(u.chunks), u.rows_last) for u in units] == [(0, [0, 3, 6, 9], 5), (1, [1, 4, 7], 10),
                                                                       (2, [2, 5, 8], 10)]
    assert mc.chain_of(p, 7) == (1, 2) and mc.plan(p, 15)[1].rows_last == 5 and len(mc.plan(p, 15)) == 2
    assert list(mc.segments(p, 95, 0, 1, 2).chunks) == [3, 6] and mc.update_counts(p, 95) == (3 * p.n_equil, 95 * p.thin)
    assert mc.MCParams(L=1024).chains == mc.DEFAULT_CHAINS == 64
    with pytest.raises(ValueError, match="chains"):
        mc.MCParams(L=8, chains=-1)


def _chunks_computed(monkeypatch) -> dict:
    """Count equilibrated chains and computed chunks (recorded or only checked) of the runs that follow."""
    seen = {"equilibrated": 0, "chunks": 0}
    start, records = mc._start, mc._records

    def spy_start(params, chains):
        seen["equilibrated"] += len(chains)
        return start(params, chains)

    def spy_records(params, spins, *a):
        seen["chunks"] += len(spins)
        return records(params, spins, *a)

    monkeypatch.setattr(mc, "_start", spy_start)
    monkeypatch.setattr(mc, "_records", spy_records)
    return seen


def _files(path):
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*"))
            if f.is_file() and f.name != "zarr.json"}


@pytest.mark.parametrize("algorithm", ["sw", "wolff"])
def test_units_of_work_write_the_bytes_of_the_in_process_run(tmp_path, algorithm):
    """Chains run one by one, out of order, in pieces, some twice (a retried task), as a scheduler would:
    every chunk file, record and checkpoint is byte-identical to the in-process run's."""
    p = mc.MCParams(L=8, seed=4, chunk_size=20, chains=3, algorithm=algorithm)
    ref = mc.run(p, 230, tmp_path / "ref", progress=False, workers=2)
    store.create_store(tmp_path / "u", p.store_meta())     # the coordinator
    results = [mc.run_chain_segment(p, tmp_path / "u", 2, 0, 99, 230),
               mc.run_chain_segment(p, tmp_path / "u", 0, 0, 2, 230),
               mc.run_chain_segment(p, tmp_path / "u", 1, 0, 99, 230),
               mc.run_chain_segment(p, tmp_path / "u", 0, 2, 99, 230),
               mc.run_chain_segment(p, tmp_path / "u", 1, 0, 99, 230)]
    assert [list(r.written) for r in results] == [[2, 5, 8, 11], [0, 3], [1, 4, 7, 10], [6, 9], []]
    assert results[0].configs == 70 and results[-1].configs == 0
    assert _files(tmp_path / "u") == _files(tmp_path / "ref")
    assert np.array_equal(store.load_configs(tmp_path / "u"), ref.read())
    with pytest.raises(store.StoreError, match="other parameters"):
        mc.run_chain_segment(mc.MCParams(L=8, seed=5, chunk_size=20, chains=3), tmp_path / "u", 0, 0, 1, 230)


def test_chunks_do_not_depend_on_the_run_length(tmp_path):
    p = mc.MCParams(L=8, seed=2, chunk_size=10, chains=4)
    short = mc.run(p, 35, tmp_path / "a", progress=False).read()
    assert np.array_equal(mc.run(p, 120, tmp_path / "b", progress=False).read()[:35], short)


def test_a_gap_is_filled_alone(tmp_path, monkeypatch):
    """Chains 0 and 2 recorded by workers, 1 and 3 not: the resume computes chains 1 and 3 only."""
    p = mc.MCParams(L=8, seed=3, chunk_size=20, chains=4)
    ref = mc.run(p, 320, tmp_path / "ref", progress=False).read()
    store.create_store(tmp_path / "s", p.store_meta())
    for c in (0, 2):
        mc.run_chain_segment(p, tmp_path / "s", c, 0, 4, 320)
    assert store.open_store(tmp_path / "s").count == 20
    assert [w.chain for w in mc.pending(p, 320, store.open_store(tmp_path / "s"))] == [1, 3]
    seen = _chunks_computed(monkeypatch)
    st = mc.run(p, 320, tmp_path / "s", progress=False)
    assert seen == {"equilibrated": 2, "chunks": 8}        # chains 1 and 3: 4 chunks each, nothing else
    assert st.count == 320 and np.array_equal(st.read(), ref)


def test_more_configurations_continue_the_chains_from_their_checkpoints(tmp_path, monkeypatch):
    p = mc.MCParams(L=8, seed=6, chunk_size=20, chains=2)
    ref = mc.run(p, 170, tmp_path / "ref", progress=False).read()
    mc.run(p, 90, tmp_path / "s", progress=False)          # chunks 0..3 full, chunk 4 partial (10 of 20)
    seen = _chunks_computed(monkeypatch)
    st = mc.run(p, 170, tmp_path / "s", progress=False)
    assert seen == {"equilibrated": 0, "chunks": 5}        # chunk 4 again (now full), then 5..8
    assert np.array_equal(st.read(), ref)
    # checkpoints lost or damaged: the chains start from their seeds and check their recorded chunks
    (tmp_path / "s" / "chains" / "0.npz").unlink()
    (tmp_path / "s" / "chains" / "1.npz").write_bytes(b"not an npz")
    seen["equilibrated"] = seen["chunks"] = 0
    st = mc.run(p, 250, tmp_path / "s", progress=False)
    assert seen == {"equilibrated": 2, "chunks": 13}       # 9 recomputed and checked, 4 new
    assert np.array_equal(st.read(), mc.run(p, 250, tmp_path / "ref", progress=False).read())


def test_a_kill_between_a_chunk_and_its_record_loses_and_duplicates_nothing(tmp_path, monkeypatch):
    from dreamrg import _integrity

    p = mc.MCParams(L=8, seed=8, chunk_size=20, chains=2)
    ref = mc.run(p, 200, tmp_path / "ref", progress=False).read()
    real, calls = _integrity.write_atomic, []

    def dies(path, data):
        calls.append(path.name)
        if path.parent.name == "commits" and path.name == "5.json":
            raise KeyboardInterrupt                         # the chunk file of 5 is written, its record never
        return real(path, data)

    monkeypatch.setattr(_integrity, "write_atomic", dies)
    with pytest.raises(KeyboardInterrupt):
        mc.run(p, 200, tmp_path / "s", progress=False)
    monkeypatch.undo()
    assert store.open_store(tmp_path / "s").count == 100 and (tmp_path / "s" / "c" / "5").exists()
    seen = _chunks_computed(monkeypatch)
    st = mc.run(p, 200, tmp_path / "s", progress=False)
    assert seen == {"equilibrated": 0, "chunks": 5}        # 5 (chain 1, from its checkpoint after 3), 6..9
    assert np.array_equal(st.read(), ref)


@pytest.mark.parametrize("algorithm", ["sw", "wolff"])
def test_chains_spanning_many_chunks_match_kaufman(tmp_path, algorithm):
    """Two chains of 20 chunks each: ⟨e⟩ and c within 3σ of the exact torus values at K_c, L = 8."""
    params = mc.MCParams(L=8, algorithm=algorithm, seed=12, chunk_size=500, chains=2)
    st = mc.run(params, 20_000, tmp_path / "s", progress=False)
    m, e = magnetization_energy(st.read())
    r = fss_observables(m, e, 8)
    e_ex, c_ex = exact_energy_and_heat_capacity(8, K_C)
    assert abs(r["e"].value - e_ex) < 3 * r["e"].error
    assert abs(r["c"].value - c_ex) < 3 * r["c"].error


def test_duplicated_workers_of_one_chain_agree(tmp_path):
    """Two workers run the same chain at once (a task retried while the first still runs), a third another
    chain: the chunks, records and checkpoints are those of the in-process run."""
    from concurrent.futures import ThreadPoolExecutor

    p = mc.MCParams(L=8, seed=9, chunk_size=10, chains=2)
    mc.run(p, 200, tmp_path / "ref", progress=False)
    store.create_store(tmp_path / "s", p.store_meta())
    with ThreadPoolExecutor(3) as pool:
        done = list(pool.map(lambda c: mc.run_chain_segment(p, tmp_path / "s", c, 0, 10, 200), [0, 1, 0]))
    assert set().union(*(r.written for r in done)) == set(range(20))   # each chunk by one of them, or both
    assert _files(tmp_path / "s") == _files(tmp_path / "ref")


def test_a_later_segment_first_writes_the_earlier_ones_it_computes(tmp_path):
    p = mc.MCParams(L=8, seed=10, chunk_size=10, chains=2)
    ref = mc.run(p, 100, tmp_path / "ref", progress=False)
    store.create_store(tmp_path / "s", p.store_meta())
    assert list(mc.run_chain_segment(p, tmp_path / "s", 1, 2, 1, 100).written) == [1, 3, 5]
    assert list(mc.run_chain_segment(p, tmp_path / "s", 1, 0, 5, 100).written) == [7, 9]
    mc.run_chain_segment(p, tmp_path / "s", 0, 0, 5, 100)
    assert _files(tmp_path / "s") == _files(tmp_path / "ref")
    # a recorded chunk that the seeds do not reproduce is refused, never passed over
    (tmp_path / "s" / "chains" / "0.npz").unlink()
    rec = tmp_path / "s" / "commits" / "0.json"
    doc = json.loads(rec.read_text())
    doc["crc32"]["configs"] += 1
    rec.write_text(json.dumps(doc))
    (tmp_path / "s" / "commits" / "8.json").unlink()
    with pytest.raises(store.StoreError, match="chunk 0, recomputed from the seeds, differs"):
        mc.run_chain_segment(p, tmp_path / "s", 0, 4, 1, 100)


def test_cli_chains_option(tmp_path, capsys):
    from dreamrg import cli

    out = tmp_path / "s"
    base = ["mc", "--L", "8", "--n-configs", "60", "--seed", "1", "--chunk-size", "20", "--out", str(out),
            "--no-progress"]
    assert cli.main(base + ["--chains", "2"]) == 0 and "chains=2" in capsys.readouterr().out
    ref = mc.run(mc.MCParams(L=8, seed=1, chunk_size=20, chains=2), 60, tmp_path / "ref", progress=False)
    assert np.array_equal(store.load_configs(out), ref.read())
    assert sorted(p.name for p in (out / "chains").iterdir()) == ["0.npz", "1.npz"]
    assert cli.main(base + ["--chains", "3"]) == 2
    assert "chains: stored 2, requested 3" in capsys.readouterr().err
