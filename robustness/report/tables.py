"""Accuracy tables rebuilt from the store alone, in timm's results-CSV format.

Per test set: ``results-<set>.csv`` with timm's columns
``model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation``
then, for sets with a baseline (and ImageNet-ReaL, differenced against val as timm does),
``top1_diff,top5_diff,rank_diff`` computed as timm's ``results/generate_csv_results.py``
does, ties included (but numeric: no ``+`` strings, no thousands separators), then our own
``top5_diff_exact,rank_diff_exact`` (each model's own difference), then ``n``,
``top1_low,top1_high`` (95% Clopper-Pearson
interval of top1; empty for ImageNet-P, whose frames are not independent), for
class-subset sets the unrestricted 1000-way ``top1_1000way,top5_1000way``, and last ``n_skipped`` (unreadable images left out
under ``--skip-bad-images``) and ``partial`` (empty for a complete set, else the
reader's words for what is missing, under ``--allow-partial``). All accuracies are
percent. ``models.csv`` gives each model's source, weights (file or cache entry)
and the SHA-256 of the weights its units were computed with.

timm's diff rule (``generate_csv_results.py``, last changed in pytorch-image-models commit
4515a435): rows are matched on (model, img_size); the base table is sorted by (top1 desc,
top5 desc, model asc) and a model's base rank is its position there; the script then reads
the base values at that *position of the base file as it was read* (a pandas label lookup
after an in-place sort) and takes the model's rank on the new set as its position in the new
file as read. The files it reads are bulk_runner.py's output: models run in (model, img_size,
crop_pct) order, then sorted by top1 alone (:func:`timm_run_order`). So among models tied on
top1 the published ``top5_diff`` is a tied neighbour's top-5 difference and ``rank_diff``
counts from the run order; ``top1_diff`` is exact either way. ``top5_diff_exact`` and
``rank_diff_exact`` are the arithmetic per-model differences (rank in the sorted tables);
``diff_rule="exact"`` writes those in timm's columns as well. Positive ``rank_diff``: the
model climbed.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets.catalogue import (
    baseline_of,
    baseline_sets,
    baselines_of,
    frames_of_sequences,
    paired_baselines,
)
from ..errors import UserInputError
from ..stats.intervals import clopper_pearson
from ..store import Store

TIMM_COLUMNS = [
    "model", "img_size", "top1", "top1_err", "top5", "top5_err",
    "param_count", "crop_pct", "interpolation",
]  # fmt: skip
DIFF_COLUMNS = ["top1_diff", "top5_diff", "rank_diff"]
EXACT_DIFF_COLUMNS = ["top5_diff_exact", "rank_diff_exact"]
DIFF_RULES = ("timm", "exact")
#: timm's columns reproduce its published tables, ties included (module docstring)
DEFAULT_DIFF_RULE = "timm"
_KEY = ["model", "img_size"]
SORT_KEYS = (["top1", "top5", "model"], [False, False, True])


def clopper_pearson_percent(k: np.ndarray, n: np.ndarray, alpha: float = 0.05):
    """Exact binomial interval of k/n, in percent."""
    ci = clopper_pearson(np.asarray(k), np.asarray(n), alpha=alpha)
    return 100.0 * np.asarray(ci.low), 100.0 * np.asarray(ci.high)


def units_frame(store: Store, models: list[str] | None = None,
                test_sets: list[str] | None = None) -> pd.DataFrame:
    """One row per finished unit in the store (the latest one per model and test set), read
    from meta.json alone (no per-image file); with ``models`` / ``test_sets``, only the units of
    those models or on those sets."""
    rows = []
    for unit in store.finished_units(models=models, test_sets=test_sets):
        meta = unit.meta
        info, ts = meta["model"], meta["test_set"]
        counts = unit.counts()
        rows.append(
            {
                "model": info["name"],
                "family": info.get("family") or "other",
                "kind": info.get("kind"),
                "training": info.get("training") or "imagenet-trained",  # units from before the field
                "test_set": ts["name"],
                "baseline": ts.get("baseline"),
                "img_size": int(info["img_size"]),
                "param_count": float(info["param_count"]),
                "crop_pct": float(info["crop_pct"]),
                "interpolation": info["interpolation"],
                "n": counts["n"],
                "k1": counts["k1"],
                "k5": counts["k5"],
                "k1_all": counts["k1_all"],
                "k5_all": counts["k5_all"],
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


def timm_run_order(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of a results table in the order timm's ``bulk_runner.py`` writes its file (the
    order ``generate_csv_results.py`` then reads): models run sorted by (model, img_size,
    crop_pct), then a stable sort by top1, descending. Ties on top1 stay in run order."""
    keys = [c for c in ("model", "img_size", "crop_pct") if c in df.columns]
    ran = df.sort_values(keys, kind="mergesort")
    return ran.sort_values("top1", ascending=False, kind="mergesort").reset_index(drop=True)


