"""OOD detection: AUROC/AUPR against scikit-learn (a test oracle only), hand-computed cases,
anomaly scores from logits, and the stratified bootstrap."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from robustness.stats.bootstrap import resample_counts
from robustness.stats.ood import (
    anomaly_scores,
    auroc,
    average_precision,
    fpr_at_recall,
    max_softmax,
    ood_detection,
)


def _sklearn(in_scores, out_scores):
    labels = np.r_[np.zeros(len(in_scores)), np.ones(len(out_scores))]  # OOD = positive
    scores = np.r_[in_scores, out_scores]
    return roc_auc_score(labels, scores), average_precision_score(labels, scores)


def test_hand_computed_auroc_and_average_precision_with_ties():
    in_scores, out_scores = [0.1, 0.4, 0.4], [0.4, 0.9]
    # pairs: 0.9 beats all three (3); 0.4 beats 0.1 and ties twice (1 + 0.5 + 0.5)
    assert auroc(in_scores, out_scores) == pytest.approx(5 / 6)
    # thresholds 0.9: recall 1/2 at precision 1; 0.4: recall 1 at precision 2/4
    assert average_precision(in_scores, out_scores) == pytest.approx(0.5 * 1 + 0.5 * 0.5)


@pytest.mark.parametrize("seed", range(6))
def test_auroc_and_aupr_equal_scikit_learn_on_random_scores_with_ties(seed):
    rng = np.random.default_rng(seed)
    n_in, n_out = rng.integers(1, 300), rng.integers(1, 300)
    decimals = [0, 1, 3][seed % 3]  # coarse rounding makes many ties
    in_scores = np.round(rng.normal(0, 1, n_in), decimals)
    out_scores = np.round(rng.normal(0.7, 1.3, n_out), decimals)
    expected_auroc, expected_ap = _sklearn(in_scores, out_scores)
    assert auroc(in_scores, out_scores) == pytest.approx(expected_auroc, abs=1e-12)
    assert average_precision(in_scores, out_scores) == pytest.approx(expected_ap, abs=1e-12)


def test_msp_scores_from_float16_confidences_equal_scikit_learn():
    rng = np.random.default_rng(4)
    conf_in = rng.beta(8, 2, 2000).astype(np.float16)  # in-distribution: confident
    conf_out = rng.beta(4, 3, 400).astype(np.float16)
    in_scores = anomaly_scores(confidence=conf_in)
    out_scores = anomaly_scores(confidence=conf_out)
    assert len(np.unique(in_scores)) < len(in_scores)  # float16 makes ties
    expected_auroc, expected_ap = _sklearn(in_scores, out_scores)
    assert auroc(in_scores, out_scores) == pytest.approx(expected_auroc, abs=1e-12)
    assert average_precision(in_scores, out_scores) == pytest.approx(expected_ap, abs=1e-12)
    assert expected_auroc > 0.5  # lower confidence on OOD = higher anomaly score


def test_weights_equal_repeated_rows():
    rng = np.random.default_rng(8)
    in_scores, out_scores = np.round(rng.normal(size=40), 1), np.round(rng.normal(1, size=25), 1)
    for w_in, w_out in zip(resample_counts(40, 4, rng), resample_counts(25, 4, rng)):
        rows_in, rows_out = np.repeat(in_scores, w_in), np.repeat(out_scores, w_out)
        assert auroc(in_scores, out_scores, w_in, w_out) == pytest.approx(auroc(rows_in, rows_out))
        assert average_precision(in_scores, out_scores, w_in, w_out) == pytest.approx(
            average_precision(rows_in, rows_out))


def test_scores_from_logits_hand_computed():
    logits = np.array([[2.0, 1.0, 0.0]])
    total = np.exp(2) + np.exp(1) + 1
    assert anomaly_scores(logits, kind="msp") == pytest.approx([-np.exp(2) / total])
    assert anomaly_scores(logits, kind="max_logit") == pytest.approx([-2.0])
    assert anomaly_scores(logits, kind="energy") == pytest.approx([-np.log(total)])
    # T = 2: -2 log(e^1 + e^0.5 + e^0)
    assert anomaly_scores(logits, kind="energy", temperature=2.0) == pytest.approx(
        [-2 * np.log(np.exp(1) + np.exp(0.5) + 1)])
    # restricted to classes 0 and 2, as ImageNet-O restricts to its 200 classes
    assert max_softmax(logits, classes=[0, 2]) == pytest.approx([np.exp(2) / (np.exp(2) + 1)])
    assert anomaly_scores(logits, kind="msp", classes=[0, 2]) == pytest.approx(
        [-np.exp(2) / (np.exp(2) + 1)])


def test_the_stored_confidence_only_gives_msp():
    assert anomaly_scores(confidence=[0.9, 0.25]) == pytest.approx([-0.9, -0.25])
    with pytest.raises(ValueError, match="needs the logits"):
        anomaly_scores(confidence=[0.9], kind="energy")
    with pytest.raises(ValueError, match="either logits or confidence"):
        anomaly_scores()


def test_stratified_bootstrap_keeps_a_single_ood_image_in_every_resample():
    # resampling all images together would leave no OOD image in about 37% of resamples
    result = ood_detection([0.1, 0.2, 0.3, 0.4], [0.35], n_resamples=300, seed=3)
    assert result.n_in == 4 and result.n_out == 1
    assert result.auroc.estimate == pytest.approx(0.75)
    assert np.isfinite([result.auroc.low, result.auroc.high, result.aupr.low, result.aupr.high]).all()
    assert 0.0 <= result.auroc.low <= 0.75 <= result.auroc.high <= 1.0
    assert result.aupr_chance == pytest.approx(0.2)


def test_bootstrap_intervals_contain_the_estimates_and_separated_scores_give_one():
    rng = np.random.default_rng(2)
    in_scores, out_scores = rng.normal(0, 1, 800), rng.normal(1, 1, 200)
    result = ood_detection(in_scores, out_scores, n_resamples=400, seed=0)
    expected_auroc, expected_ap = _sklearn(in_scores, out_scores)
    assert result.auroc.estimate == pytest.approx(expected_auroc)
    assert result.aupr.estimate == pytest.approx(expected_ap)
    for interval in (result.auroc, result.aupr):
        assert interval.low < interval.estimate < interval.high
        assert interval.high - interval.low < 0.15
    separated = ood_detection([0.0, 0.1, 0.2], [0.5, 0.6], n_resamples=100)
    assert (separated.auroc.low, separated.auroc.high) == (1.0, 1.0)
    assert (separated.aupr.low, separated.aupr.high) == (1.0, 1.0)


def test_empty_or_non_finite_scores_are_refused():
    with pytest.raises(ValueError, match="out_scores"):
        auroc([0.1], [])
    with pytest.raises(ValueError, match="finite"):
        average_precision([0.1, np.nan], [0.2])


def _reference_fpr_at_recall(in_scores, out_scores, recall_level=0.95):
    """The rule of hendrycks' calibration_tools.fpr_and_fdr_at_recall, image by image: sort by
    score (stable, descending), one point per distinct score, points down to the first with
    full recall, scanned from there back to the top, plus an appended (recall 1, 0 FP)."""
    labels = np.r_[np.zeros(len(in_scores)), np.ones(len(out_scores))]
    scores = np.r_[in_scores, out_scores]
    order = np.argsort(scores, kind="mergesort")[::-1]
    scores, labels = scores[order], labels[order]
    ends = np.r_[np.where(np.diff(scores))[0], labels.size - 1]
    tps = np.cumsum(labels)[ends]
    fps = 1 + ends - tps
    recall = tps / tps[-1]
    last = tps.searchsorted(tps[-1])
    recall = np.r_[recall[last::-1], 1]
    fps = np.r_[fps[last::-1], 0]
    return fps[np.argmin(np.abs(recall - recall_level))] / len(in_scores)


def test_fpr_at_95_tpr_hand_computed_with_the_references_tie_rule():
    out_scores = np.arange(1.0, 21.0)  # 20 OOD images: recall moves in steps of 0.05
    in_scores = [1.5, 2.5, 10.5, 30.0]
    # recall 0.95 at the thresholds 2 (3 of 4 in-distribution images above) and 1.5 (all 4):
    # the reference scans from full recall upwards and keeps the first, 1.5: FPR 4/4
    assert fpr_at_recall(in_scores, out_scores) == 1.0
    assert _reference_fpr_at_recall(np.array(in_scores), out_scores) == 1.0
    # recall 0.5 at 11 (only 30 flagged) and at 10.5 (10.5 and 30): the tie rule again, 2/4
    assert fpr_at_recall(in_scores, out_scores, recall_level=0.5) == 0.5
    # recall 0.75 only at 6: 10.5 and 30 flagged
    assert fpr_at_recall(in_scores, out_scores, recall_level=0.75) == 0.5
    # recall 0.9 at 3 and at 2.5: 2.5, 10.5, 30
    assert fpr_at_recall(in_scores, out_scores, recall_level=0.9) == 0.75
    # 3 OOD images (recall 1/3, 2/3, 1): full recall (0.05 away) ties with the appended
    # point and comes first: every in-distribution image at or above the lowest OOD score
    assert fpr_at_recall([0.0, 2.0, 5.0], [1.0, 3.0, 4.0]) == pytest.approx(2 / 3)


@pytest.mark.parametrize("seed", range(6))
def test_fpr_at_95_tpr_equals_the_reference_rule_on_random_scores_with_ties(seed):
    rng = np.random.default_rng(100 + seed)
    n_in, n_out = rng.integers(1, 400), rng.integers(1, 400)
    decimals = [0, 1, 3][seed % 3]
    in_scores = np.round(rng.normal(0, 1, n_in), decimals)
    out_scores = np.round(rng.normal(0.8, 1.2, n_out), decimals)
    for level in (0.95, 0.9, 0.5):
        assert fpr_at_recall(in_scores, out_scores, level) == pytest.approx(
            _reference_fpr_at_recall(in_scores, out_scores, level), abs=1e-12)
    result = ood_detection(in_scores, out_scores, n_resamples=200, seed=seed)
    assert result.fpr95.estimate == pytest.approx(_reference_fpr_at_recall(in_scores, out_scores))
    assert result.fpr95.low <= result.fpr95.estimate <= result.fpr95.high or n_out < 20


def test_fpr_weights_equal_repeated_rows():
    rng = np.random.default_rng(9)
    in_scores, out_scores = np.round(rng.normal(size=60), 1), np.round(rng.normal(1, size=45), 1)
    for w_in, w_out in zip(resample_counts(60, 4, rng), resample_counts(45, 4, rng)):
        expected = _reference_fpr_at_recall(np.repeat(in_scores, w_in), np.repeat(out_scores, w_out))
        assert fpr_at_recall(in_scores, out_scores, in_weights=w_in, out_weights=w_out) == \
            pytest.approx(expected, abs=1e-12)
