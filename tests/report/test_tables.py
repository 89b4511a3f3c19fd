"""Tables rebuilt from the store, against a hand-computed example."""

from __future__ import annotations

import pandas as pd
import pytest
from fakes import GrayModel, GraySet
from scipy.stats import binomtest

from robustness.engine import EvalConfig, evaluate_unit
from robustness.errors import UserInputError
from robustness.report.tables import TIMM_COLUMNS, write_tables
from robustness.report.tables import (
    test_set_table as table_for,  # not a test: pytest collects test_*
)
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
    assert list(v2.columns) == TIMM_COLUMNS + ["top1_diff", "top5_diff", "rank_diff", "top5_diff_exact",
                                               "rank_diff_exact", "n", "top1_low", "top1_high",
                                               "n_skipped", "partial"]
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


def _units(rows):
    """A hand-built units frame (what units_frame reads from a store): k1/k5 correct of n."""
    out = pd.DataFrame(rows, columns=["model", "test_set", "baseline", "n", "k1", "k5"])
    return out.assign(img_size=224, param_count=1.0, crop_pct=0.875, interpolation="bicubic",
                      k1_all=out["k1"], k5_all=out["k5"], subset=False, n_skipped=0, partial="")


def test_real_table_gets_timm_diff_columns_against_val():
    # timm's results-imagenet-real.csv is differenced against results-imagenet.csv although
    # ReaL is no shift of val; ours too. val: p 60 %, q 50 %; ReaL: p 62 %, q 65 % of 100.
    units = _units([("p", "imagenet", None, 100, 60, 90), ("q", "imagenet", None, 100, 50, 80),
                    ("p", "imagenet-real", None, 100, 62, 91), ("q", "imagenet-real", None, 100, 65, 85)])
    real = table_for(units, "imagenet-real").set_index("model")
    assert real.loc["q", "top1_diff"] == pytest.approx(15.0)
    assert real.loc["q", "top5_diff"] == pytest.approx(5.0) == real.loc["q", "top5_diff_exact"]
    assert real.loc["q", "rank_diff"] == 1 and real.loc["p", "rank_diff"] == -1
    assert "top1_diff" not in table_for(units, "imagenet").columns


def test_diff_rule_option_puts_exact_values_in_timm_columns():
    # val: a and b tie on top1; sorted b (top5 95) before a (90); timm's run order a, b
    units = _units([("a", "imagenet", None, 100, 70, 90), ("b", "imagenet", None, 100, 70, 95),
                    ("a", "imagenetv2-matched-frequency", "imagenet", 100, 60, 80),
                    ("b", "imagenetv2-matched-frequency", "imagenet", 100, 50, 85)])
    timm = table_for(units, "imagenetv2-matched-frequency").set_index("model")
    exact = table_for(units, "imagenetv2-matched-frequency", diff_rule="exact").set_index("model")
    # a is ranked 1 in the sorted val table; timm reads the run file's row 1, which is b
    assert timm.loc["a", "top5_diff"] == pytest.approx(80.0 - 95.0)
    assert timm.loc["a", "top5_diff_exact"] == exact.loc["a", "top5_diff"] == pytest.approx(80.0 - 90.0)
    with pytest.raises(UserInputError, match="diff rule"):
        table_for(units, "imagenetv2-matched-frequency", diff_rule="nearest")


