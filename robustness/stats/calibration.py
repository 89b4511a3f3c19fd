"""Calibration and selective prediction: ECE, NLL, Brier score, risk-coverage and AURC.

Inputs are the per-image fields the store keeps (one entry per image):

* ``confidence``: the max-softmax probability (the probability of the predicted class),
* ``correct``: whether the top-1 prediction is right (bool or 0/1),
* ``p_true``: the softmax probability of the true label,
* ``top_probs``: the k largest softmax probabilities, descending (k = 5 in the store),
* full ``probabilities`` (N, K) only when the logits were saved.

float16 arrays are accepted; every computation is done in float64. Every result is a
fraction (ECE 0.031 is 3.1%) except the NLL, which is in nats per image.

Conventions
-----------
ECE (equal width), Naeini et al. (2015), Guo et al. (2017), with the bin convention of
google-research/robustness_metrics (``metrics/uncertainty.py``, metric ``ece``: 15 bins,
``tf.histogram_fixed_width_bins``)::

    bin(c) = min(floor(M * c), M - 1)      (M bins on [0, 1], c computed in float64)
    ECE    = sum_b (n_b / N) * |acc_b - conf_b|      (empty bins skipped)

so bin b is [b/M, (b+1)/M): closed on the left, open on the right, except the last
bin [(M-1)/M, 1], which also holds confidence 1. (Guo et al. write bins as ((b-1)/M, b/M],
closed on the right; the two differ only for confidences exactly on an edge.) The bin is
decided on the value as stored: float16 0.4 is 0.39990234375 and falls in [1/3, 0.4).

ECE (equal mass): "adaptive" bins holding equal numbers of images (Nguyen & O'Connor 2015),
the binning of Minderer et al. (2021)'s main ECE (robustness_metrics ``gce`` with
``binning_scheme='adaptive'``, 100 bins, ``_get_adaptive_bins``). With the confidences sorted
ascending, s_(0..N-1), bin b has lower edge s_(round(b N / M)) (numpy's round, as there) and
an image goes to the last bin whose lower edge is <= its confidence. Equal confidences
therefore always share a bin (the result does not depend on the order of tied images); when
ties straddle an edge, bins hold unequal counts and some may be empty (skipped). One
difference from robustness_metrics: there ``np.digitize`` gives confidences of exactly 1
a bin of their own beyond the M-th; here they stay in the last bin, as with equal widths.

NLL: ``-mean(log p_true)`` in nats. float16 has no positive value below 2**-24 (its
smallest subnormal), so a true-label probability under about 3e-8 is stored as 0. Such
values are raised to :data:`P_TRUE_FLOOR` = 2**-24 before the log (at most 16.64 nats per
image) and counted: with any clipped image the NLL is a *lower bound* of the exact one.
Float16 rounding elsewhere moves each log by at most 2**-11 (relative), i.e. < 5e-4 nats.

Brier score (the multi-class Brier of Brier 1950, as ``robustness_metrics`` computes it)::

    BS = mean_i sum_k (p_ik - [k = y_i])^2 = mean_i (sum_k p_ik^2 - 2 p_i,y + 1),  in [0, 2]

It needs every class's probability. From the stored top-k fields only sum_k p_ik^2 is
unknown for the classes outside the top k; their total mass r is known (1 - top-k mass,
less p_true when the label is outside the top k) and each of them is at most the k-th
largest probability q_k. Over the n_r such classes, the sum of their squares lies between
r^2 / n_r (mass spread evenly) and floor(r/q_k) q_k^2 + (r - floor(r/q_k) q_k)^2 (mass
packed at the cap). :func:`brier_score_from_top_k` returns these exact bounds and their
midpoint as the estimate (its error is at most half the width). Per image the width is at
most r q_k, small when the top k hold most of the probability. Only float16 rounding of the
stored values is not covered by the bounds.

Risk-coverage: images are kept in decreasing order of confidence; at coverage k/N the
selective risk is the error rate of the k kept images (accuracy = 1 - risk). AURC (Geifman
et al. 2019) is the mean of the risk over k = 1..N. Tied confidences have no order: AURC is
the average over every ordering of tied images, which amounts to counting errors linearly
within a group of equal confidences; the curve has one point per distinct confidence. Hendrycks
et al.'s AURRA (``natural-adv-examples/calibration_tools.py``) is 1 - AURC without the tie
averaging.

Intervals: nonparametric bootstrap over images with :func:`~robustness.stats.bootstrap.
resample_counts`; every metric of one :func:`calibration_summary` uses the same resamples.
Each metric accepts ``weights`` (per-image multiplicities, a resample's counts), so a
resample is scored without gathering rows. NLL, Brier and AURC get percentile intervals.

The plug-in ECE is biased upward (noise in a bin's accuracy only adds to |acc - conf|), and
so is every bootstrap replicate: a percentile interval of a perfectly calibrated model never
reaches 0, and the basic (bias-corrected) interval does not either, because the bias is
largest exactly at ECE = 0. ECE intervals are therefore built as follows (alpha = 0.05):

* upper end: the 1 - alpha/2 percentile of the bootstrap ECEs (conservative, since the
  replicates are biased upward);
* lower end: 0 when the observed ECE is consistent with perfect calibration, i.e. when
  consistency resampling (Broecker & Smith 2007; Vaicenavicius et al. 2019) does not reject
  it at level alpha/2: in each resample every drawn image gets a label drawn as
  Bernoulli(confidence), and the p-value is the share of those resamples whose ECE is at
  least the observed one, (1 + #{ECE_0 >= ECE}) / (1 + B);
  otherwise the basic bootstrap's lower end, 2 ECE - q_(1-alpha/2) (Davison & Hinkley 1997,
  eq. 5.6), clipped at 0.

References:
    Naeini, Cooper & Hauskrecht (2015), AAAI -- ECE.
    Guo, Pleiss, Sun & Weinberger (2017), ICML -- ECE with equal-width bins.
    Nguyen & O'Connor (2015), EMNLP -- equal-mass (adaptive) bins.
    Ovadia et al. (2019), NeurIPS, "Can you trust your model's uncertainty?".
    Minderer et al. (2021), NeurIPS, "Revisiting the calibration of modern neural networks";
        google-research/robustness_metrics ``metrics/uncertainty.py`` (ECE, Brier).
    Geifman, Uziel & El-Yaniv (2019), ICLR -- AURC and excess AURC.
    Broecker & Smith (2007), Weather and Forecasting 22:651 -- consistency resampling.
    Vaicenavicius et al. (2019), AISTATS -- consistency resampling tests of ECE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustness.stats.bootstrap import as_correctness, percentile_interval, resample_counts
from robustness.stats.intervals import Interval

#: equal-width bins of the ECE (Guo et al. 2017; robustness_metrics' default)
DEFAULT_BINS = 15
#: smallest positive float16 (a subnormal): the floor p_true is raised to before the log
P_TRUE_FLOOR = 2.0**-24
BINNINGS = ("width", "mass")
#: resamples generated at once by the bootstrap
_CHUNK = 64


# ---------------------------------------------------------------- input checks


def _probabilities(values, name: str, ndim: int = 1) -> np.ndarray:
    """``values`` as float64, checked to be finite probabilities in [0, 1]."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != ndim or array.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty {ndim}-d array (one row per image), "
                         f"got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any((array < 0) | (array > 1)):
        raise ValueError(f"{name}: expected softmax probabilities in [0, 1] (fractions, not "
                         "percent, not logits)")
    return array


