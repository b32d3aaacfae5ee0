"""The torch device option: refusal of a device this machine lacks, the CPU unchanged, CUDA where it exists."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from dreamrg import _device, dream, mc, models, sampler, train
from dreamrg.runs.ensembles import cached_ensemble

#: a device name this machine does not have (CUDA's absence is the common case; else one GPU too many)
MISSING = f"cuda:{torch.cuda.device_count()}" if torch.cuda.is_available() else "cuda"
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    d = tmp_path_factory.mktemp("device")
    tr = mc.run(mc.MCParams(L=16, seed=1, chunk_size=200), 400, d / "tr", progress=False).path
    va = mc.run(mc.MCParams(L=16, seed=1, chunk_size=200, stream=1), 100, d / "va", progress=False).path
    return tr, va


def cli(*args):
    return subprocess.run([sys.executable, "-m", "dreamrg.cli", *map(str, args)], capture_output=True, text=True)


def test_resolve_device():
    assert _device.resolve_device("cpu") == torch.device("cpu")
    assert _device.resolve_device(None) == torch.device("cpu")
    assert _device.device_tag("cpu") is None
    assert "cpu" in _device.available_devices()
    with pytest.raises(_device.DeviceUnavailable, match=r"device must be one of cpu, cuda, cuda:N, mps; got 'tpu'"):
        _device.resolve_device("tpu")
    with pytest.raises(ValueError, match=rf"device '{MISSING}' is not available here \(.*\); available: cpu"):
        _device.resolve_device(MISSING)


def test_library_refuses_a_missing_device_before_any_work(stores, tmp_path):
    tr, va = stores
    p = train.TrainParams(k=5, model="two-layer", channels=2, epochs=1, batch_size=100)
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(_device.DeviceUnavailable, match="available: cpu"):
        train.train_adamw(p, tr, va, progress=False, checkpoint=ckpt, device=MISSING)
    with pytest.raises(_device.DeviceUnavailable, match="available: cpu"):  # before the data are even opened
        train.train_adamw(p, tmp_path / "nothing", tmp_path / "nothing", progress=False, device=MISSING)
    assert not ckpt.exists()
    net = models.TwoLayerUpscaler(3, channels=2)
    with pytest.raises(_device.DeviceUnavailable):
        dream.run(net, dream.DreamParams(n_up=2, batch_size=4), 8, tmp_path / "ens", progress=False, device=MISSING)
    assert not (tmp_path / "ens").exists()
    with pytest.raises(_device.DeviceUnavailable):
        sampler.dream_batch_torch(net, 2, 2, torch.Generator().manual_seed(0), device=MISSING)
    with pytest.raises(_device.DeviceUnavailable):
        train.evaluate_loss(net, tr, 10, device=MISSING)


def test_cli_refuses_a_missing_device_with_one_error(stores, tmp_path):
    tr, va = stores
    out = tmp_path / "m.json"
    res = cli("train", "--data", tr, "--validation", va, "--k", 5, "--model", "two-layer", "--epochs", 1,
              "--out", out, "--device", MISSING, "--no-progress")
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"dreamrg: error: device '{MISSING}' is not available here")
    assert lines[0].endswith("available: cpu") or "available: cpu, cuda" in lines[0]
    assert not out.exists() and not list(tmp_path.iterdir())
    # the device is checked before the model (here a missing file) is read
    res = cli("dream", "--model", tmp_path / "no-model.json", "--n-up", 2, "--n-configs", 4, "--seed", 0,
              "--out", tmp_path / "ens", "--device", "gpu")
    assert res.returncode == 2 and res.stderr.count("error") == 1
    assert "device must be one of cpu, cuda, cuda:N, mps; got 'gpu'" in res.stderr
    assert not (tmp_path / "ens").exists()


def test_engine_follows_the_device(monkeypatch):
    p3 = train.TrainParams(k=3, model="two-layer", channels=2)
    assert train.resolve_engine(p3, "auto", "cpu") == "histogram"
    monkeypatch.setattr(train, "resolve_device", lambda d: torch.device("cuda"))  # a GPU, only named
    assert train.resolve_engine(p3, "auto", "cuda") == "torch"
    assert train.resolve_engine(train.TrainParams(k=3), "auto", "cuda") == "torch"
    with pytest.raises(ValueError, match="histogram engine computes on the CPU"):
        train.resolve_engine(p3, "histogram", "cuda")


def test_cpu_results_and_keys_are_those_without_a_device(stores, tmp_path):
    tr, va = stores
    p = train.TrainParams(k=5, model="two-layer", channels=2, epochs=1, batch_size=100, seed=2)
    a, ha = train.train_adamw(p, tr, va, progress=False, n_train=200)
    b, hb = train.train_adamw(p, tr, va, progress=False, n_train=200, device="cpu")
    assert ha["train_loss"] == hb["train_loss"]
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    net = models.TwoLayerUpscaler(9, channels=2)  # the torch sampler's model
    x = sampler.dream_batch_torch(net, 3, 3, torch.Generator().manual_seed(4))
    y = sampler.dream_batch_torch(net, 3, 3, torch.Generator().manual_seed(4), device="cpu")
    assert np.array_equal(x.final, y.final) and np.array_equal(x.M, y.M)
    dp = dream.DreamParams(n_up=2, batch_size=4)
    path = cached_ensemble(net, dp, 8, progress=False, device="cpu")
    assert "device" not in json.loads((path.parent / "params.json").read_text())["params"]
    assert "device" not in dream.open_ensemble(path).meta


def test_a_device_ensemble_is_not_resumed_on_another(tmp_path, monkeypatch):
    net = models.TwoLayerUpscaler(9, channels=2)
    dp = dream.DreamParams(n_up=2, batch_size=4)
    with monkeypatch.context() as m:  # as if dreamed on a GPU (computed on the CPU here)
        m.setattr(dream, "ensemble_device", lambda model, device="cpu": "cuda")
        ens = dream.run(net, dp, 4, tmp_path / "ens", progress=False)
    assert ens.meta["device"] == "cuda"
    with pytest.raises(dream.EnsembleError, match="device: stored 'cuda', requested None"):
        dream.run(net, dp, 8, tmp_path / "ens", progress=False)


def test_a_device_checkpoint_is_not_resumed_on_another(stores, tmp_path):
    tr, va = stores
    p = train.TrainParams(k=5, model="two-layer", channels=2, epochs=2, batch_size=100, seed=2)
    ckpt = tmp_path / "ckpt.pt"
    train.train_adamw(train.TrainParams(**{**p.__dict__, "epochs": 1}), tr, va, progress=False, n_train=200,
                      checkpoint=ckpt)
    state = torch.load(ckpt, weights_only=True)
    state["identity"] = json.dumps({**json.loads(state["identity"]), "device": "cuda"}, sort_keys=True)
    torch.save(state, ckpt)  # as if written on a GPU
    with pytest.raises(ValueError, match="was written training on cuda, not on cpu; resume it there"):
        train.train_adamw(p, tr, va, progress=False, n_train=200, checkpoint=ckpt)


@needs_cuda
def test_cuda_training_and_dreaming_follow_the_cpu(stores):
    """On a GPU: same initial weights, batches and tie-breaks; losses within float32 rounding of the CPU's."""
    tr, va = stores
    p = train.TrainParams(k=5, model="two-layer", channels=4, epochs=2, batch_size=100, seed=2)
    a, ha = train.train_adamw(p, tr, va, progress=False, n_train=200)
    b, hb = train.train_adamw(p, tr, va, progress=False, n_train=200, device="cuda")
    assert next(b.parameters()).device.type == "cpu" and b.dtype == torch.float64
    np.testing.assert_allclose(hb["train_loss"], ha["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(hb["valid_loss"], ha["valid_loss"], rtol=1e-4)
    _, hc = train.train_adamw(p, tr, va, progress=False, n_train=200, device="cuda", bf16=True)
    np.testing.assert_allclose(hc["train_loss"], ha["train_loss"], rtol=5e-3)  # as on the CPU (test_train)
    net = models.TwoLayerUpscaler(9, channels=4).float()
    x = sampler.dream_batch_torch(net, 64, 4, torch.Generator().manual_seed(4))
    y = sampler.dream_batch_torch(net, 64, 4, torch.Generator().manual_seed(4), device="cuda")
    assert np.mean(np.all(x.final == y.final, axis=(1, 2))) > 0.9  # same uniforms: chains differ only by rounding


@pytest.mark.parametrize("args, fragment", [
    (["--k", 3, "--method", "exact"], "--bf16 applies to --method adamw"),
    (["--k", 3], "--bf16 applies to the torch engine; this run uses the histogram engine"),
])
def test_cli_bf16_needs_the_torch_engine(stores, tmp_path, args, fragment):
    tr, va = stores
    res = cli("train", "--data", tr, "--validation", va, *args, "--bf16", "--out", tmp_path / "m.json",
              "--no-progress")
    assert res.returncode == 2 and res.stderr.count("error") == 1 and fragment in res.stderr
    assert not list(tmp_path.iterdir())


def test_cli_bf16_training_is_recorded(stores, tmp_path):
    tr, va = stores
    out = tmp_path / "m.json"
    argv = ["train", "--data", tr, "--validation", va, "--k", 5, "--model", "two-layer", "--epochs", 1,
            "--batch-size", 50, "--n-train", 100, "--out", out, "--no-progress"]
    res = cli(*argv, "--bf16")
    assert res.returncode == 0, res.stderr
    assert models.load_model(out).meta["bf16"] is True
    res = cli(*argv)  # the same --out for a float32 run: another training run
    assert res.returncode == 2 and "holds a model of another training run" in res.stderr
