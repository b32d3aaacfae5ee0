"""Mergeable MCRG: per-chunk accumulators, their reduce, per-chunk tie-breaks, serialisation (streaming from MC:
test_mcrg_streaming.py)."""

import io
import json
import random

import numpy as np
import pytest

from _mcrg_helpers import assert_identical
from dreamrg import mc, mcrg
from dreamrg.coarse import majority_rule
from dreamrg.store import open_store

N, C, BINS, LEVELS, SEED = 1900, 150, 8, 2, 5  # 13 chunks (the last one partial), bins of 237-238 across chunks


@pytest.fixture(scope="module")
def params():
    return mc.MCParams(L=16, seed=31, chunk_size=C)


@pytest.fixture(scope="module")
def store(tmp_path_factory, params):
    path = tmp_path_factory.mktemp("merge") / "L16"
    mc.run(params, N, path, progress=False)
    return path


@pytest.fixture(scope="module")
def parts(store):
    """The accumulators of every chunk of the store, in chunk order."""
    s = open_store(store).read()
    return [mcrg.accumulate_chunk(s[lo:lo + C], lo // C, chunk_size=C, n_total=N, levels=LEVELS, seed=SEED,
                                  n_bins=BINS) for lo in range(0, N, C)]


@pytest.fixture(scope="module")
def sequential(store):
    return mcrg.accumulate_store(store, levels=LEVELS, seed=SEED, n_bins=BINS, progress=False)


def test_reduce_of_chunks_equals_sequential(parts, sequential, store):
    assert len(parts) == 13 and parts[-1][0].count == N - 12 * C
    assert_identical(mcrg.reduce(parts), sequential)
    # the sums of a bin that spans chunks come from several pieces with different references
    assert len({tuple(p[0].to_arrays()["moments.f0"][0]) for p in parts}) > 1
    # a stream of odd-sized batches, cut into the same chunks, is the same accumulation
    s = open_store(store).read()
    batches = (s[lo:lo + 97] for lo in range(0, N, 97))
    assert_identical(mcrg.accumulate_batches(batches, levels=LEVELS, seed=SEED, n_total=N, n_bins=BINS,
                                             chunk_size=C), sequential)
    # ... and the results are today's MCRGResult per step
    res = mcrg.mcrg_from_store(store, levels=LEVELS, seed=SEED, n_bins=BINS, progress=False)
    assert [(r.L_fine, r.L_coarse, r.level, r.n_configs) for r in res] == [(16, 8, 0, N), (8, 4, 1, N)]
    assert json.dumps([r.to_dict() for r in res]) == json.dumps([a.result().to_dict() for a in sequential])


def test_reduce_is_order_and_grouping_independent(parts, sequential):
    rng = random.Random(4)
    for _ in range(3):
        shuffled = parts[:]
        rng.shuffle(shuffled)
        assert_identical(mcrg.reduce(shuffled), sequential)
    # a random tree: merge random groups, then merge the partial results in random order
    order = parts[:]
    rng.shuffle(order)
    cuts = sorted(rng.sample(range(1, len(order)), 4))
    groups = [mcrg.reduce(order[a:b]) for a, b in zip([0] + cuts, cuts + [len(order)])]
    rng.shuffle(groups)
    assert_identical(mcrg.reduce(groups), sequential)
    # the inputs are not changed by a reduce
    again = mcrg.reduce(parts)
    assert_identical(again, sequential)


def test_reduce_is_bit_identical_where_float_sums_round():
    """Operator values of ~1e9 make every product and sum inexact in float64: the order of the
    additions shows in the bits, and the fold in configuration order still makes the reduce exact."""
    rng = np.random.default_rng(12)
    n, chunk, bins = 1000, 64, 8
    f = rng.integers(-10**9, 10**9, size=(n, 36)) + 10**12
    c = rng.integers(-10**9, 10**9, size=(n, 36)) - 10**12

    def piece(lo):
        acc = mcrg.MCRGAccumulator(bins, n_expected=n)
        acc.add_operators(f[lo:lo + chunk], c[lo:lo + chunk], start=lo)
        return [acc]

    chunks = [piece(lo) for lo in range(0, n, chunk)]
    seq = mcrg.MCRGAccumulator(bins, n_expected=n)
    for lo in range(0, n, chunk):
        seq.add_operators(f[lo:lo + chunk], c[lo:lo + chunk])
    want = seq.to_arrays()
    order = random.Random(2)
    for _ in range(4):
        order.shuffle(chunks)
        got = mcrg.reduce(chunks)[0].to_arrays()
        assert all(np.array_equal(want[k], got[k]) for k in want)
    # the test can fail: at this size the float sums depend on how they were grouped (other chunk edges)
    assert np.abs(want["moments.cf"]).max() > 2**53
    other = mcrg.MCRGAccumulator(bins, n_expected=n)
    for lo in range(0, n, 50):
        other.add_operators(f[lo:lo + 50], c[lo:lo + 50])
    for x, y in zip(other.correlations(), seq.correlations()):
        assert not np.array_equal(x, y)
        np.testing.assert_allclose(x, y, rtol=1e-6)


