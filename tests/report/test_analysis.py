"""Report tables from the store: gaps (paired and independent), fits, effective robustness, mCE.

Stores are written unit by unit with chosen per-image correctness, so every number is
hand-computable; references are scipy's binomial test, numpy's polyfit and the AlexNet
table itself (AlexNet's own errors give CE = 100%).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from robustness.cli import main
from robustness.report.analysis import (
    CORRUPTION_COLUMNS,
    FIT_COLUMNS,
    GAP_COLUMNS,
    IMAGENET_C_MEAN,
    INDEPENDENT_METHOD,
    PAIRED_METHOD,
    AnalysisOptions,
    corruption_table,
    fits_tables,
    report_from_store,
    with_group_means,
)
from robustness.report.pairing import match_images
from robustness.stats.corruption import (
    ALEXNET_CLEAN_ERROR,
    ALL_CORRUPTIONS,
    COMMON_CORRUPTIONS,
    alexnet_errors,
)
from robustness.stats.intervals import paired_bootstrap_difference
from robustness.stats.paired import mcnemar_exact
from robustness.store import Store


def add_unit(store: Store, model: str, test_set: str, relpaths, correct, baseline="imagenet"):
    """Write one finished unit whose top-1 correctness is ``correct`` (bool per image)."""
    correct = np.asarray(correct, dtype=bool)
    n = correct.size
    arrays = {
        "index": np.arange(n, dtype=np.int64),
        "relpath": np.asarray(relpaths, dtype=str),
        "label": np.zeros(n, dtype=np.int64),
        "top5": np.zeros((n, 5), dtype=np.int16),
        "correct1": correct,
        "correct5": np.ones(n, dtype=bool),
        "correct1_all": correct,
        "correct5_all": np.ones(n, dtype=bool),
    }
    meta = {
        "key": f"{model}-{test_set}",
        "model": {"name": model, "family": "fake", "kind": "cnn", "img_size": 8,
                  "param_count": 1.0, "crop_pct": 1.0, "interpolation": "bilinear"},
        "test_set": {"name": test_set, "baseline": baseline, "scoring": {}},
        "n": n,
        "top1": 100.0 * correct.mean(),
        "finished_at": "2026-01-01T00:00:00",
    }
    store.unit(model, test_set, f"{model}{test_set}".encode().hex().ljust(16, "0")).finish(
        arrays, meta)


def val_names(n: int) -> list[str]:
    return [f"n{i % 7:08d}/ILSVRC2012_val_{i + 1:08d}.JPEG" for i in range(n)]


def paired_pattern(both_right: int, only_base: int, only_shift: int, both_wrong: int):
    """Per-image correctness (baseline, shift) with the given 2x2 counts."""
    base = [1] * both_right + [1] * only_base + [0] * only_shift + [0] * both_wrong
    shift = [1] * both_right + [0] * only_base + [1] * only_shift + [0] * both_wrong
    return np.array(base, bool), np.array(shift, bool)


def newcombe_by_hand(k1, n1, k2, n2, z=1.959963984540054):
    """Newcombe (1998) method 10 for p1 - p2, written from the paper's formulas."""
    def wilson(k, n):
        p = k / n
        centre = (2 * n * p + z**2) / (2 * (n + z**2))
        half = z * np.sqrt(z**2 + 4 * n * p * (1 - p)) / (2 * (n + z**2))
        return p, centre - half, centre + half

    p1, l1, u1 = wilson(k1, n1)
    p2, l2, u2 = wilson(k2, n2)
    d = p1 - p2
    return d, d - np.hypot(p1 - l1, u2 - p2), d + np.hypot(u1 - p1, p2 - l2)


def test_match_images_pairs_imagenet_c_names_with_val_names():
    val = ["ILSVRC2012_val_00000003.JPEG", "ILSVRC2012_val_00000001.JPEG",
           "ILSVRC2012_val_00000002.JPEG"]
    corrupted = ["n01/ILSVRC2012_val_00000001.JPEG", "n02/ILSVRC2012_val_00000002.JPEG"]
    idx_shift, idx_base = match_images(corrupted, val)
    assert idx_shift.tolist() == [0, 1] and idx_base.tolist() == [1, 2]
    assert match_images(["a/x.jpeg", "b/y.jpeg"], val) is None  # ImageNetV2-like: other images
    assert match_images(["a/s_0.JPEG", "b/s_0.JPEG"], ["s_0.JPEG"]) is None  # names not unique


