"""ImageNetV2 readers (robustness/datasets/imagenetv2.py)."""

from __future__ import annotations

import pytest
from dataset_trees import class_tree

from robustness.datasets import LayoutError, open_test_set
from robustness.datasets.imagenetv2 import open_imagenetv2


def v2_tree(root):
    return class_tree(root, {"0": ["a.jpeg"], "1": ["b.jpeg"], "2": ["c.jpeg"], "10": ["d.jpeg", "e.jpeg"],
                             "100": ["f.jpeg"]})


def test_label_is_the_folder_number_not_its_lexicographic_rank(tmp_path):
    ds = open_test_set("imagenetv2-matched-frequency", None, root=v2_tree(tmp_path / "v2"),
                       allow_partial=True)
    # Sorted relpaths put "10" and "100" before "2"; ImageFolder would label "10" as 3.
    assert ds.relpaths == ["0/a.jpeg", "1/b.jpeg", "10/d.jpeg", "10/e.jpeg", "100/f.jpeg", "2/c.jpeg"]
    assert ds.labels.tolist() == [0, 1, 10, 10, 100, 2]
    assert [ds[i][1:3] for i in range(len(ds))] == [(0, 0), (1, 1), (10, 2), (10, 3), (100, 4), (2, 5)]
    assert ds.info.name == "imagenetv2-matched-frequency" and ds.info.baseline == "imagenet"


@pytest.mark.parametrize("bad", ["010", "1000", "n01440764", "abc"])
def test_non_class_folders_are_layout_errors(tmp_path, bad):
    root = v2_tree(tmp_path / "v2")
    class_tree(root, {bad: ["x.jpeg"]})
    with pytest.raises(LayoutError, match=bad):
        open_imagenetv2(root, "threshold0.7", allow_partial=True)


def test_incomplete_copy_is_refused(tmp_path):
    with pytest.raises(LayoutError, match="995 of 1000"):
        open_imagenetv2(v2_tree(tmp_path / "v2"), "top-images")


@pytest.mark.parametrize("folder", ["imagenetv2-top-images-format-val", "imagenetv2-top-images"])
def test_both_archive_and_short_folder_names_are_found_under_the_data_root(tmp_path, folder):
    v2_tree(tmp_path / folder)
    ds = open_test_set("imagenetv2-top-images", tmp_path, allow_partial=True)
    assert ds.info.root == tmp_path / folder and ds.info.variant == {"variant": "top-images"}
