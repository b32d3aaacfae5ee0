"""dreamrg: inverse renormalisation group for the critical 2D Ising model.

Layers, lowest first (no module imports from a layer above its own):
base (cache mechanics, stats, paths, exact, profiles, ...), stages (below),
runs (:mod:`dreamrg.runs`: every cached recipe), experiments and tables
(:mod:`dreamrg.experiments`, :mod:`dreamrg.tables`), presentation (plotting,
display, bookrun, cli).

One module per pipeline stage:

* :mod:`dreamrg.exact`        exact finite-size results (Kaufman, enumeration)
* :mod:`dreamrg.mc`           Swendsen–Wang / Wolff Monte Carlo into a store
* :mod:`dreamrg.store`        bit-packed, chunked configuration stores
* :mod:`dreamrg.coarse`       majority-rule blocking and nearest-neighbour upsampling
* :mod:`dreamrg.models`       the symmetric single-layer and two-layer upscalers, model files
* :mod:`dreamrg.patches`      patch geometry shared by the exact fit, the sampler and training
* :mod:`dreamrg.train`        AdamW training and the exact optimum of a training set
* :mod:`dreamrg.exact_fit`    the exact optimum of the single-layer loss
* :mod:`dreamrg.conditioned`  the temperature-conditioned upscaler (weights polynomial in t = K/K_c − 1)
  and its level schedules; :mod:`dreamrg.conditioned_fit`, :mod:`dreamrg.train_conditioned` its fits
* :mod:`dreamrg.sampler`      fast table-driven upscaling sampler
* :mod:`dreamrg.dream`        dreamed ensembles (iterated upscaling), streamed to disk
* :mod:`dreamrg.observables`  χ, c_me, c, U4 with jackknife errors, τ_int
* :mod:`dreamrg.fss`          finite-size scaling, Table II exponents, PDFs of m
* :mod:`dreamrg.mcrg`         Monte Carlo renormalisation group

Around them:

* :mod:`dreamrg.profiles`     parameter profiles (smoke / quick / paper)
* :mod:`dreamrg.cache`        parameter-keyed result cache under ``data/``
* :mod:`dreamrg.runs`         the cached recipes (stores, models, ensembles, summaries, MCRG)
* :mod:`dreamrg.experiments`  which models and results a profile means (:class:`~dreamrg.experiments.ModelId`)
* :mod:`dreamrg.tables`       the tables against the paper
* :mod:`dreamrg.display`      notebook display of kept snapshots
* :mod:`dreamrg.bookrun`      papermill + Jupyter Book runner
"""

from dreamrg._version import __version__
from dreamrg.store import import_configs, load_configs


def load_model(path, expected=None):
    """Load a model file written by ``dreamrg train``: :func:`dreamrg.models.load_model`, or
    :func:`dreamrg.conditioned.load_conditioned` for a temperature-conditioned model (when ``expected`` is None)."""
    if expected is None:
        from dreamrg.conditioned import load_upscaler

        return load_upscaler(path)
    from dreamrg.models import load_model as _load

    return _load(path, expected)


__all__ = ["__version__", "load_configs", "import_configs", "load_model"]
