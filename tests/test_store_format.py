"""The store's columnar format (format 2): one image list per distinct list, predictions aligned
by position, skipped images as null rows, format-1 units still read, and the README's DuckDB
queries over the files. Units come from the engine with ``GrayModel`` / ``GraySet`` stand-ins
(an image of gray level v is predicted as class v), so every prediction is known."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fakes import GrayModel, GraySet

from robustness.engine import EvalConfig, evaluate_unit
from robustness.report.analysis import PAIRED_METHOD, AnalysisOptions, report_from_store
from robustness.store import (
    CONFIDENCE_FIELDS,
    FORMAT_VERSION,
    IMAGES_DIR,
    RECORD_FIELDS,
    Store,
    Unit,
)

CFG = EvalConfig(batch_size=4, workers=0, device="cpu", precision="fp32", progress=False,
                 checkpoint_every=4)
README = Path(__file__).resolve().parents[1] / "README.md"
LEVELS = [10 + 3 * i for i in range(12)]


def gray(name, wrong=(), bad=(), baseline="imagenet"):
    """12 gray images; images in ``wrong`` carry label level + 1 (so every model misses them)."""
    labels = [lv + (i in wrong) for i, lv in enumerate(LEVELS)]
    return GraySet(name, LEVELS, labels, baseline=baseline, bad=bad)


def test_every_unit_on_the_same_images_shares_one_image_list_and_pairs_by_position(tmp_path):
    """3 models x (val, two corrupted copies with val's paths and labels): one image list file;
    predictions hold no paths; the gaps are paired position by position."""
    store = Store(tmp_path)
    sets = [gray("imagenet", baseline=None), gray("imagenet-c.fog.1"), gray("imagenet-c.fog.2")]
    for offset in (0, 1, 2):
        for ds in sets:
            evaluate_unit(GrayModel(f"gray.{offset}", offset), ds, store, CFG)
    lists = sorted((tmp_path / IMAGES_DIR).glob("*.parquet"))
    assert len(lists) == 1
    units = list(store.finished_units())
    assert len(units) == 9 and {u.meta["image_list"] for u in units} == {lists[0].stem}
    assert {u.meta["format"] for u in units} == {FORMAT_VERSION}
    images = pd.read_parquet(lists[0])
    assert images["relpath"].tolist() == sets[0].relpaths and images["label"].tolist() == LEVELS
    predictions = pd.read_parquet(units[0].dir.predictions)
    assert "relpath" not in predictions.columns and len(predictions) == 12
    _, result = report_from_store(store, AnalysisOptions(plots=False, n_resamples=50))
    assert set(result.gaps["method"]) == {PAIRED_METHOD}
    assert len(result.gaps) == 6 and (result.gaps["gap"] == 0.0).all()  # same predictions


def test_predictions_equal_the_hand_computed_ones_and_read_back_through_every_api(tmp_path):
    store = Store(tmp_path)
    ds = gray("imagenet", wrong=(1, 5), baseline=None)
    evaluate_unit(GrayModel("gray.a", 0), ds, store, CFG)
    unit = store.find("gray.a", "imagenet")
    table = pd.read_parquet(unit.dir.predictions)  # plain pandas, no robustness code
    assert table["top5_1"].tolist() == LEVELS
    assert table["correct1"].tolist() == [i not in (1, 5) for i in range(12)]
    assert set(table["model"]) == {"gray.a"} and set(table["test_set"]) == {"imagenet"}
    assert unit.counts() == {"n": 12, "k1": 10, "k5": 12, "k1_all": 10, "k5_all": 12}
    values, evaluated = unit.column("top5")
    assert values.shape == (12, 5) and values[:, 0].tolist() == LEVELS and evaluated.all()
    rec = unit.records()
    assert rec.relpath.tolist() == ds.relpaths and rec.index.tolist() == list(range(12))
    assert set(rec.to_arrays()) == set(RECORD_FIELDS) | set(CONFIDENCE_FIELDS)


def test_every_unit_stores_the_softmax_probabilities_of_its_top5_and_of_the_true_label(tmp_path):
    """GrayNet's logits are -|c - level|, so p(c) = exp(-|c - level|) / Z(level) with
    Z = 1 + sum_{k=1..level} e^-k + sum_{k=1..999-level} e^-k: the top class has 1/Z, the next
    two (level -+ 1) e^-1/Z; a label of level + 1 has probability e^-1/Z."""
    store = Store(tmp_path)
    evaluate_unit(GrayModel("gray.a", 0), gray("imagenet", wrong=(1, 5), baseline=None), store, CFG)
    unit = store.find("gray.a", "imagenet")
    assert unit.has_confidences and unit.meta["confidences"] is True
    z = np.array([1 + sum(np.exp(-k) for k in range(1, lv + 1)) + sum(np.exp(-k) for k in range(1, 1000 - lv))
                  for lv in LEVELS])
    prob5, evaluated = unit.column("prob5")
    assert prob5.dtype == np.float16 and evaluated.all()
    np.testing.assert_allclose(prob5[:, 0], 1 / z, rtol=1e-3)
    np.testing.assert_allclose(prob5[:, 1:3], np.exp(-1) / z[:, None].repeat(2, 1), rtol=1e-3)
    np.testing.assert_allclose(prob5[:, 3:5], np.exp(-2) / z[:, None].repeat(2, 1), rtol=1e-3)
    p_true, _ = unit.column("p_true")
    expected = np.where([i in (1, 5) for i in range(12)], np.exp(-1) / z, 1 / z)
    np.testing.assert_allclose(p_true, expected, rtol=1e-3)
    table = pd.read_parquet(unit.dir.predictions)
    assert [c for c in table.columns if c.startswith("prob_")] == [f"prob_{k}" for k in range(1, 6)]
    assert str(table["p_true"].dtype) == "float16"
    rec = unit.records()
    np.testing.assert_array_equal(rec.p_true, p_true)
    together, mask = unit.columns(("prob5", "p_true", "correct1"))  # one read, the same values
    np.testing.assert_array_equal(together["prob5"], prob5)
    np.testing.assert_array_equal(together["p_true"], p_true)
    assert together["correct1"].tolist() == unit.column("correct1")[0].tolist() and mask.all()


def test_a_unit_without_confidences_names_the_command_that_recomputes_it(tmp_path):
    relpaths = [f"c/img{i}.png" for i in range(4)]
    write_format_1_unit(tmp_path / "units" / "m" / "imagenet" / ("1" * 16), "m", "imagenet", relpaths,
                        [1, 0, 1, 1], None)
    unit = Store(tmp_path).find("m", "imagenet")
    assert not unit.has_confidences and unit.records().p_true is None
    with pytest.raises(ValueError, match="--upgrade-old-units"):
        unit.column("p_true")


def test_a_skipped_image_is_a_null_row_left_out_of_counts_records_and_sql(tmp_path):
    store = Store(tmp_path)
    evaluate_unit(GrayModel("gray.a", 0), gray("imagenet", wrong=(0,), bad=(3,), baseline=None), store,
                  EvalConfig(**{**CFG.__dict__, "skip_bad_images": True}))
    unit = store.find("gray.a", "imagenet")
    table = pd.read_parquet(unit.dir.predictions)
    assert len(table) == 12 and table["correct1"].isna().tolist() == [i == 3 for i in range(12)]
    assert unit.counts()["n"] == 11 and unit.counts()["k1"] == 10
    assert unit.meta["top1"] == pytest.approx(100 * 10 / 11)
    correct, evaluated = unit.column("correct1")
    assert evaluated.tolist() == [i != 3 for i in range(12)] and not correct[3]
    assert len(unit.records()) == 11 and 3 not in unit.records().index.tolist()
    duckdb = pytest.importorskip("duckdb")
    (top1, n), = duckdb.sql(f"SELECT 100 * avg(correct1::INTEGER), count(correct1) "
                            f"FROM '{unit.dir.predictions}'").fetchall()
    assert (top1, n) == (pytest.approx(100 * 10 / 11), 11)


def write_format_1_unit(unit_dir: Path, model: str, test_set: str, relpaths, correct, baseline):
    """A unit as format 1 wrote it: every field in records.npz, no counts in meta.json."""
    n = len(relpaths)
    correct = np.asarray(correct, dtype=bool)
    unit_dir.mkdir(parents=True)
    np.savez(unit_dir / "records.npz", index=np.arange(n), relpath=np.asarray(relpaths, dtype=str),
             label=np.zeros(n, dtype=np.int64), top5=np.zeros((n, 5), dtype=np.int16), correct1=correct,
             correct5=np.ones(n, dtype=bool), correct1_all=correct, correct5_all=np.ones(n, dtype=bool))
    meta = {"key": f"v1-{model}-{test_set}", "n": n, "top1": 100.0 * correct.mean(), "top5": 100.0,
            "top1_all": 100.0 * correct.mean(), "top5_all": 100.0, "finished_at": "2025-01-01T00:00:00",
            "model": {"name": model, "family": "fake", "kind": "cnn", "img_size": 8, "param_count": 1.0,
                      "crop_pct": 1.0, "interpolation": "bilinear"},
            "test_set": {"name": test_set, "baseline": baseline, "scoring": {}}}
    (unit_dir / "meta.json").write_text(json.dumps(meta))


def test_a_format_1_unit_still_reads_and_pairs_with_a_format_2_unit(tmp_path):
    """A baseline finished under format 1 and a shifted unit under format 2 on the same images
    give the same paired gap as two format-2 units."""
    relpaths = [f"n{i % 3:08d}/ILSVRC2012_val_{i + 1:08d}.JPEG" for i in range(40)]
    rng = np.random.default_rng(0)
    base, shift = rng.random(40) < 0.8, rng.random(40) < 0.6
    old = Store(tmp_path / "mixed")
    write_format_1_unit(old.unit("m", "imagenet", "1" * 16).root, "m", "imagenet", relpaths, base, None)
    unit = Unit(old.unit("m", "imagenet", "1" * 16).root)
    assert unit.format == 1 and unit.dir.finished()
    assert unit.counts() == {"n": 40, "k1": int(base.sum()), "k5": 40, "k1_all": int(base.sum()), "k5_all": 40}
    assert unit.column("correct1")[0].tolist() == base.tolist()
    assert unit.image_list().relpaths.tolist() == relpaths
    new = Store(tmp_path / "new")
    for store, fmt1 in ((old, True), (new, False)):
        for test_set, correct, baseline in (("imagenet", base, None), ("imagenet-c.fog.1", shift, "imagenet")):
            if fmt1 and test_set == "imagenet":
                continue
            n = len(relpaths)
            store.unit("m", test_set, "2" * 16).finish(
                {"index": np.arange(n), "relpath": np.asarray(relpaths), "label": np.zeros(n, dtype=np.int64),
                 "top5": np.zeros((n, 5), dtype=np.int16), "correct1": correct, "correct5": np.ones(n, bool),
                 "correct1_all": correct, "correct5_all": np.ones(n, bool)},
                {"key": f"{test_set}", "model": {"name": "m", "family": "fake", "kind": "cnn", "img_size": 8,
                                                 "param_count": 1.0, "crop_pct": 1.0, "interpolation": "bilinear"},
                 "test_set": {"name": test_set, "baseline": baseline, "scoring": {}},
                 "finished_at": "2026-01-01T00:00:00"})
    options = AnalysisOptions(plots=False, n_resamples=200)
    mixed = report_from_store(old, options)[1].gaps
    plain = report_from_store(new, options)[1].gaps
    assert mixed["method"].tolist() == [PAIRED_METHOD]
    pd.testing.assert_frame_equal(mixed, plain)
    assert mixed["gap"].iloc[0] == pytest.approx(100 * (shift.mean() - base.mean()))


def readme_sql() -> list[str]:
    """The SQL blocks of the README (run here as a user would, on a store built by the test)."""
    return re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_duckdb_queries_read_the_store_without_our_code(tmp_path, monkeypatch):
    """Top-1 per model and set from the per-image files equals the store's own counts, with a
    superseded unit (kept beside its replacement) left out; the per-image join gives each
    prediction its image's path and label."""
    duckdb = pytest.importorskip("duckdb")
    store = Store(tmp_path / "results")
    import dataclasses

    for offset in (0, 1):
        for ds in (gray("imagenet", wrong=(2, 7), baseline=None), gray("imagenet-c.fog.1", wrong=(4,))):
            evaluate_unit(GrayModel(f"gray.{offset}", offset), ds, store, CFG)
    old = GrayModel("gray.0", 0)  # new weights of gray.0 on the baseline: the old unit is superseded
    old.info = dataclasses.replace(old.info, weights_sha256="f" * 64, param_count=9.0)
    evaluate_unit(old, gray("imagenet", wrong=(2, 7, 8), baseline=None), store, CFG)
    assert sum(1 for _ in store.finished_units(include_superseded=True)) == 5
    expected = {(u.model, u.test_set): (100 * u.counts()["k1"] / u.counts()["n"], u.counts()["n"])
                for u in store.finished_units()}
    top1_query, join_query = readme_sql()[:2]
    monkeypatch.chdir(tmp_path)  # the queries name the folder `results`, as the README's commands
    got = {(m, t): (top1, n) for m, t, top1, n in duckdb.sql(top1_query).fetchall()}
    assert got.keys() == expected.keys()
    for key, (top1, n) in expected.items():
        assert got[key] == (pytest.approx(top1), n)
    rows = duckdb.sql(join_query).df()
    unit = store.find("gray.1", "imagenet-c.fog.1")
    mine = rows[(rows["model"] == "gray.1") & (rows["test_set"] == "imagenet-c.fog.1")]
    assert mine["relpath"].tolist() == unit.image_list().relpaths.tolist()
    assert mine["label"].tolist() == unit.image_list().labels.tolist()
    assert mine["top5_1"].tolist() == [lv + 1 for lv in LEVELS]


def test_a_format_1_unit_is_kept_until_asked_then_recomputed_in_place(tmp_path):
    """The key does not change with the file format, so a format-1 unit stays finished (never
    recomputed by a plain eval); ``upgrade_old_units`` recomputes it in its folder."""
    store = Store(tmp_path)
    ds = gray("imagenet", wrong=(1,), baseline=None)
    first = evaluate_unit(GrayModel("gray.a", 0), ds, store, CFG)
    unit = Unit(store.unit("gray.a", "imagenet", first.key).root)
    rec = unit.records()
    arrays = {f: getattr(rec, f) for f in RECORD_FIELDS}
    np.savez(unit.dir.records, **arrays)  # what format 1 wrote
    meta = {k: v for k, v in unit.meta.items() if k not in ("format", "image_list", "counts", "confidences")}
    unit.dir.predictions.unlink()
    unit.dir.meta.write_text(json.dumps(meta))
    assert Unit(unit.path).format == 1 and not Unit(unit.path).has_confidences
    again = evaluate_unit(GrayModel("gray.a", 0), ds, store, CFG)
    assert again.status == "cached" and again.key == first.key and Unit(unit.path).format == 1
    upgraded = evaluate_unit(GrayModel("gray.a", 0), ds, store,
                             EvalConfig(**{**CFG.__dict__, "upgrade_old_units": True}))
    assert upgraded.status == "done" and upgraded.key == first.key
    now = Unit(unit.path)
    assert now.format == FORMAT_VERSION and now.has_confidences and not now.dir.records.exists()
    assert now.records().correct1.tolist() == rec.correct1.tolist()
