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
  test set, with a bootstrap interval over images; a model is flagged when
  the whole interval lies below zero (it sits below the line: benchmark
  overfitting). Zero-shot models (the demo's CLIP) are placed against that line,
  not fitted: ``training`` and ``in_fit`` say which is which.
* ``families.csv``: each family's mean MatchedFrequency gap and its
  difference to the untuned families' mean gap, with a bootstrap interval
  over images; a family is flagged when that interval lies below zero.
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

    from .clip import model_reference

    model = load_model(model_reference(folder), device="cpu")
    out = []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            x = torch.stack([model.preprocess(Image.fromarray(p)) for p in images.pixels[i : i + batch_size]])
            out.append(model.network(x).argmax(1).numpy())
    return np.concatenate(out)


def cached_truth_predictions(folder: Path, world: Path) -> None:
    """Predict the truth samples with the model in ``folder`` unless cached (the demo's eval
    stage does this beside each model's evaluation; ``truth.csv`` reads the cache)."""
    from .run import load_images

    if not (folder / f"truth-{world.name}.npz").is_file():
        _cached_truth_predictions(folder, load_images(world / "truth_original.npz"),
                                  load_images(world / "truth_pool.npz"), world)


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
    from robustness.recollect.sampling import largest_remainder

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
    from robustness.recollect.pool import load_pool
    from robustness.recollect.report import load_store_records, replication_report

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
            iv = getattr(gaps, name)  # new minus original, as in the tables
            row[name] = PCT * iv.estimate
            row[f"{name}_low"] = PCT * iv.low
            row[f"{name}_high"] = PCT * iv.high
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


def _correctness(out: Path, models: list[str], test_set: str) -> np.ndarray:
    """(images, models) top-1 correctness on one set, images in the reader's order."""
    from robustness.recollect.report import load_store_records

    cols, order = [], None
    for m in models:
        rec = load_store_records(out, m, test_set)
        if order is None:
            order = rec.relpaths
        elif rec.relpaths != order:
            raise ValueError(f"{test_set}: models were evaluated on different images")
        cols.append(rec.correct)
    return np.stack(cols, axis=1).astype(np.float64)


def adaptivity_tables(out: Path, tuned: dict[str, bool], family: dict[str, str],
                      shift: str = "imagenetv2-matched-frequency", n_boot: int = 1000,
                      seed: int = 0, zero_shot: set[str] | frozenset[str] = frozenset()
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Benchmark-overfitting diagnostics, with intervals from one bootstrap over images.

    Every resample redraws the images of the original set and of ``shift``
    (the same draw for every model, so the models' shared difficulty cancels in
    comparisons). Per model: effective robustness against the probit line of
    the untuned models (flagged when its interval lies below 0). Per family:
    its mean gap minus the untuned families' mean gap (flagged when the
    interval lies below 0: the family falls further than its peers).
    ``zero_shot`` models are left out of the line and of the peers (a model of
    another kind, placed against the line of the ImageNet-trained models).
    """
    from robustness.stats import effective_robustness, fit_line, resample_counts

    models = sorted(tuned)
    c_o, c_n = _correctness(out, models, "imagenet"), _correctness(out, models, shift)
    base = np.array([not tuned[m] and m not in zero_shot for m in models])
    rng = np.random.default_rng(seed)
    w_o = np.vstack([np.ones((1, len(c_o))), resample_counts(len(c_o), n_boot, rng)])
    w_n = np.vstack([np.ones((1, len(c_n))), resample_counts(len(c_n), n_boot, rng)])
    a_o = w_o @ c_o / len(c_o)  # (1 + n_boot, models); row 0: the data as observed
    a_n = w_n @ c_n / len(c_n)
    er = np.stack([effective_robustness(a_o[b], a_n[b], fit_line(a_o[b, base], a_n[b, base], "probit",
                                                                   n_bootstrap=0))
                   for b in range(len(a_o))])
    lo, hi = np.percentile(er[1:], [2.5, 97.5], axis=0)
    per_model = pd.DataFrame({
        "model": models, "tuned_on_test": [tuned[m] for m in models], "shift": shift,
        "fit_models": "untuned", "effective_robustness": PCT * er[0], "er_low": PCT * lo,
        "er_high": PCT * hi, "flagged": hi < 0,
        "training": ["zero-shot" if m in zero_shot else "imagenet-trained" for m in models],
        "in_fit": base,
    })
    fam = {m: family[m] for m in models}
    gap = a_n - a_o
    rows = []
    for family in sorted(set(fam.values())):
        members = np.array([fam[m] == family for m in models])
        peers = base & ~members
        diff = gap[:, members].mean(axis=1) - gap[:, peers].mean(axis=1)
        dlo, dhi = np.percentile(diff[1:], [2.5, 97.5])
        glo, ghi = np.percentile(gap[1:, members].mean(axis=1), [2.5, 97.5])
        rows.append({
            "family": family, "tuned_on_test": bool(any(tuned[m] for m in np.array(models)[members])),
            "n_models": int(members.sum()), "shift": shift,
            "mean_gap": PCT * gap[0, members].mean(), "gap_low": PCT * glo, "gap_high": PCT * ghi,
            "gap_minus_untuned": PCT * diff[0], "diff_low": PCT * dlo, "diff_high": PCT * dhi,
            "flagged": bool(dhi < 0),
        })
    return per_model, pd.DataFrame(rows)


# ------------------------------------------------------------------ beyond accuracy


def beyond_accuracy(out: Path, models: list[str], ood_set: str, group: str = "imagenet-c",
                    clean: str = "imagenet") -> pd.DataFrame:
    """Per model, from the standard report's ``calibration.csv``, ``ood.csv`` and
    ``stability.csv`` in ``out``: ECE (percent) on ``clean`` and its mean over the pooled
    severities of ``group`` (``<group>.*.<s>`` rows); AUPR (with its interval and chance
    level) and AUROC on ``ood_set``, percent; the mean flip probability (percent) and top-5
    distance over the ImageNet-P perturbations at difficulty 1, and mFR/mT5D (percent) where
    the stability table has them (all 10 perturbations and a baseline: ``normalised_by``
    names it). Missing files give NaN."""
    def read(name: str) -> pd.DataFrame:
        path = Path(out) / name
        return pd.read_csv(path) if path.is_file() else pd.DataFrame()

    cal, ood, stab = read("calibration.csv"), read("ood.csv"), read("stability.csv")
    rows = []
    for m in models:
        row: dict = {"model": m}
        if not cal.empty:
            mine = cal[cal["model"] == m]
            row["ece_clean"] = mine.loc[mine["test_set"] == clean, "ece"].mean()
            pooled = mine[(mine["group"] == group) & mine["test_set"].str.contains(r"\.\*\.", regex=True)]
            row["ece_corrupted"] = pooled["ece"].mean()
            row["n_severities"] = len(pooled)
        if not ood.empty:
            mine = ood[(ood["model"] == m) & (ood["ood_set"] == ood_set)]
            for col in ("aupr", "aupr_low", "aupr_high", "aupr_chance", "auroc", "n_in", "n_out"):
                row[col] = mine[col].iloc[0] if len(mine) else np.nan
        if not stab.empty:
            mine = stab[(stab["model"] == m) & (stab["difficulty"] == 1)]
            row["flip_probability"] = mine["flip_probability"].mean()
            row["top5_distance"] = mine["top5_distance"].mean()
            row["mfr"] = mine["mfr"].dropna().iloc[0] if mine["mfr"].notna().any() else np.nan
            row["mt5d"] = mine["mt5d"].dropna().iloc[0] if mine["mt5d"].notna().any() else np.nan
            labels = mine.loc[mine["mfr"].notna(), "normalised_by"] if "normalised_by" in mine else []
            row["normalised_by"] = labels.iloc[0] if len(labels) else ""
            row["n_perturbations"] = mine["perturbation"].nunique()
            row["n_sequences"] = int(mine["n_sequences"].min()) if len(mine) else 0
        rows.append(row)
    columns = ["model", "ece_clean", "ece_corrupted", "n_severities", "aupr", "aupr_low", "aupr_high",
               "aupr_chance", "auroc", "n_in", "n_out", "flip_probability", "top5_distance", "mfr",
               "mt5d", "normalised_by", "n_perturbations", "n_sequences"]
    return pd.DataFrame(rows).reindex(columns=columns)


def beyond_accuracy_text(table: pd.DataFrame, ood_set: str = "novel-shapes") -> str:
    """The demo summary's second table (:func:`beyond_accuracy`) and the lines that say what
    its columns are."""
    def rate(value: float) -> str:
        return f"{value:6.1f}" if np.isfinite(value) else f"{'-':>6s}"

    lines = [f"{'model':18s} {'ECE val':>7s} {'ECE C':>6s} {'AUPR [95% CI]':>20s} {'AUROC':>6s} "
             f"{'mFP':>6s} {'T5D':>6s} {'mFR':>6s} {'mT5D':>6s}"]
    for r in table.itertuples(index=False):
        lines.append(f"{r.model:18s} {r.ece_clean:7.1f} {r.ece_corrupted:6.1f} {r.aupr:6.1f} "
                     f"[{r.aupr_low:5.1f}, {r.aupr_high:5.1f}] {r.auroc:6.1f} "
                     f"{r.flip_probability:6.1f} {r.top5_distance:6.2f} {rate(r.mfr)} {rate(r.mt5d)}")
    first = table.iloc[0] if len(table) else None
    if first is not None:
        lines.append(f"ECE: 15-bin expected calibration error (%), on val and the mean over the "
                     f"{int(first.n_severities)} ImageNet-C severities (corruptions pooled per severity)")
        lines.append(f"AUPR, AUROC: {ood_set} ({int(first.n_out)} images of shapes no model was "
                     f"trained on) against val ({int(first.n_in)}) by -max-softmax, novel shapes "
                     f"positive; chance AUPR {first.aupr_chance:.1f}%")
        lines.append(f"mFP, T5D: ImageNet-P flip probability (%) and top-5 distance, mean over "
                     f"{int(first.n_perturbations)} perturbations x {int(first.n_sequences)} "
                     "sequences")
        baselines = sorted({b.removesuffix(" (this store)") for b in table["normalised_by"]
                            if isinstance(b, str) and b})
        if baselines:
            lines.append(f"mFR, mT5D: flip rate and top-5 distance as % of {', '.join(baselines)}'s "
                         "(ImageNet-P divides by AlexNet's; the demo by its oldest architecture), "
                         "perturbation by perturbation, mean over the 10")
        else:
            lines.append("mFR, mT5D: empty; they need all 10 ImageNet-P perturbations and a "
                         "baseline model evaluated on them")
    return "\n".join(lines)
