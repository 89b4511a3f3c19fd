"""Figures for a robustness report, written as PNG and SVG from plain arrays and DataFrames.

* :func:`accuracy_on_the_line_figure` / :func:`plot_accuracy_on_the_line` -- new-set accuracy
  against original accuracy on probit or logit axes labelled in percent, Clopper-Pearson error
  bars, the fitted line with its bootstrap band, and y = x. Models left out of the fit get
  their own marker and legend entry, model kinds (when given) their own marker shapes, and the
  model names are placed without overlap (adjustText); models whose markers overlap share one
  label.
* :func:`plot_corruption_heatmap` -- error (or accuracy) per corruption and severity.
* :func:`plot_gap_bars` -- accuracy gaps with their intervals.

Inputs are fractions in [0, 1]; labels print percent. Figures are built as
``matplotlib.figure.Figure`` objects on an Agg canvas, never through ``pyplot``, so importing
or calling this module neither needs a display nor changes the user's matplotlib backend.
Each ``plot_*`` function returns the paths written: ``<stem>.png`` and ``<stem>.svg``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter

from robustness.stats.fits import (
    FitResult,
    fit_band,
    inverse_transform,
    transform,
)
from robustness.stats.intervals import clopper_pearson

DPI = 100
PERCENT_TICKS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
#: gid of the model-name labels of an accuracy-on-the-line figure (tests find them by it)
LABEL_GID = "model-label"
#: marker size of the model points (points, matplotlib's ``markersize``)
MARKER_SIZE = 5.0
#: marker shape per model kind; kinds not listed get the next of ``EXTRA_MARKERS``
KIND_MARKERS = {"imagenet-trained": "o", "zero-shot": "^", "cnn": "o", "vit": "s"}
EXTRA_MARKERS = ("D", "v", "P", "X", "h", "<", ">")
FIT_COLOR, EXCLUDED_COLOR = "tab:blue", "tab:orange"


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure on its own Agg canvas (no pyplot, so the global backend is left alone)."""
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, stem: str | Path, dpi: int = DPI) -> list[Path]:
    """Write ``fig`` as <stem>.png (at ``dpi``) and <stem>.svg, return the paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")]
    fig.savefig(paths[0], dpi=dpi)
    fig.savefig(paths[1])
    return paths


def _percent_axis(axis, kind: str, low: float, high: float) -> None:
    """Place ticks at round percentages on a transformed axis."""
    ticks = [p for p in PERCENT_TICKS if low <= p <= high] or [low, high]
    axis.set_major_locator(FixedLocator(transform(ticks, kind)))
    axis.set_major_formatter(
        FuncFormatter(lambda value, _: f"{100 * inverse_transform(value, kind):.0f}%"))


def kind_markers(kinds: Sequence[str]) -> dict[str, str]:
    """A marker shape per distinct kind: the fixed ones of ``KIND_MARKERS``, others in turn."""
    extra = iter(EXTRA_MARKERS * (1 + len(kinds)))
    return {k: KIND_MARKERS.get(k) or next(extra) for k in sorted(set(kinds))}


def tie_groups(points: np.ndarray, radius: float) -> list[list[int]]:
    """Indices of points that lie within ``radius`` of each other (single linkage), each group
    sorted, groups ordered by their first index. ``points`` is (n, 2) in display units."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    parent = list(range(len(points)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(points)):
        for j in range(i + 1, len(points)):
            if np.hypot(*(points[i] - points[j])) <= radius:
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(points)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


#: fewest distinct fit models for a bootstrap band: with 3, every resample that holds 3
#: distinct models is the data itself, so the band would have no width
MIN_BAND_MODELS = 4


