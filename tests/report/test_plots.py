"""Plots are written as valid PNG and SVG files of the requested size; the accuracy-on-the-line
plot names every model without overlapping labels, marks the models left out of the fit and
draws the bootstrap band only where it is defined."""

import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from demo_kind_store import DEMO_MODELS, build_demo_kind_store
from matplotlib.collections import PolyCollection
from PIL import Image

from robustness.report.analysis import AnalysisOptions, report_from_store
from robustness.report.plots import (
    DPI,
    MIN_BAND_MODELS,
    accuracy_on_the_line_figure,
    band_resamples,
    label_boxes,
    model_labels,
    plot_accuracy_on_the_line,
    plot_corruption_heatmap,
    plot_gap_bars,
    tie_groups,
)
from robustness.report.views import line_views
from robustness.stats.corruption import COMMON_CORRUPTIONS, alexnet_errors
from robustness.stats.fits import fit_line, transform

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_png(path, width_in, height_in):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    # IHDR is the first chunk: 4-byte length, b"IHDR", then big-endian width and height.
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (round(width_in * DPI), round(height_in * DPI))
    with Image.open(path) as image:
        image.verify()


def _assert_svg(path, width_in, height_in):
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    # matplotlib writes the size in points (72 per inch)
    assert float(root.get("width").removesuffix("pt")) == pytest.approx(72 * width_in)
    assert float(root.get("height").removesuffix("pt")) == pytest.approx(72 * height_in)
    assert len(list(root.iter())) > 20  # something was drawn


def _models(seed=0, n=25):
    rng = np.random.default_rng(seed)
    acc_orig = rng.uniform(0.55, 0.88, n)
    acc_new = np.clip(acc_orig - 0.11 + rng.normal(0, 0.01, n), 0, 1)
    return acc_orig, acc_new


@pytest.mark.parametrize("kind", ["probit", "logit"])
def test_accuracy_on_the_line_writes_png_and_svg(tmp_path, kind):
    acc_orig, acc_new = _models()
    fit = fit_line(acc_orig, acc_new, kind, n_bootstrap=200)
    paths = plot_accuracy_on_the_line(acc_orig, acc_new, 50_000, 10_000, tmp_path / "line",
                                      kind=kind, fit=fit, labels=[f"m{i}" for i in range(25)],
                                      figsize=(6.0, 5.0))
    assert [p.name for p in paths] == ["line.png", "line.svg"]
    _assert_png(paths[0], 6.0, 5.0)
    _assert_svg(paths[1], 6.0, 5.0)


def test_accuracy_on_the_line_refuses_a_fit_on_other_axes(tmp_path):
    acc_orig, acc_new = _models()
    fit = fit_line(acc_orig, acc_new, "logit", n_bootstrap=0)
    with pytest.raises(ValueError, match="logit"):
        plot_accuracy_on_the_line(acc_orig, acc_new, 100, 100, tmp_path / "x", "probit", fit)


def test_corruption_heatmap_writes_png_and_svg(tmp_path):
    table = pd.DataFrame([alexnet_errors()[c] for c in COMMON_CORRUPTIONS],
                         index=COMMON_CORRUPTIONS, columns=[1, 2, 3, 4, 5])
    paths = plot_corruption_heatmap(table, tmp_path / "sub" / "heat", figsize=(6.0, 7.0))
    _assert_png(paths[0], 6.0, 7.0)
    _assert_svg(paths[1], 6.0, 7.0)
    with pytest.raises(ValueError, match="fractions"):
        plot_corruption_heatmap(table * 100, tmp_path / "bad")


def test_gap_bars_write_png_and_svg(tmp_path):
    gaps = np.array([0.12, 0.10, 0.08])
    paths = plot_gap_bars(["a", "b", "c"], gaps, gaps - 0.01, gaps + 0.012, tmp_path / "gaps",
                          figsize=(7.0, 4.0))
    _assert_png(paths[0], 7.0, 4.0)
    _assert_svg(paths[1], 7.0, 4.0)
    with pytest.raises(ValueError, match="contain"):
        plot_gap_bars(["a"], [0.1], [0.11], [0.12], tmp_path / "bad")


def test_plotting_leaves_the_users_matplotlib_backend_alone(tmp_path):
    code = ("import sys, robustness, robustness.stats, robustness.report.analysis; "
            "assert 'matplotlib' not in sys.modules, 'analysis imported matplotlib'; "
            "import matplotlib; import robustness.report.plots as p; "
            "p.plot_gap_bars(['a'], [0.1], [0.05], [0.15], sys.argv[1]); "
            "import matplotlib.pyplot as plt; "
            "assert matplotlib.get_backend().lower() == 'svg', matplotlib.get_backend()")
    env = {**os.environ, "MPLBACKEND": "svg"}  # the user's choice; plots must not override it
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "g")], check=True, env=env)
    assert (tmp_path / "g.png").read_bytes()[:8] == PNG_SIGNATURE


# ---------------------------------------------------------------- labels, markers, band


def _demo_kind_views(tmp_path, seed):
    store = build_demo_kind_store(tmp_path / f"store-{seed}", seed, corruptions=False)
    untuned = ",".join(m for m, (*_, tuned) in DEMO_MODELS.items() if not tuned)
    options = AnalysisOptions(fit_models=untuned, n_bootstrap=300, n_resamples=100)
    acc, result = report_from_store(store, options)
    views, _ = line_views(acc, result, options)
    return views


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_demo_kind_model_labels_do_not_overlap_and_name_every_model(tmp_path, seed):
    """On a simulated store of the demo's kind (two tied pairs, two tuned models), every model
    is named exactly once and no two rendered label boxes intersect."""
    (view,) = _demo_kind_views(tmp_path, seed)
    fig = accuracy_on_the_line_figure(**view.plot_arguments())
    named = [name for t in model_labels(fig) for name in t.get_text().split(", ")]
    assert sorted(named) == sorted(DEMO_MODELS)
    boxes = label_boxes(fig)
    axes_box = fig.axes[0].get_window_extent()
    for i, a in enumerate(boxes):
        assert axes_box.x0 - 1 <= a.x0 and a.x1 <= axes_box.x1 + 1, "label outside the axes"
        for b in boxes[i + 1:]:
            assert not _overlaps(a, b), (a, b)


