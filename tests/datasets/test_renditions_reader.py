"""ImageNet-R/-A, their class-matched val baselines, and ImageNet-Sketch (renditions.py)."""

from __future__ import annotations

import pytest
from dataset_trees import GOLDFISH, STINGRAY, TENCH, class_tree, val_name

from robustness.datasets import LayoutError, open_test_set
from robustness.datasets.classes import subset_indices


def test_imagenet_r_labels_scoring_and_baseline(tmp_path):
    root = class_tree(tmp_path / "imagenet-r", {GOLDFISH: ["art_1.jpg", "cartoon_2.jpg"],
                                                "n01484850": ["toy_3.jpg"]})
    (root / "README.txt").write_text("ImageNet-R")
    ds = open_test_set("imagenet-r", tmp_path, allow_partial=True)
    assert ds.labels.tolist() == [1, 1, 2]  # goldfish = 1, great white shark = 2
    assert ds.info.scoring.class_subset == subset_indices("imagenet-r")
    assert len(ds.info.scoring.class_subset) == 200
    assert ds.info.baseline == "imagenet-r-clean"


def test_a_folder_outside_the_200_classes_is_a_layout_error(tmp_path):
    class_tree(tmp_path / "imagenet-r", {GOLDFISH: ["a.jpg"], TENCH: ["b.jpg"]})  # tench is not in R
    with pytest.raises(LayoutError, match=TENCH):
        open_test_set("imagenet-r", tmp_path, allow_partial=True)


def test_incomplete_imagenet_a_is_refused(tmp_path):
    class_tree(tmp_path / "imagenet-a", {STINGRAY: ["a.jpg"]})
    with pytest.raises(LayoutError, match="199 of 200"):
        open_test_set("imagenet-a", tmp_path)


def test_class_matched_clean_val_keeps_only_the_subset_classes(tmp_path):
    class_tree(tmp_path / "imagenet" / "val", {TENCH: [val_name(1)], STINGRAY: [val_name(2), val_name(3)]})
    class_tree(tmp_path / "imagenet-a", {STINGRAY: ["x.jpg"]})
    ds = open_test_set("imagenet-a-clean", tmp_path, allow_partial=True)
    # Stingray (6) is one of ImageNet-A's classes, tench (0) is not.
    assert ds.relpaths == [f"{STINGRAY}/{val_name(2)}", f"{STINGRAY}/{val_name(3)}"]
    assert ds.labels.tolist() == [6, 6]
    assert [ds[i][2] for i in range(2)] == [0, 1]
    assert ds.info.scoring == open_test_set("imagenet-a", tmp_path, allow_partial=True).info.scoring
    assert ds.info.name == "imagenet-a-clean" and ds.info.baseline is None


@pytest.mark.parametrize("inner", ["", "sketch"])
def test_imagenet_sketch_with_or_without_the_sketch_subfolder(tmp_path, inner):
    root = tmp_path / "imagenet-sketch"
    class_tree(root / inner if inner else root, {TENCH: ["sketch_1.JPEG"], GOLDFISH: ["sketch_2.JPEG"]})
    ds = open_test_set("imagenet-sketch", tmp_path, allow_partial=True)
    assert ds.labels.tolist() == [0, 1]
    assert ds.relpaths == [f"{TENCH}/sketch_1.JPEG", f"{GOLDFISH}/sketch_2.JPEG"]
    assert ds.info.scoring.allowed_classes() is None and ds.info.baseline == "imagenet"