def test_paired_gap_is_the_mcnemar_and_bootstrap_of_the_shared_images(tmp_path):
    """200 images: both right 120, only clean right 30, only corrupted right 10, both wrong 40.

    clean 150/200 = 75 %, corrupted 130/200 = 65 %, gap -10 points; exact McNemar is the
    binomial test of 10 out of 40 at 1/2. The corrupted unit stores its images in reverse
    order, so pairing must go by file name.
    """
    store = Store(tmp_path / "res")
    base, shift = paired_pattern(120, 30, 10, 40)
    names = val_names(200)
    add_unit(store, "m", "imagenet", names, base, baseline=None)
    add_unit(store, "m", "imagenet-c.fog.3", names[::-1], shift[::-1])
    _, result = report_from_store(store, AnalysisOptions(plots=False))
    row = result.gaps.set_index("shift").loc["imagenet-c.fog.3"]
    assert list(result.gaps.columns) == GAP_COLUMNS
    assert row["method"] == PAIRED_METHOD
    assert (row["baseline_top1"], row["shift_top1"]) == (75.0, 65.0)
    assert row["gap"] == pytest.approx(-10.0)
    assert row["p_value"] == pytest.approx(stats.binomtest(10, 40, 0.5).pvalue, rel=1e-9)
    assert (row["n_baseline"], row["n_shift"]) == (200, 200)
    # normal approximation of the paired difference: se = sqrt(((b + c)/n - d^2) / n)
    se = 100 * np.sqrt((40 / 200 - 0.1**2) / 200)
    assert row["gap_low"] == pytest.approx(-10 - 1.96 * se, abs=1.0)
    assert row["gap_high"] == pytest.approx(-10 + 1.96 * se, abs=1.0)


def test_paired_gaps_of_several_models_equal_the_stats_paired_bootstrap(tmp_path):
    """The store report bootstraps all models at once; per model that must be exactly the
    stats module's paired bootstrap with the same seed (and its exact McNemar test)."""
    store = Store(tmp_path / "res")
    names = val_names(300)
    rng = np.random.default_rng(5)
    expected = {}
    for model, (p_clean, p_keep) in {"a": (0.8, 0.9), "b": (0.6, 0.5), "c": (0.7, 0.7)}.items():
        clean = rng.random(300) < p_clean
        corrupted = (clean & (rng.random(300) < p_keep)) | (rng.random(300) < 0.05)
        add_unit(store, model, "imagenet", names, clean, baseline=None)
        add_unit(store, model, "imagenet-c.snow.2", names, corrupted)
        expected[model] = (paired_bootstrap_difference(corrupted, clean, 300, 0.05, seed=3),
                           mcnemar_exact(corrupted, clean).p_value)
    _, result = report_from_store(store, AnalysisOptions(plots=False, n_resamples=300, seed=3))
    gaps = result.gaps.set_index("model")
    assert list(gaps.index) == ["a", "b", "c"]
    for model, (ci, p) in expected.items():
        row = gaps.loc[model]
        assert row["gap"] == pytest.approx(100 * ci.estimate)
        assert (row["gap_low"], row["gap_high"]) == (pytest.approx(100 * ci.low),
                                                     pytest.approx(100 * ci.high))
        assert row["p_value"] == pytest.approx(p)


def test_independent_sets_get_newcombe_and_no_p_value(tmp_path):
    store = Store(tmp_path / "res")
    add_unit(store, "m", "imagenet", val_names(40), [1] * 30 + [0] * 10, baseline=None)
    add_unit(store, "m", "imagenetv2-matched-frequency", [f"{i}/{i:x}.jpeg" for i in range(25)],
             [1] * 15 + [0] * 10)
    _, result = report_from_store(store, AnalysisOptions(plots=False))
    row = result.gaps.iloc[0]
    assert row["method"] == INDEPENDENT_METHOD and np.isnan(row["p_value"])
    d, low, high = newcombe_by_hand(15, 25, 30, 40)
    assert row["gap"] == pytest.approx(100 * d)  # 60 % - 75 % = -15 points
    assert row["gap_low"] == pytest.approx(100 * low, abs=1e-9)
    assert row["gap_high"] == pytest.approx(100 * high, abs=1e-9)
    assert (row["n_baseline"], row["n_shift"]) == (40, 25)


