"""The report's files: CSV tables, ``notes.txt``, plots and the HTML folder, from an analysis.

:mod:`.analysis` computes (gaps, fits, effective robustness, corruption tables); this module
writes what it computed. ``robustness report`` is :func:`write_report` (store -> files),
``robustness analyze`` is :func:`write_analysis` on published tables.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..datasets.catalogue import IMAGENET_C, SET_GROUPS
from ..store import Store
from .analysis import Analysis, AnalysisOptions, group_member, report_from_store
from .tables import write_tables

#: percent columns written with 3 decimals (timm's precision); other floats with 6 digits
PERCENT_COLUMNS = ("baseline_top1", "shift_top1", "gap", "gap_low", "gap_high", "er", "error",
                   "ce", "relative_ce", "mce", "relative_mce", "mce_unnormalized_15",
                   "mce_unnormalized_19", "clean_error", "accuracy", "mean_confidence", "ece",
                   "ece_low", "ece_high", "ece_equal_mass", "ece_equal_mass_low",
                   "ece_equal_mass_high", "aurc", "aurc_low", "aurc_high", "excess_aurc", "aupr",
                   "aupr_low", "aupr_high", "auroc", "auroc_low", "auroc_high", "aupr_chance")
#: gap bar plots show at most this many models (the best on the baseline set)
MAX_GAP_BARS = 40


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    rounded = frame.copy()
    for column in PERCENT_COLUMNS:
        if column in rounded.columns:
            rounded[column] = rounded[column].astype(float).round(3)
    rounded.to_csv(path, index=False, float_format="%.6g")
    return path


def write_plots(acc: pd.DataFrame, result: Analysis, out: Path,
                options: AnalysisOptions | None = None) -> list[Path]:
    """Accuracy-on-the-line (non-ImageNet-C shifts and the ImageNet-C mean), gap bars per shift,
    and the corruption heatmap (mean error over models), under ``out`` as PNG and SVG."""
    # matplotlib is imported only when plots are drawn (``--no-plots`` reports skip it)
    from .plots import plot_accuracy_on_the_line, plot_corruption_heatmap, plot_gap_bars
    from .views import line_views

    written: list[Path] = []
    views, notes = line_views(acc, result, options)
    result.notes.extend(notes)
    for view in views:
        written += plot_accuracy_on_the_line(
            stem=out / f"accuracy_on_the_line_{_file_part(view.shift)}", **view.plot_arguments())
    for shift, group in result.gaps.groupby("shift", sort=True):
        if group_member(shift) is not None:
            continue
        if len(group) > MAX_GAP_BARS:
            result.notes.append(f"plot gaps_{_file_part(shift)}: the {MAX_GAP_BARS} models with "
                                f"the highest baseline top1 of {len(group)}")
            group = group.nlargest(MAX_GAP_BARS, "baseline_top1")
        group = group.sort_values("gap")
        outside = (group["gap_low"] > group["gap"]) | (group["gap"] > group["gap_high"])
        if outside.any():  # a percentile bootstrap interval can miss its estimate on tiny sets
            result.notes.append(f"plot gaps_{_file_part(shift)}: skipped, the interval of "
                                f"{', '.join(group.loc[outside, 'model'])} excludes its gap")
            continue
        written += plot_gap_bars(
            list(group["model"]), group["gap"] / 100.0, group["gap_low"] / 100.0,
            group["gap_high"] / 100.0, out / f"gaps_{_file_part(shift)}",
            ylabel=f"{shift} - {group['baseline'].iloc[0]} top-1 (points)")
    heatmaps = {"corruption_heatmap": (result.corruptions, IMAGENET_C)}
    heatmaps.update({f"corruption_heatmap_{_file_part(name)}": (table, SET_GROUPS[name])
                     for name, table in result.group_corruptions.items()})
    for file_name, (table, set_group) in heatmaps.items():
        if table.empty:
            continue
        mean = table.pivot_table(index="corruption", columns="severity", values="error",
                                 aggfunc="mean")
        n_models = table["model"].nunique()
        written += plot_corruption_heatmap(
            mean / 100.0, out / file_name,
            value_name=f"{set_group.title} top-1 error, mean of {n_models} model(s)")
    return written


def write_beyond_accuracy_plots(result: Analysis, out: Path) -> list[Path]:
    """ECE against severity per set group of corrupted copies, reliability diagrams per model
    (clean baseline and most severe pool), ImageNet-P flip probability per perturbation."""
    from .calibration import ece_by_severity
    from .plots import plot_ece_by_severity, plot_reliability

    written: list[Path] = []
    table = result.calibration
    if not table.empty:
        for group in sorted(g for g in table["group"].unique() if g):
            written += plot_ece_by_severity(
                ece_by_severity(table, group), out / f"calibration_ece_{_file_part(group)}",
                title=f"{SET_GROUPS[group].title}: ECE by severity (15 equal-width bins)")
        for model, panels in sorted(result.reliability.items()):
            written += plot_reliability(panels, out / f"reliability_{_file_part(model)}",
                                        title=f"{model}: reliability (15 equal-width bins)")
    if not result.stability.empty:
        from .stability import plot_flip_rates

        written += plot_flip_rates(result.stability, out)
    return written


def _file_part(name: str) -> str:
    """A file-name part for a set name: runs of other characters (dots too, which
    ``Path.with_suffix`` would eat) become one underscore."""
    return re.sub(r"[^A-Za-z0-9+-]+", "_", name).strip("_")


def write_analysis(acc: pd.DataFrame, result: Analysis, out: str | Path,
                   options: AnalysisOptions | None = None) -> list[Path]:
    """Write ``gaps.csv``, ``fits.csv``, ``effective_robustness.csv``, ``corruptions.csv``
    (when ImageNet-C sets exist), ``notes.txt`` and the plots under ``out/plots``."""
    opts = options or AnalysisOptions()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [_write_csv(result.gaps, out / "gaps.csv"),
               _write_csv(result.fits, out / "fits.csv"),
               _write_csv(result.effective_robustness, out / "effective_robustness.csv")]
    if not result.corruptions.empty:
        written.append(_write_csv(result.corruptions, out / "corruptions.csv"))
    for group, table in result.group_corruptions.items():
        written.append(_write_csv(table, out / f"corruptions-{group}.csv"))
    for name, table in (("calibration", result.calibration), ("ood", result.ood),
                        ("stability", result.stability)):
        if not table.empty:
            written.append(_write_csv(table, out / f"{name}.csv"))
    if opts.plots:
        written += write_plots(acc, result, out / "plots", opts)
        written += write_beyond_accuracy_plots(result, out / "plots")
    notes = out / "notes.txt"
    notes.write_text("".join(f"{line}\n" for line in result.notes))
    written.append(notes)
    return written


def write_report(store: Store, out: str | Path, options: AnalysisOptions | None = None) -> list[Path]:
    """``robustness report``: per-test-set CSVs (tables.write_tables) plus the analysis tables,
    and the HTML report under ``out/html`` when ``options.html``."""
    acc, result = report_from_store(store, options)
    diff_rule = options.diff_rule if options is not None else AnalysisOptions().diff_rule
    written = write_tables(store, out, diff_rule=diff_rule) + write_analysis(acc, result, out, options)
    if options is not None and options.html:
        from .html import write_html_from_store

        written += write_html_from_store(store, Path(out) / "html", acc, result, options)
    return written
