"""McNemar, paired difference, Holm and error consistency on hand-worked cases."""

import numpy as np
import pytest
from scipy import stats

from robustness.stats.paired import (
    discordant_counts,
    error_consistency,
    holm_bonferroni,
    mcnemar_chi2,
    mcnemar_chi2_from_counts,
    mcnemar_exact,
    mcnemar_exact_from_counts,
    paired_difference,
)


def _vectors(both_right, only_a, only_b, both_wrong):
    a = np.array([1] * both_right + [1] * only_a + [0] * only_b + [0] * both_wrong, dtype=bool)
    b = np.array([1] * both_right + [0] * only_a + [1] * only_b + [0] * both_wrong, dtype=bool)
    return a, b


def test_exact_mcnemar_small_table_by_hand():
    # b = 1, c = 6: P(X <= 1 | Binom(7, 1/2)) = (1 + 7) / 128; two-sided p = 16/128 = 0.125.
    a, b = _vectors(10, 1, 6, 3)
    result = mcnemar_exact(a, b)
    assert (result.only_a_right, result.only_b_right) == (1, 6)
    assert result.p_value == pytest.approx(16 / 128, abs=1e-12)


def test_exact_mcnemar_symmetric_table_has_p_one():
    assert mcnemar_exact_from_counts(4, 4).p_value == 1.0
    assert mcnemar_exact_from_counts(0, 0).p_value == 1.0


def test_exact_mcnemar_equals_binomial_test():
    assert mcnemar_exact_from_counts(12, 30).p_value == pytest.approx(
        stats.binomtest(12, 42, 0.5).pvalue, rel=1e-10)


def test_chi2_mcnemar_by_hand():
    # (|1 - 6| - 1)^2 / 7 = 16/7; p from chi-square with 1 df = erfc(sqrt(16/14)).
    a, b = _vectors(10, 1, 6, 3)
    result = mcnemar_chi2(a, b)
    assert result.statistic == pytest.approx(16 / 7)
    from math import erfc, sqrt
    assert result.p_value == pytest.approx(erfc(sqrt(16 / 14)), rel=1e-10)
    assert mcnemar_chi2_from_counts(5, 5).p_value == 1.0


def test_paired_difference_and_standard_error_by_hand():
    a, b = _vectors(10, 1, 6, 3)  # n = 20, d = (1 - 6)/20 = -0.25
    result = paired_difference(a, b)
    d = a.astype(float) - b.astype(float)
    assert result.estimate == pytest.approx(-0.25)
    assert result.std_error == pytest.approx(d.std(ddof=0) / np.sqrt(20))


def test_discordant_counts_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="same images"):
        discordant_counts(np.ones(5, bool), np.ones(6, bool))


def test_holm_by_hand():
    # sorted p: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> 0.06)
    adjusted, reject = holm_bonferroni([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    assert reject.tolist() == [True, False, False, True]


def test_holm_caps_at_one_and_rejects_nothing_when_all_large():
    adjusted, reject = holm_bonferroni([0.5, 0.9])
    np.testing.assert_allclose(adjusted, [1.0, 1.0])
    assert not reject.any()


def test_error_consistency_by_hand_and_limits():
    # n = 20: observed agreement 13/20; p_a = 11/20, p_b = 16/20;
    # expected = 0.55 * 0.8 + 0.45 * 0.2 = 0.53; kappa = (0.65 - 0.53) / 0.47.
    a, b = _vectors(10, 1, 6, 3)
    assert error_consistency(a, b) == pytest.approx(0.12 / 0.47)
    assert error_consistency(a, a) == pytest.approx(1.0)
    assert error_consistency(a, ~a) < 0


def test_error_consistency_of_independent_models_is_near_zero():
    rng = np.random.default_rng(0)
    a = rng.random(200_000) < 0.7
    b = rng.random(200_000) < 0.6
    assert abs(error_consistency(a, b)) < 0.01


def test_mcnemar_p_values_equal_scipy_stats_over_a_grid_of_counts():
    # The module computes the tails through scipy.special; scipy.stats is the oracle here,
    # including counts the size of a 50,000-image test set and tails far below 1e-300.
    for b, c in [(0, 1), (1, 0), (3, 9), (250, 260), (1000, 4000), (0, 50000), (24000, 26000)]:
        n, k = b + c, min(b, c)
        exact = mcnemar_exact_from_counts(b, c).p_value
        assert exact == pytest.approx(min(1.0, 2 * stats.binom.cdf(k, n, 0.5)), rel=1e-12, abs=1e-300)
        chi2 = mcnemar_chi2_from_counts(b, c)
        assert chi2.p_value == pytest.approx(stats.chi2.sf(chi2.statistic, 1), rel=1e-12, abs=1e-300)
