"""Accuracy tables rebuilt from the store alone, in timm's results-CSV format.

Per test set: ``results-<set>.csv`` with timm's columns
``model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation``
then, for sets with a baseline, ``top1_diff,top5_diff,rank_diff`` computed as
timm's ``results/generate_csv_results.py`` does (but numeric: no ``+`` strings,
no thousands separators), then ``n``, ``top1_low,top1_high`` (95% Clopper-Pearson
interval of top1), for class-subset sets the unrestricted 1000-way
``top1_1000way,top5_1000way``, and last ``n_skipped`` (unreadable images left out
under ``--skip-bad-images``) and ``partial`` (empty for a complete set, else the
reader's words for what is missing, under ``--allow-partial``). All accuracies are
percent. ``models.csv`` gives each model's source, weights (file or cache entry)
and the SHA-256 of the weights its units were computed with.

timm's diff rule: sort each table by (top1 desc, top5 desc, model asc); rows
are matched on (model, img_size); ``top1_diff = top1 - top1_base``;
``rank_diff = base rank - rank`` (positive: the model climbed).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..store import Store

TIMM_COLUMNS = [
    "model", "img_size", "top1", "top1_err", "top5", "top5_err",
    "param_count", "crop_pct", "interpolation",
]  # fmt: skip
DIFF_COLUMNS = ["top1_diff", "top5_diff", "rank_diff"]
SORT_KEYS = (["top1", "top5", "model"], [False, False, True])


def clopper_pearson_percent(k: np.ndarray, n: np.ndarray, alpha: float = 0.05):
    """Exact binomial interval of k/n, in percent (lazy import of the stats module)."""
    from ..stats import clopper_pearson

    ci = clopper_pearson(np.asarray(k), np.asarray(n), alpha=alpha)
    return 100.0 * np.asarray(ci.low), 100.0 * np.asarray(ci.high)


def units_frame(store: Store) -> pd.DataFrame:
    """One row per finished unit in the store (the latest one per model and test set)."""
    rows = []
    for unit in store.finished_units():
        meta = unit.meta
        info, ts = meta["model"], meta["test_set"]
        rec = unit.records()
        rows.append(
            {
                "model": info["name"],
                "family": info.get("family") or "other",
                "kind": info.get("kind"),
                "test_set": ts["name"],
                "baseline": ts.get("baseline"),
                "img_size": int(info["img_size"]),
                "param_count": float(info["param_count"]),
                "crop_pct": float(info["crop_pct"]),
                "interpolation": info["interpolation"],
                "n": int(meta["n"]),
                "k1": int(rec.correct1.sum()),
                "k5": int(rec.correct5.sum()),
                "k1_all": int(rec.correct1_all.sum()),
                "k5_all": int(rec.correct5_all.sum()),
                "subset": _restricted(ts.get("scoring", {})),
                "n_skipped": len(meta.get("skipped_images", [])),
                "partial": meta.get("partial") or "",
                "source": info.get("source", ""),
                "weights": info.get("weights", ""),
                "weights_sha256": info.get("weights_sha256") or "",
                "key": meta["key"],
                "finished_at": meta.get("finished_at", ""),
                "path": str(unit.path),
            }
        )
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    dup = df.duplicated(["model", "test_set"], keep=False)
    if dup.any():
        names = sorted({f"{m} on {t}" for m, t in df.loc[dup, ["model", "test_set"]].itertuples(index=False)})
        warnings.warn(
            "several stored units (different weights, transform or precision) for "
            + "; ".join(names[:5])
            + ": using the most recently finished one each",
            stacklevel=2,
        )
        df = df.sort_values("finished_at").drop_duplicates(["model", "test_set"], keep="last")
    return df.sort_values(["test_set", "model"]).reset_index(drop=True)


def _restricted(scoring: dict) -> bool:
    """Whether predictions were restricted to a subset of the 1000 classes (R, A, ObjectNet)."""
    if not scoring.get("restrict_predictions", True):
        return False
    return scoring.get("class_subset") is not None or scoring.get("label_targets") is not None


def sort_timm(df: pd.DataFrame) -> pd.DataFrame:
    """timm's order: top1 desc, top5 desc, model asc."""
    return df.sort_values(SORT_KEYS[0], ascending=SORT_KEYS[1], kind="mergesort").reset_index(drop=True)


