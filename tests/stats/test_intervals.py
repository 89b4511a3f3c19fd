"""Intervals against closed forms, a published table and coverage in simulation."""

import numpy as np
import pytest
from scipy import stats

from robustness.stats.intervals import (
    clopper_pearson,
    newcombe_difference,
    paired_bootstrap_difference,
    two_sample_bootstrap_difference,
    wilson,
)


@pytest.mark.parametrize("n", [1, 10, 250])
@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_clopper_pearson_closed_form_at_k_zero_and_k_n(n, alpha):
    # k = 0: P(X = 0) = (1 - p)^n = alpha/2 at the upper bound; k = n mirrors it.
    none_right = clopper_pearson(0, n, alpha)
    assert none_right.low == 0.0
    assert none_right.high == pytest.approx(1 - (alpha / 2) ** (1 / n), rel=1e-10)
    all_right = clopper_pearson(n, n, alpha)
    assert all_right.high == 1.0
    assert all_right.low == pytest.approx((alpha / 2) ** (1 / n), rel=1e-10)


def test_clopper_pearson_bounds_are_binomial_tail_quantiles():
    k, n, alpha = 37, 120, 0.05
    interval = clopper_pearson(k, n, alpha)
    # At the bounds, the observed count sits exactly at the alpha/2 tail.
    assert stats.binom.sf(k - 1, n, interval.low) == pytest.approx(alpha / 2, rel=1e-8)
    assert stats.binom.cdf(k, n, interval.high) == pytest.approx(alpha / 2, rel=1e-8)


def test_wilson_bounds_solve_the_score_equation():
    k, n, alpha = 13, 40, 0.05
    z = stats.norm.ppf(1 - alpha / 2)
    interval = wilson(k, n, alpha)
    p_hat = k / n
    for bound in (interval.low, interval.high):
        # Wilson's bounds are the p with |p_hat - p| = z sqrt(p (1 - p) / n).
        assert (p_hat - bound) ** 2 == pytest.approx(z**2 * bound * (1 - bound) / n, rel=1e-9)


@pytest.mark.parametrize(
    ("counts", "published"),
    [
        # Newcombe (1998), Stat. Med. 17:873, Table II, method 10.
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ],
)
def test_newcombe_matches_published_examples(counts, published):
    interval = newcombe_difference(*counts)
    assert interval.low == pytest.approx(published[0], abs=6e-5)
    assert interval.high == pytest.approx(published[1], abs=6e-5)


def test_bad_counts_raise_a_clear_error():
    with pytest.raises(ValueError, match="successes"):
        clopper_pearson(11, 10)


def _coverage(interval, truth) -> float:
    return float(np.mean(interval.contains(truth)))


def test_clopper_pearson_covers_at_least_nominal():
    rng = np.random.default_rng(20240101)
    n, p = 200, 0.75
    k = rng.binomial(n, p, size=4000)
    assert _coverage(clopper_pearson(k, n), p) >= 0.95


def test_wilson_coverage_is_near_nominal():
    rng = np.random.default_rng(7)
    n, p = 150, 0.8
    k = rng.binomial(n, p, size=4000)
    assert 0.93 <= _coverage(wilson(k, n), p) <= 0.97


def test_newcombe_coverage_is_near_nominal():
    rng = np.random.default_rng(11)
    n1, p1, n2, p2 = 200, 0.75, 150, 0.65
    k1 = rng.binomial(n1, p1, size=4000)
    k2 = rng.binomial(n2, p2, size=4000)
    assert 0.93 <= _coverage(newcombe_difference(k1, n1, k2, n2), p1 - p2) <= 0.97


def test_two_sample_bootstrap_coverage_is_near_nominal():
    rng = np.random.default_rng(3)
    n1, p1, n2, p2 = 300, 0.76, 200, 0.64
    hits = []
    for rep in range(1000):
        first = rng.random(n1) < p1
        second = rng.random(n2) < p2
        interval = two_sample_bootstrap_difference(first, second, n_resamples=400, seed=rep)
        hits.append(interval.contains(p1 - p2))
    assert 0.93 <= np.mean(hits) <= 0.97


def test_paired_bootstrap_coverage_is_near_nominal():
    # Joint cells (both right, only A, only B, both wrong): correlated models, true gap 0.07.
    cells = np.array([0.60, 0.15, 0.08, 0.17])
    a_right = np.array([1, 1, 0, 0], dtype=bool)
    b_right = np.array([1, 0, 1, 0], dtype=bool)
    truth = cells[1] - cells[2]
    rng = np.random.default_rng(5)
    hits = []
    for rep in range(1000):
        cell = rng.choice(4, size=300, p=cells)
        interval = paired_bootstrap_difference(a_right[cell], b_right[cell], n_resamples=400,
                                               seed=rep)
        hits.append(interval.contains(truth))
    assert 0.93 <= np.mean(hits) <= 0.97


def test_paired_bootstrap_is_narrower_than_unpaired_for_correlated_models():
    # Two nearly identical models: pairing removes the shared image difficulty.
    rng = np.random.default_rng(0)
    a = rng.random(2000) < 0.7
    b = a.copy()
    flip = rng.choice(2000, size=40, replace=False)
    b[flip] = ~b[flip]
    paired = paired_bootstrap_difference(a, b, n_resamples=500)
    unpaired = two_sample_bootstrap_difference(a, b, n_resamples=500)
    assert (paired.high - paired.low) < 0.5 * (unpaired.high - unpaired.low)


def test_paired_bootstrap_rejects_mismatched_images():
    with pytest.raises(ValueError, match="same images"):
        paired_bootstrap_difference(np.ones(10, bool), np.ones(9, bool))


@pytest.mark.parametrize(("k", "n"), [(1, 7), (30, 100), (9_000, 10_000), (49_999, 50_000)])
def test_single_accuracy_intervals_match_scipy_binomtest(k, n):
    reference = stats.binomtest(k, n)
    exact = reference.proportion_ci(0.95, method="exact")
    score = reference.proportion_ci(0.95, method="wilson")
    cp, w = clopper_pearson(k, n), wilson(k, n)
    assert (cp.low, cp.high) == pytest.approx((exact.low, exact.high), rel=1e-9)
    assert (w.low, w.high) == pytest.approx((score.low, score.high), rel=1e-9)
