"""Calibration metrics against hand-computed cases, brute force and simulated calibrated data."""

from itertools import permutations, product

import numpy as np
import pytest

from robustness.stats.bootstrap import resample_counts
from robustness.stats.calibration import (
    P_TRUE_FLOOR,
    aurc,
    brier_score,
    brier_score_from_top_k,
    calibration_summary,
    equal_mass_bins,
    equal_width_bins,
    expected_calibration_error,
    negative_log_likelihood,
    negative_log_likelihood_from_logits,
    optimal_aurc,
    reliability_diagram,
    risk_coverage_curve,
)

# ---------------------------------------------------------------- ECE


def test_ece_equal_width_hand_computed():
    # bin 9 = [0.6, 0.667): three images, accuracy 2/3, mean confidence 0.64 -> gap 0.02667;
    # bin 14 = [0.933, 1]: two images, accuracy 1, mean confidence 0.96 -> gap 0.04.
    conf = [0.62, 0.64, 0.66, 0.95, 0.97]
    correct = [1, 0, 1, 1, 1]
    expected = (3 * abs(2 / 3 - 0.64) + 2 * abs(1 - 0.96)) / 5
    assert expected_calibration_error(conf, correct) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.032)


def test_bins_are_closed_on_the_left_and_the_last_holds_one():
    assert equal_width_bins([0.0, 0.0666, 0.0667, 0.39, 0.4, 0.9999, 1.0]).tolist() == [
        0, 0, 1, 5, 6, 14, 14]
    # 0.4 opens bin [0.4, 0.467): separate from 0.39, so ECE = (0.6 + 0.39) / 2.
    # (Right-closed bins would pool them: |0.5 - 0.395| = 0.105.)
    assert expected_calibration_error([0.4, 0.39], [1, 0]) == pytest.approx(0.495)
    # 1.0 shares the last bin with 0.94: |0.5 - 0.97| = 0.47 (alone it would give 0.53)
    assert expected_calibration_error([1.0, 0.94], [0, 1]) == pytest.approx(0.47)


def test_the_bin_is_decided_on_the_stored_float16_value():
    # float16(0.4) = 0.39990234375 lies below the edge 0.4
    assert float(np.float16(0.4)) < 0.4
    assert equal_width_bins(np.array([0.4], dtype=np.float16)).tolist() == [5]


def test_ece_equal_mass_hand_computed():
    # 3 bins of 2 sorted images: gaps 0.15, 0.15, 0.45
    conf = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    correct = [0, 0, 1, 0, 1, 1]
    ece = expected_calibration_error(conf, correct, n_bins=3, binning="mass")
    assert ece == pytest.approx((0.15 + 0.15 + 0.45) / 3)
    # 7 images in 2 bins: the second starts at round(3.5) = 4 (robustness_metrics' rounding),
    # so the bins hold 4 and 3 images: (4 * |0 - 0.25| + 3 * |1 - 0.6|) / 7
    conf = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    correct = [0, 0, 0, 0, 1, 1, 1]
    assert equal_mass_bins(conf, 2).tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert expected_calibration_error(conf, correct, n_bins=2, binning="mass") == pytest.approx(2.2 / 7)


def test_equal_mass_bins_keep_ties_together_whatever_their_order():
    # edges at sorted positions 0 and 2: 0.1 and 0.2, so both 0.2s and 0.4 share bin 1:
    # (1 * |0 - 0.1| + 3 * |2/3 - 0.8/3|) / 4 = 0.325
    conf = np.array([0.1, 0.2, 0.2, 0.4])
    assert equal_mass_bins(conf, 2).tolist() == [0, 1, 1, 1]
    for correct in ([0, 1, 0, 1], [0, 0, 1, 1]):  # the tied images swap labels
        assert expected_calibration_error(conf, correct, n_bins=2, binning="mass") == pytest.approx(0.325)


def test_reliability_diagram_matches_the_ece():
    rng = np.random.default_rng(3)
    conf = rng.uniform(0, 1, 500)
    correct = rng.uniform(size=500) < conf**2
    for binning in ("width", "mass"):
        diagram = reliability_diagram(conf, correct, binning=binning)
        full = diagram.count > 0
        gaps = np.abs(diagram.accuracy[full] - diagram.confidence[full])
        assert diagram.count.sum() == 500
        assert np.sum(diagram.count[full] * gaps) / 500 == pytest.approx(
            expected_calibration_error(conf, correct, binning=binning))


# ---------------------------------------------------------------- weights = repeated rows


