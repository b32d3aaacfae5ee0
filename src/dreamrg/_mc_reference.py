"""Plain reference implementations of the cluster updates in `_mc_kernels`.

Clarity over speed: these exist to cross-check the numba kernels on small
lattices.  Same conventions as the kernels: ``H = -K * sum_<ij> s_i s_j`` over
the ``2 L**2`` bonds right and down on an ``L x L`` torus (for ``L = 2`` every
neighbouring pair carries two independent bonds), spins are +1/-1.
"""

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["sw_update_reference", "wolff_update_reference"]


def _bonds(L):
    """List the ``2 L**2`` bonds of the torus as flat site-index pairs.

    Parameters
    ----------
    L : int
        Linear size.

    Returns
    -------
    numpy.ndarray of int64, shape (2 * L * L, 2)
        Rows ``(i, j)``: first the right bonds, then the down bonds, with
        ``i = y * L + x``.
    """
    idx = np.arange(L * L).reshape(L, L)
    right = np.stack([idx.ravel(), np.roll(idx, -1, axis=1).ravel()], axis=1)
    down = np.stack([idx.ravel(), np.roll(idx, -1, axis=0).ravel()], axis=1)
    return np.concatenate([right, down])


def sw_update_reference(spins: np.ndarray, K: float,
                        rng: np.random.Generator) -> np.ndarray:
    """One Swendsen-Wang update (reference version).

    Parameters
    ----------
    spins : numpy.ndarray, shape (L, L)
        +1/-1 configuration (any integer dtype); not modified.
    K : float
        Coupling ``K > 0``; each bond between aligned spins is activated with
        probability ``p = 1 - exp(-2K)``.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray, shape (L, L), same dtype as `spins`
        The new configuration: the clusters of active bonds (found with
        ``scipy.sparse.csgraph.connected_components``) are each flipped
        independently with probability 1/2.
    """
    L = spins.shape[0]
    s = spins.ravel()
    b = _bonds(L)
    p = 1.0 - np.exp(-2.0 * K)
    active = (s[b[:, 0]] == s[b[:, 1]]) & (rng.random(len(b)) < p)
    i, j = b[active, 0], b[active, 1]
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(L * L, L * L))
    n_comp, label = connected_components(graph, directed=False)
    flip = rng.random(n_comp) < 0.5
    new = np.where(flip[label], -s, s)
    return new.reshape(L, L).astype(spins.dtype)


def wolff_update_reference(spins: np.ndarray, K: float,
                           rng: np.random.Generator,
                           n_clusters: int = 1) -> np.ndarray:
    """``n_clusters`` single-cluster Wolff flips (reference version).

    Parameters
    ----------
    spins : numpy.ndarray, shape (L, L)
        +1/-1 configuration (any integer dtype); not modified.
    K : float
        Coupling ``K > 0``; bond probability ``p = 1 - exp(-2K)``.
    rng : numpy.random.Generator
        Source of randomness.
    n_clusters : int, optional
        Number of cluster flips (a fixed count, as in
        `dreamrg._mc_kernels.wolff_chains_fixed`; a count that depends on the
        flipped cluster sizes would bias the sampled distribution).

    Returns
    -------
    numpy.ndarray, shape (L, L), same dtype as `spins`
        The new configuration.

    Notes
    -----
    Breadth-first growth from a uniformly chosen seed.  Each of the four
    bonds of a cluster site (right, left, down, up) is tried once towards an
    aligned site not yet in the cluster; for ``L = 2`` the right and left
    bonds reach the same site, i.e. the doubled bond is tried twice.
    """
    L = spins.shape[0]
    s = spins.astype(np.int64).copy()
    p = 1.0 - np.exp(-2.0 * K)
    for _ in range(n_clusters):
        y0, x0 = divmod(int(rng.integers(L * L)), L)
        sv = s[y0, x0]
        in_cluster = np.zeros((L, L), dtype=bool)
        in_cluster[y0, x0] = True
        queue = [(y0, x0)]
        while queue:
            y, x = queue.pop(0)
            for yy, xx in (((y, (x + 1) % L), (y, (x - 1) % L),
                            ((y + 1) % L, x), ((y - 1) % L, x))):
                if (s[yy, xx] == sv and not in_cluster[yy, xx]
                        and rng.random() < p):
                    in_cluster[yy, xx] = True
                    queue.append((yy, xx))
        s[in_cluster] = -sv
    return s.astype(spins.dtype)
