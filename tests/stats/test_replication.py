"""Bias analysis of re-collected test sets: bins, post-stratification, jackknife, coverage."""

from __future__ import annotations

import numpy as np
import pytest

from robustness.errors import UserInputError
from robustness.stats.replication import (
    extrapolate_in_annotators,
    frequency_bins,
    post_stratified_accuracy,
    replication_gaps,
    subsample_votes,
)


def test_frequency_bins_by_hand():
    # edges 0.2, 0.4, 0.6, 0.8: a value goes to the first bin whose upper edge exceeds it
    selected = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 3, 1])
    shown = np.array([10] * 11 + [5, 5])
    expected = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 3, 1]  # 3/5 = 0.6 -> bin 3; 1/5 = 0.2 -> bin 1
    assert frequency_bins(selected, shown).tolist() == expected


def test_post_stratified_accuracy_by_hand():
    # originals: strata 0,0,0,1 -> P = (3/4, 1/4); new: stratum 0 acc 1/2, stratum 1 acc 1
    strata_orig = np.array([0, 0, 0, 1])
    strata_new = np.array([0, 0, 1, 1, 1])
    correct_new = np.array([1, 0, 1, 1, 1])
    value = post_stratified_accuracy(correct_new, strata_new, strata_orig, n_strata=2)
    assert value[0] == pytest.approx(0.75 * 0.5 + 0.25 * 1.0)
    # stratum 2 holds originals but no new images: "drop" leaves it out and renormalises ...
    value = post_stratified_accuracy(correct_new, strata_new, np.array([0, 2, 2, 1]), n_strata=3,
                                     uncovered_strata="drop")
    assert value[0] == pytest.approx(0.5 * 0.5 + 0.5 * 1.0)
    # ... "zero" (the default) counts it as accuracy 0 with its original weight 2/4
    value = post_stratified_accuracy(correct_new, strata_new, np.array([0, 2, 2, 1]), n_strata=3)
    assert value[0] == pytest.approx(0.25 * 0.5 + 0.25 * 1.0 + 0.5 * 0.0)


def _run_jackknife_adjusted_accuracy(sel_freq_orig, sel_freq_new, correct_new):
    """MadryLab run_jackknife.py's ``adjusted_accuracy`` on one classifier, written out with
    pandas as it does: the original set's histogram of selection frequencies times the new
    set's accuracy per frequency, aligned on the frequency and summed (NaN skipped)."""
    import pandas as pd

    v1_hist = pd.Series(sel_freq_orig).value_counts()
    v1_hist = v1_hist / v1_hist.sum()
    v2_hist = pd.DataFrame({"f": sel_freq_new, "correct": correct_new}).groupby("f")["correct"].mean()
    return float(v2_hist.mul(v1_hist, axis=0).sum())


def test_zero_rule_reproduces_run_jackknife_on_a_hand_built_case():
    n = 5  # votes per image; strata are the exact counts 0..5, as sel_freq = count / n
    selected_orig = np.array([5, 5, 4, 4, 4, 3, 2, 1, 1, 0])  # counts 2, 1 and 0: no new image
    selected_new = np.array([5, 5, 5, 4, 4, 3, 3, 3])
    correct_new = np.array([1, 1, 0, 1, 0, 0, 1, 0])
    expected = _run_jackknife_adjusted_accuracy(selected_orig / n, selected_new / n, correct_new)
    ours = post_stratified_accuracy(correct_new, selected_new, selected_orig, n + 1)[0]
    assert ours == pytest.approx(expected, rel=1e-12)
    # by hand: P_orig(5)=.2 acc 2/3, P(4)=.3 acc 1/2, P(3)=.1 acc 1/3; 40% uncovered count 0
    assert expected == pytest.approx(0.2 * 2 / 3 + 0.3 * 0.5 + 0.1 / 3)
    dropped = post_stratified_accuracy(correct_new, selected_new, selected_orig, n + 1,
                                       uncovered_strata="drop")[0]
    assert dropped == pytest.approx(expected / 0.6)
    with pytest.raises(UserInputError, match="uncovered_strata"):
        post_stratified_accuracy(correct_new, selected_new, selected_orig, n + 1, uncovered_strata="x")


