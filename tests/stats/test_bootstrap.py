"""The integer-count bootstrap engine against direct index resampling."""

import numpy as np
import pytest

from robustness.stats.bootstrap import as_correctness, bootstrap_accuracies, resample_counts


def test_resample_counts_rows_sum_to_n_and_are_multinomial():
    rng = np.random.default_rng(0)
    counts = resample_counts(50, 4000, rng)
    assert counts.shape == (4000, 50)
    assert np.all(counts.sum(axis=1) == 50)
    # Each count is Binomial(50, 1/50): mean 1, variance 49/50.
    assert counts.mean() == pytest.approx(1.0, abs=0.01)
    assert counts.var() == pytest.approx(49 / 50, abs=0.03)


def test_bootstrap_accuracies_equal_index_resampling_with_the_same_draws():
    rng = np.random.default_rng(1)
    correct = rng.random((3, 40)) < 0.6
    accs = bootstrap_accuracies(correct, n_resamples=7, seed=123, chunk=3)
    # Rebuild the same draws chunk by chunk and resample by indexing instead of counting.
    replay = np.random.default_rng(123)
    expected = []
    for size in (3, 3, 1):
        idx = replay.integers(0, 40, size=(size, 40), dtype=np.int64)
        expected.append(correct[:, idx].mean(axis=2).T)
    np.testing.assert_allclose(accs, np.concatenate(expected), atol=1e-12)


def test_bootstrap_spread_matches_binomial_standard_error():
    rng = np.random.default_rng(2)
    correct = rng.random(5000) < 0.3
    accs = bootstrap_accuracies(correct, n_resamples=3000, seed=0)
    p = correct.mean()
    assert accs.std() == pytest.approx(np.sqrt(p * (1 - p) / 5000), rel=0.06)


def test_non_binary_correctness_is_rejected_with_advice():
    with pytest.raises(ValueError, match="bool or 0/1"):
        as_correctness(np.array([0.0, 0.5, 1.0]))
