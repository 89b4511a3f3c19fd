"""calibration.csv and ood.csv from the store, against hand-computed cases and scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fakes import GrayModel, GraySet

from robustness.cli import main
from robustness.engine import EvalConfig, evaluate_unit
from robustness.report.analysis import AnalysisOptions, report_from_store
from robustness.report.calibration import CALIBRATION_COLUMNS
from robustness.report.ood import OOD_COLUMNS
from robustness.store import Store

CFG = EvalConfig(batch_size=4, workers=0, device="cpu", precision="fp32", progress=False)
LEVELS = [10 + 3 * i for i in range(12)]


def z_of(level: int) -> float:
    """GrayNet's softmax normaliser: logits -|c - level| over c = 0..999."""
    return 1 + sum(np.exp(-k) for k in range(1, level + 1)) + sum(np.exp(-k) for k in range(1, 1000 - level))


def test_calibration_rows_per_unit_and_per_severity_equal_hand_computed_values(tmp_path):
    """Every image's confidence is 1/Z(level), about 0.462, one equal-width bin (6 of 15): the ECE
    is |accuracy - mean confidence|; NLL is the mean of -log p_true; the pooled severity row
    holds both corruptions' images."""
    store = Store(tmp_path)
    model = GrayModel("gray.a", 0)
    wrong = {"imagenet": (1, 5), "imagenet-c.fog.1": (0, 1, 2), "imagenet-c.snow.1": (3,)}
    for name, bad in wrong.items():
        labels = [lv + (i in bad) for i, lv in enumerate(LEVELS)]
        evaluate_unit(model, GraySet(name, LEVELS, labels, baseline=None if name == "imagenet" else "imagenet"),
                      store, CFG)
    _, result = report_from_store(store, AnalysisOptions(plots=False, n_resamples=50))
    table = result.calibration.set_index("test_set")
    assert list(result.calibration.columns) == CALIBRATION_COLUMNS
    conf = np.array([1 / z_of(lv) for lv in LEVELS])
    for name, bad in wrong.items():
        correct = np.array([i not in bad for i in range(12)])
        p_true = np.where(correct, conf, np.exp(-1) * conf)
        row = table.loc[name]
        assert row["n"] == 12 and row["accuracy"] == pytest.approx(100 * correct.mean())
        assert row["ece"] == pytest.approx(100 * abs(correct.mean() - conf.mean()), abs=0.02)
        assert row["nll"] == pytest.approx(-np.log(p_true).mean(), abs=2e-3)
        assert row["brier_min"] <= row["brier"] <= row["brier_max"]
    pooled = table.loc["imagenet-c.*.1"]
    assert (pooled["group"], pooled["severity"], pooled["n"]) == ("imagenet-c", 1, 24)
    assert pooled["accuracy"] == pytest.approx(100 * 20 / 24)
    assert np.isnan(table.loc["imagenet", "ece_low"])  # no resamples: point estimates
    assert any("point estimates only" in n for n in result.notes)
    assert set(result.reliability) == {"gray.a"}
    assert [p[0] for p in result.reliability["gray.a"]] == ["imagenet", "imagenet-c.*.1"]


def ood_unit(store, model, test_set, confidence):
    n = len(confidence)
    prob5 = np.zeros((n, 5), dtype=np.float16)
    prob5[:, 0] = confidence
    arrays = {"index": np.arange(n), "relpath": np.array([f"c/{test_set}{i}.jpg" for i in range(n)]),
              "label": np.zeros(n, dtype=np.int64), "top5": np.zeros((n, 5), dtype=np.int16),
              "correct1": np.zeros(n, bool), "correct5": np.zeros(n, bool), "correct1_all": np.zeros(n, bool),
              "correct5_all": np.zeros(n, bool), "prob5": prob5, "p_true": np.full(n, 0.01, np.float16)}
    meta = {"key": f"{model}-{test_set}", "finished_at": "2026-01-01",
            "model": {"name": model, "family": "fake", "kind": "cnn", "img_size": 8, "param_count": 1.0,
                      "crop_pct": 1.0, "interpolation": "bilinear"},
            "test_set": {"name": test_set, "baseline": None, "scoring": {}}}
    store.unit(model, test_set, f"{model}{test_set}".encode().hex()[:16]).finish(arrays, meta)


def test_ood_table_scores_imagenet_o_against_its_in_distribution_set_like_scikit_learn(tmp_path):
    """Anomaly score -max softmax, OOD images positive (Hendrycks et al. 2021)."""
    sklearn = pytest.importorskip("sklearn.metrics")
    store = Store(tmp_path / "res")
    rng = np.random.default_rng(0)
    conf_in = rng.uniform(0.3, 1.0, 60).astype(np.float16)
    conf_out = rng.uniform(0.1, 0.8, 20).astype(np.float16)
    ood_unit(store, "m", "imagenet-o-clean", conf_in)
    ood_unit(store, "m", "imagenet-o", conf_out)
    _, result = report_from_store(store, AnalysisOptions(plots=False, ood_resamples=200))
    assert list(result.ood.columns) == OOD_COLUMNS
    (row,) = result.ood.itertuples(index=False)
    y = np.r_[np.zeros(60), np.ones(20)]
    scores = -np.r_[conf_in, conf_out].astype(np.float64)
    assert (row.ood_set, row.in_distribution, row.score, row.n_in, row.n_out) == (
        "imagenet-o", "imagenet-o-clean", "msp", 60, 20)
    assert row.auroc == pytest.approx(100 * sklearn.roc_auc_score(y, scores))
    assert row.aupr == pytest.approx(100 * sklearn.average_precision_score(y, scores))
    assert row.aupr_chance == pytest.approx(25.0)
    assert row.aupr_low <= row.aupr <= row.aupr_high
    # recall 0.95 (19 of 20 OOD images) holds for every threshold above the lowest OOD score
    # up to the 2nd-lowest; the reference's rule takes the lowest of them, so the flagged
    # in-distribution images are those scoring above the lowest OOD score
    lowest, second = np.sort(scores[60:])[:2]
    assert lowest < second and np.mean(scores[:60] > lowest) > np.mean(scores[:60] >= second)
    assert row.fpr95 == pytest.approx(100 * np.mean(scores[:60] > lowest))
    assert row.fpr95_low <= row.fpr95 <= row.fpr95_high


def test_report_writes_calibration_and_ood_csvs_and_their_plots(tmp_path, capsys):
    out = tmp_path / "res"
    store = Store(out)
    ood_unit(store, "m", "imagenet-o-clean", np.linspace(0.5, 1.0, 30))
    ood_unit(store, "m", "imagenet-o", np.linspace(0.2, 0.7, 10))
    assert main(["report", "--out", str(out), "--calibration-resamples", "30", "--ood-resamples", "50"]) == 0
    calibration = pd.read_csv(out / "calibration.csv")
    assert set(calibration["test_set"]) == {"imagenet-o", "imagenet-o-clean"}
    assert (calibration["ece_low"] <= calibration["ece"]).all() and (calibration["ece"] <= calibration["ece_high"]).all()
    assert len(pd.read_csv(out / "ood.csv")) == 1
    assert main(["report", "--out", str(out), "--ood-score", "energy", "--no-plots"]) == 0
    assert "needs the unit's logits" in (out / "notes.txt").read_text()
    assert main(["report", "--out", str(out), "--calibration-resamples", "-1"]) == 2