def test_real_labels_are_paired_with_val_on_the_shared_images(tmp_path):
    """ReaL drops val images without labels; the gap is on the images both sets score."""
    store = Store(tmp_path / "res")
    names = val_names(10)
    add_unit(store, "m", "imagenet", names, [1, 1, 1, 0, 0, 1, 0, 0, 1, 1], baseline=None)
    # ReaL keeps images 0..7; scored right on 0, 1, 3, 4, 5 (base right on 0, 1, 2, 5 there)
    add_unit(store, "m", "imagenet-real", names[:8], [1, 1, 0, 1, 1, 1, 0, 0], baseline=None)
    _, result = report_from_store(store, AnalysisOptions(plots=False))
    row = result.gaps.iloc[0]
    assert (row["shift"], row["baseline"], row["method"]) == ("imagenet-real", "imagenet",
                                                               PAIRED_METHOD)
    assert (row["baseline_top1"], row["shift_top1"], row["n_baseline"]) == (50.0, 62.5, 8)
    assert row["p_value"] == pytest.approx(stats.binomtest(1, 3, 0.5).pvalue)
    assert any("8 shared images of 10" in note for note in result.notes)


def accuracy_frame(base: dict[str, float], new: dict[str, float], shift="imagenetv2-matched-frequency"):
    rows = [(m, "imagenet", None, v, 50000) for m, v in base.items()]
    rows += [(m, shift, "imagenet", v, 10000) for m, v in new.items()]
    return pd.DataFrame(rows, columns=["model", "test_set", "baseline", "top1", "n"])


BASE = {"a": 60.0, "b": 70.0, "c": 75.0, "d": 80.0}
NEW = {"a": 48.0, "b": 57.0, "c": 63.0, "d": 66.0}


def test_fits_match_numpy_polyfit_on_each_scale():
    fits, er, _, notes = fits_tables(accuracy_frame(BASE, NEW), AnalysisOptions(n_bootstrap=200))
    assert list(fits.columns) == FIT_COLUMNS and not notes
    x, y = np.array(list(BASE.values())) / 100, np.array(list(NEW.values())) / 100
    scale_of = {"linear": lambda p: p, "probit": stats.norm.ppf,
                "logit": lambda p: np.log(p / (1 - p))}
    for scale, f in scale_of.items():
        row = fits.set_index("scale").loc[scale]
        slope, intercept = np.polyfit(f(x), f(y), 1)
        assert row["slope"] == pytest.approx(slope, rel=1e-10)
        assert row["intercept"] == pytest.approx(intercept, rel=1e-10, abs=1e-12)
        assert row["r2"] == pytest.approx(np.corrcoef(f(x), f(y))[0, 1] ** 2)
        assert row["slope_low"] <= row["slope"] <= row["slope_high"]
        assert row["n_models"] == 4
    # effective robustness on the linear scale: residual of each model, in points
    slope, intercept = np.polyfit(x, y, 1)
    lin = er[er["scale"] == "linear"].set_index("model")["er"]
    assert lin["b"] == pytest.approx(100 * (0.57 - (intercept + slope * 0.70)))
    assert lin.sum() == pytest.approx(0.0, abs=1e-9)  # OLS residuals sum to zero


def test_fit_models_pattern_fits_on_a_subset_and_scores_everyone():
    opts = AnalysisOptions(scales=("probit",), n_bootstrap=0, fit_models="a,c*,d")
    fits, er, _, _ = fits_tables(accuracy_frame(BASE, NEW), opts)
    chosen = ["a", "c", "d"]
    x = stats.norm.ppf(np.array([BASE[m] for m in chosen]) / 100)
    y = stats.norm.ppf(np.array([NEW[m] for m in chosen]) / 100)
    slope, intercept = np.polyfit(x, y, 1)
    assert fits.iloc[0]["slope"] == pytest.approx(slope) and fits.iloc[0]["n_models"] == 3
    assert np.isnan(fits.iloc[0]["slope_low"])  # no bootstrap asked for
    assert sorted(er["model"]) == ["a", "b", "c", "d"]
    assert set(er["baseline_fit_set"]) == {"a,c*,d"}
    predicted_b = stats.norm.cdf(intercept + slope * stats.norm.ppf(0.70))
    assert er.set_index("model").loc["b", "er"] == pytest.approx(100 * (0.57 - predicted_b))


