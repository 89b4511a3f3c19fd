"""Out-of-distribution detection: anomaly scores, AUROC and AUPR with stratified bootstrap.

Convention (Hendrycks et al. 2021, ``hendrycks/natural-adv-examples``: ``eval_many_models.py``
and ``calibration_tools.get_measures``): the out-of-distribution images (ImageNet-O) are the
*positives*, the in-distribution images (ImageNet val of the same 200 classes) the
negatives, and an image's *anomaly score* is larger the more anomalous it looks. The
reference scores an image by minus its maximum softmax probability, with the softmax taken
over the 200 ImageNet-O classes only (``net(x)[:, imagenet_o_mask]``), and reports
``sklearn.metrics.roc_auc_score`` and ``average_precision_score`` of those scores. Here:

* AUROC = P(s_out > s_in) + P(s_out = s_in) / 2 over all (OOD, in-distribution) pairs: the
  area under the ROC curve with ties counted half, which is what scikit-learn computes.
* AUPR = average precision exactly as scikit-learn computes it (and the reference code
  reports): AP = sum_t (R_t - R_(t-1)) P_t over the distinct scores t in decreasing order,
  with precision P_t and recall R_t of "score >= t", R_0 = 0 -- a step sum, not the
  trapezoidal area.

* FPR at 95% TPR: the share of in-distribution images flagged when 95% of the OOD images are,
  by the rule of the reference's ``calibration_tools.fpr_and_fdr_at_recall`` (also
  ``hendrycks/outlier-exposure``): over the distinct thresholds down to the first one that
  flags every OOD image, plus a final point (recall 1, no false positive) that the reference
  appends, take the point whose recall is closest to 0.95 (ties: the one with the highest
  recall). Without a point within 0.05 of 0.95 (tiny sets), the appended point wins and the
  FPR is 0, as in the reference.

All are fractions (an AUPR of 16.2% is 0.162 here).

Scores (larger = more anomalous), from saved logits or from the stored max-softmax:

* ``"msp"``: -max_k softmax(z)_k (Hendrycks & Gimpel 2017; the reference's score); the only
  one the stored per-image confidence gives, as ``-confidence``;
* ``"max_logit"``: -max_k z_k (Hendrycks et al. 2022, ICML, "Scaling out-of-distribution
  detection for real-world settings");
* ``"energy"``: -T logsumexp(z / T), T = 1 by default (Liu et al. 2020, NeurIPS,
  "Energy-based out-of-distribution detection").

``classes`` restricts the logits to a subset first (ImageNet-O: its 200 classes), as the
reference does; the stored confidence must then have been computed over the same subset.

Intervals: percentile bootstrap with the in-distribution and the OOD images resampled
separately (stratified: each resample keeps both group sizes, so AUROC and AUPR always
exist), using :func:`~robustness.stats.bootstrap.resample_counts`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from robustness.stats.bootstrap import percentile_interval, resample_counts
from robustness.stats.intervals import Interval

SCORES = ("msp", "max_logit", "energy")
_CHUNK = 256


def _logits(logits, classes) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] == 0:
        raise ValueError(f"logits: expected shape (n_images, n_classes), got {z.shape}")
    if classes is not None:
        z = z[:, np.asarray(classes, dtype=np.int64)]
    if not np.all(np.isfinite(z)):
        raise ValueError("logits: expected finite values")
    return z


def _logsumexp(z: np.ndarray) -> np.ndarray:
    top = z.max(axis=1)
    return top + np.log(np.exp(z - top[:, None]).sum(axis=1))


def max_softmax(logits, classes=None) -> np.ndarray:
    """Maximum softmax probability (fraction) of each row, over ``classes`` when given."""
    z = _logits(logits, classes)
    return np.exp(z.max(axis=1) - _logsumexp(z))


def anomaly_scores(logits=None, *, confidence=None, kind: str = "msp", classes=None,
                   temperature: float = 1.0) -> np.ndarray:
    """Anomaly score of each image (larger = more anomalous), see the module docstring.

    Give ``logits`` (N, K) (restricted to ``classes`` when given) or the stored max-softmax
    ``confidence`` (N,), which only yields ``kind="msp"``.
    """
    if kind not in SCORES:
        raise ValueError(f"kind must be one of {SCORES}, got {kind!r}")
    if (logits is None) == (confidence is None):
        raise ValueError("give either logits or confidence (the stored max-softmax)")
    if confidence is not None:
        if kind != "msp":
            raise ValueError(f"the {kind!r} score needs the logits; the stored max-softmax "
                             "confidence only gives kind='msp'")
        conf = np.asarray(confidence, dtype=np.float64)
        if conf.ndim != 1 or np.any((conf < 0) | (conf > 1)) or not np.all(np.isfinite(conf)):
            raise ValueError("confidence: expected one max-softmax probability in [0, 1] per image")
        return -conf
    z = _logits(logits, classes)
    if kind == "msp":
        return -np.exp(z.max(axis=1) - _logsumexp(z))
    if kind == "max_logit":
        return -z.max(axis=1)
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return -temperature * _logsumexp(z / temperature)


# ---------------------------------------------------------------- AUROC and AUPR


def _scores(values, name: str) -> np.ndarray:
    s = np.asarray(values, dtype=np.float64)
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError(f"{name}: expected a non-empty 1-d array of finite anomaly scores")
    return s


@dataclass(frozen=True)
class _Groups:
    """Every distinct score (ascending) and the group of each in-distribution / OOD image."""

    n_groups: int
    group_in: np.ndarray
    group_out: np.ndarray

    @classmethod
    def of(cls, in_scores: np.ndarray, out_scores: np.ndarray) -> _Groups:
        values, inverse = np.unique(np.concatenate([in_scores, out_scores]), return_inverse=True)
        inverse = inverse.reshape(-1)
        return cls(values.size, inverse[:in_scores.size], inverse[in_scores.size:])

    def indicator(self, groups: np.ndarray) -> sparse.csr_matrix:
        """(n_images, n_groups) 0/1 matrix: image i is in group ``groups[i]``."""
        ones = np.ones(groups.size)
        return sparse.csr_matrix((ones, (np.arange(groups.size), groups)),
                                 shape=(groups.size, self.n_groups))


def _auroc_rows(neg: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """AUROC of each row of per-group (ascending score) negative and positive weights."""
    below = np.cumsum(neg, axis=-1) - neg
    pairs = np.sum(pos * (below + neg / 2), axis=-1)
    return pairs / (neg.sum(axis=-1) * pos.sum(axis=-1))


def _ap_rows(neg: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Average precision (scikit-learn's step sum) of each row, positives = OOD."""
    pos_desc, neg_desc = pos[..., ::-1], neg[..., ::-1]
    tp = np.cumsum(pos_desc, axis=-1)
    kept = tp + np.cumsum(neg_desc, axis=-1)
    precision = np.divide(tp, kept, out=np.zeros_like(tp), where=kept > 0)
    return np.sum(pos_desc * precision, axis=-1) / pos.sum(axis=-1)


