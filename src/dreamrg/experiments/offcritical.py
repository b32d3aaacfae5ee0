"""Beyond the paper: the off-critical experiments (an upscaler conditioned on the coupling, against Monte Carlo
and exact results)."""

from __future__ import annotations

from dataclasses import dataclass

from dreamrg.experiments.models import as_profile
from dreamrg.offcritical import OffcriticalResult
from dreamrg.profiles import Profile
from dreamrg.runs import offcritical as _offcritical

__all__ = ["Unavailable", "offcritical_training", "offcritical_mc", "offcritical_degrees", "offcritical_range",
           "offcritical_dreamed"]


@dataclass(frozen=True)
class Unavailable:
    """A result this checkout cannot compute, and why (shown in its place, never replaced by made-up data)."""

    reason: str


def offcritical_training(profile: Profile | str) -> _offcritical.TrainingCheck:
    """The off-critical chapter's training sets (L_t, M per coupling, seed :attr:`Profile.data_seed`) against exact."""
    p = as_profile(profile)
    return _offcritical.training_check(p.offcritical, p.data_seed)


def offcritical_mc(profile: Profile | str) -> OffcriticalResult:
    """The MC side of the off-critical chapter: every coupling and size, crossings, ν and the flow."""
    p = as_profile(profile)
    return _offcritical.mc_offcritical(p.offcritical, p.data_seed)


def offcritical_degrees(profile: Profile | str) -> _offcritical.DegreeCheck:
    """The exact fits of degree 1 and 2 on the off-critical training sets against separate fits per coupling."""
    p = as_profile(profile)
    return _offcritical.degree_check(p.offcritical, p.data_seed)


def offcritical_range(profile: Profile | str) -> _offcritical.RangeTest:
    """The flow scheme from one spin with the profile's trained range and with a wider one (``wide_permille``)."""
    p = as_profile(profile)
    return _offcritical.range_test(p.offcritical, p.data_seed)


def offcritical_dreamed(profile: Profile | str) -> dict[str, _offcritical.DreamedSide]:
    """The dreamed side, one entry per scheme of :data:`dreamrg.runs.offcritical.SCHEMES` (naive and flow from one
    spin, flow from a Monte Carlo start), each analysed as :func:`offcritical_mc`."""
    p = as_profile(profile)
    return {scheme: _offcritical.dreamed_offcritical_result(p.offcritical, p.data_seed, scheme)
            for scheme in _offcritical.SCHEMES}
