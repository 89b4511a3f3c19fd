"""The paired-gap cache (``OUT/cache/gaps``) and the report split by set group (``--gaps-only``).

A model's gap row depends only on its own two units and the settings, so rows are cached under
the two unit keys and reused; anything else (a recomputed unit, other settings) recomputes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from demo_kind_store import N_VAL, add_unit, build_demo_kind_store

from robustness.cli import main
from robustness.report.analysis import GAP_CACHE_DIR, AnalysisOptions, report_from_store

OPTIONS = AnalysisOptions(plots=False, n_resamples=200)


def test_a_second_report_reuses_the_cached_rows_and_recomputes_a_recomputed_unit(tmp_path):
    store = build_demo_kind_store(tmp_path / "res", seed=3)
    first = report_from_store(store, OPTIONS)[1].gaps
    cached = sorted((tmp_path / "res" / GAP_CACHE_DIR).glob("*.parquet"))
    assert len(cached) == first["shift"].nunique()
    # mark every cached row: a report that reads the cache shows the mark
    for path in cached:
        table = pd.read_parquet(path)
        table["gap_low"] = -99.0
        table.to_parquet(path, index=False)
    second = report_from_store(store, OPTIONS)[1].gaps
    assert (second["gap_low"] == -99.0).all()
    pd.testing.assert_frame_equal(second.drop(columns="gap_low"), first.drop(columns="gap_low"))
    # other settings do not match the cached rows
    other = report_from_store(store, AnalysisOptions(plots=False, n_resamples=150))[1].gaps
    assert (other["gap_low"] != -99.0).all()
    # demo-vit's fog-3 unit recomputed: its row only is computed again, with its new predictions
    rng = np.random.default_rng(1)
    val = [f"n{i % 10:08d}/ILSVRC2012_val_{i + 1:08d}.JPEG" for i in range(N_VAL)]
    add_unit(store, "demo-vit", "imagenet-c.fog.3", val, rng.random(N_VAL) < 0.2, "imagenet", "vit",
             "imagenet-trained", key="again")
    third = report_from_store(store, OPTIONS)[1].gaps.set_index(["shift", "model"])
    row = third.loc[("imagenet-c.fog.3", "demo-vit")]
    assert row["gap_low"] != -99.0 and row["shift_top1"] < 30.0
    assert (third.drop(index=("imagenet-c.fog.3", "demo-vit"))["gap_low"] == -99.0).all()
    fresh = report_from_store(store, AnalysisOptions(plots=False, n_resamples=200, gap_cache=False))[1]
    assert fresh.gaps.set_index(["shift", "model"]).loc[("imagenet-c.fog.3", "demo-vit")].equals(row)


def test_a_report_split_by_set_group_equals_one_report(tmp_path, capsys):
    out = tmp_path / "res"
    build_demo_kind_store(out, seed=4)
    assert main(["report", "--out", str(out), "--no-plots", "--no-gap-cache", "--resamples", "300"]) == 0
    whole = pd.read_csv(out / "gaps.csv")
    assert not (out / GAP_CACHE_DIR).exists()
    for group in ("imagenet-c.fog", "imagenet-c.gaussian_noise", "imagenetv2-*"):
        assert main(["report", "--out", str(out), "--gaps-only", group, "--resamples", "300"]) == 0
    printed = capsys.readouterr().out
    assert "gap rows of 5 shifted set(s)" in printed and "gap rows of 1 shifted set(s)" in printed
    assert not (out / "gaps.csv").stat().st_mtime_ns == 0
    assert len(list((out / GAP_CACHE_DIR).glob("*.parquet"))) == whole["shift"].nunique()
    (out / "gaps.csv").unlink()
    assert main(["report", "--out", str(out), "--no-plots", "--resamples", "300"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "gaps.csv"), whole)


def test_gaps_only_naming_no_set_of_the_store_is_a_user_error(tmp_path, capsys):
    out = tmp_path / "res"
    build_demo_kind_store(out, seed=0, corruptions=False)
    assert main(["report", "--out", str(out), "--gaps-only", "imagenet-r"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--gaps-only imagenet-r: no test set of the store" in err[0]
