"""README "Extending the harness": a toy test set and a toy model source, added through the
public API alone, work in ``robustness eval``, the tables, ``robustness datasets`` and the
report, exactly as the built-in ones do.

The toy set ``gray-labels`` is a folder ``<root>/<class index>/<image>.png`` of solid gray
images; the toy source ``gray:`` builds a network that predicts class = gray level. The set
labels half of its images with their gray level and half with level + 1, so the toy model's
top-1 is 50% there and 100% on the gray ImageNet val tree: a gap of -50 points.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pandas as pd
import pytest
import torch
from fakes import gray_val_tree
from PIL import Image

from robustness import TestSet, TestSetSpec, register_source, register_test_set
from robustness.cli import main
from robustness.datasets import TestSetInfo, unregister_test_set
from robustness.zoo import EvalTransform, ModelName, UnknownModelError, unregister_source

LEVELS = range(20, 26)


# ---- what a user writes for a test set: a reader and its spec (README, section "Extending")

def open_gray_labels(root: Path, *, allow_partial: bool = False) -> TestSet:
    """``<root>/<class index>/<image>.png``: the label is the folder's number."""
    root = Path(root)
    relpaths = sorted(p.relative_to(root).as_posix() for p in root.glob("*/*.png"))
    labels = [int(p.split("/")[0]) for p in relpaths]
    return TestSet(TestSetInfo(name="gray-labels", root=root), relpaths, labels)


GRAY_LABELS = TestSetSpec(
    name="gray-labels", opener=open_gray_labels, default_dir="gray-labels",
    layout="  <root>/<class index>/<image>.png\n",
    description="Gray images, half of them labelled one class too high.", baseline="imagenet")


# ---- what a user writes for a model source

class GrayNet(torch.nn.Module):
    """Logits peak at class round(255 * mean pixel) (inputs in [0, 1])."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level = torch.round(x.mean(dim=(1, 2, 3)) * 255.0)
        return -(torch.arange(1000, dtype=x.dtype)[None, :] - level[:, None]).abs()


class GraySource:
    prefix, name = "gray:", "gray"

    def owns(self, name: str) -> bool:
        return name.startswith(self.prefix)

    def parse(self, name: str) -> ModelName:
        arch, _, tag = name.removeprefix(self.prefix).partition(".")
        return ModelName(self.name, arch, tag, self.prefix)

    def canonical(self, name: str, check_label_space: bool = False) -> str:
        if self.parse(name).architecture != "level":
            raise UnknownModelError(f"{name!r}: no such gray model")
        return "gray:level.v1"

    def expand(self, pattern: str) -> list[str]:
        return [n for n in ["gray:level.v1"] if fnmatch.fnmatch(n, pattern)]

    def load(self, name, weights, pretrained, use_test_size):
        transform = EvalTransform(resize_size=8, crop_size=8, interpolation="bilinear",
                                  mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
        fields = {"name": self.canonical(name), "num_classes": 1000, "weights": "none",
                  "weights_sha256": None}
        return GrayNet(), transform, fields


@pytest.fixture
def registered():
    register_test_set(GRAY_LABELS)
    register_source(GraySource())
    try:
        yield
    finally:
        unregister_test_set("gray-labels")
        unregister_source("gray:")


def gray_labels_tree(data_root: Path) -> None:
    for level in LEVELS:
        for i, label in enumerate((level, level + 1)):
            folder = data_root / "gray-labels" / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (8, 8), (level,) * 3).save(folder / f"{level}-{i}.png")


def test_a_registered_set_and_source_run_through_eval_tables_and_report(registered, tmp_path, capsys):
    data = gray_val_tree(tmp_path / "data", LEVELS, per_class=2)
    gray_labels_tree(data)
    out = tmp_path / "results"
    assert main(["datasets"]) == 0
    assert "== gray-labels\nGray images" in capsys.readouterr().out
    code = main(["eval", "--models", "gray:level", "--test-sets", "gray-labels", "--data-root",
                 str(data), "--out", str(out), "--allow-partial", "--device", "cpu", "--workers",
                 "0", "--batch-size", "4", "--no-progress"])
    assert code == 0
    err = capsys.readouterr().err
    assert "adding the baselines the gaps need: imagenet" in err  # from the spec's baseline
    table = pd.read_csv(out / "results-gray-labels.csv")
    assert table["model"].tolist() == ["gray:level.v1"] and table["top1"].tolist() == [50.0]
    assert pd.read_csv(out / "results-imagenet.csv")["top1"].tolist() == [100.0]
    assert main(["report", "--out", str(out), "--bootstrap", "20", "--resamples", "50",
                 "--no-plots"]) == 0
    gaps = pd.read_csv(out / "gaps.csv").set_index("shift")
    assert gaps.loc["gray-labels", "baseline"] == "imagenet"
    assert gaps.loc["gray-labels", "gap"] == pytest.approx(-50.0)


def test_a_second_spec_for_a_registered_name_is_refused(registered):
    with pytest.raises(ValueError, match="registered twice"):
        register_test_set(GRAY_LABELS)
    with pytest.raises(ValueError, match="registered twice"):
        register_test_set(TestSetSpec(name="imagenet", opener=open_gray_labels, default_dir="x",
                                      layout="", description=""))
