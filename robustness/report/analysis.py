"""Statistical report tables and plots: gaps, fits, effective robustness, corruption metrics.

Two sources give the same tables (columns are described in ``results/README.md``):

* the per-image store (:func:`write_report`): gaps between sets that share images (ImageNet-C
  vs val, ReaL vs val) get a paired bootstrap interval and an exact McNemar p-value;
* published aggregate tables (:mod:`robustness.report.published`): only aggregate methods.

The common aggregate input is an *accuracy frame*: one row per (model, test set) with columns
``model, test_set, baseline, top1, n`` -- ``baseline`` is the test set this one is compared
with (None for a baseline itself), ``top1`` is in percent, ``n`` the number of images (NaN when
unknown). Every table written here is in percent (CE and mCE too: ResNet-50's mCE is 76.7).
Gaps are ``shift top1 - baseline top1``: negative means accuracy fell.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets.catalogue import (
    IMAGENET_C,
    SET_GROUPS,
    SetGroup,
    SetName,
    frames_of_sequences,
    paired_baselines,
    parse_set_name,
)
from ..stats.bootstrap import ResampleCounts, paired_difference_resamples, percentile_interval
from ..stats.corruption import (
    ALL_CORRUPTIONS,
    COMMON_CORRUPTIONS,
    alexnet_errors,
    corruption_error,
    relative_corruption_error,
    unnormalized_mce,
)
from ..stats.fits import TRANSFORMS, FitResult, effective_robustness, extreme_accuracies, fit_line
from ..stats.intervals import newcombe_difference
from ..stats.paired import mcnemar_exact
from ..store import Store, Unit, atomic_write_bytes, safe_name
from .pairing import PairingCache
from .tables import partial_notes, units_frame

#: name of the per-model mean over all ImageNet-C sets, used as one more shift in fits
IMAGENET_C_MEAN = IMAGENET_C.mean_name
ACCURACY_COLUMNS = ["model", "test_set", "baseline", "top1", "n"]
GAP_COLUMNS = ["model", "shift", "baseline", "baseline_top1", "shift_top1", "gap", "gap_low",
               "gap_high", "method", "p_value", "n_baseline", "n_shift"]
FIT_COLUMNS = ["shift", "scale", "slope", "slope_low", "slope_high", "intercept",
               "intercept_low", "intercept_high", "r2", "n_models"]
ER_COLUMNS = ["model", "shift", "scale", "er", "baseline_fit_set", "training", "in_fit"]
#: ``ModelInfo.training`` of models trained on ImageNet labels; the default fit set
IMAGENET_TRAINED = "imagenet-trained"
CORRUPTION_COLUMNS = ["model", "corruption", "severity", "error", "ce", "relative_ce", "mce",
                      "relative_mce", "mce_unnormalized_15", "mce_unnormalized_19", "clean_error"]
PAIRED_METHOD = "paired-bootstrap+mcnemar-exact"
INDEPENDENT_METHOD = "newcombe-hybrid-score"


@dataclass
class AnalysisOptions:
    """Settings shared by the store report and the published-table analysis."""

    scales: tuple[str, ...] = TRANSFORMS
    plot_scale: str = "probit"
    fit_models: str | None = None  # fnmatch pattern(s), comma-separated; None: every model
    # trained on ImageNet labels (zero-shot models are points against that line, not on it)
    n_bootstrap: int = 1000  # resamples over models for fits
    n_resamples: int = 2000  # resamples over images for paired gaps
    alpha: float = 0.05
    seed: int = 0
    plots: bool = True
    html: bool = False  # also write the HTML report folder OUT/html (robustness.report.html)
    command: str | None = None  # command line the HTML report names; None: this process's argv
    clip_extremes: bool = False  # probit/logit fits: clip 0%/100% accuracies instead of leaving them out
    diff_rule: str = "timm"  # results-<set>.csv: timm's top5_diff/rank_diff rule, or "exact"
    gap_cache: bool = True  # store report: reuse paired gaps cached under OUT/cache/gaps
    calibration_resamples: int = 0  # bootstrap resamples for calibration.csv's intervals (0: none)
    ood_score: str = "msp"  # ood.csv's anomaly score: msp | max_logit | energy (the last two need logits)
    ood_resamples: int = 1000  # stratified bootstrap resamples for ood.csv's intervals
    stability_reference: Path | None = None  # CSV of AlexNet's ImageNet-P values (alexnet_imagenet_p.csv format)
    stability_baseline_model: str | None = None  # or normalise flip rates by this model of the store


@dataclass
class Analysis:
    """The tables of one report (DataFrames with the columns above) and notes on what was skipped."""

    gaps: pd.DataFrame
    fits: pd.DataFrame
    effective_robustness: pd.DataFrame
    corruptions: pd.DataFrame  # ImageNet-C (CE and mCE with the AlexNet constants)
    fit_results: dict[tuple[str, str], FitResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    group_corruptions: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Other set groups (ImageNet-C-bar, shift ladders, in-memory ImageNet-C): error per
    corruption and severity; CE columns stay empty (no AlexNet constants)."""
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    """calibration.csv (report.calibration); empty from published tables."""
    reliability: dict[str, list] = field(default_factory=dict)
    """model -> reliability-diagram panels (report.calibration.Panel)."""
    ood: pd.DataFrame = field(default_factory=pd.DataFrame)
    """ood.csv (report.ood)."""
    stability: pd.DataFrame = field(default_factory=pd.DataFrame)
    """stability.csv (report.stability): ImageNet-P flip rates."""


