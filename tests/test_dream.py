"""Dream runs: streaming to an ensemble, resumption, observables, CLI errors."""

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from dreamrg import dream, fss, models, sampler
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
    assert s.chi.value == pytest.approx(direct["chi"].value)


def test_resume_is_bit_identical(tmp_path):
    p = dream.DreamParams(n_up=3, seed=5, batch_size=50)
    full = dream.run(K3, p, 230, tmp_path / "full", progress=False)
    dream.run(K3, p, 120, tmp_path / "part", progress=False)           # stops inside a batch
    part = dream.run(K3, p, 230, tmp_path / "part", progress=False)
    for L in full.sizes:
        assert np.array_equal(full.series(L)[0], part.series(L)[0])
    with pytest.raises(dream.EnsembleError, match="different metadata"):
        dream.run(K3, dream.DreamParams(n_up=3, seed=6, batch_size=50), 10, tmp_path / "full", progress=False)


def test_resume_dreams_only_the_missing_batches(tmp_path, monkeypatch):
    """Batches committed out of order (here batch 3 by a worker): a resume dreams batches 1 and 2 only."""
    p = dream.DreamParams(n_up=3, seed=5, batch_size=50)
    full = dream.run(K3, p, 200, tmp_path / "full", progress=False)
    dream.run(K3, p, 50, tmp_path / "gap", progress=False)
    worker = dream.open_ensemble(tmp_path / "gap", mode="chunks")
    res = dream._batch(K3, p, 50, 3, None)
    assert worker.write_batch(3, res.M, res.E, None) is True
    assert dream.open_ensemble(tmp_path / "gap").count == 50
    assert dream.open_ensemble(tmp_path / "gap").missing_batches(200) == [1, 2]
    done = []
    real = dream._batch
    monkeypatch.setattr(dream, "_batch", lambda model, params, n, index, *a: done.append(index) or
                        real(model, params, n, index, *a))
    gap = dream.run(K3, p, 200, tmp_path / "gap", progress=False)
    assert done == [1, 2] and gap.count == 200
    for L in full.sizes:
        assert np.array_equal(full.series(L)[0], gap.series(L)[0])


def test_joint_exponents_use_correlated_sizes(tmp_path):
    ens = dream.run(K3, dream.DreamParams(n_up=5, seed=1, batch_size=500), 2000, tmp_path / "e", progress=False)
    exps = fss.joint_pair_exponents(tmp_path / "e", n_bins=50)
    est = exps[(32, 8)].gamma_nu
    chi = {L: fss_observables(*ens.series(L), L)["chi"].value for L in (8, 32)}
    assert est.value == pytest.approx(np.log(chi[32] / chi[8]) / np.log(4))
    assert 0 < est.error < 0.05


def _two_layer(k: int, channels: int = 4) -> models.TwoLayerUpscaler:
    torch.manual_seed(k)
    return models.TwoLayerUpscaler(k, channels=channels)


def _spy_samplers(monkeypatch) -> list[str]:
    """Record which sampler each batch of a dream run calls (the real samplers still run)."""
    calls: list[str] = []
    for name in ("dream_batch", "dream_batch_two_layer", "dream_batch_torch"):
        def spy(*args, _real=getattr(sampler, name), _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)
        monkeypatch.setattr(sampler, name, spy)
    return calls


def _batch_by_hand(model, kind: str, n: int, n_up: int, seed: int, index: int):
    """Batch ``index`` of a dream run, drawn by calling the sampler ``kind`` directly with the batch's seed."""
    ss = np.random.SeedSequence(seed, spawn_key=(index,))
    if kind == "dream_batch":
        return sampler.dream_batch(model, n, n_up, ss)
    if kind == "dream_batch_two_layer":
        return sampler.dream_batch_two_layer(model, n, n_up, ss)
    gen = torch.Generator().manual_seed(int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1)))
    return sampler.dream_batch_torch(copy.deepcopy(model).float(), n, n_up, gen)