def _weights(weights, n: int) -> np.ndarray:
    """Per-image multiplicities (ones by default), checked: shape (n,), >= 0, sum > 0."""
    if weights is None:
        return np.ones(n, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or np.any(w < 0) or not np.sum(w) > 0:
        raise ValueError(f"weights: expected {n} non-negative multiplicities (one per image, a "
                         f"bootstrap resample's counts) with a positive sum, got shape {w.shape}")
    return w


def _pair(confidence, correct) -> tuple[np.ndarray, np.ndarray]:
    conf = _probabilities(confidence, "confidence")
    hits = as_correctness(correct).astype(np.float64)
    if hits.shape != conf.shape:
        raise ValueError(f"confidence has shape {conf.shape} but correct has shape {hits.shape}; "
                         "both need one entry per image, in the same order")
    return conf, hits


# ---------------------------------------------------------------- ECE


def equal_width_bins(confidence, n_bins: int = DEFAULT_BINS) -> np.ndarray:
    """Bin index of each confidence: min(floor(n_bins * c), n_bins - 1) (see module docstring)."""
    conf = _probabilities(confidence, "confidence")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    return np.minimum(np.floor(conf * n_bins), n_bins - 1).astype(np.int64)


def _mass_bins(conf: np.ndarray, order: np.ndarray, w: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-mass bin of each image; ``order`` sorts ``conf`` ascending (stable)."""
    ends = np.cumsum(w[order])  # sorted image j covers positions [ends[j-1], ends[j])
    starts = np.round(np.linspace(0, ends[-1], n_bins, endpoint=False))  # as robustness_metrics
    first = np.searchsorted(ends, starts, side="right")  # the image at each bin's first position
    edges = conf[order][np.minimum(first, conf.size - 1)]
    # images of weight 0 below the first drawn one land in bin 0, where they weigh nothing
    return np.maximum(np.searchsorted(edges, conf, side="right") - 1, 0)


def equal_mass_bins(confidence, n_bins: int = DEFAULT_BINS, weights=None) -> np.ndarray:
    """Bin index of each confidence for ``n_bins`` equal-mass bins; ties share a bin.

    With ``weights`` (multiplicities), an image counts ``weights[i]`` times when the edges are
    placed, exactly as if its row were repeated.
    """
    conf = _probabilities(confidence, "confidence")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    w = _weights(weights, conf.size)
    return _mass_bins(conf, np.argsort(conf, kind="stable"), w, n_bins)


def _ece_from_bins(bins: np.ndarray, conf: np.ndarray, hit_count: np.ndarray, w: np.ndarray,
                   n_bins: int) -> float:
    """ECE from bin indices; ``hit_count[i]`` is how many of image i's ``w[i]`` copies are right."""
    conf_sum = np.bincount(bins, weights=w * conf, minlength=n_bins)
    hit_sum = np.bincount(bins, weights=hit_count, minlength=n_bins)
    return float(np.sum(np.abs(hit_sum - conf_sum)) / np.sum(w))


def expected_calibration_error(confidence, correct, n_bins: int = DEFAULT_BINS,
                               binning: str = "width", weights=None) -> float:
    """ECE (fraction): sum_b (n_b/N) |acc_b - conf_b| over ``n_bins`` bins.

    ``binning="width"``: equal-width bins [b/M, (b+1)/M), the last one closed;
    ``"mass"``: equal-mass bins on the sorted confidences, ties kept together.
    ``weights``: per-image multiplicities (a bootstrap resample's counts).
    """
    conf, hits = _pair(confidence, correct)
    w = _weights(weights, conf.size)
    if binning == "width":
        bins = equal_width_bins(conf, n_bins)
    elif binning == "mass":
        bins = equal_mass_bins(conf, n_bins, w)
    else:
        raise ValueError(f"binning must be one of {BINNINGS}, got {binning!r}")
    return _ece_from_bins(bins, conf, w * hits, w, n_bins)


@dataclass(frozen=True)
class ReliabilityDiagram:
    """Per-bin counts, mean confidence and accuracy (fractions; NaN for empty bins)."""

    edges: np.ndarray
    """Lower edge of each bin (equal-width: b/M; equal-mass: the data's quantiles)."""
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray


def reliability_diagram(confidence, correct, n_bins: int = DEFAULT_BINS,
                        binning: str = "width") -> ReliabilityDiagram:
    """The bins behind :func:`expected_calibration_error`, for plotting."""
    conf, hits = _pair(confidence, correct)
    if binning == "width":
        bins = equal_width_bins(conf, n_bins)
        edges = np.arange(n_bins) / n_bins
    elif binning == "mass":
        bins = equal_mass_bins(conf, n_bins)
        edges = np.array([conf[bins == b].min() if np.any(bins == b) else np.nan
                          for b in range(n_bins)])
    else:
        raise ValueError(f"binning must be one of {BINNINGS}, got {binning!r}")
    count = np.bincount(bins, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(bins, weights=conf, minlength=n_bins) / count
        accuracy = np.bincount(bins, weights=hits, minlength=n_bins) / count
    return ReliabilityDiagram(edges, count.astype(np.int64), mean_conf, accuracy)


# ---------------------------------------------------------------- NLL


@dataclass(frozen=True)
class NLLResult:
    """Mean negative log-likelihood in nats per image."""

    nll: float
    n_clipped: int
    """Images whose p_true was below the floor (stored as 0 in float16) and was raised to it;
    when positive, ``nll`` is a lower bound."""
    floor: float


def _nll_terms(p_true, floor: float) -> tuple[np.ndarray, int]:
    p = _probabilities(p_true, "p_true")
    clipped = p < floor
    return -np.log(np.where(clipped, floor, p)), int(np.count_nonzero(clipped))


def negative_log_likelihood(p_true, floor: float = P_TRUE_FLOOR, weights=None) -> NLLResult:
    """-mean(log p_true) in nats, p_true raised to ``floor`` (float16's 2**-24) where smaller."""
    terms, n_clipped = _nll_terms(p_true, floor)
    w = _weights(weights, terms.size)
    return NLLResult(float(np.dot(w, terms) / w.sum()), n_clipped, floor)


def negative_log_likelihood_from_logits(logits, labels) -> float:
    """Exact NLL in nats from saved logits (N, K) and labels (indices into the K columns):
    mean(logsumexp(logits) - logits[label])."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if z.ndim != 2 or y.shape != (z.shape[0],):
        raise ValueError(f"expected logits (N, K) and N labels, got {z.shape} and {y.shape}")
    top = z.max(axis=1)
    lse = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(y)), y]))


# ---------------------------------------------------------------- Brier


def _brier_terms_exact(probabilities, labels) -> np.ndarray:
    p = _probabilities(probabilities, "probabilities", ndim=2)
    y = np.asarray(labels, dtype=np.int64)
    if y.shape != (p.shape[0],) or np.any((y < 0) | (y >= p.shape[1])):
        raise ValueError(f"labels: expected {p.shape[0]} class indices in 0..{p.shape[1] - 1}")
    p_true = p[np.arange(len(y)), y]
    return np.sum(p * p, axis=1) - 2 * p_true + 1


def brier_score(probabilities, labels, weights=None) -> float:
    """Exact multi-class Brier score, mean_i sum_k (p_ik - [k = y_i])^2, in [0, 2].

    ``probabilities``: (N, K) softmax over the K scored classes; ``labels``: column indices.
    """
    terms = _brier_terms_exact(probabilities, labels)
    w = _weights(weights, terms.size)
    return float(np.dot(w, terms) / w.sum())


@dataclass(frozen=True)
class BrierEstimate:
    """Brier score from the stored top-k fields: exact ``low``/``high`` bounds and their
    midpoint ``estimate`` (all in [0, 2]); ``exact`` when the bounds coincide."""

    estimate: float
    low: float
    high: float

    @property
    def exact(self) -> bool:
        return self.low == self.high


def _brier_terms_bounds(top_probs, p_true, true_in_top, num_classes: int):
    """Per-image lower and upper bounds of sum_k (p_k - [k = y])^2 (module docstring)."""
    top = _probabilities(top_probs, "top_probs", ndim=2)
    p = _probabilities(p_true, "p_true")
    inside = np.asarray(true_in_top, dtype=bool)
    n, k = top.shape
    if p.shape != (n,) or inside.shape != (n,):
        raise ValueError(f"top_probs has {n} rows; p_true and true_in_top need {n} entries, got "
                         f"{p.shape} and {inside.shape}")
    if num_classes < k:
        raise ValueError(f"num_classes={num_classes} is smaller than the {k} stored probabilities")
    known = np.sum(top * top, axis=1) + np.where(inside, 0.0, p * p)
    rest = np.clip(1.0 - top.sum(axis=1) - np.where(inside, 0.0, p), 0.0, None)
    n_rest = num_classes - k - np.where(inside, 0, 1)
    cap = top[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        low_rest = np.where(n_rest > 0, rest * rest / np.maximum(n_rest, 1), 0.0)
        full = np.where(cap > 0, np.floor(rest / np.where(cap > 0, cap, 1.0)), 0.0)
        full = np.minimum(full, np.maximum(n_rest, 0))
        leftover = np.where(full < n_rest, np.minimum(rest - full * cap, cap), 0.0)
        high_rest = np.where(n_rest > 0, full * cap * cap + leftover * leftover, 0.0)
    base = known - 2 * p + 1
    return base + low_rest, base + np.maximum(high_rest, low_rest)


def brier_score_from_top_k(top_probs, p_true, true_in_top, num_classes: int = 1000,
                           weights=None) -> BrierEstimate:
    """Brier score bounds from the stored fields (see the module docstring for the derivation).

    Args:
        top_probs: (N, k) the k largest softmax probabilities of each image, descending.
        p_true: (N,) probability of the true label.
        true_in_top: (N,) whether the true label is one of the k stored classes
            (``(top_classes == labels[:, None]).any(1)`` when labels are class indices).
        num_classes: classes of the softmax (1000; 200 for sets scored over a subset).
        weights: per-image multiplicities (a bootstrap resample's counts).
    """
    low, high = _brier_terms_bounds(top_probs, p_true, true_in_top, num_classes)
    w = _weights(weights, low.size)
    lo, hi = float(np.dot(w, low) / w.sum()), float(np.dot(w, high) / w.sum())
    return BrierEstimate((lo + hi) / 2, lo, hi)


# ---------------------------------------------------------------- risk-coverage


@dataclass(frozen=True)
class RiskCoverageCurve:
    """Accuracy of the images kept when keeping those with confidence >= each threshold.

    One point per distinct confidence, in decreasing threshold order; ``coverage`` and
    ``accuracy`` are fractions (selective risk = 1 - accuracy).
    """

    threshold: np.ndarray
    coverage: np.ndarray
    accuracy: np.ndarray

    @property
    def risk(self) -> np.ndarray:
        return 1.0 - self.accuracy


def _tie_groups(conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct confidences in decreasing order, and each image's group among them."""
    values, inverse = np.unique(-conf, return_inverse=True)
    return -values, inverse.reshape(-1)


def _group_sums(inverse: np.ndarray, hits: np.ndarray, w: np.ndarray, n_groups: int):
    """Each tie group's weight and weighted error count."""
    size = np.bincount(inverse, weights=w, minlength=n_groups)
    errors = np.bincount(inverse, weights=w * (1.0 - hits), minlength=n_groups)
    return size, errors


def risk_coverage_curve(confidence, correct) -> RiskCoverageCurve:
    """The accuracy-vs-coverage curve (see module docstring for the convention)."""
    conf, hits = _pair(confidence, correct)
    threshold, inverse = _tie_groups(conf)
    size, errors = _group_sums(inverse, hits, np.ones_like(conf), threshold.size)
    kept = np.cumsum(size)
    return RiskCoverageCurve(threshold, kept / conf.size, 1.0 - np.cumsum(errors) / kept)


def _harmonic(n: int) -> np.ndarray:
    """H[m] = sum_{j=1..m} 1/j for m = 0..n (H[0] = 0)."""
    return np.concatenate(([0.0], np.cumsum(1.0 / np.arange(1, n + 1))))


def _aurc_groups(size: np.ndarray, errors: np.ndarray, harmonic: np.ndarray) -> float:
    """sum_k E[cum errors(k)] / k over k = 1..N, / N, with errors spread evenly in each group.

    A group of G images with E errors, after a images holding E_before errors, adds
    sum_{k=a+1}^{a+G} (E_before + (k - a) E / G) / k
      = E_before (H(a+G) - H(a)) + (E / G) (G - a (H(a+G) - H(a))).
    """
    keep = size > 0
    size, errors = size[keep], errors[keep]
    end = np.cumsum(size)
    start = end - size
    before = np.cumsum(errors) - errors
    # weights are integers (bootstrap counts) so positions index the harmonic table exactly
    h = harmonic[np.rint(end).astype(np.int64)] - harmonic[np.rint(start).astype(np.int64)]
    total = np.sum(before * h + errors / size * (size - start * h))
    return float(total / end[-1])


def aurc(confidence, correct, weights=None) -> float:
    """Area under the risk-coverage curve (fraction): the mean selective risk over
    coverages 1/N..N/N, ties of confidence averaged over their orderings.

    ``weights`` must be integer multiplicities (a bootstrap resample's counts)."""
    conf, hits = _pair(confidence, correct)
    w = _weights(weights, conf.size)
    if np.any(w != np.rint(w)):
        raise ValueError("aurc: weights must be integer multiplicities (bootstrap counts)")
    threshold, inverse = _tie_groups(conf)
    size, errors = _group_sums(inverse, hits, w, threshold.size)
    return _aurc_groups(size, errors, _harmonic(int(round(w.sum()))))


def optimal_aurc(correct, weights=None) -> float:
    """AURC of a perfect ranking (every correct image before every error): the floor that
    excess AURC (E-AURC = AURC - optimal AURC, Geifman et al. 2019) is measured from."""
    hits = as_correctness(correct).astype(np.float64)
    w = _weights(weights, hits.size)
    size = np.array([np.dot(w, hits), np.dot(w, 1 - hits)])
    errors = np.array([0.0, size[1]])
    return _aurc_groups(size, errors, _harmonic(int(round(w.sum()))))


# ---------------------------------------------------------------- summary with intervals


@dataclass(frozen=True)
class CalibrationSummary:
    """Calibration metrics of one model on one test set, each with a bootstrap interval.

    Fractions except ``nll`` (nats per image). All metrics share the same resamples of the
    images; ECE intervals are built as the module docstring says, the others are percentile
    intervals.
    """

    n_images: int
    accuracy: float
    mean_confidence: float
    ece: Interval
    """Equal-width bins (``n_bins``)."""
    ece_equal_mass: Interval
    ece_p_value: float
    """Consistency-resampling p-value of perfect calibration for ``ece`` (small: miscalibrated)."""
    ece_equal_mass_p_value: float
    aurc: Interval
    excess_aurc: float
    """AURC minus the AURC of a perfect ranking of the same images."""
    nll: Interval | None = None
    nll_clipped: int = 0
    """Images whose p_true was stored as 0 (see :class:`NLLResult`)."""
    brier: Interval | None = None
    """Exact from full probabilities; otherwise the midpoint of ``brier_bounds``."""
    brier_bounds: tuple[float, float] | None = None
    """Exact bounds of the Brier score when it is estimated from the top-k fields."""
    n_bins: int = DEFAULT_BINS
    n_resamples: int = 0


def _ece_interval(estimate: float, samples: np.ndarray, null_samples: np.ndarray,
                  alpha: float) -> tuple[Interval, float]:
    """The ECE interval of the module docstring and the consistency p-value."""
    p_value = (1 + np.count_nonzero(null_samples >= estimate)) / (1 + null_samples.size)
    _, high_q = percentile_interval(samples, alpha)
    low = 0.0 if p_value > alpha / 2 else max(0.0, 2 * estimate - float(high_q))
    interval = Interval(estimate, low, max(float(high_q), estimate),
                        "bootstrap+consistency", alpha)
    return interval, float(p_value)


def _percentile(estimate: float, samples: np.ndarray, alpha: float) -> Interval:
    low, high = percentile_interval(samples, alpha)
    return Interval(estimate, float(low), float(high), "percentile-bootstrap", alpha)


def calibration_summary(
    confidence,
    correct,
    p_true=None,
    *,
    top_probs=None,
    true_in_top=None,
    num_classes: int = 1000,
    probabilities=None,
    labels=None,
    n_bins: int = DEFAULT_BINS,
    n_resamples: int = 1000,
    alpha: float = 0.05,
    seed: int | np.random.Generator | None = 0,
) -> CalibrationSummary:
    """ECE (both binnings), AURC and, when their inputs are given, NLL and Brier score, with
    bootstrap intervals over images (``n_resamples`` resamples, 1 - ``alpha`` intervals).

    The Brier score is exact from ``probabilities`` (N, K) with ``labels``, else estimated
    from ``top_probs`` + ``p_true`` + ``true_in_top`` (see :func:`brier_score_from_top_k`).
    """
    conf, hits = _pair(confidence, correct)
    n = conf.size
    nll_terms, n_clipped = _nll_terms(p_true, P_TRUE_FLOOR) if p_true is not None else (None, 0)
    if nll_terms is not None and nll_terms.size != n:
        raise ValueError(f"p_true has {nll_terms.size} entries, confidence has {n}")
    brier_low = brier_high = None
    if probabilities is not None:
        brier_low = brier_high = _brier_terms_exact(probabilities, labels)
    elif top_probs is not None:
        if p_true is None or true_in_top is None:
            raise ValueError("the Brier estimate from top_probs also needs p_true and true_in_top")
        brier_low, brier_high = _brier_terms_bounds(top_probs, p_true, true_in_top, num_classes)
    if brier_low is not None and brier_low.size != n:
        raise ValueError(f"Brier inputs have {brier_low.size} rows, confidence has {n}")
    width_bins = equal_width_bins(conf, n_bins)
    order = np.argsort(conf, kind="stable")
    thresholds, groups = _tie_groups(conf)
    harmonic = _harmonic(n)

    def metrics(w: np.ndarray, null_rng: np.random.Generator | None = None) -> np.ndarray:
        """Every metric under image multiplicities ``w``; with ``null_rng``, also both ECEs of
        labels redrawn as Bernoulli(confidence) (consistency resampling)."""
        size, errors = _group_sums(groups, hits, w, thresholds.size)
        mass_bins = _mass_bins(conf, order, w, n_bins)
        out = [_ece_from_bins(width_bins, conf, w * hits, w, n_bins),
               _ece_from_bins(mass_bins, conf, w * hits, w, n_bins),
               _aurc_groups(size, errors, harmonic)]
        if nll_terms is not None:
            out.append(np.dot(w, nll_terms) / w.sum())
        if brier_low is not None:
            out.append(np.dot(w, (brier_low + brier_high) / 2) / w.sum())
        if null_rng is not None:
            null_hits = null_rng.binomial(w.astype(np.int64), conf).astype(np.float64)
            out += [_ece_from_bins(width_bins, conf, null_hits, w, n_bins),
                    _ece_from_bins(mass_bins, conf, null_hits, w, n_bins)]
        return np.array(out)

    point = metrics(np.ones(n))
    rng = np.random.default_rng(seed)
    samples = np.empty((n_resamples, point.size + 2))
    for start in range(0, n_resamples, _CHUNK):
        counts = resample_counts(n, min(_CHUNK, n_resamples - start), rng)
        for row, w in enumerate(counts):
            samples[start + row] = metrics(w.astype(np.float64), rng)
    ece, ece_p = _ece_interval(float(point[0]), samples[:, 0], samples[:, -2], alpha)
    ece_mass, ece_mass_p = _ece_interval(float(point[1]), samples[:, 1], samples[:, -1], alpha)
    aurc_interval = _percentile(float(point[2]), samples[:, 2], alpha)
    column = 3
    nll = brier = bounds = None
    if nll_terms is not None:
        nll = _percentile(float(point[column]), samples[:, column], alpha)
        column += 1
    if brier_low is not None:
        brier = _percentile(float(point[column]), samples[:, column], alpha)
        bounds = (float(brier_low.mean()), float(brier_high.mean()))
    return CalibrationSummary(
        n_images=n, accuracy=float(hits.mean()), mean_confidence=float(conf.mean()),
        ece=ece, ece_equal_mass=ece_mass, ece_p_value=ece_p, ece_equal_mass_p_value=ece_mass_p,
        aurc=aurc_interval,
        excess_aurc=float(point[2]) - optimal_aurc(hits),
        nll=nll, nll_clipped=n_clipped, brier=brier, brier_bounds=bounds,
        n_bins=n_bins, n_resamples=n_resamples)
