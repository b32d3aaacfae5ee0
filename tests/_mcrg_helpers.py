"""Helpers shared by the mergeable-MCRG tests (test_mcrg_merge.py, test_mcrg_streaming.py)."""

from __future__ import annotations

import json

import numpy as np


def assert_identical(accs_a, accs_b):
    """Bit-identical moments (every piece) and identical results, level by level."""
    assert len(accs_a) == len(accs_b)
    for a, b in zip(accs_a, accs_b):
        xa, xb = a.to_arrays(), b.to_arrays()
        assert xa.keys() == xb.keys()
        for key in xa:
            assert xa[key].dtype == xb[key].dtype and np.array_equal(xa[key], xb[key]), key
        assert json.dumps(a.result().to_dict()) == json.dumps(b.result().to_dict())