def test_every_metric_weighted_by_resample_counts_equals_the_metric_of_the_gathered_rows():
    rng = np.random.default_rng(7)
    n = 60
    probs = rng.dirichlet(np.ones(8) * 0.5, size=n)
    labels = rng.integers(0, 8, n)
    conf = np.round(probs.max(axis=1), 2)  # rounded: ties
    correct = probs.argmax(axis=1) == labels
    p_true = probs[np.arange(n), labels]
    top = -np.sort(-probs, axis=1)[:, :5]
    inside = np.argsort(-probs, axis=1)[:, :5] == labels[:, None]
    inside = inside.any(axis=1)
    for w in resample_counts(n, 5, rng):
        rows = np.repeat(np.arange(n), w)
        for binning in ("width", "mass"):
            assert expected_calibration_error(conf, correct, binning=binning, weights=w) == \
                pytest.approx(expected_calibration_error(conf[rows], correct[rows], binning=binning))
        assert aurc(conf, correct, weights=w) == pytest.approx(aurc(conf[rows], correct[rows]))
        assert optimal_aurc(correct, weights=w) == pytest.approx(optimal_aurc(correct[rows]))
        assert negative_log_likelihood(p_true, weights=w).nll == pytest.approx(
            negative_log_likelihood(p_true[rows]).nll)
        assert brier_score(probs, labels, weights=w) == pytest.approx(brier_score(probs[rows], labels[rows]))
        weighted = brier_score_from_top_k(top, p_true, inside, 8, weights=w)
        gathered = brier_score_from_top_k(top[rows], p_true[rows], inside[rows], 8)
        assert (weighted.low, weighted.high) == pytest.approx((gathered.low, gathered.high))


# ---------------------------------------------------------------- NLL


def test_nll_from_float16_p_true_raises_zeros_to_the_floor_and_counts_them():
    p_true = np.array([0.5, 0.25, 1e-9], dtype=np.float16)  # 1e-9 is stored as 0
    assert p_true[2] == 0
    result = negative_log_likelihood(p_true)
    assert P_TRUE_FLOOR == np.finfo(np.float16).smallest_subnormal
    assert result.n_clipped == 1
    assert result.nll == pytest.approx((np.log(2) + np.log(4) + 24 * np.log(2)) / 3)


def test_nll_from_logits_hand_computed():
    logits = np.array([[2.0, 0.0], [0.0, 0.0]])
    # image 1: -log(e^2 / (e^2 + 1)); image 2: -log(1/2)
    expected = (np.log1p(np.exp(-2.0)) + np.log(2)) / 2
    assert negative_log_likelihood_from_logits(logits, [0, 1]) == pytest.approx(expected)


# ---------------------------------------------------------------- Brier


def test_brier_exact_hand_computed():
    probs = [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]
    # (0.3^2 + 0.2^2 + 0.1^2 = 0.14) and (0.1^2 + 0.7^2 + 0.6^2 = 0.86)
    assert brier_score(probs, [0, 1]) == pytest.approx(0.5)


def test_brier_bounds_from_the_top_five_hand_computed():
    probs = np.array([[0.4, 0.2, 0.1, 0.1, 0.1, 0.06, 0.04]])
    top = probs[:, :5]
    # label 0 in the top 5: known part 0.23 + 1 - 0.8; the other 2 classes hold 0.1, each <= 0.1:
    # their squares sum to between 0.1^2 / 2 and 0.1^2.
    bounds = brier_score_from_top_k(top, [0.4], [True], num_classes=7)
    assert (bounds.low, bounds.high) == pytest.approx((0.435, 0.44))
    assert bounds.estimate == pytest.approx(0.4375)
    exact = brier_score(probs, [0])  # 0.23 + 0.06^2 + 0.04^2 + 0.2
    assert exact == pytest.approx(0.4352)
    assert bounds.low <= exact <= bounds.high
    # label 5 outside the top 5: p_true = 0.06 is known and the last class holds exactly 0.04
    outside = brier_score_from_top_k(top, [0.06], [False], num_classes=7)
    assert outside.exact
    assert outside.estimate == pytest.approx(brier_score(probs, [5])) == pytest.approx(1.1152)


def test_brier_bounds_always_contain_the_exact_score():
    rng = np.random.default_rng(11)
    for concentration in (0.05, 0.5, 5.0):
        probs = rng.dirichlet(np.ones(40) * concentration, size=300)
        labels = rng.integers(0, 40, 300)
        order = np.argsort(-probs, axis=1)[:, :5]
        top = np.take_along_axis(probs, order, axis=1)
        inside = (order == labels[:, None]).any(axis=1)
        p_true = probs[np.arange(300), labels]
        exact = brier_score(probs, labels)
        bounds = brier_score_from_top_k(top, p_true, inside, num_classes=40)
        assert bounds.low - 1e-12 <= exact <= bounds.high + 1e-12
        assert bounds.high - bounds.low < 0.5


# ---------------------------------------------------------------- risk-coverage and AURC


def test_aurc_hand_computed():
    # errors after k = 1..4 images: 0, 1, 1, 1 -> risks 0, 1/2, 1/3, 1/4
    assert aurc([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 1]) == pytest.approx((0 + 1 / 2 + 1 / 3 + 1 / 4) / 4)
    # the two orders of the tied pair give risks (0, 1/2, 1/3) and (1, 1/2, 1/3)
    assert aurc([0.9, 0.9, 0.5], [1, 0, 1]) == pytest.approx((0.5 + 0.5 + 1 / 3) / 3)
    assert optimal_aurc([1, 0, 1]) == pytest.approx((0 + 0 + 1 / 3) / 3)


