"""What each report figure shows, computed once from the analysis for the static plots
(:mod:`robustness.report.plots`) and the HTML report (:mod:`robustness.report.html`).

Accuracies in a :class:`LineView` are fractions in [0, 1] (the plot functions' unit);
effective robustness and intervals are percent, as in the CSV tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..stats.fits import FitResult
from .analysis import (
    Analysis,
    AnalysisOptions,
    fit_selection,
    group_member,
    model_trainings,
    paired_accuracies,
    shift_pairs,
    with_group_means,
)

#: at most this many models are named on a static accuracy-on-the-line plot
MAX_LABELLED_MODELS = 20


@dataclass(frozen=True)
class LineView:
    """One accuracy-on-the-line figure: a shift against its baseline on ``scale`` axes."""

    shift: str
    baseline: str
    scale: str
    models: tuple[str, ...]
    acc_orig: np.ndarray  # fraction, per model, on the baseline
    acc_new: np.ndarray  # fraction, per model, on the shift
    n_orig: int  # images behind the baseline accuracies (smallest over models)
    n_new: int
    fit: FitResult
    in_fit: np.ndarray  # bool per model: the line was fitted on it
    kinds: tuple[str, ...] | None  # model kind per model, when the tables have one
    er: np.ndarray  # effective robustness per model, percentage points (NaN when absent)

    def plot_arguments(self) -> dict:
        """Keyword arguments of ``plots.plot_accuracy_on_the_line`` (and ``..._figure``)."""
        return {
            "acc_orig": self.acc_orig, "acc_new": self.acc_new, "n_orig": self.n_orig,
            "n_new": self.n_new, "kind": self.scale, "fit": self.fit,
            "labels": list(self.models) if len(self.models) <= MAX_LABELLED_MODELS else None,
            "xlabel": f"{self.baseline} top-1", "ylabel": f"{self.shift} top-1",
            "excluded": list(~self.in_fit), "kinds": list(self.kinds) if self.kinds else None,
        }


def model_kinds(acc: pd.DataFrame, result: Analysis) -> dict[str, str]:
    """Each model's training kind (``imagenet-trained``, ``zero-shot``) from the ``training``
    column of the effective-robustness table or of the accuracy frame; empty when neither
    has one (published tables)."""
    for frame in (result.effective_robustness, acc):
        if "training" in frame.columns:
            rows = frame.dropna(subset=["training"]).drop_duplicates("model")
            return dict(zip(rows["model"], rows["training"].astype(str), strict=True))
    return {}


def line_views(acc: pd.DataFrame, result: Analysis,
               options: AnalysisOptions | None = None) -> tuple[list[LineView], list[str]]:
    """The accuracy-on-the-line figures of a report (every shift but single set-group members;
    the group means included) on ``options.plot_scale`` axes, and notes on those skipped."""
    opts = options or AnalysisOptions()
    views, notes = [], []
    acc_c, _ = with_group_means(acc)
    kinds = model_kinds(acc, result)
    er = result.effective_robustness
    for shift, baseline in shift_pairs(acc_c):
        if group_member(shift) is not None:
            continue
        fit = result.fit_results.get((shift, opts.plot_scale))
        both = paired_accuracies(acc_c, shift, baseline)
        if fit is None or both[["n_baseline", "n_shift"]].isna().any().any():
            notes.append(f"plot accuracy_on_the_line_{shift}: skipped (no fit on "
                         f"{opts.plot_scale} axes, or unknown image counts)")
            continue
        models = tuple(both["model"])
        in_fit = set(fit_selection(list(models), model_trainings(acc), opts.fit_models))
        er_here = (er[(er["shift"] == shift) & (er["scale"] == opts.plot_scale)]
                   .set_index("model")["er"] if not er.empty else pd.Series(dtype=float))
        views.append(LineView(
            shift=shift, baseline=baseline, scale=opts.plot_scale, models=models,
            acc_orig=both["baseline_top1"].to_numpy(float) / 100.0,
            acc_new=both["shift_top1"].to_numpy(float) / 100.0,
            n_orig=int(both["n_baseline"].min()), n_new=int(both["n_shift"].min()), fit=fit,
            in_fit=np.array([m in in_fit for m in models]),
            kinds=tuple(kinds.get(m, "unknown") for m in models) if kinds else None,
            er=np.array([float(er_here.get(m, np.nan)) for m in models])))
    return views, notes