def test_incomplete_reduce_refuses_a_result(parts):
    missing = mcrg.reduce(parts[:5] + parts[6:])
    assert missing[0].count == N - C
    with pytest.raises(ValueError, match="accumulated but n_expected"):
        missing[0].result()


def test_tie_breaks_are_seeded_per_chunk(store, parts):
    s = open_store(store).read()
    j = 3
    chunk = s[j * C:(j + 1) * C]
    # reproducible: the same chunk gives bit-identical accumulators
    assert_identical_moments = lambda a, b: all(np.array_equal(x, y) for x, y in
                                                zip(a.to_arrays().values(), b.to_arrays().values()))
    again = mcrg.accumulate_chunk(chunk, j, chunk_size=C, n_total=N, levels=LEVELS, seed=SEED, n_bins=BINS)
    assert all(assert_identical_moments(a, b) for a, b in zip(again, parts[j]))
    # the blocking of chunk j at level k uses SeedSequence(seed, spawn_key=(0x4D435247, k, j)) ...
    mu0, _ = majority_rule(chunk, np.random.default_rng(np.random.SeedSequence(SEED, spawn_key=(0x4D435247, 0, j))))
    mu1, _ = majority_rule(chunk, mcrg.tie_break_rng(SEED, 0, j))
    assert np.array_equal(mu0, mu1)
    acc = mcrg.MCRGAccumulator(BINS, n_expected=N)
    acc.add(chunk, mu0, start=j * C)
    assert all(np.array_equal(x, y) for x, y in zip(acc.to_arrays().values(), parts[j][0].to_arrays().values()))
    # ... so another chunk index (or seed) gives other tie-breaks on the same spins
    for other in (mcrg.tie_break_rng(SEED, 0, j + 1), mcrg.tie_break_rng(SEED + 1, 0, j),
                  mcrg.tie_break_rng(SEED, 1, j)):
        assert not np.array_equal(majority_rule(chunk, other)[0], mu0)
    # a partial last chunk blocks its configurations as the first ones of the full chunk
    short = mcrg.accumulate_chunk(chunk[:40], 0, chunk_size=C, n_total=40, levels=1, seed=SEED, n_bins=4)
    full_mu, _ = majority_rule(chunk[:40], mcrg.tie_break_rng(SEED, 0, 0))
    ref = mcrg.MCRGAccumulator(4, n_expected=40)
    ref.add(chunk[:40], full_mu)
    assert all(np.array_equal(x, y) for x, y in zip(ref.to_arrays().values(), short[0].to_arrays().values()))


def test_accumulate_chunk_checks_its_chunk(store):
    s = open_store(store).read(0, C)
    with pytest.raises(ValueError, match="holds 150 configurations; got 149"):
        mcrg.accumulate_chunk(s[:-1], 0, chunk_size=C, n_total=N)
    with pytest.raises(ValueError, match="beyond the"):
        mcrg.accumulate_chunk(s, 13, chunk_size=C, n_total=N)
    with pytest.raises(ValueError, match="chunk must be an integer"):
        mcrg.accumulate_chunk(s, -1, chunk_size=C, n_total=N)
    with pytest.raises(ValueError, match="cannot be blocked 2 times"):
        mcrg.accumulate_chunk(s[:, :8, :8], 0, chunk_size=C, n_total=N, levels=2)
    with pytest.raises(ValueError, match="nothing to reduce"):
        mcrg.reduce([])


