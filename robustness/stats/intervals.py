"""Confidence intervals for one accuracy and for the difference of two accuracies.

Units: accuracies are fractions in [0, 1]; ``successes`` are counts of correct images out
of ``n``; ``alpha`` is the total error rate (0.05 gives a 95% interval). All functions
broadcast over numpy arrays of counts.

References:
    Clopper & Pearson (1934), Biometrika 26:404 -- exact binomial interval.
    Wilson (1927), JASA 22:209 -- score interval.
    Newcombe (1998), Stat. Med. 17:873, method 10 -- hybrid score interval for p1 - p2.
    Efron & Tibshirani (1993), An Introduction to the Bootstrap, ch. 13 -- percentile interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from robustness.stats.bootstrap import (
    ResampleCounts,
    as_correctness,
    bootstrap_accuracies,
    paired_difference_resamples,
    percentile_interval,
)

FloatOrArray = float | np.ndarray


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided 1 - alpha interval (fractions; arrays when vectorised)."""

    estimate: FloatOrArray
    low: FloatOrArray
    high: FloatOrArray
    method: str
    alpha: float

    def contains(self, value: FloatOrArray) -> FloatOrArray:
        """Whether ``value`` lies in [low, high] (elementwise)."""
        return (self.low <= value) & (value <= self.high)


def _check_counts(successes, n) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(successes, dtype=np.float64)
    total = np.asarray(n, dtype=np.float64)
    if np.any(total <= 0) or np.any(k < 0) or np.any(k > total):
        raise ValueError("expected 0 <= successes <= n and n > 0 (successes = number of "
                         f"correctly classified images), got successes={successes}, n={n}")
    return k, total


def _scalar(value: np.ndarray) -> FloatOrArray:
    return float(value) if np.ndim(value) == 0 else value


def clopper_pearson(successes, n, alpha: float = 0.05) -> Interval:
    """Exact (Clopper-Pearson) interval for a binomial proportion k/n.

    low = Beta^-1(alpha/2; k, n-k+1) (0 when k = 0),
    high = Beta^-1(1-alpha/2; k+1, n-k) (1 when k = n).
    Coverage is at least 1 - alpha for every true accuracy.
    """
    k, total = _check_counts(successes, n)
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, special.betaincinv(k, total - k + 1, alpha / 2), 0.0)
        high = np.where(k < total, special.betaincinv(k + 1, total - k, 1 - alpha / 2), 1.0)
    return Interval(_scalar(k / total), _scalar(low), _scalar(high), "clopper-pearson", alpha)


def wilson(successes, n, alpha: float = 0.05) -> Interval:
    """Wilson score interval for k/n.

    With p = k/n and z = Phi^-1(1 - alpha/2):
    centre = (p + z^2/(2n)) / (1 + z^2/n),
    half-width = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/(4 n^2)).
    """
    k, total = _check_counts(successes, n)
    z = special.ndtri(1 - alpha / 2)
    p = k / total
    shrink = 1 + z**2 / total
    centre = (p + z**2 / (2 * total)) / shrink
    half = z / shrink * np.sqrt(p * (1 - p) / total + z**2 / (4 * total**2))
    low = np.clip(centre - half, 0.0, 1.0)
    high = np.clip(centre + half, 0.0, 1.0)
    return Interval(_scalar(p), _scalar(low), _scalar(high), "wilson", alpha)


def newcombe_difference(successes_1, n_1, successes_2, n_2, alpha: float = 0.05) -> Interval:
    """Newcombe's hybrid score interval for p1 - p2 from two independent samples.

    With Wilson intervals (l1, u1) and (l2, u2) and d = p1 - p2:
    low = d - sqrt((p1 - l1)^2 + (u2 - p2)^2), high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2).
    Use for the gap between two test sets with different images (val vs ImageNetV2).
    """
    first = wilson(successes_1, n_1, alpha)
    second = wilson(successes_2, n_2, alpha)
    p1, l1, u1 = (np.asarray(v) for v in (first.estimate, first.low, first.high))
    p2, l2, u2 = (np.asarray(v) for v in (second.estimate, second.low, second.high))
    diff = p1 - p2
    low = diff - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Interval(_scalar(diff), _scalar(low), _scalar(high), "newcombe-hybrid-score", alpha)


def two_sample_bootstrap_difference(
    correct_1: np.ndarray,
    correct_2: np.ndarray,
    n_resamples: int = 2000,
    alpha: float = 0.05,
    seed: int | None = 0,
) -> Interval:
    """Percentile bootstrap interval for acc_1 - acc_2 on two independent test sets.

    Each test set's images are resampled independently (the sets share no images).
    ``correct_1`` and ``correct_2`` are per-image correctness vectors of any lengths.
    """
    first = as_correctness(correct_1, "correct_1")
    second = as_correctness(correct_2, "correct_2")
    rng = np.random.default_rng(seed)
    diffs = (bootstrap_accuracies(first, n_resamples, rng)
             - bootstrap_accuracies(second, n_resamples, rng))
    low, high = percentile_interval(diffs, alpha)
    estimate = float(first.mean(dtype=np.float64) - second.mean(dtype=np.float64))
    return Interval(estimate, float(low), float(high), "two-sample-bootstrap", alpha)


def paired_bootstrap_difference(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    n_resamples: int = 2000,
    alpha: float = 0.05,
    seed: int | None = 0,
) -> Interval:
    """Percentile paired bootstrap interval for acc_a - acc_b on the same images.

    Use for two models on one test set, or one model on clean vs corrupted copies of the
    same images: entry i of both vectors must refer to the same image.
    """
    a = as_correctness(correct_a, "correct_a")
    b = as_correctness(correct_b, "correct_b")
    if a.shape != b.shape:
        raise ValueError(f"paired bootstrap needs the same images in the same order: correct_a "
                         f"has shape {a.shape}, correct_b has shape {b.shape}")
    diffs = paired_difference_resamples(a, b, ResampleCounts(a.shape[-1], n_resamples, seed))
    low, high = percentile_interval(diffs, alpha)
    estimate = float(a.mean(dtype=np.float64) - b.mean(dtype=np.float64))
    return Interval(estimate, float(low), float(high), "paired-bootstrap", alpha)
