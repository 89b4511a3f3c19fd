"""The catalogue, root resolution and error messages of ``open_test_set`` (registry.py)."""

from __future__ import annotations

import pytest
from dataset_trees import TENCH, class_tree, val_name

from robustness.datasets import (
    DATASETS,
    LayoutError,
    expand_dataset_names,
    format_catalogue,
    open_test_set,
)
from robustness.datasets.registry import catalogue_status
from robustness.errors import UserInputError


def test_catalogue_covers_every_set_and_baselines_exist():
    expected = {"imagenet", "imagenet-real", "imagenetv2-matched-frequency", "imagenetv2-threshold0.7",
                "imagenetv2-top-images", "imagenet-c", "imagenet-c-bar", "imagenet-shifts", "imagenet-c-inmemory", "imagenet-p", "imagenet-p-inmemory", "imagenet-r", "imagenet-a", "imagenet-r-clean", "imagenet-o", "imagenet-o-clean",
                "imagenet-a-clean", "imagenet-sketch", "objectnet", "objectnet-clean"}
    assert set(DATASETS) == expected
    for spec in DATASETS.values():
        assert spec.baseline is None or spec.baseline in DATASETS
        assert spec.layout.strip() and spec.description and spec.num_classes in (113, 200, 1000)
    assert DATASETS["imagenet-r"].baseline == "imagenet-r-clean"
    assert DATASETS["objectnet"].baseline == "objectnet-clean"


def test_missing_root_names_the_paths_and_the_cli_options(tmp_path):
    with pytest.raises(LayoutError) as err:
        open_test_set("imagenet-r", tmp_path)
    message = str(err.value)
    assert str(tmp_path / "imagenet-r") in message
    assert "--data-root" in message and "--root imagenet-r=PATH" in message
    with pytest.raises(LayoutError, match="nowhere"):
        open_test_set("imagenet", tmp_path, root=tmp_path / "nowhere")


def test_explicit_root_wins_over_the_data_root(tmp_path):
    class_tree(tmp_path / "imagenet" / "val", {TENCH: [val_name(1), val_name(2)]})
    other = class_tree(tmp_path / "mine", {TENCH: [val_name(3)]})
    assert len(open_test_set("imagenet", tmp_path, allow_partial=True)) == 2
    ds = open_test_set("imagenet", tmp_path, root=other, allow_partial=True)
    assert ds.relpaths == [f"{TENCH}/{val_name(3)}"] and ds.info.root == other


def test_unknown_names_and_options_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown test set 'imagenet-b'"):
        open_test_set("imagenet-b", tmp_path)
    with pytest.raises(ValueError, match="border_px"):
        open_test_set("imagenet", tmp_path, border_px=2)


def test_catalogue_text_reports_what_was_found(tmp_path):
    class_tree(tmp_path / "imagenet-a", {"n01498041": ["a.jpg"]})
    text = format_catalogue(tmp_path)
    assert f"status: partial (1 of 200 classes)\n  read from: {tmp_path / 'imagenet-a'}" in text
    assert "imagenet-c.<corruption>.<severity>" in text and "LOC_val_solution.csv" in text


def test_catalogue_status_opens_each_set_like_open_test_set(tmp_path):
    class_tree(tmp_path / "imagenet-r", {"n01443537": ["r.jpg"], "stray": ["s.jpg"]})
    statuses = catalogue_status(tmp_path)
    assert set(statuses) == set(DATASETS)
    assert statuses["imagenet-r"].state == "unreadable"
    assert statuses["imagenet-r"].folder == tmp_path / "imagenet-r"
    with pytest.raises(LayoutError) as err:
        open_test_set("imagenet-r", tmp_path, allow_partial=True)
    assert statuses["imagenet-r"].detail == str(err.value).splitlines()[0]
    assert statuses["imagenet"].state == "missing" and statuses["imagenet"].folder is None
    with pytest.raises(UserInputError, match="does not exist"):
        catalogue_status(tmp_path / "nowhere")


def test_spec_describe_shows_folder_options_and_layout():
    text = DATASETS["imagenetv2-threshold0.7"].describe()
    assert "<data-root>/imagenetv2-threshold0.7-format-val" in text
    assert "--root imagenetv2-threshold0.7=PATH" in text
    assert "<root>/999/" in text and "allow_partial" in text


def test_expanding_a_list_adds_the_baselines_its_gaps_need(tmp_path):
    """The Makefile's default list has no class-matched baselines; expansion adds them, so
    ImageNet-R, -A and ObjectNet get their gaps (issue: one home for each concept)."""
    asked = ["imagenetv2-matched-frequency", "imagenet-r", "imagenet-a", "imagenet-sketch", "objectnet"]
    assert expand_dataset_names(asked, tmp_path) == asked
    assert expand_dataset_names(asked, tmp_path, with_baselines=True) == [
        *asked, "imagenet", "imagenet-r-clean", "imagenet-a-clean", "objectnet-clean"]
    # a baseline already asked for is not repeated; baselines have none of their own
    assert expand_dataset_names(["imagenet-r-clean", "imagenet-r"], tmp_path, with_baselines=True) == [
        "imagenet-r-clean", "imagenet-r"]


def test_default_selection_is_the_published_benchmarks_with_their_baselines(tmp_path):
    class_tree(tmp_path / "imagenet-c" / "fog" / "1", {TENCH: [val_name(1)]})
    names = expand_dataset_names(["default"], tmp_path, with_baselines=True)
    assert names == ["imagenet", "imagenetv2-matched-frequency", "imagenetv2-threshold0.7",
                     "imagenetv2-top-images", "imagenet-c.fog.1", "imagenet-r", "imagenet-a",
                     "imagenet-sketch", "objectnet", "imagenet-r-clean", "imagenet-a-clean",
                     "objectnet-clean"]
