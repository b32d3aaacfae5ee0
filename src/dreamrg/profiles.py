"""Parameter profiles: the one place that says how big every computation is.

Three profiles are built in (:data:`PROFILES`):

``smoke``
    Tiny sizes used by the test suite (nbval executes every chapter with it).
``quick``
    CI-sized: the whole book in well under 15 minutes on two cores. This is what
    ``jupyter-book build book`` and ``dreamrg book`` use by default.
``paper``
    The statistics of the paper (10^6 configurations per size, sizes up to 128).

A profile is a frozen :class:`Profile`: a name and one frozen, validated section
per chapter (:class:`MonteCarloSection`, :class:`TrainingSection`, ...). What one
chapter reuses from another (the MC seed of the training sets, the trained kernel
sizes, the FSS chapter's dreaming seed that the MCRG chapter reuses, ...) is a
named, documented property of :class:`Profile` rather than a look-up into another
chapter's section. :meth:`Profile.key` hashes the values for cache keys.

:func:`load_profile` returns a built-in profile with ``overrides``
(``{chapter: {key: value}}``) and/or a user TOML file (one table per chapter,
optional ``base = "paper"`` and ``name = "..."``) applied, validated as a whole.

Each chapter has a ``parameters`` cell holding ``profile = "quick"`` and
``overrides = {}`` and reads its parameters through
``load_profile(profile, {chapter: overrides})``: its own section
(``prof.fss.n_configs``) and the named cross-chapter members (``prof.mc_fss``).
papermill can set either (``-p profile paper``), and ``dreamrg book --set
fss.n_configs=1000`` fills ``overrides``. Such overrides reach that chapter only;
the other chapters, and so what a chapter reuses from them (the trained models, the
MC sizes), stay at the profile. A chapter without parameters (``status``) refuses
any override the same way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

PROFILES: tuple[str, ...] = ("smoke", "quick", "paper")

CHAPTERS: tuple[str, ...] = (
    "intro",
    "monte_carlo",
    "training",
    "dreaming",
    "fss",
    "pdf_collapse",
    "mcrg",
    "complexity",
    "offcritical",
    "status",
    "cluster",
    "appendix_paper_run",
)

from dreamrg._sections import (  # noqa: F401 - re-exported: profiles is where callers look for them
    IntMap,
    MAX_N_UP,
    MCRG_MIN_L_FINE,
    MCRG_N_BINS,
    _K,
    _L,
    _M,
    _MCRG_N,
    _N_UP,
    _Section,
    _fail,
    _is_count,
    _kind_text,
    _normalise,
    _odd_kernel,
    _param,
    _plain,
    _seed,
)


@dataclass(frozen=True)
class MonteCarloSection(_Section):
    """The Monte Carlo chapter: validation against the exact solution, FSS ensembles, training sets."""

    CHAPTER: ClassVar[str] = "monte_carlo"
    validation_sizes: tuple[int, ...] = _param("ints", **_L, doc="sizes compared with the exact solution")
    validation_configs: int = _param(doc="configurations per validation size")
    fss_sizes: tuple[int, ...] = _param("ints", **_L, doc="sizes of the MC finite-size-scaling ensembles")
    fss_configs: int = _param(doc="configurations per FSS size")
    training_sizes: tuple[int, ...] = _param("ints", **_L, doc="L_t of the training sets shown")
    training_M: int = _param(**_M, doc="training-set size M shown")
    spread_seeds: int = _param(least=2, doc="independent MC seeds per validation size and algorithm of the many-seed "
                               "check against the exact solution (experiments.mc_validation_spread)")
    spread_configs: int = _param(doc="configurations per seed of that check")
    followup_seeds: int = _param(least=2, doc="fresh MC seeds with which the check's line furthest from the exact "
                                 "value is simulated again (experiments.mc_followup)")
    followup_configs: int = _param(doc="configurations per seed of that follow-up")
    seed: int = _seed("MC seed of every cached MC store (the profile's data_seed)")


@dataclass(frozen=True)
class TrainingSection(_Section):
    """The training chapter: the single-layer models."""

    CHAPTER: ClassVar[str] = "training"
    ks: tuple[int, ...] = _param("ints", **_K, doc="kernel sizes trained")
    L_t: int = _param(**_L, doc="training lattice size")
    M: int = _param(**_M, doc="training-set size")
    epochs: int = _param()
    batch_size: int = _param()
    weighted_batch_size: IntMap = _param("map", doc="batch size of the weighted AdamW model of each k")
    fig6_L_t: tuple[int, ...] = _param("ints", **_L, doc="L_t of the exact fits of Fig. 6")
    fig6_M: tuple[int, ...] = _param("ints", **_M, doc="M of the exact fits of Fig. 6")
    seed: int = _seed("training seed")

    def _check(self) -> None:
        missing = [k for k in self.ks if k not in self.weighted_batch_size]
        if missing:
            raise self._refuse("weighted_batch_size", f"a dict with an entry for every k of ks {list(self.ks)} "
                                                      f"(no entry for k={missing[0]})")


@dataclass(frozen=True)
class DreamingSection(_Section):
    """The dreaming chapter: one model's chain of upscalings."""

    CHAPTER: ClassVar[str] = "dreaming"
    n_up: int = _param(**_N_UP)
    k: int = _param(**_K, doc="kernel size of the model shown (one of the trained ks)")
    seed: int = _seed()


