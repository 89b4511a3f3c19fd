"""How much of a replication gap is the sampling? (Engstrom et al. 2020, ICML)

A re-collected test set is matched to the original on *noisy* selection frequencies (a
handful of annotators per image). Candidates whose measured frequency is high by chance
are over-represented, so the new set is harder than it looks, and part of the accuracy
drop is selection, not generalisation. This module estimates three gaps, each with a
bootstrap interval (all fractions in [0, 1]; gap = accuracy on the new set minus accuracy
on the original set, negative when the new set is harder: the sign of every gap the harness
reports):

* naive gap      ``acc_new - acc_orig``.
* adjusted gap   ``A(n) - acc_orig`` with the post-stratified accuracy
  ``A(n) = sum_s P_orig(s) * acc_new(s)``: the new set re-weighted to the original's
  distribution of measured selection frequency, strata ``s`` from ``n`` annotators.
* corrected gap  ``A_inf - acc_orig``, where ``A_inf`` extrapolates ``A(m)`` to infinitely
  many annotators. ``A(m)`` is computed after deleting votes at random so that every image
  keeps ``m`` of them (a hypergeometric draw of its ``selected`` out of ``shown``, which is
  what deleting random annotators' votes gives when each image's votes are exchangeable).
  With ``order=1`` this is the delete-d jackknife ``[n A(n) - (n-d) mean A(n-d)] / d``,
  which removes a bias of the form ``b/n``; ``order=2`` also uses ``A(n-2d)`` and removes
  ``b/n + c/n^2`` (generalised jackknife, Gray & Schucany 1972), at the price of variance.

What "true gap" means (used in tests and the README): the difference between a
classifier's accuracy on the new distribution re-weighted to have the original's distribution of *true* (infinite-annotator)
selection frequency and its accuracy on the original distribution, i.e. the part of the drop that is not explained by which
frequencies were selected. ``A_inf`` targets exactly this when strata are the exact vote
counts (``edges=None``); coarse bins leave a within-bin difference that no number of
annotators removes.

Frequencies used here should be *re-measured* with annotators independent of those whose
votes chose the new set (Engstrom et al.'s recommendation); reusing the selection votes
makes the new set's frequencies biased upward in a way no extrapolation in ``n`` undoes.

Strata with original images but no new ones ("uncovered"): ``uncovered_strata="zero"``
(the default) counts them with accuracy 0 and keeps ``P_orig`` as it is, the rule of
MadryLab/dataset-replication-analysis ``src/run_jackknife.py`` (``v2_hist.mul(v1_hist).sum()``
skips the missing strata without renormalising), which made the paper's figures;
``"drop"`` leaves them out and renormalises ``P_orig`` over the covered strata. The result
always carries the uncovered fraction of original images and the corrected gap under the
other rule, since the two differ by up to the uncovered fraction times the accuracy there.

Bootstrap: images of both sets are resampled independently (percentile interval); the
random vote deletions are drawn once and shared by all resamples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np

from robustness.errors import UserInputError
from robustness.stats.bootstrap import as_correctness, percentile_interval, resample_counts
from robustness.stats.intervals import Interval

UncoveredRule = Literal["zero", "drop"]
UNCOVERED_RULES: tuple[str, ...] = ("zero", "drop")
#: the rule of the paper's code (run_jackknife.py): uncovered strata count as accuracy 0
DEFAULT_UNCOVERED_RULE: UncoveredRule = "zero"


def _check_rule(rule: str) -> None:
    if rule not in UNCOVERED_RULES:
        raise UserInputError(f"uncovered_strata must be one of {', '.join(UNCOVERED_RULES)}, got {rule!r}")

#: upper edges of the 5 selection-frequency bins of ImageNetV2's MatchedFrequency
DEFAULT_BIN_EDGES = (0.2, 0.4, 0.6, 0.8)


def frequency_bins(selected, shown, edges: Sequence[float] = DEFAULT_BIN_EDGES) -> np.ndarray:
    """Bin index of each frequency ``selected / shown``: the first bin whose upper edge exceeds
    it (so ``edges[j-1] <= f < edges[j]`` is bin ``j``; values >= the last edge, 1.0 included,
    are bin ``len(edges)``). Exact: edges are read as decimal fractions, 2/10 is in bin 1."""
    selected = np.asarray(selected, dtype=np.int64)
    shown = np.asarray(shown, dtype=np.int64)
    bins = np.zeros(np.broadcast(selected, shown).shape, dtype=np.int64)
    for edge in edges:
        e = Fraction(str(edge))
        bins += selected * e.denominator >= e.numerator * shown
    return bins


def subsample_votes(selected, shown, m: int, rng: np.random.Generator) -> np.ndarray:
    """Selected counts after keeping ``m`` random votes of each image (hypergeometric)."""
    selected = np.asarray(selected, dtype=np.int64)
    shown = np.asarray(shown, dtype=np.int64)
    if np.any(shown < m):
        raise ValueError(f"cannot keep {m} votes: some images have only {int(shown.min())}")
    if np.all(shown == m):
        return selected.copy()
    return rng.hypergeometric(selected, shown - selected, m)


def strata_of(selected: np.ndarray, m: int, edges: Sequence[float] | None) -> tuple[np.ndarray, int]:
    """Stratum of each image with ``m`` votes: the count itself (``edges=None``, m+1 strata)
    or the frequency bin of ``selected/m``. Returns (strata, number of strata)."""
    if edges is None:
        return np.asarray(selected, dtype=np.int64), m + 1
    return frequency_bins(selected, np.full_like(selected, m), edges), len(edges) + 1


def _stratum_sums(weights: np.ndarray, strata: np.ndarray, n_strata: int) -> np.ndarray:
    """Per-row sums of ``weights`` (B, n) within each stratum -> (B, n_strata)."""
    order = np.argsort(strata, kind="stable")
    bounds = np.searchsorted(strata[order], np.arange(n_strata + 1))
    cumulative = np.zeros((weights.shape[0], weights.shape[1] + 1))
    np.cumsum(weights[:, order], axis=1, out=cumulative[:, 1:])
    return cumulative[:, bounds[1:]] - cumulative[:, bounds[:-1]]


def post_stratified_accuracy(
    correct_new: np.ndarray,
    strata_new: np.ndarray,
    strata_orig: np.ndarray,
    n_strata: int,
    weights_new: np.ndarray | None = None,
    weights_orig: np.ndarray | None = None,
    uncovered_strata: UncoveredRule = DEFAULT_UNCOVERED_RULE,
) -> np.ndarray:
    """``A = sum_s P_orig(s) * acc_new(s)`` (a fraction), vectorised over rows of image weights.

    ``weights_*`` are (B, n_images) bootstrap counts (default: one row of ones). Strata
    that hold original images but no new ones: ``"zero"`` counts them with accuracy 0
    (``P_orig`` unchanged; run_jackknife.py's rule), ``"drop"`` leaves them out and
    renormalises ``P_orig`` over the others. Returns shape (B,).
    """
    _check_rule(uncovered_strata)
    correct_new = np.asarray(correct_new, dtype=np.float64)
    wn = np.ones((1, len(correct_new))) if weights_new is None else np.atleast_2d(weights_new)
    wo = np.ones((1, len(strata_orig))) if weights_orig is None else np.atleast_2d(weights_orig)
    p_orig = _stratum_sums(wo, strata_orig, n_strata)
    count_new = _stratum_sums(wn, strata_new, n_strata)
    hits_new = _stratum_sums(wn * correct_new, strata_new, n_strata)
    if uncovered_strata == "drop":
        p_orig = np.where(count_new > 0, p_orig, 0.0)
    p_orig = p_orig / p_orig.sum(axis=1, keepdims=True)
    acc = np.divide(hits_new, count_new, out=np.zeros_like(hits_new), where=count_new > 0)
    return (p_orig * acc).sum(axis=1)


def uncovered_fraction(strata_new: np.ndarray, strata_orig: np.ndarray) -> float:
    """Fraction of original images in strata that hold no new image."""
    strata_orig = np.asarray(strata_orig)
    return float(np.isin(strata_orig, np.unique(strata_new), invert=True).mean())


def extrapolate_in_annotators(levels: Sequence[int], values: np.ndarray) -> np.ndarray:
    """Fit ``A(m) = A_inf + b/m [+ c/m^2 ...]`` exactly through the points and return A_inf.

    ``values`` has shape (len(levels), ...). With two levels n and n-d this is
    ``[n A(n) - (n-d) A(n-d)] / d``, the delete-d jackknife.
    """
    inverse = 1.0 / np.asarray(levels, dtype=np.float64)
    design = np.vander(inverse, len(levels), increasing=True)
    coef = np.linalg.solve(design, np.asarray(values, dtype=np.float64).reshape(len(levels), -1))
    return coef[0].reshape(np.shape(values)[1:])


@dataclass(frozen=True)
class ReplicationGaps:
    """The three gaps (fractions, new minus original: negative when accuracy fell) with their
    percentile intervals."""

    acc_original: Interval
    acc_new: Interval
    adjusted_accuracy: Interval  # A(n)
    corrected_accuracy: Interval  # A_inf
    naive_gap: Interval
    adjusted_gap: Interval
    corrected_gap: Interval
    n_annotators: int
    levels: tuple[int, ...]  # annotator counts A was computed at, n first
    n_original: int
    n_new: int
    strata: str
    notes: list[str] = field(default_factory=list)
    uncovered_strata: str = DEFAULT_UNCOVERED_RULE  # the rule the intervals above use
    uncovered_fraction: float = 0.0  # original images in strata without new images (at n votes)
    corrected_gap_other_rule: float | None = None  # point estimate under the other rule

    def as_dict(self) -> dict:
        """Plain numbers for JSON/CSV output (fractions)."""
        out = {}
        for name in ("acc_original", "acc_new", "adjusted_accuracy", "corrected_accuracy",
                     "naive_gap", "adjusted_gap", "corrected_gap"):  # fmt: skip
            iv = getattr(self, name)
            out[name] = {"estimate": float(iv.estimate), "low": float(iv.low), "high": float(iv.high)}
        out.update(n_annotators=self.n_annotators, levels=list(self.levels), n_original=self.n_original,
                   n_new=self.n_new, strata=self.strata, notes=list(self.notes),
                   uncovered_strata=self.uncovered_strata, uncovered_fraction=self.uncovered_fraction,
                   corrected_gap_other_rule=self.corrected_gap_other_rule)  # fmt: skip
        return out


def _interval(point: float, samples: np.ndarray, alpha: float) -> Interval:
    low, high = percentile_interval(samples, alpha)
    return Interval(float(point), float(low), float(high), "percentile bootstrap", alpha)


def replication_gaps(
    correct_orig,
    selected_orig,
    shown_orig,
    correct_new,
    selected_new,
    shown_new,
    n_annotators: int | None = None,
    d: int = 1,
    order: int = 1,
    edges: Sequence[float] | None = None,
    n_draws: int = 20,
    n_resamples: int = 500,
    alpha: float = 0.05,
    seed: int = 0,
    uncovered_strata: UncoveredRule = DEFAULT_UNCOVERED_RULE,
) -> ReplicationGaps:
    """Naive, adjusted and corrected gaps between an original and a re-collected test set.

    Args:
        correct_orig, correct_new: per-image top-1 correctness (bool or 0/1).
        selected_*, shown_*: per-image annotation counts (frequency = selected / shown).
        n_annotators: votes per image used for ``A(n)`` (default: the smallest ``shown``;
            images with more votes are subsampled, averaged over ``n_draws`` draws).
        d, order: extrapolation uses ``A(n), A(n-d), ..., A(n-order*d)``.
        edges: stratify on these frequency-bin edges; ``None`` (default) on exact counts.
        n_draws: random vote deletions averaged per level.
        n_resamples, alpha, seed: percentile bootstrap over images.
        uncovered_strata: ``"zero"`` (run_jackknife.py, the paper) or ``"drop"`` (renormalise);
            see the module docstring. The other rule's corrected gap is reported too.
    """
    _check_rule(uncovered_strata)
    other_rule = "drop" if uncovered_strata == "zero" else "zero"
    co = as_correctness(correct_orig, "correct_orig").astype(np.float64)
    cn = as_correctness(correct_new, "correct_new").astype(np.float64)
    so, ho = np.asarray(selected_orig, np.int64), np.asarray(shown_orig, np.int64)
    sn, hn = np.asarray(selected_new, np.int64), np.asarray(shown_new, np.int64)
    for name, c, s, h in (("original", co, so, ho), ("new", cn, sn, hn)):
        if not (len(c) == len(s) == len(h)):
            raise ValueError(f"{name} set: correct, selected and shown need one entry per image, "
                             f"got {len(c)}, {len(s)}, {len(h)}")  # fmt: skip
        if np.any((s < 0) | (s > h)):
            raise ValueError(f"{name} set: need 0 <= selected <= shown for every image")
    n = int(min(ho.min(), hn.min())) if n_annotators is None else int(n_annotators)
    levels = tuple(n - j * d for j in range(order + 1))
    if d < 1 or levels[-1] < 1:
        raise ValueError(f"need d >= 1 and n - order*d >= 1 annotators; got n={n}, d={d}, order={order}")
    rng = np.random.default_rng(seed)
    wo = resample_counts(len(co), n_resamples, rng).astype(np.float64)
    wn = resample_counts(len(cn), n_resamples, rng).astype(np.float64)
    weights_o = np.vstack([np.ones((1, len(co))), wo])  # row 0: the data as observed
    weights_n = np.vstack([np.ones((1, len(cn))), wn])
    at_level, other_at_level = [], []
    notes = []
    uncovered = 0.0
    for m in levels:
        exact = m == n and np.all(ho == n) and np.all(hn == n)
        draws = 1 if exact else n_draws
        total = np.zeros(len(weights_o))
        other = 0.0
        for _ in range(draws):
            ko, kn = subsample_votes(so, ho, m, rng), subsample_votes(sn, hn, m, rng)
            strata_o, n_strata = strata_of(ko, m, edges)
            strata_n, _ = strata_of(kn, m, edges)
            total += post_stratified_accuracy(cn, strata_n, strata_o, n_strata, weights_n, weights_o,
                                              uncovered_strata)
            other += float(post_stratified_accuracy(cn, strata_n, strata_o, n_strata,
                                                    uncovered_strata=other_rule)[0])
            if m == n:
                uncovered += uncovered_fraction(strata_n, strata_o) / draws
        at_level.append(total / draws)
        other_at_level.append(other / draws)
    at_level = np.asarray(at_level)
    acc_o = weights_o @ co / weights_o.sum(axis=1)
    acc_n = weights_n @ cn / weights_n.sum(axis=1)
    adjusted = at_level[0]
    corrected = extrapolate_in_annotators(levels, at_level)
    corrected_other = float(extrapolate_in_annotators(levels, np.asarray(other_at_level)) - acc_o[0])
    if uncovered > 0:
        notes.append(
            f"{uncovered:.1%} of original images fall in strata with no new images; counted as "
            f"accuracy 0 ({uncovered_strata!r} rule)" if uncovered_strata == "zero" else
            f"{uncovered:.1%} of original images fall in strata with no new images; left out, "
            f"weights renormalised ({uncovered_strata!r} rule)")
        notes.append(f"corrected gap {100 * (corrected[0] - acc_o[0]):.2f} points under the "
                     f"{uncovered_strata!r} rule, {100 * corrected_other:.2f} under {other_rule!r}")
    return ReplicationGaps(
        acc_original=_interval(acc_o[0], acc_o[1:], alpha),
        acc_new=_interval(acc_n[0], acc_n[1:], alpha),
        adjusted_accuracy=_interval(adjusted[0], adjusted[1:], alpha),
        corrected_accuracy=_interval(corrected[0], corrected[1:], alpha),
        naive_gap=_interval(acc_n[0] - acc_o[0], acc_n[1:] - acc_o[1:], alpha),
        adjusted_gap=_interval(adjusted[0] - acc_o[0], adjusted[1:] - acc_o[1:], alpha),
        corrected_gap=_interval(corrected[0] - acc_o[0], corrected[1:] - acc_o[1:], alpha),
        n_annotators=n,
        levels=levels,
        n_original=len(co),
        n_new=len(cn),
        strata="exact vote counts" if edges is None else f"frequency bins with edges {list(edges)}",
        notes=notes,
        uncovered_strata=uncovered_strata,
        uncovered_fraction=float(uncovered),
        corrected_gap_other_rule=corrected_other,
    )