def timm_script_diffs(test_file: pd.DataFrame, base_file: pd.DataFrame) -> pd.DataFrame:
    """timm's ``generate_csv_results.diff`` on two tables *in the order their files were read*
    (module docstring): returns ``test_file``'s rows, in its order, with ``top1_diff``,
    ``top5_diff`` (percentage points, rounded to 3 decimals) and ``rank_diff`` (nullable int).

    For the test row at file position ``i`` whose (model, img_size) sits at position ``r`` of
    the base sorted by (top1 desc, top5 desc, model asc): the differences subtract the base
    file's row at position ``r`` (not necessarily that model's row), and ``rank_diff = r - i``.
    Rows without a base row get NaN.
    """
    base_file = base_file.reset_index(drop=True)
    test_file = test_file.reset_index(drop=True)
    ranked = sort_timm(base_file[[*_KEY, "top1", "top5"]])
    rank_of = pd.Series(np.arange(len(ranked)), index=pd.MultiIndex.from_frame(ranked[_KEY]))
    rank_of = rank_of[~rank_of.index.duplicated()]
    r = rank_of.reindex(pd.MultiIndex.from_frame(test_file[_KEY])).to_numpy()
    found = ~np.isnan(r)
    at = np.where(found, r, 0).astype(np.int64)
    out = test_file.copy()
    out["top1_diff"] = np.where(found, test_file["top1"] - base_file["top1"].to_numpy()[at], np.nan).round(3)
    out["top5_diff"] = np.where(found, test_file["top5"] - base_file["top5"].to_numpy()[at], np.nan).round(3)
    rank = pd.array(np.where(found, at - np.arange(len(test_file)), 0), dtype="Int64")
    rank[~found] = pd.NA
    out["rank_diff"] = rank
    return out


def timm_diffs(table: pd.DataFrame, base: pd.DataFrame, rule: str = DEFAULT_DIFF_RULE) -> pd.DataFrame:
    """timm's diff columns and our exact ones for ``table`` against ``base``.

    Both frames need ``model, img_size, top1, top5`` (percent; ``crop_pct`` orders timm's runs
    when present). Returns ``table`` sorted in timm's order with ``top1_diff, top5_diff,
    rank_diff`` (``rule="timm"``: timm's script on the files its pipeline writes, ties
    included; ``"exact"``: each model's own differences) and ``top5_diff_exact,
    rank_diff_exact`` (always exact: this model's top5 minus its base top5; its base rank minus
    its rank, both tables sorted by (top1 desc, top5 desc, model asc)). Rows of ``table``
    without a match in ``base`` get NaN / <NA>.
    """
    if rule not in DIFF_RULES:
        raise UserInputError(f"diff rule must be one of {', '.join(DIFF_RULES)}, got {rule!r}")
    t = sort_timm(table.drop(columns=DIFF_COLUMNS + EXACT_DIFF_COLUMNS, errors="ignore"))
    b = sort_timm(base)[[*_KEY, "top1", "top5"]].copy()
    b["base_rank"] = np.arange(len(b))
    t["_rank"] = np.arange(len(t))
    m = t.merge(b, on=_KEY, how="left", suffixes=("", "_base"))
    m = m.sort_values("_rank").reset_index(drop=True)
    t["top1_diff"] = (m["top1"] - m["top1_base"]).round(3).to_numpy()
    exact5 = (m["top5"] - m["top5_base"]).round(3).to_numpy()
    exact_rank = (m["base_rank"] - m["_rank"]).astype("Int64").to_numpy()
    if rule == "timm":
        script = timm_script_diffs(timm_run_order(table), timm_run_order(base))
        script = t[_KEY].merge(script[[*_KEY, "top5_diff", "rank_diff"]], on=_KEY, how="left")
        t["top5_diff"] = script["top5_diff"].to_numpy()
        t["rank_diff"] = script["rank_diff"].astype("Int64").to_numpy()
    else:
        t["top5_diff"], t["rank_diff"] = exact5, exact_rank
    t["top5_diff_exact"], t["rank_diff_exact"] = exact5, exact_rank
    return t.drop(columns="_rank")


def diff_base_of(test_set: str, baseline: object) -> str | None:
    """The set a table's diff columns are taken against: its baseline, or for a set that
    re-scores the baseline's images (ImageNet-ReaL) that set, as timm's tables do."""
    if isinstance(baseline, str) and baseline != test_set:
        return baseline
    return paired_baselines().get(test_set)


def test_set_table(units: pd.DataFrame, test_set: str, diff_rule: str = DEFAULT_DIFF_RULE) -> pd.DataFrame:
    """The ``results-<test_set>.csv`` table (see the module docstring); ``diff_rule`` as in
    :func:`timm_diffs`."""
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
    baseline = diff_base_of(test_set, rows["baseline"].iloc[0])
    extra = ["n", "top1_low", "top1_high"]
    if baseline is not None and (units["test_set"] == baseline).any():
        base = test_set_table(units, baseline)
        out = timm_diffs(out, base, diff_rule)
        cols = TIMM_COLUMNS + DIFF_COLUMNS + EXACT_DIFF_COLUMNS
    else:
        out = sort_timm(out)
        cols = list(TIMM_COLUMNS)
    stats = rows.set_index("model").loc[out["model"]]
    out["n"] = stats["n"].to_numpy()
    if frames_of_sequences(test_set):  # frames of one video are not independent: no interval
        low = high = np.full(len(out), np.nan)
    else:
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