def test_fewer_than_three_models_skip_the_fit_with_a_note():
    acc = accuracy_frame({"a": 60.0, "b": 70.0}, {"a": 50.0, "b": 55.0})
    fits, er, _, notes = fits_tables(acc, AnalysisOptions(n_bootstrap=0))
    assert fits.empty and er.empty
    assert any("need at least 3" in n for n in notes)


def imagenet_c_frame(model_errors: dict[str, dict[str, np.ndarray]], clean_top1: dict[str, float]):
    rows = [(m, "imagenet", None, top1, 50000) for m, top1 in clean_top1.items()]
    for model, errors in model_errors.items():
        for corruption, per_severity in errors.items():
            for s, e in enumerate(per_severity, start=1):
                rows.append((model, f"imagenet-c.{corruption}.{s}", "imagenet",
                             100 * (1 - e), 50000))
    return pd.DataFrame(rows, columns=["model", "test_set", "baseline", "top1", "n"])


def test_alexnet_errors_give_ce_100_and_halved_errors_give_ce_50():
    alex = {c: np.asarray(alexnet_errors()[c]) for c in COMMON_CORRUPTIONS}
    half = {c: v / 2 for c, v in alex.items()}
    acc = imagenet_c_frame({"alexnet": alex, "half": half},
                           {"alexnet": 100 * (1 - ALEXNET_CLEAN_ERROR), "half": 90.0})
    table, notes = corruption_table(acc)
    assert list(table.columns) == CORRUPTION_COLUMNS and not notes
    assert len(table) == 2 * 15 * 5
    alexnet = table[table["model"] == "alexnet"]
    assert np.allclose(alexnet["ce"], 100.0) and np.allclose(alexnet["relative_ce"], 100.0)
    assert np.allclose(alexnet["mce"], 100.0) and np.allclose(alexnet["relative_mce"], 100.0)
    halved = table[table["model"] == "half"]
    assert np.allclose(halved["ce"], 50.0) and np.allclose(halved["mce"], 50.0)
    fog3 = halved[(halved["corruption"] == "fog") & (halved["severity"] == 3)].iloc[0]
    assert fog3["error"] == pytest.approx(50 * alex["fog"][2])
    # relative CE: sum_s (E_s - E_clean) / sum_s (A_s - A_clean), clean error 10 %
    fog_rel = (alex["fog"] / 2 - 0.10).sum() / (alex["fog"] - ALEXNET_CLEAN_ERROR).sum()
    assert fog3["relative_ce"] == pytest.approx(100 * fog_rel)
    assert fog3["mce_unnormalized_15"] == pytest.approx(
        50 * np.mean([alex[c] for c in COMMON_CORRUPTIONS]))
    assert np.isnan(fog3["mce_unnormalized_19"])  # the 4 held-out corruptions were not run
    assert fog3["clean_error"] == pytest.approx(10.0)


def test_unnormalized_mce_over_19_is_written_when_all_19_corruptions_were_run():
    # hand-built: error 0.2 on every common set, 0.6 on every held-out set
    errors = {c: np.full(5, 0.2) for c in COMMON_CORRUPTIONS}
    errors.update({c: np.full(5, 0.6) for c in ALL_CORRUPTIONS if c not in COMMON_CORRUPTIONS})
    table, _ = corruption_table(imagenet_c_frame({"m": errors}, {"m": 90.0}))
    row = table.iloc[0]
    assert row["mce_unnormalized_15"] == pytest.approx(20.0)  # the paper: 15 corruptions
    assert row["mce_unnormalized_19"] == pytest.approx(100 * (15 * 0.2 + 4 * 0.6) / 19)  # test.py


