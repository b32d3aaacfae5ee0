"""The runs layer: typed results through the cache, with the cache keys and JSON bytes of before the redesign.

``tests/data/cache-v1`` holds cache entries written by dreamrg 630447b (before the
``runs`` layer existed: ``fss.mc_summary``, ``fss.dream_summary``, ``mc.mcrg_summary``,
``mc.mcrg_irreps``, ``mc.mcrg_truncations``, ``dream.mcrg_summary``, ``dream.mcrg_irreps``)
for small cases. A user's existing ``data/`` must keep hitting: the recipes find these
entries under the same keys, and their typed results write back the same bytes.
"""

import io
import json
import math
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from dreamrg import cache, models
from dreamrg.dream import DreamParams
from dreamrg.experiments import ModelId
from dreamrg.fss import PairExponents
from dreamrg.mc import MCParams
from dreamrg.observables import MHistogram, SizeSummary
from dreamrg.runs import mcrg as rmcrg
from dreamrg.runs import summaries
from dreamrg.runs.ensembles import cached_ensemble
from dreamrg.runs.mc import cached_store
from dreamrg.stats import Estimate

RECORDED = Path(__file__).parent / "data" / "cache-v1"
K3 = models.SymmetricUpscaler(3, params=[0.1364, 0.1566, 0.3536])
FROZEN = models.SymmetricUpscaler(3, params=[2.0, 2.0, 2.0])
DREAM = DreamParams(n_up=5, seed=2, batch_size=100)

#: (entry name, the call that must find it, how the result is written): the calls that wrote them at 630447b
CALLS = [
    ("observables/mc-L8-sw", lambda: summaries.mc_summary(8, 300, 11), None),
    ("observables/dream-026ebc9f4a8b9b81", lambda: summaries.dream_summary(K3, DREAM, 300), None),
    ("mcrg/mc-L16", lambda: rmcrg.mc_mcrg(16, 600, 11, levels=1), None),
    ("mcrg/mc-irreps-L16", lambda: rmcrg.mc_irreps(16, 600, 11, levels=1), rmcrg._irreps_encode),
    ("mcrg/mc-irreps-L8", lambda: rmcrg.mc_irreps(8, 40, 11, levels=1), rmcrg._irreps_encode),
    ("mcrg/mc-trunc-L16", lambda: rmcrg.mc_truncations(16, 600, 11, levels=1), None),
    ("mcrg/dream-026ebc9f4a8b9b81", lambda: rmcrg.dreamed_mcrg(K3, DREAM, 300, seed=1), None),
    ("mcrg/dream-irreps-026ebc9f4a8b9b81", lambda: rmcrg.dreamed_irreps(K3, DREAM, 300, seed=1),
     rmcrg._irreps_encode),
    ("mcrg/dream-eaf9cf7c22a1ff78",
     lambda: rmcrg.dreamed_mcrg(FROZEN, DreamParams(n_up=4, seed=2, batch_size=100), 100, seed=1), None),
]
TYPES = {"observables/mc-L8-sw": summaries.MCSummary, "observables/dream-026ebc9f4a8b9b81": summaries.DreamSummary,
         "mcrg/mc-L16": rmcrg.MCRGRun, "mcrg/mc-irreps-L16": rmcrg.IrrepRun, "mcrg/mc-irreps-L8": rmcrg.IllConditioned,
         "mcrg/mc-trunc-L16": rmcrg.TruncationScan, "mcrg/dream-026ebc9f4a8b9b81": rmcrg.DreamedMCRG,
         "mcrg/dream-irreps-026ebc9f4a8b9b81": rmcrg.IrrepRun, "mcrg/dream-eaf9cf7c22a1ff78": rmcrg.IllConditioned}


def _written(obj) -> str:
    """What :func:`dreamrg.cache.write_json_atomic` writes for ``obj``."""
    buf = io.StringIO()
    json.dump(obj, buf, indent=1, sort_keys=True, default=str)
    return buf.getvalue()


def _entry(root: Path, name: str) -> Path:
    stage, stem = name.split("/")
    (path,) = [p for p in (root / stage).iterdir() if p.name.rsplit("-", 1)[0] == stem]
    return path


