"""ImageNet-O and its in-distribution partner imagenet-o-clean (imagenet_o.py)."""

from __future__ import annotations

import numpy as np
import pytest
from dataset_trees import GOLDFISH, INDEX, TENCH, class_tree, val_name, write_image

from robustness.datasets import DATASETS, LayoutError, open_test_set
from robustness.datasets.catalogue import default_selection
from robustness.datasets.classes import wnid_to_index
from robustness.datasets.imagenet_o import IMAGENET_O_WNIDS

# ImageNet-O's first two folders: goldfish (ImageNet-1k index 1) and n01704323 (triceratops)
SECOND = "n01704323"


def test_the_200_wnids_are_sorted_imagenet_classes_starting_with_goldfish():
    assert len(IMAGENET_O_WNIDS) == len(set(IMAGENET_O_WNIDS)) == 200
    assert list(IMAGENET_O_WNIDS) == sorted(IMAGENET_O_WNIDS)
    assert set(IMAGENET_O_WNIDS) <= set(wnid_to_index())
    assert IMAGENET_O_WNIDS[:2] == (GOLDFISH, SECOND) and TENCH not in IMAGENET_O_WNIDS


def test_labels_are_folder_positions_and_scoring_maps_them_to_imagenet_classes(tmp_path):
    root = class_tree(tmp_path / "imagenet-o", {GOLDFISH: ["a.jpg", "b.jpg"], SECOND: ["c.png"]})
    (root / "README.txt").write_text("ImageNet-O")
    ds = open_test_set("imagenet-o", tmp_path, allow_partial=True)
    assert ds.relpaths == [f"{GOLDFISH}/a.jpg", f"{GOLDFISH}/b.jpg", f"{SECOND}/c.png"]
    assert ds.labels.tolist() == [0, 0, 1]  # positions in the 200-wnid list, not ImageNet indices
    targets = ds.info.scoring.label_targets
    assert len(targets) == 200
    assert targets[0] == (INDEX[GOLDFISH],) and targets[1] == (wnid_to_index()[SECOND],)
    assert len(ds.info.scoring.allowed_classes()) == 200
    assert ds.info.baseline is None


def test_scoring_restricts_the_prediction_to_the_200_classes():
    torch = pytest.importorskip("torch")
    from robustness.datasets.base import score_logits
    from robustness.datasets.imagenet_o import imagenet_o_scoring

    logits = torch.zeros(1, 1000)
    logits[0, INDEX[TENCH]] = 9.0     # the 1000-way arg-max, outside ImageNet-O's classes
    logits[0, INDEX[GOLDFISH]] = 5.0  # the best of the 200 classes
    scored = score_logits(logits, np.array([0]), imagenet_o_scoring())
    assert scored.top5[0, 0] == INDEX[GOLDFISH]
    assert scored.correct1.tolist() == [True] and scored.correct1_all.tolist() == [False]


def test_a_folder_outside_the_200_classes_names_the_folder_and_the_layout(tmp_path):
    class_tree(tmp_path / "imagenet-o", {GOLDFISH: ["a.jpg"], TENCH: ["b.jpg"]})
    with pytest.raises(LayoutError) as err:
        open_test_set("imagenet-o", tmp_path, allow_partial=True)
    message = str(err.value)
    assert TENCH in message and str(tmp_path / "imagenet-o") in message
    assert "Expected layout" in message and "IMAGENET_O_WNIDS" in message


def test_images_directly_in_the_root_are_a_layout_error(tmp_path):
    write_image(tmp_path / "imagenet-o" / "loose.jpg")
    with pytest.raises(LayoutError, match="no class folders found") as err:
        open_test_set("imagenet-o", tmp_path)
    assert "<root>/n01443537/" in str(err.value)


def test_an_incomplete_copy_is_refused_without_allow_partial(tmp_path):
    class_tree(tmp_path / "imagenet-o", {GOLDFISH: ["a.jpg"], SECOND: ["b.jpg"]})
    with pytest.raises(LayoutError, match="198 of 200"):
        open_test_set("imagenet-o", tmp_path)


def test_the_in_distribution_partner_is_val_of_the_same_classes_scored_the_same_way(tmp_path):
    class_tree(tmp_path / "imagenet" / "val", {TENCH: [val_name(1)],
                                               GOLDFISH: [val_name(2), val_name(3)]})
    class_tree(tmp_path / "imagenet-o", {GOLDFISH: ["x.jpg"]})
    clean = open_test_set("imagenet-o-clean", tmp_path, allow_partial=True)
    # tench is not one of ImageNet-O's classes; goldfish is its class 0
    assert clean.relpaths == [f"{GOLDFISH}/{val_name(2)}", f"{GOLDFISH}/{val_name(3)}"]
    assert clean.labels.tolist() == [0, 0]
    assert clean.info.scoring == open_test_set("imagenet-o", tmp_path, allow_partial=True).info.scoring
    assert clean.info.name == "imagenet-o-clean"


def test_the_catalogue_pairs_imagenet_o_with_its_in_distribution_set():
    spec = DATASETS["imagenet-o"]
    assert spec.in_distribution == "imagenet-o-clean" and spec.in_distribution in DATASETS
    assert spec.num_classes == 200 and spec.num_images == 2000 and spec.baseline is None
    assert DATASETS["imagenet-o-clean"].in_distribution is None
    assert "imagenet-o" not in default_selection() and "imagenet-o-clean" not in default_selection()


def test_eval_adds_the_in_distribution_set_an_ood_set_is_scored_against(tmp_path):
    from robustness.datasets import expand_dataset_names

    assert expand_dataset_names(["imagenet-o"], tmp_path, with_baselines=True) == ["imagenet-o", "imagenet-o-clean"]
    assert expand_dataset_names(["imagenet-o"], tmp_path) == ["imagenet-o"]
