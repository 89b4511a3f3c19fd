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
from functools import partial
from pathlib import Path

import numpy as np

from .base import Scoring, TestSetInfo
from .classes import imagenet_wnids, subset_indices, subset_wnids, wnid_to_index
from .folders import scan_class_folders
from .imagenet import VAL_DIRS, VAL_LAYOUT, VAL_OPTIONS, open_imagenet_val
from .images import subfolder_names
from .spec import TestSetSpec
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
    info = TestSetInfo(name=set_name, root=Path(root), scoring=subset_scoring(set_name))
    return TestSet(info, scanned.relpaths, scanned.labels)


def open_class_matched_val(root: Path, set_name: str, *, allow_partial: bool = False, **val_options) -> TestSet:
    """ImageNet val restricted to the 200 classes of ``set_name``, with the same subset scoring."""
    val = open_imagenet_val(root, name=f"{set_name}-clean", allow_partial=allow_partial, **val_options)
    scoring = subset_scoring(set_name)
    keep = np.isin(val.labels, np.array(scoring.class_subset))
    info = replace(val.info, scoring=scoring, variant={"classes": set_name})
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
    info = TestSetInfo(name="imagenet-sketch", root=folder, scoring=Scoring())
    return TestSet(info, scanned.relpaths, scanned.labels)


def _subset_specs(set_name: str, title: str, what: str, num_images: int) -> tuple[TestSetSpec, ...]:
    """ImageNet-R or -A and its class-matched val baseline ``<set_name>-clean``."""
    shifted = TestSetSpec(
        name=set_name, opener=partial(open_subset_set, set_name=set_name), layout=SUBSET_LAYOUT,
        default_dir=set_name, baseline=f"{set_name}-clean", num_classes=200,
        num_images=num_images, in_default=True,
        description=f"{title} {what} ({num_images:,} images, 200 classes); arg-max over the "
        "200 classes.")
    clean = TestSetSpec(
        name=f"{set_name}-clean", opener=partial(open_class_matched_val, set_name=set_name),
        layout=VAL_LAYOUT, options=VAL_OPTIONS, num_classes=200, num_images=10_000,
        description=f"ImageNet val restricted to {title}'s 200 classes, same scoring.", **VAL_DIRS)
    return shifted, clean


IMAGENET_R, IMAGENET_R_CLEAN = _subset_specs("imagenet-r", "ImageNet-R", "renditions", 30_000)
IMAGENET_A, IMAGENET_A_CLEAN = _subset_specs("imagenet-a", "ImageNet-A",
                                             "natural adversarial examples", 7_500)
IMAGENET_SKETCH = TestSetSpec(
    name="imagenet-sketch", opener=open_imagenet_sketch, layout=SKETCH_LAYOUT,
    default_dir="imagenet-sketch", alt_dirs=("ImageNet-Sketch", "sketch"), baseline="imagenet",
    num_images=50_889, in_default=True, description="ImageNet-Sketch (50,889 sketches), 1000-way.")

SPECS = (IMAGENET_R, IMAGENET_A, IMAGENET_R_CLEAN, IMAGENET_A_CLEAN, IMAGENET_SKETCH)
