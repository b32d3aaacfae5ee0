"""Strict checks of the plain values the public API takes (base layer; imports nothing of dreamrg).

An integer argument is a Python ``int`` or a numpy integer -- never a ``bool``, a float
(``3.7`` must not silently read as 3, and ``3.0`` is refused too) or a string. Numbers of
arbitrary size are fine here; the bounds are the callers'.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["check_int", "check_optional_int", "is_int", "json_safe"]


def is_int(x: Any) -> bool:
    """Whether ``x`` is an int or a numpy integer (not a bool)."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def check_int(x: Any, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``x`` as an ``int`` if it is an integer within [minimum, maximum]; ValueError naming ``name`` otherwise."""
    if not is_int(x):
        shown = repr(x) if len(repr(x)) <= 60 else repr(x)[:57] + "..."
        raise ValueError(f"{name} must be an integer; got {shown} ({type(x).__name__})")
    value = int(x)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be ≥ {minimum}; got {value}")
    if maximum is not None and value > maximum:
        shown = str(value) if value.bit_length() < 200 else f"a number of {value.bit_length()} bits"
        raise ValueError(f"{name} must be ≤ {maximum}; got {shown}")
    return value


def check_optional_int(x: Any, name: str, minimum: int | None = None, maximum: int | None = None) -> int | None:
    """:func:`check_int`, with ``None`` passed through."""
    return None if x is None else check_int(x, name, minimum, maximum)


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, ±inf) replaced by ``None`` (JSON ``null``), recursively.

    Lists, tuples and dicts are copied; numpy scalars become Python numbers, so the
    result goes through ``json.dumps(..., allow_nan=False)``.
    """
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
