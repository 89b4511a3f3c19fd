"""ImageNet-ReaL: the val images scored against the "Reassessed Labels" of Beyer et al. 2020.

``real.json`` is a list of 50,000 lists of ImageNet-1k indices, entry ``k - 1``
for ``ILSVRC2012_val_{k:08d}``. Every label in an image's list is correct:

* top-1 is correct if the arg-max (over all 1000 classes) is in the list;
* top-5 is correct if *any* of the top-5 predictions is in the list (timm's
  convention);
* images whose list is empty (3,163 of them) are excluded from the set.

Representation: the distinct label lists are collected in sorted order into
``Scoring.label_targets``; an image's label is the position of its list in
that table. ``restrict_predictions=False`` keeps predictions 1000-way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from .base import LayoutError, Scoring
from .imagenet import (
    NUM_VAL_IMAGES,
    VAL_DIRS,
    VAL_LAYOUT,
    VAL_OPTIONS,
    open_imagenet_val,
    val_number,
)
from .spec import TestSetSpec
from .testset import TestSet

REAL_FILE = "real.json"


def bundled_real_labels() -> Path | None:
    """timm's copy of ``real.json`` (``timm/data/_info/imagenet_real_labels.json``), if installed."""
    import importlib.util

    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "_info" / "imagenet_real_labels.json"
    return path if path.is_file() else None


def find_real_labels(val_root: Path, real_json: Path | None = None) -> Path:
    """Where to read ReaL labels: ``real_json``, else ``real.json`` next to / above the val folder,
    else the copy bundled with timm."""
    if real_json is not None:
        if not Path(real_json).is_file():
            raise LayoutError(f"imagenet-real: label file {real_json} does not exist.")
        return Path(real_json)
    for candidate in (Path(val_root) / REAL_FILE, Path(val_root).parent / REAL_FILE):
        if candidate.is_file():
            return candidate
    bundled = bundled_real_labels()
    if bundled is not None:
        return bundled
    raise LayoutError(
        f"imagenet-real: no {REAL_FILE} found in {val_root} or its parent, and timm's bundled copy "
        "is not available. Download real.json from github.com/google-research/reassessed-imagenet "
        "and put it next to the val folder, or pass real_json=PATH.")


def read_real_labels(path: Path) -> list[tuple[int, ...]]:
    """The per-image label lists of ``real.json`` as sorted tuples (index = val number - 1)."""
    try:
        raw = json.loads(Path(path).read_text())
        lists = [tuple(sorted({int(c) for c in labels})) for labels in raw]
    except (ValueError, TypeError) as exc:
        raise LayoutError(f"{path}: expected a JSON list of {NUM_VAL_IMAGES} lists of class indices "
                          f"(ReaL's real.json): {exc}") from exc
    if len(lists) != NUM_VAL_IMAGES or any(not 0 <= c < 1000 for t in lists for c in t):
        raise LayoutError(f"{path}: expected {NUM_VAL_IMAGES} lists of class indices 0..999, "
                          f"found {len(lists)} lists. Use ReaL's real.json.")
    return lists


def open_imagenet_real(
    root: Path, *, real_json: Path | None = None, allow_partial: bool = False, **val_options
) -> TestSet:
    """ImageNet val (any layout under ``root``) with ReaL label sets; see the module docstring."""
    val = open_imagenet_val(root, name="imagenet-real", allow_partial=allow_partial, **val_options)
    path = find_real_labels(root, real_json)
    per_image = read_real_labels(path)
    numbers = [val_number(p) for p in val.relpaths]
    unnamed = [p for p, n in zip(val.relpaths, numbers) if n is None]
    if unnamed:
        raise LayoutError(f"imagenet-real: {Path(root) / unnamed[0]} is not named "
                          "ILSVRC2012_val_XXXXXXXX, which ReaL labels are indexed by.")
    targets = [per_image[n - 1] for n in numbers]
    table = sorted({t for t in targets if t})
    position = {t: i for i, t in enumerate(table)}
    keep = np.array([bool(t) for t in targets])
    labels = np.array([position.get(t, -1) for t in targets], dtype=np.int64)
    scoring = Scoring(label_targets=tuple(table), name="imagenet-real", restrict_predictions=False)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    info = replace(val.info, scoring=scoring,
                   variant={"labels": "real", "real_json_sha256": digest})
    return val.subset(keep, info, labels=labels)


IMAGENET_REAL = TestSetSpec(
    name="imagenet-real", opener=open_imagenet_real, options=(*VAL_OPTIONS, "real_json"),
    layout=VAL_LAYOUT + "  plus real.json (ReaL labels) in <root> or its parent; else timm's "
    "bundled copy\n",
    description="ImageNet val scored with ReaL multi-label annotations (46,837 images with at "
    "least one label); correct if the prediction is in the image's label set.",
    num_images=46_837, same_images_as="imagenet", **VAL_DIRS)

SPECS = (IMAGENET_REAL,)