def timm_diffs(table: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """``top1_diff, top5_diff, rank_diff`` of ``table`` against ``base`` (timm's rule, numeric).

    Both frames need ``model, img_size, top1, top5``. Rows of ``table`` without a
    match in ``base`` get NaN. Returns ``table`` sorted in timm's order with the
    three columns added (``rank_diff`` as a nullable integer).
    """
    t = sort_timm(table.drop(columns=DIFF_COLUMNS, errors="ignore"))
    b = sort_timm(base)[["model", "img_size", "top1", "top5"]].copy()
    b["base_rank"] = np.arange(len(b))
    t["_rank"] = np.arange(len(t))
    m = t.merge(b, on=["model", "img_size"], how="left", suffixes=("", "_base"))
    m = m.sort_values("_rank").reset_index(drop=True)
    t["top1_diff"] = (m["top1"] - m["top1_base"]).round(3).to_numpy()
    t["top5_diff"] = (m["top5"] - m["top5_base"]).round(3).to_numpy()
    t["rank_diff"] = (m["base_rank"] - m["_rank"]).astype("Int64").to_numpy()
    return t.drop(columns="_rank")


def test_set_table(units: pd.DataFrame, test_set: str) -> pd.DataFrame:
    """The ``results-<test_set>.csv`` table (see the module docstring)."""
    rows = units[units["test_set"] == test_set].copy()
    if rows.empty:
        raise KeyError(f"no finished units for test set {test_set!r}")
    out = pd.DataFrame(
        {
            "model": rows["model"],
            "img_size": rows["img_size"],
            "top1": (100.0 * rows["k1"] / rows["n"]).round(3),
            "top5": (100.0 * rows["k5"] / rows["n"]).round(3),
            "param_count": rows["param_count"].round(2),
            "crop_pct": rows["crop_pct"].round(3),
            "interpolation": rows["interpolation"],
        }
    )
    out["top1_err"] = (100.0 - out["top1"]).round(3)
    out["top5_err"] = (100.0 - out["top5"]).round(3)
    out = out[TIMM_COLUMNS]
    baseline = rows["baseline"].iloc[0]
    extra = ["n", "top1_low", "top1_high"]
    if isinstance(baseline, str) and baseline != test_set and (units["test_set"] == baseline).any():
        base = test_set_table(units, baseline)
        out = timm_diffs(out, base)
        cols = TIMM_COLUMNS + DIFF_COLUMNS
    else:
        out = sort_timm(out)
        cols = list(TIMM_COLUMNS)
    stats = rows.set_index("model").loc[out["model"]]
    out["n"] = stats["n"].to_numpy()
    low, high = clopper_pearson_percent(stats["k1"].to_numpy(), stats["n"].to_numpy())
    out["top1_low"] = np.round(low, 3)
    out["top1_high"] = np.round(high, 3)
    if bool(rows["subset"].any()):
        out["top1_1000way"] = np.round(100.0 * stats["k1_all"] / stats["n"], 3).to_numpy()
        out["top5_1000way"] = np.round(100.0 * stats["k5_all"] / stats["n"], 3).to_numpy()
        extra += ["top1_1000way", "top5_1000way"]
    out["n_skipped"] = stats["n_skipped"].to_numpy()
    out["partial"] = stats["partial"].to_numpy()
    return out[cols + extra + ["n_skipped", "partial"]]


MODEL_COLUMNS = ["model", "family", "kind", "source", "param_count", "img_size", "crop_pct",
                 "interpolation", "weights", "weights_sha256"]


def models_table(units: pd.DataFrame) -> pd.DataFrame:
    """``models.csv``: one row per model and weights, with the weights' provenance."""
    rows = units.drop_duplicates(["model", "weights_sha256"]).sort_values("model", kind="mergesort")
    return rows[MODEL_COLUMNS].reset_index(drop=True)


def accuracy_overview(summary: pd.DataFrame, max_models: int = 20, max_sets: int = 6) -> str:
    """A short text table of top-1 (%) per model and test set, from a ``summary-*.csv`` frame."""
    sets = [c for c in summary.columns if c.endswith(":top1")][:max_sets]
    if summary.empty or not sets:
        return ""
    shown = summary[["model", *sets]].head(max_models).rename(columns=lambda c: c.removesuffix(":top1"))
    text = shown.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.2f}")
    more = []
    if len(summary) > max_models:
        more.append(f"{len(summary) - max_models} more models")
    n_sets = sum(c.endswith(":top1") for c in summary.columns)
    if n_sets > max_sets:
        more.append(f"{n_sets - max_sets} more test sets")
    return "top-1 (%)\n" + text + (f"\n... and {', '.join(more)} in summary-all.csv" if more else "")