def test_mce_is_empty_when_a_common_corruption_is_missing():
    alex = {c: np.asarray(alexnet_errors()[c]) for c in COMMON_CORRUPTIONS if c != "snow"}
    acc = imagenet_c_frame({"m": alex}, {"m": 70.0})
    table, notes = corruption_table(acc)
    assert table["mce"].isna().all() and np.allclose(table["ce"], 100.0)
    assert any("mCE left empty" in n and "snow" in n for n in notes)


def three_model_store(tmp_path) -> Store:
    """Models m0..m2 on val (60 images), ImageNetV2 (30) and two ImageNet-C sets."""
    store = Store(tmp_path / "res")
    names = val_names(60)
    rng = np.random.default_rng(1)
    for i, model in enumerate(["m0", "m1", "m2"]):
        clean = rng.random(60) < 0.5 + 0.15 * i
        add_unit(store, model, "imagenet", names, clean, baseline=None)
        add_unit(store, model, "imagenetv2-matched-frequency",
                 [f"{k}/{k:x}.jpeg" for k in range(30)], rng.random(30) < 0.4 + 0.15 * i)
        for corruption in ("fog", "snow"):
            add_unit(store, model, f"imagenet-c.{corruption}.1", names,
                     clean & (rng.random(60) < 0.8))
    return store


def test_report_command_writes_tables_and_plots(tmp_path):
    store = three_model_store(tmp_path)
    assert main(["report", "--out", str(store.out), "--bootstrap", "50", "--resamples", "100",
                 "--scales", "probit,linear"]) == 0
    out = store.out
    for name in ("results-imagenet.csv", "gaps.csv", "fits.csv", "effective_robustness.csv",
                 "corruptions.csv", "notes.txt"):
        assert (out / name).is_file(), name
    for stem in ("accuracy_on_the_line_imagenetv2-matched-frequency", "gaps_imagenetv2-matched-frequency",
                 "corruption_heatmap", "accuracy_on_the_line_imagenet-c_mean"):
        for ext in (".png", ".svg"):
            assert (out / "plots" / f"{stem}{ext}").stat().st_size > 0, stem
    gaps = pd.read_csv(out / "gaps.csv")
    assert len(gaps) == 3 * 3
    methods = gaps.groupby("shift")["method"].first()
    assert methods["imagenet-c.fog.1"] == PAIRED_METHOD
    assert methods["imagenetv2-matched-frequency"] == INDEPENDENT_METHOD
    # a corrupted image is right only if its clean copy is: gaps are <= 0 and p-values exist
    fog = gaps[gaps["shift"] == "imagenet-c.fog.1"]
    assert (fog["gap"] <= 0).all() and fog["p_value"].between(0, 1).all()
    fits = pd.read_csv(out / "fits.csv")
    assert set(fits["scale"]) == {"probit", "linear"}
    assert IMAGENET_C_MEAN in set(fits["shift"])
    mean_c = pd.read_csv(out / "results-imagenet-c.fog.1.csv").set_index("model")["top1"]
    mean_c = (mean_c + pd.read_csv(out / "results-imagenet-c.snow.1.csv").set_index("model")["top1"]) / 2
    er = pd.read_csv(out / "effective_robustness.csv")
    assert set(er[er["shift"] == IMAGENET_C_MEAN]["model"]) == set(mean_c.index)


def test_report_on_an_empty_folder_says_what_to_do(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path)]) == 1
    assert "robustness eval" in capsys.readouterr().err


