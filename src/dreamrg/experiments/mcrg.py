"""The MCRG experiments (Tables III-IV, Fig. 10): Monte Carlo at the chapter's sizes (stored or streamed), the
dreamed configurations of our models and the authors', their seed spread, parent lattices and D4 irreps."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from dreamrg import released
from dreamrg.conventions import OURS, PAPER_TABLE_IV_DREAMED, Convention
from dreamrg.dream import DreamParams
from dreamrg.experiments.models import ModelId, as_profile, authors_models, trained_models
from dreamrg.mcrg import MCRGResult, StreamProgress
from dreamrg.profiles import Profile
from dreamrg.runs import mcrg as _mcrg

__all__ = ["STREAMED_MC_ORDER", "mcrg_mc", "mcrg_mc_streamed", "carried_dir", "mcrg_reference_size", "mcrg_reference",
           "mcrg_truncations", "mcrg_irreps_mc", "mcrg_dream_params", "mcrg_models", "DREAMED_CONVENTIONS",
           "small_lattice_start", "mcrg_dreamed", "mcrg_spread_seeds", "mcrg_seed_spread", "mcrg_parent",
           "mcrg_irreps_dreamed"]


def _check_steps(convention: Convention, levels: int, what: str) -> None:
    if convention.step is not None and convention.step > levels:
        raise ValueError(f"convention {convention.name!r} reads blocking step {convention.step}, but {what} "
                         f"computes {levels} step(s)")


def mcrg_mc(profile: Profile | str, convention: Convention = OURS) -> dict[int, _mcrg.MCRGRun]:
    """Cached MCRG results of MC configurations for the MCRG chapter's sizes (every blocking step).

    Sizes of ``mcrg.mc_streamed`` are not stored: their configurations are blocked as the chains
    make them, in every MC convention in one pass (:func:`_mcrg_streamed_mc`), and resume across
    sittings and machines from :func:`carried_dir`. Their jackknife bins hold whole chains
    (:data:`STREAMED_MC_ORDER`); the exponents equal those of the stored run analysed so.

    ``convention`` (:mod:`dreamrg.conventions`) chooses the operator basis and boundary; its
    step must be among the profile's ``levels`` (every step is returned; read it with
    ``run[convention.level]``).
    """
    p = as_profile(profile)
    P = p.mcrg
    _check_steps(convention, P.levels, f"profile {p.name!r} (mcrg.levels)")
    conv = (convention.basis, convention.boundary)
    return {L: _mcrg_streamed_mc(p, L, conv) if L in P.mc_streamed else
            _mcrg.mc_mcrg(L, P.mc_configs, p.data_seed, levels=P.levels, basis=conv[0], boundary=conv[1])
            for L in P.mc_sizes}


#: the jackknife order of the sizes of ``mcrg.mc_streamed``: one whole chain per bin (runs.mcrg.stream_params), so
#: each carried chain holds one piece of moments per convention and step (in the run's own order, 8.1 at L = 512, 10^6)
STREAMED_MC_ORDER = "chain"


def _mcrg_streamed_mc(p: Profile, L: int, conv: tuple[str, str]) -> _mcrg.MCRGRun:
    """An MC size of ``mcrg.mc_streamed``: every MC convention streamed in one pass (and ``conv`` if not among them),
    its finished chains carried in :func:`dreamrg.paths.carried_dir` between sittings, binned chain by chain
    (:data:`STREAMED_MC_ORDER`)."""
    from dreamrg import _cluster
    from dreamrg.conventions import MC_CONVENTIONS

    P = p.mcrg
    conventions = list(dict.fromkeys([*MC_CONVENTIONS, conv]))
    args = (L, P.mc_configs, p.data_seed, P.levels, conventions)
    carry = carried_dir(_mcrg.mc_mcrg_streamed_conventions_name(*args, order=STREAMED_MC_ORDER))
    return _mcrg.mc_mcrg_streamed_conventions(*args, client=_cluster.current(), carry=carry,
                                              order=STREAMED_MC_ORDER)[conv]


def mcrg_mc_streamed(profile: Profile | str, convention: Convention = OURS, *, compute: bool = False
                     ) -> dict[int, _mcrg.MCRGRun | StreamProgress | None]:
    """The MCRG chapter's streamed sizes (``mcrg.stream_sizes``, ``stream_configs`` configurations each).

    Streamed from the Monte Carlo chains, none stored (:func:`dreamrg.runs.mcrg.mc_mcrg_streamed`),
    with the seeds of :func:`mcrg_mc`. By default nothing is computed (such a run spans sittings, in
    the background): each size gives its :class:`~dreamrg.runs.mcrg.MCRGRun` once finished, else the
    :class:`~dreamrg.mcrg.StreamProgress` of its checkpoints, else None (not started). ``compute``
    runs (or resumes) them here instead.

    Each run's finished chains are carried in the repository, in :func:`carried_dir` (such a run
    outlasts a sitting, and the next sitting may be on a machine that has none of this one's data):
    read for the status, imported before a computation and exported after it.
    """
    p = as_profile(profile)
    P = p.mcrg
    _check_steps(convention, P.levels, f"profile {p.name!r} (mcrg.levels)")
    how = _mcrg.mc_mcrg_streamed if compute else _mcrg.mc_mcrg_streamed_status
    out = {}
    for L in P.stream_sizes:
        args = (L, P.stream_configs, p.data_seed, P.levels)
        conv = dict(basis=convention.basis, boundary=convention.boundary)
        carry = carried_dir(_mcrg.mc_mcrg_stream_name(*args, **conv))
        if (carry.parent / "result.json").is_file():  # finished in an earlier sitting, on another machine
            from dreamrg.runs.carry import import_entry

            import_entry(carry.parent, "mcrg")
        out[L] = how(*args, **conv, carry=carry)
    return out


def carried_dir(name: str, root: Path | None = None) -> Path:
    """Where the streamed MCRG run of entry ``name`` carries its finished chains: ``mcrg/<entry>/run`` of
    :func:`dreamrg.paths.carried_dir` (the layout of :mod:`dreamrg.runs.carry`), kept in git between sittings.

    ``name`` is the run's cache entry name (:func:`dreamrg.runs.mcrg.mc_mcrg_stream_name`,
    :func:`~dreamrg.runs.mcrg.mc_mcrg_streamed_conventions_name`).
    """
    from dreamrg import paths

    return paths.carried_dir(root) / "mcrg" / name / "run"


def mcrg_reference_size(profile: Profile | str) -> int:
    """MC size whose first blocking step the dreamed configurations are compared with.

    The dreamed size ``2**n_up`` when the MCRG chapter simulates it (the paper's
    Table IV compares at L = 128), else the largest MC size of the profile.
    """
    P = as_profile(profile).mcrg
    return 2 ** P.n_up if 2 ** P.n_up in P.mc_sizes else max(P.mc_sizes)


def mcrg_reference(profile: Profile | str, convention: Convention = OURS) -> MCRGResult:
    """MC at :func:`mcrg_reference_size` in the convention's basis and boundary, at its step (the first
    for ``OURS``)."""
    p = as_profile(profile)
    run = mcrg_mc(p, dataclasses.replace(convention, step=None))[mcrg_reference_size(p)]
    level = convention.level or 0
    if level >= len(run):
        raise ValueError(f"profile {p.name!r} computes {len(run)} blocking step(s), not step {convention.step}")
    return run[level]


def mcrg_truncations(profile: Profile | str) -> dict[int, _mcrg.TruncationScan]:
    """Exponents for several operator truncations of the smallest MC size of the MCRG chapter (cached)."""
    p = as_profile(profile)
    L = min(p.mcrg.mc_sizes)
    return {L: _mcrg.mc_truncations(L, p.mcrg.mc_configs, p.data_seed, levels=p.mcrg.levels)}


def mcrg_irreps_mc(profile: Profile | str) -> dict[int, _mcrg.IrrepRun | _mcrg.IllConditioned]:
    """𝒯 of MC configurations by spin-flip sector and D4 irrep, for the MCRG chapter's ``irrep_sizes``."""
    p = as_profile(profile)
    P = p.mcrg
    return {L: _mcrg.mc_irreps(L, P.irrep_configs, p.data_seed, levels=P.levels) for L in P.irrep_sizes}


