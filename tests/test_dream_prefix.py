"""A prefix model for the first upscalings (the authors' small-lattice start): bits, metadata, refusals, defaults."""

import hashlib

import numpy as np
import pytest

from dreamrg import cache, dream, experiments, models, released, sampler
from dreamrg.conditioned import ConditionedUpscaler
from dreamrg.conventions import OURS, PAPER_TABLE_IV_DREAMED
from dreamrg.experiments.mcrg import _dream_start

K3 = models.SymmetricUpscaler(3, params=[0.1364, 0.1566, 0.3536])
K5 = models.SymmetricUpscaler(5, params=[0.05, 0.1, 0.02, 0.2, 0.03, 0.01][:len(models.kernel_orbits(5))])
KT = ConditionedUpscaler(3, 1, np.array([[0.13, 0.16, 0.36], [0.15, 0.27, 0.18]]), t_range=(-0.1, 0.1))


def _digest(b) -> str:
    return hashlib.sha256(b.final.tobytes() + b.M.tobytes() + b.E.tobytes()).hexdigest()[:16]


def test_default_key_and_bits_are_those_before_the_option():
    """Pinned with the code before prefix_levels existed: no cache key, no ensemble metadata, no bit changes."""
    p = dream.DreamParams(n_up=3, seed=5, batch_size=50)
    assert "prefix_levels" not in dream.dream_key(K3, p)
    assert cache.key("ensembles", dream.dream_key(K3, p)) == "acf3129784b1"
    assert _digest(dream._batch(K5, dream.DreamParams(n_up=4, seed=5, batch_size=50), 50, 1, None)) \
        == "a1b15653e990b0cd"


def test_prefix_levels_are_drawn_by_the_prefix_then_the_main_model(tmp_path):
    p = dream.DreamParams(n_up=4, seed=7, batch_size=40, save_configs=True, prefix_levels=1)
    ens = dream.run(K5, p, 100, tmp_path / "a", prefix=K3, progress=False)
    again = dream.run(K5, p, 100, tmp_path / "b", prefix=K3, progress=False)
    assert np.array_equal(ens.configs(), again.configs())  # same seed, same bits
    streamed = np.concatenate(list(dream.iter_final_batches(K5, p, 100, prefix=K3)))
    assert np.array_equal(ens.configs(), streamed)
    # batch 1 by hand: its SeedSequence spawned into (prefix, main)
    ss_a, ss_b = np.random.SeedSequence(7, spawn_key=(1,)).spawn(2)
    a = sampler.dream_batch(K3, 40, 1, ss_a)
    b = sampler.dream_batch(K5, 40, 3, ss_b, L0=2, start=a.final)
    M = dream.open_ensemble(tmp_path / "a")._read(("M",), 40, 80)["M"]
    assert np.array_equal(M, np.concatenate([a.M, b.M[:, 1:]], axis=1))
    assert np.array_equal(ens.configs(40, 80), b.final)
    plain = dream.run(K5, dream.DreamParams(n_up=4, seed=7, batch_size=40, save_configs=True), 100,
                      tmp_path / "c", progress=False)
    assert not np.array_equal(plain.configs(), ens.configs())


def test_prefix_metadata_and_identity(tmp_path):
    p = dream.DreamParams(n_up=4, seed=7, batch_size=40, prefix_levels=2)
    meta = dream.run(K5, p, 40, tmp_path / "a", prefix=K3, progress=False).meta
    k3, k5 = dream.model_id(K3), dream.model_id(K5)
    assert (meta["prefix_levels"], meta["prefix_model_id"], meta["model_id"]) == (2, k3, k5)
    assert meta["level_models"] == [k3, k3, k5, k5] and meta["prefix_model_class"] == "SymmetricUpscaler"
    plain = dream.run(K5, dream.DreamParams(n_up=4, seed=7, batch_size=40), 40, tmp_path / "b", progress=False).meta
    assert not any(k.startswith("prefix") or k == "level_models" for k in plain)
    with pytest.raises(dream.EnsembleError, match="different metadata.*prefix_levels"):
        dream.run(K5, dream.DreamParams(n_up=4, seed=7, batch_size=40, prefix_levels=1), 40, tmp_path / "a",
                  prefix=K3, progress=False)
    with pytest.raises(dream.EnsembleError, match="different metadata.*prefix_model_id"):
        dream.run(K5, dream.DreamParams(n_up=4, seed=7, batch_size=40), 40, tmp_path / "a", progress=False)
    assert dream.dream_key(K5, p, K3)["prefix_model_id"] == k3