# ---------------------------------------------------------------- accuracy frames


def group_member(test_set: str) -> SetName | None:
    """The parsed name when ``test_set`` is one (corruption, severity) set of a set group."""
    parsed = parse_set_name(test_set)
    return parsed if parsed.is_member else None


def imagenet_c_parts(test_set: str) -> tuple[str, int] | None:
    """``imagenet-c.<corruption>.<severity>`` -> (corruption, severity); None for other names."""
    parsed = group_member(test_set)
    if parsed is None or parsed.group != IMAGENET_C.name:
        return None
    return parsed.corruption, parsed.severity


def accuracy_frame_from_units(units: pd.DataFrame) -> pd.DataFrame:
    """The accuracy frame of ``tables.units_frame(store)`` (top1 in percent, plus k1 = #correct)."""
    if units.empty:
        return pd.DataFrame(columns=ACCURACY_COLUMNS + ["k1"])
    acc = units[["model", "test_set", "baseline", "n", "k1"]].copy()
    acc["baseline"] = [
        None if frames_of_sequences(ts) else paired_baselines().get(ts) if not isinstance(b, str) else b
        for ts, b in zip(acc["test_set"], acc["baseline"], strict=True)
    ]
    acc["top1"] = 100.0 * acc["k1"] / acc["n"]
    extra = ["training"] if "training" in units.columns else []
    if extra:
        acc["training"] = units["training"].to_numpy()
    return acc[ACCURACY_COLUMNS + ["k1", *extra]].reset_index(drop=True)


def model_trainings(acc: pd.DataFrame) -> dict[str, str]:
    """model -> ``training`` ('imagenet-trained' or 'zero-shot') from an accuracy frame's optional
    ``training`` column; models without one (published tables) are ImageNet-trained."""
    known = {}
    if "training" in acc.columns:
        known = {m: t for m, t in zip(acc["model"], acc["training"], strict=True) if isinstance(t, str)}
    return {m: known.get(m, IMAGENET_TRAINED) for m in acc["model"]}


def shift_pairs(acc: pd.DataFrame) -> list[tuple[str, str]]:
    """(shift, baseline) pairs whose baseline set is also in the frame, sorted by shift name."""
    present = set(acc["test_set"])
    pairs = {
        (ts, b) for ts, b in zip(acc["test_set"], acc["baseline"], strict=True)
        if isinstance(b, str) and b != ts and b in present
    }
    return sorted(pairs)


def paired_accuracies(acc: pd.DataFrame, shift: str, baseline: str) -> pd.DataFrame:
    """Models evaluated on both sets: ``model, baseline_top1, shift_top1, n_baseline, n_shift``."""
    base = acc[acc["test_set"] == baseline].set_index("model")
    new = acc[acc["test_set"] == shift].set_index("model")
    models = sorted(set(base.index) & set(new.index))
    return pd.DataFrame({
        "model": models,
        "baseline_top1": base.loc[models, "top1"].to_numpy(dtype=float),
        "shift_top1": new.loc[models, "top1"].to_numpy(dtype=float),
        "n_baseline": base.loc[models, "n"].to_numpy(dtype=float),
        "n_shift": new.loc[models, "n"].to_numpy(dtype=float),
    })


def _group_rows(acc: pd.DataFrame, group: SetGroup) -> pd.DataFrame:
    return acc[acc["test_set"].map(lambda s: (g := group_member(s)) is not None
                                   and g.group == group.name)]