def test_replication_gaps_report_the_uncovered_fraction_and_the_other_rule():
    n = 5
    selected_orig = np.repeat([5, 4, 3, 2, 1, 0], 20)  # counts 0..2 never among the new images
    correct_orig = np.tile([1, 1, 1, 0], 30).astype(bool)
    selected_new = np.repeat([5, 4, 3], 20)
    correct_new = np.tile([1, 0], 30).astype(bool)
    kwargs = dict(n_resamples=50, n_draws=4, seed=3)
    zero = replication_gaps(correct_orig, selected_orig, np.full(120, n), correct_new,
                            selected_new, np.full(60, n), **kwargs)
    drop = replication_gaps(correct_orig, selected_orig, np.full(120, n), correct_new,
                            selected_new, np.full(60, n), uncovered_strata="drop", **kwargs)
    assert zero.uncovered_strata == "zero" and drop.uncovered_strata == "drop"
    assert zero.uncovered_fraction == pytest.approx(0.5) == drop.uncovered_fraction
    # every image has exactly n votes, so A(n) is deterministic: half the weight counts 0
    assert zero.adjusted_accuracy.estimate == pytest.approx(0.5 * drop.adjusted_accuracy.estimate)
    assert zero.corrected_gap_other_rule == pytest.approx(drop.corrected_gap.estimate)
    assert drop.corrected_gap_other_rule == pytest.approx(zero.corrected_gap.estimate)
    assert any("50.0% of original images" in note for note in zero.notes)


def test_weighted_rows_match_duplicated_images():
    rng = np.random.default_rng(0)
    correct = rng.random(30) < 0.6
    strata_new, strata_orig = rng.integers(0, 4, 30), rng.integers(0, 4, 25)
    w_new, w_orig = rng.integers(0, 3, 30), rng.integers(1, 3, 25)
    weighted = post_stratified_accuracy(correct, strata_new, strata_orig, 4, w_new[None], w_orig[None])
    repeated = post_stratified_accuracy(np.repeat(correct, w_new), np.repeat(strata_new, w_new),
                                        np.repeat(strata_orig, w_orig), 4)  # fmt: skip
    assert weighted[0] == pytest.approx(repeated[0])


def test_first_order_extrapolation_is_the_delete_d_jackknife():
    n, d, a_n, a_nd = 10, 3, 0.71, 0.69
    assert extrapolate_in_annotators([n, n - d], np.array([a_n, a_nd])) == pytest.approx(
        (n * a_n - (n - d) * a_nd) / d
    )


def test_extrapolation_removes_polynomial_bias_in_one_over_n():
    levels = [12, 9, 6]
    values = np.array([0.6 + 0.3 / m - 0.8 / m**2 for m in levels])
    assert extrapolate_in_annotators(levels, values) == pytest.approx(0.6)
    first = np.array([0.6 + 0.3 / m for m in levels[:2]])
    assert extrapolate_in_annotators(levels[:2], first) == pytest.approx(0.6)


def test_subsample_votes_keeps_counts_in_range_and_mean():
    rng = np.random.default_rng(0)
    selected = np.full(20000, 7)
    shown = np.full(20000, 10)
    kept = subsample_votes(selected, shown, 6, rng)
    assert kept.min() >= 3 and kept.max() <= 6  # at most 3 of the 7 can be deleted
    assert kept.mean() == pytest.approx(6 * 7 / 10, abs=0.03)  # hypergeometric mean
    assert np.array_equal(subsample_votes(selected[:5], shown[:5], 10, rng), selected[:5])
    with pytest.raises(ValueError, match="only 10"):
        subsample_votes(selected, shown, 11, rng)


def test_mismatched_inputs_are_rejected():
    with pytest.raises(ValueError, match="one entry per image"):
        replication_gaps([1, 0], [3], [10], [1], [3], [10])
    with pytest.raises(ValueError, match="selected <= shown"):
        replication_gaps([1], [11], [10], [1], [3], [10])


