"""ImageNet-1k validation set (ILSVRC2012 val, 50,000 images) in its three usual layouts.

Layouts (labels are ImageNet-1k indices, see :mod:`classes`):

(a) wnid folders, as produced by the common ``valprep.sh`` script or torchvision:
    ``<root>/<wnid>/ILSVRC2012_val_XXXXXXXX.JPEG``.
(b) flat + Kaggle solution file: ``<root>/ILSVRC2012_val_XXXXXXXX.JPEG`` and
    ``LOC_val_solution.csv`` (columns ``ImageId,PredictionString``; the first
    token of PredictionString is the image's wnid).
(c) flat + ILSVRC2012 devkit: ``ILSVRC2012_validation_ground_truth.txt`` (line
    ``k`` = ILSVRC2012_ID of image ``k``, 1-based) and ``meta.mat`` (the
    ``synsets`` struct maps ILSVRC2012_ID -> WNID). ILSVRC2012 IDs are *not*
    the sorted-wnid order: ID 1 is ``n02119789`` (kit fox), index 278.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .base import LayoutError, Scoring, TestSetInfo
from .classes import imagenet_wnids, wnid_to_index
from .folders import PARTIAL_HINT, scan_class_folders
from .images import image_names, subfolder_names
from .spec import TestSetSpec
from .testset import TestSet, layout_error

NUM_VAL_IMAGES = 50_000
KAGGLE_SOLUTION = "LOC_val_solution.csv"
DEVKIT_GROUND_TRUTH = "ILSVRC2012_validation_ground_truth.txt"
DEVKIT_META = "meta.mat"
DEVKIT_DATA_DIR = Path("ILSVRC2012_devkit_t12") / "data"

VAL_LAYOUT = f"""\
  (a) wnid folders:   <root>/n01440764/ILSVRC2012_val_00000293.JPEG  (1000 folders, 50 images each)
  (b) flat + Kaggle:  <root>/ILSVRC2012_val_00000001.JPEG ... and {KAGGLE_SOLUTION}
                      (in <root> or its parent)
  (c) flat + devkit:  <root>/ILSVRC2012_val_00000001.JPEG ... and {DEVKIT_GROUND_TRUTH} + {DEVKIT_META}
                      (in <root>, its parent, or {DEVKIT_DATA_DIR.as_posix()}/ under either)
"""

_VAL_NAME = re.compile(r"ILSVRC2012_val_(\d{8})\.", re.IGNORECASE)


def val_number(filename: str) -> int | None:
    """The 1-based position of a val image in the official order, from its file name."""
    match = _VAL_NAME.search(Path(filename).name)
    return int(match.group(1)) if match else None


def read_kaggle_solution(path: Path) -> dict[str, str]:
    """Map ImageId (``ILSVRC2012_val_XXXXXXXX``) -> wnid from Kaggle's ``LOC_val_solution.csv``."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"ImageId", "PredictionString"} <= set(reader.fieldnames):
            raise LayoutError(
                f"{path}: expected a CSV with header 'ImageId,PredictionString' (Kaggle ImageNet "
                f"localization challenge), found header {reader.fieldnames}. Use the file from the "
                "Kaggle download, or the devkit ground truth instead.")
        out = {}
        for row in reader:
            tokens = (row["PredictionString"] or "").split()
            if not tokens:
                raise LayoutError(f"{path}: empty PredictionString for {row['ImageId']}; "
                                  "the file looks damaged, download it again.")
            out[row["ImageId"].strip()] = tokens[0]
    return out


def read_devkit_id_to_wnid(meta_path: Path) -> dict[int, str]:
    """Map ILSVRC2012_ID -> wnid for the 1000 leaf synsets (``num_children == 0``) of ``meta.mat``."""
    from scipy.io import loadmat  # local import: scipy is slow to import

    try:
        synsets = loadmat(str(meta_path), squeeze_me=True)["synsets"]
        ids = np.atleast_1d(synsets["ILSVRC2012_ID"])
        wnids = np.atleast_1d(synsets["WNID"])
        children = np.atleast_1d(synsets["num_children"])
    except (KeyError, ValueError, OSError, TypeError) as exc:
        raise LayoutError(
            f"{meta_path}: cannot read the 'synsets' struct with fields ILSVRC2012_ID, WNID, "
            f"num_children ({exc}). Use meta.mat from ILSVRC2012_devkit_t12/data/.") from exc
    mapping = {int(i): str(w) for i, w, c in zip(ids, wnids, children) if int(c) == 0}
    if set(mapping.values()) != set(imagenet_wnids()):
        raise LayoutError(
            f"{meta_path}: its {len(mapping)} leaf synsets are not the 1000 ImageNet-1k wnids. "
            "Use meta.mat from the ILSVRC2012 devkit (ILSVRC2012_devkit_t12/data/meta.mat).")
    return mapping


