"""MCRG straight from Monte Carlo, without storing a configuration.

Each Monte Carlo chunk (:mod:`dreamrg.mc`: chunk ``j`` of the run with
:class:`~dreamrg.mc.MCParams` ``params``) is generated, blocked and accumulated
(:func:`~dreamrg.mcrg.accumulate_chunk`), then dropped. After every group of
chunks the accumulators are written atomically to a checkpoint file, with the
index of the next chunk: an interrupted run resumes there, losing and
repeating nothing. The accumulators equal bit for bit those of
:func:`~dreamrg.mcrg.accumulate_store` on a store filled by
:func:`dreamrg.mc.run` with the same parameters -- the chunks are the same
configurations and carry the same tie-breaks -- while memory and disk stay at
a few chunks and a few MB whatever the number of configurations (at L = 1024,
10^6 configurations would fill 131 GB).
"""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dreamrg.mcrg.accumulator import MCRGAccumulator
from dreamrg.mcrg.drivers import _check_levels, accumulate_chunk
from dreamrg.mcrg.results import MCRGResult
from dreamrg.mcrg.spin_operators import get_basis

if TYPE_CHECKING:
    from dreamrg.mc import MCParams

__all__ = ["accumulate_mc", "mcrg_from_mc", "read_checkpoint", "CHECKPOINT_KIND"]

#: ``kind`` recorded in every checkpoint of :func:`accumulate_mc`
CHECKPOINT_KIND = "dreamrg-mcrg-from-mc"


def _mc_chunks(params: MCParams, chunks: list[int], n_records: int) -> np.ndarray:
    """The one call into :mod:`dreamrg.mc`: chunks ``chunks`` (``n_records`` each), shape (C, n_records, L, L)."""
    from dreamrg import mc

    return mc.sample_chains(params, chunks, n_records)


def _run_key(params: MCParams, n_configs: int, levels: int, seed: int, n_bins: int, basis: str) -> dict:
    """What a checkpoint must match to be resumed: the Monte Carlo and the analysis."""
    return {"kind": CHECKPOINT_KIND, "mc": params.store_meta(), "n_configs": int(n_configs), "levels": int(levels),
            "seed": int(seed), "n_bins": int(n_bins), "basis": basis}


