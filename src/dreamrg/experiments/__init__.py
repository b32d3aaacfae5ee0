"""Which models and results a profile means: the experiments of the book, keyed by :class:`ModelId`.

A chapter asks for "our single-layer models", "the authors' released ones", "the
two-layer networks", or the cached results computed from them, at a profile; the
functions here read the :class:`~dreamrg.profiles.Profile` (its sections and named
cross-chapter members), choose the models and call the cached recipes of
:mod:`dreamrg.runs`. Every function takes a ``Profile`` (or the name of a built-in
one); a chapter's own overrides are part of the profile it passes
(``load_profile(name, {"fss": overrides})``). Results come back keyed by
:class:`ModelId` (the model's identity, with the paper's row label as
:attr:`ModelId.label`) and, for Monte Carlo, by lattice size. The tables against the paper are built from them in
:mod:`dreamrg.tables`.

Modules, one per group of chapters (every name is imported from the package itself):

* :mod:`~dreamrg.experiments.models` -- :class:`ModelId`, our single-layer models and the authors' released ones;
* :mod:`~dreamrg.experiments.fss` -- Monte Carlo and dreamed summaries, Table II, the PDF collapse;
* :mod:`~dreamrg.experiments.mcrg` -- the Monte Carlo renormalisation group of MC and dreamed configurations;
* :mod:`~dreamrg.experiments.complexity` -- the two-layer networks;
* :mod:`~dreamrg.experiments.offcritical` -- beyond the paper: dreaming off criticality.
"""

from dreamrg.experiments import complexity, fss, mcrg, models, offcritical
from dreamrg.experiments.complexity import (
    authors_two_layer_models,
    complexity_dream_params,
    complexity_single_layer,
    two_layer_models,
    two_layer_params,
    two_layer_summaries,
    two_layer_targets,
    validation_losses,
)
from dreamrg.experiments.fss import (
    authors_fss,
    dreamed_summaries,
    fss_dream_params,
    fss_dream_spread,
    fss_spread_seeds,
    mc_followup,
    mc_followup_seeds,
    mc_spread_seeds,
    mc_summaries,
    mc_training_store_paths,
    mc_training_stores,
    mc_validation,
    mc_validation_spread,
    pdf_from_mc,
    pdf_from_one,
    pdf_models,
    plot_sizes,
    seed_spread_results,
    table_ii_results,
    table_ii_rows,
    training_size_summaries,
)
from dreamrg.experiments.mcrg import (
    DREAMED_CONVENTIONS,
    STREAMED_MC_ORDER,
    carried_dir,
    mcrg_dream_params,
    mcrg_dreamed,
    mcrg_irreps_dreamed,
    mcrg_irreps_mc,
    mcrg_mc,
    mcrg_mc_streamed,
    mcrg_models,
    mcrg_parent,
    mcrg_reference,
    mcrg_reference_size,
    mcrg_seed_spread,
    mcrg_spread_seeds,
    mcrg_truncations,
    small_lattice_start,
)
from dreamrg.experiments.models import (
    AUTHORS_L_T,
    AUTHORS_M,
    MC,
    SOURCES,
    ModelId,
    as_profile,
    authors_models,
    authors_release,
    paper_row,
    row_label,
    single_layer_fits,
    single_layer_params,
    trained_model,
    trained_models,
    training_size_models,
)
from dreamrg.experiments.offcritical import (
    Unavailable,
    offcritical_degrees,
    offcritical_dreamed,
    offcritical_mc,
    offcritical_range,
    offcritical_training,
)

#: every name of the modules, in the order of the list above
__all__: list[str] = [name for module in (models, fss, mcrg, complexity, offcritical) for name in module.__all__]
