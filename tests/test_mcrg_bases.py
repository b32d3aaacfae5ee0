"""Tests of the MCRG operator bases (symmetrised, oriented, authors') and boundaries (periodic, open)."""

import numpy as np
import pytest

from dreamrg import mcrg
from dreamrg.coarse import majority_rule
from dreamrg.mcrg import spin_operators


def random_spins(rng, n, L, p_up=0.5):
    return np.where(rng.random((n, L, L)) < p_up, 1, -1).astype(np.int8)


# --------------------------------------------------------------------------
# the authors' basis
# --------------------------------------------------------------------------
#: The authors' 36 products transcribed by hand from their code's index -> product assignment, in their
#: notation: "s" the lattice, "i<a>j<b>" the lattice rolled forward by a rows and b columns (the spin at
#: (y - a, x - b)). Written independently of dreamrg.mcrg.authors_basis.
HAND = (
    "s", "s i1j0", "s i1j1", "s i2j0", "s i1j2", "s i2j2",
    "s i1j1 i0j1", "s i0j1 i0j2", "s i0j1 i1j2", "s i0j1 i2j1", "s i0j1 i2j2",
    "s i1j1 i0j2", "s i1j1 i2j2", "s i1j2 i2j1", "s i2j0 i1j2", "s i0j2 i2j2",
    "s i1j0 i0j1 i1j1", "s i0j1 i1j1 i1j2", "s i0j1 i0j2 i1j2", "s i1j0 i0j2 i1j2", "s i0j1 i1j2 i2j2",
    "s i1j0 i1j2 i2j2", "s i0j1 i0j2 i1j1", "s i1j0 i0j1 i1j2", "s i0j1 i1j1 i2j2", "s i0j1 i2j1 i1j2",
    "s i1j1 i1j2 i2j1", "s i1j0 i0j1 i2j2", "s i0j1 i0j2 i2j2", "s i0j1 i0j2 i2j1", "i1j0 i0j1 i2j1 i1j2",
    "s i0j2 i1j1 i2j1", "s i1j0 i0j1 i1j1", "s i1j0 i0j2 i2j1", "s i0j2 i1j1 i2j2", "s i2j0 i0j2 i2j2",
)

#: Four fixed 4x4 configurations: every spin up except those on one line of the torus, which point down.
#: On them a product whose sites project onto the line's residues r_i (mod 4) sums to
#: 4 * sum over v in Z_4 of (-1)^#{i: r_i = v} -- worked out by hand from that rule for each product
#: (e.g. "s i1j0" on the column: both sites in the same column, 4 * 4 = 16; on the row: 0).
LINES = {"column": lambda y, x: x, "row": lambda y, x: y, "diagonal": lambda y, x: y - x,
         "antidiagonal": lambda y, x: y + x}
HAND_VALUES = {
    "column": [8, 16, 0, 16, 0, 0, 8, -8, -8, 8, -8, -8, -8, -8, 8, 8, 16, 0, 0, 16, 0, 16, 0, 0, 0, 0, 0, 0,
               0, 0, 0, 0, 16, 0, 0, 16],
    "row": [8, 0, 0, 0, 0, 0, 8, 8, 8, 8, 8, 8, -8, -8, -8, 8, 16, 16, 0, 16, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0,
            16, 0, 0, 16],
    "diagonal": [8, 0, 16, 0, 0, 16, 8, -8, 8, -8, 8, 8, 8, -8, -8, 8, 0, 16, 0, -16, 16, 0, 0, 0, 0, 0, 0, 0, 0,
                 -16, 16, 0, 0, 0, 0, 16],
    "antidiagonal": [8, 0, 0, 0, 0, 16, -8, -8, -8, -8, 8, 8, 8, 8, -8, 8, 0, -16, -16, -16, 0, 0, 0, 0, 0, 0, 0,
                     16, 0, -16, 16, 0, 0, -16, 16, 16],
}


