import json
import subprocess
import sys

import numpy as np
import pytest

from dreamrg import store


def run(*args, check=False):
    return subprocess.run([sys.executable, "-m", "dreamrg.cli", *map(str, args)], capture_output=True, text=True)


def test_help_lists_every_stage():
    out = run("--help").stdout
    for stage in ("mc", "train", "dream", "observables", "mcrg", "cache", "book"):
        assert stage in out


@pytest.mark.parametrize("args, fragment", [
    (["--L", "1"], "L must be"),
    (["--L", "8", "--K", "0"], "K must be"),
    (["--L", "8", "--K", "-0.3"], "K must be"),
    (["--L", "8", "--n-configs", "0"], "n-configs must be"),
    (["--L", "8", "--algorithm", "heatbath"], "invalid choice"),
    (["--L", "8", "--bogus", "1"], "unrecognized arguments"),
    (["--L", "8", "--chains", "-2"], "--chains must be"),
])
def test_mc_bad_input_one_clear_error(tmp_path, args, fragment):
    base = {"--n-configs": "10", "--seed": "1", "--out": str(tmp_path / "s")}
    argv = list(args)
    for k, v in base.items():
        if k not in argv:
            argv += [k, v]
    res = run("mc", *argv)
    assert res.returncode == 2
    assert fragment in res.stderr
    assert res.stderr.count("error") == 1
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_mc_refuses_store_with_other_metadata(tmp_path):
    out = tmp_path / "s"
    assert run("mc", "--L", 8, "--n-configs", 50, "--seed", 1, "--out", out, "--no-progress").returncode == 0
    before = store.load_configs(out)
    res = run("mc", "--L", 8, "--n-configs", 100, "--seed", 2, "--out", out, "--no-progress")
    assert res.returncode == 2 and "different metadata" in res.stderr
    assert np.array_equal(store.load_configs(out), before)


