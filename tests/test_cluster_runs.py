"""Monte Carlo, dreaming and observables as Dask tasks: the same bytes as in process, even when a worker is killed.

One 2-process LocalCluster serves the module (reached by its address, as a remote
scheduler would be, and through a client in this process).
"""

import ast
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from dreamrg import _cluster, mc
from dreamrg.store import open_store, verify_store


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    env = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      env=env) as lc, Client(lc) as client:
        yield lc.scheduler_address, client


def _cli(*args, cwd: Path) -> str:
    env = dict(os.environ, DREAMRG_DATA=str(cwd / "data"))
    env.pop(_cluster.ENV, None)
    quiet = ["--no-progress"] if args[0] in ("mc", "dream") else []
    r = subprocess.run([sys.executable, "-m", "dreamrg.cli", *map(str, args), *quiet], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _same_store(a: Path, b: Path) -> None:
    """Identical configurations, completion records and chain checkpoints; ``b`` verifies clean."""
    sa, sb = open_store(a), open_store(b)
    assert sa.count == sb.count
    assert np.array_equal(sa.read_packed(), sb.read_packed())
    for folder in ("commits", "chains"):
        files = sorted(p.name for p in (a / folder).iterdir() if not p.name.startswith("."))
        assert files == sorted(p.name for p in (b / folder).iterdir() if not p.name.startswith("."))
        for name in files:
            assert (a / folder / name).read_bytes() == (b / folder / name).read_bytes(), f"{folder}/{name}"
    report = verify_store(b)
    assert report.ok and report.count == sa.count, report.problems


def test_map_units_runs_linked_units_in_order_and_checks_the_links():
    seen = []
    out = _cluster.map_units(lambda x: x + 1, [1, 2, 3], after=[None, 0, 1], on_result=lambda i, r: seen.append(i))
    assert out == [2, 3, 4] and seen == [0, 1, 2]
    for bad in ([None, 1, None], [None, None], [0, None, None]):
        with pytest.raises(ValueError, match="earlier unit"):
            _cluster.map_units(lambda x: x, [1, 2, 3], after=bad)


def test_numba_guard_makes_the_environment_agree_with_numba_threads_already_up(monkeypatch):
    import numba

    before = numba.get_num_threads()  # starts numba's threads, as a worker's earlier units would
    monkeypatch.setenv("NUMBA_NUM_THREADS", str(numba.config.NUMBA_NUM_THREADS + 5))
    try:
        _cluster._numba_guard()
        assert os.environ["NUMBA_NUM_THREADS"] == str(numba.config.NUMBA_NUM_THREADS)
        numba.config.reload_config()  # what numba's next compilation does: no "Cannot set NUMBA_NUM_THREADS"
        monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
        _cluster._numba_guard()
        assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(before)


def _record_order(x):
    """Append ``x`` to a file after a pause that makes unlinked units finish out of order."""
    path, i, pause = x
    time.sleep(pause)
    with open(path, "a") as fh:
        fh.write(f"{i}\n")
    return i


@pytest.mark.slow
def test_linked_units_run_after_their_predecessor_on_a_cluster(cluster, tmp_path):
    _, client = cluster
    log = tmp_path / "order.txt"
    units = [(str(log), i, 0.3 if i in (0, 2) else 0.0) for i in range(5)]
    out = _cluster.map_units(_record_order, units, client=client, name="order", after=[None, 0, None, 2, 1])
    assert out == list(range(5))
    order = [int(x) for x in log.read_text().split()]
    assert order.index(0) < order.index(1) < order.index(4) and order.index(2) < order.index(3)


@pytest.mark.slow
def test_mc_on_a_cluster_writes_the_store_of_the_run_in_process(tmp_path, cluster):
    address, _ = cluster
    common = ("mc", "--L", 32, "--n-configs", 4096, "--chunk-size", 512, "--seed", 7, "--json")
    here = _cli(*common, "--out", tmp_path / "A", cwd=tmp_path)
    there = _cli(*common, "--out", tmp_path / "B", "--scheduler", address, cwd=tmp_path)
    assert there == here and json.loads(here)["n"] == 4096
    _same_store(tmp_path / "A", tmp_path / "B")
    assert open_store(tmp_path / "B").meta["configs_timed"] == 4096
    obs = _cli("observables", tmp_path / "B", "--json", "--scheduler", address, cwd=tmp_path)
    assert obs == _cli("observables", tmp_path / "A", "--json", cwd=tmp_path)


@pytest.mark.slow
def test_observables_of_a_store_on_a_cluster_are_the_series_in_process(tmp_path, cluster, monkeypatch):
    from dreamrg import observables

    _, client = cluster
    st = mc.run(mc.MCParams(L=16, seed=5, chunk_size=50, chains=2), 730, tmp_path / "s", progress=False)
    here = observables.store_accumulator(st.path, stop=700)
    monkeypatch.setattr(observables, "_TASK_BYTES", 3 * 50 * 16 * 2)  # tasks of 3 chunks, finishing in any order
    there = observables.store_accumulator(st.path, stop=700, client=client)
    assert np.array_equal(here.m, there.m) and np.array_equal(here.e, there.e) and len(there._m) == 5


@pytest.mark.slow
def test_mc_on_a_cluster_resumes_a_partial_store_and_extends_a_partial_chunk(tmp_path, cluster):
    _, client = cluster
    p = mc.MCParams(L=16, seed=3, chunk_size=100, chains=3)
    mc.run(p, 1050, tmp_path / "A", progress=False)
    mc.run(p, 430, tmp_path / "B", progress=False)  # in process: 4 full chunks and 30 of the fifth
    mc.run(p, 1050, tmp_path / "B", progress=False, client=client)  # resumed on the cluster
    _same_store(tmp_path / "A", tmp_path / "B")
    st = mc.run(p, 700, tmp_path / "B", progress=False, client=client)  # holds more: left as it is
    assert st.count == 1050


@pytest.mark.slow
def test_mc_survives_a_killed_worker_bit_identically(tmp_path, cluster):
    _, client = cluster
    p = mc.MCParams(L=64, seed=11, chunk_size=64, chains=4)
    n = 64 * 48
    out = tmp_path / "B"
    address, pid = next(iter(client.run(os.getpid).items()))
    killed = {}

    def killer():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # once the first chunks are committed, mid-run
            done = len(list((out / "commits").glob("*.json"))) if (out / "commits").is_dir() else 0
            if done >= 2:
                killed["done_before"] = done
                killed["busy"] = client.processing().get(address)  # its tasks, running or queued
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.005)

    t = threading.Thread(target=killer)
    t.start()
    st = mc.run(p, n, out, progress=False, client=client)
    t.join()
    assert "done_before" in killed and killed["done_before"] < n // 64, "the worker was not killed mid-run"
    assert killed["busy"], "the killed worker had no task"
    assert pid not in client.run(os.getpid).values()
    assert st.count == n
    mc.run(p, n, tmp_path / "A", progress=False)
    _same_store(tmp_path / "A", out)
    from dreamrg.cli import main

    assert main(["verify", str(out)]) == 0