def _hand_offsets(text):
    out = []
    for name in text.split():
        if name == "s":
            out.append((0, 0))
        else:
            a, b = name.removeprefix("i").split("j")
            out.append((-int(a), -int(b)))
    return tuple(out)


def test_authors_basis_is_the_hand_enumerated_list():
    assert mcrg.AUTHORS_OFFSETS == tuple(_hand_offsets(t) for t in HAND)
    b = mcrg.get_basis("authors")
    assert b.n_ops == 36 and b.labels[0] == "a0"
    # index 32 repeats index 16 (the 2x2 plaquette), and is left out of the T solve
    assert mcrg.AUTHORS_DUPLICATES == {32: 16}
    assert spin_operators._normalise(mcrg.AUTHORS_OFFSETS[32]) == spin_operators._normalise(mcrg.AUTHORS_OFFSETS[16])
    assert 32 not in b.even and 16 in b.even and len(b.odd) == 11 and len(b.even) == 24
    # one orientation of every class but one; the missing class is the stated one
    classes = [spin_operators._canonical(o) for o in mcrg.AUTHORS_OFFSETS]
    assert {op.sites for op in mcrg.OPERATORS} - set(classes) == {mcrg.AUTHORS_MISSING_CLASS}
    assert len(set(classes)) == 35
    # single orientations, not symmetrised: the vertical pair, not the horizontal one
    assert spin_operators._normalise(mcrg.AUTHORS_OFFSETS[1]) == ((0, 0), (1, 0))


@pytest.mark.parametrize("line", list(LINES))
def test_authors_basis_hand_values_on_4x4(line):
    f = LINES[line]
    sigma = np.array([[-1 if f(y, x) % 4 == 0 else 1 for x in range(4)] for y in range(4)], dtype=np.int8)
    want = np.array(HAND_VALUES[line])
    assert np.array_equal(mcrg.operators(sigma, basis="authors"), want)
    assert np.array_equal(mcrg.operators_reference(sigma, basis="authors"), want)
    # the column and row configurations tell the two orientations of a pair apart
    assert HAND_VALUES["column"][1] != HAND_VALUES["row"][1]


# --------------------------------------------------------------------------
# kernel paths against the plain reference
# --------------------------------------------------------------------------
@pytest.mark.parametrize("basis", list(mcrg.BASES))
@pytest.mark.parametrize("boundary", mcrg.BOUNDARIES)
@pytest.mark.parametrize("L", [3, 4, 5, 8, 13, 64, 65])
def test_every_basis_and_boundary_matches_reference(basis, boundary, L):
    rng = np.random.default_rng(1000 + L)
    s = np.concatenate([random_spins(rng, 3, L), random_spins(rng, 1, L, p_up=0.9)])
    ref = mcrg.operators_reference(s, basis=basis, boundary=boundary)
    assert ref.shape == (len(s), mcrg.get_basis(basis).n_ops)
    for threads in (1, 2):
        assert np.array_equal(mcrg.operators(s, threads=threads, basis=basis, boundary=boundary), ref)
    assert np.array_equal(mcrg.operators(s[0], basis=basis, boundary=boundary), ref[0])


def test_open_boundary_counts_only_products_inside():
    L = 7
    up = np.ones((L, L), dtype=np.int8)
    for basis in mcrg.BASES:
        b = mcrg.get_basis(basis)
        dy, dx, k, col = b.terms
        want = np.zeros(b.n_ops, dtype=np.int64)
        for t in range(len(k)):
            want[col[t]] += (L - dy[t, :k[t]].max()) * (L - dx[t, :k[t]].max())
        assert np.array_equal(mcrg.operators(up, basis=basis, boundary="open"), want)
    # a down spin in the corner touches only the products anchored next to it; periodic sums see it k times
    s = up.copy()
    s[0, 0] = -1
    periodic = mcrg.operators(s, basis="authors")
    assert periodic[0] == L * L - 2 and periodic[1] == L * L - 4
    opened = mcrg.operators(s, basis="authors", boundary="open")
    assert opened[0] == L * L - 2 and opened[1] == (L - 1) * L - 2  # the pair (0,0),(1,0) anchored at (0,0)


