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


def bordered_png(path, size=(10, 8)):
    """A blue image with a 1-pixel red frame, like ObjectNet's."""
    frame = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    frame[:] = (255, 0, 0)
    frame[1:-1, 1:-1] = (0, 0, 255)
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
    assert image.size == (8, 6) and (np.asarray(image) == (0, 0, 255)).all()
    assert (label, index, relpath) == (2, 3, "chair/c1.png")
    assert ds.info.scoring.label_targets == EXPECTED_TARGETS
    assert ds.info.baseline == "objectnet-clean" and ds.info.variant == {"border_px": 1}
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