@pytest.fixture
def recorded_cache(tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(RECORDED, root)
    monkeypatch.setenv("DREAMRG_DATA", str(root))
    return root


MC_DERIVED = [name for name, _, _ in CALLS if "/mc-" in name]


def _without_chains(monkeypatch):
    """MC parameters as they were hashed before chains spanned chunks (no ``chains`` key; mc version 3)."""
    real = MCParams.store_meta
    monkeypatch.setattr(MCParams, "store_meta", lambda self: {k: v for k, v in real(self).items() if k != "chains"})


def test_mc_derived_entries_are_recomputed_since_chains_span_chunks(recorded_cache):
    """Results from MC stores are keyed by the store's parameters, which now name the chains: the
    configurations changed (mc 3 -> 4), so these entries are misses (and the others still hit)."""
    assert cache.STAGE_VERSIONS["mc"] == 4 and MCParams(L=8).store_meta()["chains"] == 64
    params = MCParams(L=8, seed=11)
    key = cache.key("observables", params.store_meta() | {"n_configs": 300})
    assert _entry(recorded_cache, "observables/mc-L8-sw").name != f"mc-L8-sw-{key}"
    assert len(MC_DERIVED) == 5


def test_old_cache_entries_are_hits_and_come_back_typed_with_the_same_bytes(recorded_cache, monkeypatch):
    """Under the recorded stage versions every recorded entry is found and written back byte for byte.

    The mcrg stage was bumped on purpose (2 -> 3) when the tie-breaks became seeded per chunk
    (new numbers): today's keys are new entries, the key recipes are those of the recorded ones.
    """
    _without_chains(monkeypatch)  # the MC-derived entries under their recorded keys
    assert cache.STAGE_VERSIONS["mcrg"] == 3
    params = MCParams(L=16, seed=11).store_meta() | {"n_configs": 600, "levels": 1, "n_bins": 32}
    assert f"mc-L16-{cache.key('mcrg', params)}" != _entry(recorded_cache, "mcrg/mc-L16").name
    monkeypatch.setitem(cache.STAGE_VERSIONS, "mcrg", 2)
    assert f"mc-L16-{cache.key('mcrg', params)}" == _entry(recorded_cache, "mcrg/mc-L16").name
    before = {p: p.read_bytes() for p in recorded_cache.rglob("*") if p.is_file()}
    for name, call, encode in CALLS:
        result = call()
        assert type(result) is TYPES[name], name
        text = _written((encode or (lambda r: r.to_dict()))(result))
        assert text == (_entry(recorded_cache, name) / "result.json").read_text(), name
    after = {p: p.read_bytes() for p in recorded_cache.rglob("*") if p.is_file()}
    assert after == before                                  # every call was a hit: nothing computed or written


def test_store_and_ensemble_recipes_keep_their_keys(recorded_cache, monkeypatch):
    """The cached MC stores and dreamed ensembles keep their key recipes (the parameters hashed).

    Their stage versions were bumped on purpose when stores and ensembles gained per-chunk
    checksums (mc 2 -> 3, ensembles 1 -> 2: new bytes on disk, same configurations) and when
    chains came to span chunks (mc 3 -> 4, and ``chains`` among the parameters: other
    configurations), so today's keys differ from the recorded entries; under the recorded
    versions (and without ``chains``) the same parameters give exactly the recorded entry names.
    """
    assert cached_store.__module__ == "dreamrg.runs.mc"
    assert cached_ensemble.__module__ == "dreamrg.runs.ensembles"
    recorded = {p.name for stage in ("mc", "ensembles") for p in (recorded_cache / stage).iterdir()}
    # prefix_levels (0: no prefix model) came later and is left out of the keys when 0 (dreamrg.dream.dream_key)
    ens_key = {k: v for k, v in asdict(DREAM).items() if k != "prefix_levels"} | {"model_id": "026ebc9f4a8b9b81"}

    def names():
        return {f"L{p.L}-sw-{cache.key('mc', p.store_meta())}" for p in (MCParams(L=8, seed=11), MCParams(L=16, seed=11))} | \
            {f"SymmetricUpscaler-026ebc9f4a8b9b81-n5-{cache.key('ensembles', ens_key)}"}

    assert cache.STAGE_VERSIONS["mc"] == 4 and cache.STAGE_VERSIONS["ensembles"] == 2
    assert not names() & recorded                  # the bump gives new entries, stores are rebuilt in the new format
    _without_chains(monkeypatch)
    monkeypatch.setitem(cache.STAGE_VERSIONS, "mc", 2)
    monkeypatch.setitem(cache.STAGE_VERSIONS, "ensembles", 1)
    assert names() == recorded                      # ...from the same parameters as before


def test_results_come_back_with_their_types():
    mc = summaries.MCSummary.from_dict(json.loads((_entry(RECORDED, "observables/mc-L8-sw") / "result.json").read_text()))
    assert isinstance(mc, SizeSummary) and mc.L == 8 and mc.n == 300 and isinstance(mc.chi, Estimate)
    assert isinstance(mc.hist, MHistogram) and sum(mc.hist.counts) <= 300 and mc.tau_int_m2.value > 0
    assert mc.size_summary() == SizeSummary.from_dict(mc.to_dict())
    dr = summaries.DreamSummary.from_dict(
        json.loads((_entry(RECORDED, "observables/dream-026ebc9f4a8b9b81") / "result.json").read_text()))
    assert sorted(dr.sizes) == [2, 4, 8, 16, 32] and set(dr.exponents) == {(8, 2), (16, 4), (32, 8)}
    assert isinstance(dr.exponents[(32, 8)], PairExponents) and dr.exponents[(32, 8)].gamma_nu.error > 0
    run = rmcrg.MCRGRun.from_dict(json.loads((_entry(RECORDED, "mcrg/mc-L16") / "result.json").read_text()))
    (step,) = run
    assert (step.L_fine, step.L_coarse, step.n_configs) == (16, 8, 600) and abs(step.y_h - 1.875) < 0.03
    assert step.odd.operators == tuple(range(11)) and len(step.even.y) == 25
    assert [s[:2] for s in step.spectrum[:2]] == [(step.y_h, "odd"), (step.y_t, "even")]


def test_round_trips():
    est = Estimate(1.5, 0.25)
    s = SizeSummary(L=4, n=10, chi=est, c_me=est, c=est, U4=est, abs_m=est, e=Estimate(-1.0, 0.1, tau=0.5),
                    tau_int_m2=Estimate(0.5, 0.01), hist=MHistogram((0.0, 1.0, 2.0), (3, 4), 0.125))
    m = summaries.MCSummary(**{f: getattr(s, f) for f in s.__dataclass_fields__}, seconds=1.5,
                            params={"L": 4, "n_configs": 10})
    d = summaries.DreamSummary(sizes={4: s, 8: s.size_summary()},
                               exponents={(8, 2): PairExponents(est, Estimate(1.0, 0.5))}, seconds=2.0, n=10)
    ill = rmcrg.IllConditioned("odd sector: singular", 0.5)
    trunc = rmcrg.Truncation(0, 16, 8, 1, 2, 1.88, 0.01, 0.9, 0.05, -1.9, 0.2)
    for x in (s, m, d, ill, rmcrg.IllConditioned("x"), trunc, rmcrg.TruncationScan((trunc,)),
              PairExponents(est, est), ModelId("authors", 2, 3, True, 32, 1_000_000)):
        assert type(x).from_dict(json.loads(json.dumps(x.to_dict()))) == x, type(x).__name__
    assert "tau_int_e" not in s.to_dict() and s.to_dict()["e"] == {"value": -1.0, "error": 0.1, "tau": 0.5}
    assert set(m.to_dict()) == set(s.to_dict()) | {"seconds", "params"}
    assert set(d.to_dict()["exponents"]) == {"8,2"} and set(d.to_dict()["sizes"]) == {"4", "8"}
    # results holding arrays (MCRG) compare through their JSON
    for name in ("mcrg/mc-L16", "mcrg/mc-irreps-L16", "mcrg/dream-026ebc9f4a8b9b81"):
        rows = json.loads((_entry(RECORDED, name) / "result.json").read_text())
        x = TYPES[name].from_dict(rows)
        assert type(x).from_dict(x.to_dict()).to_dict() == x.to_dict() == rows


def test_a_fresh_result_equals_the_cached_one(tmp_path, monkeypatch):
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return rmcrg.TruncationScan((rmcrg.Truncation(0, 16, 8, 1, 1, np.float64(1.88), 0.01, 0.9, 0.05,
                                                      math.nan, math.nan),))

    fresh = cache.cached("mcrg", "t", {"a": 1}, compute, rmcrg.TruncationScan.from_dict)
    again = cache.cached("mcrg", "t", {"a": 1}, compute, rmcrg.TruncationScan.from_dict)
    assert calls == [1] and _written(fresh.to_dict()) == _written(again.to_dict())
    assert math.isnan(fresh.rows[0].omega) and math.isnan(again.rows[0].omega)
    assert type(fresh.rows[0].y_h) is float and fresh.rows[0].y_h == again.rows[0].y_h == 1.88


def test_model_labels_are_the_papers():
    def mid(source="ours", depth=1, k=3, weighted=False, method="adamw"):
        return ModelId(source, depth, k, weighted, 32, 1_000_000, method)

    assert [m.label for m in (mid(), mid(weighted=True), mid("authors"), mid(depth=2, k=7, weighted=True),
                              mid("authors", 2, 3, True), mid(method="exact"))] == \
        ["k=3", "k=3, w.", "authors k=3", "2-layer k=7, w.", "authors 2-layer k=3, w.", "exact k=3"]
    assert mid("authors", weighted=True).paper_row == "k=3, w."
    assert len({mid(), mid(), mid(k=5)}) == 2 and sorted([mid(k=5), mid("authors"), mid()])[0] == mid("authors")
    with pytest.raises(ValueError, match="source"):
        mid("theirs")
    with pytest.raises(ValueError, match="depth"):
        mid(depth=3)


def test_mcrg_conventions_enter_the_key_only_when_not_default(recorded_cache):
    """The default basis and boundary, named or not, hit the recorded entries; any other gets its own entry."""
    from dreamrg import conventions, experiments

    default = rmcrg.mc_mcrg(16, 600, 11, levels=1)  # today's versions (mc 4, mcrg 3): one new entry
    before = {p.name for p in (recorded_cache / "mcrg").iterdir()}
    named = rmcrg.mc_mcrg(16, 600, 11, levels=1, basis="symmetrised", boundary="periodic")
    assert {p.name for p in (recorded_cache / "mcrg").iterdir()} == before
    assert named.to_dict() == default.to_dict()
    assert rmcrg._convention("symmetrised", "periodic") == ({}, "")
    assert rmcrg._convention("authors", "open") == ({"basis": "authors", "boundary": "open"}, "-authors-open")
    with pytest.raises(ValueError, match="allowed: symmetrised, oriented, authors"):
        rmcrg.mc_mcrg(16, 600, 11, levels=1, basis="classes")
    theirs = rmcrg.mc_mcrg(16, 600, 11, levels=1, basis="authors")
    new = {p.name for p in (recorded_cache / "mcrg").iterdir()} - before
    assert len(new) == 1 and new.pop().startswith("mc-L16-authors-")
    assert theirs[0].basis == "authors" and default[0].basis == "symmetrised"
    assert len(theirs[0].even.y) == 24 and theirs[0].y_h != default[0].y_h
    again = rmcrg.mc_mcrg(16, 600, 11, levels=1, basis="authors")
    assert again.to_dict() == theirs.to_dict()
    # a convention reading a step the profile does not compute is one clear error
    with pytest.raises(ValueError, match="reads blocking step 2"):
        experiments.mcrg_mc("smoke", conventions.PAPER_TABLE_III)


def test_conventions_are_named_once_and_valid():
    from dreamrg import conventions, mcrg

    for c in conventions.CONVENTIONS.values():
        assert c.basis in mcrg.BASES and c.boundary in mcrg.BOUNDARIES
        assert conventions.convention(c.name) is c
    assert (conventions.PAPER_TABLE_III.step, conventions.PAPER_TABLE_IV_DREAMED.step) == (2, 1)
    assert conventions.PAPER_TABLE_IV_DREAMED.basis == "authors" and conventions.OURS.step is None
    assert conventions.PAPER_TABLE_III.level == 1 and conventions.OURS.levels_needed(2) == 2
    with pytest.raises(ValueError, match="allowed: ours, paper-table-iii"):
        conventions.convention("paper")
    with pytest.raises(ValueError, match="step"):
        conventions.Convention("x", "symmetrised", "periodic", 0, "")


def test_dreamed_conventions_in_one_pass_equal_the_single_analyses(tmp_path, monkeypatch):
    """One pass of dreaming for several bases gives each basis's single-pass numbers, under the same entries."""
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path))
    params = DreamParams(n_up=4, seed=2, batch_size=100)
    both = rmcrg.dreamed_mcrg_conventions(K3, params, 300, [("symmetrised", "periodic"), ("authors", "periodic")],
                                          seed=1, n_bins=8)
    entries = sorted(p.name.rsplit("-", 1)[0] for p in (tmp_path / "mcrg").iterdir())
    assert entries == ["dream-026ebc9f4a8b9b81", "dream-026ebc9f4a8b9b81-authors"]
    for (basis, boundary), joint in both.items():
        single = rmcrg.dreamed_mcrg(K3, params, 300, seed=1, n_bins=8, basis=basis, boundary=boundary)
        assert joint.result.to_dict() == single.result.to_dict() and joint.result.basis == basis
    # the singles were cache hits; computed alone they give the same numbers
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "alone"))
    alone = rmcrg.dreamed_mcrg(K3, params, 300, seed=1, n_bins=8, basis="authors")
    assert alone.result.to_dict() == both[("authors", "periodic")].result.to_dict()