def test_updating_the_tables_of_the_units_a_run_made_equals_rewriting_them_all(tmp_path):
    """``eval`` updates only the tables its units change: results of its sets and of the sets
    differenced against them (rank_diff depends on the whole baseline table), its models' rows
    in the summaries and models.csv. The files must equal a full rewrite from the store."""
    import numpy as np
    from demo_kind_store import MF, N_MF, N_VAL, add_unit, build_demo_kind_store

    store = build_demo_kind_store(tmp_path / "store", seed=1)
    incremental = tmp_path / "incremental"
    write_tables(store, incremental)

    def same_as_full(name):
        full = tmp_path / name
        write_tables(store, full)
        files = sorted(p.name for p in full.iterdir())
        assert files == sorted(p.name for p in incremental.iterdir())
        for file in files:
            assert (incremental / file).read_text() == (full / file).read_text(), file

    rng = np.random.default_rng(7)
    # a recomputed unit of an existing model on a shifted set: nothing depends on that set
    add_unit(store, "demo-vit", MF, [f"n{i % 10:08d}/mf_{i:05d}.jpeg" for i in range(N_MF)],
             rng.random(N_MF) < 0.4, "imagenet", "vit", "imagenet-trained", key="recomputed")
    written = write_tables(store, incremental, models=["demo-vit"], test_sets=[MF])
    assert sorted(p.name for p in written) == sorted([
        f"results-{MF}.csv", "summary-vit.csv", "summary-all.csv", "models.csv"])
    same_as_full("full-1")
    # a new model of an existing family on the baseline: every set differenced against it changes
    val = [f"n{i % 10:08d}/ILSVRC2012_val_{i + 1:08d}.JPEG" for i in range(N_VAL)]
    add_unit(store, "demo-resnet-2", "imagenet", val, rng.random(N_VAL) < 0.7, None, "resnet",
             "imagenet-trained")
    written = write_tables(store, incremental, models=["demo-resnet-2"], test_sets=["imagenet"])
    assert {"results-imagenet.csv", f"results-{MF}.csv", "results-imagenet-c.fog.3.csv",
            "summary-resnet.csv"} <= {p.name for p in written}
    assert "summary-vit.csv" not in {p.name for p in written}
    same_as_full("full-2")
    assert "demo-resnet-2" in set(pd.read_csv(incremental / "summary-all.csv")["model"])


def _counts_unit(store, model, test_set, baseline, n_top1, n_top5, n=10):
    import numpy as np

    correct1 = np.arange(n) < n_top1
    correct5 = np.arange(n) < n_top5
    arrays = {"index": np.arange(n), "relpath": np.array([f"c/{test_set}{i}.jpg" for i in range(n)]),
              "label": np.zeros(n, dtype=np.int64), "top5": np.zeros((n, 5), dtype=np.int16),
              "correct1": correct1, "correct5": correct5, "correct1_all": correct1, "correct5_all": correct5}
    meta = {"key": f"{model}-{test_set}", "finished_at": "2026-01-01",
            "model": {"name": model, "family": "fake", "kind": "cnn", "img_size": 224, "param_count": 1.0,
                      "crop_pct": 0.875, "interpolation": "bicubic"},
            "test_set": {"name": test_set, "baseline": baseline, "scoring": {}}}
    store.unit(model, test_set, f"{model}{test_set}".encode().hex()[:16]).finish(arrays, meta)


def test_diff_rule_from_the_command_line_at_a_tie(tmp_path, capsys):
    """a and b tie on val top-1 (50%); b has the better val top-5 (90 vs 80), so it ranks first
    there, while timm's files list a first (run order). On the new set a has 40/70, b 30/60.
    timm's rule subtracts, for a (its base rank 1), the base file's row 1 = b's top-5: 70 - 90;
    the exact difference is 70 - 80. --diff-rule exact writes the exact values in timm's columns."""
    from robustness.cli import main

    out = tmp_path / "res"
    store = Store(out)
    _counts_unit(store, "a", "imagenet", None, 5, 8)
    _counts_unit(store, "b", "imagenet", None, 5, 9)
    _counts_unit(store, "a", "imagenetv2-matched-frequency", "imagenet", 4, 7)
    _counts_unit(store, "b", "imagenetv2-matched-frequency", "imagenet", 3, 6)
    assert main(["report", "--out", str(out), "--no-plots"]) == 0
    timm = pd.read_csv(out / "results-imagenetv2-matched-frequency.csv").set_index("model")
    assert (timm.loc["a", "top5_diff"], timm.loc["a", "top5_diff_exact"]) == (-20.0, -10.0)
    assert (timm.loc["b", "top5_diff"], timm.loc["b", "top5_diff_exact"]) == (-20.0, -30.0)
    assert (timm.loc["a", "rank_diff"], timm.loc["a", "rank_diff_exact"]) == (1, 1)
    assert main(["report", "--out", str(out), "--no-plots", "--diff-rule", "exact"]) == 0
    exact = pd.read_csv(out / "results-imagenetv2-matched-frequency.csv").set_index("model")
    assert exact["top5_diff"].tolist() == exact["top5_diff_exact"].tolist() == [-10.0, -30.0]
    with pytest.raises(SystemExit) as exc:  # argparse refuses an unknown rule, listing the two
        main(["report", "--out", str(out), "--diff-rule", "nearest"])
    assert exc.value.code == 2 and "choose from" in capsys.readouterr().err
