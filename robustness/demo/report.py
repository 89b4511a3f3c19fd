"""The demo's own outputs beside the standard report: truth, bias correction, adaptivity.

* ``truth.csv``: per model and distribution, the measured top-1 with its 95%
  Clopper-Pearson interval and the true top-1 (large fresh sample, see
  :mod:`robustness.demo.truth`), whether the interval covers it; for the
  re-collected sets, the measured gap (new minus original, percentage points,
  Newcombe interval), the true gap, the selection-bias-corrected gap
  (:func:`robustness.stats.replication_gaps`, sign flipped to new minus
  original) and the true distribution gap it estimates.
* ``adaptivity.csv``: effective robustness on the MatchedFrequency set
  against the probit line fitted on the models *not* tuned on the original
  test set, with a parametric bootstrap interval over images; a model is
  flagged when the whole interval lies below zero (it sits below the line:
  benchmark overfitting).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .collect import Images
from .truth import (
    distribution_gap,
    matched_frequency_accuracy,
    threshold_accuracy,
    top_images_accuracy,
)

PCT = 100.0


def _predict(folder: Path, images: Images, batch_size: int = 500) -> np.ndarray:
    """Top-1 ImageNet indices through the zoo adapter (the model's own preprocessing)."""
    import torch
    from PIL import Image

    from robustness.zoo import load_model

    model = load_model(f"local-dir:{folder}", device="cpu")
    out = []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            x = torch.stack([model.preprocess(Image.fromarray(p)) for p in images.pixels[i : i + batch_size]])
            out.append(model.network(x).argmax(1).numpy())
    return np.concatenate(out)


def _cached_truth_predictions(folder: Path, truth_orig: Images, truth_pool: Images, world: Path):
    """Correctness on the truth samples, cached beside the model (keyed by the world)."""
    cache = folder / f"truth-{world.name}.npz"
    if cache.is_file():
        with np.load(cache) as z:
            return z["orig"], z["pool"]
    c_orig = _predict(folder, truth_orig) == truth_orig.labels
    c_pool = _predict(folder, truth_pool) == truth_pool.labels
    tmp = folder / f".truth-{world.name}.tmp.npz"
    np.savez(tmp, orig=c_orig, pool=c_pool)
    tmp.replace(cache)
    return c_orig, c_pool


def mf_quotas(orig_pool: pd.DataFrame, n_classes: int, k: int, wnids: list[str]) -> np.ndarray:
    """(classes, bins) images per frequency bin, as the MatchedFrequency sampler rounds them."""
    from corruptions.recollect.sampling import largest_remainder

    from .truth import frequency_bin

    q = np.zeros((n_classes, 5), dtype=int)
    freq = orig_pool["selected"].to_numpy() / orig_pool["shown"].to_numpy()
    bins = frequency_bin(freq)
    for c, w in enumerate(wnids):
        hist = np.bincount(bins[(orig_pool["wnid"] == w).to_numpy()], minlength=5)
        q[c] = largest_remainder(hist, k)
    return q


def true_accuracies(cfg, world: Path, folders: list[Path], seed: int) -> pd.DataFrame:
    """True top-1 (percent) of every model on every distribution, and the distribution gap."""
    from .collect import class_wnids
    from .run import load_images

    truth_orig = load_images(world / "truth_original.npz")
    truth_pool = load_images(world / "truth_pool.npz")
    orig_pool = pd.read_csv(world / "pools" / "original.csv")
    quotas = mf_quotas(orig_pool, cfg.n_classes, cfg.k_new, class_wnids(cfg.n_classes))
    rows = []
    for folder in folders:
        c_orig, c_pool = _cached_truth_predictions(folder, truth_orig, truth_pool, world)
        rng = np.random.default_rng(seed)
        truth = {
            "imagenet": c_orig.mean(),
            "imagenetv2-matched-frequency": matched_frequency_accuracy(c_pool, truth_pool, quotas),
            "imagenetv2-threshold0.7": threshold_accuracy(c_pool, truth_pool, 0.7),
            "imagenetv2-top-images": top_images_accuracy(c_pool, truth_pool, cfg.k_new,
                                                         cfg.pool_b_per_class * cfg.n_classes, rng),
        }
        dist_gap = -distribution_gap(c_orig, truth_orig, c_pool, truth_pool)  # new minus original
        for name, acc in truth.items():
            rows.append({"model": folder.name, "test_set": name, "true_top1": PCT * acc,
                         "true_distribution_gap": PCT * dist_gap})
    return pd.DataFrame(rows)


def corrected_gaps(out: Path, world: Path, models: list[str], seed: int) -> pd.DataFrame:
    """Naive and selection-bias-corrected MatchedFrequency gaps (new minus original, percent)."""
    from corruptions.recollect.pool import load_pool
    from corruptions.recollect.report import load_store_records, replication_report

    orig_pool = load_pool(world / "pools" / "original.csv")
    new_pool = load_pool(world / "data" / "imagenetv2-matched-frequency-format-val" / "manifest.csv")
    rows = []
    for model in models:
        gaps = replication_report(
            load_store_records(out, model, "imagenet"), orig_pool,
            load_store_records(out, model, "imagenetv2-matched-frequency"), new_pool,
            n_resamples=500, seed=seed,
        )
        row = {"model": model}
        for name in ("naive_gap", "adjusted_gap", "corrected_gap"):
            iv = getattr(gaps, name)
            # replication_gaps reports original minus new; the tables use new minus original
            row[name] = -PCT * iv.estimate
            row[f"{name}_low"] = -PCT * iv.high
            row[f"{name}_high"] = -PCT * iv.low
        rows.append(row)
    return pd.DataFrame(rows)


def truth_table(units: pd.DataFrame, gaps: pd.DataFrame, truth: pd.DataFrame,
                corrected: pd.DataFrame, tuned: dict[str, bool]) -> pd.DataFrame:
    """Join measured, true and corrected numbers into ``truth.csv``'s rows."""
    from robustness.stats import clopper_pearson

    rows = []
    for t in truth.itertuples(index=False):
        u = units[(units["model"] == t.model) & (units["test_set"] == t.test_set)].iloc[0]
        ci = clopper_pearson(int(u["k1"]), int(u["n"]))
        row = {
            "model": t.model, "family": u["family"], "kind": u["kind"], "tuned_on_test": tuned[t.model],
            "test_set": t.test_set, "n": int(u["n"]),
            "measured_top1": PCT * u["k1"] / u["n"], "measured_low": PCT * ci.low,
            "measured_high": PCT * ci.high, "true_top1": t.true_top1,
        }
        row["covered"] = bool(row["measured_low"] <= t.true_top1 <= row["measured_high"])
        if t.test_set != "imagenet":
            g = gaps[(gaps["model"] == t.model) & (gaps["shift"] == t.test_set)].iloc[0]
            true_orig = truth[(truth["model"] == t.model) & (truth["test_set"] == "imagenet")]["true_top1"].iloc[0]
            row.update(measured_gap=g["gap"], gap_low=g["gap_low"], gap_high=g["gap_high"],
                       true_gap=t.true_top1 - true_orig)
            row["gap_covered"] = bool(row["gap_low"] <= row["true_gap"] <= row["gap_high"])
            if t.test_set == "imagenetv2-matched-frequency":
                c = corrected[corrected["model"] == t.model].iloc[0]
                row.update(corrected_gap=c["corrected_gap"], corrected_low=c["corrected_gap_low"],
                           corrected_high=c["corrected_gap_high"],
                           true_distribution_gap=t.true_distribution_gap)
                row["corrected_covered"] = bool(c["corrected_gap_low"] <= t.true_distribution_gap
                                                <= c["corrected_gap_high"])
        rows.append(row)
    columns = ["model", "family", "kind", "tuned_on_test", "test_set", "n", "measured_top1",
               "measured_low", "measured_high", "true_top1", "covered", "measured_gap", "gap_low",
               "gap_high", "true_gap", "gap_covered", "corrected_gap", "corrected_low",
               "corrected_high", "true_distribution_gap", "corrected_covered"]  # fmt: skip
    return pd.DataFrame(rows).reindex(columns=columns)


def adaptivity_table(units: pd.DataFrame, tuned: dict[str, bool], shift: str = "imagenetv2-matched-frequency",
                     n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Effective robustness against the line of the untuned models, with a bootstrap interval."""
    from robustness.stats import effective_robustness, fit_line

    models = sorted(tuned)
    k_o = np.array([units[(units.model == m) & (units.test_set == "imagenet")]["k1"].iloc[0] for m in models])
    n_o = np.array([units[(units.model == m) & (units.test_set == "imagenet")]["n"].iloc[0] for m in models])
    k_n = np.array([units[(units.model == m) & (units.test_set == shift)]["k1"].iloc[0] for m in models])
    n_n = np.array([units[(units.model == m) & (units.test_set == shift)]["n"].iloc[0] for m in models])
    base = np.array([not tuned[m] for m in models])
    a_o, a_n = k_o / n_o, k_n / n_n
    fit = fit_line(a_o[base], a_n[base], "probit", n_bootstrap=0)
    er = effective_robustness(a_o, a_n, fit)
    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, len(models)))
    for b in range(n_boot):  # parametric bootstrap over images of both test sets
        bo = rng.binomial(n_o, a_o) / n_o
        bn = rng.binomial(n_n, a_n) / n_n
        f = fit_line(bo[base], bn[base], "probit", n_bootstrap=0)
        boot[b] = effective_robustness(bo, bn, f)
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    return pd.DataFrame({
        "model": models, "tuned_on_test": [tuned[m] for m in models], "shift": shift,
        "fit_models": "untuned", "effective_robustness": PCT * er, "er_low": PCT * low,
        "er_high": PCT * high, "flagged": high < 0,
    })
