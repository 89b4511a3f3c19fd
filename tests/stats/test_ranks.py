"""Rank correlations against scipy, bootstrap over images, significant rank changes."""

import numpy as np
import pytest
from scipy import stats

from robustness.stats.paired import mcnemar_exact
from robustness.stats.ranks import (
    kendall_tau_b,
    rank_stability,
    significant_rank_changes,
    simultaneous_rank_bounds,
    spearman_rho,
)


def test_kendall_and_spearman_match_scipy_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(0, 6, 25).astype(float)  # many ties
        y = x + rng.integers(-2, 3, 25)
        assert kendall_tau_b(x, y) == pytest.approx(stats.kendalltau(x, y).statistic, rel=1e-12)
        assert spearman_rho(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, rel=1e-12)


def test_rank_correlations_are_vectorised_over_leading_axes():
    rng = np.random.default_rng(1)
    x, y = rng.random((4, 12)), rng.random((4, 12))
    expected = [stats.kendalltau(a, b).statistic for a, b in zip(x, y, strict=True)]
    np.testing.assert_allclose(kendall_tau_b(x, y), expected, rtol=1e-12)


def _correctness(accuracies, n_images, rng):
    return rng.random((len(accuracies), n_images)) < np.asarray(accuracies)[:, None]


def test_rank_stability_point_estimates_and_intervals():
    rng = np.random.default_rng(2)
    accs = np.linspace(0.5, 0.8, 8)
    orig = _correctness(accs, 20000, rng)
    new = _correctness(accs - 0.1, 10000, rng)
    result = rank_stability(orig, new, n_resamples=300)
    acc_orig, acc_new = orig.mean(1), new.mean(1)
    assert result.kendall_tau.estimate == pytest.approx(stats.kendalltau(acc_orig, acc_new)[0])
    assert result.spearman_rho.estimate == pytest.approx(stats.spearmanr(acc_orig, acc_new)[0])
    for interval in (result.kendall_tau, result.spearman_rho):
        assert -1 <= interval.low <= interval.high <= 1
        assert interval.low > 0.5  # well separated models keep their order


def test_rank_stability_interval_is_wide_when_models_are_indistinguishable():
    rng = np.random.default_rng(3)
    accs = np.full(6, 0.7)
    result = rank_stability(_correctness(accs, 500, rng), _correctness(accs, 500, rng),
                            n_resamples=300)
    assert result.kendall_tau.low < 0 < result.kendall_tau.high


def test_significant_rank_changes_by_hand():
    rng = np.random.default_rng(4)
    n = 4000
    # model_0 clearly beats model_1 on orig and clearly loses on new: significant flip.
    # model_2 vs model_3: nearly equal on both sets: a flip that is noise.
    orig = _correctness([0.80, 0.70, 0.50, 0.50], n, rng)
    new = _correctness([0.60, 0.72, 0.40, 0.40], n, rng)
    changes = significant_rank_changes(orig, new, ["a", "b", "c", "d"])
    flipped = {(c.model_a, c.model_b): c for c in changes}
    acc_orig, acc_new = orig.mean(1), new.mean(1)
    expected_pairs = {
        (f"{'abcd'[i]}", f"{'abcd'[j]}")
        for i in range(4) for j in range(i + 1, 4)
        if (acc_orig[i] - acc_orig[j]) * (acc_new[i] - acc_new[j]) < 0
    }
    assert set(flipped) == expected_pairs and ("a", "b") in flipped
    assert flipped[("a", "b")].significant
    assert flipped[("a", "b")].p_new == pytest.approx(mcnemar_exact(new[0], new[1]).p_value)
    m = 2 * len(changes)
    assert flipped[("a", "b")].p_new_holm <= min(1.0, m * flipped[("a", "b")].p_new)
    if ("c", "d") in flipped:
        assert not flipped[("c", "d")].significant


