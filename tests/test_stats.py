"""dreamrg.stats.seed_spread: the scatter of independent estimates against their error bars."""

import math

import numpy as np
import pytest
from scipy.stats import chi2

from dreamrg.stats import SeedSpread, pooled_ratio, seed_spread


def test_hand_computed_examples():
    s = seed_spread([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    assert (s.n, s.dof, s.mean, s.sd, s.rms_err, s.ratio) == (3, 2, 2.0, 1.0, 1.0, 1.0)
    assert s.ratio_err == pytest.approx(0.5) and s.chi2 == pytest.approx(2.0)
    assert s.p_value == pytest.approx(math.exp(-1.0))              # χ²_2 survival function: exp(−χ²/2)
    assert s.mean_err == pytest.approx(1 / math.sqrt(3)) and s.mean_err_from == "spread"
    # unequal errors: χ² about the inverse-variance weighted mean 0.6, not about the plain mean 1.5
    t = seed_spread([0.0, 3.0], [1.0, 2.0])
    assert t.mean == 1.5 and t.chi2 == pytest.approx(0.36 + 5.76 / 4) and t.dof == 1
    assert t.p_value == pytest.approx(chi2.sf(1.8, 1))
    assert t.sd == pytest.approx(3 / math.sqrt(2)) and t.rms_err == pytest.approx(math.sqrt(2.5))
    # scatter smaller than the errors: the mean's error comes from the errors
    u = seed_spread([1.0, 1.1, 0.9, 1.0], [0.5, 0.5, 0.5, 0.5])
    assert u.mean_err_from == "errors" and u.mean_err == pytest.approx(0.25) and u.ratio < 1
    assert SeedSpread.from_dict(u.to_dict()) == u


def _spreads(factor: float, trials: int = 4000, S: int = 8) -> list[SeedSpread]:
    """``trials`` spreads of S Gaussian estimates whose stated errors are the true σ/factor."""
    rng = np.random.default_rng(np.random.SeedSequence(20))
    sigma = rng.uniform(0.5, 1.5, size=(trials, S))
    x = 3.0 + sigma * rng.standard_normal((trials, S))
    return [seed_spread(xi, si / factor) for xi, si in zip(x, sigma)]


def _trials(factor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ratio, ratio_err, p) of :func:`_spreads`."""
    out = _spreads(factor)
    return (np.array([s.ratio for s in out]), np.array([s.ratio_err for s in out]),
            np.array([s.p_value for s in out]))


def test_honest_errors_give_a_ratio_near_one_and_uniform_p_values():
    r, r_err, p = _trials(1.0)
    assert abs(np.mean(r**2) - 1) < 0.04                 # E[s²] = mean σ_i² exactly, for any σ_i
    assert 0.9 < np.median(r) < 1.05
    assert abs(np.std(r) / np.median(r_err) - 1) < 0.15  # the stated ratio error is the ratio's real scatter
    assert abs(np.mean(p < 0.05) - 0.05) < 0.012 and abs(np.mean(p < 0.5) - 0.5) < 0.03


def test_halved_errors_give_a_ratio_near_two_and_small_p_values():
    r, _, p = _trials(2.0)
    assert abs(math.sqrt(np.mean(r**2)) - 2) < 0.05
    assert 1.8 < np.median(r) < 2.1
    # honest-looking p-values are rare: P(p < 0.05) = P(χ²_7 > χ²_7,0.95 / 4)
    assert abs(np.mean(p < 0.05) - chi2.sf(chi2.isf(0.05, 7) / 4, 7)) < 0.02


def test_pooled_ratio_of_independent_spreads():
    one = seed_spread([1.0, 2.0, 3.0], [0.5, 0.5, 0.5])
    assert pooled_ratio([one.ratio], [one.dof], [one.chi2]) == pytest.approx((one.ratio, one.ratio_err, one.p_value))
    for factor in (1.0, 2.0):
        spreads = _spreads(factor, trials=50)                      # 350 degrees of freedom
        R, R_err, p = pooled_ratio(*zip(*((s.ratio, s.dof, s.chi2) for s in spreads)))
        assert abs(R - factor) < 3 * R_err and R_err == pytest.approx(R / math.sqrt(700))
        assert (p > 0.001) if factor == 1.0 else (p < 1e-10)
    with pytest.raises(ValueError, match="at least one"):
        pooled_ratio([], [], [])
    with pytest.raises(ValueError, match="same length"):
        pooled_ratio([1.0, 1.0], [7], [7.0, 7.0])


@pytest.mark.parametrize("values, errors, fragment", [
    ([1.0], [1.0], "same length ≥ 2"),
    ([1.0, 2.0], [1.0], "same length ≥ 2"),
    ([[1.0, 2.0]], [[1.0, 1.0]], "1-d"),
    ([1.0, 2.0], [1.0, 0.0], "errors finite and > 0"),
    ([1.0, float("nan")], [1.0, 1.0], "values must be finite"),
])
def test_bad_input_is_one_clear_error(values, errors, fragment):
    with pytest.raises(ValueError, match=fragment):
        seed_spread(values, errors)


def test_spread_readings_and_means_text_shared_by_the_fss_and_mcrg_checks():
    """A pooled SD/σ more than 2σ above 1 reads "too small", below "conservative", else "stand"; the means text
    counts agreements and names each mean beyond 2σ with the paper's own error added (scaled from our σ)."""
    import math

    import pandas as pd

    from dreamrg.spread_tables import means_text, paper_own_error, pooled, ratio_reading

    assert [ratio_reading(R, 0.1) for R in (1.25, 0.75, 1.15, math.nan)] == ["too small", "conservative", "stand",
                                                                               "none"]
    assert all(math.isnan(v) for v in pooled(pd.DataFrame(columns=["ratio_value", "dof_value", "chi2_value"])))
    rows = pd.DataFrame({"name": ["a", "b"], "mean_value": [1.000, 1.100], "mean_err": [0.001, 0.001],
                         "paper": ["1.000", "1.000"], "rms_value": [0.002, 0.002]})
    text = means_text(rows, configs=10_000, paper_configs=1_000_000, table="the paper's Table X", label=lambda r: r.name)
    # b: z = 0.1/hypot(0.001, 0.0005) ≈ 89; with the paper's own error 0.002·0.1 = 0.0002 added, z ≈ 88.0
    assert text.startswith("1 of 2 agree with the paper's Table X within 2σ; beyond it: b (z = +89.4;")
    assert text.endswith("z = +88.0 with the paper's own statistical error added: it prints none, but at its 1,000,000 "
                         "dreamed samples our jackknife puts it near 0.0002)")
    assert paper_own_error(rows, configs=10_000, paper_configs=1_000_000) == pytest.approx(0.0002)
    assert means_text(rows.iloc[:0], configs=1, paper_configs=1, table="T", label=str) == "none of them has a value of T to compare with"