def test_parent_lattice_analysis(tmp_path, monkeypatch):
    from dreamrg import dream

    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path))
    params = DreamParams(n_up=4, seed=2, batch_size=100)
    pairs = list(dream.iter_parent_child_batches(K3, params, 250))
    assert [p.shape for p, _ in pairs] == [(100, 8, 8), (100, 8, 8), (50, 8, 8)]
    assert all(c.shape == (len(p), 16, 16) for p, c in pairs)
    again = list(dream.iter_parent_child_batches(K3, params, 250))
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(pairs, again))
    r = rmcrg.dreamed_parent_mcrg(K3, params, 250, n_bins=5)
    assert (r.result.L_fine, r.result.L_coarse, r.result.n_configs) == (16, 8, 250)
    assert rmcrg.dreamed_parent_mcrg(K3, params, 250, n_bins=5).to_dict() == r.to_dict()
    assert [p.name.rsplit("-", 1)[0] for p in (tmp_path / "mcrg").iterdir()] == ["dream-parent-026ebc9f4a8b9b81"]
    with pytest.raises(ValueError, match="random start"):
        next(dream.iter_parent_child_batches(K3, DreamParams(n_up=1), 10))


def test_streamed_mc_mcrg_equals_mc_mcrg_and_reports_a_partial_run(tmp_path, monkeypatch):
    """mc_mcrg_streamed: the numbers of mc_mcrg (same MC run and tie-breaks, none stored), its own entry; before it
    finishes, its status is the progress of its checkpoints, read without computing or creating anything."""
    from dreamrg.mcrg import StreamProgress, streaming
    from dreamrg.runs.inventory import inventory

    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path))
    assert rmcrg.mc_mcrg_streamed_status(16, 1500, 11, 1) is None and not (tmp_path / "mcrg").exists()
    real, calls = streaming.accumulate_chunk_conventions, []

    def dying(configs, chunk, **kw):
        calls.append(chunk)
        if len(calls) == 2:
            raise KeyboardInterrupt  # a sitting ends after the first chunk
        return real(configs, chunk, **kw)

    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", dying)
    monkeypatch.setattr(streaming, "accumulate_mc", _with_checkpoints_every_chunk(streaming.accumulate_mc))
    with pytest.raises(KeyboardInterrupt):
        rmcrg.mc_mcrg_streamed(16, 1500, 11, 1, progress=False)
    status = rmcrg.mc_mcrg_streamed_status(16, 1500, 11, 1)
    assert isinstance(status, StreamProgress) and (status.configs, status.n_configs, status.done) == (1024, 1500, False)
    run = rmcrg.mc_mcrg_stream_dir(16, 1500, 11, 1)
    assert run.is_dir() and [r["progress"] for r in inventory(["mcrg"])] == \
        ["streaming: 1024 of 1500 configurations (1 of 2 chains done)"]
    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", real)
    streamed = rmcrg.mc_mcrg_streamed(16, 1500, 11, 1, progress=False)
    stored = rmcrg.mc_mcrg(16, 1500, 11, levels=1)
    assert [r.to_dict() for r in streamed] == [r.to_dict() for r in stored]
    assert rmcrg.mc_mcrg_streamed_status(16, 1500, 11, 1).to_dict() == streamed.to_dict()
    assert streamed.ms_mc_per_config > 0 and rmcrg.mc_mcrg_streamed(16, 1500, 11, 1).to_dict() == streamed.to_dict()


