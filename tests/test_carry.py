"""Carrying the result cache between machines that share no storage (dreamrg.runs.carry, 'dreamrg cache --export/
--import'): results and streamed runs' finished chains go, stores stay; a new machine reads the same results without
recomputing them; damaged or foreign entries are refused before anything is written."""

import json

import pytest

from dreamrg import train
from dreamrg.runs import carry
from dreamrg.runs import mcrg as rmcrg
from dreamrg.runs.models import cached_model


@pytest.fixture
def first_machine(tmp_path, monkeypatch):
    """A data directory with an MCRG result (and its store), a trained model and a streamed run cut short."""
    from dreamrg.mcrg import streaming

    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "first"))
    mcrg_run = rmcrg.mc_mcrg(16, 600, 3, levels=1)
    model = cached_model(train.TrainParams(k=3, method="exact"), 16, 300, 5, progress=False)
    real, calls = streaming.accumulate_chunk_conventions, []

    def dying(configs, chunk, **kw):
        calls.append(chunk)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the sitting ends: chain 0 finished, chain 1 not
        return real(configs, chunk, **kw)

    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", dying)
    with pytest.raises(KeyboardInterrupt):
        rmcrg.mc_mcrg_streamed(16, 1500, 11, 1, progress=False)
    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", real)
    return tmp_path, mcrg_run, model


def test_results_and_streamed_chains_are_carried_to_a_new_machine(first_machine, monkeypatch):
    tmp_path, mcrg_run, model = first_machine
    dest = tmp_path / "carried"
    report = carry.export_results(dest)
    assert sorted(report.copied) == sorted(f"{s}/{p.name}" for s in ("mcrg", "models")
                                           for p in (tmp_path / "first" / s).iterdir()
                                           if (p / carry.RESULT_FILES.get(s, "result.json")).is_file())
    assert len(report.copied) == 2 and len(report.partial) == 1 and not report.stale
    assert not (dest / "mc").exists() and not (dest / "ensembles").exists()  # no store is carried
    files = sorted(str(f.relative_to(dest)) for f in dest.rglob("*") if f.is_file())
    assert all(f.endswith(("params.json", "result.json", "model.json", "run.json", "chains/0.npz")) for f in files)
    assert carry.export_results(dest).present == report.copied  # nothing copied twice
    # the new machine: nothing computed, the same results
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "second"))
    got = carry.import_results(dest)
    assert sorted(got.copied) == sorted(report.copied) and got.partial == report.partial
    from dreamrg.runs import mc as rmc

    monkeypatch.setattr(rmc, "run", lambda *a, **k: pytest.fail("a carried result was recomputed"))
    assert rmcrg.mc_mcrg(16, 600, 3, levels=1).to_dict() == mcrg_run.to_dict()
    again = cached_model(train.TrainParams(k=3, method="exact"), 16, 300, 5, progress=False)
    assert all((again.state_dict()[k] == v).all() for k, v in model.state_dict().items())
    status = rmcrg.mc_mcrg_streamed_status(16, 1500, 11, 1)
    assert (status.configs, status.chains_done) == (1024, 1)  # the carried chain, in the data directory now
    second = carry.import_results(dest)
    assert (second.present, second.copied, second.partial) == (got.copied, [], got.partial)  # nothing replaced
    monkeypatch.undo()
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "second"))
    # once the streamed run finishes here and is exported, its result replaces the carried chains
    rmcrg.mc_mcrg_streamed(16, 1500, 11, 1, progress=False)
    report = carry.export_results(dest)
    assert report.copied == got.partial and not (dest / got.partial[0] / "run").exists()


def test_damaged_or_foreign_carried_entries_are_refused_before_anything_is_written(first_machine, monkeypatch):
    tmp_path, _, _ = first_machine
    dest = tmp_path / "carried"
    carry.export_results(dest)
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "second"))
    entry = next((dest / "mcrg").glob("mc-L16-*"))
    params = entry / "params.json"
    good = params.read_text()
    info = json.loads(good)
    info["params"]["n_configs"] = 10 ** 6  # an edited entry no longer hashes to its name
    params.write_text(json.dumps(info))
    with pytest.raises(ValueError, match="hashes to .* not to the entry's name"):
        carry.import_results(dest)
    assert not (tmp_path / "second").exists()
    params.write_text(good)
    model = next((dest / "models").iterdir()) / "model.json"
    model.write_text("{not json")
    with pytest.raises(ValueError, match="model.json is not a readable models result"):
        carry.import_results(dest)
    assert not (tmp_path / "second").exists()
    with pytest.raises(ValueError, match="is not a carry directory"):
        carry.import_results(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown cache stage"):
        carry.export_results(dest, ["bogus"])


def test_cache_export_and_import_on_the_command_line(first_machine, monkeypatch, capsys):
    from dreamrg import cli

    tmp_path, _, _ = first_machine
    dest = tmp_path / "carried"
    assert cli.main(["cache", "--export", str(dest)]) == 0
    assert "2 result(s) copied, 1 unfinished run(s) carried in part" in capsys.readouterr().out
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "second"))
    assert cli.main(["cache", "--import", str(dest), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["copied"]) == 2
    assert cli.main(["cache", "--import", str(dest), "--stale"]) == 2
    assert "take no --writing or --stale" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch, reading the crafted file it then refuses
def test_an_unfinished_training_is_carried_and_finishes_bit_identically(tmp_path, monkeypatch):
    """An AdamW training cut short on one machine: its checkpoint is carried, the next machine resumes it (after
    making the same training set again from its seeds), and the model equals an uninterrupted run's."""
    import torch

    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "reference"))
    params = train.TrainParams(k=3, model="two-layer", epochs=3, batch_size=100, seed=4, channels=4)
    reference = cached_model(params, 16, 300, 5, progress=False)
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "first"))
    real_step, calls = train.adamw_step, []

    def dying_step(*args, **kwargs):  # the sitting ends in the second epoch
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(train, "adamw_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        cached_model(params, 16, 300, 5, progress=False)
    monkeypatch.setattr(train, "adamw_step", real_step)
    dest = tmp_path / "carried"
    report = carry.export_results(dest, ["models"])
    assert len(report.partial) == 1 and not report.copied
    (entry,) = (dest / "models").iterdir()
    assert sorted(f.name for f in entry.iterdir()) == ["checkpoint.pt", "params.json"]
    assert carry._checkpoint_progress(entry / "checkpoint.pt")[0] == 1
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "second"))
    assert carry.import_results(dest).partial == report.partial
    resumed_at = []
    monkeypatch.setattr(train, "adamw_step", lambda *a, **k: (resumed_at.append(1), real_step(*a, **k))[1])
    model = cached_model(params, 16, 300, 5, progress=False)
    assert len(resumed_at) == 3 * 3 - 3  # epochs 2 and 3 only (3 batches each)
    assert all(torch.equal(a, b) for a, b in zip(reference.state_dict().values(), model.state_dict().values()))
    # the finished model replaces the carried checkpoint
    assert carry.export_results(dest, ["models"]).copied == report.partial
    assert sorted(f.name for f in entry.iterdir()) == ["model.json", "params.json"]
    # a carried checkpoint that is not one is refused before anything is written
    (entry / "model.json").unlink()
    (entry / "checkpoint.pt").write_bytes(b"\x80\x04crafted")
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "third"))
    with pytest.raises(ValueError, match="checkpoint.pt is not a readable training checkpoint"):
        carry.import_results(dest)
    assert not (tmp_path / "third").exists()


