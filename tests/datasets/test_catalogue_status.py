"""`robustness datasets --data-root DIR`: each set's status, found by opening it as eval does."""

from __future__ import annotations

import json
import re

import pytest
from dataset_trees import (
    GOLDFISH,
    STINGRAY,
    TENCH,
    class_tree,
    val_name,
    write_kaggle_csv,
    write_objectnet_mappings,
)

from robustness.cli import main
from robustness.datasets import LayoutError, open_test_set
from robustness.datasets.classes import imagenet_wnids, subset_wnids

N_ENTRIES = 20  # catalogue entries: 11 single sets, 3 ImageNet-V2 variants, 6 families
HINT = "`robustness eval` refuses incomplete sets unless given --allow-partial"


def catalogue(capsys, root) -> tuple[dict[str, str], str]:
    """Run the command; return {entry name: its block of text} and the summary line."""
    assert main(["datasets", "--data-root", str(root)]) == 0
    out = capsys.readouterr().out
    blocks = {b.split("\n", 1)[0]: b for b in re.split(r"^== ", out, flags=re.M)[1:]}
    assert len(blocks) == N_ENTRIES
    return blocks, out.strip().splitlines()[-1]


def status(block: str) -> str:
    lines = re.findall(r"^  status: (.*)$", block, flags=re.M)
    assert len(lines) == 1, block
    return lines[0]


def test_an_empty_data_root_reports_every_set_missing(capsys, tmp_path):
    blocks, summary = catalogue(capsys, tmp_path)
    assert {status(b) for b in blocks.values()} == {"missing"}
    assert summary == f"summary for {tmp_path}: 0 complete, 0 partial, 20 missing"
    assert "found:" not in "".join(blocks.values())


def test_a_complete_set_is_complete_and_names_its_folder(capsys, tmp_path):
    folder = class_tree(tmp_path / "imagenetv2-top-images-format-val",
                        {str(i): ["x.jpeg"] for i in range(1000)})  # fmt: skip
    r_root = class_tree(tmp_path / "imagenet-r", {w: ["r.jpg"] for w in subset_wnids("imagenet-r")})
    blocks, summary = catalogue(capsys, tmp_path)
    assert status(blocks["imagenetv2-top-images"]) == "complete"
    assert f"read from: {folder}" in blocks["imagenetv2-top-images"]
    assert status(blocks["imagenet-r"]) == "complete"
    assert f"read from: {r_root}" in blocks["imagenet-r"]
    assert status(blocks["imagenetv2-matched-frequency"]) == "missing"
    assert HINT not in blocks["imagenet-r"]
    assert summary.endswith(": 2 complete, 0 partial, 18 missing")


def test_a_val_tree_with_8_of_1000_classes_is_partial_with_the_allow_partial_hint(capsys, tmp_path):
    val = class_tree(tmp_path / "imagenet" / "val",
                     {w: [val_name(i + 1)] for i, w in enumerate(imagenet_wnids()[:8])})  # fmt: skip
    (tmp_path / "imagenet" / "real.json").write_text(json.dumps([[0]] * 50_000))
    with pytest.raises(LayoutError):  # what eval meets without --allow-partial
        open_test_set("imagenet", tmp_path)
    blocks, summary = catalogue(capsys, tmp_path)
    assert status(blocks["imagenet"]) == "partial (8 of 1000 classes)"
    assert HINT in blocks["imagenet"] and f"read from: {val}" in blocks["imagenet"]
    for name in ("imagenet-real", "imagenet-r-clean", "imagenet-a-clean", "imagenet-c-inmemory",
                 "imagenet-p-inmemory"):
        assert status(blocks[name]) == "partial (8 of 1000 classes in the ImageNet val folder)", name
        assert HINT in blocks[name]
    # objectnet-clean reads the val folder and objectnet's mapping files; there is no objectnet
    assert status(blocks["objectnet-clean"]) == (
        "missing (it needs the objectnet folder too, which is missing)")
    assert summary.endswith(": 0 complete, 7 partial, 13 missing")


