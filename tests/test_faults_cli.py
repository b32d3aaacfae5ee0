"""Fault injection through the command line and the API (issue 22, defects 5-8, 11, 12, 15-19).

Each test plants one fault -- a malicious pickle, NaN weights, a foreign file, a full or
read-only disk, a dangling symlink, a damaged ``zarr.json``, Ctrl-C, a second writer, a
float where an integer belongs -- and checks that it gives one clear error (or a refusal
with nothing written) instead of running code, writing garbage or a traceback.

Most commands run in-process through :func:`dreamrg.cli.main` (fast); the ones about
signals and concurrent processes run ``python -m dreamrg.cli`` in a subprocess. Full and
read-only disks use a small tmpfs, which needs root and ``mount``; elsewhere those tests
are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from dreamrg import cli, exact_fit, models, patches, sampler, store, train
from dreamrg.models import SymmetricUpscaler, TwoLayerUpscaler


# ---------------------------------------------------------------- helpers

def _random_store(path: Path, n: int, L: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    spins = np.where(rng.random((n, L, L)) < 0.5, -1, 1).astype(np.int8)
    np.save(path.with_suffix(".npy"), spins)
    store.import_configs(path.with_suffix(".npy"), path)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults-data")
    return {"train": _random_store(root / "train", 200, 8, 1), "valid": _random_store(root / "valid", 100, 8, 2),
            "big": _random_store(root / "big", 400, 16, 3), "big_valid": _random_store(root / "big_valid", 100, 16, 4)}


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """``dreamrg ARGS`` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    try:
        status = cli.main([str(a) for a in args])
    except SystemExit as exc:  # argparse refuses an option
        status = exc.code
    except KeyboardInterrupt:  # must not escape: pytest would stop the whole session
        status = "KeyboardInterrupt escaped dreamrg.cli.main"
    out, err = capsys.readouterr()
    return status, out, err