MODEL_COLUMNS = ["model", "family", "kind", "training", "source", "param_count", "img_size",
                 "crop_pct", "interpolation", "weights", "weights_sha256"]


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
    return _set_order(units["test_set"].unique(), set(units["baseline"].dropna()))


def _set_order(sets: Iterable[str], bases: set[str]) -> list[str]:
    bases = bases | set(baseline_sets())
    return sorted(set(sets), key=lambda s: (s != "imagenet", s not in bases, s))


def write_tables(store: Store, out: str | Path, test_sets: Iterable[str] | None = None,
                 diff_rule: str = DEFAULT_DIFF_RULE, models: Iterable[str] | None = None) -> list[Path]:
    """Write the per-test-set CSVs, the family summaries and ``models.csv`` under ``out``; return
    the paths. ``diff_rule``: what timm's diff columns hold (:func:`timm_diffs`).

    With ``models`` and ``test_sets`` (what ``robustness eval`` just ran), only the tables those
    units change are updated, reading only the units of those models and on those sets (and
    their baselines): ``results-<set>.csv`` of each set and of the sets differenced against
    one of them (their rank_diff depends on the baseline's whole table), and the rows of those models in the
    summaries and ``models.csv`` (the other rows are kept as written).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if models is None:
        return _write_all_tables(store, out, test_sets, diff_rule)
    models, sets = list(models), list(test_sets or [])
    # a set's diff columns (rank_diff) depend on its baseline's whole table: rewrite those too
    written_sets = [p.name.removeprefix("results-").removesuffix(".csv") for p in out.glob("results-*.csv")]
    sets += [ts for ts in written_sets if ts not in sets and diff_base_of(ts, baseline_of(ts)) in sets]
    paired = paired_baselines()
    needed = baselines_of(sets) + [paired[ts] for ts in sets if ts in paired]
    bases = [b for b in dict.fromkeys(needed) if b not in sets]
    units = units_frame(store, models=models, test_sets=sets + bases)
    written: list[Path] = []
    if units.empty:
        return written
    present = set(units["test_set"])
    for ts in _ordered_sets(units[units["test_set"].isin(sets)]) if present & set(sets) else []:
        path = out / f"results-{ts}.csv"
        test_set_table(units, ts, diff_rule).to_csv(path, index=False, float_format="%.3f")
        written.append(path)
    mine = units[units["model"].isin(models)]
    if mine.empty:
        return written
    for fam in sorted(mine["family"].unique()):
        written.append(_merge_summary(out / f"summary-{fam}.csv", family_summary(mine, fam), mine))
    written.append(_merge_summary(out / "summary-all.csv", family_summary(mine), mine))
    path = out / "models.csv"
    table = models_table(mine)
    if path.is_file():
        kept = pd.read_csv(path, keep_default_na=False, dtype=str)
        kept = kept[~kept["model"].isin(set(mine["model"]))]
        table = pd.concat([kept, table.astype(str)], ignore_index=True)
        table = _as_written(table.sort_values("model", kind="mergesort"))
    table.to_csv(path, index=False, float_format="%.3f")
    written.append(path)
    return written


def _as_written(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame mixing rows read back from a CSV (strings) and new rows, with numbers parsed
    again so that the CSV is written exactly as a full rewrite would write it."""
    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        parsed = pd.to_numeric(out[column].replace("", np.nan), errors="coerce")
        if parsed.notna().sum() == (out[column].astype(str) != "").sum():
            out[column] = parsed
    return out


def _merge_summary(path: Path, rows: pd.DataFrame, units: pd.DataFrame) -> Path:
    """Replace the rows of ``rows``'s models in the summary at ``path`` (kept rows unchanged),
    with the set columns in the full table's order."""
    if path.is_file():
        kept = pd.read_csv(path, keep_default_na=False, dtype=str)
        kept = kept[~kept["model"].isin(set(rows["model"]))]
        rows = pd.concat([kept, rows.astype(object).where(rows.notna(), "").astype(str)],
                         ignore_index=True)
        rows = _as_written(rows.fillna("").sort_values("model", kind="mergesort"))
    sets = {c.rsplit(":", 1)[0] for c in rows.columns if ":" in c}
    order = [c for ts in _set_order(sets, set(units["baseline"].dropna()))
             for c in (f"{ts}:top1", f"{ts}:gap") if c in rows.columns]
    rows[["model", "family", "kind", *order]].to_csv(path, index=False, float_format="%.3f")
    return path


def _write_all_tables(store: Store, out: Path, test_sets: Iterable[str] | None,
                      diff_rule: str) -> list[Path]:
    units = units_frame(store)
    written: list[Path] = []
    if units.empty:
        return written
    for ts in _ordered_sets(units) if test_sets is None else list(test_sets):
        path = out / f"results-{ts}.csv"
        test_set_table(units, ts, diff_rule).to_csv(path, index=False, float_format="%.3f")
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