RECALL_LEVEL = 0.95
"""The OOD recall (TPR) at which :func:`fpr_at_recall` reads the false-positive rate."""


def _fpr_rows(neg: np.ndarray, pos: np.ndarray, recall_level: float = RECALL_LEVEL) -> np.ndarray:
    """FPR at ``recall_level`` of each row (module docstring: the reference's rule)."""
    neg, pos = np.atleast_2d(neg), np.atleast_2d(pos)
    tps = np.cumsum(pos[:, ::-1], axis=-1)  # flagged OOD images at each threshold, high to low
    fps = np.cumsum(neg[:, ::-1], axis=-1)
    total = tps[:, -1:]
    recall = tps / total
    # the reference keeps the thresholds up to the first reaching full recall ...
    kept = np.cumsum(tps >= total, axis=-1) <= 1
    distance = np.where(kept, np.abs(recall - recall_level), np.inf)
    best = distance.min(axis=-1, keepdims=True)
    # ... scans them from that one back to the highest score, taking the first minimum
    last = distance.shape[-1] - 1 - np.argmax((distance == best)[:, ::-1], axis=-1)
    fpr = fps[np.arange(len(fps)), last] / neg.sum(axis=-1)
    appended_wins = abs(1.0 - recall_level) < best[:, 0]  # its (recall 1, FPR 0) comes last
    return np.where(appended_wins, 0.0, fpr)


def _weighted(in_scores, out_scores, in_weights, out_weights):
    s_in, s_out = _scores(in_scores, "in_scores"), _scores(out_scores, "out_scores")
    w_in = np.ones(s_in.size) if in_weights is None else np.asarray(in_weights, dtype=np.float64)
    w_out = np.ones(s_out.size) if out_weights is None else np.asarray(out_weights, dtype=np.float64)
    if w_in.shape != s_in.shape or w_out.shape != s_out.shape:
        raise ValueError("weights need one multiplicity per score")
    groups = _Groups.of(s_in, s_out)
    neg = np.bincount(groups.group_in, weights=w_in, minlength=groups.n_groups)
    pos = np.bincount(groups.group_out, weights=w_out, minlength=groups.n_groups)
    if not (neg.sum() > 0 and pos.sum() > 0):
        raise ValueError("AUROC/AUPR need at least one in-distribution and one OOD image")
    return neg, pos


