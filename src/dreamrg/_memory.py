"""How much memory a run may take: checked before anything large is allocated."""

from __future__ import annotations

import os


def available_bytes() -> int:
    """Memory available to a new allocation now (Linux ``MemAvailable``; else the physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**63 - 1


def gib(n: float) -> str:
    """A byte count in GiB, for messages."""
    return f"{n / 2**30:.1f} GiB" if n < 2**50 else f"{n / 2**30:.3g} GiB"
