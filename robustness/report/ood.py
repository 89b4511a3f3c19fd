"""``ood.csv``: does a model tell images of classes it was not trained on from its own classes?

For every out-of-distribution set of the catalogue (``TestSetSpec.in_distribution`` names the
set it is scored against: ImageNet-O against ImageNet val restricted to the same 200 classes,
``imagenet-o-clean``), every model with units on both: the OOD images are the positives and
the anomaly score is the negative max-softmax probability over the set's scored classes
(``prob_1`` of the store, Hendrycks et al. 2021); with ``score`` ``max_logit`` or ``energy``
the units must have saved logits (``--save-logits``). Metrics from :mod:`robustness.stats.ood`.

Columns (``OOD_COLUMNS``): ``aupr`` (the paper's headline, OOD as positives), ``auroc``, with
stratified bootstrap intervals, ``aupr_chance`` (the share of OOD images: the AUPR of a
score that knows nothing), and ``fpr95`` (in-distribution images flagged at 95% OOD recall,
the reference's rule; lower is better) with its interval, all in **percent**; ``n_in``,
``n_out`` images.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets.catalogue import TEST_SETS
from ..stats.ood import anomaly_scores, ood_detection
from ..store import Unit

OOD_COLUMNS = ["model", "ood_set", "in_distribution", "score", "n_in", "n_out", "aupr", "aupr_low",
               "aupr_high", "auroc", "auroc_low", "auroc_high", "aupr_chance", "fpr95", "fpr95_low",
               "fpr95_high"]
OOD_SCORES = ("msp", "max_logit", "energy")
PERCENT = 100.0


def _scores(unit: Unit, score: str) -> np.ndarray:
    """Anomaly scores of a unit's evaluated images (higher: more anomalous)."""
    if score == "msp":
        prob5, evaluated = unit.column("prob5")
        return anomaly_scores(confidence=prob5[evaluated, 0].astype(np.float64), kind="msp")
    rec = unit.records(logits=True, fields=("index",))
    if rec.logits is None:
        raise ValueError(f"{unit.path}: --ood-score {score} needs the unit's logits; evaluate "
                         f"with --save-logits")
    scoring = unit.meta.get("test_set", {}).get("scoring", {}) or {}
    classes = scoring.get("class_subset")
    if scoring.get("label_targets") is not None:
        classes = sorted({c for t in scoring["label_targets"] for c in t})
    return anomaly_scores(rec.logits.astype(np.float64), kind=score, classes=classes)


def ood_table(units: pd.DataFrame, score: str = "msp", resamples: int = 1000, seed: int = 0,
              alpha: float = 0.05) -> tuple[pd.DataFrame, list[str]]:
    """``ood.csv`` (module docstring) of ``units`` (``tables.units_frame``), and notes."""
    if score not in OOD_SCORES:
        raise ValueError(f"OOD score must be one of {', '.join(OOD_SCORES)}, got {score!r}")
    paths = {(m, t): p for m, t, p in zip(units["model"], units["test_set"], units["path"], strict=True)}
    rows, notes = [], []
    present = set(units["test_set"])
    for ood_set in sorted(present):
        spec = TEST_SETS.get(ood_set)
        in_set = spec.in_distribution if spec is not None else None
        if in_set is None:
            continue
        if in_set not in present:
            notes.append(f"ood {ood_set}: no units on its in-distribution set {in_set}; evaluate it "
                         "too (`robustness eval` adds it unless --no-baselines)")
            continue
        for model in sorted(m for m, t in paths if t == ood_set):
            if (model, in_set) not in paths:
                notes.append(f"ood {ood_set}: {model} has no unit on {in_set}, left out")
                continue
            unit_in, unit_out = Unit(paths[(model, in_set)]), Unit(paths[(model, ood_set)])
            if score == "msp" and not (unit_in.has_confidences and unit_out.has_confidences):
                notes.append(f"ood {ood_set}: {model}'s units stored no confidences (older version); "
                             "`robustness eval ... --upgrade-old-units` recomputes them")
                continue
            try:
                s_in, s_out = _scores(unit_in, score), _scores(unit_out, score)
            except ValueError as exc:
                notes.append(f"ood {ood_set}: {model} left out: {exc}")
                continue
            result = ood_detection(s_in, s_out, n_resamples=resamples, alpha=alpha, seed=seed)
            rows.append(dict(zip(OOD_COLUMNS, [
                model, ood_set, in_set, score, result.n_in, result.n_out,
                PERCENT * result.aupr.estimate, PERCENT * result.aupr.low, PERCENT * result.aupr.high,
                PERCENT * result.auroc.estimate, PERCENT * result.auroc.low, PERCENT * result.auroc.high,
                PERCENT * result.aupr_chance, PERCENT * result.fpr95.estimate,
                PERCENT * result.fpr95.low, PERCENT * result.fpr95.high], strict=True)))
    return pd.DataFrame(rows, columns=OOD_COLUMNS), notes