def test_models_at_one_point_share_one_label():
    acc_orig = np.array([0.50, 0.50, 0.62, 0.70, 0.80])
    acc_new = np.array([0.40, 0.40, 0.50, 0.58, 0.70])
    fig = accuracy_on_the_line_figure(acc_orig, acc_new, 1000, 1000,
                                      labels=["a", "b", "c", "d", "e"])
    assert sorted(t.get_text() for t in model_labels(fig)) == ["a, b", "c", "d", "e"]


def test_tie_groups_link_points_within_the_radius():
    points = np.array([[0, 0], [3, 0], [5.5, 0], [20, 20], [100, 0]])
    assert tie_groups(points, 3.0) == [[0, 1, 2], [3], [4]]
    assert tie_groups(points, 2.0) == [[0], [1], [2], [3], [4]]


def test_excluded_models_get_an_open_marker_and_a_legend_entry():
    acc_orig = np.array([0.45, 0.55, 0.62, 0.70, 0.76, 0.78])
    acc_new = np.array([0.35, 0.44, 0.51, 0.59, 0.58, 0.60])
    excluded = [False, False, False, False, True, True]
    fit = fit_line(acc_orig[:4], acc_new[:4], "probit", n_bootstrap=200)
    fig = accuracy_on_the_line_figure(acc_orig, acc_new, 1000, 1000, fit=fit,
                                      excluded=excluded)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "left out of the fit (2)" in legend
    open_points = [line for line in ax.lines if line.get_marker() not in ("None", "", None)
                   and line.get_markerfacecolor() == "white"]
    xs = sorted(x for line in open_points for x in line.get_xdata())
    assert xs == pytest.approx(sorted(transform(acc_orig[4:], "probit")))


def test_kinds_get_their_own_marker_shapes_and_legend_entries():
    acc_orig = np.array([0.45, 0.55, 0.62, 0.70])
    acc_new = np.array([0.35, 0.44, 0.51, 0.59])
    kinds = ["imagenet-trained", "zero-shot", "imagenet-trained", "zero-shot"]
    fig = accuracy_on_the_line_figure(acc_orig, acc_new, 1000, 1000, kinds=kinds)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "kind: imagenet-trained" in legend and "kind: zero-shot" in legend
    shapes = {line.get_marker() for line in ax.lines if line.get_marker() not in ("None", "")}
    assert len(shapes) == 2
    # without kinds: one shape, no kind entries
    fig = accuracy_on_the_line_figure(acc_orig, acc_new, 1000, 1000)
    assert not any(t.get_text().startswith("kind:")
                   for t in fig.axes[0].get_legend().get_texts())


def test_band_is_drawn_only_over_the_fitted_models_range(tmp_path):
    rng = np.random.default_rng(1)
    acc_orig = np.sort(rng.uniform(0.45, 0.8, 8))
    acc_new = np.clip(acc_orig - 0.1 + rng.normal(0, 0.01, 8), 0, 1)
    excluded = [True] + [False] * 6 + [True]  # the fitted range is models 1..6
    fit = fit_line(acc_orig[1:7], acc_new[1:7], "probit", n_bootstrap=300)
    fig = accuracy_on_the_line_figure(acc_orig, acc_new, 1000, 1000, fit=fit,
                                      excluded=excluded)
    (band,) = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    xs = np.concatenate([p.vertices[:, 0] for p in band.get_paths()])
    low, high = transform([acc_orig[1], acc_orig[6]], "probit")
    assert xs.min() >= low - 1e-9 and xs.max() <= high + 1e-9
    assert xs.max() - xs.min() > 0.8 * (high - low)  # and over most of it


def test_no_band_with_fewer_fitted_models_than_it_needs():
    acc_orig = np.linspace(0.5, 0.7, MIN_BAND_MODELS - 1)
    acc_new = acc_orig - 0.1
    fit = fit_line(acc_orig, acc_new, "probit", n_bootstrap=100)
    fig = accuracy_on_the_line_figure(acc_orig, acc_new, 1000, 1000, fit=fit)
    assert not [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]


def test_band_drops_lines_through_only_two_distinct_models():
    """With two models tied on the new set, resamples holding only those two give a flat line;
    lines of resamples with fewer than 3 distinct models are dropped, the others kept."""
    acc_orig = np.array([0.48, 0.493, 0.60, 0.68])
    acc_new = np.array([0.371, 0.371, 0.466, 0.581])
    fit = fit_line(acc_orig, acc_new, "probit", n_bootstrap=2000, seed=0)
    kept = band_resamples(fit, acc_orig, acc_new)
    # of the 4**4 equally likely resamples, 4 hold one model (no line), 84 two, 168 three or four
    share = kept.bootstrap_slopes.size / fit.bootstrap_slopes.size
    assert share == pytest.approx(168 / 252, abs=0.04)  # binomial sd 0.011
    assert not np.any(np.isclose(kept.bootstrap_slopes, 0.0, atol=1e-12))
    assert np.any(np.isclose(fit.bootstrap_slopes, 0.0, atol=1e-12))  # the flat lines existed