# ------------------------------------------------------------------ simulation
TRUE_GAP = 0.03


def _accuracy_given_frequency(p):
    return 0.2 + 0.7 * p


def simulate_replication(rng, n=10, n_orig=1500, n_new=1500, n_pool=15000):
    """Original images have true frequencies ~ Beta(6, 2); the candidate pool is harder,
    ~ Beta(2, 2). The new set is MatchedFrequency-sampled on *noisy* frequencies (n votes),
    then frequencies are re-measured with n fresh votes for the analysis. The classifier is
    correct with probability 0.2 + 0.7 p, minus TRUE_GAP on new images: re-weighted to the
    original's true-frequency distribution, the new set is exactly TRUE_GAP harder."""
    p_orig, p_pool = rng.beta(6, 2, n_orig), rng.beta(2, 2, n_pool)
    bins_orig = frequency_bins(rng.binomial(n, p_orig), n)
    bins_pool = frequency_bins(rng.binomial(n, p_pool), n)
    quota = np.round(np.bincount(bins_orig, minlength=5) / n_orig * n_new).astype(int)
    chosen = np.concatenate([rng.choice(np.flatnonzero(bins_pool == b), q, replace=False)
                             for b, q in enumerate(quota)])  # fmt: skip
    p_new = p_pool[chosen]
    correct_orig = rng.random(n_orig) < _accuracy_given_frequency(p_orig)
    correct_new = rng.random(len(p_new)) < _accuracy_given_frequency(p_new) - TRUE_GAP
    return dict(correct_orig=correct_orig, selected_orig=rng.binomial(n, p_orig),
                shown_orig=np.full(n_orig, n), correct_new=correct_new,
                selected_new=rng.binomial(n, p_new), shown_new=np.full(len(p_new), n))  # fmt: skip


@pytest.mark.slow
def test_corrected_gap_recovers_the_true_gap_and_the_naive_one_does_not():
    rng = np.random.default_rng(1)
    repetitions = 20
    covered = {"naive_gap": 0, "adjusted_gap": 0, "corrected_gap": 0}
    errors = {name: [] for name in covered}
    for rep in range(repetitions):
        gaps = replication_gaps(**simulate_replication(rng), n_resamples=200, n_draws=8, seed=rep)
        for name in covered:
            interval = getattr(gaps, name)
            covered[name] += bool(interval.contains(-TRUE_GAP))  # new minus original
            errors[name].append(-(interval.estimate + TRUE_GAP))  # > 0: a drop overstated
    coverage = {name: hits / repetitions for name, hits in covered.items()}
    print(f"coverage of the true gap {TRUE_GAP} by 95% intervals over {repetitions} runs: {coverage}; "
          f"mean error: { {k: round(float(np.mean(v)), 4) for k, v in errors.items()} }")
    assert coverage["corrected_gap"] >= 0.75
    assert coverage["naive_gap"] <= 0.2
    # selection bias makes the naive gap far too large; post-stratification and the
    # jackknife each remove part of it
    assert np.mean(errors["naive_gap"]) > 0.04
    assert abs(np.mean(errors["corrected_gap"])) < abs(np.mean(errors["adjusted_gap"]))
    assert abs(np.mean(errors["adjusted_gap"])) < abs(np.mean(errors["naive_gap"]))


def test_no_selection_bias_gives_matching_gaps_near_truth():
    """New images from the original distribution: every gap estimates 0."""
    rng = np.random.default_rng(3)
    p = rng.beta(6, 2, 4000)
    correct = rng.random(4000) < _accuracy_given_frequency(p)
    votes = rng.binomial(10, p)
    gaps = replication_gaps(correct[:2000], votes[:2000], np.full(2000, 10), correct[2000:],
                            votes[2000:], np.full(2000, 10), n_resamples=200, n_draws=8)  # fmt: skip
    for name in ("naive_gap", "adjusted_gap", "corrected_gap"):
        assert getattr(gaps, name).contains(0.0), name
    assert gaps.levels == (10, 9)
