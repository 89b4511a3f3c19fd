"""``make <family>`` then ``make report``, with the Makefile's default variables, on generated
trees of every default test set: every shifted set gets a gap and a fit.

The two commands are the Makefile's own, read with ``make -n`` (so a change of the default
``DATASETS``, or of a flag, is what this test runs). Only the model family is swapped: the
real families need pretrained weights, which these machines cannot download, so
``--family resnet`` becomes four models of a toy source registered in this process. Each
toy model reads the class an image encodes in its colour and errs on images whose
"difficulty" (the blue channel) is below its threshold; the shifted sets are harder.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from dataset_trees import write_objectnet_mappings
from fakes import NetworkSource
from PIL import Image

from robustness.cli import main
from robustness.datasets.catalogue import baseline_of, default_selection, parse_set_name
from robustness.datasets.classes import imagenet_wnids, subset_wnids, wnid_to_index
from robustness.zoo import register_source, unregister_source

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = {"t20": 20, "t70": 70, "t120": 120, "t170": 170}
OBJECTNET_FOLDERS = {"banana": "Banana", "chair": "Chair", "alarm_clock": "Alarm clock"}
OBJECTNET_TO_IMAGENET = {"Banana": "banana", "Chair": "barber chair; folding chair",
                         "Alarm clock": "analog clock; digital clock"}


class ThresholdNet(torch.nn.Module):
    """Predicts the class encoded as red + 256 * green; when blue (0-255) is below the
    threshold, a class 500 away instead."""

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self.threshold = threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb = torch.round(x.mean(dim=(2, 3)) * 255.0)
        encoded = rgb[:, 0] + 256 * rgb[:, 1]
        predicted = torch.where(rgb[:, 2] < self.threshold, (encoded + 500) % 1000, encoded)
        return -(torch.arange(1000, dtype=x.dtype)[None, :] - predicted[:, None]).abs()


def encoded_png(path: Path, index: int, difficulty: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (index % 256, index // 256, difficulty)).save(path)


def difficulty(index: int, scale: float = 1.0, copy: int = 0) -> int:
    """0-255, spread over the classes (and copies of one class); shifted sets scale it down
    (harder), keeping every toy model's accuracy strictly between 0% and 100%."""
    return int(scale * ((37 * index + 85 * copy + 11) % 256))


def write_default_trees(data: Path) -> None:
    """An image per class of every set in ``--test-sets default`` and its baselines (three
    for val, whose ObjectNet classes alone make ``objectnet-clean``)."""
    wnids = imagenet_wnids()
    for c, wnid in enumerate(wnids):
        for k in range(3):
            encoded_png(data / "imagenet" / "val" / wnid / f"val{k}.png", c, difficulty(c, 1.0, k))
        encoded_png(data / "imagenet-sketch" / wnid / "sketch.png", c, difficulty(c, 0.8))
        for variant in ("matched-frequency", "threshold0.7", "top-images"):
            folder = data / f"imagenetv2-{variant}-format-val" / str(c)
            encoded_png(folder / "v2.png", c, difficulty(c, 0.8))
        for severity in (1, 3):
            encoded_png(data / "imagenet-c" / "fog" / str(severity) / wnid / "c.png", c,
                        difficulty(c, 0.95 - 0.05 * severity))
    for name in ("imagenet-r", "imagenet-a"):
        for wnid in subset_wnids(name):
            encoded_png(data / name / wnid / "x.png", wnid_to_index()[wnid],
                        difficulty(wnid_to_index()[wnid], 0.8))
    objectnet = data / "objectnet-1.0"
    write_objectnet_mappings(objectnet / "mappings", OBJECTNET_FOLDERS, OBJECTNET_TO_IMAGENET)
    targets = {"banana": [954], "chair": [423, 559], "alarm_clock": [409, 530]}
    for folder, classes in targets.items():
        for k in range(6):
            c = classes[k % len(classes)]
            encoded_png(objectnet / "images" / folder / f"o{k}.png", c, difficulty(c, 0.8, k))


def make_command(target: str, **variables: str) -> list[str]:
    """The ``robustness`` command ``make <target>`` runs, with the Makefile's defaults."""
    assignments = [f"{k}={v}" for k, v in variables.items()]
    text = subprocess.run(["make", "-n", "-s", "-C", str(ROOT), target, *assignments],
                          capture_output=True, text=True, check=True).stdout.replace("\\\n", " ")
    lines = [line for line in text.splitlines() if "/robustness " in line]
    assert len(lines) == 1, text
    return shlex.split(lines[0])[1:]


@pytest.fixture
def threshold_source():
    register_source(NetworkSource("threshold:", {arch: partial(ThresholdNet, t)
                                                 for arch, t in THRESHOLDS.items()}))
    try:
        yield
    finally:
        unregister_source("threshold:")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_family_then_make_report_gives_every_shifted_set_a_gap_and_a_fit(
        threshold_source, tmp_path):
    data, out = tmp_path / "data", tmp_path / "results"
    write_default_trees(data)
    eval_argv = make_command("resnet", DATA_ROOT=str(data), OUT=str(out))
    assert eval_argv[:3] == ["eval", "--family", "resnet"] and "--test-sets" in eval_argv
    models = ",".join(f"threshold:{a}" for a in THRESHOLDS)
    argv = ["eval", "--models", models, *eval_argv[3:], "--no-progress", "--workers", "0"]
    assert main(argv) == 0
    report_argv = make_command("report", OUT=str(out))
    assert report_argv[:1] == ["report"]
    assert main([*report_argv, "--bootstrap", "50", "--resamples", "100"]) == 0

    tops = {p.name[len("results-"):-len(".csv")]: pd.read_csv(p).set_index("model")["top1"]
            for p in out.glob("results-*.csv")}
    gaps = pd.read_csv(out / "gaps.csv")
    fits = pd.read_csv(out / "fits.csv")
    shifted = [s for s in tops if baseline_of(s) is not None]
    # every default set and every baseline its gap needs was evaluated
    for name in default_selection():
        present = [s for s in tops if s == name or parse_set_name(s).group == name]
        assert present, name
    assert {baseline_of(s) for s in shifted} <= set(tops)
    assert {"imagenet-r-clean", "imagenet-a-clean", "objectnet-clean"} <= set(tops)
    for shift in shifted:
        rows = gaps[gaps["shift"] == shift].set_index("model")
        assert len(rows) == len(THRESHOLDS), shift
        base = tops[baseline_of(shift)]
        expected = (tops[shift] - base).loc[rows.index]
        assert np.allclose(rows["gap"], expected, atol=2e-3), shift  # tables hold 3 decimals
    fitted = set(zip(fits["shift"], fits["scale"]))
    for shift in [s for s in shifted if parse_set_name(s).group is None] + ["imagenet-c (mean)"]:
        for scale in ("linear", "probit", "logit"):
            assert (shift, scale) in fitted, (shift, scale)
    assert (out / "html" / "index.html").is_file()