def read_devkit_labels(ground_truth: Path, meta_path: Path) -> np.ndarray:
    """ImageNet-1k index of val image ``k`` at position ``k - 1``, from the devkit files."""
    id_to_wnid = read_devkit_id_to_wnid(meta_path)
    index = wnid_to_index()
    lines = [ln.strip() for ln in Path(ground_truth).read_text().splitlines() if ln.strip()]
    try:
        return np.array([index[id_to_wnid[int(ln)]] for ln in lines], dtype=np.int64)
    except (KeyError, ValueError) as exc:
        raise LayoutError(
            f"{ground_truth}: expected one ILSVRC2012_ID (1..1000) per line, found {exc}. "
            "Use ILSVRC2012_validation_ground_truth.txt from the ILSVRC2012 devkit.") from exc


def _find(root: Path, filename: str, explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not Path(explicit).is_file():
            raise LayoutError(f"label file {explicit} does not exist.")
        return Path(explicit)
    for folder in (root, root.parent):
        for candidate in (folder / filename, folder / DEVKIT_DATA_DIR / filename):
            if candidate.is_file():
                return candidate
    return None


def _flat_labels(
    root: Path, names: Sequence[str], solution_csv: Path | None, ground_truth: Path | None,
    meta_mat: Path | None, set_name: str,
) -> list[int]:
    """ImageNet-1k labels of flat-layout images, from the Kaggle CSV or the devkit files."""
    index = wnid_to_index()
    csv_path = _find(root, KAGGLE_SOLUTION, solution_csv) if ground_truth is None else None
    if csv_path is not None:
        solution = read_kaggle_solution(csv_path)
        labels = []
        for name in names:
            wnid = solution.get(Path(name).stem)
            if wnid is None or wnid not in index:
                raise LayoutError(f"{set_name}: {csv_path} has no valid wnid for {root / name} "
                                  f"(found {wnid!r}). Check that the CSV belongs to these images.")
            labels.append(index[wnid])
        return labels
    gt_path = _find(root, DEVKIT_GROUND_TRUTH, ground_truth)
    meta_path = _find(root, DEVKIT_META, meta_mat)
    if gt_path is None or meta_path is None:
        raise layout_error(
            set_name, root, VAL_LAYOUT,
            f"flat layout (images directly in the folder) but no label file: neither "
            f"{KAGGLE_SOLUTION} nor both {DEVKIT_GROUND_TRUTH} and {DEVKIT_META} were found.",
            f"put the Kaggle {KAGGLE_SOLUTION} or the devkit files next to the images (or in the "
            "parent folder), or sort the images into wnid folders.")
    by_number = read_devkit_labels(gt_path, meta_path)
    labels = []
    for name in names:
        number = val_number(name)
        if number is None or not 1 <= number <= len(by_number):
            raise LayoutError(f"{set_name}: {root / name} is not named ILSVRC2012_val_XXXXXXXX "
                              f"with XXXXXXXX in 1..{len(by_number)}; the devkit ground truth "
                              "is indexed by that number. Remove the file or use the wnid-folder layout.")
        labels.append(int(by_number[number - 1]))
    return labels


def open_imagenet_val(
    root: Path,
    *,
    name: str = "imagenet",
    allow_partial: bool = False,
    solution_csv: Path | None = None,
    ground_truth: Path | None = None,
    meta_mat: Path | None = None,
) -> TestSet:
    """The ImageNet-1k val set under ``root`` (any of the three layouts), 1000-way scoring.

    ``solution_csv`` / ``ground_truth`` + ``meta_mat`` override where flat-layout
    labels are read from. ``allow_partial`` accepts fewer than 1000 classes /
    50,000 images (for subsets and tests).
    """
    root = Path(root)
    images, _ = image_names(root)
    info = TestSetInfo(name=name, root=root, scoring=Scoring())
    if images:
        if subfolder_names(root) and any(w in wnid_to_index() for w in subfolder_names(root)):
            raise layout_error(name, root, VAL_LAYOUT,
                               "both loose images and wnid folders found; layouts are mixed.",
                               "keep either the flat or the wnid-folder layout, not both.")
        labels = _flat_labels(root, images, solution_csv, ground_truth, meta_mat, name)
        if len(images) != NUM_VAL_IMAGES and not allow_partial:
            raise layout_error(name, root, VAL_LAYOUT,
                               f"incomplete: {len(images)} images, expected {NUM_VAL_IMAGES}.",
                               PARTIAL_HINT)
        return TestSet(info, images, labels)
    scanned = scan_class_folders(
        root, wnid_to_index().get, set_name=name, expected=VAL_LAYOUT,
        required_folders=imagenet_wnids(), allow_partial=allow_partial)
    return TestSet(info, scanned.relpaths, scanned.labels)


VAL_DIRS = dict(default_dir="imagenet/val", alt_dirs=("val", "ILSVRC2012_img_val", "imagenet-val"))
"""Where the val folder is looked for; every set read from val (ReaL, the -clean sets) uses it."""
VAL_OPTIONS = ("allow_partial", "solution_csv", "ground_truth", "meta_mat")
"""The options of :func:`open_imagenet_val`, accepted by every set read from val."""

IMAGENET = TestSetSpec(
    name="imagenet", opener=open_imagenet_val, layout=VAL_LAYOUT, options=VAL_OPTIONS,
    description="ImageNet-1k validation set (50,000 images), 1000-way.",
    num_images=NUM_VAL_IMAGES, in_default=True, **VAL_DIRS)

SPECS = (IMAGENET,)
