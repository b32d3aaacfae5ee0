import json

import numpy as np
import pytest
import torch

from dreamrg import coarse, mc, models, train


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    d = tmp_path_factory.mktemp("train")
    tr = mc.run(mc.MCParams(L=16, seed=1, chunk_size=200), 600, d / "tr", progress=False).path
    va = mc.run(mc.MCParams(L=16, seed=1, chunk_size=200, stream=1), 120, d / "va", progress=False).path
    return tr, va


@pytest.mark.slow
def test_adamw_lowers_the_loss_towards_the_exact_optimum(stores):
    tr, va = stores
    p = train.TrainParams(k=3, epochs=15, batch_size=100, seed=3)
    model, hist = train.train_adamw(p, tr, va, progress=False)
    assert len(hist["train_loss"]) == 15 and len(hist["valid_loss"]) == 15
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    zero = train.exact_loss_of(models.SymmetricUpscaler(3), train.TrainParams(k=3, method="exact", seed=3), tr)
    assert zero == pytest.approx(16**2 * np.log(2))        # p = 1/2 everywhere
    exact, info = train.train_exact(train.TrainParams(k=3, method="exact", seed=3), tr, progress=False)
    adam = train.exact_loss_of(model, train.TrainParams(k=3, method="exact", seed=3), tr)
    assert info["converged"] and info["loss"] <= adam < zero


def test_same_seed_same_training(stores):
    tr, va = stores
    p = train.TrainParams(k=3, epochs=2, batch_size=150, seed=9)
    a, _ = train.train_adamw(p, tr, va, progress=False)
    b, _ = train.train_adamw(p, tr, va, progress=False)
    assert torch.equal(a.params, b.params)


