"""Cached recipes: every computation whose result is kept in the result cache (``data/``).

The stage modules below this package compute; the modules here decide what is cached
under which key and hand back typed results:

* :mod:`dreamrg.runs.mc`         Monte Carlo stores and training/validation sets
* :mod:`dreamrg.runs.models`     trained models and their reuse rule
* :mod:`dreamrg.runs.ensembles`  dreamed ensembles
* :mod:`dreamrg.runs.summaries`  observables of MC stores and dreamed ensembles (:class:`MCSummary`,
  :class:`DreamSummary`)
* :mod:`dreamrg.runs.mcrg`       MCRG exponents of MC and dreamed configurations
* :mod:`dreamrg.runs.offcritical` MC stores at couplings around K_c, their analysis, and the dreamed side
* :mod:`dreamrg.runs.inventory`  what the cache holds
"""