def through_npz(arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def test_serialisation_round_trip(parts, sequential):
    for accs in (sequential, parts[4], mcrg.reduce(parts[7:] + parts[:2])):  # whole, one chunk, with pending pieces
        back = [mcrg.MCRGAccumulator.from_arrays(through_npz(a.to_arrays())) for a in accs]
        for a, b in zip(accs, back):
            assert (b.count, b.level, b.basis, b.n_bins, b.n_expected, b.L_fine, b.L_coarse) == \
                (a.count, a.level, a.basis, a.n_bins, a.n_expected, a.L_fine, a.L_coarse)
            xa, xb = a.to_arrays(), b.to_arrays()
            assert all(np.array_equal(xa[k], xb[k]) for k in xa)
    # a restored partial reduce goes on merging to the same result
    partial = [mcrg.MCRGAccumulator.from_arrays(through_npz(a.to_arrays())) for a in mcrg.reduce(parts[7:])]
    assert_identical(mcrg.reduce([partial] + parts[:7]), sequential)
    # damaged or foreign arrays: one clear error
    arrays = sequential[0].to_arrays()
    with pytest.raises(ValueError, match="missing"):
        mcrg.MCRGAccumulator.from_arrays({k: v for k, v in arrays.items() if k != "moments.cf"})
    bad = dict(arrays) | {"moments.cc": arrays["moments.cc"][:, :3]}
    with pytest.raises(ValueError, match="'cc' has shape"):
        mcrg.MCRGAccumulator.from_arrays(bad)
    with pytest.raises(ValueError, match="format"):
        mcrg.MCRGAccumulator.from_arrays(arrays | {"header": arrays["header"][:3]})
    dup = {k: (np.concatenate([v, v[:1]]) if k.startswith("moments.") else v) for k, v in arrays.items()}
    with pytest.raises(ValueError, match="added twice"):
        mcrg.MCRGAccumulator.from_arrays(dup)
    with pytest.raises(ValueError, match="n_expected"):
        mcrg.MCRGAccumulator(4).to_arrays()


def test_merge_refuses_incompatible_accumulators(store, parts):
    s = open_store(store).read(0, 2 * C)
    base = parts[0][0]
    others = {
        "level": parts[1][1],
        "basis": mcrg.accumulate_chunk(s[C:], 1, chunk_size=C, n_total=N, n_bins=BINS, seed=SEED,
                                       basis="oriented")[0],
        "n_bins": mcrg.accumulate_chunk(s[C:], 1, chunk_size=C, n_total=N, n_bins=BINS + 1, seed=SEED)[0],
        "n_expected": mcrg.accumulate_chunk(s[C:], 1, chunk_size=C, n_total=N + 1, n_bins=BINS, seed=SEED)[0],
        "L_fine": mcrg.accumulate_chunk(s[C:, :8, :8], 1, chunk_size=C, n_total=N, n_bins=BINS, seed=SEED)[0],
    }
    before = base.to_arrays()
    for what, other in others.items():
        with pytest.raises(mcrg.IncompatibleAccumulators, match=f"different analyses: .*{what}") as exc:
            base.copy().merge(other)
        assert isinstance(exc.value, ValueError)
    # the same chunk twice, or overlapping chunks: refused, and the accumulator is left as it was
    target = mcrg.reduce([parts[0], parts[2]])[0]
    kept = target.to_arrays()
    with pytest.raises(mcrg.IncompatibleAccumulators, match="added twice"):
        target.merge(parts[2][0])
    with pytest.raises(mcrg.IncompatibleAccumulators, match="added twice"):
        target.merge(mcrg.reduce([parts[1], parts[2]])[0])  # chunk 1 is new, chunk 2 is not: nothing is taken
    overlap = mcrg.MCRGAccumulator(BINS, n_expected=N)
    ops = mcrg.operators(s[:20])
    overlap.add_operators(ops, ops, start=C - 10)  # configurations 140..159: the end of chunk 0 and more
    with pytest.raises(mcrg.IncompatibleAccumulators, match="140..149 were added twice"):
        target.merge(overlap)
    # adding configurations that overlap in their second bin adds none of them
    ops = mcrg.operators(s[:120])
    with pytest.raises(ValueError, match="300..319 were added twice"):
        target.add_operators(ops, ops, start=200)  # 200..236 in bin 0 are free, 237..319 in bin 1 reach chunk 2
    assert target.count == 2 * C and all(np.array_equal(kept[k], target.to_arrays()[k]) for k in kept)
    assert all(np.array_equal(kept[k], target.to_arrays()[k]) for k in kept)
    with pytest.raises(mcrg.IncompatibleAccumulators, match="blocking steps"):
        mcrg.reduce([parts[0], parts[1][:1]])
    with pytest.raises(mcrg.IncompatibleAccumulators, match="without n_expected"):
        mcrg.MCRGAccumulator(BINS).merge(base)
    assert all(np.array_equal(before[k], base.to_arrays()[k]) for k in before)
