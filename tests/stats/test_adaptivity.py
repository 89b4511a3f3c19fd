"""Gap decomposition and gap trends against independent references."""

import numpy as np
import pytest
from scipy import stats

from robustness.stats.adaptivity import gap_decomposition, gap_trend, residual_trend
from robustness.stats.fits import fit_line
from robustness.stats.intervals import newcombe_difference


def test_generalization_bound_is_the_new_sets_exact_binomial_interval():
    # ImageNetV2 has 10,000 images; Recht et al. quote roughly +-1% for its sampling error.
    result = gap_decomposition(acc_orig=0.761, acc_new=0.633, n_new=10_000)
    exact = stats.binomtest(6330, 10_000).proportion_ci(0.95, method="exact")
    assert result.total_gap == pytest.approx(0.128)
    assert result.adaptivity_plus_distribution.low == pytest.approx(0.761 - exact.high)
    assert result.adaptivity_plus_distribution.high == pytest.approx(0.761 - exact.low)
    assert 0.008 < result.generalization_gap_bound < 0.011
    assert result.adaptivity_gap is None and result.distribution_gap is None


def test_fresh_original_sample_separates_adaptivity_from_distribution_gap():
    result = gap_decomposition(0.761, 0.633, 10_000, acc_fresh=0.752, n_fresh=20_000)
    exact = stats.binomtest(15040, 20_000).proportion_ci(0.95, method="exact")
    assert result.adaptivity_gap.estimate == pytest.approx(0.009)
    assert result.adaptivity_gap.low == pytest.approx(0.761 - exact.high)
    reference = newcombe_difference(15040, 20_000, 6330, 10_000)
    assert result.distribution_gap.low == pytest.approx(reference.low)
    assert result.distribution_gap.estimate == pytest.approx(0.752 - 0.633)
    # the three gaps add up to the total drop
    total = (result.adaptivity_gap.estimate + result.distribution_gap.estimate)
    assert total == pytest.approx(result.total_gap)
    with pytest.raises(ValueError, match="n_fresh"):
        gap_decomposition(0.761, 0.633, 10_000, acc_fresh=0.75)


@pytest.mark.parametrize(("slope", "grows", "shrinks"), [(0.7, True, False), (1.3, False, True)])
def test_gap_trend_detects_slopes_away_from_one(slope, grows, shrinks):
    rng = np.random.default_rng(0)
    acc_orig = rng.uniform(0.6, 0.85, 50)
    acc_new = np.clip(slope * acc_orig + (0.7 - slope * 0.72) + rng.normal(0, 0.01, 50), 0, 1)
    trend = gap_trend(acc_orig, acc_new, n_bootstrap=500)
    reference = stats.linregress(acc_orig, acc_new)
    assert trend.fit.slope == pytest.approx(reference.slope)
    assert (trend.gap_grows_with_accuracy, trend.gap_shrinks_with_accuracy) == (grows, shrinks)
    assert trend.p_value_slope_is_one < 1e-6


def test_gap_trend_with_slope_one_is_not_significant():
    rng = np.random.default_rng(1)
    acc_orig = rng.uniform(0.6, 0.85, 50)
    acc_new = acc_orig - 0.1 + rng.normal(0, 0.01, 50)
    trend = gap_trend(acc_orig, acc_new, n_bootstrap=500)
    assert trend.fit.slope_interval.contains(1.0)
    assert trend.p_value_slope_is_one > 0.05
    assert not trend.gap_grows_with_accuracy and not trend.gap_shrinks_with_accuracy


def test_residual_trend_recovers_an_injected_year_effect():
    rng = np.random.default_rng(2)
    acc_orig = rng.uniform(0.6, 0.85, 80)
    year = rng.integers(2012, 2024, 80).astype(float)
    base = stats.norm.cdf(-0.3 + stats.norm.ppf(acc_orig))
    fit = fit_line(acc_orig, base, "probit", n_bootstrap=0)
    shifted = base + 0.002 * (year - 2012)
    trend = residual_trend(acc_orig, shifted, year, fit)
    assert trend.slope == pytest.approx(0.002, rel=0.05)
    assert trend.p_value < 1e-6 and trend.spearman_rho > 0.9
    with pytest.raises(ValueError, match="one value per model"):
        residual_trend(acc_orig, shifted, year[:-1], fit)
