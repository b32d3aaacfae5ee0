"""Small typed results for the table and plotting tests (no cache, no computation)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import torch

from dreamrg.experiments import ModelId
from dreamrg.fss import PairExponents
from dreamrg.mcrg import IrrepSpectrum
from dreamrg.observables import MHistogram, SizeSummary
from dreamrg.runs.mcrg import DreamedMCRG, IllConditioned, IrrepRun
from dreamrg.runs.summaries import DreamSummary, MCSummary
from dreamrg.stats import Estimate

OURS_3 = ModelId("ours", 1, 3, False, 32, 10_000)
OURS_3W = ModelId("ours", 1, 3, True, 32, 10_000)
AUTHORS_5 = ModelId("authors", 1, 5, False, 32, 1_000_000)
DEEP_3 = ModelId("ours", 2, 3, False, 32, 3_000)


def histogram(width: float = 1.0) -> MHistogram:
    edges = tuple(np.linspace(-2, 2, 9))
    counts = tuple(int(100 * math.exp(-((0.5 * i - 1.75) / width) ** 2) + 50) for i in range(8))
    return MHistogram(edges, counts, 0.125)


def size_summary(L: int, scale: float = 1.0, n: int = 1000, cls=SizeSummary, **extra) -> SizeSummary:
    """A size whose χ ∝ L^{7/4} and c_me ∝ L (times ``scale``), with 1 % errors."""
    def est(v):
        return Estimate(v, 0.01 * abs(v))
    return cls(L=L, n=n, chi=est(scale * L ** 1.75), c_me=est(scale * L), c=est(0.5 * math.log(L)),
               U4=est(0.6 * scale), abs_m=est(L ** -0.125), e=est(-1.4), tau_int_m2=Estimate(0.5, 0.01),
               tau_int_e=Estimate(0.6, 0.02), hist=histogram(), **extra)


def mc_summaries(sizes=(8, 16, 32)) -> dict[int, MCSummary]:
    return {L: size_summary(L, cls=MCSummary, seconds=1.25, params={}) for L in sizes}


def pair(gamma_nu: float, inv_nu: float, error: float = 0.01) -> PairExponents:
    return PairExponents(Estimate(gamma_nu, error), Estimate(inv_nu, error))


def dream_summary(scale: float = 1.0, sizes=(2, 4, 8, 16, 32)) -> DreamSummary:
    return DreamSummary(sizes={L: size_summary(L, scale) for L in sizes},
                        exponents={(32, 8): pair(1.75 * scale, 1.0)}, seconds=2.0, n=1000)


def mcrg_result(L: int = 128, shift: float = 0.0) -> SimpleNamespace:
    """Duck-typed :class:`~dreamrg.mcrg.MCRGResult`: the exponents and sizes the figures read."""
    values = dict(y_h=1.875 + shift, y_t=1.0 + shift, y_r1=-0.4 + shift, omega=-1.0 + shift)
    return SimpleNamespace(L_fine=L, L_coarse=L // 2, n_configs=1000, **values,
                           **{f"{k}_err": 0.01 for k in values})


def irrep_run(L: int = 128, levels: int = 1, b1: float = 0.15) -> IrrepRun:
    """Oriented-basis spectra: odd A1 (y_h, −0.4), even A1 (y_t, ω), even B1 (b1), even B2 (−0.1), per level."""
    spectra = []
    for level in range(levels):
        Lf = L // 2 ** level
        for parity, irrep, y in (("odd", "A1", [1.875, -0.4]), ("even", "A1", [1.0, -1.0]), ("even", "B1", [b1]),
                                 ("even", "B2", [-0.1])):
            spectra.append(IrrepSpectrum(parity, irrep, len(y), level, Lf, Lf // 2, 1000, None, np.array(y),
                                         np.full(len(y), 0.02)))
    return IrrepRun(tuple(spectra))


def dreamed_mcrg(L: int = 128, shift: float = 0.0) -> DreamedMCRG:
    return DreamedMCRG(result=mcrg_result(L, shift), seconds=1.0)


ILL = IllConditioned("ill-conditioned: M has condition number 1e12")


class FakeModel:
    """What the tables read of a trained model: parameters, metadata, size."""

    def __init__(self, params, meta=None, n_params=None):
        self.params = torch.tensor(params, dtype=torch.float64)
        self.meta = meta or {}
        self.n_params = n_params if n_params is not None else len(params)