def run_sub(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dreamrg.cli", *map(str, args)], capture_output=True, text=True, **kw)


def one_error_line(err: str) -> str:
    """The single ``dreamrg: error:`` line of stderr (and nothing else: no traceback)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("dreamrg: error: "), err
    return lines[0]


def train_args(data, out, *extra):
    return ("train", "--data", data["train"], "--validation", data["valid"], "--k", 3, "--epochs", 2,
            "--batch-size", 50, "--out", out, "--no-progress", *extra)


class _Evil:
    """A pickle payload: unpickling it calls ``open(marker, "w")``, i.e. creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant_malicious_checkpoint(path: Path, marker: Path) -> None:
    torch.save({"format": "dreamrg-checkpoint", "payload": _Evil(marker)}, path)


@contextlib.contextmanager
def _tmpfs(path: Path, size: str = "1m", readonly: bool = False):
    """A small tmpfs at ``path`` (root only); skips the test where it cannot be mounted."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (full or read-only disk) needs root")
    path.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip() or res.returncode})")
    try:
        if readonly:
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _state(path: Path) -> dict:
    return json.loads(Path(path).read_text())["state_dict"]


# ---------------------------------------------------------------- 5: nothing untrusted is executed

def test_malicious_checkpoint_is_refused_not_run_by_train(data, tmp_path, capsys):
    marker = tmp_path / "pwned"
    out = tmp_path / "m.json"
    ck = out.with_name(out.name + ".checkpoint.pt")          # the checkpoint CLI train resumes from
    _plant_malicious_checkpoint(ck, marker)
    status, _, err = run_cli(capsys, *train_args(data, out))
    assert not marker.exists(), "unpickling the checkpoint ran code"
    assert status == 2 and "not a readable dreamrg training checkpoint" in one_error_line(err)
    assert not out.exists()
    # the API refuses it the same way
    with pytest.raises(models.ModelFileError, match="never unpickled"):
        train.train_adamw(train.TrainParams(k=3, epochs=1, batch_size=50), data["train"], data["valid"],
                          progress=False, checkpoint=ck)
    assert not marker.exists()


def test_malicious_checkpoint_in_the_cache_is_listed_unreadable_not_run(tmp_path, capsys):
    marker = tmp_path / "pwned"
    entry = Path(os.environ["DREAMRG_DATA"]) / "models" / "evil-000000000000"
    entry.mkdir(parents=True)
    _plant_malicious_checkpoint(entry / "checkpoint.pt", marker)
    status, out, err = run_cli(capsys, "cache", "--stage", "models", "--json")
    assert not marker.exists(), "dreamrg cache ran code from a checkpoint"
    assert status == 0, err
    row = next(r for r in json.loads(out) if r["entry"] == entry.name)
    assert row["progress"].startswith("unreadable (") and "\n" not in row["progress"]


# ---------------------------------------------------------------- 6: finite weights only

@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_weights_in_a_model_file_are_refused(tmp_path, capsys, bad):
    path = models.save_model(tmp_path / "m.json", SymmetricUpscaler(3, params=[0.1, 0.2, 0.3]), {})
    path.write_text(path.read_text().replace("0.2", bad, 1))
    with pytest.raises(models.ModelFileError, match="non-finite"):
        models.load_model(path)
    status, _, err = run_cli(capsys, "dream", "--model", path, "--n-up", 2, "--n-configs", 4, "--seed", 1,
                             "--out", tmp_path / "ens", "--no-progress")
    assert status == 2 and str(path) in one_error_line(err) and "non-finite" in err
    assert not (tmp_path / "ens").exists()
    with pytest.raises(ValueError, match="not all finite"):             # nor can such weights be saved
        models.save_model(tmp_path / "n.json", SymmetricUpscaler(3, params=[0.1, float(bad.lower().replace(
            "infinity", "inf")), 0.3]), {})


def test_diverged_training_writes_nothing_and_fails(data, tmp_path, capsys):
    out = tmp_path / "div.json"
    status, _, err = run_cli(capsys, *train_args(data, out, "--model", "two-layer", "--lr", "1e30"))
    assert status == 1 and "diverged" in one_error_line(err)
    assert not out.exists() and not out.with_name(out.name + ".checkpoint.pt").exists()
    status, _, err = run_cli(capsys, *train_args(data, out, "--lr", "inf"))
    assert status == 2 and "must be a finite number" in err


# ---------------------------------------------------------------- 7: train --out refuses a foreign file

@pytest.mark.parametrize("foreign", ["text", "npy", "other-model"])
def test_train_out_refuses_a_foreign_file(data, tmp_path, capsys, foreign):
    out = tmp_path / "target"
    if foreign == "text":
        out.write_text("my notes\n")
    elif foreign == "npy":
        np.save(out.with_suffix(".npy"), np.arange(5))
        out = out.with_suffix(".npy")
    else:
        assert run_cli(capsys, *train_args(data, out, "--seed", 5))[0] == 0
    before = out.read_bytes()
    status, _, err = run_cli(capsys, *train_args(data, out))
    assert status == 2 and "refusing to overwrite" in one_error_line(err)
    assert out.read_bytes() == before


def test_train_out_replaces_a_model_of_the_same_run(data, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert run_cli(capsys, *train_args(data, out))[0] == 0
    first = _state(out)
    status, stdout, err = run_cli(capsys, *train_args(data, out))
    assert status == 0, err
    assert _state(out) == first and "wrote" in stdout


# ---------------------------------------------------------------- 8: the output is checked before training

@pytest.fixture
def no_training(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("training started before --out was checked")

    monkeypatch.setattr(train, "train_adamw", boom)
    monkeypatch.setattr(train, "train_exact", boom)


@pytest.mark.parametrize("case", ["parent-is-a-file", "dangling-symlink", "directory", "dot", "empty"])
def test_bad_out_is_refused_before_training(data, tmp_path, capsys, no_training, case):
    if case == "parent-is-a-file":
        (tmp_path / "f").write_text("x")
        out, fragment = tmp_path / "f" / "m.json", "is a file, not a directory"
    elif case == "dangling-symlink":
        out, fragment = tmp_path / "link.json", "dangling symlink"
        out.symlink_to(tmp_path / "gone" / "m.json")
    elif case == "directory":
        out, fragment = tmp_path, "is a directory"
    else:  # "." and "" name no file (already a clear error for train before issue 22; mc and dream: below)
        out, fragment = ("." if case == "dot" else ""), ""
    status, _, err = run_cli(capsys, *train_args(data, out))
    assert status == 2 and fragment in err and "empty name" not in err
    if case not in ("dot", "empty"):
        assert fragment in one_error_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) in (["f"], ["link.json"], [])


@pytest.mark.parametrize("command", ["mc", "dream"])
def test_empty_out_is_one_clear_message_for_every_writer(tmp_path, command):
    model = models.save_model(tmp_path / "m.json", SymmetricUpscaler(3), {})
    args = (["mc", "--L", 8, "--n-configs", 5, "--seed", 1] if command == "mc" else
            ["dream", "--model", model, "--n-up", 1, "--n-configs", 2, "--seed", 1])
    res = run_sub(*args, "--out", "")
    assert res.returncode == 2 and "must name a file" in res.stderr and "empty name" not in res.stderr


def test_unwritable_out_is_refused_before_training(data, tmp_path, capsys, no_training):
    if os.geteuid() == 0:
        with _tmpfs(tmp_path / "ro", readonly=True) as ro:
            status, _, err = run_cli(capsys, *train_args(data, ro / "m.json"))
            assert status == 2 and "not writable" in one_error_line(err) and "Read-only" in err
        return
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        status, _, err = run_cli(capsys, *train_args(data, locked / "m.json"))
        assert status == 2 and "not writable" in one_error_line(err)
    finally:
        locked.chmod(0o700)


def test_full_disk_is_refused_before_training(data, tmp_path, capsys, no_training):
    with _tmpfs(tmp_path / "full") as full:
        fd = os.open(full / "filler", os.O_WRONLY | os.O_CREAT)   # fill the 1 MiB tmpfs to the last block
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            os.close(fd)
        status, _, err = run_cli(capsys, *train_args(data, full / "m.json"))
        assert status == 2 and "not enough space" in one_error_line(err)
        assert sorted(p.name for p in full.iterdir()) == ["filler"]       # nothing half-written


@pytest.mark.slow
def test_full_disk_while_writing_mc_is_one_line(tmp_path):
    """A store that outgrows its disk: one line naming the file system error, no traceback."""
    with _tmpfs(tmp_path / "small", size="256k") as small:
        res = run_sub("mc", "--L", 64, "--n-configs", 4000, "--seed", 1, "--chunk-size", 50, "--out",
                      small / "s", "--no-progress")
        assert res.returncode == 1, res.stderr
        line = one_error_line(res.stderr)
        assert "No space left on device" in line and "free some space" in line


@pytest.mark.parametrize("err_no, status", [(errno.ENOSPC, 1), (errno.EROFS, 1), (errno.EACCES, 2),
                                             (errno.ENOTDIR, 2), (errno.EIO, 1)])
def test_os_error_while_saving_is_one_line_and_keeps_the_checkpoint(data, tmp_path, capsys, monkeypatch,
                                                                     err_no, status):
    out = tmp_path / "m.json"

    def fail(path, model, meta):
        raise OSError(err_no, os.strerror(err_no), str(path))

    with monkeypatch.context() as m:
        m.setattr(models, "save_model", fail)
        got, _, err = run_cli(capsys, *train_args(data, out))
    line = one_error_line(err)
    assert got == status and str(out) in line and os.strerror(err_no) in line
    assert not out.exists()
    ck = out.with_name(out.name + ".checkpoint.pt")
    assert ck.exists()                                            # the finished epochs are kept ...
    got, stdout, err = run_cli(capsys, *train_args(data, out))
    assert got == 0 and "resumed from" in stdout, err            # ... and the same command resumes
    assert not ck.exists()


# ---------------------------------------------------------------- 11: an exact fit that did not converge

def test_unconverged_exact_fit_says_so_and_fails(tmp_path, capsys):
    np.save(tmp_path / "up.npy", np.ones((40, 8, 8), np.int8))    # separable data: no finite optimum
    up = store.import_configs(tmp_path / "up.npy", tmp_path / "up").path
    out = tmp_path / "m.json"
    args = ("train", "--data", up, "--k", 3, "--method", "exact", "--out", out, "--no-progress")
    status, stdout, err = run_cli(capsys, *args)
    assert status == 1 and "did NOT converge" in one_error_line(err) and "Exact optimum" not in stdout
    assert "exact optimum" not in stdout and not out.exists()
    status, stdout, err = run_cli(capsys, *args, "--allow-unconverged")
    assert status == 0 and "did NOT converge" in stdout
    assert json.loads(out.read_text())["meta"]["fit"]["converged"] is False


# ---------------------------------------------------------------- 12: model size limits before allocation

@pytest.mark.parametrize("change, fragment", [
    ({"k": 10**6 + 1}, "beyond the largest"),
    ({"k": 3.7}, "'k' must be an odd integer"),
    ({"k": "3"}, "'k' must be an odd integer"),
    ({"k": True}, "'k' must be an odd integer"),
    ({"channels": 10**9}, "beyond the largest"),
    ({"channels": 4096, "k": 255}, "GiB"),
    ({"channels": 32.0}, "'channels' must be an integer"),
    ({"input_01": "no"}, "'input_01' must be true or false"),
])
def test_model_file_sizes_are_checked_before_allocation(tmp_path, change, fragment):
    path = models.save_model(tmp_path / "m.json", TwoLayerUpscaler(3, channels=2), {})
    doc = json.loads(path.read_text())
    doc.update(change)
    path.write_text(json.dumps(doc))
    t0 = time.perf_counter()
    with pytest.raises(models.ModelFileError, match=fragment) as info:
        models.load_model(path)
    assert str(path) in str(info.value) and time.perf_counter() - t0 < 2


def test_model_classes_check_their_size():
    with pytest.raises(ValueError, match="beyond the largest"):
        SymmetricUpscaler(10**7 + 1)
    with pytest.raises(ValueError, match="GiB"):
        TwoLayerUpscaler(255, channels=4096)
    assert models.model_bytes("two-layer", 3, 32) == 8 * (2 * 32 * 9 + 33)


# ---------------------------------------------------------------- 15: --json is always JSON

def test_json_has_null_for_an_undefined_error_bar_and_the_table_says_na(data, capsys):
    status, out, err = run_cli(capsys, "observables", data["train"], "--bins", 1, "--json")
    assert status == 0, err

    def no_constant(name):
        raise AssertionError(f"{name} is not JSON")

    rows = json.loads(out, parse_constant=no_constant)
    assert rows[0]["chi"]["error"] is None and np.isfinite(rows[0]["chi"]["value"])
    status, out, _ = run_cli(capsys, "observables", data["train"], "--bins", 1)
    assert status == 0 and "n/a" in out and "nan" not in out.lower()
    from dreamrg.observables import SizeSummary

    assert np.isnan(SizeSummary.from_dict(rows[0]).chi.error)          # null reads back as "undefined"


def test_json_helper_never_prints_nan(capsys):
    cli._print_json({"a": float("nan"), "b": [float("inf"), -float("inf"), np.float64("nan"), 1.5]})
    assert json.loads(capsys.readouterr().out) == {"a": None, "b": [None, None, None, 1.5]}


# ---------------------------------------------------------------- 16: clear messages

@pytest.mark.parametrize("content", ["{}", "not json", "[1]", '{"node_type": "array"}',
                                     '{"node_type": "array", "zarr_format": 3}', "1" * 5000])
@pytest.mark.parametrize("command", ["observables", "mcrg"])
def test_damaged_zarr_json_names_the_file(tmp_path, capsys, content, command):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "zarr.json").write_text(content)
    status, _, err = run_cli(capsys, command, bad)
    line = one_error_line(err)
    assert status == 2 and str(bad) in line and "node_type" not in line and "4300" not in line


@pytest.mark.parametrize("option", [("observables", "{store}", "--bins"), ("mcrg", "{store}", "--n"),
                                    ("train", "--data", "{store}", "--out", "m.json", "--k"),
                                    ("train", "--data", "{store}", "--out", "m.json", "--k", 3, "--epochs")])
def test_huge_integers_are_refused_without_python_internals(data, tmp_path, option):
    args = [str(a).format(store=data["train"]) for a in option]
    res = run_sub(*args, "1" + "0" * 5000, cwd=tmp_path)
    assert res.returncode == 2 and "4300" not in res.stderr and "set_int_max_str_digits" not in res.stderr
    assert "digits" in res.stderr and len(res.stderr) < 2000


def test_huge_integer_in_a_model_file_names_the_file(tmp_path):
    path = models.save_model(tmp_path / "m.json", SymmetricUpscaler(3), {})
    path.write_text(path.read_text().replace('"k": 3', '"k": 1' + "0" * 5000))
    with pytest.raises(models.ModelFileError, match="too many digits") as info:
        models.load_model(path)
    assert str(path) in str(info.value) and "4300" not in str(info.value)


def test_model_directory_and_missing_model_messages(tmp_path, capsys):
    (tmp_path / "models").mkdir()
    with pytest.raises(models.ModelFileError, match="is a directory, not a model file"):
        models.load_model(tmp_path / "models")
    (tmp_path / "link.json").symlink_to(tmp_path / "gone.json")
    with pytest.raises(models.ModelFileError, match="dangling symlink"):
        models.load_model(tmp_path / "link.json")


def test_non_finite_parameters_message_says_which():
    with pytest.raises(ValueError) as info:
        patches.check_params([0.1, float("nan"), 0.3], 3)
    assert str(info.value) != "parameters must be finite" and "k=3" in str(info.value) and "[1]" in str(info.value)


# ---------------------------------------------------------------- 17 (CLI side) and 19: Ctrl-C, resume, one writer

def _wait_for(predicate, proc, seconds=240.0):
    t0 = time.monotonic()
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the first run ended early: {proc.communicate()}")
        if time.monotonic() - t0 > seconds:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_ctrl_c_exits_130_and_the_same_command_resumes_bit_identically(data, tmp_path, capsys, monkeypatch):
    out, ref = tmp_path / "m.json", tmp_path / "ref.json"
    args = ("train", "--data", data["big"], "--validation", data["big_valid"], "--k", 3, "--epochs", 3,
            "--batch-size", 20, "--no-progress")
    assert run_cli(capsys, *args, "--out", ref)[0] == 0
    # in-process: Ctrl-C in the middle of epoch 2 (after 30 steps); the checkpoint of epoch 1 stays
    real_step, steps = train.adamw_step, []

    def step(*a, **k):
        steps.append(1)
        if len(steps) == 30:
            raise KeyboardInterrupt
        return real_step(*a, **k)

    with monkeypatch.context() as m:
        m.setattr(train, "adamw_step", step)
        status, stdout, err = run_cli(capsys, *args, "--out", out)
    ck = out.with_name(out.name + ".checkpoint.pt")
    assert status == 130 and "Traceback" not in err and "resume" in err
    assert ck.exists() and not out.exists()
    status, stdout, err = run_cli(capsys, *args, "--out", out)
    assert status == 0 and "resumed from" in stdout, err
    assert _state(out) == _state(ref)                                   # bit for bit
    assert json.loads(out.read_text())["meta"]["history"]["valid_loss"] == \
        json.loads(ref.read_text())["meta"]["history"]["valid_loss"]


@pytest.mark.slow
def test_second_train_to_one_out_is_refused_and_sigint_is_quiet(data, tmp_path, capsys):
    out = tmp_path / "m.json"
    ck = out.with_name(out.name + ".checkpoint.pt")
    # epochs enough that the first run is still training when it is interrupted (an epoch takes milliseconds)
    args = ("train", "--data", data["big"], "--validation", data["big_valid"], "--k", 3, "--epochs", 10**6,
            "--batch-size", 20, "--out", out, "--no-progress")
    # a user's Ctrl-C: SIGINT at its default disposition in the child, even where the test runner itself was
    # started in the background by a shell without job control, which leaves SIGINT ignored (and inherited so)
    first = subprocess.Popen([sys.executable, "-m", "dreamrg.cli", *map(str, args)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        _wait_for(ck.exists, first)                                   # it holds the lock and has finished an epoch
        status, _, err = run_cli(capsys, *args)
        assert status == 2 and "being written by another process" in one_error_line(err)
        assert first.poll() is None, "the first run ended before it could be interrupted"
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130 and "Traceback" not in err and "KeyboardInterrupt" not in err
    assert ck.exists() and not out.exists()


# ---------------------------------------------------------------- 18: strict integers in the API

@pytest.mark.parametrize("start, stop", [(1.5, 3.7), ("1", "3"), (True, 3), (1, 3.0), (None, np.float64(3))])
def test_load_configs_refuses_non_integers(data, start, stop):
    with pytest.raises(ValueError, match="must be an integer"):
        store.load_configs(data["train"], start, stop)
    assert store.load_configs(data["train"], np.int64(1), np.int32(3)).shape == (2, 8, 8)


@pytest.mark.parametrize("call", [
    lambda: SymmetricUpscaler(3.0),
    lambda: SymmetricUpscaler(3.7),
    lambda: SymmetricUpscaler("3"),
    lambda: TwoLayerUpscaler(3, channels=4.0),
    lambda: TwoLayerUpscaler(3, channels="4"),
    lambda: models.from_release_entry({"model": "symmetric_single_layer", "kernel_size": 3.7, "state_dict": {}}),
    lambda: train.TrainParams(k=3.7),
    lambda: train.TrainParams(k=3, epochs=2.5),
    lambda: train.TrainParams(k=3, batch_size="50"),
    lambda: train.TrainParams(k=3, seed=1.0),
    lambda: train.TrainParams(k=3, lr=float("inf")),
    lambda: exact_fit.HistogramAccumulator(3, n_chunks=2.0),
    lambda: exact_fit.fit_exact(np.ones((4, 16, 2)), 3, max_iter=2.5),
    lambda: sampler.dream_batch(SymmetricUpscaler(3), 3.7, 1, np.random.SeedSequence(1)),
    lambda: sampler.dream_batch(SymmetricUpscaler(3), 4, 1.0, np.random.SeedSequence(1)),
])
def test_api_integers_are_strict(call):
    with pytest.raises(ValueError):
        call()


def test_api_n_train_is_strict(data):
    p = train.TrainParams(k=3, method="exact")
    with pytest.raises(ValueError, match="must be an integer"):
        train.train_exact(p, data["train"], n_train=100.5, progress=False)
    with pytest.raises(ValueError, match="must be an integer"):
        train.evaluate_loss(SymmetricUpscaler(3), data["train"], 3.7)