def _aurc_in_order(correct_in_order) -> float:
    errors = np.cumsum(1 - np.asarray(correct_in_order, dtype=float))
    return float(np.mean(errors / np.arange(1, len(errors) + 1)))


def test_aurc_with_ties_is_the_mean_over_all_orders_of_the_tied_images():
    conf = [0.9, 0.9, 0.9, 0.5, 0.5]
    correct = [1, 0, 0, 1, 0]
    first, second = [1, 0, 0], [1, 0]
    brute = [_aurc_in_order(list(a) + list(b))
             for a, b in product(permutations(first), permutations(second))]
    assert aurc(conf, correct) == pytest.approx(np.mean(brute))


def test_risk_coverage_curve_has_one_point_per_distinct_confidence():
    curve = risk_coverage_curve([0.5, 0.9, 0.9], [1, 0, 1])
    assert curve.threshold.tolist() == [0.9, 0.5]
    assert curve.coverage == pytest.approx([2 / 3, 1.0])
    assert curve.accuracy == pytest.approx([0.5, 2 / 3])
    assert curve.risk == pytest.approx([0.5, 1 / 3])


# ---------------------------------------------------------------- summary and intervals


def _synthetic(n, shift, seed):
    """Confidences in [0.2, 0.8] whose true accuracy is confidence - shift."""
    rng = np.random.default_rng(seed)
    accuracy = rng.uniform(0.2, 0.8, n)
    correct = rng.uniform(size=n) < accuracy
    return accuracy + shift, correct


def test_a_perfectly_calibrated_model_has_ece_near_zero_and_an_interval_from_zero():
    conf, correct = _synthetic(20_000, 0.0, seed=1)
    summary = calibration_summary(conf, correct, n_resamples=300, seed=1)
    for ece, p_value in ((summary.ece, summary.ece_p_value),
                         (summary.ece_equal_mass, summary.ece_equal_mass_p_value)):
        assert ece.estimate < 0.02
        assert ece.low == 0.0 and ece.contains(0.0)
        assert ece.high >= ece.estimate
        assert p_value > 0.025


def test_an_overconfident_model_has_an_ece_interval_away_from_zero_around_the_true_gap():
    conf, correct = _synthetic(20_000, 0.1, seed=2)  # confidence exceeds accuracy by 0.1
    summary = calibration_summary(conf, correct, n_resamples=300, seed=2)
    for ece, p_value in ((summary.ece, summary.ece_p_value),
                         (summary.ece_equal_mass, summary.ece_equal_mass_p_value)):
        assert ece.low > 0.05
        assert ece.contains(0.1)
        assert p_value < 0.01


def test_summary_point_estimates_equal_the_single_metric_functions():
    rng = np.random.default_rng(5)
    n, k = 400, 12
    probs = rng.dirichlet(np.ones(k), size=n).astype(np.float16).astype(np.float64)
    probs /= probs.sum(axis=1, keepdims=True)
    labels = rng.integers(0, k, n)
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    p_true = probs[np.arange(n), labels]
    order = np.argsort(-probs, axis=1)[:, :5]
    top = np.take_along_axis(probs, order, axis=1)
    inside = (order == labels[:, None]).any(axis=1)
    exact = calibration_summary(conf, correct, p_true, probabilities=probs, labels=labels,
                                n_resamples=50)
    estimated = calibration_summary(conf, correct, p_true, top_probs=top, true_in_top=inside,
                                    num_classes=k, n_resamples=50)
    assert exact.ece.estimate == pytest.approx(expected_calibration_error(conf, correct))
    assert exact.ece_equal_mass.estimate == pytest.approx(
        expected_calibration_error(conf, correct, binning="mass"))
    assert exact.aurc.estimate == pytest.approx(aurc(conf, correct))
    assert exact.excess_aurc == pytest.approx(aurc(conf, correct) - optimal_aurc(correct))
    assert exact.nll.estimate == pytest.approx(negative_log_likelihood(p_true).nll)
    assert exact.brier.estimate == pytest.approx(brier_score(probs, labels))
    bounds = brier_score_from_top_k(top, p_true, inside, k)
    assert estimated.brier.estimate == pytest.approx(bounds.estimate)
    assert estimated.brier_bounds == pytest.approx((bounds.low, bounds.high))
    assert bounds.low <= exact.brier.estimate <= bounds.high
    for interval in (exact.aurc, exact.nll, exact.brier):
        assert interval.low <= interval.estimate <= interval.high


def test_the_same_seed_gives_the_same_intervals():
    conf, correct = _synthetic(500, 0.05, seed=4)
    a = calibration_summary(conf, correct, n_resamples=40, seed=9)
    b = calibration_summary(conf, correct, n_resamples=40, seed=9)
    assert a == b


@pytest.mark.parametrize("bad", [[85.0, 90.0], [0.5, np.nan]])
def test_percentages_and_nans_are_refused(bad):
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        expected_calibration_error(bad, [1, 0])