@pytest.mark.parametrize("make, kind", [
    (lambda: K3, "dream_batch"),
    (lambda: _two_layer(3), "dream_batch"),                  # 5 x 5 receptive field: one pattern table
    pytest.param(lambda: _two_layer(5), "dream_batch_two_layer", marks=pytest.mark.slow),  # offset tables
    (lambda: _two_layer(9, channels=2), "dream_batch_torch"),  # no patch geometry for k = 9
    (lambda: models.SymmetricUpscaler(9, params=np.linspace(0.02, 0.1, 15)), "dream_batch_torch"),
], ids=["single-k3", "two-layer-k3", "two-layer-k5", "two-layer-k9", "single-k9"])
def test_run_dreams_each_model_with_its_sampler(tmp_path, monkeypatch, make, kind):
    """Every batch goes through the sampler the model's geometry calls for, and gives exactly its draws."""
    model = make()
    calls = _spy_samplers(monkeypatch)
    p = dream.DreamParams(n_up=3, seed=2, batch_size=40)
    ens = dream.run(model, p, 60, tmp_path / "e", progress=False)
    assert calls == [kind, kind]                                  # batches of 40 and 20 chains
    assert dream.sampler_name(model) == {"dream_batch": "table", "dream_batch_two_layer": "two-layer",
                                         "dream_batch_torch": "torch"}[kind]
    monkeypatch.undo()
    for index, (lo, n) in enumerate([(0, 40), (40, 20)]):
        want = _batch_by_hand(model, kind, n, 3, 2, index)
        for t, L in enumerate(ens.sizes):
            m, e = ens.series(L)
            assert np.array_equal(m[lo:lo + n] * L**2, want.M[:, t]) and np.array_equal(e[lo:lo + n] * L**2, want.E[:, t])


@pytest.mark.slow
def test_two_layer_k3_table_and_torch_paths_agree_in_distribution(tmp_path, monkeypatch):
    """The k = 3 two-layer net, dreamed through its pattern table and forced through torch, in distribution."""
    model = _two_layer(3)
    with torch.no_grad():
        model.conv2.weight.mul_(4.0)  # strong fields: a 5 % change of these weights then shows at > 10 sigma
    p = dream.DreamParams(n_up=4, seed=7, batch_size=4000)
    n = 8000
    table = dream.run(model, p, n, tmp_path / "table", progress=False)
    monkeypatch.setattr(dream, "sampler_name", lambda m: "torch")
    calls = _spy_samplers(monkeypatch)
    torch_ens = dream.run(model, p, n, tmp_path / "torch", progress=False)
    assert calls == ["dream_batch_torch", "dream_batch_torch"]
    for L in table.sizes[1:]:
        for name, fa, fb in [("|m|", np.abs(table.series(L)[0]), np.abs(torch_ens.series(L)[0])),
                             ("e", table.series(L)[1], torch_ens.series(L)[1])]:
            sigma = np.sqrt(fa.var(ddof=1) / n + fb.var(ddof=1) / n)
            z = (fa.mean() - fb.mean()) / sigma
            assert abs(z) < 4, f"{name} at L={L}: {fa.mean():.5f} vs {fb.mean():.5f} ({z:+.1f} sigma)"


def test_bad_params():
    with pytest.raises(ValueError, match="single spin"):
        dream.DreamParams(n_up=3, L0=8)
    with pytest.raises(ValueError, match="n_up"):
        dream.DreamParams(n_up=0)
    with pytest.raises(ValueError, match="exceeds"):
        dream.DreamParams(n_up=13)


def test_memory_guard(tmp_path):
    # the guard counts the chains a batch really holds: 4096 chains at L = 4096 (10 would fit; see test_faults_store)
    with pytest.raises(ValueError, match="lower batch_size"):
        dream.run(K3, dream.DreamParams(n_up=12, batch_size=4096), 4096, tmp_path / "big", progress=False)
    assert not (tmp_path / "big").exists()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "dreamrg.cli", *map(str, args)], capture_output=True, text=True)


@pytest.mark.slow
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


def test_a_dream_from_a_store_is_keyed_by_the_stores_data_not_its_path(tmp_path):
    """dream_key names a Monte Carlo start by its data identity: the same store copied elsewhere (a moved or carried
    cache) gives the same key, a different store another, and growing the store does not change it."""
    import shutil

    from dreamrg import dream, mc
    from dreamrg.dream import DreamParams, dream_key

    model = models.SymmetricUpscaler(3)
    params = mc.MCParams(L=4, seed=9, chunk_size=50)
    here = mc.run(params, 100, tmp_path / "here", progress=False).path
    there = tmp_path / "elsewhere" / "copy"
    shutil.copytree(here, there)
    key = dream_key(model, DreamParams(n_up=2, L0=4, start=str(here)))
    assert dream_key(model, DreamParams(n_up=2, L0=4, start=str(there))) == key and str(here) not in str(key)
    mc.run(params, 200, here, progress=False)
    assert dream_key(model, DreamParams(n_up=2, L0=4, start=str(here))) == key
    other = mc.run(mc.MCParams(L=4, seed=10, chunk_size=50), 100, tmp_path / "other", progress=False).path
    assert dream_key(model, DreamParams(n_up=2, L0=4, start=str(other))) != key
    assert dream.run(model, DreamParams(n_up=2, L0=4, start=str(there)), 50, tmp_path / "ens", progress=False)