def _same_ensemble(a: Path, b: Path) -> None:
    """Identical arrays and completion records; ``b`` verifies clean."""
    from dreamrg.dream import open_ensemble, verify_ensemble

    ea, eb = open_ensemble(a), open_ensemble(b)
    assert ea.count == eb.count and ea.meta["model_id"] == eb.meta["model_id"]
    for L in ea.sizes:
        for x, y in zip(ea.series(L), eb.series(L)):
            assert np.array_equal(x, y)
    if ea.meta["save_configs"]:
        assert np.array_equal(ea.configs(), eb.configs())
    files = sorted(p.name for p in (a / "commits").iterdir() if not p.name.startswith("."))
    assert files == sorted(p.name for p in (b / "commits").iterdir() if not p.name.startswith("."))
    assert all((a / "commits" / f).read_bytes() == (b / "commits" / f).read_bytes() for f in files)
    report = verify_ensemble(b)
    assert report.ok and report.count == ea.count, report.problems


@pytest.mark.slow
def test_dream_on_a_cluster_writes_the_ensemble_of_the_run_in_process(tmp_path, cluster):
    from dreamrg import models

    address, _ = cluster
    model = models.save_model(tmp_path / "k3.json", models.SymmetricUpscaler(3, params=[0.1364, 0.1566, 0.3536]), {})
    common = ("dream", "--model", model, "--n-up", 5, "--n-configs", 1000, "--batch-size", 128, "--seed", 4,
              "--save-configs")
    here = _cli(*common, "--out", tmp_path / "A", cwd=tmp_path)
    there = _cli(*common, "--out", tmp_path / "B", "--scheduler", address, cwd=tmp_path)
    assert there.replace(str(tmp_path / "B"), "X") == here.replace(str(tmp_path / "A"), "X")
    _same_ensemble(tmp_path / "A", tmp_path / "B")
    obs = [_cli("observables", tmp_path / e, "--json", cwd=tmp_path) for e in "AB"]
    assert obs[0] == obs[1] and json.loads(obs[0])[-1]["L"] == 32