@dataclass(frozen=True)
class FSSSection(_Section):
    """The FSS chapter: dreamed ensembles of every trained model."""

    CHAPTER: ClassVar[str] = "fss"
    n_configs: int = _param(doc="dreamed chains per model")
    n_up: int = _param(**_N_UP)
    seed: int = _seed("dreaming seed (the MCRG chapter reuses it: Profile.mcrg_dream_seed)")
    batch_size: int = _param()
    spread_seeds: int = _param(least=2, doc="independent dreaming seeds of the check of Table II's error bars "
                               "(experiments.fss_dream_spread: the authors' six released models)")
    spread_configs: int = _param(doc="dreamed chains per seed of that check")


@dataclass(frozen=True)
class PDFCollapseSection(_Section):
    """The PDF-collapse chapter: magnetisation histograms of dreamed chains, also started from MC."""

    CHAPTER: ClassVar[str] = "pdf_collapse"
    n_configs: int = _param()
    n_up: int = _param(**_N_UP)
    k: int = _param(**_K)
    L0_mc: int = _param(rule=lambda L: L >= 2 and L & (L - 1) == 0,
                        rule_text="a power of two ≥ 2 (the MC start size)", doc="size of the MC starts")
    seed: int = _seed()
    batch_size: int = _param()

    def _check(self) -> None:
        if self.L0_mc >= 2 ** self.n_up:
            raise self._refuse("L0_mc", f"smaller than the final size 2^n_up = {2 ** self.n_up}")