def test_timm_kendall_tau_between_val_and_imagenetv2_equals_scipy(timm_val_v2):
    val, v2 = timm_val_v2["top1_val"].to_numpy(), timm_val_v2["top1_v2"].to_numpy()
    tau = kendall_tau_b(val, v2)
    assert tau == pytest.approx(stats.kendalltau(val, v2).statistic, rel=1e-12)
    assert spearman_rho(val, v2) == pytest.approx(stats.spearmanr(val, v2).statistic, rel=1e-12)


def test_rank_correlation_bias_is_negative_when_models_are_closer_than_their_noise():
    # 20 models 0.2 points apart on 1,000 images (sampling sd ~1.4 points): noise scrambles
    # the order, so resampled correlations are attenuated (bias < 0) and the basic interval
    # lies above the percentile one.
    rng = np.random.default_rng(6)
    accs = np.linspace(0.70, 0.74, 20)
    result = rank_stability(_correctness(accs, 1000, rng), _correctness(accs - 0.1, 1000, rng),
                            n_resamples=300)
    assert result.kendall_tau_bias < 0 and result.spearman_rho_bias < 0
    tau = result.kendall_tau
    assert tau.method == "simultaneous-clopper-pearson"
    assert tau.low < tau.estimate < tau.high


def _exact_correctness(accuracies, n_images):
    """Correctness rows with exactly round(a * n) correct images each."""
    counts = np.round(np.asarray(accuracies) * n_images).astype(int)
    return np.arange(n_images)[None, :] < counts[:, None]


def test_simultaneous_bounds_by_hand():
    # 3 models, far apart on the original set; models 0 and 1 tie exactly on the new set, so
    # their order there is open: pair (0, 1) may add -1 or +1, pairs (0, 2) and (1, 2) add +1.
    orig = _exact_correctness([0.2, 0.5, 0.8], 2000)
    new = _exact_correctness([0.3, 0.3, 0.9], 2000)
    (tau_low, tau_high), (rho_low, rho_high) = simultaneous_rank_bounds(orig, new)
    assert (tau_low, tau_high) == pytest.approx((1 / 3, 1.0))
    # ranks: orig 1, 2, 3; new model 0 and 1 in {1, 2}, model 2 is 3 -> sum d^2 in [0, 2]
    assert (rho_low, rho_high) == pytest.approx((1 - 6 * 2 / (3 * 8), 1.0))
    result = rank_stability(orig, new, n_resamples=0)
    assert (result.kendall_tau.low, result.kendall_tau.high) == pytest.approx((1 / 3, 1.0))
    assert np.isnan(result.kendall_tau_bias)


def _coverage(p_orig, p_new, n_orig, n_new, reps, seed):
    rng = np.random.default_rng(seed)
    true_tau = stats.kendalltau(p_orig, p_new).statistic
    true_rho = stats.spearmanr(p_orig, p_new).statistic
    hits_tau = hits_rho = 0
    for _ in range(reps):
        result = rank_stability(_correctness(p_orig, n_orig, rng), _correctness(p_new, n_new, rng),
                                n_resamples=0)
        hits_tau += result.kendall_tau.low <= true_tau <= result.kendall_tau.high
        hits_rho += result.spearman_rho.low <= true_rho <= result.spearman_rho.high
    return hits_tau / reps, hits_rho / reps


def test_rank_intervals_hold_95_percent_coverage_where_the_bootstrap_did_not():
    # models closer than their noise (the old basic bootstrap interval covered the true tau
    # 2.5% of the time here), and a shuffled ranking with true tau 0.79 (it covered 77%)
    close = np.linspace(0.70, 0.74, 20)
    assert min(_coverage(close, close - 0.1, 1000, 1000, 60, seed=0)) >= 0.95
    rng = np.random.default_rng(9)
    p_orig = np.linspace(0.6, 0.8, 12)
    p_new = p_orig - 0.1 + rng.normal(0, 0.03, 12)
    assert min(_coverage(p_orig, p_new, 10000, 10000, 60, seed=1)) >= 0.95