def read_checkpoint(path: str | Path) -> tuple[list[MCRGAccumulator], dict]:
    """The accumulators and the record (run key, ``next_chunk``, timings) of a checkpoint.

    Raises ``ValueError`` naming the file if it is not a readable checkpoint of
    :func:`accumulate_mc` (damaged, foreign). Never unpickles.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if not isinstance(meta, dict) or meta.get("kind") != CHECKPOINT_KIND:
                raise ValueError("its meta record is not that of an MCRG-from-MC run")
            accs = [MCRGAccumulator.from_arrays({k[len(f"level{i}."):]: z[k] for k in z.files
                                                 if k.startswith(f"level{i}.")})
                    for i in range(int(meta["levels"]))]
    except (ValueError, KeyError, OSError, zipfile.BadZipFile, EOFError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise ValueError(f"{path} is not a readable MCRG checkpoint ({exc}); delete it to start the run again") from None
    return accs, meta


def _write_checkpoint(path: Path, accs: list[MCRGAccumulator], meta: dict) -> None:
    """Write the checkpoint in one rename (the previous one stays whole until then)."""
    from dreamrg.cache import atomic_file

    arrays = {"meta": np.array(json.dumps(meta, sort_keys=True))}
    for i, acc in enumerate(accs):
        arrays |= {f"level{i}.{k}": v for k, v in acc.to_arrays().items()}
    with atomic_file(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def accumulate_mc(params: MCParams, n_configs: int, checkpoint: str | Path, *, levels: int = 1, seed: int = 0,
                  n_bins: int = 32, basis: str = "symmetrised", workers: int | None = None,
                  progress: bool | None = None) -> list[MCRGAccumulator]:
    """Accumulate MCRG moments of ``n_configs`` Monte Carlo configurations, chunk by chunk, storing none.

    Parameters
    ----------
    params : dreamrg.mc.MCParams
        The Monte Carlo run; its ``chunk_size`` is the unit of work and of checkpointing.
    n_configs : int
        Configurations in all (fixes the jackknife bins).
    checkpoint : path
        File holding the accumulators between chunks (``.npz`` format, written
        atomically). If it exists the run resumes from it; it must then belong
        to the same run (parameters, ``n_configs``, analysis). A finished
        checkpoint is returned at once.
    levels, seed, n_bins, basis
        As in :func:`~dreamrg.mcrg.accumulate_store` (``seed`` is the tie-break seed).
    workers : int, optional
        Numba threads (default all); does not change the result.
    progress : bool, optional
        tqdm progress bar (None: only on a terminal).

    Returns
    -------
    list of MCRGAccumulator
        One per blocking step, equal to ``accumulate_store`` of the store
        ``dreamrg.mc.run(params, n_configs, ...)`` would fill.
    """
    import numba
    from tqdm import tqdm

    from dreamrg import mc
    from dreamrg._numba import numba_threads
    from dreamrg._progress import _no_bar
    from dreamrg.store import check_count, n_chunks, writer_lock

    n_configs = check_count(n_configs)
    _check_levels(levels, params.L)
    get_basis(basis)
    fresh = [MCRGAccumulator(n_bins, n_expected=n_configs, level=k, basis=basis) for k in range(levels)]
    threads = workers or numba.config.NUMBA_NUM_THREADS
    parallel = mc.parallel_chains(params, threads)  # one clear error before any work if a chain does not fit
    key = _run_key(params, n_configs, levels, seed, n_bins, basis)
    path = Path(checkpoint)
    C, last = params.chunk_size, n_chunks(n_configs, params.chunk_size)
    with writer_lock(path, "MCRG checkpoint"):
        if path.exists():
            accs, meta = read_checkpoint(path)
            diff = sorted(k for k in key if meta.get(k) != key[k])
            if diff:
                raise ValueError(f"checkpoint {path} belongs to another run (it differs in {', '.join(diff)}); "
                                 "give another checkpoint path, or delete it to start again")
        else:
            accs, meta = fresh, key | {"next_chunk": 0, "seconds_mc": 0.0, "seconds_mcrg": 0.0}
        j = int(meta["next_chunk"])
        if not all(a.count == min(j * C, n_configs) for a in accs):
            raise ValueError(f"checkpoint {path} is inconsistent: its accumulators do not hold chunks 0..{j - 1}; "
                             "delete it to start again")
        with numba_threads(threads), tqdm(total=n_configs, initial=min(j * C, n_configs),
                                          disable=_no_bar(progress), unit="cfg",
                                          desc=f"MC+MCRG L={params.L}") as bar:
            while j < last:
                # as dreamrg.mc.run: full chunks run in parallel, the (possibly partial) last one alone
                group = [c for c in range(j, min(j + parallel, last)) if (c + 1) * C <= n_configs]
                n_rec = C
                if not group:
                    group, n_rec = [j], n_configs - j * C
                t0 = time.perf_counter()
                configs = _mc_chunks(params, group, n_rec)
                t1 = time.perf_counter()
                for i, c in enumerate(group):
                    part = accumulate_chunk(configs[i], c, chunk_size=C, n_total=n_configs, levels=levels,
                                            seed=seed, n_bins=n_bins, basis=basis, threads=threads, check=False)
                    for acc, p in zip(accs, part):
                        acc.merge(p)
                del configs
                j = group[-1] + 1
                meta |= {"next_chunk": j, "seconds_mc": meta["seconds_mc"] + (t1 - t0),
                         "seconds_mcrg": meta["seconds_mcrg"] + (time.perf_counter() - t1)}
                _write_checkpoint(path, accs, meta)
                bar.update(len(group) * n_rec)
    return accs


def mcrg_from_mc(params: MCParams, n_configs: int, checkpoint: str | Path, *, levels: int = 1, seed: int = 0,
                 n_bins: int = 32, n_odd: int | None = None, n_even: int | None = None,
                 workers: int | None = None, progress: bool | None = None) -> list[MCRGResult]:
    """MCRG exponents of every blocking step of :func:`accumulate_mc` (same arguments; ``n_odd``,
    ``n_even`` as in :func:`~dreamrg.mcrg.rg_exponents`)."""
    from dreamrg.mcrg.accumulator import _sector_indices

    _sector_indices("odd", n_odd), _sector_indices("even", n_even)  # a bad truncation fails before the work
    accs = accumulate_mc(params, n_configs, checkpoint, levels=levels, seed=seed, n_bins=n_bins,
                         workers=workers, progress=progress)
    return [a.result(n_odd=n_odd, n_even=n_even) for a in accs]
