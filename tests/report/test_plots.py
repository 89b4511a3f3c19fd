"""Plots are written as valid PNG and SVG files of the requested size."""

import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from robustness.report.plots import (
    DPI,
    plot_accuracy_on_the_line,
    plot_corruption_heatmap,
    plot_gap_bars,
)
from robustness.stats.corruption import COMMON_CORRUPTIONS, alexnet_errors
from robustness.stats.fits import fit_line

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


def test_agg_backend_is_set_by_the_plot_module_only():
    code = ("import sys, robustness, robustness.stats; "
            "assert 'matplotlib' not in sys.modules, 'stats imported matplotlib'; "
            "import matplotlib; import robustness.report.plots; "
            "assert matplotlib.get_backend().lower() == 'agg', matplotlib.get_backend()")
    env = {**os.environ, "MPLBACKEND": "svg"}  # plots must override a user backend
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
