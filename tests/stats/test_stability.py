"""ImageNet-P metrics on hand-built prediction sequences (values worked out by hand)."""

from importlib import resources

import numpy as np
import pytest

from robustness.stats.stability import (
    IMAGENET_P_PERTURBATIONS,
    comparison_pairs,
    flip_probability,
    is_noise,
    rankings_from_logits,
    read_stability_table,
    summarize_stability,
    top5_distance,
    zipf_distance,
)

# one sequence of top-1 predictions: class 3 in frame 0, class 5 afterwards
SEQUENCE = np.array([[3, 5, 5, 5, 5]])


def test_the_noise_rule_is_the_word_noise_in_the_name():
    assert [is_noise(p) for p in ("gaussian_noise", "shot_noise", "speckle_noise")] == [True] * 3
    assert not any(is_noise(p) for p in ("translate", "motion_blur", "snow", "brightness"))


def test_noise_compares_every_frame_with_the_first_whatever_the_difficulty():
    for difficulty in (1, 2, 3):
        earlier, later = comparison_pairs(5, "gaussian_noise", difficulty)
        assert earlier.tolist() == [0, 0, 0, 0] and later.tolist() == [1, 2, 3, 4]
        # frames 1..4 all differ from frame 0
        assert flip_probability(SEQUENCE, "gaussian_noise", difficulty) == 1.0


@pytest.mark.parametrize("difficulty, pairs, expected", [
    (1, [(0, 1), (1, 2), (2, 3), (3, 4)], 1 / 4),  # only 0 -> 1 flips
    (2, [(0, 2), (1, 3), (2, 4)], 1 / 3),          # only 0 -> 2 flips
    (3, [(0, 3), (1, 4)], 1 / 2),                  # only 0 -> 3 flips
])
def test_other_perturbations_compare_frames_difficulty_apart(difficulty, pairs, expected):
    earlier, later = comparison_pairs(5, "translate", difficulty)
    assert list(zip(earlier.tolist(), later.tolist())) == pairs
    assert flip_probability(SEQUENCE, "translate", difficulty) == pytest.approx(expected)


def test_the_result_is_the_mean_of_per_sequence_means():
    # sequence A (5 frames): 1 flip in 4 pairs; sequence B (3 frames): 2 flips in 2 pairs.
    # Mean of means: (1/4 + 1) / 2 = 0.625 (pooling the pairs would give 3/6).
    ragged = [np.array([3, 5, 5, 5, 5]), np.array([1, 2, 1])]
    assert flip_probability(ragged, "rotate") == pytest.approx(0.625)
    # top-5 rows use their first column as the top-1
    top5 = np.array([[[3, 0, 1, 2, 4], [5, 3, 0, 1, 2]]])
    assert flip_probability(top5, "tilt") == 1.0


A = [1, 2, 3, 4, 5]
B = [2, 1, 3, 9, 4]


def test_top5_distance_hand_computed_and_directed():
    # ranks in B of A's classes 1..5: 2, 1, 3, 5, absent (6): |1-2|+|2-1|+|3-3|+|4-5|+|5-6| = 4
    assert top5_distance(np.array([[A, B]]), "scale") == 4.0
    # ranks in A of B's classes 2, 1, 3, 9, 4: 2, 1, 3, absent (6), 4: 1+1+0+2+1 = 5
    assert top5_distance(np.array([[B, A]]), "scale") == 5.0
    # nothing shared: 5+4+3+2+1
    assert top5_distance(np.array([[A, [10, 11, 12, 13, 14]]]), "scale") == 15.0
    assert top5_distance(np.array([[A, A]]), "scale") == 0.0


def test_top5_distance_follows_the_noise_rule():
    sequence = np.array([[A, B, A]])
    # noise: (A vs B) = 4 and (A vs A) = 0; otherwise (A vs B) = 4 and (B vs A) = 5
    assert top5_distance(sequence, "shot_noise") == pytest.approx(2.0)
    assert top5_distance(sequence, "zoom_blur") == pytest.approx(4.5)
    # difficulty 2: the only pair is frame 0 vs frame 2, A vs A
    assert top5_distance(sequence, "zoom_blur", difficulty=2) == 0.0