def _with_checkpoints_every_chunk(fn):
    return lambda *a, **kw: fn(*a, **kw | {"checkpoint_seconds": 0})


def test_streamed_mc_mcrg_is_carried_to_a_machine_without_its_data(tmp_path, monkeypatch):
    """With ``carry``, a sitting on a new machine (an empty data directory) sees the carried progress, and a carry
    that holds every chain gives the run's result without any Monte Carlo."""
    from dreamrg.mcrg import StreamProgress, streaming

    carry = tmp_path / "carry"
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "first"))
    real, calls = streaming.accumulate_chunk_conventions, []

    def dying(configs, chunk, **kw):
        calls.append(chunk)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the sitting ends: chain 0 is finished, chain 1 is not
        return real(configs, chunk, **kw)

    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", dying)
    with pytest.raises(KeyboardInterrupt):
        rmcrg.mc_mcrg_streamed(16, 1500, 11, 1, progress=False, carry=carry)
    assert sorted(p.name for p in (carry / "chains").iterdir()) == ["0.npz"]  # exported as the run stopped
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "second"))  # the next sitting, on a new machine
    status = rmcrg.mc_mcrg_streamed_status(16, 1500, 11, 1, carry=carry)
    assert isinstance(status, StreamProgress) and (status.configs, status.chains_done) == (1024, 1)
    assert rmcrg.mc_mcrg_streamed_status(16, 1500, 11, 1) is None  # without the carry, nothing is known here
    calls.clear()
    monkeypatch.setattr(streaming, "accumulate_chunk_conventions", lambda configs, chunk, **kw: (calls.append(chunk),
                                                                                      real(configs, chunk, **kw))[1])
    streamed = rmcrg.mc_mcrg_streamed(16, 1500, 11, 1, progress=False, carry=carry)
    assert calls == [1]  # only chain 1's chunk is computed
    assert [r.to_dict() for r in streamed] == [r.to_dict() for r in rmcrg.mc_mcrg(16, 1500, 11, levels=1)]
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "third"))  # a third machine: the carry is complete
    calls.clear()
    assert rmcrg.mc_mcrg_streamed_status(16, 1500, 11, 1, carry=carry).to_dict() == streamed.to_dict()
    assert calls == []  # reduced from the carried chains, no Monte Carlo


