"""ImageNet-R, ImageNet-A (200 classes each) and ImageNet-Sketch (1000 classes).

All three use wnid folders, ``<root>/<wnid>/<image>``; labels are ImageNet-1k
indices. ImageNet-R/-A are scored with logits restricted to their 200 classes
(arg-max over the subset: the convention of the datasets' authors, timm and
imagenet-testbed); the 1000-way score is kept too (see ``score_logits``).
Their gap is measured against ``imagenet-r-clean`` / ``imagenet-a-clean``:
the ImageNet val images of the same 200 classes, scored the same way.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from .base import Scoring, TestSetInfo
from .catalogue import baseline_of
from .classes import imagenet_wnids, subset_indices, subset_wnids, wnid_to_index
from .folders import scan_class_folders
from .imagenet import open_imagenet_val
from .images import subfolder_names
from .testset import TestSet

SUBSET_LAYOUT = """\
  <root>/n01443537/<any name>.jpg|.jpeg|.png   (one folder per wnid: 200 folders, see
  <root>/n01484850/...                          robustness/datasets/imagenet_subsets.json)
  <root>/README.txt                             (loose files are ignored)
"""

SKETCH_LAYOUT = """\
  <root>/n01440764/<any name>.JPEG    (1000 wnid folders)
  or, as distributed on HuggingFace/Kaggle:  <root>/sketch/n01440764/...
"""


def subset_scoring(set_name: str) -> Scoring:
    """Scoring restricted to the 200 ImageNet-1k classes of ``set_name``."""
    return Scoring(class_subset=subset_indices(set_name), name=f"{set_name}-200")


def open_subset_set(root: Path, set_name: str, *, allow_partial: bool = False) -> TestSet:
    """ImageNet-R (``set_name="imagenet-r"``) or ImageNet-A (``"imagenet-a"``) under ``root``."""
    wnids = subset_wnids(set_name)
    index = wnid_to_index()
    allowed = {w: index[w] for w in wnids}
    scanned = scan_class_folders(
        Path(root), allowed.get, set_name=set_name, expected=SUBSET_LAYOUT,
        required_folders=wnids, allow_partial=allow_partial)
    info = TestSetInfo(name=set_name, root=Path(root), scoring=subset_scoring(set_name),
                       baseline=baseline_of(set_name))
    return TestSet(info, scanned.relpaths, scanned.labels)


def open_class_matched_val(root: Path, set_name: str, *, allow_partial: bool = False, **val_options) -> TestSet:
    """ImageNet val restricted to the 200 classes of ``set_name``, with the same subset scoring."""
    val = open_imagenet_val(root, name=f"{set_name}-clean", allow_partial=allow_partial, **val_options)
    scoring = subset_scoring(set_name)
    keep = np.isin(val.labels, np.array(scoring.class_subset))
    info = replace(val.info, scoring=scoring, baseline=baseline_of(f"{set_name}-clean"),
                   variant={"classes": set_name})
    return val.subset(keep, info)


def sketch_root(root: Path) -> Path:
    """The folder holding the wnid folders: ``root`` itself or ``root/sketch``."""
    root = Path(root)
    inner = root / "sketch"
    has_wnid_folders = any(name in wnid_to_index() for name in subfolder_names(root))
    if inner.is_dir() and not has_wnid_folders:
        return inner
    return root


def open_imagenet_sketch(root: Path, *, allow_partial: bool = False) -> TestSet:
    """ImageNet-Sketch under ``root`` (``<root>/<wnid>/`` or ``<root>/sketch/<wnid>/``), 1000-way."""
    folder = sketch_root(root)
    scanned = scan_class_folders(
        folder, wnid_to_index().get, set_name="imagenet-sketch", expected=SKETCH_LAYOUT,
        required_folders=imagenet_wnids(), allow_partial=allow_partial)
    info = TestSetInfo(name="imagenet-sketch", root=folder, scoring=Scoring(),
                       baseline=baseline_of("imagenet-sketch"))
    return TestSet(info, scanned.relpaths, scanned.labels)
