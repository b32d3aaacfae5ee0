"""MCRG straight from Monte Carlo over chains (dreamrg.mcrg.streaming): equal to the MCRG of the stored run,
in process and on a LocalCluster, resumable after an interruption or a kill."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from _mcrg_helpers import assert_identical
from dreamrg import mc, mcrg

# 13 chunks (the last one partial) of 4 chains: chain 0 fills chunks 0, 4, 8, 12; bins of 237-238 across chunks
N, C, CHAINS, BINS, LEVELS, SEED = 1900, 150, 4, 8, 2, 5
SRC = str(Path(mcrg.__file__).resolve().parents[2])


@pytest.fixture(scope="module")
def params():
    return mc.MCParams(L=16, seed=31, chunk_size=C, chains=CHAINS)


@pytest.fixture(scope="module")
def sequential(tmp_path_factory, params):
    """The MCRG of the same Monte Carlo run, stored."""
    path = tmp_path_factory.mktemp("stored") / "L16"
    mc.run(params, N, path, progress=False)
    return mcrg.accumulate_store(path, levels=LEVELS, seed=SEED, n_bins=BINS, progress=False)


def stream(params, run, **kw):
    return mcrg.accumulate_mc(params, N, run, levels=LEVELS, seed=SEED, n_bins=BINS, progress=False, **kw)


def test_stream_segments_gives_the_stored_chunks(params, tmp_path):
    """mc.stream_segments yields exactly the chunks mc.run stores, from seeds or from a mid-chain state."""
    from dreamrg.store import open_store

    store = tmp_path / "s"
    mc.run(params, N, store, progress=False)
    s = open_store(store).read()
    works = [mc.segments(params, N, c, 0, 99) for c in range(CHAINS)]
    seen = {}
    for i, j, configs, state in mc.stream_segments(params, N, works, [None] * CHAINS, parallel=3):
        assert np.array_equal(configs, s[j * C:(j + 1) * C]) and state.segments - 1 == mc.chain_of(params, j)[1]
        seen[j] = state
    assert sorted(seen) == list(range(13))
    # from chain 1's state after chunk 5 (its segment 1): chunk 9 next
    later = list(mc.stream_segments(params, N, [mc.segments(params, N, 1, 2, 5)], [seen[5]]))
    assert [j for _, j, _, _ in later] == [9] and np.array_equal(later[0][2], s[9 * C:10 * C])
    with pytest.raises(ValueError, match="beyond the first"):
        list(mc.stream_segments(params, N, [mc.segments(params, N, 1, 0, 5)], [seen[9]]))


def test_streamed_mcrg_equals_mcrg_of_the_stored_configurations(params, sequential, tmp_path):
    run = tmp_path / "run"
    accs = stream(params, run, checkpoint_seconds=0)
    assert_identical(accs, sequential)
    # nothing but the run file and one checkpoint per chain (and no lock) is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert sorted(str(p.relative_to(run)) for p in run.rglob("*")) == \
        ["chains", "chains/0.npz", "chains/1.npz", "chains/2.npz", "chains/3.npz", "run.json"]
    prog = mcrg.stream_progress(run)
    assert (prog.configs, prog.chains, prog.chains_done, prog.done) == (N, CHAINS, CHAINS, True)
    assert prog.seconds_mc > 0 and prog.seconds_mcrg > 0
    # a finished run is reduced again at once, identically; one chain per kernel call changes nothing
    assert_identical(stream(params, run), sequential)
    assert_identical(stream(params, tmp_path / "one", workers=1), sequential)
    res = mcrg.mcrg_from_mc(params, N, run, levels=LEVELS, seed=SEED, n_bins=BINS, progress=False)
    assert json.dumps([r.to_dict() for r in res]) == json.dumps([a.result().to_dict() for a in sequential])
    # another run's directory is refused, naming what differs
    with pytest.raises(ValueError, match="another run .*n_configs, seed"):
        mcrg.accumulate_mc(params, N + 1, run, levels=LEVELS, seed=SEED + 1, n_bins=BINS, progress=False)
    assert mcrg.stream_progress(tmp_path / "nothing") is None


def test_several_conventions_in_one_streamed_pass_equal_each_stored_analysis(params, tmp_path, monkeypatch):
    """accumulate_mc_conventions: each convention's accumulators are those of the stored run analysed with it, also
    after an interruption, and when the finished chains are carried to a new directory."""
    from dreamrg.mc import run as mc_run
    from dreamrg.mcrg import streaming

    conventions = [("symmetrised", "periodic"), ("authors", "periodic"), ("symmetrised", "open")]
    store = tmp_path / "store"
    mc_run(params, N, store, progress=False)
    stored = {(b, bd): mcrg.accumulate_store(store, levels=LEVELS, seed=SEED, n_bins=BINS, basis=b, boundary=bd,
                                             progress=False) for b, bd in conventions}
    real, calls = streaming.accumulate_chunk_conventions, []

    def dying(configs, chunk, **kw):
        calls.append(chunk)
        if len(calls) == 6:
            raise Interrupted
        return real(configs, chunk, **kw)

    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", dying)
    run, carry = tmp_path / "run", tmp_path / "carry"
    with pytest.raises(Interrupted):
        mcrg.accumulate_mc_conventions(params, N, run, conventions, levels=LEVELS, seed=SEED, n_bins=BINS,
                                       progress=False, workers=1, checkpoint_seconds=0, carry=carry)
    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", real)
    assert mcrg.stream_progress(carry).chains_done == 1
    with np.load(carry / "chains" / "0.npz", allow_pickle=False) as z:
        assert {"level1.header", "also0.level1.header", "also1.level1.header"} <= set(z.files)
    got = mcrg.accumulate_mc_conventions(params, N, tmp_path / "new", conventions, levels=LEVELS, seed=SEED,
                                         n_bins=BINS, progress=False, carry=carry)
    assert list(got) == conventions
    for conv in conventions:
        assert_identical(got[conv], stored[conv])
    # its directory is not a run of one convention
    with pytest.raises(ValueError, match="holds another run .*also"):
        mcrg.accumulate_mc(params, N, tmp_path / "new", levels=LEVELS, seed=SEED, n_bins=BINS, progress=False)
    res = mcrg.mcrg_from_mc_conventions(params, N, tmp_path / "new", conventions, levels=LEVELS, seed=SEED,
                                        n_bins=BINS, progress=False)
    assert [r.to_dict() for r in res[conventions[1]]] == [a.result().to_dict() for a in stored[conventions[1]]]
    with pytest.raises(ValueError, match="no \\(basis, boundary\\) convention"):
        mcrg.accumulate_mc_conventions(params, N, tmp_path / "x", [], levels=LEVELS, progress=False)
    with pytest.raises(ValueError, match="basis"):
        mcrg.accumulate_mc_conventions(params, N, tmp_path / "x", [("nope", "periodic")], progress=False)
    assert not (tmp_path / "x").exists()


class Interrupted(Exception):
    pass


def test_streamed_run_resumes_after_an_interruption(params, sequential, tmp_path, monkeypatch):
    from dreamrg.mcrg import streaming

    run = tmp_path / "run"
    real = streaming.accumulate_chunk_conventions
    calls, die_at = [], [6]

    def dying(configs, chunk, **kw):
        calls.append(chunk)
        if len(calls) == die_at[0]:
            raise Interrupted  # the run is killed while the 6th chunk is accumulated
        return real(configs, chunk, **kw)

    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", dying)
    with pytest.raises(Interrupted):
        stream(params, run, workers=2, checkpoint_seconds=0)  # chains (0, 1) together, then (2, 3)
    assert calls == [0, 1, 4, 5, 8, 9]
    assert mcrg.stream_progress(run).configs == 5 * C  # chunks 0, 4, 8 of chain 0 and 1, 5 of chain 1
    # a kill between a checkpoint's temporary file and its rename leaves the previous checkpoint whole
    (run / "chains" / ".1.npz.host.1.x.tmp").write_bytes(b"half a checkpoint")
    calls.clear()
    die_at[0] = None
    accs = stream(params, run, workers=2, checkpoint_seconds=0)
    assert calls == [9, 12, 2, 3, 6, 7, 10, 11]  # neither lost nor repeated
    assert_identical(accs, sequential)


def test_a_chain_without_checkpoint_restarts_from_its_seeds(params, sequential, tmp_path, monkeypatch):
    """With checkpoints far apart a kill loses computing, not data: the chain starts again from its seeds."""
    from dreamrg.mcrg import streaming

    run = tmp_path / "run"
    real, calls = streaming.accumulate_chunk_conventions, []

    def dying(configs, chunk, **kw):
        calls.append(chunk)
        if chunk == 8:
            raise Interrupted
        return real(configs, chunk, **kw)

    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", dying)
    with pytest.raises(Interrupted):
        stream(params, run, workers=1, checkpoint_seconds=3600)
    assert mcrg.stream_progress(run).configs == 0
    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", real)
    assert_identical(stream(params, run, workers=1), sequential)


def test_damaged_checkpoint_is_refused(params, tmp_path):
    run = tmp_path / "run"
    stream(params, run, checkpoint_seconds=0)
    bad = run / "chains" / "2.npz"
    bad.write_bytes(b"not a zip file")
    for call in (lambda: stream(params, run), lambda: mcrg.stream_progress(run)):
        with pytest.raises(ValueError, match=r"chains/2.npz is not a readable checkpoint .*delete it"):
            call()
    assert bad.read_bytes() == b"not a zip file"
    (run / "run.json").write_text(json.dumps({"kind": "something else"}))
    with pytest.raises(ValueError, match="does not describe an MCRG-from-MC run"):
        stream(params, run)


def test_bad_input_is_refused_before_the_run_directory_is_made(params, tmp_path):
    for kw, fragment in ((dict(levels=4), "cannot be blocked 4 times"), (dict(basis="nope"), "basis"),
                         (dict(n_bins=1), "n_bins"), (dict(checkpoint_seconds=-1), "checkpoint_seconds")):
        args = dict(levels=LEVELS, seed=SEED, n_bins=BINS) | kw
        with pytest.raises(ValueError, match=fragment):
            mcrg.accumulate_mc(params, N, tmp_path / "run", progress=False, **args)
    assert not (tmp_path / "run").exists()


def test_a_run_carried_to_another_machine_finishes_bit_identically(params, sequential, tmp_path, monkeypatch):
    """Finished chains exported from one run directory and imported into a new one: only the rest is computed."""
    from dreamrg.mcrg import streaming

    first, carry, second = tmp_path / "first", tmp_path / "carry", tmp_path / "second"
    real, calls = streaming.accumulate_chunk_conventions, []

    def dying(configs, chunk, **kw):
        calls.append(chunk)
        if chunk == 6:  # chain 2's second chunk: chains 0 and 1 are finished, chain 2 is part-way
            raise Interrupted
        return real(configs, chunk, **kw)

    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", dying)
    with pytest.raises(Interrupted):
        stream(params, first, workers=1, checkpoint_seconds=0)
    assert mcrg.export_finished(first, carry) == [0, 1]
    assert mcrg.export_finished(first, carry) == []  # already there
    assert sorted(f.name for f in (carry / "chains").iterdir()) == ["0.npz", "1.npz"]
    with np.load(carry / "chains" / "0.npz", allow_pickle=False) as z:
        assert "spins" not in z.files and "rng" not in z.files  # no Monte Carlo state is carried
    progress = mcrg.stream_progress(carry)
    # chain 0: chunks 0, 4, 8 and the partial 12 (550); chain 1: chunks 1, 5, 9
    assert (progress.configs, progress.chains_done, progress.chains) == (550 + 450, 2, CHAINS)
    # a new machine: the carried chains are imported, the other two computed, the result is the same
    assert mcrg.import_finished(carry, second) == [0, 1]
    assert mcrg.import_finished(carry, second) == []
    calls.clear()
    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", lambda configs, chunk, **kw: (calls.append(chunk),
                                                                                      real(configs, chunk, **kw))[1])
    assert_identical(stream(params, second, workers=2), sequential)
    assert sorted(calls) == [2, 3, 6, 7, 10, 11]  # chains 2 and 3 only
    # importing into the first directory replaces nothing it has finished, and finishes it the same way
    assert mcrg.import_finished(carry, first) == []
    assert_identical(stream(params, first, workers=1), sequential)


def test_carrying_refuses_damaged_unfinished_or_foreign_chains(params, tmp_path):
    run, carry, other = tmp_path / "run", tmp_path / "carry", tmp_path / "other"
    with pytest.raises(ValueError, match="holds no MCRG-from-MC run"):
        mcrg.export_finished(run, carry)
    with pytest.raises(ValueError, match="holds no carried MCRG-from-MC run"):
        mcrg.import_finished(carry, run)
    stream(params, run, checkpoint_seconds=0)
    assert mcrg.export_finished(run, carry) == [0, 1, 2, 3]
    # a carried chain without its state that claims to be unfinished
    from dreamrg.mcrg import streaming

    key = json.loads((carry / "run.json").read_text())
    _, accs, record = streaming._load_chain(carry / "chains" / "3.npz", key, params.L, 3 * C)  # chunks 3, 7, 11
    (carry / "chains" / "3.npz").unlink()
    streaming._save_chain(carry / "chains" / "3.npz", None, accs, record | {"configs": 2 * C})
    with pytest.raises(ValueError, match=r"3.npz is not a readable checkpoint .*holds no chain state"):
        mcrg.import_finished(carry, other)
    assert not other.exists()  # nothing written
    (carry / "chains" / "3.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"3.npz is not a readable checkpoint"):
        mcrg.import_finished(carry, other)
    (carry / "chains" / "3.npz").unlink()
    (carry / "chains" / "notes.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="not a chain checkpoint"):
        mcrg.import_finished(carry, other)
    (carry / "chains" / "notes.npz").unlink()
    # another run's directory
    mcrg.accumulate_mc(params, N, other, levels=1, seed=SEED, n_bins=BINS, progress=False)
    with pytest.raises(ValueError, match="holds another run .*levels"):
        mcrg.import_finished(carry, other)
    with pytest.raises(ValueError, match="holds another run .*levels"):
        mcrg.export_finished(other, carry)


_SLOW_RUN = """
import sys, time
from dreamrg import mc, mcrg
from dreamrg.mcrg import streaming
real = streaming.accumulate_chunk_conventions
def slow(*a, **kw):
    time.sleep(0.3)
    return real(*a, **kw)