@dataclass(frozen=True)
class MCRGSection(_Section):
    """The MCRG chapter: MC and dreamed Monte Carlo renormalisation group."""

    CHAPTER: ClassVar[str] = "mcrg"
    mc_sizes: tuple[int, ...] = _param("ints")
    mc_configs: int = _param(**_MCRG_N)
    levels: int = _param(doc="blocking steps of the MC sizes")
    n_up: int = _param(rule=lambda n: 3 <= n <= MAX_N_UP,
                       rule_text=f"3..{MAX_N_UP} (the dreamed size 2^n_up ≥ {MCRG_MIN_L_FINE} is blocked once)")
    dream_configs: int = _param(**_MCRG_N)
    irrep_sizes: tuple[int, ...] = _param("ints", doc="MC sizes of the lattice-symmetry (oriented basis) analysis")
    irrep_configs: int = _param(**_MCRG_N, doc="configurations (also per dreamed model) of that analysis")
    parent_configs: int = _param(**_MCRG_N, doc="dreamed configurations per released model of the analysis "
                                 "with the dreamed lattice's parent as the coarse lattice")
    seed: int = _seed("seed of the MCRG blocking tie-breaks")
    batch_size: int = _param()
    spread_seeds: int = _param(least=2, doc="independent dreaming (and tie-break) seeds of the seed-spread check of "
                               "the dreamed RSRG error bars (experiments.mcrg_seed_spread)")
    spread_configs: int = _param(**_MCRG_N, doc="dreamed configurations per seed of that check")
    stream_sizes: tuple[int, ...] = _param("ints", optional=(), doc="MC sizes whose MCRG is streamed from the "
                                           "Monte Carlo chains, no configuration stored, over as many sittings as "
                                           "it takes (runs.mcrg.mc_mcrg_streamed; Table III's L = 1024)")
    stream_configs: int = _param(**_MCRG_N, optional=10_000, doc="configurations of each streamed size")
    mc_streamed: tuple[int, ...] = _param("ints", optional=(), doc="MC sizes which, when among mc_sizes (with "
                                          "mc_configs), are blocked as their chains make them, none stored, "
                                          "in every MC convention at once (runs.mcrg.mc_mcrg_streamed_conventions): "
                                          "resumable and carried between sittings; Table III's L = 512")

    def _check(self) -> None:
        step = 2 ** self.levels
        if set(self.stream_sizes) & set(self.mc_sizes):
            raise self._refuse("stream_sizes", f"sizes not among mc_sizes {list(self.mc_sizes)}")
        for key in ("mc_sizes", "irrep_sizes", "stream_sizes"):
            if any(L % step or L // (step // 2) < MCRG_MIN_L_FINE for L in getattr(self, key)):
                raise self._refuse(key, f"sizes L that can be blocked levels = {self.levels} times: multiples of "
                                        f"{step} with L/{step // 2} ≥ {MCRG_MIN_L_FINE}")


@dataclass(frozen=True)
class ComplexitySection(_Section):
    """The complexity chapter: two-layer models trained to the single-layer validation loss."""

    CHAPTER: ClassVar[str] = "complexity"
    ks: tuple[int, ...] = _param("ints", **_K, doc="kernel sizes (a subset of the trained ks)")
    M: int = _param(**_M, doc="training-set size of the two-layer models (at the training chapter's L_t)")
    epochs: int = _param()
    patience: int = _param()
    batch_size: int = _param()
    n_configs: int = _param(doc="dreamed chains per two-layer model")
    n_up: int = _param(**_N_UP)
    channels: int = _param()
    seed: int = _seed()
    batch_dream: int = _param()


_POW2 = dict(rule=lambda L: L >= 4 and L & (L - 1) == 0 and L <= 2**MAX_N_UP,
             rule_text=f"a power of two 4..{2**MAX_N_UP} (a dreamed size that can be blocked once)")
_RATIO = dict(rule=lambda r: 500 <= r <= 2000, rule_text="a coupling K/K_c in units of 10⁻³, 500..2000 (1000 = K_c)")
_JACK = dict(rule=lambda n: n >= 200, rule_text="a number of configurations ≥ 200 (jackknife bins of 20 τ)")


@dataclass(frozen=True)
class OffcriticalSection(_Section):
    """The off-critical chapter (beyond the paper): a temperature-conditioned upscaler judged against MC and
    exact results at couplings around K_c."""

    CHAPTER: ClassVar[str] = "offcritical"
    K_permille: tuple[int, ...] = _param("ints", **_RATIO, doc="couplings K/K_c in units of 10⁻³ (1000 = K_c)")
    train_permille: tuple[int, ...] = _param("ints", **_RATIO, doc="training couplings K/K_c (10⁻³; clipped beyond)")
    wide_permille: tuple[int, ...] = _param("ints", **_RATIO, doc="a wider training range tried from one spin")
    L_t: int = _param(**_L, doc="training lattice size of the conditioned model")
    M: int = _param(**_M, doc="training configurations per coupling (the validation set has M/5)")
    sizes: tuple[int, ...] = _param("ints", **_POW2, doc="sizes compared with MC; the largest is blocked for the flow")
    mc_configs: int = _param(**_JACK, doc="MC configurations per coupling and size")
    k: int = _param(**_K, doc="kernel size of the conditioned model")
    degree: int = _param(rule=lambda d: d <= 2, rule_text="a polynomial degree 1..2",
                         doc="degree of each orbit weight's polynomial in t = K/K_c − 1")
    n_configs: int = _param(**_JACK, doc="dreamed chains per coupling")
    L0_mc: int = _param(**_POW2, doc="size of the Monte Carlo start of the third scheme (at the schedule's coupling)")
    seed: int = _seed("seed of the dreaming, the blocking tie-breaks and the crossing bootstrap")
    batch_size: int = _param(doc="dreaming batch size")

    def _check(self) -> None:
        for key, least in (("K_permille", 2), ("train_permille", 2), ("wide_permille", 2), ("sizes", 3)):
            values = getattr(self, key)
            if len(values) < least or any(b <= a for a, b in zip(values, values[1:])):
                raise self._refuse(key, f"at least {least} values in increasing order")
        if sum(L > self.L0_mc for L in self.sizes) < 2:
            raise self._refuse("L0_mc", f"a start size below at least two of the sizes {list(self.sizes)} "
                                        "(the dreamed sizes of the Monte Carlo start)")

    @property
    def ratios(self) -> tuple[float, ...]:
        """The couplings as K/K_c."""
        return tuple(r / 1000 for r in self.K_permille)

    @property
    def n_up(self) -> int:
        """Upscalings from one spin to the largest size."""
        return max(self.sizes).bit_length() - 1


#: Profile members through which one chapter reads another chapter's values.
CROSS_CHAPTER_MEMBERS: tuple[str, ...] = ("data_seed", "training_set", "two_layer_training_set", "trained_ks",
                                          "training_seed", "fig6_training_sets", "mc_fss", "fss_dreaming",
                                          "mcrg_dream_seed")

SECTIONS: dict[str, type[_Section]] = {
    cls.CHAPTER: cls for cls in (MonteCarloSection, TrainingSection, DreamingSection, FSSSection,
                                 PDFCollapseSection, MCRGSection, ComplexitySection, OffcriticalSection)}


# ----------------------------------------------------------------------------- the profile
class TrainingSet(NamedTuple):
    """An MC training set: lattice size and number of configurations (its seed is the data seed)."""

    L_t: int
    M: int


class MCEnsembles(NamedTuple):
    """The MC finite-size-scaling ensembles: sizes, configurations per size, seed."""

    sizes: tuple[int, ...]
    n_configs: int
    seed: int


class DreamSettings(NamedTuple):
    """How the FSS chapter dreams: upscalings, seed, batch size and chains per model."""

    n_up: int
    seed: int
    batch_size: int
    n_configs: int


@dataclass(frozen=True)
class Profile:
    """A whole parameter profile: a name and one validated section per chapter.

    The cross-chapter members (properties below) name what one chapter reuses from
    another; the book and :mod:`dreamrg.experiments` read these instead of another
    chapter's section.
    """

    name: str
    monte_carlo: MonteCarloSection
    training: TrainingSection
    dreaming: DreamingSection
    fss: FSSSection
    pdf_collapse: PDFCollapseSection
    mcrg: MCRGSection
    complexity: ComplexitySection
    offcritical: OffcriticalSection

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a profile name must be a non-empty string; got {self.name!r}")
        for chapter, cls in SECTIONS.items():
            if not isinstance(getattr(self, chapter), cls):
                raise ValueError(f"profile field {chapter!r} must be a {cls.__name__}; "
                                 f"got {type(getattr(self, chapter)).__name__}")
        trained = set(self.trained_ks)
        for chapter in ("dreaming", "pdf_collapse"):
            k = getattr(self, chapter).k
            if k not in trained:
                raise ValueError(f"parameter 'k' of chapter {chapter!r} must be a trained kernel size "
                                 f"(training.ks = {list(self.trained_ks)}); got {k}")
        if not set(self.complexity.ks) <= trained:
            raise ValueError(f"parameter 'ks' of chapter 'complexity' must be trained kernel sizes "
                             f"(training.ks = {list(self.trained_ks)}); got {list(self.complexity.ks)}")

    # -- cross-chapter dependencies, named
    @property
    def data_seed(self) -> int:
        """MC seed of every cached MC store (``monte_carlo.seed``).

        The MC chapter's ensembles, the training sets (and so every trained model's
        cache key), the complexity chapter's validation set, the PDF-collapse MC
        starts and the MCRG chapter's MC stores all use it.
        """
        return self.monte_carlo.seed

    @property
    def training_set(self) -> TrainingSet:
        """(L_t, M) of the training set of the single-layer models (training chapter; seed :attr:`data_seed`).

        Read by the models of the FSS, dreaming, PDF-collapse, MCRG and complexity chapters and the status page.
        """
        return TrainingSet(self.training.L_t, self.training.M)

    @property
    def two_layer_training_set(self) -> TrainingSet:
        """(L_t, M) of the two-layer models: the training chapter's L_t with the complexity chapter's M."""
        return TrainingSet(self.training.L_t, self.complexity.M)

    @property
    def trained_ks(self) -> tuple[int, ...]:
        """Kernel sizes of the trained single-layer models (``training.ks``), which the other chapters show."""
        return self.training.ks

    @property
    def training_seed(self) -> int:
        """Training seed of the single-layer models and the exact fits of Fig. 6 (``training.seed``)."""
        return self.training.seed

    @property
    def fig6_training_sets(self) -> tuple[TrainingSet, ...]:
        """Training sets of the exact fits of Fig. 6 (dreamed in the FSS chapter), every (L_t, M) pair."""
        return tuple(TrainingSet(L, M) for L in self.training.fig6_L_t for M in self.training.fig6_M)

    @property
    def mc_fss(self) -> MCEnsembles:
        """The MC chapter's FSS ensembles, compared with the dreamed ones (FSS, PDF collapse, Tables II/IV).

        The PDF-collapse chapter also starts chains from ``n_configs`` MC configurations of size ``L0_mc``.
        """
        mc = self.monte_carlo
        return MCEnsembles(mc.fss_sizes, mc.fss_configs, mc.seed)

    @property
    def fss_dreaming(self) -> DreamSettings:
        """How the FSS chapter dreams (Tables II and IV, the seed spread and the status page reuse it)."""
        f = self.fss
        return DreamSettings(f.n_up, f.seed, f.batch_size, f.n_configs)

    @property
    def mcrg_dream_seed(self) -> int:
        """Dreaming seed of the MCRG chapter: the FSS chapter's (``fss.seed``), so the MCRG chapter's
        dreamed chains are those of the FSS ensembles (same models, seed and batch order)."""
        return self.fss.seed

    # -- access, serialisation, hashing
    def section(self, chapter: str) -> _Section:
        """The section of ``chapter`` (a chapter without parameters has none: ``ValueError``)."""
        if chapter not in SECTIONS:
            raise ValueError(f"chapter {chapter!r} has no parameter section; "
                             f"chapters with one: {', '.join(SECTIONS)}")
        return getattr(self, chapter)

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., chapter: {key: value}}`` with lists and ``{int: int}`` dicts."""
        return {"name": self.name} | {chapter: getattr(self, chapter).to_dict() for chapter in SECTIONS}

    def key(self) -> str:
        """Stable sha256 (hex) of the canonical JSON of all sections (the name is not part of it)."""
        sections = {chapter: getattr(self, chapter).to_dict() for chapter in SECTIONS}
        text = json.dumps(sections, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def is_builtin(self) -> bool:
        """True if this is exactly one of the built-in profiles (same name and values)."""
        return self.name in PROFILES and self == _BUILTIN[self.name]

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]] | None, name: str | None = None) -> Profile:
        """A new profile with ``{chapter: {key: value}}`` applied to the sections, validated as a whole."""
        changes: dict[str, Any] = {}
        for chapter, values in (overrides or {}).items():
            if chapter not in CHAPTERS:
                raise ValueError(f"unknown chapter {chapter!r}; allowed: {', '.join(CHAPTERS)}")
            if not isinstance(values, Mapping):
                raise ValueError(f"overrides of chapter {chapter!r} must be a table of KEY = VALUE; got {values!r}")
            if chapter not in SECTIONS:
                if values:
                    raise ValueError(f"unknown parameter {next(iter(values))!r} for chapter {chapter!r}; "
                                     f"allowed: none")
                continue
            changes[chapter] = getattr(self, chapter).with_overrides(values)
        return dataclasses.replace(self, name=name or self.name, **changes)


def _profile(name: str, **sections: dict[str, Any]) -> Profile:
    return Profile(name=name, **{chapter: SECTIONS[chapter](**values) for chapter, values in sections.items()})


# ----------------------------------------------------------------------------- the built-in profiles
_BUILTIN: dict[str, Profile] = {
    "smoke": _profile(
        "smoke",
        monte_carlo=dict(validation_sizes=(4, 8), validation_configs=2000, fss_sizes=(8, 16, 32), fss_configs=1000,
                         training_sizes=(16,), training_M=500, spread_seeds=2, spread_configs=2000,
                         followup_seeds=2, followup_configs=4000, seed=2024),
        training=dict(ks=(3, 5), L_t=16, M=500, epochs=4, batch_size=100,
                      weighted_batch_size={3: 100, 5: 100, 7: 100}, fig6_L_t=(16,), fig6_M=(250, 500), seed=7),
        dreaming=dict(n_up=5, k=3, seed=4),
        fss=dict(n_configs=400, n_up=5, seed=11, batch_size=200, spread_seeds=2, spread_configs=400),
        pdf_collapse=dict(n_configs=400, n_up=5, k=3, L0_mc=8, seed=13, batch_size=200),
        mcrg=dict(mc_sizes=(16,), mc_configs=1000, levels=1, n_up=4, dream_configs=1000,
                  irrep_sizes=(16,), irrep_configs=1000, parent_configs=1000, seed=17, batch_size=500,
                  spread_seeds=2, spread_configs=500),
        # patience 2: a run also stops after two epochs without a better validation loss and keeps its best
        # epoch (train.stopping_point); the weighted k = 7 run at batch 10^3 diverged (see the chapter)
        complexity=dict(ks=(3,), M=300, epochs=2, patience=2, batch_size=100, n_configs=200, n_up=4,
                        channels=32, seed=19, batch_dream=100),
        offcritical=dict(K_permille=(940, 1000, 1060), train_permille=(940, 1000, 1060),
                         wide_permille=(880, 940, 1000, 1060, 1120), L_t=16, M=500,
                         sizes=(8, 16, 32), mc_configs=2000, k=3, degree=2, n_configs=1000, L0_mc=8, seed=23,
                         batch_size=500),
    ),
    "quick": _profile(
        "quick",
        monte_carlo=dict(validation_sizes=(8, 16, 32), validation_configs=20_000, fss_sizes=(8, 16, 32, 64, 128),
                         fss_configs=20_000, training_sizes=(32,), training_M=10_000, spread_seeds=4,
                         spread_configs=20_000, followup_seeds=4, followup_configs=80_000, seed=2024),
        training=dict(ks=(3, 5, 7), L_t=32, M=10_000, epochs=25, batch_size=500,
                      weighted_batch_size={3: 500, 5: 500, 7: 500}, fig6_L_t=(32,), fig6_M=(1_000, 3_000, 10_000),
                      seed=7),
        dreaming=dict(n_up=7, k=7, seed=4),
        fss=dict(n_configs=20_000, n_up=7, seed=11, batch_size=4096, spread_seeds=4, spread_configs=20_000),
        pdf_collapse=dict(n_configs=20_000, n_up=7, k=7, L0_mc=8, seed=13, batch_size=4096),
        mcrg=dict(mc_sizes=(32, 128), mc_configs=20_000, levels=2, n_up=7, dream_configs=20_000,
                  irrep_sizes=(32, 128), irrep_configs=20_000, parent_configs=20_000, seed=17,
                  batch_size=4096, spread_seeds=4, spread_configs=5_000),
        complexity=dict(ks=(3, 7), M=3_000, epochs=12, patience=2, batch_size=500, n_configs=2_000, n_up=7,
                        channels=32, seed=19, batch_dream=1000),
        # |t| L^{1/ν} spans 1.6 (L = 16) to 13 (L = 128) at the outer couplings; the MC costs ~3 min on two cores.
        # degree 2 and the trained range: the chapter's degree and range tables (degree 1 misses separate fits by
        # 6.5 σ, degree 2 within 2 σ; a wider range helps one-spin dreams only in part and fits degree 2 worse)
        offcritical=dict(K_permille=(900, 940, 970, 1000, 1030, 1060, 1100),
                         train_permille=(900, 940, 970, 1000, 1030, 1060, 1100),
                         wide_permille=(800, 850, 900, 940, 970, 1000, 1030, 1060, 1100, 1150, 1200),
                         L_t=32, M=10_000, sizes=(16, 32, 64, 128), mc_configs=10_000, k=3, degree=2,
                         n_configs=10_000, L0_mc=16, seed=23, batch_size=4096),
    ),
    "paper": _profile(
        "paper",
        monte_carlo=dict(validation_sizes=(8, 16, 32), validation_configs=1_000_000, fss_sizes=(8, 16, 32, 64, 128),
                         fss_configs=1_000_000, training_sizes=(32, 64, 128), training_M=1_000_000, spread_seeds=8,
                         spread_configs=250_000, followup_seeds=16, followup_configs=1_000_000, seed=2024),
        # the authors' released paper-statistics weighted models (L_t = 32, M = 10^6) were trained
        # with these weighted batch sizes (their file names and metadata), not the 5·10^4 of the unweighted ones
        training=dict(ks=(3, 5, 7), L_t=32, M=1_000_000, epochs=50, batch_size=50_000,
                      weighted_batch_size={3: 100_000, 5: 1_000, 7: 1_000}, fig6_L_t=(32, 64, 128),
                      fig6_M=(10_000, 100_000, 1_000_000), seed=7),
        dreaming=dict(n_up=7, k=7, seed=4),
        fss=dict(n_configs=1_000_000, n_up=7, seed=11, batch_size=4096, spread_seeds=8,
                 spread_configs=250_000),
        pdf_collapse=dict(n_configs=1_000_000, n_up=7, k=7, L0_mc=8, seed=13, batch_size=4096),
        # L = 512 (Table III) is streamed in its three conventions at once: its 19 core-hours outlast a sitting, and
        # a 33 GB store cannot be carried to the next machine, its chains' moment sums can (runs.carry).
        # L = 1024, the last row of the paper's Table III, is streamed (no 131 GB store) with 10^5 configurations,
        # across sittings on two cores; the paper's 10^6 is for users with a cluster (stream_configs=1_000_000 and
        # 'dreamrg mc --mcrg-only --scheduler ADDRESS'). irrep_sizes / irrep_configs: 2·10^5 resolve the anisotropy
        # exponents to ~0.01
        mcrg=dict(mc_sizes=(32, 128, 512), mc_configs=1_000_000, levels=2, n_up=7, dream_configs=1_000_000,
                  irrep_sizes=(32, 128), irrep_configs=200_000, parent_configs=200_000, seed=17,
                  batch_size=4096, spread_seeds=8, spread_configs=250_000, stream_sizes=(1024,),
                  stream_configs=100_000, mc_streamed=(512,)),
        # batch 10^4 (both weightings), not the paper's 5·10^4: 32 float32 channels of 5·10^4 configurations at
        # L_t = 32, kept for the backward pass, need ~20 GB, more than this 24 GB machine can spare.
        # epochs 12: the compute cap (~30 min per k = 7 epoch on 2 cores); the unweighted k = 7 run reached its
        # target at epoch 7. batch_dream 1000: ~0.3 GB per batch with the offset-table sampler (k = 7), and
        # resumable per batch
        complexity=dict(ks=(3, 7), M=1_000_000, epochs=12, patience=2, batch_size=10_000, n_configs=1_000_000,
                        n_up=7, channels=32, seed=19, batch_dream=1000),
        # the paper's 10^6 per coupling and size: ~6 h of Swendsen-Wang on two cores (L = 128: 2.3 ms/config)
        offcritical=dict(K_permille=(900, 940, 970, 1000, 1030, 1060, 1100),
                         train_permille=(900, 940, 970, 1000, 1030, 1060, 1100),
                         wide_permille=(800, 850, 900, 940, 970, 1000, 1030, 1060, 1100, 1150, 1200),
                         L_t=32, M=1_000_000, sizes=(16, 32, 64, 128), mc_configs=1_000_000, k=3, degree=2,
                         n_configs=1_000_000, L0_mc=16, seed=23, batch_size=4096),
    ),
}


# ----------------------------------------------------------------------------- loading
def _check_profile_name(name: str) -> None:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; allowed: {', '.join(PROFILES)}")


def read_profile_file(file: str | Path) -> dict[str, Any]:
    """The raw tables of a TOML profile file; an unreadable or malformed file is one ``ValueError``."""
    path = Path(file)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"profile file {str(path)!r} cannot be read: {exc}") from None
    allowed = ("base", "name") + CHAPTERS
    for key, value in data.items():
        if key not in allowed:
            raise ValueError(f"profile file {str(path)!r}: unknown chapter {key!r}; allowed: {', '.join(CHAPTERS)} "
                             f"(and the keys base, name)")
        if key in ("base", "name"):
            if not isinstance(value, str) or not value:
                raise ValueError(f"profile file {str(path)!r}: {key} must be a non-empty string; got {value!r}")
        elif not isinstance(value, dict):
            raise ValueError(f"profile file {str(path)!r}: {key!r} must be a table ([{key}]) of KEY = VALUE; "
                             f"got {value!r}")
    if "base" in data:
        try:
            _check_profile_name(data["base"])
        except ValueError as exc:
            raise ValueError(f"profile file {str(path)!r}: base: {exc}") from None
    return data


def load_profile(name: str | None = None, overrides: Mapping[str, Mapping[str, Any]] | None = None,
                 file: str | Path | None = None) -> Profile:
    """A built-in profile, with a user TOML profile file and then ``overrides`` applied.

    Parameters
    ----------
    name : {"smoke", "quick", "paper"}, optional
        The built-in profile to start from. Default: the file's ``base`` key if it
        has one, else ``"quick"``. Giving both, different, is an error.
    overrides : dict, optional
        ``{chapter: {key: value}}`` applied last (after the file). Unknown chapters
        and keys are refused with the allowed ones listed; values are type-checked
        as the profile's (counts ≥ 1, seeds ≥ 0, non-empty lists, kernel-size dicts
        whose keys may be strings of digits, as JSON and TOML give them).
    file : path, optional
        A TOML file with one table per chapter, e.g. ``[fss]`` / ``n_configs = 1000``;
        optional top-level ``base = "paper"`` and ``name = "my-profile"`` (default: the
        file's stem).

    Returns
    -------
    Profile
        Validated as a whole (e.g. the kernel sizes shown by other chapters must be trained).
    """
    data = read_profile_file(file) if file is not None else {}
    base = data.get("base")
    if name is not None:
        _check_profile_name(name)
        if base is not None and base != name:
            raise ValueError(f"profile file {str(file)!r} says base = {base!r}, but profile {name!r} was asked for")
    base = name or base or "quick"
    profile = _BUILTIN[base]
    if file is not None:
        tables = {k: v for k, v in data.items() if k not in ("base", "name")}
        try:
            profile = profile.with_overrides(tables, name=data.get("name") or Path(file).stem)
        except ValueError as exc:
            raise ValueError(f"profile file {str(file)!r}: {exc}") from None
    return profile.with_overrides(overrides)

