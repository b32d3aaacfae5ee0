"""The temperature-conditioned upscaler: each orbit weight a polynomial in t = K/K_c − 1.

Beyond the paper, which names it as future work (its conclusion: "a handful of
additional parameters ... to upscale at arbitrary temperatures"). The model is the
symmetric single-layer upscaler of :mod:`dreamrg.models` (paper eq. 9, no bias, Z2
symmetric) whose orbit weights depend on the reduced coupling ``t = K/K_c − 1``
(``t > 0``: the ordered side) of the *fine* configuration it produces:

    W_o(t) = Σ_{d=0..D} θ[d, o] t**d          (D = degree; θ[0] = a, θ[1] = b, θ[2] = c).

The field is linear in θ, ``h = Σ_d t**d (W_d σ̃)``, so the training loss stays a
convex logistic regression (:mod:`dreamrg.conditioned_fit`). At a fixed ``t`` the
model *is* a :class:`~dreamrg.models.SymmetricUpscaler` (:meth:`ConditionedUpscaler.at`),
and dreaming uses the ordinary table sampler with one table per level.

Which coupling each level gets (the schedule)
---------------------------------------------
A dream to size ``L = L0 2**n`` at coupling K produces levels ``ℓ = 1..n`` of size
``L0 2**ℓ``. Level ℓ should look like the target blocked ``n − ℓ`` times. Under a
blocking by ``b = 2`` the relevant deviation from the critical point grows,
``t' = b**y_t t`` (linearised flow), so the configuration of level ℓ has

    t_ℓ = t · 2**((n − ℓ) y_t),   y_t = 1 (exact 2D Ising, ν = 1/y_t = 1)

(``"flow"``); ``"naive"`` uses ``t_ℓ = t`` at every level. The step producing level ℓ
uses the model at ``t_ℓ``. The linearised flow holds for small ``t`` only; far from
K_c the true flow runs to K = 0 or ∞ more slowly than 2**y_t per step.

Outside the trained range
-------------------------
The polynomial is fitted on couplings ``t_min ≤ t ≤ t_max`` (``t_range``); beyond them
it extrapolates a low-degree fit and nothing constrains it. Every requested ``t_ℓ``
is therefore clipped to ``t_range``: such a level uses the model at the nearest
trained coupling, **not** at ``t_ℓ``. The flow schedule clips the first levels of any
off-critical dream (``t_ℓ`` doubles per level); a target K itself outside the range
gives the model at the range's edge, not at K. :class:`LevelPlan` records the
requested and used ``t`` of every level, and :meth:`LevelPlan.warnings` says which
levels were clipped.

Files of conditioned models
---------------------------
:func:`save_conditioned` writes the JSON model file of :func:`dreamrg.models.save_model`
with ``"model": "symmetric-conditioned"`` and
``"conditioned": {"degree", "t_range", "K_c"}``; :func:`load_conditioned` checks it as
:func:`dreamrg.models.load_model` checks its files (raising
:class:`~dreamrg.models.ModelFileError`), and :func:`load_upscaler` loads either kind.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dreamrg._checks import check_int, is_int, json_safe
from dreamrg._version import __version__
from dreamrg.cache import atomic_file
from dreamrg.coarse import upsample_nearest_torch
from dreamrg.exact import K_C
from dreamrg.models import (
    FORMAT,
    ModelFileError,
    SymmetricUpscaler,
    _read_model_doc,
    _state_from_json,
    check_model_size,
    load_model,
    non_finite_weights,
    symmetric_kernel,
)
from dreamrg.patches import check_odd_kernel_size

__all__ = [
    "Y_T",
    "MAX_DEGREE",
    "SCHEDULES",
    "FILE_MODEL",
    "reduced_coupling",
    "ConditionedUpscaler",
    "level_couplings",
    "DreamTarget",
    "LevelPlan",
    "plan_levels",
    "save_conditioned",
    "load_conditioned",
    "load_upscaler",
]

#: thermal RG eigenvalue of the 2D Ising model (exact: ν = 1/y_t = 1, Onsager)
Y_T = 1.0
#: highest polynomial degree in t a model may have
MAX_DEGREE = 3
#: ``"flow"``: t_ℓ = t 2**((n − ℓ) y_t); ``"naive"``: t_ℓ = t
SCHEDULES = ("flow", "naive")
#: the ``"model"`` field of a conditioned model file
FILE_MODEL = "symmetric-conditioned"


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)


def reduced_coupling(K: float, K_c: float = K_C) -> float:
    """``t = K/K_c − 1`` of a coupling ``K > 0`` (ValueError otherwise)."""
    if not (_finite(K) and K > 0):
        raise ValueError(f"the coupling K must be a finite number > 0; got {K!r}")
    return float(K) / float(K_c) - 1.0


def _check_t_range(t_range) -> tuple[float, float] | None:
    if t_range is None:
        return None
    if (not isinstance(t_range, (list, tuple)) or len(t_range) != 2 or not all(map(_finite, t_range))
            or not -1.0 < t_range[0] <= t_range[1]):
        raise ValueError(f"t_range must be None or (t_min, t_max) with -1 < t_min <= t_max (K > 0); got {t_range!r}")
    return float(t_range[0]), float(t_range[1])


class ConditionedUpscaler(torch.nn.Module):
    """Single-layer symmetric upscaler whose orbit weights are polynomials in ``t = K/K_c − 1``.

    ``h_i = Σ_(di,dj) W[di,dj](t) σ̃_(i+di, j+dj)`` on the torus, no bias (Z2 symmetric),
    ``W_o(t) = Σ_d params[d, o] t**d``; ``p(σ_i = s | μ) = exp(s h_i) / (2 cosh h_i)``.

    Parameters
    ----------
    k : int
        Odd kernel size ≥ 3.
    degree : int
        Polynomial degree D in t, 0..:data:`MAX_DEGREE` (0: the unconditioned model).
    params : array_like, shape (degree + 1, (k+1)(k+3)/8), optional
        ``params[d]`` multiplies ``t**d`` (row 0 = a, the weights at K_c); default zeros.
    K_c : float
        The critical coupling t is measured from (default Onsager's ``ln(1+√2)/2``).
    t_range : (float, float), optional
        ``(t_min, t_max)`` of the training couplings; requested ``t`` are clipped to it
        (:meth:`clip`). None: no range known, nothing is clipped.
    dtype : torch.dtype
        ``torch.float64`` (default) or ``torch.float32``.
    """

    def __init__(self, k: int, degree: int = 1, params=None, *, K_c: float = K_C,
                 t_range=None, dtype: torch.dtype = torch.float64):
        super().__init__()
        self.k = check_odd_kernel_size(k)
        check_model_size("symmetric", self.k)
        self.degree = check_int(degree, "degree", 0, MAX_DEGREE)
        if not (_finite(K_c) and K_c > 0):
            raise ValueError(f"K_c must be a finite number > 0; got {K_c!r}")
        self.K_c = float(K_c)
        self.t_range = _check_t_range(t_range)
        shape = (self.degree + 1, (self.k + 1) * (self.k + 3) // 8)
        if params is None:
            p = torch.zeros(shape, dtype=dtype)
        else:
            p = torch.as_tensor(np.asarray(params, dtype=np.float64)).to(dtype).clone()
            if tuple(p.shape) != shape:
                raise ValueError(f"k={self.k}, degree={self.degree} needs parameters of shape {shape}, "
                                 f"got {tuple(p.shape)}")
        self.params = torch.nn.Parameter(p)

    @property
    def n_params(self) -> int:
        return self.params.numel()

    @property
    def conditioning(self) -> dict[str, Any]:
        """The ``"conditioned"`` block of the model file: degree, t_range, K_c."""
        return {"degree": self.degree, "t_range": None if self.t_range is None else list(self.t_range),
                "K_c": self.K_c}

    def clip(self, t: float) -> float:
        """``t`` clipped to ``t_range`` (unchanged when no range is known)."""
        if not _finite(t):
            raise ValueError(f"t must be a finite number; got {t!r}")
        if self.t_range is None:
            return float(t)
        return float(min(max(float(t), self.t_range[0]), self.t_range[1]))

    def weights(self, t) -> torch.Tensor:
        """Orbit weights ``W(t)`` (differentiable): shape (n_orbits,) for a scalar t, (n, n_orbits) for (n,) t."""
        tt = torch.as_tensor(t, dtype=self.params.dtype)
        powers = tt[..., None] ** torch.arange(self.degree + 1, dtype=self.params.dtype)
        return powers @ self.params

    def at(self, t: float, clip: bool = True) -> SymmetricUpscaler:
        """The plain :class:`~dreamrg.models.SymmetricUpscaler` at ``t`` (clipped to the trained range by default)."""
        t = self.clip(t) if clip else float(t)
        w = self.weights(t).detach().to(torch.float64).numpy()
        return SymmetricUpscaler(self.k, params=w, dtype=self.params.dtype)

    def field(self, mu, t) -> torch.Tensor:
        """Local field ``h = Σ_d t**d (W_d σ̃)`` on the torus.

        Parameters
        ----------
        mu : torch.Tensor or array_like, shape (n, l, l)
            Block spins ±1.
        t : float or array_like of shape (n,)
            Reduced coupling of each configuration (not clipped: this is the model's formula).

        Returns
        -------
        torch.Tensor, shape (n, 2l, 2l), model dtype
        """
        m = torch.as_tensor(mu).to(self.params.dtype)
        if m.ndim != 3 or m.shape[1] != m.shape[2]:
            raise ValueError(f"mu must have shape (n, l, l), got {tuple(m.shape)}")
        x = upsample_nearest_torch(m)[:, None]  # (n, 1, L, L)
        k, c, L = self.k, self.k // 2, x.shape[-1]
        W = torch.stack([symmetric_kernel(self.params[d], k) for d in range(self.degree + 1)])[:, None]
        idx = torch.arange(-c, L + c) % L  # periodic extension, valid at every L (also L < k)
        per_degree = F.conv2d(x[..., idx, :][..., idx], W)  # (n, D+1, L, L)
        tt = torch.as_tensor(t, dtype=self.params.dtype).reshape(-1)
        if tt.numel() not in (1, m.shape[0]):
            raise ValueError(f"t must be a scalar or have one value per configuration ({m.shape[0]}); "
                             f"got {tt.numel()}")
        powers = tt[:, None] ** torch.arange(self.degree + 1, dtype=self.params.dtype)  # (n or 1, D+1)
        return (powers[:, :, None, None] * per_degree).sum(dim=1)

    def log_prob(self, sigma, mu, t) -> torch.Tensor:
        """``ln U(σ|μ; t) = Σ_i ln sigmoid(2 σ_i h_i)``, shape (n,), differentiable in the parameters."""
        h = self.field(mu, t)
        s = torch.as_tensor(sigma).to(h.dtype)
        if s.shape != h.shape:
            raise ValueError(f"sigma has shape {tuple(s.shape)}, expected {tuple(h.shape)} (twice mu's size)")
        return F.logsigmoid(2.0 * s * h).sum(dim=(1, 2))

    def extra_repr(self) -> str:
        return f"k={self.k}, degree={self.degree}, K_c={self.K_c:.12g}, t_range={self.t_range}"


# ---------------------------------------------------------------- schedules

def level_couplings(t: float, n_up: int, schedule: str = "flow", y_t: float = Y_T) -> np.ndarray:
    """Requested ``t_ℓ`` of levels ℓ = 1..n_up of a dream whose last level is at ``t``.

    ``"flow"``: ``t_ℓ = t 2**((n_up − ℓ) y_t)`` (level ℓ is the target blocked n_up − ℓ
    times; linearised flow); ``"naive"``: ``t_ℓ = t``. Returns float64 of shape (n_up,),
    entry ``ℓ − 1`` for level ℓ; not clipped.
    """
    n_up = check_int(n_up, "n_up", 1)
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}; got {schedule!r}")
    if not (_finite(t) and _finite(y_t)):
        raise ValueError(f"t and y_t must be finite numbers; got {t!r}, {y_t!r}")
    if schedule == "naive":
        return np.full(n_up, float(t))
    return float(t) * 2.0 ** ((n_up - np.arange(1, n_up + 1)) * float(y_t))


@dataclass(frozen=True)
class DreamTarget:
    """Where a conditioned model dreams to (validated on construction).

    Attributes
    ----------
    K : float
        Coupling of the last level (the target size), > 0.
    schedule : {"flow", "naive"}
        How the couplings of the smaller levels follow from K (:func:`level_couplings`).
    y_t : float
        Thermal eigenvalue of the flow schedule (default the exact 2D Ising 1).
    """

    K: float
    schedule: str = "flow"
    y_t: float = Y_T

    def __post_init__(self) -> None:
        reduced_coupling(self.K)
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}; got {self.schedule!r}")
        if not (_finite(self.y_t) and self.y_t > 0):
            raise ValueError(f"y_t must be a finite number > 0; got {self.y_t!r}")


@dataclass(frozen=True)
class LevelPlan:
    """The couplings of every level of a conditioned dream (recorded in the ensemble's metadata).

    Attributes
    ----------
    K, t : float
        Target coupling of the last level and ``t = K/K_c − 1``.
    K_c : float
    schedule : str
    y_t : float
    t_range : list of float or None
        The model's trained range.
    t_levels : list of float
        Requested ``t_ℓ``, levels 1..n_up.
    t_used : list of float
        ``t_ℓ`` clipped to ``t_range``: the model of level ℓ is ``model.at(t_used[ℓ − 1])``.
    """

    K: float
    t: float
    K_c: float
    schedule: str
    y_t: float
    t_range: list[float] | None
    t_levels: list[float]
    t_used: list[float]

    @property
    def clipped(self) -> list[bool]:
        return [a != b for a, b in zip(self.t_levels, self.t_used)]

    def t_at(self, level: int) -> float:
        """Requested t of any level 0..n_up (level 0: the start, e.g. of Monte Carlo configurations), unclipped."""
        n_up = len(self.t_levels)
        if self.schedule == "naive":
            return self.t
        return self.t * 2.0 ** ((n_up - check_int(level, "level", 0, n_up)) * self.y_t)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))  # plain lists, as the ensemble's attributes hold them

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LevelPlan:
        return cls(**{f: d[f] for f in cls.__dataclass_fields__})

    def warnings(self, L0: int = 1) -> list[str]:
        """Plain sentences on every level clipped to the trained range (empty when none is)."""
        bad = [i + 1 for i, c in enumerate(self.clipped) if c]
        if not bad:
            return []
        lo, hi = self.t_range
        sizes = ", ".join(f"L={L0 * 2**lvl} (t={self.t_levels[lvl - 1]:+.4g} -> {self.t_used[lvl - 1]:+.4g})"
                          for lvl in bad)
        out = [f"{len(bad)} of {len(self.clipped)} levels ask for t outside the trained range "
               f"[{lo:+.4g}, {hi:+.4g}] and use the model at the nearest trained coupling instead: {sizes}"]
        first = next(i for i, c in enumerate(self.clipped) if not c) if not self.clipped[-1] else None
        if first is not None and all(self.clipped[:first]):
            # the clipped levels are the first ones: Monte Carlo configurations can stand in for them
            t0 = self.t_at(first)
            out.append(f"to give every level its own coupling, start from Monte Carlo configurations of size "
                       f"L={L0 * 2**first} at K={self.K_c * (1 + t0):.6g} (t={t0:+.4g}; --from-mc, with "
                       f"{len(self.t_levels) - first} upscalings), or train on a wider range of couplings")
        if self.clipped[-1]:
            out.append(f"the target itself (K={self.K:.8g}, t={self.t:+.4g}) is outside the trained range: the "
                       f"dreamed configurations are those of the model at t={self.t_used[-1]:+.4g}, not at K")
        return out


def plan_levels(model: ConditionedUpscaler, K: float, n_up: int, schedule: str = "flow",
                y_t: float = Y_T) -> LevelPlan:
    """The :class:`LevelPlan` of a dream with ``model`` to coupling ``K`` in ``n_up`` upscalings."""
    if not isinstance(model, ConditionedUpscaler):
        raise TypeError(f"a target coupling needs a ConditionedUpscaler; got {type(model).__name__}")
    t = reduced_coupling(K, model.K_c)
    req = level_couplings(t, n_up, schedule, y_t)
    used = [model.clip(x) for x in req]
    return LevelPlan(K=float(K), t=t, K_c=model.K_c, schedule=schedule, y_t=float(y_t),
                     t_range=None if model.t_range is None else list(model.t_range),
                     t_levels=[float(x) for x in req], t_used=used)


# ---------------------------------------------------------------- model files

def save_conditioned(path: str | os.PathLike, model: ConditionedUpscaler, meta: dict[str, Any]) -> Path:
    """Write a conditioned model and its metadata as JSON, atomically (non-finite weights are refused)."""
    path = Path(path)
    if not isinstance(model, ConditionedUpscaler):
        raise TypeError(f"save_conditioned writes a ConditionedUpscaler; got {type(model).__name__}")
    bad = non_finite_weights(model)
    if bad:
        raise ValueError(f"refusing to write {path}: the model's weights are not all finite ({bad}); "
                         "the training diverged")
    p = model.params.detach().double()
    doc = {"format": FORMAT, "format_version": 1, "model": FILE_MODEL, "k": model.k,
           "conditioned": model.conditioning, "dreamrg_version": __version__, "meta": json_safe(meta),
           "state_dict": {"params": {"shape": list(p.shape), "values": p.reshape(-1).tolist()}}}
    with atomic_file(path) as tmp, open(tmp, "w") as fh:
        json.dump(doc, fh, allow_nan=False)
    return path


def load_conditioned(path: str | os.PathLike) -> ConditionedUpscaler:
    """Load a file of :func:`save_conditioned`; ``model.meta`` holds its metadata.

    Checked before anything is built: the class, an odd integer ``k`` within the size
    limits, the ``conditioned`` block (integer degree 0..MAX_DEGREE, ``t_range`` null or
    two finite numbers ``-1 < t_min <= t_max``, finite ``K_c > 0``), a state dict of
    exactly ``params`` of shape (degree + 1, n_orbits) and finite weights. Any problem
    raises :class:`~dreamrg.models.ModelFileError` naming the file.
    """
    path = Path(path)
    doc = _read_model_doc(path)
    if doc.get("model") != FILE_MODEL:
        raise ModelFileError(f"{path} holds a {doc.get('model')!r} model, not a temperature-conditioned one "
                             f"({FILE_MODEL!r})")
    k, cond = doc.get("k"), doc.get("conditioned")
    if not is_int(k):
        raise ModelFileError(f"{path} is a corrupt dreamrg model file: 'k' must be an odd integer ≥ 3; got {k!r}")
    if not isinstance(cond, dict) or set(cond) != {"degree", "t_range", "K_c"}:
        raise ModelFileError(f"{path} is a corrupt conditioned model file: 'conditioned' must hold degree, "
                             f"t_range and K_c; got {cond!r}")
    if not is_int(cond["degree"]):
        raise ModelFileError(f"{path}: conditioned.degree must be an integer 0..{MAX_DEGREE}; got {cond['degree']!r}")
    try:
        check_model_size("symmetric", k)
        model = ConditionedUpscaler(k, cond["degree"], K_c=cond["K_c"], t_range=cond["t_range"])
    except ValueError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    model.load_state_dict(_state_from_json(path, model, doc.get("state_dict")))
    meta = doc.get("meta", {})
    model.meta = meta if isinstance(meta, dict) else {}
    return model


def load_upscaler(path: str | os.PathLike) -> torch.nn.Module:
    """Load any dreamrg model file: a conditioned one (:func:`load_conditioned`) or not
    (:func:`dreamrg.models.load_model`)."""
    if _read_model_doc(Path(path)).get("model") == FILE_MODEL:
        return load_conditioned(path)
    return load_model(path)