@pytest.mark.slow
def test_mc_unwritable_path(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        res = run("mc", "--L", 8, "--n-configs", 10, "--seed", 1, "--out", locked / "s")
        import os
        if os.geteuid() == 0:
            pytest.skip("root can write anywhere")
        assert res.returncode == 2 and "not writable" in res.stderr
    finally:
        locked.chmod(0o700)


@pytest.mark.slow
def test_mc_prints_observables_and_observables_json(tmp_path):
    out = tmp_path / "s"
    res = run("mc", "--L", 8, "--n-configs", 400, "--seed", 4, "--out", out, "--no-progress")
    assert res.returncode == 0, res.stderr
    for name in ("abs_m", "e", "chi", "c", "U4", "tau_m2"):
        assert name in res.stdout
    res = run("observables", out, "--json")
    rows = json.loads(res.stdout)
    assert len(rows) == 1 and rows[0]["L"] == 8
    for key in ("chi", "c_me", "c", "U4", "abs_m", "e"):
        assert set(rows[0][key]) == {"value", "error"} and rows[0][key]["error"] > 0
    assert set(rows[0]["tau_int_m2"]) == {"value", "error"}      # the JSON of SizeSummary.to_dict
    from dreamrg.observables import SizeSummary

    assert SizeSummary.from_dict(rows[0]).to_dict() == rows[0]


def test_mc_import_cli(tmp_path):
    s = np.where(np.random.default_rng(0).random((5, 8, 8)) < 0.5, -1, 1).astype(np.int8)
    np.save(tmp_path / "x.npy", s)
    res = run("mc", "import", tmp_path / "x.npy", "--out", tmp_path / "st")
    assert res.returncode == 0, res.stderr
    assert np.array_equal(store.load_configs(tmp_path / "st"), s)
    res = run("mc", "import", tmp_path / "missing.npy", "--out", tmp_path / "st2")
    assert res.returncode == 2 and "does not exist" in res.stderr


@pytest.mark.slow
def test_train_cli_exact_and_bad_input(tmp_path):
    data = tmp_path / "d"
    assert run("mc", "--L", 16, "--n-configs", 300, "--seed", 1, "--out", data, "--no-progress").returncode == 0
    res = run("train", "--data", data, "--k", 3, "--method", "exact", "--out", tmp_path / "m.json", "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "(0, 0)" in res.stdout and (tmp_path / "m.json").is_file()
    for args, fragment in [(["--k", 4], "odd"), (["--k", 3, "--data", tmp_path / "nothing"], "not a dreamrg"),
                           (["--k", 3, "--method", "exact", "--model", "two-layer"], "single-layer"),
                           (["--k", 3], "needs --validation"),
                           (["--k", 5, "--model", "two-layer", "--validation", data, "--engine", "histogram"],
                            "two-layer model with k = 3 only")]:
        argv = ["train", "--data", data, "--out", tmp_path / "x.json", "--no-progress"] + list(args)
        if "--method" not in argv and "--validation" not in argv and fragment != "needs --validation":
            argv += ["--method", "exact"]
        res = run(*argv)
        assert res.returncode == 2 and fragment in res.stderr, (args, res.stderr)
        assert not (tmp_path / "x.json").exists()
    odd = tmp_path / "odd"
    assert run("mc", "--L", 9, "--n-configs", 20, "--seed", 1, "--out", odd, "--no-progress").returncode == 0
    res = run("train", "--data", odd, "--k", 3, "--method", "exact", "--out", tmp_path / "x.json")
    assert res.returncode == 2 and "even L" in res.stderr


@pytest.mark.slow
def test_mcrg_cli(tmp_path):
    out = tmp_path / "s"
    assert run("mc", "--L", 16, "--n-configs", 2000, "--seed", 3, "--out", out, "--no-progress").returncode == 0
    res = run("mcrg", out, "--json", "--no-progress")
    assert res.returncode == 0, res.stderr
    (r,) = json.loads(res.stdout)                      # the JSON of MCRGResult.to_dict, as the cache holds it
    for key in ("y_h", "y_t", "y_r1", "omega"):
        assert r[key + "_err"] > 0
    assert len(r["odd_y"]) == 11 and len(r["even_y"]) == 25
    assert abs(r["y_h"] - 1.875) < 0.03
    from dreamrg.mcrg import MCRGResult
    from dreamrg.runs.mcrg import IrrepRun

    assert MCRGResult.from_dict(r).to_dict() == r
    # a truncated operator set: fewer eigenvalues; out of range is one clear error before any work
    res = run("mcrg", out, "--json", "--no-progress", "--n-odd", 2, "--n-even", 3)
    assert res.returncode == 0, res.stderr
    (t,) = json.loads(res.stdout)
    assert len(t["odd_y"]) == 2 and len(t["even_y"]) == 3
    assert t["y_h"] != r["y_h"]
    res = run("mcrg", out, "--n-odd", 12)
    assert res.returncode == 2 and "--n-odd must be between 1 and 11" in res.stderr and not res.stdout
    # lattice-symmetry sectors: every (sector, irrep) with its dimension, A1 equal to the symmetrised result
    res = run("mcrg", out, "--irreps", "--json", "--no-progress")
    assert res.returncode == 0, res.stderr
    ir = json.loads(res.stdout)                        # IrrepRun.to_dict: one row per (step, sector, irrep)
    assert sum(x["dim"] for x in ir) == 158 and len(ir) == 10 and {x["step"] for x in ir} == {0}
    a1 = next(x for x in ir if (x["parity"], x["irrep"]) == ("odd", "A1"))
    assert abs(a1["y"][0] - r["y_h"]) < 1e-9
    assert IrrepRun.from_dict(ir).to_dict() == ir
    res = run("mcrg", out, "--irreps", "--no-progress")
    assert res.returncode == 0 and "third exponent of the whole spectrum" in res.stdout
    res = run("mcrg", out, "--irreps", "--n-even", 3)
    assert res.returncode == 2 and "cannot be combined" in res.stderr and not res.stdout
    # --basis oriented is --irreps; the authors' basis and open sums are recorded in the JSON of each step
    res = run("mcrg", out, "--basis", "oriented", "--json", "--no-progress")
    assert res.returncode == 0 and json.loads(res.stdout) == ir
    res = run("mcrg", out, "--basis", "authors", "--boundary", "open", "--levels", 2, "--json", "--no-progress")
    assert res.returncode == 0, res.stderr
    steps = json.loads(res.stdout)
    assert [x["level"] for x in steps] == [0, 1] and len(steps[0]["even_y"]) == 24
    assert all(x["basis"] == "authors" and x["boundary"] == "open" for x in steps)
    assert abs(steps[0]["y_h"] - r["y_h"]) < 0.05
    res = run("mcrg", out, "--basis", "authors", "--n-even", 25)
    assert res.returncode == 2 and "--n-even must be between 1 and 24" in res.stderr and not res.stdout
    res = run("mcrg", out, "--basis", "authors", "--irreps")
    assert res.returncode == 2 and "--irreps means --basis oriented" in res.stderr
    res = run("mcrg", out, "--basis", "classes")
    assert res.returncode == 2 and "invalid choice" in res.stderr
    small = tmp_path / "small"
    assert run("mc", "--L", 4, "--n-configs", 50, "--seed", 3, "--out", small, "--no-progress").returncode == 0
    res = run("mcrg", small)
    assert res.returncode == 2 and "L = 4" in res.stderr
    res = run("mcrg", tmp_path / "nothing")
    assert res.returncode == 2 and "neither" in res.stderr


@pytest.fixture
def main(capsys):
    """Run the command line in process: ``main(*args)`` gives (exit status, stdout, stderr)."""
    from dreamrg import cli

    def run(*args):
        status = cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def test_mc_mcrg_only_cli(tmp_path, main):
    """``dreamrg mc ... --mcrg-only`` prints exactly what ``dreamrg mcrg`` prints for the same configurations stored."""
    mc_args = ["mc", "--L", 16, "--n-configs", 1100, "--seed", 3, "--chunk-size", 200, "--chains", 2,
               "--no-progress"]
    store_path, run_dir = tmp_path / "s", tmp_path / "r"
    assert main(*mc_args, "--out", store_path)[0] == 0
    printed = {}
    for basis in ("symmetrised", "authors"):
        status, stored, err = main("mcrg", store_path, "--levels", 2, "--seed", 4, "--basis", basis, "--json",
                                   "--no-progress")
        assert status == 0, err
        status, streamed, err = main(*mc_args, "--out", tmp_path / basis, "--mcrg-only", "--levels", 2,
                                     "--mcrg-seed", 4, "--basis", basis, "--json")
        assert status == 0, err
        assert streamed == stored and len(json.loads(streamed)) == 2
        printed[basis] = streamed
    run_dir = tmp_path / "symmetrised"
    assert sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*")) == \
        ["chains", "chains/0.npz", "chains/1.npz", "mcrg.json", "run.json"]  # no configuration
    assert json.loads((run_dir / "mcrg.json").read_text()) == json.loads(printed["symmetrised"])
    status, text, _ = main(*mc_args, "--out", run_dir, "--mcrg-only", "--levels", 2, "--mcrg-seed", 4)  # finished
    assert status == 0 and "none stored" in text and "16->8" in text
    for extra, fragment in ((["--out", run_dir, "--mcrg-only"], "another run (it differs in levels, seed)"),
                            (["--out", store_path, "--mcrg-only"], "is a configuration store"),
                            (["--out", tmp_path / "x", "--levels", 2], "--levels goes with --mcrg-only"),
                            (["--out", tmp_path / "x", "--basis", "authors", "--order", "chain"],
                             "--basis, --order go with --mcrg-only"),
                            (["--out", tmp_path / "x", "--mcrg-only", "--scheduler", "local:0"], "local:N"),
                            (["--out", tmp_path / "x", "--mcrg-only", "--levels", 3], "cannot be blocked 3 times")):
        status, out, err = main(*mc_args, *extra)
        assert status == 2 and fragment in err and not out, err
    assert not (tmp_path / "x").exists()  # refused before anything is written


def test_mc_mcrg_only_carries_finished_chains_between_machines(tmp_path, main):
    """``--carry DIR``: a second machine (a new --out) takes the finished chains of the first and prints the same."""
    mc_args = ["mc", "--L", 16, "--n-configs", 1100, "--seed", 3, "--chunk-size", 200, "--chains", 2,
               "--no-progress", "--mcrg-only", "--levels", 2, "--json"]
    carry = tmp_path / "carry"
    status, first, err = main(*mc_args, "--out", tmp_path / "one", "--carry", carry)
    assert status == 0 and "holds 2 of 2 chains, finished" in err, err
    assert sorted(p.name for p in (carry / "chains").iterdir()) == ["0.npz", "1.npz"]
    # the second machine's run has nothing to compute: its chains come from the carry
    status, second, err = main(*mc_args, "--out", tmp_path / "two", "--carry", carry)
    assert status == 0 and second == first and "holds 2 of 2 chains" in err, err
    with np.load(tmp_path / "two" / "chains" / "0.npz", allow_pickle=False) as z:
        assert "spins" not in z.files
    (tmp_path / "file").write_text("")
    status, out, err = main(*mc_args, "--out", tmp_path / "three", "--carry", tmp_path / "file")
    assert status == 2 and "is a file" in err and not out and not (tmp_path / "three").exists()
    status, out, err = main(*mc_args[:-3], "--levels", 1, "--out", tmp_path / "four", "--carry", carry)
    assert status == 2 and "holds another run" in err and not (tmp_path / "four").exists(), err
    status, out, err = main(*mc_args[:-4], "--out", tmp_path / "five", "--carry", carry)
    assert status == 2 and "--carry goes with --mcrg-only" in err


def test_mcrg_order_chain_cli(tmp_path, main):
    """``--order chain``: the store analysed chain by chain prints what the streamed run of that order prints; with
    one chain per bin each carried chain is one piece per step; a dreamed ensemble has no chains to order by."""
    mc_args = ["mc", "--L", 16, "--n-configs", 1920, "--seed", 7, "--chunk-size", 30, "--chains", 32,
               "--no-progress"]
    assert main(*mc_args, "--out", tmp_path / "s")[0] == 0
    status, stored, err = main("mcrg", tmp_path / "s", "--levels", 2, "--order", "chain", "--json", "--no-progress")
    assert status == 0, err
    status, streamed, err = main(*mc_args, "--out", tmp_path / "r", "--mcrg-only", "--levels", 2, "--order",
                                 "chain", "--json", "--carry", tmp_path / "carry")
    assert status == 0 and streamed == stored, err
    run_order = main("mcrg", tmp_path / "s", "--levels", 2, "--json", "--no-progress")[1]
    a, b = json.loads(stored), json.loads(run_order)
    assert [x["y_h"] for x in a] == pytest.approx([x["y_h"] for x in b], rel=1e-12)
    assert [x["y_h_err"] for x in a] != [x["y_h_err"] for x in b]  # other bins, other jackknife
    with np.load(tmp_path / "carry" / "chains" / "5.npz", allow_pickle=False) as z:
        assert [len(z[f"level{k}.moments.start"]) for k in (0, 1)] == [1, 1]
    assert main("models", "export", "authors-k3", "--out", tmp_path / "m.json")[0] == 0
    assert main("dream", "--model", tmp_path / "m.json", "--n-up", 4, "--n-configs", 20, "--seed", 1,
                "--save-configs", "--out", tmp_path / "e", "--no-progress")[0] == 0
    status, out, err = main("mcrg", tmp_path / "e", "--order", "chain")
    assert status == 2 and "needs a Monte Carlo store" in err and not out, err


@pytest.mark.parametrize("args, fragment", [
    (["--set", "fss.bogus=1"], "unknown parameter 'bogus' for chapter 'fss'"),
    (["--set", "fss"], "CHAPTER.KEY=VALUE"),
    (["--set", "status.x=1"], "allowed: none"),
    (["--set", "mcrg.mc_sizes=oops"], "must be a non-empty list"),
    (["--chapters", "fss", "--set", "mcrg.n_up=3"], "chapter 'mcrg' is not executed"),
])
def test_book_bad_override_one_clear_error(args, fragment):
    res = run("book", "--profile", "smoke", "--no-build", *args)
    assert res.returncode == 2
    assert fragment in res.stderr
    assert res.stderr.count("error") == 1 and res.stdout == ""


@pytest.mark.parametrize("text, args, fragment", [
    (None, [], "cannot be read"),
    ("[fss]\nbogus = 1\n", [], "unknown parameter 'bogus' for chapter 'fss'"),
    ("[nope]\nx = 1\n", [], "unknown chapter 'nope'"),
    ('[fss]\nn_configs = "many"\n', [], "'n_configs' of chapter 'fss' must be integer ≥ 1"),
    ('base = "paper"\n', ["--profile", "smoke"], "says base = 'paper', but profile 'smoke' was asked for"),
    ('base = "smoke"\n', ["--set", "fss.bogus=1"], "unknown parameter 'bogus' for chapter 'fss'"),
])
def test_book_bad_profile_file_one_clear_error(tmp_path, text, args, fragment):
    path = tmp_path / "my.toml"
    if text is not None:
        path.write_text(text)
    res = run("book", "--no-build", "--profile-file", path, *args)
    assert res.returncode == 2
    assert fragment in res.stderr
    assert res.stderr.count("error") == 1 and res.stdout == ""


@pytest.mark.slow
def test_a_closed_output_pipe_ends_quietly(tmp_path):
    """`dreamrg cache | head -1` must not end in a BrokenPipeError traceback."""
    import os

    env = os.environ | {"DREAMRG_DATA": str(tmp_path)}
    for i in range(3000):  # more lines than a pipe buffer holds
        (tmp_path / "mcrg" / f"e{i:04d}-0").mkdir(parents=True)
    p = subprocess.Popen([sys.executable, "-m", "dreamrg.cli", "cache"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    assert p.stdout.readline().startswith(f"cache: {tmp_path}".encode())
    p.stdout.close()
    assert p.wait(timeout=120) == 1
    assert p.stderr.read() == b""



def test_models_list_and_export(tmp_path, capsys):
    """In process (the command is cheap; a subprocess per call would mostly time the imports)."""
    from dreamrg import models, released
    from dreamrg.cli import main

    def call(*args):
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = call("models", "list", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    for name in ("authors-k3", "authors-k7w", "authors-k3-Lt128-M1e6", "authors-2layer-k7"):
        assert name in rows
    assert rows["authors-k7w"]["weighted"] is True and rows["authors-k7w"]["k"] == 7
    assert (rows["authors-k3"]["L_t"], rows["authors-k3"]["M"], rows["authors-k3"]["depth"]) == (32, 10**6, 1)
    assert rows["authors-k3-Lt128-M1e6"]["L_t"] == 128 and rows["authors-2layer-k7"]["depth"] == 2
    assert len(rows) == 26
    assert "authors-k3 " in call("models", "list")[1]
    # a bad name: one clear error listing the allowed names, nothing written
    out_path = tmp_path / "m.json"
    code, _, err = call("models", "export", "authors-k9", "--out", out_path)
    assert code == 2 and err.count("error") == 1 and "allowed: authors-k3," in err and not out_path.exists()
    # the exported file is a dreamrg model that dream takes; re-running may replace it, another model may not
    for name in ("authors-k3", "authors-2layer-k3"):
        path = tmp_path / f"{name}.json"
        assert call("models", "export", name, "--out", path)[0] == 0
        assert call("models", "export", name, "--out", path)[0] == 0
        code, _, err = call("dream", "--model", path, "--n-up", 3, "--n-configs", 40, "--seed", 1, "--out",
                            tmp_path / f"E-{name}", "--no-progress")
        assert code == 0, err
    code, _, err = call("models", "export", "authors-k5", "--out", tmp_path / "authors-k3.json")
    assert code == 2 and "refusing to overwrite" in err
    m = models.load_model(tmp_path / "authors-k3.json")
    assert m.meta["released_model"] == "authors-k3" and "GPL-3.0-only" in m.meta["source"]
    assert np.allclose(m.params.detach().numpy(), released.released_model("authors-k3").model().params.detach().numpy())
    two = models.load_model(tmp_path / "authors-2layer-k3.json")
    assert isinstance(two, models.TwoLayerUpscaler) and two.input_01