def mcrg_dream_params(profile: Profile | str) -> DreamParams:
    """How the MCRG chapter dreams: its ``n_up`` and batch size, with the FSS chapter's dreaming seed."""
    p = as_profile(profile)
    return DreamParams(n_up=p.mcrg.n_up, seed=p.mcrg_dream_seed, batch_size=p.mcrg.batch_size)


def mcrg_models(profile: Profile | str) -> dict[ModelId, torch.nn.Module]:
    """The models the MCRG chapter dreams with: ours (AdamW) and the authors' single-layer ones."""
    return trained_models(profile) | authors_models()


#: the conventions of the dreamed analyses: computed together, from one pass of dreaming per model (and start)
DREAMED_CONVENTIONS: tuple[Convention, ...] = (OURS, PAPER_TABLE_IV_DREAMED)


def small_lattice_start(mid: ModelId) -> tuple[torch.nn.Module, int] | None:
    """The authors' small-lattice start of a released model: (its k = 3 partner, N), else None.

    :func:`dreamrg.released.small_lattice_start` for the authors' single-layer k = 5, 7 models
    and two-layer k = 7 networks; None for every other model (ours, k = 3).
    """
    if mid.source != "authors":
        return None
    match = [r for r in released.released_models().values()
             if (r.depth, r.k, r.weighted, r.L_t, r.M) == (mid.depth, mid.k, mid.weighted, mid.L_t, mid.M)]
    start = released.small_lattice_start(match[0].name) if len(match) == 1 else None
    return None if start is None else (released.released_model(start[0]).model(), start[1])


