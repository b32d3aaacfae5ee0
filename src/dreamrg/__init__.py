"""dreamrg: inverse renormalisation group for the critical 2D Ising model.

Public API (one module per pipeline stage):

* :mod:`dreamrg.exact`        exact finite-size results (Kaufman, enumeration)
* :mod:`dreamrg.mc`           Swendsen–Wang / Wolff Monte Carlo into a store
* :mod:`dreamrg.store`        bit-packed, chunked configuration stores
* :mod:`dreamrg.observables`  χ, c_me, c, U4 with jackknife errors, τ_int
* :mod:`dreamrg.profiles`     parameter profiles (smoke / quick / paper)
* :mod:`dreamrg.cache`        parameter-keyed result cache under ``data/``
* :mod:`dreamrg.bookrun`      papermill + Jupyter Book runner
"""

from dreamrg._version import __version__
from dreamrg.store import import_configs, load_configs

__all__ = ["__version__", "load_configs", "import_configs"]
