"""Result types of the MCRG: one spin-flip sector, one blocking step, one D4 irrep.

:class:`MCRGResult` holds 𝒯 and its spectrum for one blocking step
``n → n + 1`` in one operator basis (symmetrised by default), split into the odd and even spin-flip
sectors (:class:`SectorResult`), with the identified exponents ``y_h`` (first
odd eigenvalue), ``y_t`` (first even), ``y_r1`` (second odd) and ``omega``
(second even); exponents are ``y = log₂|λ|`` (scale factor 2).
:class:`IrrepSpectrum` is the spectrum in one (sector, D4 irrep) of the
oriented basis. Errors are jackknife errors over bins of consecutive
configurations.

Every type has ``to_dict()``, the JSON the cache stores, and a classmethod
``from_dict()`` that inverts it: ``X.from_dict(x.to_dict()).to_dict() ==
x.to_dict()``. The dictionaries are summaries: the matrices (``T``, ``N``,
``M``) and complex eigenvalues are not in them and read back as ``None``.
Keys a dictionary holds beyond the schema (the cache adds e.g. timings) are
kept in ``extra`` and written back by ``to_dict()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dreamrg.mcrg.spin_operators import get_basis

__all__ = ["SectorResult", "MCRGResult", "IrrepSpectrum", "third_exponent"]

#: the per-sector keys of :meth:`SectorResult.to_dict` (besides ``parity``), in order
_SECTOR_KEYS = ("y", "y_err", "cond_M", "max_imag")
#: the scalar keys of :meth:`MCRGResult.to_dict`, in order
_SCALAR_KEYS = ("level", "L_fine", "L_coarse", "n_configs", "n_bins",
                "y_h", "y_h_err", "y_t", "y_t_err", "y_r1", "y_r1_err", "omega", "omega_err")
_INT_KEYS = ("level", "L_fine", "L_coarse", "n_configs", "n_bins")
#: the convention keys of :meth:`MCRGResult.to_dict`, written only when they differ from these defaults
_DEFAULTS = {"basis": "symmetrised", "boundary": "periodic"}


@dataclass(frozen=True)
class SectorResult:
    """𝒯 and its spectrum in one spin-flip sector.

    Attributes
    ----------
    parity : {"odd", "even"}
    operators : tuple of int
        Columns of the operator basis used (for the symmetrised basis, indices
        into :data:`dreamrg.mcrg.OPERATORS`), in order.
    T : numpy.ndarray of float64, shape (m, m), or None
        ``𝒯 = M⁻¹ N`` from all data; ``T[α, β] = ∂K_α^(n+1)/∂K_β^(n)``.
        ``None`` when read back from a dictionary (:meth:`from_dict`).
    N, M : numpy.ndarray of float64, shape (m, m), or None
        Cross-level ``⟨S_γ(μ)S_β(σ)⟩_c`` and coarse-level ``⟨S_γ(μ)S_α(μ)⟩_c``
        connected correlations of the extensive operators (``None`` from a dictionary).
    eigenvalues : numpy.ndarray of complex128, shape (m,), or None
        Eigenvalues of ``T``, sorted by decreasing modulus (``None`` from a dictionary).
    eigenvalues_err : numpy.ndarray of float64, shape (m,), or None
        Jackknife errors of their real parts (``None`` from a dictionary).
    y, y_err : numpy.ndarray of float64, shape (m,)
        ``log₂|λ|`` and its jackknife error.
    max_imag : float
        Largest ``|Im λ|`` (0 when the spectrum is real).
    cond_M : float
        Condition number of the standardised ``M`` (correlation matrix).
    """

    parity: str
    operators: tuple[int, ...]
    T: np.ndarray | None
    N: np.ndarray | None
    M: np.ndarray | None
    eigenvalues: np.ndarray | None
    eigenvalues_err: np.ndarray | None
    y: np.ndarray
    y_err: np.ndarray
    max_imag: float
    cond_M: float

    def to_dict(self) -> dict:
        """JSON-friendly summary: ``parity``, ``y``, ``y_err``, ``cond_M``, ``max_imag``."""
        return {"parity": self.parity,
                "y": [float(v) for v in self.y],
                "y_err": [float(v) for v in self.y_err],
                "cond_M": float(self.cond_M),
                "max_imag": float(self.max_imag)}

    @classmethod
    def from_dict(cls, d: dict, basis: str = "symmetrised") -> SectorResult:
        """Inverse of :meth:`to_dict`.

        The operators are the first ``len(y)`` of the sector's truncation
        order in ``basis`` (a truncated sector keeps exactly those); the
        matrices and the complex eigenvalues are not in the dictionary and read as ``None``.
        """
        parity = d["parity"]
        if parity not in ("odd", "even"):
            raise ValueError(f"parity must be 'odd' or 'even'; got {parity!r}")
        y = np.asarray(d["y"], dtype=np.float64)
        b = get_basis(basis)
        idx = (b.odd if parity == "odd" else b.even)[: len(y)]
        return cls(parity=parity, operators=tuple(int(i) for i in idx), T=None, N=None, M=None,
                   eigenvalues=None, eigenvalues_err=None, y=y,
                   y_err=np.asarray(d["y_err"], dtype=np.float64),
                   max_imag=float(d["max_imag"]), cond_M=float(d["cond_M"]))


def merged_spectrum(odd: SectorResult, even: SectorResult) -> tuple[tuple[float, str, int], ...]:
    """Both sectors' exponents as ``(y, sector, rank in sector)``, by decreasing ``y``."""
    spec = sorted(
        [(float(v), "odd", r + 1) for r, v in enumerate(odd.y)]
        + [(float(v), "even", r + 1) for r, v in enumerate(even.y)],
        key=lambda t: -t[0],
    )
    return tuple(spec)


