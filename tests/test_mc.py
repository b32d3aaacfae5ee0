"""The Monte Carlo driver: exact finite-size values, determinism, resumption."""

import os
import signal
import subprocess
import sys
import time

import numba
import numpy as np
import pytest

from dreamrg import mc, store
from dreamrg.exact import K_C, exact_energy_and_heat_capacity
from dreamrg.observables import fss_observables, magnetization_energy


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["sw", "wolff"])
@pytest.mark.parametrize("L", [8, 16, 32])
def test_energy_and_heat_capacity_match_kaufman(tmp_path, algorithm, L):
    """⟨e⟩ and c within 3σ of the exact torus values (Kaufman 1949) at K_c."""
    params = mc.MCParams(L=L, algorithm=algorithm, seed=11, chunk_size=2000)
    st = mc.run(params, 16_000, tmp_path / "s", progress=False)
    m, e = magnetization_energy(st.read())
    r = fss_observables(m, e, L)
    e_ex, c_ex = exact_energy_and_heat_capacity(L, K_C)
    assert abs(r["e"].value - e_ex) < 3 * r["e"].error
    assert abs(r["c"].value - c_ex) < 3 * r["c"].error


def test_same_seed_same_bits_whatever_the_threads(tmp_path):
    params = mc.MCParams(L=16, seed=5, chunk_size=50)
    a = mc.run(params, 300, tmp_path / "a", progress=False, workers=1).read()
    b = mc.run(params, 300, tmp_path / "b", progress=False, workers=2).read()
    assert np.array_equal(a, b)
    c = mc.run(mc.MCParams(L=16, seed=6, chunk_size=50), 300, tmp_path / "c", progress=False).read()
    assert not np.array_equal(a, c)


def test_resume_extends_without_loss_or_duplication(tmp_path):
    params = mc.MCParams(L=8, seed=3, chunk_size=40)
    full = mc.run(params, 200, tmp_path / "full", progress=False).read()
    mc.run(params, 70, tmp_path / "part", progress=False)          # ends with a partial chunk
    part = mc.run(params, 200, tmp_path / "part", progress=False).read()
    assert np.array_equal(full, part)


@pytest.mark.slow
def test_killed_run_reopens_and_resumes(tmp_path):
    """SIGKILL a CLI run mid-way; the store holds whole chunks and re-running completes it identically."""
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "dreamrg.cli", "mc", "--L", "32", "--n-configs", "6000", "--seed", "9",
           "--chunk-size", "100", "--out", str(out), "--no-progress", "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if store.is_store(out) and store.open_store(out).count >= 300:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    st = store.open_store(out, mode="r+")
    assert 300 <= st.count < 6000 and st.count % 100 == 0
    before = st.read()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    resumed = store.load_configs(out)
    assert len(resumed) == 6000 and np.array_equal(resumed[: len(before)], before)
    reference = mc.run(mc.MCParams(L=32, seed=9, chunk_size=100), 6000, tmp_path / "ref", progress=False)
    assert np.array_equal(resumed, reference.read())


@pytest.mark.parametrize("kwargs, match", [
    ({"L": 1}, "L must be"), ({"L": 8, "K": 0.0}, "K must be"), ({"L": 8, "K": -1.0}, "K must be"),
    ({"L": 8, "algorithm": "metropolis"}, "algorithm"), ({"L": 8, "thin": -2}, "thin"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mc.MCParams(**kwargs)


def test_defaults_follow_the_paper():
    p = mc.MCParams(L=128)
    assert p.K == K_C and p.thin == 12 and p.algorithm == "sw"
    assert mc.MCParams(L=32).thin == 6
