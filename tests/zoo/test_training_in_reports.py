"""Zero-shot models in the reports: ``training`` travels from ``ModelInfo`` to the tables, and the
accuracy-on-the-line fit is made on the ImageNet-trained models unless ``fit_models`` says otherwise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from robustness.report.analysis import AnalysisOptions, fits_tables

BASE = {"a": 60.0, "b": 70.0, "c": 75.0, "d": 80.0, "clip": 63.0}
NEW = {"a": 48.0, "b": 57.0, "c": 63.0, "d": 70.0, "clip": 60.0}


def frame(training: bool) -> pd.DataFrame:
    rows = []
    for m in BASE:
        for ts, top1, base in (("imagenet", BASE[m], None), ("imagenet-r", NEW[m], "imagenet")):
            row = {"model": m, "test_set": ts, "baseline": base, "top1": top1, "n": 1000.0}
            if training:
                row["training"] = "zero-shot" if m == "clip" else "imagenet-trained"
            rows.append(row)
    return pd.DataFrame(rows)


def probit_fit(models):
    x = stats.norm.ppf(np.array([BASE[m] for m in models]) / 100)
    y = stats.norm.ppf(np.array([NEW[m] for m in models]) / 100)
    return np.polyfit(x, y, 1)


def test_zero_shot_models_are_scored_against_the_line_of_the_imagenet_trained() -> None:
    opts = AnalysisOptions(scales=("probit",), n_bootstrap=0)
    fits, er, _, notes = fits_tables(frame(training=True), opts)
    slope, intercept = probit_fit(["a", "b", "c", "d"])
    assert fits.iloc[0]["n_models"] == 4 and fits.iloc[0]["slope"] == pytest.approx(slope)
    er = er.set_index("model")
    assert er.loc["clip", "training"] == "zero-shot" and not er.loc["clip", "in_fit"]
    assert er.loc["a", "training"] == "imagenet-trained" and er.loc["a", "in_fit"]
    predicted = stats.norm.cdf(intercept + slope * stats.norm.ppf(0.63))
    assert er.loc["clip", "er"] == pytest.approx(100 * (0.60 - predicted)) and er.loc["clip", "er"] > 5
    assert set(er["baseline_fit_set"]) == {"imagenet-trained"}
    assert any("zero-shot model(s) left out" in n and "clip" in n for n in notes)


def test_fit_models_selects_explicitly_and_frames_without_training_fit_everyone() -> None:
    _, er, _, _ = fits_tables(frame(training=True), AnalysisOptions(scales=("probit",), n_bootstrap=0,
                                                                  fit_models="*"))
    assert er["in_fit"].all() and set(er["baseline_fit_set"]) == {"*"}
    fits, er, _, _ = fits_tables(frame(training=False), AnalysisOptions(scales=("probit",), n_bootstrap=0))
    assert fits.iloc[0]["n_models"] == 5 and set(er["training"]) == {"imagenet-trained"}
    assert set(er["baseline_fit_set"]) == {"all"}