def _dream_start(mid: ModelId, convention: Convention, params: DreamParams):
    """``(params, prefix)`` a dreamed analysis of ``mid`` in ``convention`` dreams with."""
    start = small_lattice_start(mid) if convention.small_lattice_start else None
    if start is None:
        return params, None
    return dataclasses.replace(params, prefix_levels=start[1]), start[0]


def mcrg_dreamed(profile: Profile | str, convention: Convention = OURS,
                 models_: dict[ModelId, torch.nn.Module] | None = None
                 ) -> dict[ModelId, _mcrg.DreamedMCRG | _mcrg.IllConditioned]:
    """Cached MCRG results (one blocking of the final size) of every model of :func:`mcrg_models`.

    ``convention`` chooses the operator basis and boundary (the dreamed lattice is blocked
    once, so its step must be 1 or every step); ``models_`` replaces the models. Every
    convention of :data:`DREAMED_CONVENTIONS` that dreams ``mid`` the same way (with or
    without the authors' small-lattice start, :func:`small_lattice_start`) is computed (and
    cached) in the same pass of dreaming, so asking for one of them after another dreams
    nothing again.
    """
    p = as_profile(profile)
    _check_steps(convention, 1, "the dreamed analysis")
    params = mcrg_dream_params(p)
    chosen = mcrg_models(p) if models_ is None else models_
    out = {}
    for mid, m in chosen.items():
        how, prefix = _dream_start(mid, convention, params)
        wanted = list(dict.fromkeys((c.basis, c.boundary) for c in DREAMED_CONVENTIONS + (convention,)
                                    if _dream_start(mid, c, params)[0] == how))
        out[mid] = _mcrg.dreamed_mcrg_conventions(m, how, p.mcrg.dream_configs, wanted, seed=p.mcrg.seed,
                                                  prefix=prefix)[(convention.basis, convention.boundary)]
    return out