@pytest.mark.slow
def test_dream_on_a_cluster_from_mc_starts_with_offset_tables_and_a_resume(tmp_path, cluster):
    import torch

    from dreamrg import dream, models

    _, client = cluster
    torch.manual_seed(5)
    net = models.TwoLayerUpscaler(5, channels=4)  # the two-layer sampler's offset tables, built on the workers
    start = mc.run(mc.MCParams(L=4, seed=2, chunk_size=64), 300, tmp_path / "mc4", progress=False).path
    p = dream.DreamParams(n_up=2, L0=4, seed=9, batch_size=40, start=str(start.resolve()), save_configs=True)
    dream.run(net, p, 300, tmp_path / "A", progress=False)
    dream.run(net, p, 130, tmp_path / "B", progress=False)  # stops inside a batch, in process
    ens = dream.run(net, p, 300, tmp_path / "B", progress=False, client=client)  # resumed on the cluster
    assert ens.count == 300
    _same_ensemble(tmp_path / "A", tmp_path / "B")


def _tiny_profile():
    from dreamrg.profiles import load_profile

    return load_profile("smoke", {"training": {"ks": [3], "fig6_M": [250], "epochs": 2},
                                  "monte_carlo": {"fss_configs": 400, "validation_configs": 400},
                                  "complexity": {"epochs": 1, "M": 200, "n_configs": 100},
                                  "mcrg": {"mc_configs": 400, "irrep_configs": 400},
                                  "offcritical": {"K_permille": [970, 1000, 1030], "train_permille": [970, 1000, 1030],
                                                  "wide_permille": [940, 1000, 1060], "sizes": [4, 8, 16],
                                                  "L0_mc": 4, "L_t": 8, "mc_configs": 400, "M": 200,
                                                  "n_configs": 400, "batch_size": 100}})


@pytest.mark.slow
def test_warming_a_profile_on_a_cluster_leaves_the_chapters_nothing_to_train_sample_or_dream(
        tmp_path, cluster, monkeypatch):
    import dreamrg.runs.conditioned
    import dreamrg.runs.ensembles
    import dreamrg.runs.mc
    from dreamrg import experiments as ex
    from dreamrg import models, prewarm, train
    from dreamrg.runs.models import cached_model

    _, client = cluster
    p = _tiny_profile()
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "data"))  # the workers get it with each task

    def refuse(*args, **kwargs):
        raise AssertionError("not warmed")

    def only_on_the_cluster(real):
        def run(*args, client=None, **kwargs):
            assert client is not None, "run in process"
            return real(*args, client=client, **kwargs)
        return run

    for module in (dreamrg.runs.mc, dreamrg.runs.ensembles, dreamrg.runs.conditioned):
        monkeypatch.setattr(module, "run", only_on_the_cluster(module.run))
    with monkeypatch.context() as here:  # nothing is trained in this process: every model is a task
        here.setattr(train, "train_adamw", refuse)
        here.setattr(train, "train_exact", refuse)
        report = prewarm.warm(p, client, log=lambda line: None)
    assert report.models == report.trained == len(prewarm.single_layer_recipes(p)) + 2
    assert sorted(report.seconds) == ["ensembles", "off-critical", "single-layer", "stores", "two-layer"]

    for module, name in ((train, "train_adamw"), (train, "train_exact"), (dreamrg.runs.mc, "run"),
                         (dreamrg.runs.ensembles, "run"), (dreamrg.runs.conditioned, "run"),
                         (dreamrg.runs.conditioned, "train_conditioned_exact")):
        monkeypatch.setattr(module, name, refuse)
    ex.single_layer_fits(p), ex.training_size_models(p), ex.two_layer_models(p)
    ex.dreamed_summaries(p), ex.training_size_summaries(p), ex.pdf_from_mc(p), ex.two_layer_summaries(p)
    ex.mc_summaries(p), ex.mc_validation(p), ex.mc_training_stores(p), ex.mcrg_mc(p)
    ex.offcritical_training(p), ex.offcritical_degrees(p), ex.offcritical_mc(p), ex.offcritical_dreamed(p)
    ex.offcritical_range(p)
    monkeypatch.undo()

    # a model trained on a worker is the one trained in process
    params, L_t, M, seed = prewarm.single_layer_recipes(p)[0]
    there = cached_model(params, L_t, M, seed)
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "here"))
    here = cached_model(params, L_t, M, seed)
    assert torch_equal(here, there)