def auroc(in_scores, out_scores, in_weights=None, out_weights=None) -> float:
    """Area under the ROC curve (fraction), OOD images as positives, ties counted half.

    ``*_weights``: per-image multiplicities (a bootstrap resample's counts)."""
    return float(_auroc_rows(*_weighted(in_scores, out_scores, in_weights, out_weights)))


def average_precision(in_scores, out_scores, in_weights=None, out_weights=None) -> float:
    """AUPR as average precision (fraction), OOD images as positives, exactly as
    ``sklearn.metrics.average_precision_score`` computes it (module docstring)."""
    return float(_ap_rows(*_weighted(in_scores, out_scores, in_weights, out_weights)))


def fpr_at_recall(in_scores, out_scores, recall_level: float = RECALL_LEVEL, in_weights=None,
                  out_weights=None) -> float:
    """False-positive rate (fraction of in-distribution images flagged) at the threshold whose
    OOD recall is closest to ``recall_level``, by the reference's rule (module docstring)."""
    if not 0.0 < recall_level <= 1.0:
        raise ValueError(f"recall_level: expected a fraction in (0, 1], got {recall_level}")
    neg, pos = _weighted(in_scores, out_scores, in_weights, out_weights)
    return float(_fpr_rows(neg, pos, recall_level)[0])


@dataclass(frozen=True)
class OODDetection:
    """AUROC, AUPR and FPR at 95% TPR (fractions, OOD = positives) with stratified bootstrap
    intervals."""

    auroc: Interval
    aupr: Interval
    fpr95: Interval
    n_in: int
    n_out: int
    n_resamples: int

    @property
    def aupr_chance(self) -> float:
        """The AUPR of a score that carries no information: the share of OOD images."""
        return self.n_out / (self.n_in + self.n_out)


def ood_detection(in_scores, out_scores, n_resamples: int = 1000, alpha: float = 0.05,
                  seed: int | np.random.Generator | None = 0) -> OODDetection:
    """AUROC, AUPR and FPR at 95% TPR of anomaly scores of in-distribution and OOD images,
    with percentile intervals from a bootstrap that resamples the two groups separately."""
    s_in, s_out = _scores(in_scores, "in_scores"), _scores(out_scores, "out_scores")
    groups = _Groups.of(s_in, s_out)
    neg = np.bincount(groups.group_in, minlength=groups.n_groups).astype(np.float64)
    pos = np.bincount(groups.group_out, minlength=groups.n_groups).astype(np.float64)
    point_auroc, point_ap = float(_auroc_rows(neg, pos)), float(_ap_rows(neg, pos))
    point_fpr = float(_fpr_rows(neg, pos)[0])
    ind_in, ind_out = groups.indicator(groups.group_in), groups.indicator(groups.group_out)
    rng = np.random.default_rng(seed)
    aurocs = np.empty(n_resamples)
    aps = np.empty(n_resamples)
    fprs = np.empty(n_resamples)
    for start in range(0, n_resamples, _CHUNK):
        rows = min(_CHUNK, n_resamples - start)
        counts_in = resample_counts(s_in.size, rows, rng, dtype=np.float64)
        counts_out = resample_counts(s_out.size, rows, rng, dtype=np.float64)
        neg_rows = np.asarray((ind_in.T @ counts_in.T).T)
        pos_rows = np.asarray((ind_out.T @ counts_out.T).T)
        aurocs[start:start + rows] = _auroc_rows(neg_rows, pos_rows)
        aps[start:start + rows] = _ap_rows(neg_rows, pos_rows)
        fprs[start:start + rows] = _fpr_rows(neg_rows, pos_rows)
    low, high = percentile_interval(aurocs, alpha)
    auroc_interval = Interval(point_auroc, float(low), float(high), "stratified-bootstrap", alpha)
    low, high = percentile_interval(aps, alpha)
    ap_interval = Interval(point_ap, float(low), float(high), "stratified-bootstrap", alpha)
    low, high = percentile_interval(fprs, alpha)
    fpr_interval = Interval(point_fpr, float(low), float(high), "stratified-bootstrap", alpha)
    return OODDetection(auroc_interval, ap_interval, fpr_interval, s_in.size, s_out.size,
                        n_resamples)
