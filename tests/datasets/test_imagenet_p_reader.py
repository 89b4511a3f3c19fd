"""ImageNet-P as test sets (robustness/datasets/imagenet_p.py): frames as items, their order and
labels, one decode per video, errors for bad videos, names, and the in-memory group.

The tree is written by corruptions' builder (small 32 px frames); the expected frames are the
videos decoded by ``corruptions.imagenet_p.read_sequence`` directly, the expected labels the
standard indices of the wnids (``dataset_trees.INDEX``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from dataset_trees import GOLDFISH, INDEX, TENCH, imagenet_p_tree

from robustness.datasets import LayoutError, expand_dataset_names, open_test_set
from robustness.datasets.base import BadImageError
from robustness.datasets.imagenet_p import BadVideoError, split_frame_relpath
from robustness.errors import UserInputError

pytest.importorskip("av", reason="PyAV (the imagenet-p extra) is not installed")

SEED = 3
SMALL = {"resize": 40, "crop": 32}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """imagenet/val (2 classes x 2 images) and imagenet-p: translate (41 frames), gaussian
    noise at difficulties 1 and 2, held-out speckle noise at 1 and 2."""
    return imagenet_p_tree(tmp_path_factory.mktemp("p"), "translate,gaussian_noise,speckle_noise",
                           "1,2", seed=SEED, **SMALL)


def videos(data_root: Path, folder: str) -> list[str]:
    root = data_root / "imagenet-p" / folder
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.mp4"))


def decode(path: Path) -> np.ndarray:
    from corruptions.imagenet_p import read_sequence

    return read_sequence(path)


def test_items_are_the_frames_in_sequence_major_order_with_val_labels(data_root):
    ds = open_test_set("imagenet-p.translate.1", data_root, allow_partial=True)
    files = videos(data_root, "translate")
    assert files == [f"{TENCH}/ILSVRC2012_val_00000000.mp4", f"{TENCH}/ILSVRC2012_val_00000001.mp4",
                     f"{GOLDFISH}/ILSVRC2012_val_00000010.mp4", f"{GOLDFISH}/ILSVRC2012_val_00000011.mp4"]
    assert len(ds) == 4 * 41 and ds.info.root == data_root / "imagenet-p" / "translate"
    assert ds.relpaths == [f"{f}#{t:02d}" for f in files for t in range(41)]
    assert ds.relpaths == sorted(ds.relpaths)  # the reader's stable order is the sorted order
    assert ds.relpaths[40] == f"{TENCH}/ILSVRC2012_val_00000000.mp4#40"
    assert ds.labels.tolist() == [INDEX[TENCH]] * 82 + [INDEX[GOLDFISH]] * 82
    assert ds.info.baseline is None and ds.info.name == "imagenet-p.translate.1"  # no gap: frames are not independent
    decoded = {f: decode(ds.info.root / f) for f in files}
    for i in range(len(ds)):
        image, label, index, relpath = ds[i]
        video, frame = split_frame_relpath(relpath)
        assert (index, relpath, frame, video) == (i, ds.relpaths[i], i % 41, files[i // 41])
        assert label == ds.labels[i] and image.mode == "RGB" and image.size == (32, 32)
        np.testing.assert_array_equal(np.asarray(image), decoded[video][frame])


def test_each_video_is_decoded_once_and_a_worker_copy_starts_empty(data_root):
    import pickle

    ds = open_test_set("imagenet-p.gaussian_noise.2", data_root, allow_partial=True)
    assert len(ds) == 4 * 31 and ds.decodes == 0
    for i in range(len(ds)):
        ds[i]
    assert ds.decodes == 4  # one per video, not one per frame
    for i in (70, 64, 62, 93, 31):  # frames of cached videos, out of order
        ds[i]
    assert ds.decodes == 4
    worker = pickle.loads(pickle.dumps(ds))  # what a DataLoader worker gets
    assert worker.decodes == 0 and len(worker._cache) == 0
    np.testing.assert_array_equal(np.asarray(worker[40][0]), np.asarray(ds[40][0]))
    assert worker.decodes == 1


def test_names_difficulties_and_held_out_members(data_root):
    assert expand_dataset_names(["imagenet-p"], data_root) == [
        "imagenet-p.gaussian_noise.1", "imagenet-p.gaussian_noise.2", "imagenet-p.translate.1"]
    assert expand_dataset_names(["imagenet-p.speckle_noise"], data_root) == [
        "imagenet-p.speckle_noise.1", "imagenet-p.speckle_noise.2"]
    held_out = open_test_set("imagenet-p.speckle_noise.2", data_root, allow_partial=True)
    assert len(held_out) == 4 * 31
    assert held_out.info.root == data_root / "imagenet-p" / "speckle_noise_2"
    with pytest.raises(UserInputError, match="one sequence"):
        open_test_set("imagenet-p.translate.2", data_root, allow_partial=True)
    with pytest.raises(UserInputError, match="unknown ImageNet-P perturbation 'fog'"):
        open_test_set("imagenet-p.fog.1", data_root, allow_partial=True)
    with pytest.raises(LayoutError, match="folder rotate/ not found"):
        open_test_set("imagenet-p.rotate.1", data_root, allow_partial=True)
    with pytest.raises(LayoutError, match="folder rotate/ not found"):
        expand_dataset_names(["imagenet-p.rotate"], data_root)
    with pytest.raises(LayoutError, match="incomplete: 998 of 1000 class folders"):
        open_test_set("imagenet-p.translate.1", data_root)


def test_stray_entries_are_layout_errors(data_root, tmp_path):
    root = tmp_path / "imagenet-p"
    shutil.copytree(data_root / "imagenet-p" / "translate", root / "translate")
    (root / "translate" / TENCH / "x.mp4.part-123").write_bytes(b"")
    with pytest.raises(LayoutError, match=f"wnid folder {TENCH}/ holds entries that are not .mp4"):
        open_test_set("imagenet-p.translate.1", None, root=root, allow_partial=True)
    (root / "translate" / TENCH / "x.mp4.part-123").unlink()
    (root / "translate" / "notes").mkdir()
    with pytest.raises(LayoutError, match="1 of 3 folders are not ImageNet wnids: notes"):
        open_test_set("imagenet-p.translate.1", None, root=root, allow_partial=True)


def test_a_short_or_truncated_video_is_a_bad_video_naming_the_file(data_root, tmp_path):
    from corruptions.imagenet_p import write_sequence_mp4

    root = tmp_path / "imagenet-p"
    shutil.copytree(data_root / "imagenet-p" / "translate", root / "translate")
    files = videos(data_root, "translate")
    short, cut = root / "translate" / files[1], root / "translate" / files[2]
    write_sequence_mp4(decode(short)[:31], short, noise=False)  # 31 frames where 41 belong
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    ds = open_test_set("imagenet-p.translate.1", None, root=root, allow_partial=True)
    ds[0]  # a good video reads
    with pytest.raises(BadVideoError, match="decoded 31 frames, expected 41") as err:
        ds[41 + 5]
    assert isinstance(err.value, LayoutError) and isinstance(err.value, BadImageError)
    assert err.value.path == short and str(short) in str(err.value)
    decodes = ds.decodes
    with pytest.raises(BadVideoError):
        ds[41 + 6]  # the failure is cached: no second decode
    assert ds.decodes == decodes
    with pytest.raises(BadVideoError, match="cannot read ImageNet-P video") as err:
        ds[82]
    assert err.value.path == cut and "--skip-bad-images" in str(err.value)
    assert str(err.value).count(str(cut)) == 1  # named once, not repeated by each layer
    np.testing.assert_array_equal(np.asarray(ds[123][0]), decode(root / "translate" / files[3])[0])


def test_the_videos_stat_fingerprint_is_part_of_the_variant(data_root, tmp_path):
    import os

    copy = tmp_path / "copy"
    shutil.copytree(data_root / "imagenet-p" / "gaussian_noise", copy / "gaussian_noise")  # keeps mtimes
    first = open_test_set("imagenet-p.gaussian_noise.1", data_root, allow_partial=True).info
    moved = open_test_set("imagenet-p.gaussian_noise.1", None, root=copy, allow_partial=True).info
    assert moved.variant == first.variant  # a moved copy is the same unit
    video = copy / "gaussian_noise" / videos(data_root, "gaussian_noise")[0]
    os.utime(video, ns=(video.stat().st_atime_ns, video.stat().st_mtime_ns + 10**9))
    rewritten = open_test_set("imagenet-p.gaussian_noise.1", None, root=copy, allow_partial=True).info
    assert rewritten.variant["videos"] != first.variant["videos"]
    assert {k: v for k, v in rewritten.variant.items() if k != "videos"} == {
        "perturbation": "gaussian_noise", "difficulty": 1, "frames": 31}
    # test.py feeds the 224 px frames as they are: geometry=center-crop, recorded in the variant
    cropped = open_test_set("imagenet-p.gaussian_noise.1", data_root, allow_partial=True,
                            geometry="center-crop").info
    assert cropped.variant == {**first.variant, "geometry": "center-crop"}


def test_in_memory_frames_equal_the_built_videos(data_root):
    names = expand_dataset_names(["imagenet-p-inmemory"], None)
    assert len(names) == 14 and names[:3] == ["imagenet-p-inmemory.gaussian_noise.1",
                                              "imagenet-p-inmemory.gaussian_noise.2",
                                              "imagenet-p-inmemory.gaussian_noise.3"]
    assert names[-1] == "imagenet-p-inmemory.scale.1" and not any("speckle" in n for n in names)
    rendered = open_test_set("imagenet-p-inmemory.gaussian_noise.2", data_root, allow_partial=True,
                             seed=SEED, encode=True, **SMALL)
    on_disk = open_test_set("imagenet-p.gaussian_noise.2", data_root, allow_partial=True)
    assert len(rendered) == len(on_disk) == 4 * 31 and rendered.info.baseline is None
    assert rendered.relpaths[31] == f"{TENCH}/ILSVRC2012_val_00000001.png#00"
    np.testing.assert_array_equal(rendered.labels, on_disk.labels)
    for i in range(len(rendered)):
        image, label, index, relpath = rendered[i]
        assert (index, relpath) == (i, rendered.relpaths[i])
        np.testing.assert_array_equal(np.asarray(image), np.asarray(on_disk[i][0]))
    assert rendered.decodes == 4
    other = open_test_set("imagenet-p-inmemory.gaussian_noise.2", data_root, allow_partial=True,
                          seed=SEED + 1, encode=True, **SMALL)
    assert other.info.variant["seed"] == SEED + 1 and other.info.variant != rendered.info.variant
    assert not np.array_equal(np.asarray(other[5][0]), np.asarray(rendered[5][0]))
    with pytest.raises(UserInputError, match="crop <= resize"):
        open_test_set("imagenet-p-inmemory.rotate.1", data_root, allow_partial=True, resize=20, crop=32)


def test_the_reader_imports_neither_torch_nor_pyav():
    code = ("import sys, robustness.datasets.imagenet_p, robustness.datasets.catalogue; "
            "print(sorted(m for m in ('torch', 'av', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_robustness_datasets_reports_the_groups(data_root):
    from robustness.datasets.registry import catalogue_status

    statuses = catalogue_status(data_root)
    assert statuses["imagenet-p"].headline() == "partial (3 of 3 sets incomplete)"
    assert statuses["imagenet-p"].folder == data_root / "imagenet-p"
    assert "imagenet-p.translate.1: partial (2 of 1000 classes)" in statuses["imagenet-p"].notes
    assert statuses["imagenet-p-inmemory"].headline() == (
        "partial (2 of 1000 classes in the ImageNet val folder)")