def band_resamples(fit: FitResult, acc_orig, acc_new) -> FitResult:
    """``fit`` keeping only the bootstrap lines of resamples with at least 3 distinct models.

    A resample holding only two distinct models fits the line through those two points
    exactly (its slope may be 0 when they tie on the new set): it carries no spread of a fit
    and, with a handful of models, decides the band's quantiles far from the data (the flat
    bar of issue #14). Such a line passes through two of the fitted points; ``acc_orig`` and
    ``acc_new`` are the fitted models' accuracies (fractions), on the fit's scale.
    """
    if fit.bootstrap_slopes is None or fit.bootstrap_intercepts is None:
        return fit
    x = transform(acc_orig, fit.transform)
    y = transform(acc_new, fit.transform)
    slopes, intercepts = fit.bootstrap_slopes, fit.bootstrap_intercepts
    residuals = y[None, :] - (intercepts[:, None] + slopes[:, None] * x[None, :])
    scale = max(1.0, float(np.abs(y).max()))
    through = (np.abs(residuals) <= 1e-9 * scale).sum(axis=1)
    keep = through < 2
    return replace(fit, bootstrap_slopes=slopes[keep], bootstrap_intercepts=intercepts[keep])


def band_domain(acc_fit: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Where the bootstrap band of a line fitted on ``acc_fit`` (original accuracies of the fit
    models, fractions) is defined: the grid points inside the fitted models' range, and none
    when fewer than ``MIN_BAND_MODELS`` distinct models were fitted.

    Outside that range a bootstrap over models extrapolates from resamples that may hold a
    single end of the range; the band is not an interval for the line there, so it is not drawn.
    """
    acc_fit = np.asarray(acc_fit, dtype=np.float64)
    if np.unique(acc_fit).size < MIN_BAND_MODELS:
        return np.zeros(len(grid), dtype=bool)
    return (grid >= acc_fit.min()) & (grid <= acc_fit.max())


def line_band(fit: FitResult, acc_orig, acc_new, in_fit,
              grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 95% band of ``fit`` over ``grid`` (fractions) as drawn: (low, high, defined), from
    the resamples of :func:`band_resamples`, defined where :func:`band_domain` says."""
    in_fit = np.asarray(in_fit, dtype=bool)
    x_fit = np.asarray(acc_orig, dtype=np.float64)[in_fit]
    y_fit = np.asarray(acc_new, dtype=np.float64)[in_fit]
    grid = np.asarray(grid, dtype=np.float64)
    proper = band_resamples(fit, x_fit, y_fit)
    defined = band_domain(x_fit, grid)
    if proper.bootstrap_slopes is None or proper.bootstrap_slopes.size == 0:
        return np.full(grid.shape, np.nan), np.full(grid.shape, np.nan), np.zeros_like(defined)
    low, high = fit_band(proper, grid)
    defined &= np.isfinite(low) & np.isfinite(high)
    return low, high, defined


@dataclass(frozen=True)
class ModelPoints:
    """Per-model inputs of an accuracy-on-the-line plot (fractions; one entry per model)."""

    acc_orig: np.ndarray
    acc_new: np.ndarray
    names: tuple[str, ...]
    in_fit: np.ndarray  # bool: the model is one the line was fitted on
    kinds: tuple[str, ...] | None


def _model_points(acc_orig, acc_new, labels, excluded, kinds) -> ModelPoints:
    x = np.asarray(acc_orig, dtype=np.float64)
    y = np.asarray(acc_new, dtype=np.float64)
    n = x.size
    names = tuple(labels) if labels is not None else ()
    in_fit = (np.ones(n, dtype=bool) if excluded is None
              else ~np.asarray(excluded, dtype=bool))
    kind_tuple = None
    if kinds is not None:
        kind_tuple = tuple("unknown" if k is None or k != k else str(k) for k in kinds)
    for what, values in (("labels", names or None), ("excluded", excluded), ("kinds", kind_tuple)):
        if values is not None and len(values) != n:
            raise ValueError(f"{what} needs one entry per model ({n}), got {len(values)}")
    return ModelPoints(x, y, names, in_fit, kind_tuple)


def _place_labels(fig: Figure, ax, px: np.ndarray, py: np.ndarray, names: Sequence[str]) -> list:
    """Write the model names beside their points without overlap; returns the Text artists.

    Points whose markers overlap (centres closer than one marker) get one label listing all
    their names; adjustText then moves the labels off each other and off the points.
    """
    from adjustText import adjust_text

    fig.canvas.draw()
    display = ax.transData.transform(np.column_stack([px, py]))
    radius = MARKER_SIZE * fig.dpi / 72.0
    texts = []
    for group in tie_groups(display, radius):
        gx, gy = float(np.mean(px[group])), float(np.mean(py[group]))
        texts.append(ax.text(gx, gy, ", ".join(names[i] for i in group), fontsize=7,
                             gid=LABEL_GID, ha="left", va="bottom", zorder=5,
                             bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                                   "edgecolor": "none", "alpha": 0.75}))
    if len(texts) > 1 or len(px) > 1:
        adjust_text(texts, x=list(px), y=list(py), ax=ax, ensure_inside_axes=True,
                    expand=(1.15, 1.4), force_text=(0.3, 0.5), iter_lim=500,
                    arrowprops={"arrowstyle": "-", "color": "grey", "lw": 0.5})
    return texts