def mcrg_spread_seeds(profile: Profile | str) -> list[tuple[int, int]]:
    """``(dreaming seed, tie-break seed)`` of each seed i = 0 … ``spread_seeds`` − 1 of :func:`mcrg_seed_spread`.

    Both from ``SeedSequence([mcrg.seed, 1000 + i]).generate_state(2)`` (two 32-bit words): a
    stream of its own per i, unrelated to the chapter's main run (dreaming seed
    :attr:`~dreamrg.profiles.Profile.mcrg_dream_seed`, tie-breaks ``mcrg.seed``) and to the other i.
    """
    P = as_profile(profile).mcrg
    return [tuple(int(s) for s in np.random.SeedSequence([P.seed, 1000 + i]).generate_state(2))
            for i in range(P.spread_seeds)]


def mcrg_seed_spread(profile: Profile | str, convention: Convention = PAPER_TABLE_IV_DREAMED,
                     models_: dict[ModelId, torch.nn.Module] | None = None
                     ) -> dict[ModelId, list[_mcrg.DreamedMCRG | _mcrg.IllConditioned]]:
    """The dreamed MCRG of each model with ``spread_seeds`` independent seeds (cached), in seed order.

    Per model and seed (:func:`mcrg_spread_seeds`), ``spread_configs`` configurations are dreamed
    as :func:`mcrg_dreamed` dreams them for :data:`~dreamrg.conventions.PAPER_TABLE_IV_DREAMED`
    (the MCRG chapter's ``n_up`` and batch size, the authors' small-lattice start for their k = 5, 7
    models) with that seed's dreaming seed, blocked once with its tie-break seed, and analysed in
    the bases of :data:`DREAMED_CONVENTIONS` and ``convention`` in one pass (each kept under the
    normal dreamed-MCRG entry of :func:`dreamrg.runs.mcrg.dreamed_mcrg`). ``convention`` chooses the
    basis and boundary returned; the dreams are those of the paper's convention whatever it is, so
    :data:`~dreamrg.conventions.OURS` here means symmetrised operators on those same dreams (for the
    authors' k = 5, 7 models not :func:`mcrg_dreamed`'s, which dreams them without the start).
    ``models_``: by default the authors' six released single-layer models (:func:`authors_models`).
    The scatter of the S results against their jackknife errors tests the errors
    (:func:`dreamrg.stats.seed_spread`).
    """
    p = as_profile(profile)
    _check_steps(convention, 1, "the dreamed analysis")
    wanted = list(dict.fromkeys((c.basis, c.boundary) for c in DREAMED_CONVENTIONS + (convention,)))
    out: dict[ModelId, list] = {}
    for mid, m in (authors_models() if models_ is None else models_).items():
        out[mid] = []
        for dream_seed, tie_seed in mcrg_spread_seeds(p):
            params = dataclasses.replace(mcrg_dream_params(p), seed=dream_seed)
            how, prefix = _dream_start(mid, PAPER_TABLE_IV_DREAMED, params)
            res = _mcrg.dreamed_mcrg_conventions(m, how, p.mcrg.spread_configs, wanted, seed=tie_seed, prefix=prefix)
            out[mid].append(res[(convention.basis, convention.boundary)])
    return out


def mcrg_parent(profile: Profile | str) -> dict[ModelId, _mcrg.DreamedMCRG | _mcrg.IllConditioned]:
    """𝒯 of the authors' released models with the dreamed lattice's parent as the coarse lattice (cached).

    :func:`dreamrg.runs.mcrg.dreamed_parent_mcrg` with ``parent_configs`` configurations of the
    MCRG chapter's dreamed size, symmetrised operators.
    """
    p = as_profile(profile)
    params = mcrg_dream_params(p)
    return {mid: _mcrg.dreamed_parent_mcrg(m, params, p.mcrg.parent_configs) for mid, m in authors_models().items()}


def mcrg_irreps_dreamed(profile: Profile | str) -> dict[ModelId, _mcrg.IrrepRun | _mcrg.IllConditioned]:
    """Lattice-symmetry analysis (``irrep_configs`` configurations) of every model of :func:`mcrg_models`."""
    p = as_profile(profile)
    params = mcrg_dream_params(p)
    return {mid: _mcrg.dreamed_irreps(m, params, p.mcrg.irrep_configs, seed=p.mcrg.seed)
            for mid, m in mcrg_models(p).items()}