@pytest.mark.parametrize("k,weighted", [(3, False), (5, True), (7, False), (7, True)])
def test_histogram_engine_equals_torch_autograd(stores, k, weighted):
    """The histogram gradient is the torch gradient: same trajectory, losses and parameters (float64)."""
    tr, va = stores
    p = train.TrainParams(k=k, weighted=weighted, epochs=3, batch_size=128, seed=5)
    a, ha = train.train_adamw(p, tr, va, progress=False, engine="torch", dtype=torch.float64)
    b, hb = train.train_adamw(p, tr, va, progress=False, engine="histogram")
    assert np.abs(a.params.detach().numpy()).max() > 0.01            # the model actually moved
    np.testing.assert_allclose(b.params.detach().numpy(), a.params.detach().numpy(), rtol=0, atol=1e-9)
    for key in ("train_loss", "valid_loss"):
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-10)
    np.testing.assert_allclose(hb["params"], ha["params"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
def test_two_layer_histogram_engine_equals_torch_autograd(stores, weighted):
    """Two-layer k = 3: the 5x5-window pattern histogram gives torch's gradient (float64)."""
    tr, va = stores
    p = train.TrainParams(k=3, model="two-layer", channels=4, weighted=weighted, epochs=2, batch_size=128, seed=5)
    a, ha = train.train_adamw(p, tr, va, progress=False, engine="torch", dtype=torch.float64)
    b, hb = train.train_adamw(p, tr, va, progress=False, engine="histogram")
    assert train.resolve_engine(p) == "histogram"
    start = train.build_model(p)
    moved = max(float((x - y).abs().max()) for x, y in zip(a.state_dict().values(), start.state_dict().values()))
    assert moved > 0.005                                                # the model actually moved
    for x, y in zip(a.state_dict().values(), b.state_dict().values()):
        np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=0, atol=1e-9)
    for key in ("train_loss", "valid_loss"):
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("model,k", [("symmetric", 3), ("two-layer", 5)])
def test_target_loss_stops_at_the_first_epoch_below(stores, tmp_path, model, k):
    """target_loss ends training after the first epoch at or below it: a prefix of the full run, also on resume."""
    tr, va = stores
    full = train.TrainParams(k=k, model=model, epochs=5, batch_size=150, seed=4, channels=4)
    ref, h_ref = train.train_adamw(full, tr, va, progress=False)
    v = h_ref["valid_loss"]
    assert v[2] < v[1] < v[0]                                          # decreasing over the first epochs
    target = {**full.__dict__, "target_loss": v[2] * (1 + 1e-12)}      # reached first at epoch 3
    _, h = train.train_adamw(train.TrainParams(**target), tr, va, progress=False)
    assert h["epoch"] == [1, 2, 3] and h["valid_loss"] == v[:3]
    ck = tmp_path / "ck.pt"
    train.train_adamw(train.TrainParams(**{**target, "epochs": 2}), tr, va, progress=False, checkpoint=ck)
    _, h2 = train.train_adamw(train.TrainParams(**target), tr, va, progress=False, checkpoint=ck)
    assert h2["epoch"] == [1, 2, 3] and h2["valid_loss"] == v[:3]
    _, h3 = train.train_adamw(train.TrainParams(**target), tr, va, progress=False, checkpoint=ck)  # finished
    assert h3["epoch"] == [1, 2, 3]
    # the stopping rule is not part of a checkpoint's identity: another target resumes the same epochs,
    # also from a checkpoint that recorded its target (as checkpoints written before patience existed did)
    ck_old = tmp_path / "ck_old.pt"
    train.train_adamw(train.TrainParams(**{**target, "epochs": 2}), tr, va, progress=False, checkpoint=ck_old)
    state = torch.load(ck_old, weights_only=False)
    ident = json.loads(state["identity"])
    ident["params"]["target_loss"] = target["target_loss"]
    state["identity"] = json.dumps(ident, sort_keys=True)
    torch.save(state, ck_old)
    _, h5 = train.train_adamw(train.TrainParams(**{**target, "target_loss": v[3] * (1 + 1e-12)}), tr, va,
                              progress=False, checkpoint=ck_old)
    assert h5["valid_loss"] == v[:4]
    _, h4 = train.train_adamw(train.TrainParams(**{**target, "target_loss": 1e-9}), tr, va, progress=False)
    assert h4["epoch"] == [1, 2, 3, 4, 5]                              # never reached: all epochs
    with pytest.raises(ValueError, match="target_loss must be"):
        train.TrainParams(k=3, target_loss=-1.0)
    with pytest.raises(ValueError, match="AdamW training only"):
        train.TrainParams(k=3, method="exact", target_loss=1.0)


def test_engine_choice_is_checked(stores):
    tr, va = stores
    with pytest.raises(ValueError, match="engine must be one of"):
        train.train_adamw(train.TrainParams(k=3, epochs=1), tr, va, engine="jax")
    with pytest.raises(ValueError, match="two-layer model with k = 3 only"):
        train.train_adamw(train.TrainParams(k=5, model="two-layer", epochs=1), tr, va, engine="histogram")
    with pytest.raises(ValueError, match="float64"):
        train.train_adamw(train.TrainParams(k=3, epochs=1), tr, va, engine="histogram", dtype=torch.float32)


@pytest.mark.slow
@pytest.mark.parametrize("model,k", [("symmetric", 3), ("two-layer", 3), ("two-layer", 5)])
def test_checkpoint_resume_is_bit_identical(stores, tmp_path, model, k):
    """Stopping after epoch 2 and resuming to epoch 4 equals four uninterrupted epochs (both engines)."""
    tr, va = stores
    p4 = train.TrainParams(k=k, model=model, epochs=4, batch_size=150, seed=2, channels=4)
    ref, h_ref = train.train_adamw(p4, tr, va, progress=False)
    ck = tmp_path / "ck.pt"
    train.train_adamw(train.TrainParams(**{**p4.__dict__, "epochs": 2}), tr, va, progress=False, checkpoint=ck)
    assert ck.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    res, h_res = train.train_adamw(p4, tr, va, progress=False, checkpoint=ck)
    for a, b in zip(ref.state_dict().values(), res.state_dict().values()):
        assert torch.equal(a, b)
    for key in ("epoch", "train_loss", "valid_loss", "params"):
        assert h_res[key] == h_ref[key]
    # a finished checkpoint is reused as is; other hyper-parameters or more epochs than asked are refused
    again, _ = train.train_adamw(p4, tr, va, progress=False, checkpoint=ck)
    assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), again.state_dict().values()))
    with pytest.raises(ValueError, match="another training run"):
        train.train_adamw(train.TrainParams(**{**p4.__dict__, "lr": 0.02}), tr, va, progress=False, checkpoint=ck)
    with pytest.raises(ValueError, match="beyond the 3 epochs"):
        train.train_adamw(train.TrainParams(**{**p4.__dict__, "epochs": 3}), tr, va, progress=False, checkpoint=ck)
    bad = tmp_path / "bad.pt"
    bad.write_text("junk")
    with pytest.raises(models.ModelFileError, match="not a readable"):
        train.train_adamw(p4, tr, va, progress=False, checkpoint=bad)


