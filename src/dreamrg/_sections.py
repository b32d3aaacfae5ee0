"""The building blocks of profile sections (:mod:`dreamrg.profiles`): validated, frozen dataclass fields.

A section field is declared with :func:`_param` / :func:`_seed` (its kind, least value,
rule and documentation); :class:`_Section` normalises and checks every field on
construction and refuses a bad value with one error naming the chapter, the key, what
is allowed and what was given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import field
from typing import Any, ClassVar

MAX_N_UP = 12            # dream.DreamParams: final size L0·2^n_up ≤ 4096
MCRG_MIN_L_FINE = 8      # mcrg.MIN_L_FINE: the coarsest fine lattice of an MCRG blocking step
MCRG_N_BINS = 32         # jackknife bins of the cached MCRG results (runs use n_bins = 32)


class IntMap(Mapping):
    """A read-only, hashable ``{int: int}`` (e.g. batch size per kernel size k).

    Keys given as strings of digits (JSON and TOML keys are strings) become ints;
    it compares equal to the plain dict with the same items.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping | None = None) -> None:
        self._items = dict(sorted((int(k), v) for k, v in dict(items or {}).items()))

    def __getitem__(self, key: int) -> int:
        return self._items[key]

    def __iter__(self) -> Iterator[int]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __repr__(self) -> str:
        return f"IntMap({self._items!r})"


# ----------------------------------------------------------------------------- field specifications
def _odd_kernel(k: int) -> bool:
    return k >= 3 and k % 2 == 1


def _param(kind: str = "int", *, least: int = 1, rule=None, rule_text: str = "", doc: str = "",
           optional: Any = dataclasses.MISSING):
    """A section field: ``kind`` is "int", "ints" (tuple) or "map" (IntMap); ``least`` is the smallest
    integer of the type check (today's override rule: counts ≥ 1, seeds ≥ 0); ``rule`` an extra
    per-integer predicate described by ``rule_text``. An ``optional`` field has that default (an "ints"
    one may be empty) and is left out of :meth:`_Section.to_dict` (and so of the profile's key) while it
    holds it, so adding one keeps the keys of the profiles that do not set it."""
    return field(default=optional, metadata={"kind": kind, "least": least, "rule": rule, "rule_text": rule_text,
                                             "doc": doc, "optional": optional is not dataclasses.MISSING})


def _seed(doc: str = ""):
    return _param(least=0, doc=doc)


def _kind_text(kind: str, least: int) -> str:
    base = f"integer ≥ {least}"
    return {"int": base, "ints": f"a non-empty list of {base}s",
            "map": f"a dict of {base}s keyed by kernel size"}[kind]


def _is_count(x: Any, least: int) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= least


def _plain(value: Any) -> Any:
    """JSON-able, mutable form of a field value: tuples → lists, IntMap → {int: int}."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _fail(chapter: str, key: str, must: str, value: Any, was: Any = dataclasses.MISSING) -> ValueError:
    has = "" if was is dataclasses.MISSING else f" (the profile has {_plain(was)!r})"
    return ValueError(f"parameter {key!r} of chapter {chapter!r} must be {must}{has}; got {_plain(value)!r}")


def _normalise(chapter: str, f: dataclasses.Field, value: Any, was: Any = dataclasses.MISSING) -> Any:
    """Check ``value`` for field ``f`` and return it in the field's type (tuple, IntMap)."""
    kind, least, rule = f.metadata["kind"], f.metadata["least"], f.metadata["rule"]
    type_error = _fail(chapter, f.name, _kind_text(kind, least), value, was)
    if kind == "int":
        if not _is_count(value, least):
            raise type_error
        numbers = [value]
    elif kind == "ints":
        empty_ok = f.metadata["optional"] and isinstance(value, (list, tuple)) and not value
        if not empty_ok and (not isinstance(value, (list, tuple)) or not value
                             or not all(_is_count(x, least) for x in value)):
            raise type_error
        value = tuple(value)
        numbers = list(value)
    else:
        if not isinstance(value, Mapping) or not value or not all(_is_count(x, least) for x in value.values()):
            raise type_error
        keys = [k for k in value if not (isinstance(k, int) and not isinstance(k, bool))]
        if any(not (isinstance(k, str) and k.isdigit()) for k in keys):
            raise type_error
        value = IntMap(value)
        if not all(_odd_kernel(k) for k in value):
            raise _fail(chapter, f.name, "a dict keyed by kernel sizes (odd integers ≥ 3)", value, was)
        numbers = list(value.values())
    if rule is not None and not all(rule(x) for x in numbers):
        raise _fail(chapter, f.name, f.metadata["rule_text"], value, was)
    return value


class _Section:
    """Shared behaviour of the chapter sections (frozen dataclasses)."""

    CHAPTER: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _normalise(self.CHAPTER, f, getattr(self, f.name)))
        self._check()

    def _check(self) -> None:
        """Checks between fields of one section (overridden where needed)."""

    def _refuse(self, key: str, must: str) -> ValueError:
        return _fail(self.CHAPTER, key, must, getattr(self, key))

    def to_dict(self) -> dict[str, Any]:
        """Today's parameter dictionary: lists for tuples, ``{int: int}`` for maps, in field order."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                if not (f.metadata["optional"] and getattr(self, f.name) == f.default)}

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> _Section:
        """A copy with ``overrides`` (``{key: value}``) applied; unknown keys and wrong types are refused."""
        if not overrides:
            return self
        fields = {f.name: f for f in dataclasses.fields(self)}
        changes = {}
        for key, value in overrides.items():
            if key not in fields:
                raise ValueError(f"unknown parameter {key!r} for chapter {self.CHAPTER!r}; "
                                 f"allowed: {', '.join(sorted(fields))}")
            changes[key] = _normalise(self.CHAPTER, fields[key], value, was=getattr(self, key))
        return dataclasses.replace(self, **changes)


_L = dict(rule=lambda L: L >= 2, rule_text="a lattice size L ≥ 2 (a list of them)")
_M = dict(rule=lambda M: M >= 5, rule_text="a set size M ≥ 5 (the validation set has M/5 configurations)")
_K = dict(rule=_odd_kernel, rule_text="a kernel size: an odd integer ≥ 3")
_N_UP = dict(rule=lambda n: n <= MAX_N_UP, rule_text=f"a number of upscalings 1..{MAX_N_UP} (final size ≤ 4096)")
_MCRG_N = dict(rule=lambda n: n >= MCRG_N_BINS,
               rule_text=f"a number of configurations ≥ {MCRG_N_BINS} (the jackknife bins of the MCRG results)")
