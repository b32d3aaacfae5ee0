"""The scheduler choice (dreamrg._cluster): parsing, and the same results in process and on a LocalCluster."""

import os
import signal
import time

import pytest

from dreamrg import _cluster


def test_parse_accepts_the_documented_forms():
    assert _cluster.parse(None) == _cluster.Scheduler("here")
    assert _cluster.parse("  ") == _cluster.Scheduler("here")
    assert _cluster.parse("local:3") == _cluster.Scheduler("local", n_workers=3)
    assert _cluster.parse("tcp://10.0.0.1:8786").address == "tcp://10.0.0.1:8786"
    assert _cluster.parse("node17:8786").kind == "address"


@pytest.mark.parametrize("bad", ["local:0", "local", "local:two", "my cluster", "http//x"])
def test_parse_refuses_malformed_specs_with_the_allowed_forms(bad):
    with pytest.raises(_cluster.SchedulerError, match="local:N"):
        _cluster.parse(bad)


def test_environment_variable_is_the_default(monkeypatch):
    monkeypatch.setenv(_cluster.ENV, "local:2")
    assert _cluster.resolve(None).n_workers == 2
    assert _cluster.resolve("local:1").n_workers == 1  # the option wins
    monkeypatch.delenv(_cluster.ENV)
    assert not _cluster.resolve(None).distributed


def _square_after(x):
    time.sleep(0.01 * (5 - x % 5))  # finish out of order on a cluster
    return x * x


def test_map_units_in_process_and_on_a_local_cluster_give_the_same_list():
    seen = []
    here = _cluster.map_units(_square_after, range(10), on_result=lambda i, r: seen.append(i))
    assert here == [x * x for x in range(10)] and seen == list(range(10))
    with _cluster.connect("local:2") as client:
        there = _cluster.map_units(_square_after, range(10), client=client, name="sq")
        workers = client.run(os.getpid)
    assert there == here
    assert len(workers) == 2


def _slow_pid(x):
    time.sleep(1.0)
    return x, os.getpid()


@pytest.mark.slow
def test_a_killed_worker_has_its_task_rerun_elsewhere():
    with _cluster.connect("local:2") as client:
        pids = list(client.run(os.getpid).values())
        futures_done = []

        def kill_first(i, r):
            futures_done.append(i)

        import threading

        def killer():
            time.sleep(0.5)  # both workers are inside their first task
            os.kill(pids[0], signal.SIGKILL)

        t = threading.Thread(target=killer)
        t.start()
        out = _cluster.map_units(_slow_pid, range(4), client=client, name="kill", on_result=kill_first)
        t.join()
    assert [x for x, _ in out] == [0, 1, 2, 3]
    assert sorted(futures_done) == [0, 1, 2, 3]
    assert pids[0] not in {p for _, p in out}


def test_an_unreachable_scheduler_is_one_clear_error():
    with pytest.raises(_cluster.SchedulerError, match="cannot reach"):
        with _cluster.connect("tcp://127.0.0.1:9", timeout=2):
            pass


@pytest.fixture(scope="module")
def scheduler_address():
    """A 2-process LocalCluster for the module's CLI tests, reached by its address as a remote one would be."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _cli(*args, cwd):
    import subprocess
    import sys

    env = dict(os.environ, DREAMRG_DATA=str(cwd / "data"))
    env.pop(_cluster.ENV, None)
    r = subprocess.run([sys.executable, "-m", "dreamrg.cli", *map(str, args), "--no-progress"], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.slow
def test_mcrg_json_on_a_cluster_is_identical_to_the_local_run(tmp_path, scheduler_address):
    _cli("mc", "--L", 16, "--n-configs", 1024, "--chunk-size", 128, "--seed", 7, "--out", tmp_path / "B",
         cwd=tmp_path)
    here = _cli("mcrg", tmp_path / "B", "--levels", 2, "--json", cwd=tmp_path)
    there = _cli("mcrg", tmp_path / "B", "--levels", 2, "--json", "--scheduler", scheduler_address, cwd=tmp_path)
    assert there == here and '"y_h"' in here
    irreps_here = _cli("mcrg", tmp_path / "B", "--irreps", "--json", cwd=tmp_path)
    assert _cli("mcrg", tmp_path / "B", "--irreps", "--json", "--scheduler", scheduler_address,
                cwd=tmp_path) == irreps_here
