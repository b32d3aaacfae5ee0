"""A command-line Monte Carlo run killed mid-way (SIGKILL), for the tests of what it leaves and how it resumes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from dreamrg import store

#: the run: L = 32, seed 9, chunks of 100 configurations, one thread (``mc.MCParams(**MC_PARAMS)`` is the same)
MC_PARAMS = {"L": 32, "seed": 9, "chunk_size": 100}


def mc_command(out: Path, n_configs: int) -> list[str]:
    """``dreamrg mc`` of :data:`MC_PARAMS` into ``out``, as a subprocess's argument list."""
    return [sys.executable, "-m", "dreamrg.cli", "mc", "--L", "32", "--n-configs", str(n_configs), "--seed", "9",
            "--chunk-size", "100", "--out", str(out), "--no-progress", "--workers", "1"]


def kill_mc_run(out: Path, n_configs: int, at: int, timeout: float = 120) -> list[str]:
    """Start :func:`mc_command` and SIGKILL it once its store holds ``at`` configurations (or after ``timeout`` s).

    Returns the command, to run again (it resumes).
    """
    cmd = mc_command(out, n_configs)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and not (store.is_store(out) and store.open_store(out).count >= at):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return cmd