def test_streamed_runs_take_large_chunks_above_L_256():
    """Up to L = 256 a streamed run is the stored run (same chunks); above, its chunks hold 2^29 spins, so a chain
    checkpoints and carries a few accumulator pieces (4 at L = 1024, 10^5 configurations), not one per 16 configs."""
    from dreamrg import mc
    from dreamrg.store import default_chunk_size

    assert [rmcrg.stream_chunk_size(L) for L in (16, 256)] == [default_chunk_size(16), default_chunk_size(256)]
    assert (rmcrg.stream_chunk_size(512), rmcrg.stream_chunk_size(1024), default_chunk_size(1024)) == (2048, 512, 16)
    params = mc.MCParams(L=1024, seed=2024, chunk_size=rmcrg.stream_chunk_size(1024))
    assert max(len(w.chunks) for w in mc.plan(params, 100_000)) == 4
    assert rmcrg.mc_mcrg_stream_name(1024, 100_000, 2024, 2) != rmcrg.mc_mcrg_stream_name(256, 100_000, 2024, 2)


def test_training_store_paths_are_named_without_computing(tmp_path, monkeypatch):
    """experiments.mc_training_store_paths names the entries mc_training_stores fills, creating nothing: the Monte
    Carlo chapter's table of training sets costs nothing when the models are cached (or carried)."""
    from dreamrg import experiments as ex

    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path))
    named = ex.mc_training_store_paths("smoke")
    assert not any(tmp_path.iterdir())
    assert ex.mc_training_stores("smoke") == named


def test_a_validation_loss_is_cached_by_the_models_id(tmp_path, monkeypatch):
    """runs.models.validation_loss equals train.evaluate_loss on the validation set and is not evaluated again (nor
    its store made again) once cached, e.g. for a model carried from another machine."""
    from dreamrg import train
    from dreamrg.runs.mc import training_sets
    from dreamrg.runs.models import validation_loss

    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path))
    model = models.SymmetricUpscaler(3)
    got = validation_loss(model, 8, 100, 5, weighted=True, seed=2, batch=50)
    _, valid = training_sets(8, 100, 5)
    assert got == train.evaluate_loss(model, valid, 20, weighted=True, seed=2, batch=50)
    monkeypatch.setattr(train, "evaluate_loss", lambda *a, **k: pytest.fail("evaluated again"))
    import shutil

    shutil.rmtree(tmp_path / "mc")
    assert validation_loss(model, 8, 100, 5, weighted=True, seed=2, batch=50) == got
    assert not (tmp_path / "mc").exists()