@dataclass(frozen=True)
class MCRGResult:
    """MCRG exponents for one blocking step ``level → level + 1``.

    Attributes
    ----------
    level : int
        Blocking level ``n`` of the fine configurations (0 = as given).
    L_fine, L_coarse : int
        Linear sizes at levels ``n`` and ``n + 1``.
    n_configs, n_bins : int
        Number of configurations and of jackknife bins.
    odd, even : SectorResult
    y_h, y_t, y_r1, omega : float
        Identified exponents: ``odd.y[0]``, ``even.y[0]``, ``odd.y[1]``,
        ``even.y[1]`` (see the MCRG chapter of the book for the
        identification). ``nan`` if the truncated sector is too small to hold
        the eigenvalue.
    y_h_err, y_t_err, y_r1_err, omega_err : float
        Jackknife errors.
    spectrum : tuple of (float, str, int)
        Merged spectrum ``(y, sector, rank in sector)`` by decreasing ``y``.
    extra : dict
        Keys beyond the schema found by :meth:`from_dict` (e.g. timings the
        cache stores beside the result); written back by :meth:`to_dict`.
    basis : {"symmetrised", "oriented", "authors"}
        Operator basis of 𝒯 (:data:`dreamrg.mcrg.BASES`).
    boundary : {"periodic", "open"}
        How the operators were summed over the lattice.
    """

    level: int
    L_fine: int
    L_coarse: int
    n_configs: int
    n_bins: int
    odd: SectorResult
    even: SectorResult
    y_h: float
    y_h_err: float
    y_t: float
    y_t_err: float
    y_r1: float
    y_r1_err: float
    omega: float
    omega_err: float
    spectrum: tuple[tuple[float, str, int], ...] = field(repr=False)
    extra: dict = field(default_factory=dict, repr=False, compare=False)
    basis: str = "symmetrised"
    boundary: str = "periodic"

    @property
    def eta(self) -> float:
        """Anomalous dimension ``η = d + 2 - 2 y_h`` (d = 2), as in the paper's Table IV."""
        return 4.0 - 2.0 * self.y_h

    @property
    def eta_err(self) -> float:
        """Jackknife error of :attr:`eta` (``2 · y_h_err``)."""
        return 2.0 * self.y_h_err

    def third(self) -> tuple[float, float, str]:
        """Third largest exponent of the merged spectrum (both sectors), its error and its sector.

        The paper's "third eigenvalue of 𝒯" (its Fig. 10c), read as the
        authors' code has it: the third of the whole spectrum, whatever its
        sector. Returns ``(y, y_err, "odd 2")`` and the like (sector and rank in it).
        """
        if len(self.spectrum) < 3:
            raise ValueError(f"{len(self.spectrum)} exponents; the third largest needs at least 3")
        y, parity, rank = self.spectrum[2]
        sec = self.odd if parity == "odd" else self.even
        return y, float(sec.y_err[rank - 1]), f"{parity} {rank}"

    def summary(self) -> str:
        """One-line human-readable summary of the identified exponents."""
        return (
            f"L {self.L_fine}->{self.L_coarse} (level {self.level}, {self.n_configs} cfg, "
            f"{len(self.odd.operators)}+{len(self.even.operators)} ops): "
            f"y_h={self.y_h:.5f}({self.y_h_err:.5f}) y_t={self.y_t:.4f}({self.y_t_err:.4f}) "
            f"y_r1={self.y_r1:.3f}({self.y_r1_err:.3f}) omega={self.omega:.3f}({self.omega_err:.3f})"
        )

    def to_dict(self) -> dict:
        """JSON-friendly dictionary of the scalar results and both spectra.

        Keys: the scalars (``level`` ... ``omega_err``), then per sector
        ``<parity>_y``, ``<parity>_y_err``, ``<parity>_cond_M``,
        ``<parity>_max_imag``, then ``basis`` and ``boundary`` where they are
        not the defaults (so a default result reads as before these options
        existed), then the keys of :attr:`extra`.
        """
        d = {k: getattr(self, k) for k in _SCALAR_KEYS}
        for sec in (self.odd, self.even):
            s = sec.to_dict()
            for k in _SECTOR_KEYS:
                d[f"{sec.parity}_{k}"] = s[k]
        d.update({k: v for k, v in (("basis", self.basis), ("boundary", self.boundary)) if v != _DEFAULTS[k]})
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> MCRGResult:
        """Inverse of :meth:`to_dict` (sectors as :meth:`SectorResult.from_dict`).

        Keys outside the schema go to :attr:`extra`; the merged spectrum is
        rebuilt from the two sectors' exponents.
        """
        conv = {k: d.get(k, v) for k, v in _DEFAULTS.items()}
        sectors = {p: SectorResult.from_dict({"parity": p} | {k: d[f"{p}_{k}"] for k in _SECTOR_KEYS},
                                             conv["basis"])
                   for p in ("odd", "even")}
        known = set(_SCALAR_KEYS) | set(_DEFAULTS) | {f"{p}_{k}" for p in ("odd", "even") for k in _SECTOR_KEYS}
        scalars = {k: int(d[k]) if k in _INT_KEYS else float(d[k]) for k in _SCALAR_KEYS}
        return cls(**scalars, odd=sectors["odd"], even=sectors["even"],
                   spectrum=merged_spectrum(sectors["odd"], sectors["even"]),
                   extra={k: v for k, v in d.items() if k not in known}, **conv)


