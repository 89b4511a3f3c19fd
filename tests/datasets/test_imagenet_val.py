"""ImageNet val in its three layouts (robustness/datasets/imagenet.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
from dataset_trees import (
    GOLDFISH,
    INDEX,
    KIT_FOX,
    STINGRAY,
    TENCH,
    TOILET_TISSUE,
    class_tree,
    val_name,
    write_image,
    write_kaggle_csv,
)
from PIL import Image

from robustness.datasets import BadImageError, LayoutError
from robustness.datasets.classes import imagenet_wnids
from robustness.datasets.imagenet import open_imagenet_val, read_devkit_id_to_wnid


def write_meta_mat(path, step=7, extra_non_leaf=True):
    """A devkit-style meta.mat: ILSVRC2012_ID ``i`` (1..1000) is the wnid at sorted position
    ``(i * step) % 1000`` -- deliberately not the sorted order -- plus non-leaf synsets."""
    wnids = imagenet_wnids()
    rows = [(i, wnids[(i * step) % 1000], 0) for i in range(1, 1001)]
    if extra_non_leaf:
        rows += [(1001, "n00001740", 12), (1002, "n00002137", 3)]
    synsets = np.zeros((len(rows), 1), dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O"),
                                               ("num_children", "O")])
    for k, (ilsvrc_id, wnid, children) in enumerate(rows):
        synsets[k, 0] = (np.array([[ilsvrc_id]], dtype=np.uint16), wnid,
                         np.array([[children]], dtype=np.uint8))
    scipy.io.savemat(path, {"synsets": synsets})
    return path


def test_wnid_folder_layout_labels_and_items(tmp_path):
    root = class_tree(tmp_path / "val", {
        TOILET_TISSUE: [val_name(3)], TENCH: [val_name(2), val_name(1)], STINGRAY: [val_name(4, "png")],
    })
    ds = open_imagenet_val(root, allow_partial=True)
    # Sorted by relative path: n01440764 (tench) < n01498041 (stingray) < n15075141.
    assert ds.relpaths == [f"{TENCH}/{val_name(1)}", f"{TENCH}/{val_name(2)}",
                           f"{STINGRAY}/{val_name(4, 'png')}", f"{TOILET_TISSUE}/{val_name(3)}"]
    assert ds.labels.tolist() == [0, 0, 6, 999]
    assert ds.labels.dtype == np.int64
    image, label, index, relpath = ds[2]
    assert isinstance(image, Image.Image) and image.mode == "RGB"
    assert (label, index, relpath) == (6, 2, f"{STINGRAY}/{val_name(4, 'png')}")
    assert ds.info.name == "imagenet" and ds.info.baseline is None
    assert ds.info.scoring.allowed_classes() is None


def test_flat_layout_with_kaggle_solution_in_parent(tmp_path):
    root = tmp_path / "ILSVRC" / "val"
    for number in (1, 2, 3):
        write_image(root / val_name(number))
    write_kaggle_csv(tmp_path / "ILSVRC" / "LOC_val_solution.csv",
                     {2: KIT_FOX, 1: GOLDFISH, 3: TOILET_TISSUE, 4: TENCH})
    ds = open_imagenet_val(root, allow_partial=True)
    assert ds.relpaths == [val_name(1), val_name(2), val_name(3)]
    assert ds.labels.tolist() == [INDEX[GOLDFISH], INDEX[KIT_FOX], INDEX[TOILET_TISSUE]]


def test_devkit_ids_are_mapped_through_meta_mat_not_taken_as_indices(tmp_path):
    root = tmp_path / "val"
    for number in (1, 2, 3, 4):
        write_image(root / val_name(number))
    data = tmp_path / "ILSVRC2012_devkit_t12" / "data"
    data.mkdir(parents=True)
    write_meta_mat(data / "meta.mat", step=7)
    # Image k has ground-truth ID gt[k-1]. With wnid(ID) = sorted[(ID * 7) % 1000]:
    #   ID 1    -> sorted position 7
    #   ID 143  -> 1001 % 1000 = 1
    #   ID 1000 -> 7000 % 1000 = 0
    #   ID 500  -> 3500 % 1000 = 500
    (data / "ILSVRC2012_validation_ground_truth.txt").write_text("1\n143\n1000\n500\n")
    ds = open_imagenet_val(root, allow_partial=True)
    assert ds.labels.tolist() == [7, 1, 0, 500]


def test_meta_mat_reader_keeps_only_leaf_synsets(tmp_path):
    mapping = read_devkit_id_to_wnid(write_meta_mat(tmp_path / "meta.mat", step=3))
    assert len(mapping) == 1000 and 1001 not in mapping
    assert mapping[1] == imagenet_wnids()[3] and mapping[334] == imagenet_wnids()[2]


def test_flat_layout_without_label_files_names_what_is_missing(tmp_path):
    root = tmp_path / "val"
    write_image(root / val_name(1))
    with pytest.raises(LayoutError) as err:
        open_imagenet_val(root, allow_partial=True)
    message = str(err.value)
    assert "LOC_val_solution.csv" in message and "ILSVRC2012_validation_ground_truth.txt" in message
    assert "meta.mat" in message and str(root) in message


def test_incomplete_val_is_refused_unless_partial_is_allowed(tmp_path):
    root = class_tree(tmp_path / "val", {TENCH: [val_name(1)], GOLDFISH: [val_name(2)]})
    with pytest.raises(LayoutError, match="998 of 1000 class folders are missing"):
        open_imagenet_val(root)
    assert len(open_imagenet_val(root, allow_partial=True)) == 2


def test_wrong_layout_shows_expected_tree_and_what_was_found(tmp_path):
    root = tmp_path / "imagenet"
    write_image(root / "train" / TENCH / "x.JPEG")
    write_image(root / "val" / TENCH / "y.JPEG")
    with pytest.raises(LayoutError) as err:
        open_imagenet_val(root, allow_partial=True)
    message = str(err.value)
    assert "n01440764/ILSVRC2012_val_00000293.JPEG" in message  # the expected tree
    assert "train/" in message and "val/" in message  # what was found
    assert "What to do" in message


def test_stray_files_in_class_folders_are_errors_but_hidden_files_are_ignored(tmp_path):
    root = class_tree(tmp_path / "val", {TENCH: [val_name(1)]})
    (root / TENCH / ".DS_Store").write_text("x")
    write_image(root / TENCH / "._ILSVRC2012_val_00000009.JPEG")
    (root / "README.txt").write_text("loose files next to class folders are fine")
    assert open_imagenet_val(root, allow_partial=True).relpaths == [f"{TENCH}/{val_name(1)}"]
    (root / TENCH / "notes.txt").write_text("x")
    with pytest.raises(LayoutError, match="notes.txt"):
        open_imagenet_val(root, allow_partial=True)


def test_mixed_flat_and_folder_layouts_are_refused(tmp_path):
    root = class_tree(tmp_path / "val", {TENCH: [val_name(1)]})
    write_image(root / val_name(2))
    write_kaggle_csv(root / "LOC_val_solution.csv", {2: TENCH})
    with pytest.raises(LayoutError, match="mixed"):
        open_imagenet_val(root, allow_partial=True)


def test_truncated_file_in_a_set_raises_bad_image_error_with_its_full_path(tmp_path):
    root = class_tree(tmp_path / "val", {TENCH: [val_name(1)]})
    good = write_image(root / TENCH / val_name(2), size=(64, 48))
    good.write_bytes(good.read_bytes()[:200])
    ds = open_imagenet_val(root, allow_partial=True)
    assert ds[0][0].mode == "RGB"
    with pytest.raises(BadImageError) as err:
        ds[1]
    assert err.value.path == good and str(good) in str(err.value)
