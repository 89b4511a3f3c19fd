"""``calibration.csv``: are a model's confidences honest on every test set, and under shift?

One row per (model, test set) whose unit stored per-image confidences, plus, per set group of
corrupted copies (ImageNet-C...), one row per (model, severity) pooling the images of every
corruption at that severity (``test_set`` ``imagenet-c.*.3``). The confidence is the
max-softmax probability over the classes the set scores (``prob_1`` of the store), "correct" is
top-1 under the set's scoring, and the metrics come from :mod:`robustness.stats.calibration`.

Columns (``CALIBRATION_COLUMNS``): accuracy, mean confidence, ECE (15 equal-width bins) and its
equal-mass variant, AURC and excess AURC in **percent**; NLL in nats per image (from the
probability of the true label; ``nll_clipped`` images stored it as 0, making NLL a lower bound);
the Brier score (sum over classes, in [0, 2]) as the midpoint of its exact bounds
``brier_min``/``brier_max`` from the stored top-5 (left empty for sets whose labels count
several classes: ReaL, ObjectNet). Intervals (``*_low``/``*_high``) are bootstrap intervals over
images when ``resamples`` > 0, else empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..datasets.catalogue import SET_GROUPS
from ..stats.calibration import (
    aurc,
    brier_score_from_top_k,
    calibration_summary,
    expected_calibration_error,
    negative_log_likelihood,
    optimal_aurc,
    reliability_diagram,
)
from ..store import Unit
from .analysis import group_member

CALIBRATION_COLUMNS = [
    "model", "test_set", "group", "severity", "n", "accuracy", "mean_confidence",
    "ece", "ece_low", "ece_high", "ece_equal_mass", "ece_equal_mass_low", "ece_equal_mass_high",
    "nll", "nll_low", "nll_high", "nll_clipped", "brier", "brier_min", "brier_max",
    "aurc", "aurc_low", "aurc_high", "excess_aurc",
]  # fmt: skip
PERCENT = 100.0


@dataclass
class _Images:
    """What calibration needs of some images (one unit, or pooled units)."""

    confidence: np.ndarray  # float (N,): max-softmax over the scored classes
    correct: np.ndarray  # bool (N,)
    p_true: np.ndarray  # float (N,)
    prob5: np.ndarray  # float (N, 5)
    in_top5: np.ndarray  # bool (N,): the true class is one of the stored top-5
    num_classes: int
    single_label: bool

    @classmethod
    def of(cls, unit: Unit) -> _Images:
        scoring = unit.meta.get("test_set", {}).get("scoring", {}) or {}
        targets, subset = scoring.get("label_targets"), scoring.get("class_subset")
        restricted = scoring.get("restrict_predictions", True)
        if targets is not None and restricted:
            num_classes = len({c for t in targets for c in t})
        elif subset is not None and restricted:
            num_classes = len(subset)
        else:
            num_classes = 1000
        values, evaluated = unit.columns(("correct1", "correct5", "prob5", "p_true"))  # one file read
        correct, in_top5, prob5, p_true = (values[k] for k in ("correct1", "correct5", "prob5", "p_true"))
        prob5 = np.nan_to_num(prob5[evaluated].astype(np.float64), nan=0.0)
        return cls(prob5[:, 0], correct[evaluated], p_true[evaluated].astype(np.float64), prob5,
                   in_top5[evaluated], num_classes, targets is None)

    @classmethod
    def pooled(cls, parts: list[_Images]) -> _Images:
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("confidence", "correct", "p_true", "prob5", "in_top5")),
                   parts[0].num_classes, all(p.single_label for p in parts))


def _row(model: str, test_set: str, group: str | None, severity: int | None, images: _Images,
         resamples: int, seed: int) -> dict:
    row = dict.fromkeys(CALIBRATION_COLUMNS, np.nan)
    row.update(model=model, test_set=test_set, group=group or "", severity=severity,
               n=int(images.correct.size))
    brier = {}
    if images.single_label:
        brier = dict(top_probs=images.prob5, true_in_top=images.in_top5, num_classes=images.num_classes)
    if resamples > 0:
        s = calibration_summary(images.confidence, images.correct, images.p_true,
                                n_resamples=resamples, seed=seed, **brier)
        row.update(accuracy=PERCENT * s.accuracy, mean_confidence=PERCENT * s.mean_confidence,
                   excess_aurc=PERCENT * s.excess_aurc, nll_clipped=s.nll_clipped)
        for name, interval, scale in (("ece", s.ece, PERCENT), ("ece_equal_mass", s.ece_equal_mass, PERCENT),
                                      ("aurc", s.aurc, PERCENT), ("nll", s.nll, 1.0)):
            row.update({name: scale * interval.estimate, f"{name}_low": scale * interval.low,
                        f"{name}_high": scale * interval.high})
        if s.brier_bounds is not None:
            row.update(brier=s.brier.estimate, brier_min=s.brier_bounds[0], brier_max=s.brier_bounds[1])
        return row
    nll = negative_log_likelihood(images.p_true)
    risk = aurc(images.confidence, images.correct)
    row.update(accuracy=PERCENT * images.correct.mean(), mean_confidence=PERCENT * images.confidence.mean(),
               ece=PERCENT * expected_calibration_error(images.confidence, images.correct),
               ece_equal_mass=PERCENT * expected_calibration_error(images.confidence, images.correct,
                                                                   binning="mass"),
               nll=nll.nll, nll_clipped=nll.n_clipped, aurc=PERCENT * risk,
               excess_aurc=PERCENT * (risk - optimal_aurc(images.correct)))
    if brier:
        estimate = brier_score_from_top_k(images.prob5, images.p_true, images.in_top5, images.num_classes)
        row.update(brier=estimate.estimate, brier_min=estimate.low, brier_max=estimate.high)
    return row


#: one reliability-diagram panel: (set name, mean confidence per bin, accuracy per bin, images
#: per bin), fractions, 15 equal-width bins
Panel = tuple[str, np.ndarray, np.ndarray, np.ndarray]


def _panel(name: str, images: _Images) -> Panel:
    d = reliability_diagram(images.confidence, images.correct)
    return name, d.confidence, d.accuracy, d.count


def calibration_table(units: pd.DataFrame, resamples: int = 0,
                      seed: int = 0) -> tuple[pd.DataFrame, list[str], dict[str, list[Panel]]]:
    """``calibration.csv`` (module docstring) of the units in ``units`` (``tables.units_frame``):
    every unit with confidences, then the per-severity pools of each set group. Returns the
    table, notes (units left out: no confidences) and per model the reliability-diagram panels
    of each group's clean baseline and its most severe pool."""
    rows, notes, lacking = [], [], []
    pools: dict[tuple[str, str, int], list[_Images]] = {}
    clean: dict[tuple[str, str], _Images] = {}
    pooled_groups = {g.name for g in SET_GROUPS.values() if g.baseline and g.measured_against_baseline}
    baselines = {SET_GROUPS[g].baseline for g in pooled_groups}
    for model, test_set, path in zip(units["model"], units["test_set"], units["path"], strict=True):
        unit = Unit(path)
        if not unit.has_confidences:
            lacking.append(f"{model} on {test_set}")
            continue
        images = _Images.of(unit)
        rows.append(_row(model, test_set, None, None, images, resamples, seed))
        member = group_member(test_set)
        if member is not None and member.severity is not None and member.group in pooled_groups:
            pools.setdefault((model, member.group, member.severity), []).append(images)
        if test_set in baselines:
            clean[(model, test_set)] = images
    panels: dict[str, list[Panel]] = {}
    worst: dict[tuple[str, str], int] = {}
    for (model, group, severity), parts in sorted(pools.items()):
        rows.append(_row(model, f"{group}.*.{severity}", group, severity, _Images.pooled(parts),
                         resamples, seed))
        worst[(model, group)] = max(severity, worst.get((model, group), 0))
    for (model, group), severity in sorted(worst.items()):
        baseline = SET_GROUPS[group].baseline
        if (model, baseline) in clean:
            panels.setdefault(model, []).append(_panel(baseline, clean[(model, baseline)]))
        panels.setdefault(model, []).append(
            _panel(f"{group}.*.{severity}", _Images.pooled(pools[(model, group, severity)])))
    if lacking:
        notes.append(f"calibration: {len(lacking)} unit(s) stored no per-image confidences (finished "
                     f"by an older version) and are left out: {', '.join(lacking[:4])}"
                     f"{' ...' if len(lacking) > 4 else ''}; `robustness eval ... --upgrade-old-units` "
                     "recomputes them")
    if rows and resamples == 0:
        notes.append("calibration: point estimates only; `robustness report --calibration-resamples "
                     "1000` adds bootstrap intervals over images")
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS), notes, panels


def ece_by_severity(table: pd.DataFrame, group: str) -> pd.DataFrame:
    """Rows of ``calibration.csv`` for an ECE-vs-severity plot of one set group: the pooled
    severities, and the group's clean baseline as severity 0 (``model, severity, ece, ece_low,
    ece_high``)."""
    baseline = SET_GROUPS[group].baseline
    pooled = table[table["group"] == group]
    base = table[(table["test_set"] == baseline) & table["model"].isin(set(pooled["model"]))].assign(severity=0)
    return pd.concat([base, pooled], ignore_index=True)[["model", "severity", "ece", "ece_low", "ece_high"]]
