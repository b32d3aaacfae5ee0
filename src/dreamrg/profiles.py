"""Parameter profiles: the one place that says how big every computation is.

Three profiles exist:

``smoke``
    Tiny sizes used by the test suite (nbval executes every chapter with it).
``quick``
    CI-sized: the whole book in well under 15 minutes on two cores. This is what
    ``jupyter-book build book`` and ``dreamrg book`` use by default.
``paper``
    The statistics of the paper (10^6 configurations per size, sizes up to 128).

Each chapter has a ``parameters`` cell holding ``profile = "quick"`` and
``overrides = {}``; :func:`chapter_params` turns these into the dictionary the
chapter uses. papermill can set either (``-p profile paper``), and
``dreamrg book --set fss.n_configs=1000`` fills ``overrides``. Overrides replace
entries of that chapter's own parameters only; what a chapter reuses from another
chapter (the trained models, the MC sizes) stays at the profile.
"""

from __future__ import annotations

import copy
from typing import Any

PROFILES: tuple[str, ...] = ("smoke", "quick", "paper")

_CHAPTERS: dict[str, dict[str, dict[str, Any]]] = {
    "monte_carlo": {
        "smoke": {
            "validation_sizes": [4, 8],
            "validation_configs": 2000,
            "fss_sizes": [8, 16, 32],
            "fss_configs": 1000,
            "training_sizes": [16],
            "training_M": 500,
            "seed": 2024,
        },
        "quick": {
            "validation_sizes": [8, 16, 32],
            "validation_configs": 20_000,
            "fss_sizes": [8, 16, 32, 64, 128],
            "fss_configs": 20_000,
            "training_sizes": [32],
            "training_M": 10_000,
            "seed": 2024,
        },
        "paper": {
            "validation_sizes": [8, 16, 32],
            "validation_configs": 1_000_000,
            "fss_sizes": [8, 16, 32, 64, 128],
            "fss_configs": 1_000_000,
            "training_sizes": [32, 64, 128],
            "training_M": 1_000_000,
            "seed": 2024,
        },
    },
    "training": {
        "smoke": {
            "ks": [3, 5],
            "L_t": 16,
            "M": 500,
            "epochs": 4,
            "batch_size": 100,
            "weighted_batch_size": {3: 100, 5: 100, 7: 100},
            "fig6_L_t": [16],
            "fig6_M": [250, 500],
            "seed": 7,
        },
        "quick": {
            "ks": [3, 5, 7],
            "L_t": 32,
            "M": 10_000,
            "epochs": 25,
            "batch_size": 500,
            "weighted_batch_size": {3: 500, 5: 500, 7: 500},
            "fig6_L_t": [32],
            "fig6_M": [1_000, 3_000, 10_000],
            "seed": 7,
        },
        "paper": {
            "ks": [3, 5, 7],
            "L_t": 32,
            "M": 1_000_000,
            "epochs": 50,
            "batch_size": 50_000,
            # the authors' released paper-statistics weighted models (L_t = 32, M = 10^6) were trained
            # with these batch sizes (their file names and metadata), not the 5·10^4 of the unweighted ones
            "weighted_batch_size": {3: 100_000, 5: 1_000, 7: 1_000},
            "fig6_L_t": [32, 64, 128],
            "fig6_M": [10_000, 100_000, 1_000_000],
            "seed": 7,
        },
    },
    "dreaming": {
        "smoke": {"n_up": 5, "k": 3, "seed": 4},
        "quick": {"n_up": 7, "k": 7, "seed": 4},
        "paper": {"n_up": 7, "k": 7, "seed": 4},
    },
    "fss": {
        "smoke": {"n_configs": 400, "n_up": 5, "seed": 11, "batch_size": 200},
        "quick": {"n_configs": 20_000, "n_up": 7, "seed": 11, "batch_size": 4096},
        "paper": {"n_configs": 1_000_000, "n_up": 7, "seed": 11, "batch_size": 4096},
    },
    "pdf_collapse": {
        "smoke": {"n_configs": 400, "n_up": 5, "k": 3, "L0_mc": 8, "seed": 13, "batch_size": 200},
        "quick": {"n_configs": 20_000, "n_up": 7, "k": 7, "L0_mc": 8, "seed": 13, "batch_size": 4096},
        "paper": {"n_configs": 1_000_000, "n_up": 7, "k": 7, "L0_mc": 8, "seed": 13, "batch_size": 4096},
    },
    "mcrg": {
        "smoke": {"mc_sizes": [16], "mc_configs": 1000, "levels": 1, "n_up": 4, "dream_configs": 1000,
                  "irrep_sizes": [16], "irrep_configs": 1000, "seed": 17, "batch_size": 500},
        "quick": {"mc_sizes": [32, 128], "mc_configs": 20_000, "levels": 2, "n_up": 7, "dream_configs": 20_000,
                  "irrep_sizes": [32, 128], "irrep_configs": 20_000, "seed": 17, "batch_size": 4096},
        # L = 1024, the last row of the paper's Table III, is left out: ~4x the L = 512 cost per configuration,
        # i.e. about a day of Swendsen-Wang for 10^6 configurations on two cores (the status page lists it as not run)
        # irrep_sizes / irrep_configs: MC sizes and configurations (also per dreamed model) of the lattice-symmetry
        # (oriented basis) analysis; 2·10^5 resolve the anisotropy exponents to ~0.01
        "paper": {"mc_sizes": [32, 128, 512], "mc_configs": 1_000_000, "levels": 2, "n_up": 7,
                  "dream_configs": 1_000_000, "irrep_sizes": [32, 128], "irrep_configs": 200_000, "seed": 17,
                  "batch_size": 4096},
    },
    "complexity": {
        # patience 2: a run also stops after two epochs without a better validation loss and keeps its best
        # epoch (train.stopping_point); the weighted k = 7 run at batch 10^3 diverged (see the chapter)
        "smoke": {"ks": [3], "M": 300, "epochs": 2, "patience": 2, "batch_size": 100, "n_configs": 200, "n_up": 4,
                  "channels": 32, "seed": 19, "batch_dream": 100},
        "quick": {"ks": [3, 7], "M": 3_000, "epochs": 12, "patience": 2, "batch_size": 500, "n_configs": 2_000,
                  "n_up": 7, "channels": 32, "seed": 19, "batch_dream": 1000},
        # batch 10^4 (both weightings), not the paper's 5·10^4: 32 float32 channels of 5·10^4 configurations at
        # L_t = 32, kept for the backward pass, need ~20 GB, more than this 24 GB machine can spare.
        # epochs 12: the compute cap (~30 min per k = 7 epoch on 2 cores); the unweighted k = 7 run reached its
        # target at epoch 7.
        # batch_dream 1000: ~0.3 GB per batch with the offset-table sampler (k = 7), and resumable per batch
        "paper": {"ks": [3, 7], "M": 1_000_000, "epochs": 12, "patience": 2, "batch_size": 10_000,
                  "n_configs": 1_000_000, "n_up": 7, "channels": 32, "seed": 19, "batch_dream": 1000},
    },
}

