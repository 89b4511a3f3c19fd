"""Tables rebuilt from the store, against a hand-computed example."""

from __future__ import annotations

import pandas as pd
import pytest
from fakes import GrayModel, GraySet
from scipy.stats import binomtest

from robustness.engine import EvalConfig, evaluate_unit
from robustness.report.tables import TIMM_COLUMNS, write_tables
from robustness.store import Store

CFG = EvalConfig(batch_size=8, workers=0, device="cpu", progress=False)


def build_store(tmp_path):
    """gray.a predicts the gray level, gray.b the level + 1.

    imagenet: 10 images, labels = level except images 1 and 5 (level + 1):
        a 8/10 = 80 %, b 2/10 = 20 %.
    imagenetv2-matched-frequency: 20 images, label = level + 1 when i % 4 == 0:
        a 15/20 = 75 %, b 5/20 = 25 %.
    """
    lv1 = [10 + 3 * i for i in range(10)]
    val = GraySet("imagenet", lv1, [v + (i in (1, 5)) for i, v in enumerate(lv1)], baseline=None)
    lv2 = [20 + 4 * i for i in range(20)]
    v2 = GraySet("imagenetv2-matched-frequency", lv2, [v + (i % 4 == 0) for i, v in enumerate(lv2)])
    store = Store(tmp_path / "res")
    for model in (GrayModel("gray.a", 0), GrayModel("gray.b", 1, family="other")):
        for ds in (val, v2):
            evaluate_unit(model, ds, store, CFG)
    return store


def test_per_test_set_tables_match_hand_computed_values(tmp_path):
    store = build_store(tmp_path)
    paths = write_tables(store, tmp_path / "res")
    names = sorted(p.name for p in paths)
    assert names == ["models.csv", "results-imagenet.csv", "results-imagenetv2-matched-frequency.csv",
                     "summary-all.csv", "summary-gray.csv", "summary-other.csv"]
    val = pd.read_csv(tmp_path / "res" / "results-imagenet.csv", keep_default_na=False)
    assert list(val.columns) == TIMM_COLUMNS + ["n", "top1_low", "top1_high", "n_skipped", "partial"]
    assert val["n_skipped"].tolist() == [0, 0] and val["partial"].tolist() == ["", ""]
    assert val["model"].tolist() == ["gray.a", "gray.b"]
    assert val["top1"].tolist() == [80.0, 20.0]
    assert val["top1_err"].tolist() == [20.0, 80.0]
    assert val["top5"].tolist() == [100.0, 100.0]
    assert val["param_count"].tolist() == [1.5, 2.5]

    v2 = pd.read_csv(tmp_path / "res" / "results-imagenetv2-matched-frequency.csv")
    assert list(v2.columns) == TIMM_COLUMNS + ["top1_diff", "top5_diff", "rank_diff", "n", "top1_low",
                                               "top1_high", "n_skipped", "partial"]
    a, b = v2.iloc[0], v2.iloc[1]
    assert (a["model"], a["top1"], a["top1_diff"], a["rank_diff"], a["n"]) == ("gray.a", 75.0, -5.0, 0, 20)
    assert (b["model"], b["top1"], b["top1_diff"], b["rank_diff"]) == ("gray.b", 25.0, 5.0, 0)
    exact = binomtest(15, 20).proportion_ci(confidence_level=0.95, method="exact")
    assert a["top1_low"] == pytest.approx(100 * exact.low, abs=1e-3)
    assert a["top1_high"] == pytest.approx(100 * exact.high, abs=1e-3)


def test_summary_has_top1_and_gap_per_set(tmp_path):
    store = build_store(tmp_path)
    write_tables(store, tmp_path / "res")
    s = pd.read_csv(tmp_path / "res" / "summary-all.csv").set_index("model")
    assert s.loc["gray.a", "imagenet:top1"] == 80.0
    assert s.loc["gray.a", "imagenetv2-matched-frequency:gap"] == -5.0
    assert s.loc["gray.b", "imagenetv2-matched-frequency:gap"] == 5.0
    assert "imagenet:gap" not in s.columns
    fam = pd.read_csv(tmp_path / "res" / "summary-other.csv")
    assert fam["model"].tolist() == ["gray.b"]


def test_tables_are_rebuilt_from_the_store_alone(tmp_path):
    store = build_store(tmp_path)
    write_tables(store, tmp_path / "res")
    first = (tmp_path / "res" / "results-imagenetv2-matched-frequency.csv").read_bytes()
    (tmp_path / "res" / "results-imagenetv2-matched-frequency.csv").unlink()
    write_tables(Store(tmp_path / "res"), tmp_path / "res")
    assert (tmp_path / "res" / "results-imagenetv2-matched-frequency.csv").read_bytes() == first