streaming.accumulate_chunk_conventions = slow
params = mc.MCParams(L=16, seed=31, chunk_size={C}, chains={CHAINS})
mcrg.accumulate_mc(params, {N}, sys.argv[1], levels={LEVELS}, seed={SEED}, n_bins={BINS}, progress=False,
                   workers=1, checkpoint_seconds=0)
"""


def test_a_killed_run_resumes_without_losing_or_repeating_a_chunk(params, sequential, tmp_path):
    """SIGKILL a streaming run in another process mid-way, then finish it here."""
    run = tmp_path / "run"
    script = _SLOW_RUN.format(C=C, CHAINS=CHAINS, N=N, LEVELS=LEVELS, SEED=SEED, BINS=BINS)
    env = os.environ | {"PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-c", script, str(run)], env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            prog = mcrg.stream_progress(run) if (run / "run.json").exists() else None
            if prog is not None and prog.configs >= 3 * C:
                break
            assert proc.poll() is None, "the run ended before it was killed"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    done = mcrg.stream_progress(run).configs
    assert 3 * C <= done < N
    assert_identical(stream(params, run), sequential)


@pytest.fixture(scope="module")
def client():
    from dreamrg import _cluster

    with _cluster.connect("local:2") as c:
        yield c


def test_streamed_mcrg_on_a_local_cluster_equals_the_stored_run(params, sequential, tmp_path, client):
    run = tmp_path / "run"
    assert_identical(stream(params, run, client=client, checkpoint_seconds=0), sequential)
    # a partly done run (chains 0 and 3 finished in process) is completed on the cluster, identically
    part = tmp_path / "part"
    stream(params, part, checkpoint_seconds=0)
    for c in (1, 2):
        (part / "chains" / f"{c}.npz").unlink()
    assert mcrg.stream_progress(part).chains_done == 2
    assert_identical(stream(params, part, client=client), sequential)
    # binned chain by chain: the chains on the cluster, and the store's chunks as Dask tasks, give the same bits
    store = tmp_path / "s"
    mc.run(params, N, store, progress=False)
    chained = mcrg.accumulate_store(store, levels=LEVELS, seed=SEED, n_bins=BINS, progress=False, order="chain")
    assert_identical(mcrg.accumulate_store(store, levels=LEVELS, seed=SEED, n_bins=BINS, progress=False,
                                           order="chain", client=client, batch_size=2 * C), chained)
    assert_identical(stream(params, tmp_path / "chained", client=client, order="chain"), chained)


@pytest.mark.slow
def test_a_killed_dask_worker_resumes_its_chain_from_the_checkpoint(tmp_path):
    """SIGKILL a worker while it advances a chain: Dask reruns the task, which continues from the chain's
    checkpoint; the result is still that of the stored run."""
    import threading

    from dreamrg import _cluster

    p, n = mc.MCParams(L=64, seed=8, chunk_size=200, chains=2), 8000  # 20 chunks per chain
    store = tmp_path / "s"
    mc.run(p, n, store, progress=False)
    stored = mcrg.accumulate_store(store, levels=LEVELS, seed=SEED, n_bins=BINS, progress=False)
    run, out = tmp_path / "run", {}
    with _cluster.connect("local:2") as client:
        pids = list(client.run(os.getpid).values())
        t = threading.Thread(target=lambda: out.setdefault("accs", mcrg.accumulate_mc(
            p, n, run, levels=LEVELS, seed=SEED, n_bins=BINS, progress=False, client=client, checkpoint_seconds=0)))
        t.start()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and t.is_alive():
            prog = mcrg.stream_progress(run) if (run / "run.json").exists() else None
            if prog is not None and prog.configs >= 4 * 200:
                break
            time.sleep(0.02)
        killed_at = mcrg.stream_progress(run).configs
        os.kill(pids[0], signal.SIGKILL)
        t.join()
    assert killed_at < n, "the run ended before a worker was killed"
    assert_identical(out["accs"], stored)


def test_a_complete_carry_is_reduced_where_a_chain_would_not_fit_in_memory(params, sequential, tmp_path, monkeypatch):
    """Reducing a finished or completely carried run runs no chain, so it needs no chain's memory: the check that
    refuses a chain too large for the machine is skipped then, and still refuses a run with chains left."""
    from dreamrg import mc as mc_module

    carry = tmp_path / "carry"
    stream(params, tmp_path / "first", carry=carry)

    def no_memory(*a, **k):
        raise ValueError("one chain needs ~1 GiB")

    monkeypatch.setattr(mc_module, "parallel_chains", no_memory)
    assert_identical(stream(params, tmp_path / "second", carry=carry), sequential)
    assert_identical(stream(params, tmp_path / "first"), sequential)
    with pytest.raises(ValueError, match="one chain needs"):
        stream(params, tmp_path / "third")
    assert not (tmp_path / "third").exists()


def test_chain_order_first_is_the_chain_by_chain_enumeration():
    """drivers.chain_order_first against the plain enumeration: chunks sorted by (chain, chunk), sizes summed."""
    for n, chunk, chains in [(N, C, CHAINS), (1000, 100, 3), (1001, 100, 3), (7, 10, 4), (10**6, 2048, 64),
                             (100_000, 512, 64), (64, 1, 64), (65, 1, 64), (300, 7, 1)]:
        n_chunks = -(-n // chunk)
        size = [min(chunk, n - j * chunk) for j in range(n_chunks)]
        at, expected = 0, {}
        for j in sorted(range(n_chunks), key=lambda j: (j % chains, j)):
            expected[j] = at
            at += size[j]
        got = {j: mcrg.chain_order_first(j, chunk, n, chains) for j in range(n_chunks)}
        assert got == expected, (n, chunk, chains)
    with pytest.raises(ValueError, match="not a chunk"):
        mcrg.chain_order_first(13, C, N, CHAINS)


def test_chain_order_streamed_equals_the_store_binned_so_and_resumes(params, sequential, tmp_path, monkeypatch):
    """order="chain": streamed equals the store analysed in that order, bit for bit, also after an interruption; the
    point estimates equal the run order's (the same sums), the jackknife differs; a directory keeps its order."""
    from dreamrg.mcrg import streaming
    from dreamrg.store import import_configs, open_store

    store = tmp_path / "s"
    mc.run(params, N, store, progress=False)
    stored = mcrg.accumulate_store(store, levels=LEVELS, seed=SEED, n_bins=BINS, progress=False, order="chain")
    assert_identical(stream(params, tmp_path / "whole", order="chain", checkpoint_seconds=0), stored)
    for a, b in zip(stored, sequential):
        ra, rb = a.result(), b.result()
        assert (ra.y_h, ra.y_t) == pytest.approx((rb.y_h, rb.y_t), rel=1e-12) and ra.y_t_err != rb.y_t_err
    real, calls = streaming.accumulate_chunk_conventions, []

    def dying(configs, chunk, **kw):
        calls.append(chunk)
        if len(calls) == 6:
            raise Interrupted  # killed while the 6th chunk is accumulated
        return real(configs, chunk, **kw)

    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", dying)
    with pytest.raises(Interrupted):
        stream(params, tmp_path / "cut", order="chain", workers=2, checkpoint_seconds=0)
    monkeypatch.undo()
    assert 0 < mcrg.stream_progress(tmp_path / "cut").configs < N
    assert_identical(stream(params, tmp_path / "cut", order="chain", workers=2, checkpoint_seconds=0), stored)
    with pytest.raises(ValueError, match="another run .*order"):
        stream(params, tmp_path / "cut")
    with pytest.raises(ValueError, match="order must be one of"):
        stream(params, tmp_path / "bad", order="chains")
    assert not (tmp_path / "bad").exists()
    np.save(tmp_path / "some.npy", open_store(store).read(0, 20))  # an imported store records no chains
    import_configs(tmp_path / "some.npy", tmp_path / "imported")
    with pytest.raises(ValueError, match="records no Monte Carlo chains"):
        mcrg.accumulate_store(tmp_path / "imported", order="chain", n_bins=BINS, progress=False)