def test_store_written_by_the_engine_pairs_corrupted_and_clean_images(tmp_path):
    """GrayModel predicts an image's gray level. 12 images with label = level on val; the
    "corrupted" copies (same file names) shift levels of images 0-4 by one (now wrong) and fix
    nothing else, except image 11 whose val label is off by one and whose corrupted level
    matches it. gray.a: val 11/12, corrupted 7/12; discordant pairs 5 (only val right) and
    1 (only corrupted right)."""
    from fakes import GrayModel, GraySet

    from robustness.engine import EvalConfig, evaluate_unit

    levels = [20 + 5 * i for i in range(12)]
    labels = [v + (i == 11) for i, v in enumerate(levels)]
    corrupted_levels = [v + 1 if i < 5 or i == 11 else v for i, v in enumerate(levels)]
    val = GraySet("imagenet", levels, labels, baseline=None)
    corrupted = GraySet("imagenet-c.fog.5", corrupted_levels, labels)
    store = Store(tmp_path / "res")
    config = EvalConfig(batch_size=4, workers=0, device="cpu", progress=False)
    for dataset in (val, corrupted):
        evaluate_unit(GrayModel("gray.a", 0), dataset, store, config)
    _, result = report_from_store(store, AnalysisOptions(plots=False, n_resamples=200))
    row = result.gaps.iloc[0]
    assert row["method"] == PAIRED_METHOD
    assert row["baseline_top1"] == pytest.approx(100 * 11 / 12)
    assert row["shift_top1"] == pytest.approx(100 * 7 / 12)
    assert row["p_value"] == pytest.approx(stats.binomtest(1, 6, 0.5).pvalue)


def test_gap_plot_is_skipped_with_a_note_when_an_interval_misses_its_gap(tmp_path):
    from robustness.report.analysis import Analysis
    from robustness.report.writer import write_plots

    gaps = pd.DataFrame([["m", "imagenetv2-matched-frequency", "imagenet", 80.0, 70.0, -10.0,
                          -9.0, -8.0, INDEPENDENT_METHOD, np.nan, 100, 100]], columns=GAP_COLUMNS)
    empty = pd.DataFrame()
    result = Analysis(gaps, empty, empty, pd.DataFrame(columns=CORRUPTION_COLUMNS))
    acc = accuracy_frame({"m": 80.0}, {"m": 70.0})
    assert write_plots(acc, result, tmp_path) == []
    assert any("excludes its gap" in n for n in result.notes)


def test_every_set_group_gets_a_mean_a_corruption_table_and_a_heatmap_but_mce_only_for_c(tmp_path):
    """ImageNet-C-bar members are summarised like ImageNet-C's: a mean row fitted as one shift,
    a per-corruption table and a heatmap, no per-member plots; no CE (no AlexNet constants)."""
    rng = np.random.default_rng(3)
    names = val_names(40)
    store = Store(tmp_path / "res")
    expected_mean = {}
    for i, model in enumerate(["m0", "m1", "m2"]):
        clean = rng.random(40) < 0.5 + 0.15 * i
        add_unit(store, model, "imagenet", names, clean, baseline=None)
        tops = []
        for corruption, severity in (("sparkles", 1), ("sparkles", 2), ("blue_noise_sample", 1)):
            correct = clean & (rng.random(40) < 0.7)
            add_unit(store, model, f"imagenet-c-bar.{corruption}.{severity}", names, correct)
            tops.append(100.0 * correct.mean())
        expected_mean[model] = float(np.mean(tops))
    assert main(["report", "--out", str(store.out), "--bootstrap", "20", "--resamples", "50",
                 "--scales", "linear", "--plot-scale", "linear"]) == 0
    out = store.out
    table = pd.read_csv(out / "corruptions-imagenet-c-bar.csv")
    assert len(table) == 3 * 3 and table[["ce", "mce", "relative_mce"]].isna().all().all()
    top1 = pd.read_csv(out / "results-imagenet-c-bar.sparkles.2.csv").set_index("model")["top1"]
    row = table[(table["corruption"] == "sparkles") & (table["severity"] == 2)].set_index("model")
    assert np.allclose(row["error"], 100.0 - top1.loc[row.index], atol=1e-3)
    assert not (out / "corruptions.csv").exists()  # no ImageNet-C sets: no ImageNet-C table
    er = pd.read_csv(out / "effective_robustness.csv")
    assert "imagenet-c-bar (mean)" in set(er["shift"])
    for stem in ("corruption_heatmap_imagenet-c-bar", "accuracy_on_the_line_imagenet-c-bar_mean"):
        assert (out / "plots" / f"{stem}.png").is_file(), stem
    assert not list((out / "plots").glob("accuracy_on_the_line_imagenet-c-bar_sparkles*"))
    fits = pd.read_csv(out / "fits.csv").set_index("shift")
    assert fits.loc["imagenet-c-bar (mean)", "n_models"] == 3
    base = pd.read_csv(out / "results-imagenet.csv").set_index("model")["top1"]
    models = sorted(expected_mean)
    slope, intercept = np.polyfit(base.loc[models], [expected_mean[m] for m in models], 1)
    assert fits.loc["imagenet-c-bar (mean)", "slope"] == pytest.approx(slope, rel=1e-3, abs=1e-3)