@pytest.mark.parametrize("levels, prefix, model, fragment", [
    (4, K3, K5, "0 ≤ prefix_levels < n_up = 4"),
    (1, None, K5, "go together"),
    (0, K3, K5, "go together"),
    (1, K5, K3, "wider than the main model's"),
    (1, "not a model", K5, "upscaler with a sample method"),
    (1, KT, K5, "prefix model cannot be combined with a temperature-conditioned"),
    (1, K3, KT, "prefix model cannot be combined with a temperature-conditioned"),
])
def test_bad_prefix_combinations_are_refused_before_writing(tmp_path, levels, prefix, model, fragment):
    with pytest.raises(ValueError, match=fragment):
        dream.run(model, dream.DreamParams(n_up=4, prefix_levels=levels), 10, tmp_path / "e", prefix=prefix,
                  progress=False)
    assert not (tmp_path / "e").exists()
    with pytest.raises(ValueError, match="prefix_levels must be an integer"):
        dream.DreamParams(n_up=3, prefix_levels=-1)


def test_cli_prefix_options(tmp_path, capsys):
    from dreamrg.cli import main

    models.save_model(tmp_path / "k5.json", K5, {})
    models.save_model(tmp_path / "k3.json", K3, {})
    base = ["dream", "--model", tmp_path / "k5.json", "--n-up", 3, "--n-configs", 20, "--seed", 1, "--no-progress"]
    for extra, fragment in ((["--prefix-levels", 1], "go together"),
                            (["--prefix-model", tmp_path / "k3.json"], "go together"),
                            (["--prefix-model", tmp_path / "k3.json", "--prefix-levels", 3], "< n_up = 3")):
        assert main([str(a) for a in base + extra + ["--out", tmp_path / "x"]]) == 2
        assert fragment in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    args = base + ["--prefix-model", tmp_path / "k3.json", "--prefix-levels", 1, "--out", tmp_path / "e"]
    assert main([str(a) for a in args]) == 0
    assert dream.open_ensemble(tmp_path / "e").meta["prefix_model_id"] == dream.model_id(K3)


def test_released_small_lattice_start():
    assert released.small_lattice_start("authors-k5") == ("authors-k3", 1)
    assert released.small_lattice_start("authors-k7w") == ("authors-k3w", 2)
    assert released.small_lattice_start("authors-k7-Lt128-M1e6") == ("authors-k3-Lt128-M1e6", 2)
    assert released.small_lattice_start("authors-k3") is None
    assert released.small_lattice_start("authors-2layer-k7") == ("authors-2layer-k3", 2)
    assert released.small_lattice_start("authors-2layer-k3w") is None
    for name, m in released.released_models().items():
        start = released.small_lattice_start(name)
        if start is not None:
            partner = released.released_model(start[0])
            assert (partner.depth, partner.k, partner.weighted, partner.L_t, partner.M) == \
                (m.depth, 3, m.weighted, m.L_t, m.M)


def test_table_iv_dreamed_convention_starts_the_authors_wide_kernels_with_k3():
    params = dream.DreamParams(n_up=7)
    k7w = experiments.ModelId("authors", 1, 7, True, 32, 1_000_000)
    how, prefix = _dream_start(k7w, PAPER_TABLE_IV_DREAMED, params)
    assert how.prefix_levels == 2
    assert dream.model_id(prefix) == dream.model_id(released.released_model("authors-k3w").model())
    assert _dream_start(k7w, OURS, params) == (params, None)
    for mid in (experiments.ModelId("authors", 1, 3, False, 32, 1_000_000),
                experiments.ModelId("ours", 1, 5, False, 32, 1_000_000)):
        assert _dream_start(mid, PAPER_TABLE_IV_DREAMED, params) == (params, None)
