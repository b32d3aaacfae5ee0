"""Global observables of Ising configurations, with error bars.

Conventions (the paper's section IV, eq. 14), for configurations of linear size L:

* m = L^-2 Σ_i σ_i,  e = L^-2 Σ_<ij> σ_i σ_j over the 2L² bonds right and down;
* χ    = L² (<m²> − <m>²)
* c_me = L² (<|m||e|> − <|m|><|e|>) / <|m|>
* c    = L² (<e²> − <e>²)
* U4   = 1 − <m⁴> / (3 <m²>²)

Errors come from a binned (blocked) jackknife over the configuration index:
the n samples are cut into ``n_bins`` consecutive bins, every estimator is
recomputed with one bin left out, and the spread of those leave-one-out values
gives the error. Binning also absorbs residual autocorrelation shorter than a
bin. :func:`tau_int` estimates the integrated autocorrelation time with
Sokal's automatic window so users can check that recorded samples are
effectively independent.

Everything streams: :class:`SeriesAccumulator` keeps only (m, e) per
configuration (16 bytes), never the configurations themselves.

:func:`summarize` returns a :class:`SizeSummary`: the observables of one size as
:class:`~dreamrg.stats.Estimate`, τ_int of m² and e, and optionally a histogram of
the rescaled magnetisation (:class:`MHistogram`). Both types write and read the JSON
the result cache holds (``to_dict``/``from_dict``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace

import numpy as np

from dreamrg.stats import Estimate, format_estimate, jackknife, tau_int

#: observable names in the order used by tables and the JSON output
OBSERVABLES: tuple[str, ...] = ("chi", "c_me", "c", "U4", "abs_m", "e")


def magnetization_energy(spins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-configuration m and e.

    Parameters
    ----------
    spins : ndarray, shape (n, L, L) or (L, L), values ±1 (any integer dtype)

    Returns
    -------
    m, e : float64 arrays of shape (n,)
    """
    s = np.asarray(spins)
    if s.ndim == 2:
        s = s[None]
    if s.ndim != 3 or s.shape[1] != s.shape[2]:
        raise ValueError(f"spins must have shape (n, L, L); got {s.shape}")
    L = s.shape[1]
    s = s.astype(np.int32, copy=False)
    M = s.sum(axis=(1, 2), dtype=np.int64)
    E = (s * np.roll(s, -1, axis=1)).sum(axis=(1, 2), dtype=np.int64)
    E += (s * np.roll(s, -1, axis=2)).sum(axis=(1, 2), dtype=np.int64)
    return M / L**2, E / L**2