def test_symmetrised_equals_oriented_on_the_rotation_closed_subspace():
    """The class sums are sums of oriented operators: 𝒯 of the oriented correlations restricted to their span
    has exactly the symmetrised spectrum (no averaging over the lattice group needed)."""
    rng = np.random.default_rng(3)
    p_up = rng.uniform(0.3, 0.7, size=(600, 1, 1))   # a magnetisation per configuration: correlated operators
    fine = np.where(rng.random((600, 16, 16)) < p_up, 1, -1).astype(np.int8)
    coarse, _ = majority_rule(fine, np.random.default_rng(4))
    accs = {b: mcrg.MCRGAccumulator(8, basis=b) for b in ("symmetrised", "oriented")}
    for acc in accs.values():
        acc.add(fine, coarse)
    sym = accs["symmetrised"].result(max_cond=1e14)
    N, M, _ = accs["oriented"].correlations()
    owner = np.array([a for a, _ in mcrg.ORIENTED])
    for sector, idx in (("odd", mcrg.ODD), ("even", mcrg.EVEN)):
        A = np.stack([(owner == a).astype(float) for a in idx], axis=1)   # 158 x classes: the class sums
        T = np.linalg.solve(A.T @ M @ A, A.T @ N @ A)
        ev = np.sort(np.abs(np.linalg.eigvals(T)))[::-1]
        want = np.abs(getattr(sym, sector).eigenvalues)
        np.testing.assert_allclose(ev, want, rtol=1e-7, atol=1e-10)


def test_authors_duplicate_dropped_is_their_pseudo_inverse():
    """The authors solve 𝒯 with a pseudo-inverse of the singular 36 x 36 matrix; dropping the exact duplicate gives
    the same spectrum without the zero eigenvalue of the duplicated direction."""
    rng = np.random.default_rng(5)
    fine = random_spins(rng, 400, 8)
    coarse, _ = majority_rule(fine, rng)
    acc = mcrg.MCRGAccumulator(8, basis="authors")
    acc.add(fine, coarse)
    ours = acc.result(max_cond=1e14)
    N, M, _ = acc.correlations()
    even = [a for a in range(36) if len(mcrg.AUTHORS_OFFSETS[a]) % 2 == 0]   # 25 columns, 16 and 32 both in
    assert np.linalg.matrix_rank(M[np.ix_(even, even)]) == 24
    T = np.linalg.pinv(M[np.ix_(even, even)]) @ N[np.ix_(even, even)]
    ev = np.sort(np.abs(np.linalg.eigvals(T)))[::-1]
    np.testing.assert_allclose(ev[:24], np.abs(ours.even.eigenvalues), rtol=1e-6)
    assert ev[24] < 1e-8 * ev[0]
    assert len(ours.even.y) == 24 and ours.basis == "authors" and ours.to_dict()["basis"] == "authors"


def test_results_record_the_convention_only_when_not_default():
    rng = np.random.default_rng(6)
    fine = random_spins(rng, 200, 8)
    coarse, _ = majority_rule(fine, rng)
    plain = mcrg.rg_exponents(fine, coarse, n_bins=4, max_cond=1e14)
    d = plain.to_dict()
    assert "basis" not in d and "boundary" not in d   # a default result reads as before the options existed
    for basis, boundary in (("authors", "periodic"), ("symmetrised", "open"), ("oriented", "open")):
        r = mcrg.rg_exponents(fine, coarse, n_bins=4, max_cond=1e14, basis=basis, boundary=boundary)
        d = r.to_dict()
        assert (d.get("basis", "symmetrised"), d.get("boundary", "periodic")) == (basis, boundary)
        back = mcrg.MCRGResult.from_dict(d)
        assert (back.basis, back.boundary) == (basis, boundary) and back.to_dict() == d and back.extra == {}
        assert back.odd.operators == tuple(mcrg.get_basis(basis).odd)
    y, err, where = plain.third()
    assert y == plain.spectrum[2][0] and err > 0 and where.split()[0] in ("odd", "even")


