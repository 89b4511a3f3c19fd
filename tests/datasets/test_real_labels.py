"""ImageNet-ReaL labels and scoring (robustness/datasets/real.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from dataset_trees import GOLDFISH, TENCH, class_tree, val_name

from robustness.datasets import LayoutError, score_logits
from robustness.datasets.real import bundled_real_labels, open_imagenet_real, read_real_labels


def write_real_json(path, entries: dict[int, list[int]]):
    """real.json with 50,000 lists: ``entries`` maps a 1-based val number to its labels."""
    lists = [[] for _ in range(50_000)]
    for number, labels in entries.items():
        lists[number - 1] = labels
    path.write_text(json.dumps(lists))
    return path


@pytest.fixture
def real_val(tmp_path):
    root = class_tree(tmp_path / "val", {TENCH: [val_name(1), val_name(2)], GOLDFISH: [val_name(3), val_name(4)]})
    write_real_json(tmp_path / "real.json", {1: [7, 5], 2: [], 3: [3], 4: [5, 7]})
    return root


def test_images_with_empty_real_lists_are_excluded_and_labels_index_the_target_table(real_val):
    ds = open_imagenet_real(real_val, allow_partial=True)
    assert ds.relpaths == [f"{TENCH}/{val_name(1)}", f"{GOLDFISH}/{val_name(3)}", f"{GOLDFISH}/{val_name(4)}"]
    targets = ds.info.scoring.label_targets
    assert [targets[label] for label in ds.labels] == [(5, 7), (3,), (5, 7)]
    assert ds.info.scoring.allowed_classes() is None  # ReaL predictions stay 1000-way
    assert ds.info.variant["labels"] == "real"


def test_real_scoring_top1_in_set_and_top5_any_in_set(real_val):
    ds = open_imagenet_real(real_val, allow_partial=True)
    logits = torch.zeros(3, 1000)
    logits[0, 7] = 5.0  # image 1: arg-max 7, in {5, 7} -> top-1 correct
    logits[1, 999], logits[1, 3] = 5.0, 4.0  # image 3: arg-max 999 (outside every set), 3 second
    logits[2, 999], logits[2, 998] = 5.0, 4.0  # image 4: neither 5 nor 7 among the top-5
    logits[2, 0:3] = torch.tensor([3.0, 2.0, 1.0])
    scored = score_logits(logits, ds.labels, ds.info.scoring)
    assert scored.correct1.tolist() == [True, False, False]
    assert scored.correct5.tolist() == [True, True, False]
    assert scored.top5[1, 0] == 999  # not restricted to the union of ReaL labels


def test_real_json_of_the_wrong_length_is_refused(tmp_path):
    path = tmp_path / "real.json"
    path.write_text(json.dumps([[1], [2]]))
    with pytest.raises(LayoutError, match="50000 lists"):
        read_real_labels(path)


def test_timm_bundled_copy_has_reals_published_counts():
    # Beyer et al. 2020: 46,837 of the 50,000 val images keep at least one ReaL label.
    path = bundled_real_labels()
    assert path is not None, "timm is a dependency and ships imagenet_real_labels.json"
    lists = read_real_labels(path)
    assert sum(1 for t in lists if t) == 46_837
    assert np.mean([len(t) for t in lists if t]) > 1.0  # some images have several labels