def test_one_chain_per_bin_folds_each_chain_into_one_piece(tmp_path):
    """With as many chains as bins, each tiled by whole chunks, chain order makes every bin one chain: a chain's
    checkpoint (what is carried) holds one piece per step, against one per chunk in the run's order."""
    tiled, n = mc.MCParams(L=16, seed=31, chunk_size=120, chains=BINS), 8 * 240

    def pieces(run, chain):
        with np.load(run / "chains" / f"{chain}.npz") as z:
            return [len(z[f"level{k}.moments.start"]) for k in range(LEVELS)]

    for order, expected in (("chain", [1] * LEVELS), ("run", [2] * LEVELS)):
        mcrg.accumulate_mc(tiled, n, tmp_path / order, levels=LEVELS, seed=SEED, n_bins=BINS, progress=False,
                           order=order)
        assert [pieces(tmp_path / order, c) for c in range(BINS)] == [expected] * BINS, order


def test_finished_chains_are_carried_as_each_unit_ends(params, sequential, tmp_path, monkeypatch):
    """With a carry, a unit's finished chains are exported when the unit ends, not only when the run stops: a run
    killed without warning (no finally) has carried every chain it finished."""
    from dreamrg.mcrg import streaming

    real, seen = streaming.accumulate_chunk_conventions, {}
    carry = tmp_path / "carry"

    def watching(configs, chunk, **kw):
        if chunk == 2 and not seen:  # the first chunk of the second unit, chains (2, 3)
            seen["carried"] = sorted(p.name for p in (carry / "chains").iterdir())
        return real(configs, chunk, **kw)

    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", watching)
    assert_identical(stream(params, tmp_path / "run", workers=2, carry=carry), sequential)
    assert seen["carried"] == ["0.npz", "1.npz"]
    assert sorted(p.name for p in (carry / "chains").iterdir()) == [f"{c}.npz" for c in range(CHAINS)]