def test_zipf_distance_hand_computed():
    rankings = np.array([[[0, 1, 2], [1, 0, 2]]])
    # ranks in frame 1 of frame 0's classes 0, 1, 2: 2, 1, 3
    # |1 - 1/2| / 1 + |1/2 - 1| / 2 + |1/3 - 1/3| / 3 = 0.75
    assert zipf_distance(rankings, "brightness") == pytest.approx(0.75)
    with pytest.raises(ValueError, match="complete rankings"):
        zipf_distance(np.array([[A, B]]), "brightness")  # top-5 lists are not rankings


def test_rankings_from_logits_break_ties_by_class_index():
    logits = np.array([[1.0, 3.0, 3.0, 0.0]])
    assert rankings_from_logits(logits).tolist() == [[1, 2, 0, 3]]


def test_repeated_classes_in_a_top5_are_refused():
    with pytest.raises(ValueError, match="twice"):
        top5_distance(np.array([[A, [2, 2, 3, 4, 5]]]), "scale")


def test_too_short_sequences_are_refused():
    with pytest.raises(ValueError, match="no pair"):
        flip_probability(np.array([[1, 2]]), "translate", difficulty=2)


BASE_FLIP = {p: 0.1 * (i + 1) for i, p in enumerate(IMAGENET_P_PERTURBATIONS)}
BASE_TOP5 = {p: 1.0 + i for i, p in enumerate(IMAGENET_P_PERTURBATIONS)}


def test_mfr_and_mt5d_normalise_by_the_baseline_and_average():
    flips = {p: 0.05 for p in IMAGENET_P_PERTURBATIONS}
    top5 = {p: 0.5 for p in IMAGENET_P_PERTURBATIONS}
    summary = summarize_stability(flips, top5, baseline_flip=BASE_FLIP, baseline_top5=BASE_TOP5)
    # FR_p = 0.05 / (0.1 (i + 1)) = 0.5 / (i + 1); T5D rate = 0.5 / (1 + i)
    expected = np.mean([0.5 / (i + 1) for i in range(10)])
    assert summary.flip_rate["gaussian_noise"] == pytest.approx(0.5)
    assert summary.flip_rate["scale"] == pytest.approx(0.05)
    assert summary.mfr == pytest.approx(expected)
    assert summary.mt5d == pytest.approx(expected)
    assert summary.perturbations == IMAGENET_P_PERTURBATIONS and len(IMAGENET_P_PERTURBATIONS) == 10


def test_a_missing_baseline_names_the_perturbation_and_the_table():
    flips = {p: 0.05 for p in IMAGENET_P_PERTURBATIONS}
    partial = {p: v for p, v in BASE_FLIP.items() if p != "tilt"}
    with pytest.raises(KeyError, match="tilt.*alexnet_imagenet_p.csv"):
        summarize_stability(flips, baseline_flip=partial)


def test_the_shipped_table_parses_and_custom_tables_are_read():
    text = ("# comment\nperturbation,difficulty,flip_probability,top5_distance\n"
            "translate,1,0.25,1.5\ntranslate,2,0.4,2.0\ngaussian_noise,1,0.3,2.5\n")
    table = read_stability_table(text)
    assert table == {1: {"translate": (0.25, 1.5), "gaussian_noise": (0.3, 2.5)},
                     2: {"translate": (0.4, 2.0)}}
    shipped = resources.files("robustness.stats").joinpath("alexnet_imagenet_p.csv").read_text()
    assert "hendrycks/robustness" in shipped
    read_stability_table(shipped)  # header and any rows are well-formed
    with pytest.raises(ValueError, match="unknown perturbation"):
        read_stability_table("perturbation,difficulty,flip_probability,top5_distance\nfog,1,0.1,1\n")