@pytest.mark.slow
@pytest.mark.parametrize("model,k", [("symmetric", 3), ("two-layer", 5)])
def test_resume_inside_an_epoch_is_bit_identical(stores, tmp_path, monkeypatch, model, k):
    """A run killed in the middle of an epoch resumes from its last inside-epoch checkpoint, bit for bit."""
    tr, va = stores
    p = train.TrainParams(k=k, model=model, epochs=3, batch_size=100, seed=4, channels=4, patience=2)
    ref, h_ref = train.train_adamw(p, tr, va, progress=False)
    real_step, calls = train.adamw_step, []

    def dying_step(*args, **kwargs):  # the process dies during the 9th batch: epoch 2, batch 3 of 6
        calls.append(1)
        if len(calls) == 9:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    ck = tmp_path / "ck.pt"
    monkeypatch.setattr(train, "adamw_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        train.train_adamw(p, tr, va, progress=False, checkpoint=ck, checkpoint_seconds=0)
    monkeypatch.setattr(train, "adamw_step", real_step)
    state = torch.load(ck, weights_only=False)
    assert state["epoch"] == 1 and state["inside_epoch"]["next"] == 200 and len(state["inside_epoch"]["losses"]) == 2
    res, h_res = train.train_adamw(p, tr, va, progress=False, checkpoint=ck, checkpoint_seconds=0)
    assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), res.state_dict().values()))
    for key in ("epoch", "train_loss", "valid_loss", "params", "returned_epoch"):
        assert h_res[key] == h_ref[key], key
    # a checkpoint inside the last epoch asked for is not a valid start of a shorter run
    monkeypatch.setattr(train, "adamw_step", dying_step)
    calls.clear()
    ck2 = tmp_path / "ck2.pt"
    with pytest.raises(KeyboardInterrupt):
        train.train_adamw(train.TrainParams(**{**p.__dict__, "epochs": 2}), tr, va, progress=False, checkpoint=ck2,
                          checkpoint_seconds=0)
    monkeypatch.setattr(train, "adamw_step", real_step)
    with pytest.raises(ValueError, match="beyond the 1 epochs"):
        train.train_adamw(train.TrainParams(**{**p.__dict__, "epochs": 1}), tr, va, progress=False, checkpoint=ck2)
    with pytest.raises(ValueError, match="checkpoint_seconds"):
        train.train_adamw(p, tr, va, progress=False, checkpoint=ck2, checkpoint_seconds=-1)


def test_weighted_loss_is_finite_at_L128():
    rng = np.random.default_rng(0)
    sigma = np.where(rng.random((4, 128, 128)) < 0.5, -1, 1).astype(np.int8)
    mu, log_d = coarse.majority_rule(sigma, rng)
    assert (2.0 ** log_d.astype(np.float32) == 0).all() or log_d.min() < -150   # the naive weight underflows
    loss, _ = train._batch_loss(models.SymmetricUpscaler(7, dtype=torch.float32), sigma, rng, True, torch.float32)
    assert torch.isfinite(loss)


@pytest.mark.parametrize("kwargs, match", [({"k": 4}, "odd"), ({"k": 1}, "odd"), ({"k": 3, "method": "sgd"}, "method"),
                                           ({"k": 3, "model": "two-layer", "method": "exact"}, "single-layer")])