def test_each_group_mean_averages_its_own_sets_only():
    """A C-bar set must never enter the ImageNet-C mean (or the other way round)."""
    rows = [("m", "imagenet", None, 80.0), ("m", "imagenet-c.fog.1", "imagenet", 60.0),
            ("m", "imagenet-c.fog.2", "imagenet", 50.0), ("m", "imagenet-c-bar.sparkles.1", "imagenet", 10.0),
            ("m", "imagenet-shifts.rain.1", "imagenet", 30.0)]
    acc = pd.DataFrame(rows, columns=["model", "test_set", "baseline", "top1"]).assign(n=1000)
    means = with_group_means(acc)[0].set_index("test_set")
    assert means.loc[IMAGENET_C_MEAN, "top1"] == 55.0
    assert means.loc["imagenet-c-bar (mean)", "top1"] == 10.0
    assert means.loc["imagenet-shifts (mean)", "top1"] == 30.0
    assert set(means.loc[[IMAGENET_C_MEAN, "imagenet-c-bar (mean)"], "baseline"]) == {"imagenet"}


def test_fits_leave_out_models_at_0_percent_and_name_them():
    acc = pd.DataFrame([
        (m, ts, base, top1, 1000)
        for m, (v, a) in {"m1": (60.0, 10.0), "m2": (70.0, 15.0), "m3": (75.0, 0.0),
                          "m4": (80.0, 22.0), "m5": (85.0, 30.0)}.items()
        for ts, base, top1 in (("imagenet-a-clean", None, v), ("imagenet-a", "imagenet-a-clean", a))
    ], columns=["model", "test_set", "baseline", "top1", "n"])
    fits, _, results, notes = fits_tables(acc, AnalysisOptions(n_bootstrap=0))
    probit = fits[fits["scale"] == "probit"].iloc[0]
    assert probit["n_models"] == 4 and results[("imagenet-a", "probit")].excluded == (2,)
    assert fits[fits["scale"] == "linear"].iloc[0]["n_models"] == 5
    assert any("left out" in n and "m3" in n and "(probit)" in n for n in notes)
    clipped, _, _, notes = fits_tables(acc, AnalysisOptions(n_bootstrap=0, clip_extremes=True))
    assert clipped[clipped["scale"] == "probit"].iloc[0]["n_models"] == 5
    assert any("clipped" in n and "m3" in n for n in notes)


def test_clip_extremes_from_the_command_line(tmp_path, capsys):
    """A model at exactly 0% on the shift has no probit value: left out of the fit with a note
    by default (imagenet-testbed), kept at 0.01% with --clip-extremes."""
    from robustness.cli import main

    out = tmp_path / "res"
    store = Store(out)
    rng = np.random.default_rng(3)
    names = val_names(200)
    for i, model in enumerate(["m0", "m1", "m2", "m3", "zero"]):
        add_unit(store, model, "imagenet", names, rng.random(200) < 0.5 + 0.08 * i, baseline=None)
        shifted = np.zeros(200, bool) if model == "zero" else rng.random(200) < 0.3 + 0.08 * i
        add_unit(store, model, "imagenetv2-matched-frequency", [f"{k}/x{k}.jpeg" for k in range(200)], shifted)
    assert main(["report", "--out", str(out), "--no-plots", "--scales", "probit"]) == 0
    fits = pd.read_csv(out / "fits.csv")
    assert fits["n_models"].tolist() == [4]
    assert "left out of the fit, accuracy exactly 0% or 100% (no probit value): zero" in (out / "notes.txt").read_text()
    assert main(["report", "--out", str(out), "--no-plots", "--scales", "probit", "--clip-extremes"]) == 0
    assert pd.read_csv(out / "fits.csv")["n_models"].tolist() == [5]
    assert "clipped to [0.01%, 99.99%] for zero" in (out / "notes.txt").read_text()
    capsys.readouterr()
