"""Cached MCRG analyses of Monte Carlo and dreamed configurations.

MC configurations (a cached store, :func:`dreamrg.runs.mc.cached_store`), every blocking step:

* :func:`mc_mcrg` -- the exponents (symmetrised operators by default; any basis and
  boundary of :mod:`dreamrg.mcrg`) as an :class:`MCRGRun`,
  with the measured cost of the configurations and of the analysis;
* :func:`mc_irreps` -- 𝒯 per spin-flip sector and D4 irrep (oriented operators), an :class:`IrrepRun`;
* :func:`mc_truncations` -- the exponents for several operator truncations, a :class:`TruncationScan`;
* :func:`mc_mcrg_streamed` -- :func:`mc_mcrg` streamed from the Monte Carlo chains, no configuration
  stored (the L = 1024 row), resumable over sittings; :func:`mc_mcrg_streamed_status` reports a
  partial run's progress without computing.

Dreamed configurations (one blocking of the final size, the paper's procedure):

* :func:`dreamed_mcrg` -- a :class:`DreamedMCRG` (any basis and boundary);
* :func:`dreamed_mcrg_conventions` -- the same for several bases and boundaries from one
  pass of dreaming (each kept under :func:`dreamed_mcrg`'s entry);
* :func:`dreamed_parent_mcrg` -- 𝒯 with the dreamed lattice's own parent (the generator's
  input) as the coarse lattice instead of its majority-rule blocks;
* :func:`dreamed_irreps` -- an :class:`IrrepRun`.

The operator basis and the boundary enter a cache key only when they are not the
defaults (``"symmetrised"``, ``"periodic"``), so the default results keep their entries.
Where the correlation matrices are singular (too few, or nearly frozen,
configurations) the dreamed exponents and both irrep analyses give an
:class:`IllConditioned` with the reason instead of a number. Every result is kept
as JSON in ``data/mcrg/`` and comes back as the same type (``to_dict``/``from_dict``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from dreamrg import _cluster, cache
from dreamrg import store as _store
from dreamrg.dream import DreamParams, dream_key, iter_final_batches, iter_parent_child_batches, model_id
from dreamrg.mc import MCParams
from dreamrg.mcrg import (TRUNCATIONS, IllConditionedError, IrrepSpectrum, MCRGAccumulator, MCRGResult,
                          accumulate_batches, accumulate_conventions, accumulate_store, check_boundary, get_basis,
                          StreamProgress, irrep_rows, mcrg_from_batches, mcrg_from_store, third_exponent,
                          truncation_scan)
from dreamrg.paths import data_dir
from dreamrg.runs.mc import cached_store


# ----------------------------------------------------------------------------- result types
@dataclass(frozen=True)
class IllConditioned:
    """An MCRG analysis that has no answer: a correlation matrix was singular (the reason in ``error``).

    ``seconds`` is the time spent finding out, where it was recorded.
    """

    error: str
    seconds: float | None = None

    def to_dict(self) -> dict:
        return {"error": self.error} | ({} if self.seconds is None else {"seconds": self.seconds})

    @classmethod
    def from_dict(cls, d: dict) -> "IllConditioned":
        return cls(d["error"], d.get("seconds"))


@dataclass(frozen=True)
class MCRGRun:
    """MCRG exponents of every blocking step of one set of MC configurations, with their cost.

    Iterating (or indexing) gives the steps' :class:`~dreamrg.mcrg.MCRGResult` in order.

    Attributes
    ----------
    steps : tuple of MCRGResult
    ms_mc_per_config : float
        Milliseconds per configuration spent by the Monte Carlo run (from the store; NaN if not timed).
    seconds_mcrg : float
        Wall time of the MCRG analysis of all steps.
    """

    steps: tuple[MCRGResult, ...]
    ms_mc_per_config: float
    seconds_mcrg: float

    def __iter__(self):
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i: int) -> MCRGResult:
        return self.steps[i]

    def to_dict(self) -> list[dict]:
        """One dict per step (:meth:`MCRGResult.to_dict` and the two costs), as the cache holds it."""
        extra = {"ms_mc_per_config": self.ms_mc_per_config, "seconds_mcrg": self.seconds_mcrg}
        return [r.to_dict() | extra for r in self.steps]

    @classmethod
    def from_dict(cls, rows: list[dict]) -> "MCRGRun":
        if not rows:
            raise ValueError("an MCRG run has at least one blocking step")
        costs = ("ms_mc_per_config", "seconds_mcrg")
        steps = tuple(MCRGResult.from_dict({k: v for k, v in r.items() if k not in costs}) for r in rows)
        return cls(steps, float(rows[0]["ms_mc_per_config"]), float(rows[0]["seconds_mcrg"]))


@dataclass(frozen=True)
class DreamedMCRG:
    """MCRG exponents of dreamed configurations (one blocking of the final size) and the time it took."""

    result: MCRGResult
    seconds: float

    def to_dict(self) -> dict:
        return self.result.to_dict() | {"seconds": self.seconds}

    @classmethod
    def from_dict(cls, d: dict) -> "DreamedMCRG":
        return cls(MCRGResult.from_dict({k: v for k, v in d.items() if k != "seconds"}), float(d["seconds"]))


@dataclass(frozen=True)
class IrrepRun:
    """𝒯 split by spin-flip sector and D4 irrep (oriented basis), every blocking step.

    ``spectra`` holds one :class:`~dreamrg.mcrg.IrrepSpectrum` per (step, sector, irrep) with its
    three leading exponents, in step order.
    """

    spectra: tuple[IrrepSpectrum, ...]

    @property
    def levels(self) -> list[int]:
        """The blocking steps present (0 = the first blocking)."""
        return sorted({s.level for s in self.spectra})

    def at(self, level: int) -> list[IrrepSpectrum]:
        return [s for s in self.spectra if s.level == level]

    def get(self, parity: str, irrep: str, level: int = 0) -> IrrepSpectrum:
        """The spectrum of one sector and irrep at one step."""
        for s in self.at(level):
            if (s.parity, s.irrep) == (parity, irrep):
                return s
        raise KeyError(f"no {parity} {irrep} spectrum at step {level}")

    def third(self, level: int = 0) -> tuple[float, float, str]:
        """Third largest exponent of the whole spectrum at one step (:func:`dreamrg.mcrg.third_exponent`)."""
        return third_exponent([s.to_dict() for s in self.at(level)])

    def to_dict(self) -> list[dict]:
        return [s.to_dict() for s in self.spectra]

    @classmethod
    def from_dict(cls, rows: list[dict]) -> "IrrepRun":
        return cls(tuple(IrrepSpectrum.from_dict(r) for r in rows))


def _irreps_encode(r: IrrepRun | IllConditioned) -> list[dict]:
    """The cache's form: the rows, or a single row holding only ``"error"``."""
    return [r.to_dict()] if isinstance(r, IllConditioned) else r.to_dict()