def test_a_streamed_mc_size_of_the_mcrg_chapter_equals_the_stored_one_in_every_convention(tmp_path, monkeypatch):
    """mcrg.mc_streamed: the chapter's MC size is streamed once in every MC convention (no store), its chains carried
    in the repository's carry directory, and each convention's exponents equal those of the stored run analysed in
    the same order (bins of whole chains)."""
    import dataclasses

    from dreamrg import experiments as ex
    from dreamrg import paths
    from dreamrg.conventions import MC_CONVENTIONS, OURS
    from dreamrg.mc import MCParams
    from dreamrg.mcrg import mcrg_from_store
    from dreamrg.profiles import load_profile
    from dreamrg.runs.mc import cached_store
    from dreamrg.runs.mcrg import stream_params

    monkeypatch.setattr(paths, "carried_dir", lambda root=None: tmp_path / "carried")
    stored_p = load_profile("smoke")
    streamed_p = load_profile("smoke", {"mcrg": {"mc_streamed": [16]}})
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "streamed"))
    convs = [dataclasses.replace(OURS, basis=b, boundary=bd) for b, bd in MC_CONVENTIONS]
    streamed = [ex.mcrg_mc(streamed_p, c)[16] for c in convs]
    assert not (tmp_path / "streamed" / "mc").exists()  # no store
    assert sorted(p.name.rsplit("-", 1)[0] for p in (tmp_path / "streamed" / "mcrg").iterdir()) == \
        ["mc-stream-L16", "mc-stream-L16-authors", "mc-stream-L16-conventions", "mc-stream-L16-open"]
    (carried,) = (tmp_path / "carried" / "mcrg").iterdir()
    assert carried.name.startswith("mc-stream-L16-conventions-") and (carried / "run" / "run.json").is_file()
    assert ex.STREAMED_MC_ORDER == "chain"
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "stored"))
    P = stored_p.mcrg
    # the Monte Carlo of the stream: one chain per jackknife bin (runs.mcrg.stream_params)
    params = stream_params(16, P.mc_configs, stored_p.data_seed, 32, "chain")
    assert params.chains == 32 and params != MCParams(L=16, seed=stored_p.data_seed)
    store = cached_store(params, P.mc_configs, progress=False)
    for a, c in zip(streamed, convs):
        b = mcrg_from_store(store, levels=P.levels, n=P.mc_configs, seed=stored_p.data_seed, basis=c.basis,
                            boundary=c.boundary, order="chain")
        assert [r.to_dict() for r in a] == [r.to_dict() for r in b]
    assert [r.to_dict() for r in streamed[0]] != [r.to_dict() for r in streamed[1]]  # the conventions differ


def test_a_temperature_conditioned_model_is_carried(tmp_path, monkeypatch):
    """Conditioned model files (another loader than the critical models') are checked and carried like any model; a
    damaged result stops the export before anything is written."""
    from dreamrg import mc
    from dreamrg.exact import K_C
    from dreamrg.runs import conditioned as rcond

    stores = [mc.run(mc.MCParams(L=8, K=r * K_C, seed=40 + i, chunk_size=100), 200, tmp_path / f"s{r}",
                     progress=False).path for i, r in enumerate((0.9, 1.0, 1.1))]
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "first"))
    model = rcond.conditioned_model(stores, 3, 1, "exact")
    report = carry.export_results(tmp_path / "carried")
    assert [n.split("/")[0] for n in report.copied] == ["models"]
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "second"))
    carry.import_results(tmp_path / "carried")
    monkeypatch.setattr(rcond, "train_conditioned_exact", lambda *a, **k: pytest.fail("trained again"))
    assert rcond.conditioned_model(stores, 3, 1, "exact").params.tolist() == model.params.tolist()
    (next((tmp_path / "second" / "models").iterdir()) / "model.json").write_text("{}")
    with pytest.raises(ValueError, match="is not a readable models result"):
        carry.export_results(tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()
