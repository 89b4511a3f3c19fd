"""Figures for a robustness report, written as PNG and SVG from plain arrays and DataFrames.

* :func:`plot_accuracy_on_the_line` -- new-set accuracy against original accuracy on probit
  or logit axes labelled in percent, Clopper-Pearson error bars, fitted line with its
  bootstrap band, and y = x.
* :func:`plot_corruption_heatmap` -- error (or accuracy) per corruption and severity.
* :func:`plot_gap_bars` -- accuracy gaps with their intervals.

Inputs are fractions in [0, 1]; labels print percent. The Agg backend is selected here,
so importing this module never needs a display (the package root does not import it).
Each function returns the paths written: ``<stem>.png`` and ``<stem>.svg``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter  # noqa: E402

from robustness.stats.fits import (  # noqa: E402
    FitResult,
    fit_band,
    inverse_transform,
    transform,
)
from robustness.stats.intervals import clopper_pearson  # noqa: E402

DPI = 100
PERCENT_TICKS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def save_figure(fig: Figure, stem: str | Path, dpi: int = DPI) -> list[Path]:
    """Write ``fig`` as <stem>.png (at ``dpi``) and <stem>.svg, close it, return the paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")]
    fig.savefig(paths[0], dpi=dpi)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def _percent_axis(axis, kind: str, low: float, high: float) -> None:
    """Place ticks at round percentages on a transformed axis."""
    ticks = [p for p in PERCENT_TICKS if low <= p <= high] or [low, high]
    axis.set_major_locator(FixedLocator(transform(ticks, kind)))
    axis.set_major_formatter(
        FuncFormatter(lambda value, _: f"{100 * inverse_transform(value, kind):.0f}%"))


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
) -> list[Path]:
    """Scatter of per-model accuracies on ``kind`` axes with 95% Clopper-Pearson bars.

    Args:
        acc_orig, acc_new: per-model accuracies (fractions) on sets of n_orig and n_new images.
        fit: optional line from ``fit_line`` with the same ``kind``; drawn with its bootstrap
            band when the fit has resamples.
        labels: optional model names, written next to the points.
    """
    x_acc = np.asarray(acc_orig, dtype=np.float64)
    y_acc = np.asarray(acc_new, dtype=np.float64)
    if fit is not None and fit.transform != kind:
        raise ValueError(f"fit was made on {fit.transform!r} axes but the plot uses {kind!r}")
    x_ci = clopper_pearson(np.round(x_acc * n_orig), n_orig)
    y_ci = clopper_pearson(np.round(y_acc * n_new), n_new)
    x, y = transform(x_acc, kind), transform(y_acc, kind)
    x_err = np.abs(np.stack([x - transform(x_ci.low, kind), transform(x_ci.high, kind) - x]))
    y_err = np.abs(np.stack([y - transform(y_ci.low, kind), transform(y_ci.high, kind) - y]))

    lo = max(min(x_acc.min(), y_acc.min()) - 0.05, 0.005)
    hi = min(max(x_acc.max(), y_acc.max()) + 0.03, 0.995)
    grid = np.linspace(lo, hi, 200)

    fig, ax = plt.subplots(figsize=figsize)
    ax.plot(transform(grid, kind), transform(grid, kind), color="grey", linestyle="--",
            linewidth=1, label="y = x")
    if fit is not None:
        ax.plot(transform(grid, kind), transform(fit.predict(grid), kind), color="tab:red",
                label=f"fit (slope {fit.slope:.2f}, R² {fit.r_squared:.3f})")
        if fit.bootstrap_slopes is not None:
            band_low, band_high = fit_band(fit, grid)
            ax.fill_between(transform(grid, kind), transform(band_low, kind),
                            transform(band_high, kind), color="tab:red", alpha=0.2,
                            linewidth=0, label="95% bootstrap band")
    ax.errorbar(x, y, xerr=x_err, yerr=y_err, fmt="o", markersize=3, color="tab:blue",
                elinewidth=0.8, label="models (95% Clopper-Pearson)")
    for name, px, py in zip(labels or [], x, y, strict=False):
        ax.annotate(name, (px, py), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlim(transform(lo, kind), transform(hi, kind))
    ax.set_ylim(transform(lo, kind), transform(hi, kind))
    _percent_axis(ax.xaxis, kind, lo, hi)
    _percent_axis(ax.yaxis, kind, lo, hi)
    ax.set_xlabel(f"{xlabel} ({kind} scale)")
    ax.set_ylabel(f"{ylabel} ({kind} scale)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
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
    fig, ax = plt.subplots(figsize=figsize)
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
    fig, ax = plt.subplots(figsize=figsize)
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