def partial_notes(units: pd.DataFrame) -> list[str]:
    """Notes on units computed on an incomplete set (one note per reason and set of models,
    listing the sets) or with unreadable images skipped (one per unit)."""
    notes = []
    partial = units[units["partial"] != ""]
    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (test_set, reason), group in partial.groupby(["test_set", "partial"], sort=True):
        grouped.setdefault((reason, tuple(sorted(group["model"]))), []).append(test_set)
    for (reason, models), sets in grouped.items():
        shown_sets = ", ".join(sets[:4]) + (f" and {len(sets) - 4} more sets" if len(sets) > 4 else "")
        shown = ", ".join(models[:3]) + (f" and {len(models) - 3} more" if len(models) > 3 else "")
        notes.append(f"PARTIAL {shown_sets}: {reason} (units of {shown})")
    for row in units[units["n_skipped"] > 0].itertuples(index=False):
        notes.append(f"SKIPPED IMAGES {row.model} on {row.test_set}: {row.n_skipped} unreadable "
                     "image(s) left out (listed in the unit's meta.json)")
    return notes


def family_summary(units: pd.DataFrame, family: str | None = None) -> pd.DataFrame:
    """One row per model; per test set the columns ``<set>:top1`` and ``<set>:gap``.

    ``gap`` is top1 on the set minus top1 on its baseline (percentage points;
    negative means accuracy fell). ``family=None`` summarises every model.
    """
    rows = units if family is None else units[units["family"] == family]
    if rows.empty:
        raise KeyError(f"no finished units for family {family!r}")
    top1 = (100.0 * units["k1"] / units["n"]).round(3)
    acc = dict(zip(zip(units["model"], units["test_set"]), top1, strict=True))
    models = sorted(rows["model"].unique())
    meta = rows.drop_duplicates("model").set_index("model")
    columns: dict[str, object] = {
        "model": models,
        "family": meta.loc[models, "family"].to_numpy(),
        "kind": meta.loc[models, "kind"].to_numpy(),
    }
    for ts in _ordered_sets(rows):
        base = rows.loc[rows["test_set"] == ts, "baseline"].iloc[0]
        vals = [acc.get((m, ts), np.nan) for m in models]
        columns[f"{ts}:top1"] = vals
        if isinstance(base, str) and base != ts:
            columns[f"{ts}:gap"] = [
                round(v - acc[(m, base)], 3) if (m, base) in acc and not np.isnan(v) else np.nan
                for m, v in zip(models, vals, strict=True)
            ]
    out = pd.DataFrame(columns)
    return out


def _ordered_sets(units: pd.DataFrame) -> list[str]:
    """Baselines first (imagenet first of all), then shifted sets, each alphabetically."""
    sets = list(units["test_set"].unique())
    bases = set(units["baseline"].dropna())
    return sorted(sets, key=lambda s: (s != "imagenet", s not in bases, s))


def write_tables(store: Store, out: str | Path, test_sets: Iterable[str] | None = None) -> list[Path]:
    """Write every per-test-set CSV and the family summaries under ``out``; return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    units = units_frame(store)
    written: list[Path] = []
    if units.empty:
        return written
    for ts in _ordered_sets(units) if test_sets is None else list(test_sets):
        path = out / f"results-{ts}.csv"
        test_set_table(units, ts).to_csv(path, index=False, float_format="%.3f")
        written.append(path)
    for fam in sorted(units["family"].unique()):
        path = out / f"summary-{fam}.csv"
        family_summary(units, fam).to_csv(path, index=False, float_format="%.3f")
        written.append(path)
    path = out / "summary-all.csv"
    family_summary(units).to_csv(path, index=False, float_format="%.3f")
    written.append(path)
    path = out / "models.csv"
    models_table(units).to_csv(path, index=False, float_format="%.3f")
    written.append(path)
    return written