def accuracy_on_the_line_figure(
    acc_orig,
    acc_new,
    n_orig: int,
    n_new: int,
    kind: str = "probit",
    fit: FitResult | None = None,
    labels: Sequence[str] | None = None,
    xlabel: str = "original test set top-1",
    ylabel: str = "new test set top-1",
    figsize: tuple[float, float] = (6.0, 5.0),
    excluded: Sequence[bool] | None = None,
    kinds: Sequence[str] | None = None,
    dpi: int = DPI,
) -> Figure:
    """Scatter of per-model accuracies on ``kind`` axes with 95% Clopper-Pearson bars.

    Args:
        acc_orig, acc_new: per-model accuracies (fractions) on sets of n_orig and n_new images.
        fit: optional line from ``fit_line`` with the same ``kind``; drawn with its bootstrap
            band where it is defined (:func:`line_band`: resamples of at least 3 distinct
            models, over the fitted models' range, at least ``MIN_BAND_MODELS`` of them).
        labels: optional model names, written next to the points without overlap.
        excluded: per model, True when it was left out of the fit: drawn as an open marker in
            another colour, with its own legend entry.
        kinds: optional model kind per model (``imagenet-trained``, ``zero-shot``, ...): one
            marker shape per kind, with a legend entry each when there are several.
    """
    pts = _model_points(acc_orig, acc_new, labels, excluded, kinds)
    x_acc, y_acc = pts.acc_orig, pts.acc_new
    if fit is not None and fit.transform != kind:
        raise ValueError(f"fit was made on {fit.transform!r} axes but the plot uses {kind!r}")
    x_ci = clopper_pearson(np.round(x_acc * n_orig), n_orig)
    y_ci = clopper_pearson(np.round(y_acc * n_new), n_new)
    x, y = transform(x_acc, kind), transform(y_acc, kind)
    x_err = np.abs(np.stack([x - transform(x_ci.low, kind), transform(x_ci.high, kind) - x]))
    y_err = np.abs(np.stack([y - transform(y_ci.low, kind), transform(y_ci.high, kind) - y]))

    lo = max(min(x_acc.min(), y_acc.min()) - 0.05, 0.005)
    hi = min(max(x_acc.max(), y_acc.max()) + 0.03, 0.995)
    grid = np.linspace(lo, hi, 400)

    fig = new_figure(figsize)
    fig.set_dpi(dpi)
    ax = fig.add_subplot()
    handles = [ax.plot(transform(grid, kind), transform(grid, kind), color="grey",
                       linestyle="--", linewidth=1, label="y = x")[0]]
    if fit is not None:
        handles.append(ax.plot(transform(grid, kind), transform(fit.predict(grid), kind),
                               color="tab:red",
                               label=f"fit (slope {fit.slope:.2f}, R² {fit.r_squared:.3f})")[0])
        if fit.bootstrap_slopes is not None:
            band_low, band_high, inside = line_band(fit, x_acc, y_acc, pts.in_fit, grid)
            if inside.any():
                handles.append(ax.fill_between(
                    transform(grid[inside], kind), transform(band_low[inside], kind),
                    transform(band_high[inside], kind), color="tab:red", alpha=0.2,
                    linewidth=0, label="95% bootstrap band (over the fitted models' range)"))
    markers = kind_markers(pts.kinds) if pts.kinds is not None else {}
    kinds_of = pts.kinds or ("",) * x.size
    for in_fit in (True, False):
        for kind_name in sorted(set(kinds_of)):
            sel = (pts.in_fit == in_fit) & np.array([k == kind_name for k in kinds_of])
            if not sel.any():
                continue
            color = FIT_COLOR if in_fit else EXCLUDED_COLOR
            ax.errorbar(x[sel], y[sel], xerr=x_err[:, sel], yerr=y_err[:, sel],
                        fmt=markers.get(kind_name, "o"), markersize=MARKER_SIZE, color=color,
                        markerfacecolor=color if in_fit else "white", markeredgewidth=1.2,
                        elinewidth=0.8, zorder=3 if in_fit else 4)
    handles.append(Line2D([], [], marker="o", color=FIT_COLOR, linestyle="none",
                          markersize=MARKER_SIZE,
                          label="models in the fit (95% Clopper-Pearson)"))
    if not pts.in_fit.all():
        handles.append(Line2D([], [], marker="o", color=EXCLUDED_COLOR, markerfacecolor="white",
                              markeredgewidth=1.2, linestyle="none", markersize=MARKER_SIZE,
                              label=f"left out of the fit ({int((~pts.in_fit).sum())})"))
    if len(markers) > 1:
        handles += [Line2D([], [], marker=m, color="black", markerfacecolor="none",
                           linestyle="none", markersize=MARKER_SIZE, label=f"kind: {k}")
                    for k, m in markers.items()]
    ax.set_xlim(transform(lo, kind), transform(hi, kind))
    ax.set_ylim(transform(lo, kind), transform(hi, kind))
    _percent_axis(ax.xaxis, kind, lo, hi)
    _percent_axis(ax.yaxis, kind, lo, hi)
    ax.set_xlabel(f"{xlabel} ({kind} scale)")
    ax.set_ylabel(f"{ylabel} ({kind} scale)")
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, fontsize=7, loc="upper left")
    fig.tight_layout()
    if pts.names:
        _place_labels(fig, ax, x, y, pts.names)
    return fig