def with_group_means(acc: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Add one ``<group> (mean)`` row per model and set group present (``imagenet-c (mean)``):
    mean top1 over every set of the group in the frame.

    Only models evaluated on all of a group's sets found in the frame get the row. Its ``n`` is
    the smallest per-set n (the sets share images, so this is the honest sample size).
    """
    means, notes = [], []
    for group in SET_GROUPS.values():
        if not group.measured_against_baseline:
            continue
        rows = _group_rows(acc, group)
        if rows.empty:
            continue
        sets = set(rows["test_set"])
        complete = rows.groupby("model")["test_set"].nunique() == len(sets)
        if not complete.all():
            left = sorted(complete.index[~complete])
            notes.append(f"{group.mean_name}: left out {len(left)} model(s) without all "
                         f"{len(sets)} {group.title} sets: {', '.join(left[:5])}"
                         f"{' ...' if len(left) > 5 else ''}")
        rows = rows[rows["model"].isin(complete.index[complete])]
        mean = rows.groupby("model").agg(top1=("top1", "mean"), n=("n", "min")).reset_index()
        mean["test_set"] = group.mean_name
        mean["baseline"] = group.baseline
        means.append(mean[ACCURACY_COLUMNS])
    if not means:
        return acc, notes
    return pd.concat([acc, *means], ignore_index=True), notes


# ---------------------------------------------------------------- gaps


def independent_gap(k_baseline, n_baseline, k_shift, n_shift, alpha: float = 0.05):
    """Gap (shift - baseline) with Newcombe's hybrid score interval, in percent: (gap, low, high)."""
    ci = newcombe_difference(k_shift, n_shift, k_baseline, n_baseline, alpha)
    return 100.0 * np.asarray(ci.estimate), 100.0 * np.asarray(ci.low), 100.0 * np.asarray(ci.high)


def paired_gaps(correct_baseline: np.ndarray, correct_shift: np.ndarray,
                counts: ResampleCounts, alpha: float = 0.05):
    """Gaps of several models on the same images, percent: arrays (gap, low, high, p-value).

    ``correct_*`` have shape (n_models, n_images); row m of both refers to model m and entry i
    of both rows to the same image. The interval is the percentile paired bootstrap of
    acc_shift - acc_baseline over ``counts`` (one set of resamples for every model: per model
    identical to ``stats.paired_bootstrap_difference`` with the same seed); p is the exact
    McNemar test.
    """
    base = np.atleast_2d(np.asarray(correct_baseline, dtype=bool))
    shift = np.atleast_2d(np.asarray(correct_shift, dtype=bool))
    if base.shape != shift.shape:
        raise ValueError(f"paired gaps need the same images for both sets: baseline correctness "
                         f"has shape {base.shape}, shifted {shift.shape}")
    low, high = percentile_interval(paired_difference_resamples(shift, base, counts), alpha)
    gap = shift.mean(axis=1, dtype=np.float64) - base.mean(axis=1, dtype=np.float64)
    p = np.array([mcnemar_exact(s, b).p_value for s, b in zip(shift, base, strict=True)])
    return 100.0 * gap, 100.0 * low, 100.0 * high, p


def _gap_row(model, shift, baseline, base_top1, shift_top1, gap, low, high, method, p, nb, ns):
    return dict(zip(GAP_COLUMNS, [model, shift, baseline, base_top1, shift_top1, gap, low, high,
                                  method, p, nb, ns], strict=True))


def gaps_from_counts(acc: pd.DataFrame, alpha: float = 0.05) -> tuple[pd.DataFrame, list[str]]:
    """Gaps of every shift against its baseline, treating the two sets as independent samples.

    Needs ``n`` for both sets; ``k`` is taken as round(top1 / 100 * n) when the frame has no
    ``k1`` column (published tables). Pairs without a known n are left out with a note.
    """
    rows, notes = [], []
    for shift, baseline in shift_pairs(acc):
        if shift == IMAGENET_C_MEAN:
            continue
        both = paired_accuracies(acc, shift, baseline)
        known = both["n_baseline"].notna() & both["n_shift"].notna()
        if not known.all():
            notes.append(f"gaps {shift} vs {baseline}: no image count for {int((~known).sum())} "
                         f"model(s); pass --n {shift}=N / --n {baseline}=N to include them")
        both = both[known]
        if both.empty:
            continue
        k_base = np.round(both["baseline_top1"] / 100.0 * both["n_baseline"])
        k_shift = np.round(both["shift_top1"] / 100.0 * both["n_shift"])
        gap, low, high = independent_gap(k_base, both["n_baseline"], k_shift, both["n_shift"],
                                         alpha)
        method = INDEPENDENT_METHOD
        if paired_baselines().get(shift) == baseline or group_member(shift) is not None:
            method += " (same images, unpaired)"
        for i, r in enumerate(both.itertuples(index=False)):
            rows.append(_gap_row(r.model, shift, baseline, r.baseline_top1, r.shift_top1,
                                 float(np.atleast_1d(gap)[i]), float(np.atleast_1d(low)[i]),
                                 float(np.atleast_1d(high)[i]), method, np.nan,
                                 int(r.n_baseline), int(r.n_shift)))
    return pd.DataFrame(rows, columns=GAP_COLUMNS), notes


#: per-image correctness held at once while pairing (bools): bounds the report's memory whatever
#: the number of models; a block of models is bootstrapped together, then dropped
PAIRED_BLOCK_VALUES = 32_000_000


@dataclass
class _PairedBlock:
    """Models of one shift pair waiting to be bootstrapped together: they share the same images
    (same pairing and the same images evaluated on both sets)."""

    list_size: int  # images in the baseline's list
    models: list[str] = field(default_factory=list)
    baseline: list[np.ndarray] = field(default_factory=list)
    shift: list[np.ndarray] = field(default_factory=list)


#: the paired gaps of each shift pair, per model and pair of unit keys, under the results folder:
#: a later report (or one split over jobs, see ``--gaps-only``) recomputes only new units' rows
GAP_CACHE_DIR = Path("cache") / "gaps"
_CACHE_KEYS = ["key_baseline", "key_shift", "list_size", "resamples", "alpha", "seed"]


@dataclass
class GapSettings:
    """How paired gaps are computed (what a cached row must match besides its unit keys)."""

    n_resamples: int = 2000
    alpha: float = 0.05
    seed: int = 0
    cache: Path | None = None  # folder of cached rows (GAP_CACHE_DIR under the results folder)


class _GapStream:
    """Gaps of one shift pair, streamed model by model: one correctness column per unit,
    models bootstrapped in blocks of at most ``PAIRED_BLOCK_VALUES`` images x models, resample
    counts drawn once per image count (kept across shift pairs of the same size)."""

    def __init__(self, settings: GapSettings):
        self.settings = settings
        self.pair_lists = PairingCache()
        self.resamples: dict[int, ResampleCounts] = {}  # the latest image count only

    def _counts(self, n: int) -> ResampleCounts:
        if n not in self.resamples:
            self.resamples.clear()
            self.resamples[n] = ResampleCounts(n, self.settings.n_resamples, self.settings.seed)
        return self.resamples[n]

    def _flush(self, block: _PairedBlock, shift: str, baseline: str, rows: list[dict]) -> None:
        n_shared = block.baseline[0].size
        base, new = np.stack(block.baseline), np.stack(block.shift)
        gap, low, high, p = paired_gaps(base, new, self._counts(n_shared), self.settings.alpha)
        for i, model in enumerate(block.models):
            rows.append({**_gap_row(model, shift, baseline, 100.0 * base[i].mean(),
                                    100.0 * new[i].mean(), gap[i], low[i], high[i],
                                    PAIRED_METHOD, p[i], n_shared, n_shared),
                         "list_size": block.list_size})
        block.models.clear(), block.baseline.clear(), block.shift.clear()

    def rows(self, shift: str, baseline: str, models: pd.DataFrame,
             unit_of: dict[tuple[str, str], dict]) -> list[dict]:
        """Gap rows (GAP_COLUMNS + ``list_size``: images in the baseline's list) of ``models``
        (rows of :func:`paired_accuracies`); ``unit_of[(model, set)]`` has ``path`` and ``k1``."""
        rows: list[dict] = []
        blocks: dict[tuple[str, str, bytes], _PairedBlock] = {}
        alpha = self.settings.alpha
        for r in models.itertuples(index=False):
            ub, us = unit_of[(r.model, baseline)], unit_of[(r.model, shift)]
            unit_b, unit_s = Unit(ub["path"]), Unit(us["path"])
            images_b, images_s = unit_b.image_list(), unit_s.image_list()
            pairing = self.pair_lists(images_s, images_b)
            if pairing is not None:
                correct_s, evaluated_s = unit_s.column("correct1")
                correct_b, evaluated_b = unit_b.column("correct1")
                both = evaluated_s[pairing[0]] & evaluated_b[pairing[1]]
            if pairing is None or not both.any():
                gap, low, high = independent_gap(ub["k1"], r.n_baseline, us["k1"], r.n_shift, alpha)
                rows.append({**_gap_row(r.model, shift, baseline, r.baseline_top1, r.shift_top1,
                                        float(gap), float(low), float(high), INDEPENDENT_METHOD,
                                        np.nan, int(r.n_baseline), int(r.n_shift)),
                             "list_size": len(images_b)})
                continue
            idx_s, idx_b = pairing
            key = (images_s.id, images_b.id, np.packbits(both).tobytes())
            block = blocks.setdefault(key, _PairedBlock(len(images_b)))
            block.models.append(r.model)
            block.baseline.append(correct_b[idx_b][both])
            block.shift.append(correct_s[idx_s][both])
            if len(block.models) * max(1, int(both.sum())) >= PAIRED_BLOCK_VALUES:
                self._flush(block, shift, baseline, rows)
        for block in blocks.values():
            if block.models:
                self._flush(block, shift, baseline, rows)
        return rows


def _cache_path(folder: Path, shift: str, baseline: str) -> Path:
    return folder / f"{safe_name(shift)}__{safe_name(baseline)}.parquet"


def _cached_rows(folder: Path | None, shift: str, baseline: str) -> pd.DataFrame:
    """Every cached row of a shift pair (any settings; empty when none or unreadable)."""
    path = None if folder is None else _cache_path(folder, shift, baseline)
    empty = pd.DataFrame(columns=[*GAP_COLUMNS, *_CACHE_KEYS])
    if path is None or not path.is_file():
        return empty
    try:
        return pd.read_parquet(path)
    except Exception:  # a torn or foreign file: recomputed
        return empty


def _same_settings(rows: pd.DataFrame, settings: GapSettings) -> pd.Series:
    return ((rows["resamples"] == settings.n_resamples) & np.isclose(rows["alpha"].astype(float), settings.alpha)
            & (rows["seed"] == settings.seed))


def gaps_from_records(units: pd.DataFrame, n_resamples: int = 2000, alpha: float = 0.05,
                      seed: int = 0, cache: Path | None = None,
                      shifts: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Gaps from the store's per-image predictions (``units`` from ``tables.units_frame``).

    Paired sets (every shifted image found in the baseline, see :mod:`.pairing`): paired
    bootstrap interval and exact McNemar p-value on the images evaluated on both;
    ``baseline_top1`` and ``n_baseline`` then refer to those shared images. Otherwise Newcombe's
    interval from the counts in meta.json (no per-image file is read). Units are streamed
    (:class:`_GapStream`), so memory does not grow with the number of models.

    ``cache``: a folder of rows computed before (``GAP_CACHE_DIR``), reused when the model's
    two unit keys and the settings match, and rewritten; a model's row does not depend on the
    other models. ``shifts``: only these shifted sets (None: every one).
    """
    settings = GapSettings(n_resamples, alpha, seed, cache)
    acc = accuracy_frame_from_units(units)
    # a unit is identified by its key and when it finished (a unit deleted and recomputed
    # under the same key is another one for the cache)
    unit_of = {(m, t): {"path": p, "k1": int(k), "key": f"{key}@{at}"} for m, t, p, k, key, at in
               zip(units["model"], units["test_set"], units["path"], units["k1"], units["key"],
                   units["finished_at"], strict=True)}
    stream = _GapStream(settings)
    rows, notes = [], []
    for shift, baseline in shift_pairs(acc):
        if shifts is not None and shift not in shifts:
            continue
        models = paired_accuracies(acc, shift, baseline)
        keys = pd.DataFrame({"model": models["model"],
                             "key_baseline": [unit_of[(m, baseline)]["key"] for m in models["model"]],
                             "key_shift": [unit_of[(m, shift)]["key"] for m in models["model"]]})
        cached = _cached_rows(cache, shift, baseline).merge(
            keys, on=["model", "key_baseline", "key_shift"], how="inner")  # current units only
        same = _same_settings(cached, settings)
        reused = cached[same]
        todo = models[~models["model"].isin(set(reused["model"]))]
        new = pd.DataFrame(stream.rows(shift, baseline, todo, unit_of),
                           columns=[*GAP_COLUMNS, "list_size"])
        new = new.merge(keys, on="model", how="left").assign(
            resamples=n_resamples, alpha=alpha, seed=seed)
        pair_rows = pd.concat([f for f in (reused, new) if len(f)] or [new], ignore_index=True)
        if cache is not None and len(new):  # rows of other settings are kept beside them
            kept = pd.concat([f for f in (cached[~same], pair_rows) if len(f)], ignore_index=True)
            atomic_write_bytes(_cache_path(cache, shift, baseline),
                               kept[[*GAP_COLUMNS, *_CACHE_KEYS]].to_parquet(index=False))
        paired = pair_rows[(pair_rows["method"] == PAIRED_METHOD)
                           & (pair_rows["n_baseline"] != pair_rows["list_size"])]
        notes += [f"gaps {shift} vs {baseline}: paired on the {k} shared images of {n} "
                  "baseline images" for k, n in sorted({(int(a), int(b)) for a, b in
                                                       zip(paired["n_baseline"], paired["list_size"],
                                                           strict=True)})]
        rows.append(pair_rows[GAP_COLUMNS])
    gaps = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=GAP_COLUMNS)
    gaps = gaps.astype({**{c: str for c in ("model", "shift", "baseline", "method")},  # cached or new
                        **{c: float for c in GAP_COLUMNS[3:8] + ["p_value"]},
                        "n_baseline": int, "n_shift": int})
    return gaps.sort_values(["shift", "model"], kind="mergesort").reset_index(drop=True), notes


# ---------------------------------------------------------------- fits


def select_models(models: Sequence[str], patterns: str | None) -> list[str]:
    """Models matching any comma-separated fnmatch pattern (all models when ``patterns`` is None)."""
    if not patterns:
        return list(models)
    pats = [p.strip() for p in patterns.split(",") if p.strip()]
    return [m for m in models if any(fnmatch.fnmatchcase(m, p) for p in pats)]


def fit_selection(models: Sequence[str], trainings: dict[str, str], patterns: str | None) -> list[str]:
    """The models a line is fitted on: those matching ``patterns`` (:func:`select_models`), or
    with ``patterns`` None every ImageNet-trained model (zero-shot models left out)."""
    if patterns:
        return select_models(models, patterns)
    return [m for m in models if trainings.get(m, IMAGENET_TRAINED) == IMAGENET_TRAINED]


def fits_tables(acc: pd.DataFrame, options: AnalysisOptions | None = None):
    """Line fits per shift and scale, and effective robustness per model.

    The line is fitted on the models selected by ``options.fit_models`` (default: the
    ImageNet-trained models, :func:`fit_selection`); ``effective_robustness`` rows carry each
    model's ``training`` and whether it was a fit model (``in_fit``). Effective robustness
    (percentage points) is given for every model on both sets. Shifts with fewer than 3 fit
    models are skipped with a note. On probit/logit axes, fit models with an accuracy of
    exactly 0% or 100% are left out of the fit with a note naming them, unless
    ``options.clip_extremes`` (stats.fits). Returns (fits, effective_robustness, fit results, notes).
    """
    opts = options or AnalysisOptions()
    trainings = model_trainings(acc)
    zero_shot = sorted({m for m, t in trainings.items() if t != IMAGENET_TRAINED})
    fit_set = opts.fit_models or ("imagenet-trained" if zero_shot else "all")
    acc, notes = with_group_means(acc)
    if zero_shot and not opts.fit_models:
        notes.append(f"fits: {len(zero_shot)} zero-shot model(s) left out of the lines of "
                     f"ImageNet-trained models (--fit-models selects): {', '.join(zero_shot[:5])}"
                     f"{' ...' if len(zero_shot) > 5 else ''}")
    fit_rows, er_rows, results = [], [], {}
    for shift, baseline in shift_pairs(acc):
        both = paired_accuracies(acc, shift, baseline)
        chosen = both[both["model"].isin(fit_selection(list(both["model"]), trainings, opts.fit_models))]
        if len(chosen) < 3:
            notes.append(f"fits {shift} vs {baseline}: skipped, {len(chosen)} fit model(s) "
                         "(need at least 3)")
            continue
        x_all, y_all = both["baseline_top1"] / 100.0, both["shift_top1"] / 100.0
        for scale in opts.scales:
            x_fit, y_fit = chosen["baseline_top1"] / 100.0, chosen["shift_top1"] / 100.0
            extreme = extreme_accuracies(x_fit, y_fit, scale)
            if not opts.clip_extremes and (~extreme).sum() < 3:
                notes.append(f"fits {shift} vs {baseline} ({scale}): skipped, fewer than 3 fit "
                             "models have accuracies strictly between 0% and 100%")
                continue
            if x_fit[~extreme].nunique() < 2 and not opts.clip_extremes:
                notes.append(f"fits {shift} vs {baseline} ({scale}): skipped, every fit model "
                             f"has the same {baseline} accuracy, so no line is defined")
                continue
            fit = fit_line(x_fit, y_fit, kind=scale, n_bootstrap=opts.n_bootstrap,
                           alpha=opts.alpha, seed=opts.seed, clip_extremes=opts.clip_extremes)
            if extreme.any():
                names = ", ".join(chosen["model"].to_numpy()[extreme])
                notes.append(f"fits {shift} vs {baseline} ({scale}): " + (
                    f"accuracy of exactly 0% or 100% clipped to [0.01%, 99.99%] for {names}"
                    if opts.clip_extremes else
                    f"left out of the fit, accuracy exactly 0% or 100% (no {scale} value): "
                    f"{names}"))
            results[(shift, scale)] = fit
            s_ci, i_ci = fit.slope_interval, fit.intercept_interval
            fit_rows.append(dict(zip(FIT_COLUMNS, [
                shift, scale, fit.slope, s_ci.low if s_ci else np.nan,
                s_ci.high if s_ci else np.nan, fit.intercept, i_ci.low if i_ci else np.nan,
                i_ci.high if i_ci else np.nan, fit.r_squared, fit.n_models], strict=True)))
            er = 100.0 * effective_robustness(x_all, y_all, fit)
            fitted = set(chosen["model"])
            er_rows += [dict(zip(ER_COLUMNS, [m, shift, scale, float(e), fit_set,
                                              trainings.get(m, IMAGENET_TRAINED), m in fitted],
                                 strict=True))
                        for m, e in zip(both["model"], er, strict=True)]
    return (pd.DataFrame(fit_rows, columns=FIT_COLUMNS), pd.DataFrame(er_rows, columns=ER_COLUMNS),
            results, notes)


# ---------------------------------------------------------------- corruptions


def corruption_table(acc: pd.DataFrame, set_group: SetGroup = IMAGENET_C) -> tuple[pd.DataFrame, list[str]]:
    """A set group's metrics per model, corruption and severity (percent; see module docstring).

    CE and relative CE are AlexNet-normalised (stats.corruption) and need all 5 severities of
    a corruption; relative CE also needs the model's clean error (``imagenet`` top1). mCE and
    relative mCE are means over the 15 common corruptions, given only when all 15 x 5 sets are
    present; ``mce_unnormalized_15`` is the mean error over the same 75 sets (the paper's
    unnormalised mCE) and ``mce_unnormalized_19`` over all 19 x 5 sets (what the original
    ``ImageNet-C/test.py`` prints; empty unless all 95 are present). Per-model aggregates
    repeat on each of the model's rows. For groups without AlexNet constants
    (``set_group.mce`` False) only ``error`` and ``clean_error`` are filled.
    """
    rows, notes = [], []
    c_rows = _group_rows(acc, set_group)
    clean = acc[acc["test_set"] == set_group.baseline].set_index("model")["top1"]
    reference = alexnet_errors() if set_group.mce else {}
    for model, group in c_rows.groupby("model", sort=True):
        errors: dict[str, dict[int, float]] = {}
        for ts, top1 in zip(group["test_set"], group["top1"], strict=True):
            member = group_member(ts)
            errors.setdefault(member.corruption, {})[member.severity] = (100.0 - float(top1)) / 100.0
        full = {c: np.array([e[s] for s in range(1, 6)]) for c, e in errors.items()
                if set(e) == {1, 2, 3, 4, 5}}
        clean_error = (100.0 - float(clean[model])) / 100.0 if model in clean.index else None
        ce = {c: corruption_error(full, c) for c in full if c in reference}
        rel = ({c: relative_corruption_error(full, clean_error, c) for c in ce}
               if clean_error is not None else {})
        has_all = set_group.mce and all(c in full for c in COMMON_CORRUPTIONS)
        mce = 100.0 * np.mean([ce[c] for c in COMMON_CORRUPTIONS]) if has_all else np.nan
        rel_mce = (100.0 * np.mean([rel[c] for c in COMMON_CORRUPTIONS])
                   if has_all and rel else np.nan)
        raw = 100.0 * unnormalized_mce(full, COMMON_CORRUPTIONS) if has_all else np.nan
        raw_19 = (100.0 * unnormalized_mce(full, ALL_CORRUPTIONS)
                  if set_group.mce and all(c in full for c in ALL_CORRUPTIONS) else np.nan)
        if set_group.mce and not has_all:
            missing = [c for c in COMMON_CORRUPTIONS if c not in full]
            notes.append(f"corruptions {model}: mCE left empty, {len(missing)} of the 15 common "
                         f"corruptions lack some severity ({', '.join(missing[:4])} ...)")
        if clean_error is None and set_group.mce:
            notes.append(f"corruptions {model}: no imagenet (clean) top1, relative CE left empty")
        for corruption in sorted(errors):
            for severity in sorted(errors[corruption]):
                rows.append(dict(zip(CORRUPTION_COLUMNS, [
                    model, corruption, severity, 100.0 * errors[corruption][severity],
                    100.0 * ce[corruption] if corruption in ce else np.nan,
                    100.0 * rel[corruption] if corruption in rel else np.nan,
                    mce, rel_mce, raw, raw_19,
                    100.0 * clean_error if clean_error is not None else np.nan], strict=True)))
    return pd.DataFrame(rows, columns=CORRUPTION_COLUMNS), notes


# ---------------------------------------------------------------- assembly and output


def analyze(acc: pd.DataFrame, gaps: pd.DataFrame, options: AnalysisOptions | None = None,
            notes: Sequence[str] = ()) -> Analysis:
    """Fits, effective robustness and corruption metrics of ``acc``, with precomputed ``gaps``."""
    opts = options or AnalysisOptions()
    fits, er, results, fit_notes = fits_tables(acc, opts)
    corruptions, c_notes = corruption_table(acc)
    others = {g.name: corruption_table(acc, g)[0] for g in SET_GROUPS.values()
              if not g.mce and g.measured_against_baseline}
    return Analysis(gaps, fits, er, corruptions, results, [*notes, *fit_notes, *c_notes],
                    {name: table for name, table in others.items() if not table.empty})


def _store_units(store: Store) -> pd.DataFrame:
    units = units_frame(store)
    if units.empty:
        raise FileNotFoundError(f"no finished units under {store.units_root}: run "
                                "`robustness eval` first")
    return units


def _gap_cache(store: Store, opts: AnalysisOptions) -> Path | None:
    return store.out / GAP_CACHE_DIR if opts.gap_cache else None


def select_sets(available: Sequence[str], patterns: str) -> list[str]:
    """The sets of ``available`` named by comma-separated ``patterns``: a set's name, a set
    group or one of its corruptions (``imagenet-c``, ``imagenet-c.fog``: their members) or an
    fnmatch wildcard (``imagenet-c.*.5``)."""
    wanted = [p.strip() for p in patterns.split(",") if p.strip()]
    return [ts for ts in available
            if any(ts == p or ts.startswith(p + ".") or fnmatch.fnmatchcase(ts, p) for p in wanted)]


def precompute_gaps(store: Store, patterns: str, options: AnalysisOptions | None = None) -> tuple[list[str], int]:
    """Compute the gaps of the shifted sets named by ``patterns`` (:func:`select_sets`) into the
    store's gap cache and write nothing else (``robustness report --gaps-only``: one job per
    set group when one core is not enough); returns (the sets, the number of gap rows). A later
    report reads them from the cache. ValueError when no shifted set of the store matches."""
    opts = options or AnalysisOptions()
    units = _store_units(store)
    shifts = select_sets(sorted(set(units["test_set"])), patterns)
    if not shifts:
        raise ValueError(f"--gaps-only {patterns}: no test set of the store under {store.out} "
                         "matches; name sets, set groups (imagenet-c, imagenet-c.fog) or wildcards (imagenet-c.*.5)")
    gaps, _ = gaps_from_records(units, opts.n_resamples, opts.alpha, opts.seed,
                                cache=store.out / GAP_CACHE_DIR, shifts=shifts)
    return shifts, len(gaps)


def report_from_store(store: Store, options: AnalysisOptions | None = None) -> tuple[pd.DataFrame, Analysis]:
    """The accuracy frame and the analysis of every finished unit in ``store`` (paired gaps
    computed before for the same units and settings are read from the gap cache, see
    :func:`gaps_from_records`)."""
    opts = options or AnalysisOptions()
    units = _store_units(store)
    acc = accuracy_frame_from_units(units)
    gaps, notes = gaps_from_records(units, opts.n_resamples, opts.alpha, opts.seed,
                                    cache=_gap_cache(store, opts))
    result = analyze(acc, gaps, opts, [*partial_notes(units), *notes])
    beyond_accuracy(store, units, result, opts)
    return acc, result


def beyond_accuracy(store: Store, units: pd.DataFrame, result: Analysis, opts: AnalysisOptions) -> None:
    """Fill ``result``'s calibration, OOD and stability tables from the units' per-image
    confidences and top-5 (report.calibration, report.ood, report.stability)."""
    from .calibration import calibration_table
    from .ood import ood_table
    from .stability import stability_table

    result.calibration, notes, result.reliability = calibration_table(
        units, opts.calibration_resamples, opts.seed)
    result.notes += notes
    result.ood, notes = ood_table(units, opts.ood_score, opts.ood_resamples, opts.seed, opts.alpha)
    result.notes += notes
    reference = None
    if opts.stability_reference is not None:
        from ..stats.stability import read_stability_table

        reference = read_stability_table(Path(opts.stability_reference).read_text())
    result.stability, notes = stability_table(store, units, reference, opts.stability_baseline_model)
    result.notes += notes