@dataclass(frozen=True)
class IrrepSpectrum:
    """Spectrum of 𝒯 in one spin-flip sector and one D4 irrep (oriented basis).

    Attributes
    ----------
    parity : {"odd", "even"}
    irrep : {"A1", "A2", "B1", "B2", "E"}
    dim : int
        Dimension of the irrep's subspace in the sector (number of eigenvalues).
    level, L_fine, L_coarse, n_configs : int
        Blocking step and statistics, as in :class:`MCRGResult`.
    eigenvalues : numpy.ndarray of complex128, or None
        Sorted by decreasing modulus (``None`` when read back by :meth:`from_dict`).
    y, y_err : numpy.ndarray of float64
        ``log₂|λ|`` and jackknife errors (indicative for near-degenerate pairs);
        only the leading ones when read back by :meth:`from_dict`.
    extra : dict
        Keys beyond the schema found by :meth:`from_dict`; written back by :meth:`to_dict`.
    """

    parity: str
    irrep: str
    dim: int
    level: int
    L_fine: int
    L_coarse: int
    n_configs: int
    eigenvalues: np.ndarray | None
    y: np.ndarray
    y_err: np.ndarray
    extra: dict = field(default_factory=dict, repr=False, compare=False)

    _KEYS = ("parity", "irrep", "dim", "step", "L_fine", "L_coarse", "n_configs", "y", "y_err")

    def to_dict(self, n_leading: int = 3) -> dict:
        """JSON-friendly summary with the ``n_leading`` largest exponents (``level`` is written as ``step``)."""
        k = min(n_leading, len(self.y))
        return {"parity": self.parity, "irrep": self.irrep, "dim": self.dim, "step": self.level,
                "L_fine": self.L_fine, "L_coarse": self.L_coarse, "n_configs": self.n_configs,
                "y": [float(v) for v in self.y[:k]], "y_err": [float(v) for v in self.y_err[:k]]} | self.extra

    @classmethod
    def from_dict(cls, d: dict) -> IrrepSpectrum:
        """Inverse of :meth:`to_dict`: ``y`` and ``y_err`` hold the exponents the dictionary kept.

        Raises ``ValueError`` for the ``{"error": ...}`` row that
        :func:`dreamrg.mcrg.irrep_rows` writes when the analysis failed.
        """
        if "parity" not in d and "error" in d:
            raise ValueError(f"this irrep row holds no spectrum, only an error: {d['error']}")
        return cls(parity=d["parity"], irrep=d["irrep"], dim=int(d["dim"]), level=int(d["step"]),
                   L_fine=int(d["L_fine"]), L_coarse=int(d["L_coarse"]), n_configs=int(d["n_configs"]),
                   eigenvalues=None, y=np.asarray(d["y"], dtype=np.float64),
                   y_err=np.asarray(d["y_err"], dtype=np.float64),
                   extra={k: v for k, v in d.items() if k not in cls._KEYS})


def third_exponent(rows: list[dict]) -> tuple[float, float, str]:
    """Third largest exponent of the whole oriented-basis spectrum of one blocking step.

    ``rows``: the irrep rows of one step (:meth:`IrrepSpectrum.to_dict`,
    three leading exponents each, so the three largest overall are among them;
    an ``E`` eigenvalue counts twice, as in the full 158-operator spectrum).
    Returns the value, its jackknife error and where it lies (e.g. ``"even B1"``):
    the "third eigenvalue" of a basis that, unlike the symmetrised one, also
    holds anisotropic combinations.
    """
    cands = sorted(((y, e, f"{r['parity']} {r['irrep']}") for r in rows for y, e in zip(r["y"], r["y_err"])),
                   key=lambda t: -t[0])
    if len(cands) < 3:
        raise ValueError(f"{len(cands)} exponents given; the third largest needs at least 3")
    return cands[2]
