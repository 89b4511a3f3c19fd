"""ImageNet-C naming, expansion and reading (robustness/datasets/imagenet_c.py, registry)."""

from __future__ import annotations

import pytest
from dataset_trees import GOLDFISH, TENCH, class_tree

from robustness.datasets import LayoutError, expand_dataset_names, format_catalogue, open_test_set
from robustness.datasets.catalogue import SetName, parse_set_name
from robustness.datasets.imagenet_c import COMMON_CORRUPTIONS


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
    assert parse_set_name("imagenet-c.glass_blur.4") == SetName("imagenet-c.glass_blur.4", "imagenet-c",
                                                                "glass_blur", 4)
    fog = parse_set_name("imagenet-c.glass_blur")
    assert fog.is_group_selection and not fog.is_member and fog.corruption == "glass_blur"
    assert parse_set_name("imagenet-c").is_group_selection
    assert parse_set_name("imagenetv2-threshold0.7") == SetName("imagenetv2-threshold0.7")  # a dot, no group
    assert parse_set_name("imagenet-r") == SetName("imagenet-r")


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


# ------------------------------------------------------------------ other families, same layout


def test_cbar_and_shift_sets_are_their_own_families(tmp_path):
    """C-bar and shift folders are named by their benchmark and never join ImageNet-C's list
    (whose mean and mCE would otherwise mix benchmarks)."""
    c_tree(tmp_path)
    for corruption in ("sparkles", "blue_noise_sample"):
        class_tree(tmp_path / "imagenet-c-bar" / corruption / "3", {TENCH: ["a.JPEG"]})
    class_tree(tmp_path / "imagenet-shifts" / "rain" / "2", {TENCH: ["a.JPEG"]})
    # a C-bar folder put into the ImageNet-C folder by mistake
    class_tree(tmp_path / "imagenet-c" / "sparkles" / "1", {TENCH: ["a.JPEG"]})

    c_names = expand_dataset_names(["imagenet-c"], tmp_path)
    assert not any("sparkles" in n for n in c_names) and "imagenet-c.zzz_custom.1" in c_names
    assert expand_dataset_names(["imagenet-c-bar", "imagenet-shifts"], tmp_path) == [
        "imagenet-c-bar.blue_noise_sample.3", "imagenet-c-bar.sparkles.3", "imagenet-shifts.rain.2"]
    ds = open_test_set("imagenet-c-bar.sparkles.3", tmp_path, allow_partial=True)
    assert ds.info.name == "imagenet-c-bar.sparkles.3" and ds.info.baseline == "imagenet"
    assert ds.info.root == tmp_path / "imagenet-c-bar" / "sparkles" / "3"
    rain = parse_set_name("imagenet-shifts.rain.2")
    assert (rain.group, rain.corruption, rain.severity) == ("imagenet-shifts", "rain", 2)


def test_a_corruption_named_under_the_wrong_family_says_where_it_belongs(tmp_path):
    c_tree(tmp_path)
    class_tree(tmp_path / "imagenet-c" / "sparkles" / "1", {TENCH: ["a.JPEG"]})
    with pytest.raises(ValueError, match=r"imagenet-c-bar\.sparkles\.1.*<data-root>/imagenet-c-bar"):
        open_test_set("imagenet-c.sparkles.1", tmp_path, allow_partial=True)
    with pytest.raises(ValueError, match="imagenet-c-bar corruption"):
        expand_dataset_names(["imagenet-c.sparkles"], tmp_path)
    with pytest.raises(ValueError, match="fog is an imagenet-c corruption"):
        open_test_set("imagenet-c-bar.fog.3", tmp_path, root=tmp_path / "imagenet-c")
    catalogue = format_catalogue(tmp_path)
    assert "not read here: sparkles/ is an imagenet-c-bar corruption" in catalogue


def test_engine_roots_and_options_fall_back_to_the_family():
    from robustness.engine import set_options, set_root

    roots = {"imagenet-c-bar": "/data/cbar", "imagenet-c": "/data/c"}
    assert set_root("imagenet-c-bar.sparkles.3", roots) == "/data/cbar"
    assert set_root("imagenet-c.fog.3", roots) == "/data/c"
    assert set_root("imagenet-shifts.rain.1", roots) is None
    options = {"imagenet-c-bar": {"allow_partial": True}}
    assert set_options("imagenet-c-bar.sparkles.3", options) == {"allow_partial": True}
    assert set_options("imagenet-c.fog.3", options) == {}
