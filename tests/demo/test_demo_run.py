"""The demo end to end on the reduced world: outputs, planted effects, determinism, resume,
and the zero-shot CLIP placed against the line.

One reduced run (about a minute on 2 cores) is shared by the checks; a second
run from an empty cache checks byte-for-byte reproducibility, and a third is
killed during evaluation and resumed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from robustness.demo.run import reduced_config, run_demo

COLUMNS = {
    "truth.csv": ["model", "family", "kind", "tuned_on_test", "test_set", "n", "measured_top1",
                  "measured_low", "measured_high", "true_top1", "covered", "measured_gap", "gap_low",
                  "gap_high", "true_gap", "gap_covered", "corrected_gap", "corrected_low",
                  "corrected_high", "true_distribution_gap", "corrected_covered"],
    "adaptivity.csv": ["model", "tuned_on_test", "shift", "fit_models", "effective_robustness",
                       "er_low", "er_high", "flagged", "training", "in_fit"],
    "families.csv": ["family", "tuned_on_test", "n_models", "shift", "mean_gap", "gap_low", "gap_high",
                     "gap_minus_untuned", "diff_low", "diff_high", "flagged"],
    "results-imagenetv2-matched-frequency.csv": ["model", "img_size", "top1", "top1_err", "top5",
                                                 "top5_err", "param_count", "crop_pct", "interpolation",
                                                 "top1_diff", "top5_diff", "rank_diff", "top5_diff_exact",
                                                 "rank_diff_exact", "n", "top1_low", "top1_high",
                                                 "n_skipped", "partial"],
}  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    result = run_demo(reduced_config(), out=root / "out", cache=root / "cache", progress=False,
                      echo=lambda s: print(s, flush=True))
    return root, result


def csv_bytes(folder: Path) -> dict[str, bytes]:
    """Every CSV's bytes; in models.csv the weights' location (a path in the run's own cache)
    is left out, their SHA-256 is kept."""
    out = {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}
    models = pd.read_csv(folder / "models.csv")
    out["models.csv"] = models.drop(columns="weights").to_csv(index=False).encode()
    return out


def test_files_exist_with_documented_columns(demo):
    root, _ = demo
    out = root / "out"
    for name in ("gaps.csv", "fits.csv", "corruptions.csv", "effective_robustness.csv",
                 "results-imagenet.csv", "summary-all.csv"):
        assert (out / name).is_file(), name
    for name, cols in COLUMNS.items():
        assert list(pd.read_csv(out / name).columns) == cols, name
    assert (out / "plots" / "accuracy_on_the_line_imagenetv2-matched-frequency.png").is_file()
    assert len(list(out.glob("results-imagenet-c.*.csv"))) == 4 * 3


def test_planted_overfitting_is_detected(demo):
    _, result = demo
    fam = result["families"].set_index("family")
    tuned = fam[fam["tuned_on_test"]]
    assert list(tuned.index) == ["convnext"]
    row = tuned.loc["convnext"]
    # the tuned family falls further than the untuned families, by more than the interval
    assert row["gap_minus_untuned"] < 0 and row["diff_high"] < 0 and bool(row["flagged"])
    assert not fam.loc[~fam["tuned_on_test"], "flagged"].any()
    er = result["adaptivity"].set_index("model")
    assert er.loc[er["tuned_on_test"], "effective_robustness"].max() < er.loc[
        er["in_fit"], "effective_robustness"].min()


def test_bias_corrected_gap_is_closer_to_the_true_distribution_gap(demo):
    _, result = demo
    t = result["truth"]
    mf = t[t["test_set"] == "imagenetv2-matched-frequency"]
    naive = (mf["measured_gap"] - mf["true_distribution_gap"]).abs()
    corrected = (mf["corrected_gap"] - mf["true_distribution_gap"]).abs()
    print(pd.DataFrame({"model": mf["model"], "naive_error": naive, "corrected_error": corrected}))
    assert corrected.mean() < naive.mean()


def test_intervals_cover_the_true_accuracies_of_most_untuned_models(demo):
    _, result = demo
    t = result["truth"]
    untuned = t[~t["tuned_on_test"].astype(bool)]
    rate = untuned["covered"].mean()
    print(f"coverage of the true top-1 by the 95% intervals (untuned models): {rate:.0%}")
    assert rate >= 0.75
    # the tuned family's original-test accuracy is optimistic: its truth lies below the interval
    tuned_val = t[t["tuned_on_test"].astype(bool) & (t["test_set"] == "imagenet")]
    assert (tuned_val["true_top1"] < tuned_val["measured_top1"]).all()


def test_same_seed_gives_the_same_csvs_byte_for_byte(demo, tmp_path):
    root, _ = demo
    run_demo(reduced_config(), out=tmp_path / "out", cache=tmp_path / "cache", progress=False,
             echo=lambda s: None)
    first, second = csv_bytes(root / "out"), csv_bytes(tmp_path / "out")
    assert first.keys() == second.keys()
    different = [name for name in first if first[name] != second[name]]
    assert not different, different


def test_killed_during_evaluation_then_rerun_gives_the_same_results(demo, tmp_path):
    root, _ = demo
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "robustness.cli", "demo", "--reduced", "--no-progress",
           "--out", str(out), "--cache", str(root / "cache")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if len(list(out.glob("units/*/*/*/meta.json"))) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the demo finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "truth.csv").exists()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert csv_bytes(out) == csv_bytes(root / "out")


CHANCE_TOP1 = 100.0 / 10  # percent: ten world classes; the CLIP's other 990 logits are unreachable


def test_zero_shot_clip_is_placed_against_the_line_not_fitted(demo):
    root, result = demo
    out = root / "out"
    models = pd.read_csv(out / "models.csv").set_index("model")
    assert models.loc["demo-clip", "training"] == "zero-shot"
    assert set(models.drop(index="demo-clip")["training"]) == {"imagenet-trained"}
    er = pd.read_csv(out / "effective_robustness.csv")
    clip = er[er["model"] == "demo-clip"]
    assert len(clip) > 0 and set(clip["training"]) == {"zero-shot"} and not clip["in_fit"].any()
    assert not er["baseline_fit_set"].str.contains("demo-clip").any()
    adapt = result["adaptivity"].set_index("model")
    assert (adapt.loc["demo-clip", "training"], bool(adapt.loc["demo-clip", "in_fit"])) == ("zero-shot", False)
    untuned_zoo = {"demo-resnet", "demo-vit", "demo-deit"}  # reduced_config's models minus the ConvNeXts
    assert set(adapt.index[adapt["in_fit"]]) == untuned_zoo
    # far above chance on the world's original test set, measured and true: the zero-shot head
    # is built over the world's class names in the label order the sets use
    truth = result["truth"].set_index(["model", "test_set"])
    measured, true = truth.loc[("demo-clip", "imagenet"), ["measured_low", "true_top1"]]
    print(f"demo-clip val top-1: measured >= {measured:.1f}% (95% lower bound), true {true:.1f}%; chance {CHANCE_TOP1}%")
    assert measured > 3 * CHANCE_TOP1 and true > 3 * CHANCE_TOP1


def test_the_clip_is_cached_apart_from_the_zoo(demo):
    root, _ = demo
    cfg = reduced_config()
    (folder,) = (root / "cache").glob("clip-*/demo-clip")
    assert folder.parent.name == f"clip-{cfg.clip_key()}"
    assert (folder / "open_clip_config.json").is_file() and (folder / "open_clip_model.safetensors").is_file()
    assert not (root / "cache" / f"zoo-{cfg.zoo_key()}" / "demo-clip").exists()
    # the CLIP's settings key only the CLIP: a warm zoo stays warm
    other = replace(cfg, clip_epochs=cfg.clip_epochs + 1)
    assert other.zoo_key() == cfg.zoo_key() and other.world_key() == cfg.world_key()
    assert other.clip_key() != cfg.clip_key()


# ---- beyond accuracy: OOD detection, ImageNet-P stability, calibration under shift


def test_ood_set_is_scored_against_val_for_every_model(demo):
    from robustness.datasets.catalogue import TEST_SETS
    from robustness.demo.collect import CLASS_INDICES
    from robustness.demo.ood import NAME, NOVEL_CLASS_INDICES

    root, result = demo
    cfg = reduced_config()
    models = set(result["tuned"])
    # registered as a user registers a set: its in-distribution side is the demo's val
    assert TEST_SETS[NAME].in_distribution == "imagenet"
    ood = pd.read_csv(root / "out" / "ood.csv")
    assert set(ood["model"]) == models and len(ood) == len(models)
    assert set(ood["ood_set"]) == {NAME} and set(ood["in_distribution"]) == {"imagenet"}
    n_out, n_in = 5 * cfg.ood_per_class, cfg.n_classes * cfg.original_per_class
    assert set(ood["n_out"]) == {n_out} and set(ood["n_in"]) == {n_in}
    assert ood["aupr_chance"].tolist() == pytest.approx([100 * n_out / (n_in + n_out)] * len(ood), abs=1e-3)
    assert ((ood["aupr_low"] <= ood["aupr"]) & (ood["aupr"] <= ood["aupr_high"])).all()
    # the novel shapes are filed under classes no model can predict: top-1 is 0 by construction
    top1 = pd.read_csv(root / "out" / f"results-{NAME}.csv")
    assert set(top1["model"]) == models and (top1["top1"] == 0).all()
    assert not set(NOVEL_CLASS_INDICES) & set(CLASS_INDICES)
    # max-softmax carries some signal for the ImageNet-trained zoo: above chance on average
    zoo = ood[ood["model"] != "demo-clip"]
    print(ood[["model", "aupr", "aupr_chance", "auroc"]].to_string(index=False))
    assert zoo["auroc"].mean() > 55 and zoo["aupr"].mean() > zoo["aupr_chance"].mean()


def test_stability_table_has_every_model_and_perturbation_and_matches_the_predictions(demo):
    import numpy as np

    from robustness.report.tables import units_frame
    from robustness.store import Store, Unit

    root, result = demo
    cfg = reduced_config()
    out = root / "out"
    stab = pd.read_csv(out / "stability.csv")
    expected = {(m, f"imagenet-p-inmemory.{p}.1") for m in result["tuned"] for p in cfg.p_perturbations}
    assert set(zip(stab["model"], stab["test_set"])) == expected
    assert set(stab["difficulty"]) == {1} and set(stab["n_sequences"]) == {cfg.p_per_class * cfg.n_classes}
    assert stab["flip_probability"].between(0, 100).all() and stab["top5_distance"].between(0, 15).all()
    # the flip probability of a geometric perturbation, by hand from the stored top-1 of each
    # frame: the share of consecutive frames whose prediction changes, per sequence, then mean
    units = units_frame(Store(out)).set_index(["model", "test_set"])
    for model in result["tuned"]:
        unit = Unit(units.loc[(model, "imagenet-p-inmemory.rotate.1"), "path"])
        top5, evaluated = unit.column("top5")
        assert evaluated.all()
        videos = [p.rpartition("#")[0] for p in unit.image_list().relpaths]
        starts = [i for i in range(len(videos)) if i == 0 or videos[i] != videos[i - 1]]
        flips = [np.mean(top5[s + 1:s + 31, 0] != top5[s:s + 30, 0]) for s in starts]
        row = stab[(stab["model"] == model) & (stab["perturbation"] == "rotate")]
        assert len(starts) == cfg.p_per_class * cfg.n_classes
        assert row["flip_probability"].iloc[0] == pytest.approx(100 * np.mean(flips), rel=1e-4)


def test_calibration_covers_val_and_every_corruption_severity_for_every_model(demo):
    root, result = demo
    cfg = reduced_config()
    cal = pd.read_csv(root / "out" / "calibration.csv")
    for model in result["tuned"]:
        mine = cal[cal["model"] == model].set_index("test_set")
        for test_set in ["imagenet", "imagenetv2-matched-frequency", "novel-shapes",
                         *(f"imagenet-c.*.{s}" for s in cfg.severities)]:
            assert test_set in mine.index, (model, test_set)
        assert mine["ece"].between(0, 100).all()
        pooled = mine.loc[[f"imagenet-c.*.{s}" for s in cfg.severities]]
        assert (pooled["n"] == len(cfg.corruptions) * cfg.corrupted_per_class * cfg.n_classes).all()


def test_summary_prints_calibration_ood_and_stability_per_model(demo):
    from robustness.demo.run import summary_text

    root, result = demo
    cfg = reduced_config()
    text = summary_text(result)
    print(text)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:3] == ["model", "ECE", "val"])
    assert lines[header].split()[-4:] == ["mFP", "T5D", "mFR", "mT5D"]
    ood = pd.read_csv(root / "out" / "ood.csv").set_index("model")
    cal = pd.read_csv(root / "out" / "calibration.csv")
    stab = pd.read_csv(root / "out" / "stability.csv")
    rows = {line.split()[0]: line.split() for line in lines[header + 1:header + 1 + len(result["tuned"])]}
    assert set(rows) == set(result["tuned"])
    for model, fields in rows.items():
        ece_val = cal[(cal["model"] == model) & (cal["test_set"] == "imagenet")]["ece"].iloc[0]
        pooled = cal[(cal["model"] == model) & cal["test_set"].str.startswith("imagenet-c.*.")]
        mine = stab[stab["model"] == model]
        assert float(fields[1]) == pytest.approx(ece_val, abs=0.051)
        assert float(fields[2]) == pytest.approx(pooled["ece"].mean(), abs=0.051)
        assert float(fields[3]) == pytest.approx(ood.loc[model, "aupr"], abs=0.051)
        assert float(fields[-5]) == pytest.approx(ood.loc[model, "auroc"], abs=0.051)
        assert float(fields[-4]) == pytest.approx(mine["flip_probability"].mean(), abs=0.051)
        assert float(fields[-3]) == pytest.approx(mine["top5_distance"].mean(), abs=0.0051)
        assert fields[-2:] == ["-", "-"]  # 4 of the 10 perturbations: no mFR, mT5D
        # ... but each perturbation's flip rate is relative to the demo's baseline model
        base = stab[stab["model"] == cfg.stability_baseline].set_index("perturbation")
        for r in mine.itertuples():
            assert r.fr == pytest.approx(100 * r.flip_probability / base.at[r.perturbation, "flip_probability"], rel=1e-5)
            assert r.normalised_by == f"{cfg.stability_baseline} (this store)"
    assert f"chance AUPR {ood['aupr_chance'].iloc[0]:.1f}%" in text
    assert f"mean over the {len(cfg.severities)} ImageNet-C severities" in text
    assert f"mean over {len(cfg.p_perturbations)} perturbations x {cfg.p_per_class * cfg.n_classes} sequences" in text
    assert "mFR, mT5D: empty; they need all 10 ImageNet-P perturbations" in text


def test_summary_prints_mfr_and_mt5d_relative_to_the_demo_baseline():
    """With all 10 perturbations the summary's last two columns are mFR and mT5D of
    stability.csv and the legend names the model they are relative to (hand-made table)."""
    from robustness.demo.report import beyond_accuracy_text

    table = pd.DataFrame([
        {"model": "demo-resnet", "ece_clean": 6.8, "ece_corrupted": 5.3, "n_severities": 5,
         "aupr": 25.2, "aupr_low": 21.9, "aupr_high": 30.6, "aupr_chance": 16.7, "auroc": 63.5,
         "n_in": 1000, "n_out": 200, "flip_probability": 4.9, "top5_distance": 0.85, "mfr": 100.0,
         "mt5d": 100.0, "normalised_by": "demo-resnet (this store)", "n_perturbations": 10,
         "n_sequences": 20},
        {"model": "demo-vit", "ece_clean": 8.2, "ece_corrupted": 3.8, "n_severities": 5,
         "aupr": 19.3, "aupr_low": 16.9, "aupr_high": 22.9, "aupr_chance": 16.7, "auroc": 52.9,
         "n_in": 1000, "n_out": 200, "flip_probability": 2.1, "top5_distance": 0.23, "mfr": 43.25,
         "mt5d": 27.04, "normalised_by": "demo-resnet (this store)", "n_perturbations": 10,
         "n_sequences": 20},
    ])
    lines = beyond_accuracy_text(table).splitlines()
    assert lines[2].split() == ["demo-vit", "8.2", "3.8", "19.3", "[", "16.9,", "22.9]", "52.9", "2.1",
                                "0.23", "43.2", "27.0"]
    assert lines[1].split()[-2:] == ["100.0", "100.0"]
    assert any(line.startswith("mFR, mT5D: flip rate and top-5 distance as % of demo-resnet's")
               for line in lines)
