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
