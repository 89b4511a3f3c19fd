"""``score_logits`` under subset, ObjectNet-style and ReaL-style scorings (datasets/base.py).

Expectations are worked out by hand from fixed logits.
"""

from __future__ import annotations

import numpy as np
import torch

from robustness.datasets import Scoring, score_logits


def logits_with(rows: list[dict[int, float]]) -> torch.Tensor:
    out = torch.zeros(len(rows), 1000)
    for i, row in enumerate(rows):
        for c, v in row.items():
            out[i, c] = v
    return out


def test_subset_scoring_takes_the_arg_max_inside_the_subset():
    scoring = Scoring(class_subset=(1, 6, 11), name="toy-3")
    logits = logits_with([
        {0: 9.0, 11: 2.0, 6: 1.0},  # label 11: 1000-way arg-max 0 is outside; inside it is 11
        {0: 9.0, 11: 2.0, 6: 1.0},  # label 6: inside arg-max 11 -> wrong, but in the subset top-3
        {6: 5.0},  # label 6: plain hit
    ])
    scored = score_logits(logits, np.array([11, 6, 6]), scoring)
    assert scored.top5[:, 0].tolist() == [11, 11, 6]
    assert scored.correct1.tolist() == [True, False, True]
    assert scored.correct5.tolist() == [True, True, True]  # only 3 allowed classes: all in top-"5"
    assert scored.top5_all[:, 0].tolist() == [0, 0, 6]
    assert scored.correct1_all.tolist() == [False, False, True]


def test_objectnet_style_targets_restrict_to_the_union_and_accept_any_target():
    scoring = Scoring(label_targets=((409, 530), (954,)), name="toy-objectnet")
    assert scoring.allowed_classes().tolist() == [409, 530, 954]
    logits = logits_with([
        {999: 9.0, 530: 1.0},  # label 0 (clock): restricted arg-max 530 -> correct
        {999: 9.0, 409: 2.0, 954: 1.0},  # label 1 (banana): restricted arg-max 409 -> wrong
    ])
    scored = score_logits(logits, np.array([0, 1]), scoring)
    assert scored.top5.shape == (2, 3)
    assert scored.correct1.tolist() == [True, False]
    assert scored.correct5.tolist() == [True, True]
    assert scored.correct1_all.tolist() == [False, False]


def test_unrestricted_targets_keep_1000_way_predictions():
    scoring = Scoring(label_targets=((3,), (5, 7)), restrict_predictions=False, name="toy-real")
    assert scoring.allowed_classes() is None
    logits = logits_with([{999: 9.0, 3: 1.0}, {7: 2.0}])
    scored = score_logits(logits, np.array([0, 1]), scoring)
    assert scored.top5[0, 0] == 999
    assert scored.correct1.tolist() == [False, True]
    assert scored.correct5.tolist() == [True, True]
    assert scoring.describe()["restrict_predictions"] is False


def test_probabilities_are_the_softmax_over_the_scored_classes():
    """Subset scoring: softmax over the 3 classes only (logits 2, 1, 0 -> e^2, e, 1 over their
    sum); multi-target labels: the probability of a label is the sum over its targets."""
    subset = Scoring(class_subset=(1, 6, 11), name="toy-3")
    scored = score_logits(logits_with([{0: 9.0, 11: 2.0, 6: 1.0}]), np.array([6]), subset)
    z = np.exp(2.0) + np.exp(1.0) + 1.0
    np.testing.assert_allclose(scored.prob5[0], [np.exp(2.0) / z, np.exp(1.0) / z, 1.0 / z], rtol=1e-6)
    np.testing.assert_allclose(scored.p_true, [np.exp(1.0) / z], rtol=1e-6)
    # ObjectNet-style: label 0 counts classes 3 and 4, label 1 class 7; 1000-way would add class 0
    targets = Scoring(label_targets=((3, 4), (7,)), name="toy-targets")
    scored = score_logits(logits_with([{0: 9.0, 3: 1.0, 4: 1.0, 7: 0.0}]), np.array([0]), targets)
    z = 2 * np.exp(1.0) + 1.0
    np.testing.assert_allclose(scored.p_true, [2 * np.exp(1.0) / z], rtol=1e-6)
    np.testing.assert_allclose(scored.prob5[0, 0], np.exp(1.0) / z, rtol=1e-6)
    # ReaL-style (predictions stay 1000-way): a label set's probability is the sum over the set
    real = Scoring(label_targets=((5, 9),), restrict_predictions=False, name="toy-real")
    logits = logits_with([{5: 3.0, 9: 3.0}])
    z = 2 * np.exp(3.0) + 998.0
    scored = score_logits(logits, np.array([0]), real)
    np.testing.assert_allclose(scored.p_true, [2 * np.exp(3.0) / z], rtol=1e-5)
    assert scored.prob5[0, 0] == scored.prob5[0].max()