def torch_equal(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(bool((sa[k] == sb[k]).all()) for k in sa)


@pytest.mark.parametrize("command", [["book", "--no-build"], ["mc", "--L", "8", "--n-configs", "10", "--seed", "1",
                                                             "--out", "never"]])
def test_a_malformed_scheduler_is_a_usage_error_before_any_work(command, tmp_path, capsys, monkeypatch):
    from dreamrg.cli import main

    monkeypatch.chdir(tmp_path)
    assert main([*command, "--scheduler", "local:0"]) == 2
    assert "local:N" in capsys.readouterr().err and not (tmp_path / "never").exists()


def test_the_warm_up_covers_only_what_the_executed_chapters_need(monkeypatch):
    """`book --chapters offcritical --scheduler ...` warms the off-critical phase alone; the two-layer networks
    only for the chapters that show them; pages without computations need nothing."""
    from dreamrg import experiments as ex
    from dreamrg import prewarm

    assert prewarm.warmed_groups(None) == ["critical", "two-layer", "off-critical"]
    assert prewarm.warmed_groups(["offcritical"]) == ["off-critical"]
    assert prewarm.warmed_groups(["fss", "mcrg"]) == ["critical"]
    assert prewarm.warmed_groups(["complexity"]) == ["critical", "two-layer"]
    assert prewarm.warmed_groups(["status"]) == ["critical"]          # the status page shows no two-layer rows
    assert prewarm.warmed_groups(["intro", "cluster", "appendix_paper_run"]) == []
    from dreamrg.bookrun import toc_notebooks
    from dreamrg.paths import repo_root

    listed = set().union(*prewarm.WARMED_FOR.values())
    assert listed <= set(toc_notebooks(repo_root()))                     # no stale chapter names

    called = []
    monkeypatch.setattr(prewarm, "_warm_critical", lambda *a, **k: pytest.fail("critical phases warmed"))
    for name in ("offcritical_training", "offcritical_degrees", "offcritical_mc", "offcritical_dreamed",
                 "offcritical_range"):
        monkeypatch.setattr(ex, name, lambda p, name=name: called.append(name))
    report = prewarm.warm("smoke", None, chapters=["offcritical"], log=lambda line: None)
    assert len(called) == 5 and sorted(report.seconds) == ["off-critical"] and report.models == 0
    called.clear()
    assert prewarm.warm("smoke", None, chapters=["intro"], log=lambda line: None).seconds == {} and not called


def _identifiers(tree) -> set[str]:
    """Every name, attribute and from-imported name a piece of code uses."""
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute):
            out.add(n.attr)
        elif isinstance(n, ast.ImportFrom):
            out.update(a.name for a in n.names)
    return out


def test_warmed_for_matches_what_each_chapter_reaches():
    """prewarm.WARMED_FOR is kept by hand; this reads each chapter's code, follows the experiments, tables, quotes
    and display functions it calls (by name, transitively) and checks that a chapter is listed for a group exactly
    when it reaches one of the experiments that group warms (prewarm.WARMS), so a chapter that starts to show a
    two-layer or off-critical result cannot be warmed short. WARMS itself must name experiments the phases call."""
    import jupytext

    from dreamrg import experiments as ex
    from dreamrg import prewarm
    from dreamrg.bookrun import toc_notebooks
    from dreamrg.paths import repo_root

    src = repo_root() / "src" / "dreamrg"
    calls: dict[str, set[str]] = {}
    files = sorted((src / "experiments").glob("*.py")) + [src / f"{m}.py" for m in ("tables", "quotes", "display",
                                                                                   "plotting")]
    for file in files:
        for node in ast.parse(file.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef):
                calls.setdefault(node.name, set()).update(_identifiers(node))
    prewarm_source = (src / "prewarm.py").read_text(encoding="utf-8")
    for group, names in prewarm.WARMS.items():
        for name in names:
            assert callable(getattr(ex, name, None)), f"prewarm.WARMS[{group!r}]: no experiment {name}"
            assert f"ex.{name}" in prewarm_source, f"prewarm.WARMS[{group!r}]: no phase calls ex.{name}"
    assert set(prewarm.WARMS) == set(prewarm.WARMED_FOR)

    for chapter in toc_notebooks(repo_root()):
        nb = jupytext.read(repo_root() / "book" / f"{chapter}.md")
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        todo, reached = _identifiers(ast.parse(code)) & calls.keys(), set()
        while todo:
            name = todo.pop()
            reached.add(name)
            todo |= (calls[name] & calls.keys()) - reached
        needs = sorted(g for g, names in prewarm.WARMS.items() if reached & set(names))
        assert sorted(prewarm.warmed_groups([chapter])) == needs, chapter