def packed_magnetization_energy(packed: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-configuration m and e of bit-packed configurations (as a store holds them), never unpacked.

    Parameters
    ----------
    packed : ndarray of uint8, shape (n, L, ceil(L/8))
        ``numpy.packbits`` of the 0/1 occupation along each row (1 = up; :mod:`dreamrg.store`).
    L : int
        Linear size, ≥ 2.

    Returns
    -------
    m, e : float64 arrays of shape (n,), equal bit for bit to :func:`magnetization_energy` of the unpacked spins.
    """
    from dreamrg._observables_kernels import packed_m_e

    packed = np.ascontiguousarray(packed)
    if packed.dtype != np.uint8 or packed.ndim != 3 or packed.shape[1:] != (L, (L + 7) // 8) or L < 2:
        raise ValueError(f"packed must be uint8 of shape (n, L, ceil(L/8)) with L = {L} ≥ 2; "
                         f"got {packed.dtype} {packed.shape}")
    M = np.empty(len(packed), np.int64)
    E = np.empty(len(packed), np.int64)
    packed_m_e(packed, int(L), M, E)
    return M / L**2, E / L**2


def _moments(m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Per-sample moments needed by every estimator, shape (n, 8)."""
    am, ae = np.abs(m), np.abs(e)
    m2 = m * m
    return np.stack([m, m2, m2 * m2, am, am * ae, ae, e, e * e], axis=1)


def _estimators(mom: np.ndarray, L: int) -> np.ndarray:
    """Observables from averaged moments; ``mom`` has shape (..., 8). Returns (..., 6)."""
    m1, m2, m4, am, amae, ae, e1, e2 = (mom[..., i] for i in range(8))
    V = float(L) ** 2
    chi = V * (m2 - m1**2)
    c_me = V * (amae - am * ae) / am
    c = V * (e2 - e1**2)
    u4 = 1.0 - m4 / (3.0 * m2**2)
    return np.stack([chi, c_me, c, u4, am, e1], axis=-1)


def fss_observables(m: np.ndarray, e: np.ndarray, L: int, n_bins: int = 100) -> dict[str, Estimate]:
    """χ, c_me, c, U4, <|m|>, <e> with jackknife errors from per-configuration m and e."""
    m = np.asarray(m, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    if m.shape != e.shape or m.ndim != 1 or m.size == 0:
        raise ValueError(f"m and e must be equal-length non-empty 1-d arrays; got {m.shape} and {e.shape}")
    value, error = jackknife(lambda mom: _estimators(mom, L), _moments(m, e), n_bins=n_bins)
    return {name: Estimate(float(v), float(s)) for name, v, s in zip(OBSERVABLES, value, error)}


class SeriesAccumulator:
    """Collects per-configuration (m, e) from batches of one lattice size."""

    def __init__(self, L: int):
        self.L = int(L)
        self._m: list[np.ndarray] = []
        self._e: list[np.ndarray] = []

    def add(self, spins: np.ndarray) -> None:
        if spins.shape[-1] != self.L:
            raise ValueError(f"batch has L={spins.shape[-1]}, accumulator expects L={self.L}")
        m, e = magnetization_energy(spins)
        self._m.append(m)
        self._e.append(e)

    def add_series(self, m: np.ndarray, e: np.ndarray) -> None:
        self._m.append(np.asarray(m, dtype=np.float64))
        self._e.append(np.asarray(e, dtype=np.float64))

    @property
    def m(self) -> np.ndarray:
        return np.concatenate(self._m) if self._m else np.empty(0)

    @property
    def e(self) -> np.ndarray:
        return np.concatenate(self._e) if self._e else np.empty(0)

    def __len__(self) -> int:
        return sum(len(a) for a in self._m)

    def result(self, n_bins: int = 100) -> dict[str, Estimate]:
        return fss_observables(self.m, self.e, self.L, n_bins=n_bins)


def store_series(batches: Iterable[np.ndarray], L: int) -> SeriesAccumulator:
    """Accumulate (m, e) over an iterable of spin batches."""
    acc = SeriesAccumulator(L)
    for batch in batches:
        acc.add(batch)
    return acc


def exponent_from_pair(large: Estimate, small: Estimate, ratio: float = 4.0) -> Estimate:
    """Exponent x from X(L) ∝ L^x using two independent sizes L and L/ratio (the paper's Table II).

    x = ln(X(L)/X(L/ratio)) / ln(ratio), errors added in quadrature (valid for
    independent samples, e.g. separate Monte Carlo runs).
    """
    value = math.log(large.value / small.value) / math.log(ratio)
    error = math.hypot(large.error / large.value, small.error / small.value) / math.log(ratio)
    return Estimate(value, error)


#: packed bytes a Dask task of :func:`store_accumulator` reads (whole chunks, at least one)
_TASK_BYTES = 2**26


def store_accumulator(path, batch_size: int | None = None, progress: bool = False,
                      stop: int | None = None, client=None) -> SeriesAccumulator:
    """Stream configurations ``0:stop`` of a store and collect their (m, e) series (from the packed bits).

    With a Dask ``client`` (:func:`dreamrg._cluster.connect`) groups of chunks
    (~64 MB packed each) are tasks: the worker reads them from the store (on storage
    the workers share) and returns their per-configuration m and e, concatenated
    here in order: the same series as in process.
    """
    from tqdm import tqdm

    from dreamrg._progress import _no_bar
    from dreamrg.store import open_store

    st = open_store(path)
    acc = SeriesAccumulator(st.L)
    n = st.count if stop is None else min(stop, st.count)
    step = batch_size or st.chunk_size
    if client is not None:
        from dreamrg._cluster import map_units

        per_task = st.chunk_size * max(1, _TASK_BYTES // (st.chunk_size * st.L * ((st.L + 7) // 8)))
        units = [(str(st.path.resolve()), lo, min(lo + per_task, n)) for lo in range(0, n, per_task)]
        with tqdm(total=n, disable=_no_bar(progress), desc=f"observables L={st.L} (Dask)", unit="cfg") as bar:
            for m, e in map_units(_series_task, units, client=client, name="observables",
                                  on_result=lambda i, _: bar.update(units[i][2] - units[i][1])):
                acc.add_series(m, e)
        return acc
    for lo in tqdm(range(0, n, step), disable=_no_bar(progress), desc=f"observables L={st.L}", unit="chunk"):
        acc.add_series(*packed_magnetization_energy(st.read_packed(lo, min(lo + step, n)), st.L))
    return acc


def _series_task(unit: tuple) -> tuple[np.ndarray, np.ndarray]:
    """One Dask task of :func:`store_accumulator`: m and e of configurations ``lo:hi`` of the store at ``path``."""
    from dreamrg.store import open_store

    path, lo, hi = unit
    st = open_store(path)
    step = st.chunk_size
    parts = [packed_magnetization_energy(st.read_packed(a, min(a + step, hi)), st.L) for a in range(lo, hi, step)]
    return np.concatenate([m for m, _ in parts]), np.concatenate([e for _, e in parts])


@dataclass(frozen=True)
class MHistogram:
    """Counts of the rescaled magnetisation x = m·L^{β/ν} on fixed bins.

    Attributes
    ----------
    edges : tuple of float
        Bin edges (one more than ``counts``).
    counts : tuple of int
    beta_nu : float
        The exponent β/ν used to rescale m.
    """

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    beta_nu: float

    def to_dict(self) -> dict:
        return {"edges": [float(x) for x in self.edges], "counts": [int(c) for c in self.counts],
                "beta_nu": self.beta_nu}

    @classmethod
    def from_dict(cls, d: dict) -> "MHistogram":
        return cls(tuple(float(x) for x in d["edges"]), tuple(int(c) for c in d["counts"]), d["beta_nu"])


@dataclass(frozen=True)
class SizeSummary:
    """Observables of one lattice size with their errors (the JSON of the result cache).

    Attributes
    ----------
    L, n : int
        Linear size and number of configurations.
    chi, c_me, c, U4, abs_m, e : Estimate
        :data:`OBSERVABLES` with jackknife errors.
    tau_int_m2, tau_int_e : Estimate or None
        Integrated autocorrelation time of m² and e (value, error), when at
        least 4 configurations were measured.
    hist : MHistogram or None
        Histogram of m·L^{β/ν}, where one was taken (:func:`dreamrg.fss.m_histogram`).
    """

    L: int
    n: int
    chi: Estimate
    c_me: Estimate
    c: Estimate
    U4: Estimate
    abs_m: Estimate
    e: Estimate
    tau_int_m2: Estimate | None = None
    tau_int_e: Estimate | None = None
    hist: MHistogram | None = None

    def observable(self, name: str) -> Estimate:
        """The observable ``name`` (one of :data:`OBSERVABLES` or ``tau_int_m2``/``tau_int_e``)."""
        if name not in OBSERVABLES + ("tau_int_m2", "tau_int_e"):
            raise KeyError(f"unknown observable {name!r}; known: {OBSERVABLES + ('tau_int_m2', 'tau_int_e')}")
        return getattr(self, name)

    def with_hist(self, hist: MHistogram) -> "SizeSummary":
        return replace(self, hist=hist)

    def to_dict(self) -> dict:
        out: dict = {"L": int(self.L), "n": int(self.n)}
        out.update({name: getattr(self, name).to_dict() for name in OBSERVABLES})
        for name in ("tau_int_m2", "tau_int_e"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name).to_dict()
        if self.hist is not None:
            out["hist"] = self.hist.to_dict()
        return out

    @classmethod
    def _fields_from_dict(cls, d: dict) -> dict:
        """Constructor arguments of the :class:`SizeSummary` part of ``d`` (shared with subclasses)."""
        args = {"L": int(d["L"]), "n": int(d["n"])}
        args.update({name: Estimate.from_dict(d[name]) for name in OBSERVABLES})
        for name in ("tau_int_m2", "tau_int_e"):
            if name in d:
                args[name] = Estimate.from_dict(d[name])
        if "hist" in d:
            args["hist"] = MHistogram.from_dict(d["hist"])
        return args

    @classmethod
    def from_dict(cls, d: dict) -> "SizeSummary":
        return cls(**cls._fields_from_dict(d))

    def size_summary(self) -> "SizeSummary":
        """The :class:`SizeSummary` part alone (drops the fields a subclass adds)."""
        return SizeSummary(**{f.name: getattr(self, f.name) for f in fields(SizeSummary)})


def summarize(acc: SeriesAccumulator, n_bins: int = 100) -> SizeSummary:
    """Observables with errors plus τ_int of m² and e."""
    taus = {}
    if len(acc) >= 4:
        for name, series in (("m2", acc.m**2), ("e", acc.e)):
            taus[f"tau_int_{name}"] = Estimate(*tau_int(series))
    return SizeSummary(L=acc.L, n=len(acc), **acc.result(n_bins=n_bins), **taus)