CHAPTERS: tuple[str, ...] = (
    "intro",
    "monte_carlo",
    "training",
    "dreaming",
    "fss",
    "pdf_collapse",
    "mcrg",
    "complexity",
    "status",
)


def _check_override(chapter: str, key: str, default: Any, value: Any) -> None:
    """Refuse an override whose type differs from the profile's value, or a count below 1.

    Every number in the profiles is a count, a size or a seed: integers ≥ 1, seeds
    ≥ 0. Lists hold such integers (and must not be empty); dicts map kernel sizes to
    such integers.
    """
    least = 0 if "seed" in key else 1

    def count_ok(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and x >= least

    kind = f"integer ≥ {least}"
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok = count_ok(value)
    elif isinstance(default, list):
        ok, kind = isinstance(value, list) and bool(value) and all(map(count_ok, value)), f"a non-empty list of {kind}s"
    elif isinstance(default, dict):
        ok = isinstance(value, dict) and bool(value) and all(map(count_ok, value.values()))
        kind = f"a dict of {kind}s keyed by kernel size"
    else:
        ok, kind = isinstance(value, type(default)), type(default).__name__
    if not ok:
        raise ValueError(f"parameter {key!r} of chapter {chapter!r} must be {kind} "
                         f"(the profile has {default!r}); got {value!r}")


def chapter_params(chapter: str, profile: str = "quick", overrides: dict | None = None) -> dict[str, Any]:
    """Return the parameters of ``chapter`` under ``profile``, with ``overrides`` applied.

    Parameters
    ----------
    chapter : str
        Chapter name (the stem of its file in ``book/``).
    profile : {"smoke", "quick", "paper"}
        Profile name.
    overrides : dict, optional
        Values replacing individual entries; unknown keys are an error.

    Returns
    -------
    dict
        A fresh copy; also contains ``"profile"``.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    if chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; allowed: {', '.join(CHAPTERS)}")
    params = copy.deepcopy(_CHAPTERS.get(chapter, {}).get(profile, {}))
    for key, value in (overrides or {}).items():
        if key not in params:
            allowed = ", ".join(sorted(params)) or "none"
            raise ValueError(f"unknown parameter {key!r} for chapter {chapter!r}; allowed: {allowed}")
        _check_override(chapter, key, params[key], value)
        params[key] = value
    params["profile"] = profile
    return params