def test_bad_params(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train.TrainParams(**kwargs)


def test_odd_L_data_rejected(tmp_path):
    st = mc.run(mc.MCParams(L=9, seed=1, chunk_size=10), 10, tmp_path / "odd", progress=False)
    with pytest.raises(ValueError, match="even L"):
        train.train_exact(train.TrainParams(k=3, method="exact"), st.path)


def test_stopping_rule():
    """stopping_point: the epoch cap, the target, the patience, and which epoch is returned."""
    sp = train.stopping_point
    assert sp([], 5) == (False, 0)
    assert sp([3.0, 2.0], 5) == (False, 2) and sp([3.0, 2.0, 2.5], 3) == (True, 3)     # cap; last epoch
    assert sp([3.0, 2.0], 5, target_loss=2.0) == (True, 2)                               # at the target
    assert sp([3.0, 2.0, 2.5], 5, patience=2) == (False, 2)
    assert sp([3.0, 2.0, 2.5, 2.1], 5, patience=2) == (True, 2)                          # best epoch returned
    assert sp([3.0, 2.0, 2.5, 1.9], 5, patience=2) == (False, 4)                         # improved in time
    assert sp([3.0, 2.0, 2.5], 3, patience=2) == (True, 2)                               # cap, best returned
    assert sp([3.0, 3.0], 5, patience=1) == (True, 1)                                    # a tie is no improvement
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="patience must be None or an integer"):
            train.TrainParams(k=3, patience=bad)
    with pytest.raises(ValueError, match="patience applies to AdamW"):
        train.TrainParams(k=3, method="exact", patience=2)


def _weights(model):
    return [v.detach().clone() for v in model.state_dict().values()]


@pytest.mark.slow
@pytest.mark.parametrize("model,k", [("symmetric", 3), ("two-layer", 3)])
def test_patience_returns_the_best_epoch_also_on_resume(stores, tmp_path, model, k):
    """lr 0.3 makes the validation loss go up and down; patience stops the run and returns its best epoch,
    bit-identical to a run of exactly that many epochs; a resumed run does the same."""
    tr, va = stores
    base = dict(k=k, model=model, epochs=6, batch_size=150, seed=4, channels=4, lr=0.3)
    _, h_full = train.train_adamw(train.TrainParams(**base), tr, va, progress=False)
    v = h_full["valid_loss"]
    assert h_full["returned_epoch"] == 6
    # the data of this test: the loss rises after a best epoch
    first_stop = next(n for n in range(1, 7) if train.stopping_point(v[:n], 6, patience=2)[0])
    best = train.stopping_point(v[:first_stop], 6, patience=2)[1]
    assert best < first_stop
    got, h = train.train_adamw(train.TrainParams(**base, patience=2), tr, va, progress=False)
    assert h["valid_loss"] == v[:first_stop] and h["returned_epoch"] == best
    ref, _ = train.train_adamw(train.TrainParams(**{**base, "epochs": best}), tr, va, progress=False)
    for x, y in zip(_weights(got), _weights(ref)):
        assert torch.equal(x, y)
    # resume: first up to epoch first_stop - 1 (cap), then the full rule
    ck = tmp_path / "ck.pt"
    train.train_adamw(train.TrainParams(**{**base, "epochs": first_stop - 1}, patience=2), tr, va,
                      progress=False, checkpoint=ck)
    again, h2 = train.train_adamw(train.TrainParams(**base, patience=2), tr, va, progress=False, checkpoint=ck)
    assert h2["valid_loss"] == v[:first_stop] and h2["returned_epoch"] == best
    for x, y in zip(_weights(again), _weights(ref)):
        assert torch.equal(x, y)
    # a checkpoint written without patience does not hold the best epoch's weights
    ck2 = tmp_path / "ck2.pt"
    train.train_adamw(train.TrainParams(**{**base, "epochs": first_stop}), tr, va, progress=False, checkpoint=ck2)
    with pytest.raises(ValueError, match="does not hold the weights of its best epoch"):
        train.train_adamw(train.TrainParams(**base, patience=2), tr, va, progress=False, checkpoint=ck2)