def model_labels(fig: Figure) -> list:
    """The model-name Text artists of a figure from :func:`accuracy_on_the_line_figure`."""
    return [t for ax in fig.axes for t in ax.texts if t.get_gid() == LABEL_GID]


def label_boxes(fig: Figure) -> list:
    """Display-space boxes (``Bbox``) of the model labels as rendered, their white backing
    boxes included: what must not overlap."""
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    boxes = []
    for text in model_labels(fig):
        patch = text.get_bbox_patch()
        boxes.append(patch.get_window_extent(renderer) if patch is not None
                     else text.get_window_extent(renderer))
    return boxes


def plot_accuracy_on_the_line(
    acc_orig,
    acc_new,
    n_orig: int,
    n_new: int,
    stem: str | Path,
    kind: str = "probit",
    fit: FitResult | None = None,
    labels: Sequence[str] | None = None,
    xlabel: str = "original test set top-1",
    ylabel: str = "new test set top-1",
    figsize: tuple[float, float] = (6.0, 5.0),
    excluded: Sequence[bool] | None = None,
    kinds: Sequence[str] | None = None,
) -> list[Path]:
    """:func:`accuracy_on_the_line_figure` written as ``<stem>.png`` and ``<stem>.svg``."""
    fig = accuracy_on_the_line_figure(acc_orig, acc_new, n_orig, n_new, kind, fit, labels,
                                      xlabel, ylabel, figsize, excluded, kinds)
    return save_figure(fig, stem)


