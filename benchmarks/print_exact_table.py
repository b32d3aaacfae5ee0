"""Print Kaufman's exact energy and specific heat per spin at K_c, with the time each size takes.

``dreamrg.exact.exact_energy_and_heat_capacity`` on L x L tori for the sizes given
(default 8 .. 128). A table to read, not a test: the values themselves are
checked against enumeration and the Onsager asymptotics in ``tests/test_exact.py``.

Usage::

    .venv/bin/python benchmarks/print_exact_table.py [--sizes 8 16 32 64 128]
"""

from __future__ import annotations

import argparse
import time

from dreamrg.exact import K_C, exact_energy_and_heat_capacity


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64, 128], help="linear sizes L")
    args = ap.parse_args()
    print("    L   <e>(K_c)       c(K_c)         time")
    for L in args.sizes:
        t0 = time.perf_counter()
        e, c = exact_energy_and_heat_capacity(L, K_C)
        print(f"{L:5d}  {e:.10f}  {c:.10f}  {1e3 * (time.perf_counter() - t0):8.1f} ms")


if __name__ == "__main__":
    main()