def test_cached_model_reuses_a_run_that_another_stopping_rule_would_return(tmp_path, monkeypatch):
    """Changing only the stopping rule reuses a cached run when the new rule stops at its last epoch and
    returns it; otherwise the model is trained."""
    from dreamrg.runs.models import cached_model

    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path))
    base = dict(k=3, model="two-layer", batch_size=100, seed=4, channels=4)
    first = cached_model(train.TrainParams(**base, epochs=2), 16, 300, 5, progress=False)
    v = first.meta["history"]["valid_loss"]
    assert v[1] < v[0]

    def no_training(*a, **kw):
        raise AssertionError("trained although a cached run answers the rule")

    monkeypatch.setattr(train, "train_adamw", no_training)
    for rule in ({"epochs": 50, "target_loss": v[1] * (1 + 1e-12)},      # target reached at epoch 2
                 {"epochs": 2, "patience": 1}):                          # cap at 2, epoch 2 the best
        got = cached_model(train.TrainParams(**base, **rule), 16, 300, 5, progress=False)
        assert got.meta["reused_from"] and got.meta["params"]["epochs"] == rule["epochs"]
        for x, y in zip(_weights(got), _weights(first)):
            assert torch.equal(x, y)
    for rule in ({"epochs": 50, "patience": 1},                          # would go on after epoch 2
                 {"epochs": 50, "target_loss": v[0] * (1 + 1e-12)},      # would stop at epoch 1
                 {"epochs": 3}):
        with pytest.raises(AssertionError, match="trained although"):
            cached_model(train.TrainParams(**base, **rule), 16, 300, 5, progress=False)
    with pytest.raises(AssertionError, match="trained although"):                  # other data seed
        cached_model(train.TrainParams(**base, epochs=2, patience=1), 16, 300, 6, progress=False)


def test_bf16_batch_loss_and_gradient_match_float32(stores):
    """bfloat16 autocast (8-bit significand, unit roundoff 2^-9 ≈ 2e-3 per rounded value): the k = 7 batch loss
    within 5e-3 of float32's (relative) and its gradient within 1e-2 (relative norm of the difference)."""
    sigma = train._PackedSet(stores[0], 40).batch(np.arange(40))          # critical MC, L = 16
    torch.manual_seed(0)
    model = models.TwoLayerUpscaler(7, channels=16, dtype=torch.float32)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01)
    for step in range(2):                                                # at init and after one step
        for weighted in (False, True):
            out = []
            for bf16 in (False, True):
                model.zero_grad()
                loss, _ = train._batch_loss(model, sigma, np.random.default_rng(step), weighted, torch.float32, bf16)
                loss.backward()
                out.append((float(loss.detach()), torch.cat([p.grad.flatten() for p in model.parameters()])))
            (a, ga), (b, gb) = out
            assert b != a                                                # the autocast did take effect
            assert abs(b / a - 1) < 5e-3
            assert float((gb - ga).norm() / ga.norm()) < 1e-2
        train.adamw_step(model, opt, sigma, np.random.default_rng(9), False, torch.float32)


def test_bf16_training_follows_float32(stores, tmp_path):
    tr, va = stores
    p = train.TrainParams(k=5, model="two-layer", channels=4, epochs=2, batch_size=150, seed=2)
    _, ha = train.train_adamw(p, tr, va, progress=False, n_train=300)
    _, hb = train.train_adamw(p, tr, va, progress=False, n_train=300, bf16=True)
    assert hb["train_loss"] != ha["train_loss"]
    np.testing.assert_allclose(hb["train_loss"], ha["train_loss"], rtol=5e-3)
    np.testing.assert_allclose(hb["valid_loss"], ha["valid_loss"], rtol=5e-3)
    with pytest.raises(ValueError, match="bf16 autocast applies to the torch engine"):
        train.train_adamw(train.TrainParams(k=3, epochs=1), tr, va, progress=False, bf16=True)
    ckpt = tmp_path / "ckpt.pt"  # a bf16 checkpoint belongs to a bf16 run
    train.train_adamw(train.TrainParams(**{**p.__dict__, "epochs": 1}), tr, va, progress=False, n_train=300,
                      bf16=True, checkpoint=ckpt)
    with pytest.raises(ValueError, match="belongs to another training run"):
        train.train_adamw(p, tr, va, progress=False, n_train=300, checkpoint=ckpt)
