"""ObjectNet mapping files, reader, border crop and class-matched baseline (objectnet.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from dataset_trees import (
    GOLDFISH,
    TENCH,
    class_tree,
    val_name,
    write_image,
    write_objectnet_mappings,
)
from PIL import Image

from robustness.datasets import BadImageError, LayoutError, open_test_set, score_logits
from robustness.datasets.objectnet import read_objectnet_mapping

FOLDERS = {"alarm_clock": "Alarm clock", "banana": "Banana", "chair": "Chair", "squeegee": "Squeegee"}
TO_IMAGENET = {
    "Alarm clock": "analog clock; digital clock",
    "Banana": "banana",
    "Chair": "barber chair; folding chair; rocking chair, rocker",
}
# Standard ImageNet-1k indices (torchvision table): analog clock 409, digital clock 530,
# banana 954, barber chair 423, folding chair 559, rocking chair 765.
EXPECTED_TARGETS = ((409, 530), (954,), (423, 559, 765))
BANANA_WNID, ANALOG_CLOCK_WNID = "n07753592", "n02708093"


def bordered_png(path, size=(10, 8), border=2):
    """A blue image with a red frame ``border`` pixels wide (the reference loaders crop 2)."""
    frame = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    frame[:] = (255, 0, 0)
    frame[border:-border, border:-border] = (0, 0, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(frame).save(path)


@pytest.fixture
def objectnet_root(tmp_path):
    root = tmp_path / "objectnet-1.0"
    write_objectnet_mappings(root / "mappings", FOLDERS, TO_IMAGENET)
    bordered_png(root / "images" / "alarm_clock" / "a1.png")
    bordered_png(root / "images" / "banana" / "b2.png")
    bordered_png(root / "images" / "banana" / "b1.png")
    bordered_png(root / "images" / "chair" / "c1.png")
    bordered_png(root / "images" / "squeegee" / "s1.png")  # not mapped to ImageNet: skipped
    return root


def test_mapping_resolves_names_through_the_line_file_and_index_table(objectnet_root):
    mapping = read_objectnet_mapping(objectnet_root / "mappings")
    assert mapping.folders == ("alarm_clock", "banana", "chair")
    assert mapping.class_names == ("Alarm clock", "Banana", "Chair")
    assert mapping.targets == EXPECTED_TARGETS


def test_reader_skips_unmapped_folders_and_crops_the_border(objectnet_root, tmp_path):
    ds = open_test_set("objectnet", tmp_path, allow_partial=True)
    assert ds.relpaths == ["alarm_clock/a1.png", "banana/b1.png", "banana/b2.png", "chair/c1.png"]
    assert ds.labels.tolist() == [0, 1, 1, 2]
    image, label, index, relpath = ds[3]
    # the reference rule: PIL crop box (2, 2, w - 2, h - 2) of the 10x8 file
    assert image.size == (10 - 4, 8 - 4) and (np.asarray(image) == (0, 0, 255)).all()
    assert (label, index, relpath) == (2, 3, "chair/c1.png")
    assert ds.info.scoring.label_targets == EXPECTED_TARGETS
    assert ds.info.baseline == "objectnet-clean" and ds.info.variant == {"border_px": 2}
    one_px = open_test_set("objectnet", tmp_path, allow_partial=True, border_px=1)[3][0]
    assert one_px.size == (8, 6) and (np.asarray(one_px)[0, 0] == (255, 0, 0)).all()  # frame left
    assert open_test_set("objectnet", tmp_path, allow_partial=True, border_px=0)[0][0].size == (10, 8)


def test_objectnet_scoring_on_reader_labels(objectnet_root, tmp_path):
    ds = open_test_set("objectnet", tmp_path, allow_partial=True)
    logits = torch.zeros(4, 1000)
    logits[0, 530] = 3.0  # alarm clock image -> digital clock: correct
    logits[1, 0], logits[1, 954] = 9.0, 2.0  # banana image: 1000-way arg-max tench (unmapped)
    logits[2, 409] = 1.0  # banana image -> analog clock: wrong
    logits[3, 765] = 1.0  # chair image -> rocking chair: correct
    scored = score_logits(logits, ds.labels, ds.info.scoring)
    assert scored.correct1.tolist() == [True, True, False, True]
    assert scored.correct1_all.tolist() == [True, False, False, True]


def test_incomplete_or_foreign_trees_are_refused(objectnet_root, tmp_path):
    (objectnet_root / "images" / "chair" / "c1.png").unlink()
    with pytest.raises(LayoutError, match="1 of 3 class folders"):
        open_test_set("objectnet", tmp_path)
    write_image(objectnet_root / "images" / "spaceship" / "x.png")
    with pytest.raises(LayoutError, match="spaceship"):
        open_test_set("objectnet", tmp_path, allow_partial=True)


def test_missing_mapping_file_is_named(objectnet_root, tmp_path):
    (objectnet_root / "mappings" / "pytorch_to_imagenet_2012_id.json").unlink()
    with pytest.raises(LayoutError, match="pytorch_to_imagenet_2012_id.json"):
        open_test_set("objectnet", tmp_path, allow_partial=True)


def test_unknown_imagenet_name_in_mapping_is_an_error(tmp_path):
    write_objectnet_mappings(tmp_path / "m", {"x": "X"}, {"X": "banana; flying carpet"})
    with pytest.raises(LayoutError, match="flying carpet"):
        read_objectnet_mapping(tmp_path / "m")


def test_objectnet_clean_uses_objectnet_labels_and_scoring(objectnet_root, tmp_path):
    class_tree(tmp_path / "imagenet" / "val", {
        TENCH: [val_name(1)], BANANA_WNID: [val_name(2)], ANALOG_CLOCK_WNID: [val_name(3)],
        GOLDFISH: [val_name(4)],
    })
    ds = open_test_set("objectnet-clean", tmp_path, allow_partial=True)
    assert ds.relpaths == [f"{ANALOG_CLOCK_WNID}/{val_name(3)}", f"{BANANA_WNID}/{val_name(2)}"]
    assert ds.labels.tolist() == [0, 1]  # ObjectNet labels: Alarm clock, Banana
    assert ds.info.scoring == open_test_set("objectnet", tmp_path, allow_partial=True).info.scoring
    logits = torch.zeros(2, 1000)
    logits[0, 530] = 1.0  # analog-clock photo predicted "digital clock": same ObjectNet class
    logits[1, 954] = 1.0
    assert score_logits(logits, ds.labels, ds.info.scoring).correct1.tolist() == [True, True]


def test_image_too_small_for_the_border_crop_is_a_bad_image(objectnet_root, tmp_path):
    tiny = objectnet_root / "images" / "banana" / "b0.png"
    Image.new("RGB", (2, 2)).save(tiny)
    ds = open_test_set("objectnet", tmp_path, allow_partial=True)
    with pytest.raises(BadImageError) as err:
        ds[ds.relpaths.index("banana/b0.png")]
    assert err.value.path == tiny


def test_index_table_inconsistent_with_the_class_names_is_an_error(objectnet_root):
    path = objectnet_root / "mappings" / "pytorch_to_imagenet_2012_id.json"
    table = json.loads(path.read_text())
    table["954"], table["953"] = table["953"], table["954"]  # banana <-> pineapple
    path.write_text(json.dumps(table))
    with pytest.raises(LayoutError, match="inconsistent"):
        read_objectnet_mapping(objectnet_root / "mappings")


def _testbed_collapsed_top5(logits: np.ndarray, targets) -> np.ndarray:
    """imagenet-testbed's val-on-objectnet-classes rule, written out: each ObjectNet class
    scores the max logit over its ImageNet classes; top-5 over those class scores."""
    collapsed = np.stack([logits[:, list(t)].max(axis=1) for t in targets], axis=1)
    return np.argsort(-collapsed, axis=1, kind="stable")[:, :5]


def test_objectnet_top5_is_over_merged_classes_by_default(objectnet_root, tmp_path):
    from robustness.datasets.base import Scoring

    # seven ObjectNet-like classes, two of them with several ImageNet classes
    targets = ((1, 2, 3), (10,), (20, 21), (30,), (40,), (50,), (60,))
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 1000)).astype(np.float32)
    logits[:, [1, 2, 3, 20, 21]] += 2.5  # the merged classes' members crowd the 125-way top-5
    labels = rng.integers(0, len(targets), 200)
    merged = score_logits(torch.from_numpy(logits), labels, Scoring(label_targets=targets, merge_targets=True))
    expected = (_testbed_collapsed_top5(logits, targets) == labels[:, None]).any(axis=1)
    assert merged.correct5.tolist() == expected.tolist()
    per_class = score_logits(torch.from_numpy(logits), labels, Scoring(label_targets=targets))
    # top-5 over the ImageNet classes: a guess repeating a class wastes a slot, so it never scores higher
    assert per_class.correct5.sum() < merged.correct5.sum()
    assert (per_class.correct5 <= merged.correct5).all()
    assert merged.correct1.tolist() == per_class.correct1.tolist()  # top-1 is the same rule

    default = open_test_set("objectnet", tmp_path, allow_partial=True).info.scoring
    assert default.merge_targets and default.describe()["merge_targets"] is True
    unmerged = open_test_set("objectnet", tmp_path, allow_partial=True, merge_top5=False).info.scoring
    assert not unmerged.merge_targets and "merge_targets" not in unmerged.describe()
