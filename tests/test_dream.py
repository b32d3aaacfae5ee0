"""Dream runs: streaming to an ensemble, resumption, observables, CLI errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from dreamrg import dream, fss, models, train
from dreamrg.observables import fss_observables, magnetization_energy

K3 = models.SymmetricUpscaler(3, params=[0.1364, 0.1566, 0.3536])


def test_ensemble_matches_its_configurations(tmp_path):
    p = dream.DreamParams(n_up=4, seed=3, batch_size=64, save_configs=True)
    ens = dream.run(K3, p, 150, tmp_path / "e", progress=False)
    assert ens.count == 150 and ens.sizes == [1, 2, 4, 8, 16]
    m, e = magnetization_energy(ens.configs())
    m2, e2 = ens.series(16)
    assert np.array_equal(m, m2) and np.array_equal(e, e2)
    s = fss.ensemble_summaries(tmp_path / "e")[16]
    direct = fss_observables(m, e, 16)
    assert s["chi"]["value"] == pytest.approx(direct["chi"].value)


def test_resume_is_bit_identical(tmp_path):
    p = dream.DreamParams(n_up=3, seed=5, batch_size=50)
    full = dream.run(K3, p, 230, tmp_path / "full", progress=False)
    dream.run(K3, p, 120, tmp_path / "part", progress=False)           # stops inside a batch
    part = dream.run(K3, p, 230, tmp_path / "part", progress=False)
    for L in full.sizes:
        assert np.array_equal(full.series(L)[0], part.series(L)[0])
    with pytest.raises(dream.EnsembleError, match="different metadata"):
        dream.run(K3, dream.DreamParams(n_up=3, seed=6, batch_size=50), 10, tmp_path / "full", progress=False)


def test_joint_exponents_use_correlated_sizes(tmp_path):
    ens = dream.run(K3, dream.DreamParams(n_up=5, seed=1, batch_size=500), 2000, tmp_path / "e", progress=False)
    exps = fss.joint_pair_exponents(tmp_path / "e", n_bins=50)
    est = exps[(32, 8)]["gamma_nu"]
    chi = {L: fss_observables(*ens.series(L), L)["chi"].value for L in (8, 32)}
    assert est.value == pytest.approx(np.log(chi[32] / chi[8]) / np.log(4))
    assert 0 < est.error < 0.05


def test_two_layer_uses_the_torch_path(tmp_path):
    torch.manual_seed(0)
    two = models.TwoLayerUpscaler(3, channels=4)
    ens = dream.run(two, dream.DreamParams(n_up=3, seed=2, batch_size=40), 100, tmp_path / "t", progress=False)
    assert ens.count == 100 and np.abs(ens.series(8)[0]).max() <= 1


def test_bad_params():
    with pytest.raises(ValueError, match="single spin"):
        dream.DreamParams(n_up=3, L0=8)
    with pytest.raises(ValueError, match="n_up"):
        dream.DreamParams(n_up=0)
    with pytest.raises(ValueError, match="exceeds"):
        dream.DreamParams(n_up=13)


def test_memory_guard(tmp_path):
    with pytest.raises(ValueError, match="lower batch_size"):
        dream.run(K3, dream.DreamParams(n_up=12, batch_size=4096), 10, tmp_path / "big", progress=False)
    assert not (tmp_path / "big").exists()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "dreamrg.cli", *map(str, args)], capture_output=True, text=True)


def test_dream_cli(tmp_path):
    model = models.save_model(tmp_path / "k3.json", K3, {})
    res = _cli("dream", "--model", model, "--n-up", 4, "--n-configs", 300, "--seed", 1, "--out", tmp_path / "e",
               "--no-progress")
    assert res.returncode == 0, res.stderr
    rows = json.loads(_cli("observables", tmp_path / "e", "--json").stdout)
    assert [r["L"] for r in rows] == [2, 4, 8, 16]
    mc_out = tmp_path / "mc8"
    assert _cli("mc", "--L", 8, "--n-configs", 50, "--seed", 1, "--out", mc_out, "--no-progress").returncode == 0
    bad = [(["--L0", 1, "--from-mc", mc_out], "not both"),
           (["--model", tmp_path / "missing.json"], "does not exist"),
           (["--n-configs", 0], "n-configs"),
           (["--from-mc", mc_out, "--n-configs", 100], "holds 50")]
    for extra, fragment in bad:
        argv = ["dream", "--model", model, "--n-up", 2, "--n-configs", 10, "--seed", 1, "--out", tmp_path / "x",
                "--no-progress"]
        for i in range(0, len(extra), 2):
            if extra[i] in argv:
                argv[argv.index(extra[i]) + 1] = extra[i + 1]
            else:
                argv += extra[i:i + 2]
        res = _cli(*argv)
        assert res.returncode == 2 and fragment in res.stderr, (extra, res.stderr)
        assert not (tmp_path / "x").exists()
    (tmp_path / "corrupt.json").write_text("[1, 2")
    res = _cli("dream", "--model", tmp_path / "corrupt.json", "--n-up", 2, "--n-configs", 10, "--seed", 1,
               "--out", tmp_path / "x")
    assert res.returncode == 2 and "invalid JSON" in res.stderr
