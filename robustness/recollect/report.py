"""Glue for ``replication-report``: per-image records from the store + pool frequencies.

The store (:mod:`robustness.store`) keeps, per model and test set, each image's ``relpath``
(relative to the set's root) and top-1 correctness ``correct1``. A frequency table is a pool
file (see :mod:`robustness.recollect.pool`) whose ``path`` matches those relpaths: for the
new set, the ``manifest.csv`` written by ``recollect`` (or, better, a table of re-measured
frequencies with the same paths); for the original set, e.g. ImageNet val images with their
measured frequencies. Paths are matched exactly, else by file name when names are unique.
Images without a frequency are left out of the analysis and counted in the notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from ..stats.replication import ReplicationGaps, replication_gaps
from ..store import Store
from .pool import Pool


class RecordsNotFoundError(LookupError, UserInputError):
    """No (or more than one) finished unit for a model and test set."""


@dataclass(frozen=True)
class ImageRecords:
    """Per-image top-1 correctness of one model on one test set."""

    relpaths: list[str]
    correct: np.ndarray  # bool
    source: str


def load_store_records(results: str | Path, model: str, test_set: str) -> ImageRecords:
    """Records of the finished unit of ``model`` on ``test_set`` under the results folder."""
    found = Store(results).find_all(model, test_set)
    if len(found) != 1:
        what = "no finished unit" if not found else f"{len(found)} finished units ({', '.join(str(u.path) for u in found)})"
        raise RecordsNotFoundError(
            f"{results}: {what} for model {model!r} on test set {test_set!r}; run "
            f"`robustness eval --models {model} --test-sets {test_set} --out {results}` first"
            + ("" if not found else ", or pass --original-records/--new-records CSVs")
        )
    records = found[0].records(fields=("relpath", "correct1"))
    return ImageRecords([str(p) for p in records.relpath], records.correct1, str(found[0].path))


def load_csv_records(path: str | Path) -> ImageRecords:
    """Records from a CSV with columns ``relpath`` and ``correct`` (0/1 or true/false)."""
    import pandas as pd

    table = pd.read_csv(path, dtype={"relpath": str})
    if not {"relpath", "correct"} <= set(table.columns):
        raise ValueError(f"{path}: expected columns relpath,correct (one row per image, correct = 0/1)")
    correct = table["correct"].astype(str).str.strip().str.lower().isin({"1", "true", "1.0"}).to_numpy()
    return ImageRecords(table["relpath"].tolist(), correct, str(path))


def join_frequencies(records: ImageRecords, pool: Pool) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(correct, selected, shown, number of images without a frequency) for matched images."""
    table = pool.table
    by_path = dict(zip(table["path"], range(len(table))))
    names = table["path"].map(lambda p: Path(p).name)
    unique_names = names[~names.duplicated(keep=False)]
    by_name = dict(zip(unique_names, unique_names.index))
    rows = [by_path.get(rp, by_name.get(Path(rp).name, -1)) for rp in records.relpaths]
    rows = np.asarray(rows, dtype=np.int64)
    ok = rows >= 0
    if not ok.any():
        raise ValueError(
            f"none of the {len(rows)} images of {records.source} has a frequency in {pool.source}; "
            f"its 'path' column must hold the images' paths relative to the test set's root "
            f"(e.g. {records.relpaths[0] if records.relpaths else '0/x.jpg'})"
        )
    selected = table["selected"].to_numpy()[rows[ok]]
    shown = table["shown"].to_numpy()[rows[ok]]
    return records.correct[ok], selected, shown, int((~ok).sum())


def replication_report(
    original: ImageRecords,
    original_frequencies: Pool,
    new: ImageRecords,
    new_frequencies: Pool,
    **options,
) -> ReplicationGaps:
    """:func:`~robustness.stats.replication.replication_gaps` on joined records; ``options``
    are passed through (d, order, edges, n_resamples, seed, ...)."""
    co, so, ho, missing_o = join_frequencies(original, original_frequencies)
    cn, sn, hn, missing_n = join_frequencies(new, new_frequencies)
    gaps = replication_gaps(co, so, ho, cn, sn, hn, **options)
    for name, missing, total in (("original", missing_o, len(original.relpaths)), ("new", missing_n, len(new.relpaths))):
        if missing:
            gaps.notes.append(f"{missing} of {total} {name} images have no frequency and were left out")
    return gaps


def format_report(gaps: ReplicationGaps, title: str = "") -> str:
    """A small text table in percent points (gap = new minus original: negative when accuracy
    fell, as in every table of the harness)."""
    pct = 100.0
    lines = [title] if title else []
    lines.append(f"{'':22s} {'estimate':>9s}  {'95% interval':>17s}")
    for label, name in (("accuracy original", "acc_original"), ("accuracy new", "acc_new"),
                        ("adjusted accuracy A(n)", "adjusted_accuracy"), ("corrected accuracy", "corrected_accuracy"),
                        ("naive gap", "naive_gap"), ("adjusted gap", "adjusted_gap"),
                        ("corrected gap", "corrected_gap")):  # fmt: skip
        iv = getattr(gaps, name)
        lines.append(f"{label:22s} {pct * iv.estimate:8.2f}%  [{pct * iv.low:6.2f}, {pct * iv.high:6.2f}]")
    lines.append(f"images: {gaps.n_original} original, {gaps.n_new} new; annotators per image n = "
                 f"{gaps.n_annotators}; A computed at {list(gaps.levels)}; strata: {gaps.strata}")  # fmt: skip
    other = "drop" if gaps.uncovered_strata == "zero" else "zero"
    lines.append(f"uncovered strata: {pct * gaps.uncovered_fraction:.1f}% of original images "
                 f"(rule {gaps.uncovered_strata!r}); corrected gap under {other!r}: "
                 + (f"{pct * gaps.corrected_gap_other_rule:.2f}%"
                    if gaps.corrected_gap_other_rule is not None else "n/a"))
    lines += [f"note: {n}" for n in gaps.notes]
    return "\n".join(lines)


def write_report(gaps: ReplicationGaps, path: str | Path, extra: dict | None = None) -> None:
    """Write the gaps (fractions) and settings as JSON."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({**gaps.as_dict(), **(extra or {})}, indent=2, sort_keys=True) + "\n")