def _irreps_decode(rows: list[dict]) -> IrrepRun | IllConditioned:
    return IllConditioned.from_dict(rows[0]) if rows and "error" in rows[0] else IrrepRun.from_dict(rows)


@dataclass(frozen=True)
class Truncation:
    """Exponents of one blocking step with only the first ``n_odd`` odd and ``n_even`` even operators.

    ``omega`` (and its error) is NaN when the even sector keeps a single operator.
    """

    step: int
    L_fine: int
    L_coarse: int
    n_odd: int
    n_even: int
    y_h: float
    y_h_err: float
    y_t: float
    y_t_err: float
    omega: float
    omega_err: float

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Truncation":
        return cls(**{k: (int(d[k]) if k in ("step", "L_fine", "L_coarse", "n_odd", "n_even") else float(d[k]))
                      for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class TruncationScan:
    """:class:`Truncation` rows of every blocking step and truncation (:func:`dreamrg.mcrg.truncation_scan`)."""

    rows: tuple[Truncation, ...]

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def to_dict(self) -> list[dict]:
        return [r.to_dict() for r in self.rows]

    @classmethod
    def from_dict(cls, rows: list[dict]) -> "TruncationScan":
        return cls(tuple(Truncation.from_dict(r) for r in rows))


# ----------------------------------------------------------------------------- Monte Carlo
def _mc_key(params: MCParams, n_configs: int, levels: int, n_bins: int) -> dict:
    """Cache key of an MCRG analysis of the cached store of ``params`` (its metadata and the analysis)."""
    return params.store_meta() | {"n_configs": int(n_configs), "levels": levels, "n_bins": n_bins}


def _convention(basis: str, boundary: str) -> tuple[dict, str]:
    """The cache-key entries and the entry-name suffix of an operator basis and boundary (empty for the defaults).

    Raises ``ValueError`` for an unknown basis or boundary before anything is computed.
    """
    get_basis(basis), check_boundary(boundary)
    key = {k: v for k, v, default in (("basis", basis, "symmetrised"), ("boundary", boundary, "periodic"))
           if v != default}
    return key, "".join(f"-{v}" for v in key.values())


def mc_mcrg(L: int, n_configs: int, seed: int, levels: int, *, n_bins: int = 32, basis: str = "symmetrised",
            boundary: str = "periodic", progress: bool | None = None) -> MCRGRun:
    """MCRG exponents of cached MC configurations at every blocking step (cached).

    ``basis`` and ``boundary`` as in :func:`dreamrg.mcrg.operators`. Also records the
    measured cost per configuration of generating the configurations
    (``ms_mc_per_config``) and the time of the analysis (``seconds_mcrg``).
    """
    params = MCParams(L=L, seed=seed)
    conv, suffix = _convention(basis, boundary)

    def compute() -> MCRGRun:
        path = cached_store(params, n_configs, progress=progress)
        meta = _store.open_store(path).meta
        ms_mc = 1e3 * meta["seconds_sampling"] / meta["configs_timed"] if meta.get("configs_timed") else math.nan
        t0 = time.perf_counter()
        results = mcrg_from_store(path, levels=levels, n=n_configs, seed=seed, n_bins=n_bins, progress=progress,
                                  basis=basis, boundary=boundary, client=_cluster.current())
        return MCRGRun(tuple(results), ms_mc, time.perf_counter() - t0)

    return cache.cached("mcrg", f"mc-L{L}{suffix}", _mc_key(params, n_configs, levels, n_bins) | conv, compute,
                        MCRGRun.from_dict)


def mc_irreps(L: int, n_configs: int, seed: int, levels: int, *, n_bins: int = 32,
              progress: bool | None = None) -> IrrepRun | IllConditioned:
    """𝒯 per spin-flip sector and D4 irrep (oriented basis) of cached MC configurations (cached).

    Same configurations and tie-breaking as :func:`mc_mcrg`. A singular correlation
    matrix (too few configurations for the 158 operators) gives an :class:`IllConditioned`.
    """
    params = MCParams(L=L, seed=seed)
    key = _mc_key(params, n_configs, levels, n_bins) | {"basis": "oriented"}

    def compute() -> IrrepRun | IllConditioned:
        path = cached_store(params, n_configs, progress=progress)
        return _irreps_decode(irrep_rows(accumulate_store(path, levels=levels, n=n_configs, seed=seed,
                                                          n_bins=n_bins, progress=progress, basis="oriented",
                                                          client=_cluster.current())))

    return cache.cached("mcrg", f"mc-irreps-L{L}", key, compute, _irreps_decode, encode=_irreps_encode)


def mc_truncations(L: int, n_configs: int, seed: int, levels: int, *, n_bins: int = 32,
                   progress: bool | None = None) -> TruncationScan:
    """MCRG exponents of cached MC configurations for several operator truncations (cached).

    Every blocking step of :func:`mc_mcrg` (same configurations, same tie-breaking),
    for each ``(n_odd, n_even)`` of :data:`dreamrg.mcrg.TRUNCATIONS`.
    """
    params = MCParams(L=L, seed=seed)
    key = _mc_key(params, n_configs, levels, n_bins) | {"truncations": [list(t) for t in TRUNCATIONS]}

    def compute() -> TruncationScan:
        path = cached_store(params, n_configs, progress=progress)
        accs = accumulate_store(path, levels=levels, n=n_configs, seed=seed, n_bins=n_bins, progress=progress,
                                client=_cluster.current())
        return TruncationScan.from_dict(truncation_scan(accs, TRUNCATIONS))

    return cache.cached("mcrg", f"mc-trunc-L{L}", key, compute, TruncationScan.from_dict)


def stream_chunk_size(L: int) -> int:
    """Configurations per chunk of :func:`mc_mcrg_streamed`: the store's default up to L = 256, else 2^29 spins.

    A streamed run stores nothing, so its chunks need not be the store's (16 configurations
    at L = 1024). Each chunk is a separate piece of its chain's accumulators until every
    chain is done (pieces fold only in configuration order, and the chains interleave), so
    a checkpoint, and a carried chain (:func:`dreamrg.mcrg.export_finished`), holds one
    piece per chunk: with 512-configuration chunks at L = 1024 a chain carries 4 pieces
    (about 0.5 MB) instead of 98 (3.3 MB compressed). Memory: 2 L² bytes per configuration
    of a chunk (about 1 GB per chain at L = 512 and 1024). Binned chain by chain, one chain
    per bin (:func:`stream_params`), a chain folds into one piece whatever its chunks.
    """
    from dreamrg.store import default_chunk_size

    return default_chunk_size(L) if L <= 256 else max(default_chunk_size(L), 2**29 // (L * L))


def stream_params(L: int, n_configs: int, seed: int, n_bins: int, order: str = "run") -> MCParams:
    """The Monte Carlo run of a streamed MCRG (:func:`mc_mcrg_streamed`): ``MCParams(L=L, seed=seed)`` in chunks of
    :func:`stream_chunk_size`, or, binned chain by chain (``order="chain"``), one chain per jackknife bin.

    Chain by chain, a chain's moments fold into one piece only where it starts a bin (pieces
    fold left to right from a bin's first configuration, which keeps merges exact). So the run
    has ``n_bins`` chains and, when ``n_configs`` is a multiple of ``n_bins``, chunks of the
    largest divisor of a chain's length up to :func:`stream_chunk_size` (if that is at least a
    quarter of it): every bin is then exactly one chain, and a carried chain holds one piece
    per convention and step. At the paper profile's L = 512 and 10^6 configurations: 32
    chains of 31 250, in chunks of 1 250.
    """
    cap = stream_chunk_size(L)
    if order == "run":
        return MCParams(L=L, seed=seed, chunk_size=cap)
    per_chain, rest = divmod(int(n_configs), int(n_bins))
    chunk = max((d for d in range(1, min(cap, per_chain) + 1) if per_chain % d == 0), default=cap) if not rest else cap
    return MCParams(L=L, seed=seed, chunk_size=chunk if 4 * chunk >= min(cap, per_chain) else cap, chains=n_bins)


def _stream_entry(L: int, n_configs: int, seed: int, levels: int, n_bins: int, basis: str,
                  boundary: str, order: str = "run") -> tuple[MCParams, str, dict]:
    """(Monte Carlo parameters, entry name, cache key) of :func:`mc_mcrg_streamed` (``order`` in the key only when it
    is not the run's own, so the entries of earlier runs keep their names)."""
    params = stream_params(L, n_configs, seed, n_bins, order)
    conv, suffix = _convention(basis, boundary)
    key = _mc_key(params, n_configs, levels, n_bins) | conv | ({"order": order} if order != "run" else {})
    return params, f"mc-stream-L{L}{suffix}", key


def mc_mcrg_streamed(L: int, n_configs: int, seed: int, levels: int, *, n_bins: int = 32,
                     basis: str = "symmetrised", boundary: str = "periodic", progress: bool | None = None,
                     client=None, carry: str | Path | None = None, order: str = "run") -> MCRGRun:
    """:func:`mc_mcrg` with the configurations streamed from the Monte Carlo chains, none stored (cached).

    The same Monte Carlo run as :func:`mc_mcrg` (``MCParams(L=L, seed=seed)``), blockings
    and tie-breaks, so up to L = 256 the exponents are identical to it, without the store
    (131 GB for 10^6 configurations at L = 1024). Above L = 256 its chunks are larger than
    the store's (:func:`stream_chunk_size`): the exponents are then identical to those of a
    store of ``MCParams(L=L, seed=seed, chunk_size=stream_chunk_size(L))``. The run directory ``run/`` of
    the entry holds one checkpoint per chain (:mod:`dreamrg.mcrg.streaming`): an interrupted run resumes
    there, over as many sittings as it takes; :func:`mc_mcrg_streamed_status` reports how
    far it has got without computing. The command line does the same work with
    ``dreamrg mc --L L --n-configs N --seed SEED --mcrg-only --levels LEVELS --mcrg-seed SEED
    --out <entry>/run`` (:func:`mc_mcrg_stream_dir`). ``ms_mc_per_config`` and
    ``seconds_mcrg`` are compute times summed over the chains. ``client``: chains as Dask tasks.

    ``carry``: a directory of finished chains carried between machines that share no
    storage (:func:`dreamrg.mcrg.export_finished`). The chains it holds are imported
    before the run and not computed again; when the run stops, finished or interrupted,
    its finished chains are exported back there. The result is the same.

    ``order``: the order of the jackknife bins (:func:`dreamrg.mcrg.accumulate_mc`); ``"chain"``
    bins whole chains, the exponents then equal those of the store analysed with
    ``order="chain"``.
    """
    from dreamrg.mcrg import mcrg_from_mc, stream_progress

    params, name, key = _stream_entry(L, n_configs, seed, levels, n_bins, basis, boundary, order)

    def compute() -> MCRGRun:
        run = cache.entry("mcrg", name, key) / "run"
        results = mcrg_from_mc(params, n_configs, run, levels=levels, seed=seed, n_bins=n_bins, basis=basis,
                               boundary=boundary, progress=progress, client=client, carry=carry, order=order)
        prog = stream_progress(run)
        return MCRGRun(tuple(results), 1e3 * prog.seconds_mc / n_configs, prog.seconds_mcrg)

    return cache.cached("mcrg", name, key, compute, MCRGRun.from_dict)


def mc_mcrg_streamed_conventions(L: int, n_configs: int, seed: int, levels: int,
                                 conventions: list[tuple[str, str]], *, n_bins: int = 32,
                                 progress: bool | None = None, client=None, carry: str | Path | None = None,
                                 order: str = "run") -> dict[tuple[str, str], MCRGRun]:
    """:func:`mc_mcrg_streamed` for several ``(basis, boundary)`` pairs, from one Monte Carlo pass (cached).

    Each result is kept under the same entry as :func:`mc_mcrg_streamed` with that basis and
    boundary, and equals it. If one is missing, all are computed in one pass
    (:func:`dreamrg.mcrg.mcrg_from_mc_conventions`) in the entry ``mc-stream-L<L>-conventions``,
    whose run directory checkpoints (and, with ``carry``, carries) the chains of every
    convention together; that entry's ``result.json`` holds every convention's result.
    The Monte Carlo times are those of the shared pass. ``order`` as in :func:`mc_mcrg_streamed`.
    """
    from dreamrg.mcrg import mcrg_from_mc_conventions, stream_progress

    conventions = list(dict.fromkeys(tuple(c) for c in conventions))
    entries = {c: _stream_entry(L, n_configs, seed, levels, n_bins, *c, order)[1:] for c in conventions}
    if all(cache.is_cached("mcrg", name, key) for name, key in entries.values()):
        return {c: cache.cached("mcrg", name, key, _never, MCRGRun.from_dict) for c, (name, key) in entries.items()}
    params, _, base = _stream_entry(L, n_configs, seed, levels, n_bins, "symmetrised", "periodic", order)
    name, key = f"mc-stream-L{L}-conventions", base | {"conventions": [list(c) for c in conventions]}

    def compute() -> dict:
        run = cache.entry("mcrg", name, key) / "run"
        results = mcrg_from_mc_conventions(params, n_configs, run, conventions, levels=levels, seed=seed,
                                           n_bins=n_bins, progress=progress, client=client, carry=carry,
                                           order=order)
        prog = stream_progress(run)
        return {f"{b}/{bd}": MCRGRun(tuple(results[(b, bd)]), 1e3 * prog.seconds_mc / n_configs,
                                     prog.seconds_mcrg).to_dict() for b, bd in conventions}

    together = cache.cached_json("mcrg", name, key, compute)
    return {(b, bd): cache.cached("mcrg", entries[(b, bd)][0], entries[(b, bd)][1],
                                  lambda b=b, bd=bd: MCRGRun.from_dict(together[f"{b}/{bd}"]), MCRGRun.from_dict)
            for b, bd in conventions}


def mc_mcrg_streamed_conventions_name(L: int, n_configs: int, seed: int, levels: int,
                                      conventions: list[tuple[str, str]], *, n_bins: int = 32,
                                      order: str = "run") -> str:
    """The cache entry name of :func:`mc_mcrg_streamed_conventions`'s shared run (it names its carry directory)."""
    _, _, base = _stream_entry(L, n_configs, seed, levels, n_bins, "symmetrised", "periodic", order)
    conventions = list(dict.fromkeys(tuple(c) for c in conventions))
    key = base | {"conventions": [list(c) for c in conventions]}
    return f"mc-stream-L{L}-conventions-{cache.key('mcrg', key)}"


def mc_mcrg_stream_name(L: int, n_configs: int, seed: int, levels: int, *, n_bins: int = 32,
                        basis: str = "symmetrised", boundary: str = "periodic") -> str:
    """The cache entry name of :func:`mc_mcrg_streamed` (``<name>-<key hash>``; it names a carry directory too)."""
    _, name, key = _stream_entry(L, n_configs, seed, levels, n_bins, basis, boundary)
    return f"{name}-{cache.key('mcrg', key)}"


def mc_mcrg_stream_dir(L: int, n_configs: int, seed: int, levels: int, *, n_bins: int = 32,
                       basis: str = "symmetrised", boundary: str = "periodic") -> Path:
    """The run directory :func:`mc_mcrg_streamed` uses (under the data directory; nothing is created)."""
    return data_dir() / "mcrg" / mc_mcrg_stream_name(L, n_configs, seed, levels, n_bins=n_bins, basis=basis,
                                                     boundary=boundary) / "run"


def mc_mcrg_streamed_status(L: int, n_configs: int, seed: int, levels: int, *, n_bins: int = 32,
                            basis: str = "symmetrised", boundary: str = "periodic",
                            carry: str | Path | None = None) -> MCRGRun | StreamProgress | None:
    """What :func:`mc_mcrg_streamed` holds now, running no Monte Carlo.

    Its :class:`MCRGRun` once finished; else the :class:`~dreamrg.mcrg.StreamProgress` of
    its checkpoints (configurations accumulated so far, of ``n_configs``); None if it has
    not started. A partial run has no exponents: its jackknife bins span all ``n_configs``.
    ``carry``: a carry directory of the run (see :func:`mc_mcrg_streamed`). If it holds
    every chain, the run is reduced from it (seconds, no Monte Carlo) and cached; else the
    progress is that of the local run or of the carry, whichever is further along.
    """
    from dreamrg.mcrg import stream_progress

    _, name, key = _stream_entry(L, n_configs, seed, levels, n_bins, basis, boundary)
    if cache.is_cached("mcrg", name, key):
        return cache.cached("mcrg", name, key, _never, MCRGRun.from_dict)
    local = stream_progress(mc_mcrg_stream_dir(L, n_configs, seed, levels, n_bins=n_bins, basis=basis,
                                               boundary=boundary))
    carried = stream_progress(carry) if carry is not None else None
    if carried is not None and carried.done:
        return mc_mcrg_streamed(L, n_configs, seed, levels, n_bins=n_bins, basis=basis, boundary=boundary,
                                progress=False, carry=carry)
    found = [p for p in (local, carried) if p is not None]
    return max(found, key=lambda p: p.configs) if found else None


def _never():
    raise AssertionError("a cached entry is not computed again")


# ----------------------------------------------------------------------------- dreamed
def _dream_key(model: torch.nn.Module, params: DreamParams, n_configs: int, seed: int, n_bins: int,
               prefix: torch.nn.Module | None = None) -> dict:
    return dream_key(model, params, prefix) | {"n_configs": int(n_configs), "seed": seed, "n_bins": n_bins}


def _prefix_tag(params: DreamParams, prefix: torch.nn.Module | None) -> str:
    """Entry-name part of a prefix model (empty without one)."""
    return "" if prefix is None else f"-p{params.prefix_levels}-{model_id(prefix)}"


def dreamed_mcrg(model: torch.nn.Module, params: DreamParams, n_configs: int, *, seed: int = 0,
                 n_bins: int = 32, basis: str = "symmetrised", boundary: str = "periodic",
                 progress: bool | None = None, prefix: torch.nn.Module | None = None
                 ) -> DreamedMCRG | IllConditioned:
    """MCRG exponents of dreamed configurations (cached): the paper's procedure.

    The final-level configurations (upscaled ``n_up`` times) are blocked once with
    the majority rule, on the blocks their last upsampling drew them in, and 𝒯 is
    computed from that single step, streaming, in the operator ``basis`` with the
    ``boundary`` of :func:`dreamrg.mcrg.operators`. If the correlation matrices are
    singular (nearly frozen configurations), the result is an :class:`IllConditioned`
    with the reason. ``prefix``: the model of the first ``params.prefix_levels`` upscalings
    (:func:`dreamrg.dream.run`; in the key and the entry's name).
    """
    conv, suffix = _convention(basis, boundary)
    key = _dream_key(model, params, n_configs, seed, n_bins, prefix) | conv

    def compute() -> DreamedMCRG | IllConditioned:
        t0 = time.perf_counter()
        try:
            res = mcrg_from_batches(iter_final_batches(model, params, n_configs, prefix=prefix), levels=1, seed=seed,
                                    n_total=n_configs, n_bins=n_bins, check=False, basis=basis,
                                    boundary=boundary)[0]
        except IllConditionedError as exc:
            # e.g. a poorly trained model dreaming nearly frozen configurations: report, do not hide
            return IllConditioned(str(exc), time.perf_counter() - t0)
        return DreamedMCRG(res, time.perf_counter() - t0)

    return cache.cached("mcrg", f"dream-{model_id(model)}{_prefix_tag(params, prefix)}{suffix}", key, compute,
                        _decode_dreamed)


def _decode_dreamed(d: dict) -> DreamedMCRG | IllConditioned:
    return IllConditioned.from_dict(d) if "error" in d else DreamedMCRG.from_dict(d)


def dreamed_mcrg_conventions(model: torch.nn.Module, params: DreamParams, n_configs: int,
                             conventions: list[tuple[str, str]], *, seed: int = 0, n_bins: int = 32,
                             prefix: torch.nn.Module | None = None
                             ) -> dict[tuple[str, str], DreamedMCRG | IllConditioned]:
    """:func:`dreamed_mcrg` for several ``(basis, boundary)`` pairs, dreaming the configurations once.

    Each result is kept under the same entry as :func:`dreamed_mcrg` with that basis and
    boundary, and equals it. The conventions not cached yet are computed in one pass
    (:func:`dreamrg.mcrg.accumulate_conventions`); their ``seconds`` is the time of that
    whole pass (dreaming and every analysis in it). ``prefix`` as in :func:`dreamed_mcrg`.
    """
    conventions = list(dict.fromkeys(tuple(c) for c in conventions))
    entries = {}
    for basis, boundary in conventions:
        conv, suffix = _convention(basis, boundary)
        entries[(basis, boundary)] = (f"dream-{model_id(model)}{_prefix_tag(params, prefix)}{suffix}",
                                      _dream_key(model, params, n_configs, seed, n_bins, prefix) | conv)
    missing = [c for c, (name, key) in entries.items() if not cache.is_cached("mcrg", name, key)]
    fresh: dict[tuple[str, str], DreamedMCRG | IllConditioned] = {}
    if missing:
        t0 = time.perf_counter()
        accs = accumulate_conventions(iter_final_batches(model, params, n_configs, prefix=prefix), missing, levels=1,
                                      seed=seed, n_total=n_configs, n_bins=n_bins, check=False)
        results = {}
        for c in missing:
            try:
                results[c] = accs[c][0].result()
            except IllConditionedError as exc:
                results[c] = exc
        seconds = time.perf_counter() - t0
        fresh = {c: IllConditioned(str(r), seconds) if isinstance(r, Exception) else DreamedMCRG(r, seconds)
                 for c, r in results.items()}
    return {c: cache.cached("mcrg", name, key, lambda c=c: fresh[c], _decode_dreamed)
            for c, (name, key) in entries.items()}


def dreamed_parent_mcrg(model: torch.nn.Module, params: DreamParams, n_configs: int, *, basis: str = "symmetrised",
                        n_bins: int = 32) -> DreamedMCRG | IllConditioned:
    """𝒯 of dreamed configurations with their parent lattice as the coarse lattice (cached).

    Pairs from :func:`dreamrg.dream.iter_parent_child_batches`: the fine lattice is a
    dreamed configuration of size ``2**n_up``, the coarse one the configuration of size
    ``2**(n_up-1)`` the model upsampled it from (no majority rule), so 𝒯 measures how the
    generator itself rescales the operators. Operators of ``basis``, periodic sums.
    """
    conv, suffix = _convention(basis, "periodic")
    key = dream_key(model, params) | {"n_configs": int(n_configs), "n_bins": n_bins, "coarse": "parent"} | conv

    def compute() -> DreamedMCRG | IllConditioned:
        t0 = time.perf_counter()
        acc = MCRGAccumulator(n_bins, n_expected=n_configs, basis=basis)
        for parent, child in iter_parent_child_batches(model, params, n_configs):
            acc.add(child, parent, check_blocking=False)
        try:
            return DreamedMCRG(acc.result(), time.perf_counter() - t0)
        except IllConditionedError as exc:
            return IllConditioned(str(exc), time.perf_counter() - t0)

    return cache.cached("mcrg", f"dream-parent-{model_id(model)}{suffix}", key, compute, _decode_dreamed)


def dreamed_irreps(model: torch.nn.Module, params: DreamParams, n_configs: int, *, seed: int = 0,
                   n_bins: int = 32, progress: bool | None = None) -> IrrepRun | IllConditioned:
    """𝒯 per spin-flip sector and D4 irrep (oriented basis) of dreamed configurations (cached).

    The procedure of :func:`dreamed_mcrg` (one blocking of the final size) with the
    158 oriented operators, or an :class:`IllConditioned` if a correlation matrix is singular.
    """
    key = _dream_key(model, params, n_configs, seed, n_bins) | {"basis": "oriented"}

    def compute() -> IrrepRun | IllConditioned:
        return _irreps_decode(irrep_rows(accumulate_batches(iter_final_batches(model, params, n_configs), levels=1,
                                                            seed=seed, n_total=n_configs, n_bins=n_bins,
                                                            check=False, basis="oriented")))

    return cache.cached("mcrg", f"dream-irreps-{model_id(model)}", key, compute, _irreps_decode,
                        encode=_irreps_encode)
