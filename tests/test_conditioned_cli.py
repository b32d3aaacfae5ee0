"""The conditioned model on the command line: `train --conditioned`, `dream --K/--schedule`, `observables`."""

import json
import subprocess
import sys

import numpy as np
import pytest

from dreamrg import conditioned, mc, models, store
from dreamrg.exact import K_C


def cli(*args):
    return subprocess.run([sys.executable, "-m", "dreamrg.cli", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("condcli")
    stores = [mc.run(mc.MCParams(L=8, K=r * K_C, seed=30 + i, chunk_size=100), 200, d / f"s{r}",
                     progress=False).path for i, r in enumerate((0.9, 1.0, 1.1))]
    res = cli("train", "--data", *stores, "--k", 3, "--method", "exact", "--conditioned", "--out", d / "m.json",
              "--no-progress")
    assert res.returncode == 0, res.stderr
    return d, stores, res.stdout


def test_train_conditioned_writes_a_conditioned_model(setup):
    d, stores, out = setup
    model = conditioned.load_conditioned(d / "m.json")
    assert model.degree == 1 and model.t_range == pytest.approx((-0.1, 0.1))
    assert [c["K"] for c in model.meta["fit"]["couplings"]] == pytest.approx([0.9 * K_C, K_C, 1.1 * K_C])
    assert "trained range" in out and "a + b t" in out
    # the same command again replaces its own model; another degree may not overwrite it
    assert cli("train", "--data", *stores, "--k", 3, "--method", "exact", "--conditioned", "--out", d / "m.json",
               "--no-progress").returncode == 0
    res = cli("train", "--data", *stores, "--k", 3, "--method", "exact", "--conditioned", "--degree", 2,
              "--out", d / "m.json", "--no-progress")
    assert res.returncode == 2 and "another training run" in res.stderr


@pytest.mark.parametrize("extra,fragment", [
    ([], "need --conditioned"),                                            # several stores, not conditioned
    (["--conditioned", "--model", "two-layer"], "cannot be conditioned"),
    (["--conditioned", "--method", "adamw"], "one independent store per --data store"),
    (["--conditioned", "--degree", 4], "--degree"),
])
def test_train_refusals(setup, extra, fragment):
    d, stores, _ = setup
    res = cli("train", "--data", *stores, "--k", 3, "--method", "exact", *extra, "--out", d / "x.json",
              "--no-progress")
    assert res.returncode == 2 and fragment in res.stderr and res.stderr.count("error") == 1, res.stderr
    assert not (d / "x.json").exists()


def test_train_refuses_degree_without_conditioned_and_stores_without_K(setup, tmp_path):
    d, stores, _ = setup
    res = cli("train", "--data", stores[0], "--k", 3, "--method", "exact", "--degree", 1, "--out", tmp_path / "x")
    assert res.returncode == 2 and "needs --conditioned" in res.stderr
    np.save(tmp_path / "c.npy", store.load_configs(stores[0]))
    store.import_configs(tmp_path / "c.npy", tmp_path / "noK")   # imported without --K: no coupling known
    res = cli("train", "--data", stores[0], tmp_path / "noK", "--k", 3, "--method", "exact", "--conditioned",
              "--out", tmp_path / "x")
    assert res.returncode == 2 and "does not record its coupling K" in res.stderr
    assert not (tmp_path / "x").exists()


def test_dream_at_a_target_coupling(setup):
    d, _, _ = setup
    res = cli("dream", "--model", d / "m.json", "--K", 1.03 * K_C, "--n-up", 4, "--n-configs", 200, "--seed", 2,
              "--out", d / "e", "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "clipped to the trained range" in res.stdout and "warning: 2 of 4 levels" in res.stdout
    meta = json.loads((d / "e" / "zarr.json").read_text())["attributes"]
    plan = meta["conditioning"]
    assert plan["K"] == pytest.approx(1.03 * K_C) and plan["schedule"] == "flow"
    assert plan["t_used"] == pytest.approx([0.1, 0.1, 0.06, 0.03])
    rows = json.loads(cli("observables", d / "e", "--json").stdout)
    assert [r["L"] for r in rows] == [2, 4, 8, 16]
    res = cli("dream", "--model", d / "m.json", "--K", 1.03 * K_C, "--schedule", "naive", "--n-up", 4,
              "--n-configs", 50, "--seed", 2, "--out", d / "n", "--no-progress")
    assert res.returncode == 0 and "warning" not in res.stdout
    assert json.loads((d / "n" / "zarr.json").read_text())["attributes"]["conditioning"]["t_used"] == \
        pytest.approx([0.03] * 4)


def test_dream_from_mc_says_when_the_start_is_at_another_coupling(setup):
    d, stores, _ = setup   # stores[0]: L = 8 at K = 0.9 K_c; the flow schedule puts L = 8 of K_c at K_c
    res = cli("dream", "--model", d / "m.json", "--K", K_C, "--n-up", 1, "--from-mc", stores[0],
              "--n-configs", 50, "--seed", 2, "--out", d / "f", "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "warning: the start configurations (L = 8) are at K = 0.39661" in res.stdout


def test_dream_refuses_a_missing_K_and_a_K_for_an_unconditioned_model(setup, tmp_path):
    d, _, _ = setup
    plain = models.save_model(tmp_path / "p.json", models.SymmetricUpscaler(3, [0.13, 0.16, 0.36]), {})
    for model, extra, fragment in [(d / "m.json", [], "give the coupling to dream at with --K"),
                                   (plain, ["--K", K_C], "drop --K"),
                                   (plain, ["--schedule", "naive"], "drop --schedule")]:
        res = cli("dream", "--model", model, *extra, "--n-up", 2, "--n-configs", 10, "--seed", 1,
                  "--out", tmp_path / "e", "--no-progress")
        assert res.returncode == 2 and fragment in res.stderr and res.stderr.count("error") == 1, res.stderr
        assert not (tmp_path / "e").exists()