def test_a_flat_val_folder_counts_files_against_the_official_50000(capsys, tmp_path):
    val = tmp_path / "val"
    class_tree(tmp_path, {"val": [val_name(1), val_name(2), val_name(3)]})
    write_kaggle_csv(val / "LOC_val_solution.csv", {1: TENCH, 2: GOLDFISH, 3: STINGRAY})
    blocks, _ = catalogue(capsys, tmp_path)
    assert status(blocks["imagenet"]) == "partial (3 of 50000 files)"
    assert f"read from: {val}" in blocks["imagenet"]


def test_subset_and_objectnet_sets_count_their_own_classes(capsys, tmp_path):
    class_tree(tmp_path / "imagenet-a", {w: ["a.jpg"] for w in subset_wnids("imagenet-a")[:3]})
    root = tmp_path / "objectnet-1.0"
    write_objectnet_mappings(root / "mappings",
                             {"banana": "Banana", "chair": "Chair", "alarm_clock": "Alarm clock"},
                             {"Banana": "banana", "Chair": "barber chair",
                              "Alarm clock": "analog clock"})  # fmt: skip
    class_tree(root / "images", {"banana": ["b.png"], "chair": ["c.png"]})  # alarm_clock/ absent
    blocks, summary = catalogue(capsys, tmp_path)
    assert status(blocks["imagenet-a"]) == "partial (3 of 200 classes)"
    assert status(blocks["objectnet"]) == "partial (2 of 3 classes)"  # the mapped folders
    assert summary.endswith(": 0 complete, 2 partial, 18 missing")


def test_a_set_the_reader_refuses_is_unreadable_with_the_errors_first_line(capsys, tmp_path):
    class_tree(tmp_path / "imagenet-a", {"n01498041": ["a.jpg"], "not_a_class": ["b.jpg"]})
    blocks, summary = catalogue(capsys, tmp_path)
    assert status(blocks["imagenet-a"]) == (
        "unreadable: imagenet-a: 1 of 2 folders are not class folders of this set: not_a_class")
    assert summary.endswith(": 0 complete, 0 partial, 19 missing, 1 unreadable")


def test_a_corruption_family_reports_the_sets_it_expands_to(capsys, tmp_path):
    wnids = imagenet_wnids()
    class_tree(tmp_path / "imagenet-c" / "fog" / "3", {w: ["x.JPEG"] for w in wnids})
    class_tree(tmp_path / "imagenet-c" / "snow" / "1", {w: ["x.JPEG"] for w in wnids[:10]})
    (tmp_path / "imagenet-c-bar").mkdir()  # a folder without <corruption>/<severity>/ sets
    blocks, summary = catalogue(capsys, tmp_path)
    block = blocks["imagenet-c"]
    assert status(block) == "partial (1 of 2 sets incomplete)"
    assert "imagenet-c.snow.1: partial (10 of 1000 classes)" in block and HINT in block
    assert "imagenet-c.fog.3" not in block  # complete sets are not listed
    assert status(blocks["imagenet-c-bar"]).startswith("unreadable: imagenet-c-bar: ")
    assert summary.endswith(": 0 complete, 1 partial, 18 missing, 1 unreadable")

    (tmp_path / "imagenet-c" / "snow" / "1").rename(tmp_path / "snow-aside")
    blocks, _ = catalogue(capsys, tmp_path)
    assert status(blocks["imagenet-c"]) == "complete (1 set of 1 corruption)"


@pytest.mark.parametrize("make", ["nothing", "file"])
def test_a_data_root_that_is_not_a_folder_is_a_user_error(capsys, tmp_path, make):
    root = tmp_path / "datasets"
    if make == "file":
        root.write_text("not a folder")
    assert main(["datasets", "--data-root", str(root)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"robustness: error: --data-root {root} ")
    assert ("does not exist" if make == "nothing" else "is a file") in lines[0]
    assert "Traceback" not in captured.err


def test_without_a_data_root_the_catalogue_has_no_status(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "== imagenet\n" in out and "status:" not in out and "summary for" not in out
