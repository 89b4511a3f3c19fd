"""Published accuracy tables as analysis inputs: timm results CSVs and the imagenet-testbed CSV.

Both are turned into the accuracy frame of :mod:`robustness.report.analysis` (one row per
model and test set: ``model, test_set, baseline, top1`` in percent, ``n`` images), so
``robustness analyze`` writes the same ``gaps.csv``, ``fits.csv``, ``effective_robustness.csv``
and ``corruptions.csv`` as ``robustness report`` -- with aggregate methods only, since there
are no per-image records (gaps get Newcombe's interval, no paired test).

timm format (``results-<set>.csv``, pytorch-image-models ``results/``):
``model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation`` and, for
shifted sets, signed-string ``top1_diff,top5_diff,rank_diff``; ``param_count`` may contain a
thousands separator (``"1,013.01"``). The set name is the file name after ``results-``
(``sketch`` is read as ``imagenet-sketch``). A model evaluated at several image sizes is named
``<model>@<img_size>`` everywhere, as timm joins tables on (model, img_size).

imagenet-testbed format (Taori et al. 2020): ``model,<setting>,...`` with top-1 in percent;
the settings in :data:`TESTBED_SETTINGS` are read, ImageNet-C from one evaluation mode
(``_on-disk`` by default: the released JPEG files; ``_in-memory`` corrupts val on the fly).

Image counts ``n`` (needed for gap intervals and plot error bars) come from
:data:`KNOWN_SIZES` or ``--n NAME=N``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .analysis import (
    ACCURACY_COLUMNS,
    Analysis,
    AnalysisOptions,
    add_analysis_arguments,
    analyze,
    gaps_from_counts,
    imagenet_c_parts,
    options_from_args,
    write_analysis,
)

#: images per test set, from the dataset papers and timm's results README
KNOWN_SIZES: dict[str, int] = {
    "imagenet": 50_000,
    "imagenet-real": 46_837,  # val images with at least one ReaL label
    "imagenetv2-matched-frequency": 10_000,
    "imagenetv2-threshold-0.7": 10_000,
    "imagenetv2-top-images": 10_000,
    "imagenet-sketch": 50_889,
    "imagenet-r": 30_000,
    "imagenet-r-clean": 10_000,  # val images of ImageNet-R's 200 classes
    "imagenet-a": 7_500,
    "imagenet-a-clean": 10_000,  # val images of ImageNet-A's 200 classes
}
#: every ImageNet-C set is the 50,000 val images, corrupted
IMAGENET_C_SIZE = 50_000
#: class-matched baselines; a set not listed here is compared with the general baseline
KNOWN_BASELINES = {"imagenet-r": "imagenet-r-clean", "imagenet-a": "imagenet-a-clean",
                   "objectnet": "objectnet-clean"}
#: sets that are baselines themselves
BASELINE_SETS = frozenset({"imagenet", "imagenet-r-clean", "imagenet-a-clean", "objectnet-clean"})
TIMM_SET_ALIASES = {"sketch": "imagenet-sketch"}
TIMM_REQUIRED = ("model", "img_size", "top1")
#: imagenet-testbed setting -> test-set name (ImageNet-C columns are handled separately)
TESTBED_SETTINGS = {
    "val": "imagenet",
    "imagenetv2-matched-frequency-format-val": "imagenetv2-matched-frequency",
    "imagenetv2-threshold-0.7-format-val": "imagenetv2-threshold-0.7",
    "imagenetv2-top-images-format-val": "imagenetv2-top-images",
    "imagenet-sketch": "imagenet-sketch",
    "imagenet-r": "imagenet-r",
    "val-on-imagenet-r-classes": "imagenet-r-clean",
    "imagenet-a": "imagenet-a",
    "val-on-imagenet-a-classes": "imagenet-a-clean",
    "objectnet-1.0-beta": "objectnet",
    "val-on-objectnet-classes": "objectnet-clean",
}
C_MODES = ("on-disk", "in-memory")


class TableFormatError(ValueError):
    """A published table does not have the expected columns or values."""


def timm_set_name(path: str | Path) -> str:
    """``.../timm-results-imagenet-r.csv`` -> ``imagenet-r``; ``results-sketch.csv`` -> sketch alias."""
    stem = Path(path).stem
    name = stem.split("results-", 1)[1] if "results-" in stem else stem
    return TIMM_SET_ALIASES.get(name, name)


def read_timm_csv(path: str | Path) -> pd.DataFrame:
    """A timm results CSV with numeric columns (thousands separators and ``+`` signs parsed)."""
    path = Path(path)
    try:
        table = pd.read_csv(path, thousands=",")
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise TableFormatError(f"{path}: cannot read as CSV ({exc})") from exc
    missing = [c for c in TIMM_REQUIRED if c not in table.columns]
    if missing:
        raise TableFormatError(
            f"{path}: missing column(s) {missing}; a timm results table has the header "
            "model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation "
            "(pass the imagenet-testbed wide CSV as is: it is recognised by its 'val' column)")
    for column in ("top1", "top5", "top1_err", "top5_err", "top1_diff", "top5_diff", "rank_diff",
                   "param_count", "img_size"):
        if column in table.columns:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    bad = table["top1"].isna() | (table["top1"] < 0) | (table["top1"] > 100)
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 2
        raise TableFormatError(f"{path}, line {row}: top1 must be a percentage in [0, 100]; "
                               "fix or delete that row")
    return table


def is_testbed_csv(path: str | Path) -> bool:
    """Whether the header is imagenet-testbed's wide layout (``model`` and a ``val`` column)."""
    with open(path, encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    return bool(header) and header[0] == "model" and "val" in header and "top1" not in header


def model_labels(tables: Sequence[pd.DataFrame]) -> dict[tuple[str, int], str]:
    """(model, img_size) -> name; ``model@img_size`` for models listed at several sizes."""
    pairs = {(str(m), int(s)) for t in tables for m, s in zip(t["model"], t["img_size"],
                                                               strict=True)}
    sizes: dict[str, int] = {}
    for model, _ in pairs:
        sizes[model] = sizes.get(model, 0) + 1
    return {(m, s): (m if sizes[m] == 1 else f"{m}@{s}") for m, s in pairs}


def set_size(name: str, sizes: Mapping[str, int]) -> float:
    """Images in ``name``: ``sizes`` first, then :data:`KNOWN_SIZES`, ImageNet-C; else NaN."""
    if name in sizes:
        return float(sizes[name])
    if name in KNOWN_SIZES:
        return float(KNOWN_SIZES[name])
    return float(IMAGENET_C_SIZE) if imagenet_c_parts(name) is not None else np.nan


def baseline_of(name: str, general: str, present: set[str]) -> str | None:
    """The set ``name`` is compared with: its class-matched set if present, else ``general``."""
    if name in BASELINE_SETS or name == general:
        return None
    matched = KNOWN_BASELINES.get(name)
    if matched is not None:
        return matched if matched in present else None
    return general


def timm_accuracy_frame(paths: Sequence[str | Path], baseline: str | Path | None = None,
                        sizes: Mapping[str, int] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Accuracy frame of timm result CSVs; the general baseline is ``baseline`` or the first file.

    ImageNet-R and -A are compared with their ``-clean`` tables when those are given.
    """
    paths = [Path(p) for p in paths]
    base_path = Path(baseline) if baseline is not None else paths[0]
    if base_path.resolve() not in {p.resolve() for p in paths}:
        paths = [base_path, *paths]
    tables = {timm_set_name(p): read_timm_csv(p) for p in paths}
    if len(tables) != len(paths):
        raise TableFormatError(f"two of the tables {[str(p) for p in paths]} name the same test "
                               "set; pass one file per set")
    labels = model_labels(list(tables.values()))
    general = timm_set_name(base_path)
    present = set(tables)
    frames, notes = [], []
    for name, table in tables.items():
        base = baseline_of(name, general, present)
        if name in KNOWN_BASELINES and base is None:
            notes.append(f"{name}: its class-matched baseline {KNOWN_BASELINES[name]} was not "
                         "given, so it has no gaps or fits")
        frames.append(pd.DataFrame({
            "model": [labels[(str(m), int(s))] for m, s in zip(table["model"], table["img_size"],
                                                               strict=True)],
            "test_set": name, "baseline": base, "top1": table["top1"].astype(float),
            "n": set_size(name, sizes or {}),
        }))
    return pd.concat(frames, ignore_index=True)[ACCURACY_COLUMNS], notes


def testbed_accuracy_frame(path: str | Path, c_mode: str = "on-disk",
                           sizes: Mapping[str, int] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Accuracy frame of the imagenet-testbed wide CSV (settings of :data:`TESTBED_SETTINGS`
    and ImageNet-C columns ``imagenet-c.<corruption>.<severity>_<c_mode>``)."""
    if c_mode not in C_MODES:
        raise ValueError(f"ImageNet-C mode must be one of {C_MODES}, got {c_mode!r}")
    path = Path(path)
    wide = pd.read_csv(path)
    if "model" not in wide.columns or "val" not in wide.columns:
        raise TableFormatError(f"{path}: expected imagenet-testbed's wide layout "
                               "'model,<setting>,...' with a 'val' column (top-1 in percent)")
    names: dict[str, str] = {}
    for column in wide.columns[1:]:
        if column in TESTBED_SETTINGS:
            names[column] = TESTBED_SETTINGS[column]
        elif column.endswith(f"_{c_mode}") and imagenet_c_parts(column[: -len(c_mode) - 1]):
            names[column] = column[: -len(c_mode) - 1]
    skipped = [c for c in wide.columns[1:] if c not in names]
    long = wide.melt(id_vars="model", value_vars=list(names), var_name="setting",
                     value_name="top1").dropna(subset=["top1"])
    long["top1"] = pd.to_numeric(long["top1"], errors="coerce")
    if long["top1"].isna().any() or not long["top1"].between(0, 100).all():
        raise TableFormatError(f"{path}: top-1 values must be percentages in [0, 100]")
    long["test_set"] = long["setting"].map(names)
    present = set(long["test_set"])
    long["baseline"] = [baseline_of(t, "imagenet", present) for t in long["test_set"]]
    long["n"] = [set_size(t, sizes or {}) for t in long["test_set"]]
    notes = [f"{path.name}: {len(skipped)} setting(s) not read (other ImageNet-C mode, "
             f"perturbations, video sets, ...): {', '.join(skipped[:6])} ..."] if skipped else []
    return long[ACCURACY_COLUMNS].reset_index(drop=True), notes


def published_accuracy_frame(paths: Sequence[str | Path], baseline: str | Path | None = None,
                             sizes: Mapping[str, int] | None = None,
                             c_mode: str = "on-disk") -> tuple[pd.DataFrame, list[str]]:
    """One accuracy frame of timm CSVs and/or testbed CSVs; first occurrence of a (model, set)
    wins when the inputs overlap."""
    testbed = [Path(p) for p in paths if is_testbed_csv(p)]
    timm = [Path(p) for p in paths if Path(p) not in testbed]
    frames, notes = [], []
    if timm:
        frame, more = timm_accuracy_frame(timm, baseline, sizes)
        frames.append(frame)
        notes += more
    for path in testbed:
        frame, more = testbed_accuracy_frame(path, c_mode, sizes)
        frames.append(frame)
        notes += more
    acc = pd.concat(frames, ignore_index=True)
    dup = acc.duplicated(["model", "test_set"])
    if dup.any():
        notes.append(f"{int(dup.sum())} (model, test set) pair(s) appear in several inputs; "
                     "kept the first")
        acc = acc[~dup].reset_index(drop=True)
    return acc, notes


def analyze_published(paths: Sequence[str | Path], baseline: str | Path | None = None,
                      sizes: Mapping[str, int] | None = None, c_mode: str = "on-disk",
                      options: AnalysisOptions | None = None) -> tuple[pd.DataFrame, Analysis]:
    """Accuracy frame and analysis (gaps with Newcombe intervals, fits, ER, corruptions)."""
    opts = options or AnalysisOptions()
    acc, notes = published_accuracy_frame(paths, baseline, sizes, c_mode)
    gaps, gap_notes = gaps_from_counts(acc, opts.alpha)
    return acc, analyze(acc, gaps, opts, [*notes, *gap_notes])


def parse_sizes(items: Sequence[str] | None) -> dict[str, int]:
    """``["objectnet=18574", ...]`` -> {name: n}; a clear error for anything else."""
    sizes = {}
    for item in items or []:
        name, _, value = item.partition("=")
        if not name or not value.strip().isdigit() or int(value) <= 0:
            raise SystemExit(f"--n {item!r}: expected NAME=N with N a positive image count, "
                             "e.g. --n objectnet=18574")
        sizes[name.strip()] = int(value)
    return sizes


def add_analyze_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``robustness analyze TABLES... --out DIR`` to a subparsers object."""
    parser = subparsers.add_parser(
        "analyze", help="gaps, fits and corruption metrics from published result tables")
    add_analyze_arguments(parser)
    parser.set_defaults(func=run_analyze)
    return parser


def add_analyze_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tables", nargs="+", type=Path, metavar="TABLES",
                        help="timm results CSVs (results-<set>.csv) and/or the imagenet-testbed "
                        "wide CSV")
    parser.add_argument("--out", type=Path, required=True, help="folder for tables and plots")
    parser.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                        help="timm table that shifted sets are compared with (default: the "
                        "first; ImageNet-R/-A use their -clean tables when given)")
    parser.add_argument("--n", action="append", metavar="NAME=N",
                        help="images in test set NAME (overrides the built-in sizes)")
    parser.add_argument("--imagenet-c-mode", choices=C_MODES, default="on-disk",
                        help="which imagenet-testbed ImageNet-C columns to read")
    add_analysis_arguments(parser)


def run_analyze(args: argparse.Namespace) -> int:
    """``robustness analyze``: print the written paths; 1 on unreadable tables."""
    missing = [str(p) for p in args.tables if not Path(p).is_file()]
    if missing:
        print(f"no such table(s): {', '.join(missing)}", file=sys.stderr)
        return 1
    options = options_from_args(args)
    try:
        acc, result = analyze_published(args.tables, args.baseline, parse_sizes(args.n),
                                        args.imagenet_c_mode, options)
    except TableFormatError as exc:
        print(exc, file=sys.stderr)
        return 1
    for path in write_analysis(acc, result, args.out, options):
        print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m robustness.report.published TABLES... --out DIR`` (same as ``robustness analyze``)."""
    parser = argparse.ArgumentParser(prog="python -m robustness.report.published",
                                     description="gaps, fits and corruption metrics from "
                                     "published result tables")
    add_analyze_arguments(parser)
    return run_analyze(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