# --------------------------------------------------------------------------
# the blocking grid of dreamed configurations
# --------------------------------------------------------------------------
def test_blocking_is_aligned_with_the_upsampling_grid():
    """A dreamed configuration keeps the 2x2 grid it was upsampled on: majority-rule blocks on that grid (what
    the MCRG drivers use) give back its parent far more often than blocks shifted by one site."""
    from dreamrg import dream, released

    model = released.released_model("authors-k3").model()
    rng = np.random.default_rng(0)
    aligned, shifted = [], []
    for seed in range(4):
        levels = dream.chain_levels(model, 6, seed)
        child, parent = levels[-1], levels[-2]
        aligned.append((majority_rule(child, rng)[0] == parent).mean())
        shifted.append((majority_rule(np.roll(child, 1, axis=1), rng)[0] == parent).mean())
    assert np.mean(aligned) > 0.93
    assert np.mean(aligned) > np.mean(shifted) + 0.02


# --------------------------------------------------------------------------
# statistics (slow)
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    from dreamrg import mc

    root = tmp_path_factory.mktemp("bases")
    out = {}
    for L, n in ((16, 8000), (32, 8000), (64, 4000)):
        out[L] = root / f"L{L}"
        mc.run(mc.MCParams(L=L, seed=11), n, out[L], progress=False)
    return out


@pytest.mark.slow
def test_open_and_periodic_differ_by_a_finite_size_effect(stores):
    """Open ("valid") sums differ from periodic ones at small L, and the difference shrinks as L grows."""
    d_h, d_t = {}, {}
    for L, path in stores.items():
        r = {b: mcrg.mcrg_from_store(path, seed=1, n_bins=16, progress=False, boundary=b)[0] for b in mcrg.BOUNDARIES}
        d_h[L] = abs(r["open"].y_h - r["periodic"].y_h)
        d_t[L] = abs(r["open"].y_t - r["periodic"].y_t)
        assert r["open"].boundary == "open"
    assert d_h[16] > d_h[32] > d_h[64] and d_h[64] < 0.002
    assert d_t[64] < d_t[16] / 2


@pytest.mark.slow
def test_bases_agree_on_mc_data(stores):
    """On MC data (lattice-symmetric) the authors' single orientations and all 158 orientations give the
    symmetrised y_h and y_t within errors."""
    res = {b: mcrg.mcrg_from_store(stores[32], seed=1, n_bins=16, progress=False, basis=b)[0] for b in mcrg.BASES}
    ref = res["symmetrised"]
    # on the store's data too, the oriented correlations restricted to the class sums give the symmetrised spectrum
    (acc,) = mcrg.accumulate_store(stores[32], seed=1, n_bins=16, progress=False, basis="oriented")
    N, M, _ = acc.correlations()
    owner = np.array([a for a, _ in mcrg.ORIENTED])
    for sector, idx in (("odd", mcrg.ODD), ("even", mcrg.EVEN)):
        A = np.stack([(owner == a).astype(float) for a in idx], axis=1)
        ev = np.sort(np.abs(np.linalg.eigvals(np.linalg.solve(A.T @ M @ A, A.T @ N @ A))))[::-1]
        np.testing.assert_allclose(ev, np.abs(getattr(ref, sector).eigenvalues), rtol=1e-7)
    for b in ("authors", "oriented"):
        for q in ("y_h", "y_t"):
            err = np.hypot(getattr(ref, q + "_err"), getattr(res[b], q + "_err"))
            assert abs(getattr(res[b], q) - getattr(ref, q)) < 3 * err, (b, q)
