"""One way to run a block of code with a given number of numba threads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba

__all__ = ["numba_threads"]


@contextmanager
def numba_threads(n: int | None) -> Iterator[int]:
    """Run the ``with`` block with ``n`` numba threads, then restore the previous count.

    Parameters
    ----------
    n : int or None
        Wanted number of threads, clamped to ``1 .. numba.config.NUMBA_NUM_THREADS``;
        None keeps the current count.

    Yields
    ------
    int
        The number of threads in effect inside the block.
    """
    old = numba.get_num_threads()
    nt = old if n is None else max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))
    if nt != old:
        numba.set_num_threads(nt)
    try:
        yield nt
    finally:
        if nt != old:
            numba.set_num_threads(old)