def plot_corruption_heatmap(
    table: pd.DataFrame,
    stem: str | Path,
    value_name: str = "top-1 error",
    figsize: tuple[float, float] = (6.0, 7.0),
) -> list[Path]:
    """Heatmap of a corruption x severity table of fractions, annotated in percent.

    ``table`` has one row per corruption (index) and one column per severity (1..5).
    """
    values = table.to_numpy(dtype=np.float64)
    if np.nanmin(values) < 0 or np.nanmax(values) > 1:
        raise ValueError("heatmap values must be fractions in [0, 1] (divide percent by 100)")
    fig = new_figure(figsize)
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(values.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(values.shape[0]), [str(i) for i in table.index])
    ax.set_xlabel("severity")
    for (row, col), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(col, row, f"{100 * value:.0f}", ha="center", va="center", fontsize=7,
                    color="white" if value < 0.6 else "black")
    colorbar = fig.colorbar(image, ax=ax)
    colorbar.set_label(f"{value_name} (%)")
    colorbar.set_ticks(np.linspace(0, 1, 6), labels=[f"{t}" for t in range(0, 101, 20)])
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_gap_bars(
    labels: Sequence[str],
    gaps,
    lows,
    highs,
    stem: str | Path,
    ylabel: str = "accuracy gap (percentage points)",
    figsize: tuple[float, float] = (7.0, 4.0),
) -> list[Path]:
    """Bars of accuracy gaps (fractions) with interval whiskers [low, high], in points."""
    gap = np.asarray(gaps, dtype=np.float64)
    low, high = np.asarray(lows, dtype=np.float64), np.asarray(highs, dtype=np.float64)
    if not (len(labels) == gap.size == low.size == high.size):
        raise ValueError("labels, gaps, lows and highs need one entry per bar")
    if np.any(low > gap) or np.any(gap > high):
        raise ValueError("each interval must contain its gap: lows <= gaps <= highs")
    fig = new_figure(figsize)
    ax = fig.add_subplot()
    positions = np.arange(gap.size)
    ax.bar(positions, 100 * gap, color="tab:blue", alpha=0.8)
    ax.errorbar(positions, 100 * gap, yerr=100 * np.stack([gap - low, high - gap]), fmt="none",
                ecolor="black", capsize=3, linewidth=1)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(positions, list(labels), rotation=45, ha="right", fontsize=7)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_ece_by_severity(table: pd.DataFrame, stem: str | Path, title: str,
                         figsize: tuple[float, float] = (6.0, 4.0)) -> list[Path]:
    """ECE (percent) against shift intensity, one line per model: ``table`` has ``model``,
    ``severity`` (0 for the clean baseline) and ``ece`` (with ``ece_low``/``ece_high`` drawn as
    a band when present)."""
    fig = new_figure(figsize)
    ax = fig.add_subplot()
    for model, rows in table.sort_values("severity").groupby("model", sort=True):
        x, y = rows["severity"].to_numpy(float), rows["ece"].to_numpy(float)
        (line,) = ax.plot(x, y, marker="o", linewidth=1.2, markersize=4, label=model)
        if rows["ece_low"].notna().all():
            ax.fill_between(x, rows["ece_low"].to_numpy(float), rows["ece_high"].to_numpy(float),
                            color=line.get_color(), alpha=0.15, linewidth=0)
    ax.set_xlabel("severity (0: clean)")
    ax.set_ylabel("expected calibration error (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_reliability(diagrams: Sequence[tuple[str, Sequence[float], Sequence[float], Sequence[int]]],
                     stem: str | Path, title: str) -> list[Path]:
    """Reliability diagrams side by side: per panel (name, mean confidence per bin, accuracy per
    bin, images per bin), fractions; empty bins are left out. The diagonal is perfect
    calibration; bars below it are over-confident bins."""
    fig = new_figure((3.2 * len(diagrams), 3.4))
    for i, (name, confidence, accuracy, counts) in enumerate(diagrams):
        ax = fig.add_subplot(1, len(diagrams), i + 1)
        conf, acc, n = (np.asarray(v, dtype=float) for v in (confidence, accuracy, counts))
        keep = n > 0
        ax.bar(conf[keep], acc[keep], width=1.0 / max(len(n), 1), alpha=0.7, color="tab:blue",
               edgecolor="white")
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle="--")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence")
        if i == 0:
            ax.set_ylabel("accuracy")
        ax.set_title(name, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, stem)
