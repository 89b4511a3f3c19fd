"""ImageNet-C naming, expansion and reading (robustness/datasets/imagenet_c.py, registry)."""

from __future__ import annotations

import pytest
from dataset_trees import GOLDFISH, TENCH, class_tree

from robustness.datasets import LayoutError, expand_dataset_names, open_test_set
from robustness.datasets.imagenet_c import COMMON_CORRUPTIONS, parse_unit_name


def c_tree(data_root):
    c_root = data_root / "imagenet-c"
    for corruption, severity in [("fog", 3), ("fog", 1), ("gaussian_noise", 2), ("gaussian_noise", 1),
                                 ("saturate", 1), ("zzz_custom", 1), ("brightness", 5),
                                 ("speckle_noise", 2)]:
        class_tree(c_root / corruption / str(severity), {TENCH: ["a.JPEG"], GOLDFISH: ["b.png"]})
    return c_root


def test_expansion_follows_benchmark_order_then_held_out_then_alphabetical(tmp_path):
    c_tree(tmp_path)
    assert expand_dataset_names(["imagenet-c"], tmp_path) == [
        "imagenet-c.gaussian_noise.1", "imagenet-c.gaussian_noise.2",
        "imagenet-c.fog.1", "imagenet-c.fog.3", "imagenet-c.brightness.5",
        "imagenet-c.speckle_noise.2", "imagenet-c.saturate.1",
        "imagenet-c.zzz_custom.1",
    ]


def test_expansion_of_one_corruption_and_mixed_lists_without_repeats(tmp_path):
    c_tree(tmp_path)
    names = ["imagenet", "imagenet-c.fog", "imagenet-c.fog.3", "imagenet-r"]
    assert expand_dataset_names(names, tmp_path) == [
        "imagenet", "imagenet-c.fog.1", "imagenet-c.fog.3", "imagenet-r"]
    with pytest.raises(ValueError, match="unknown test set"):
        expand_dataset_names(["imagenet-q"], tmp_path)


def test_benchmark_order_is_the_papers():
    assert COMMON_CORRUPTIONS[:3] == ("gaussian_noise", "shot_noise", "impulse_noise")
    assert COMMON_CORRUPTIONS[-1] == "jpeg_compression" and len(COMMON_CORRUPTIONS) == 15
    assert parse_unit_name("imagenet-c.glass_blur.4") == ("glass_blur", 4)
    assert parse_unit_name("imagenet-c.glass_blur") is None


def test_opening_one_unit(tmp_path):
    c_tree(tmp_path)
    ds = open_test_set("imagenet-c.fog.3", tmp_path, allow_partial=True)
    assert ds.relpaths == [f"{TENCH}/a.JPEG", f"{GOLDFISH}/b.png"]
    assert ds.labels.tolist() == [0, 1]
    assert ds.info.variant == {"corruption": "fog", "severity": 3}
    assert ds.info.baseline == "imagenet" and ds.info.root == tmp_path / "imagenet-c" / "fog" / "3"
    assert ds[1][0].mode == "RGB"


def test_missing_unit_and_family_name_errors(tmp_path):
    c_tree(tmp_path)
    with pytest.raises(LayoutError, match="fog/2/ not found"):
        open_test_set("imagenet-c.fog.2", tmp_path, allow_partial=True)
    with pytest.raises(ValueError, match="expand_dataset_names"):
        open_test_set("imagenet-c", tmp_path)
    with pytest.raises(LayoutError, match="imagenet-c"):
        expand_dataset_names(["imagenet-c"], tmp_path / "elsewhere")
