"""ObjectNet (Barbu et al. 2019), restricted to its classes that overlap ImageNet-1k.

On disk (the extracted ``objectnet-1.0`` archive)::

    <root>/images/<folder>/<image>.png      313 object folders
    <root>/mappings/folder_to_objectnet_label.json   {folder: ObjectNet class name}
    <root>/mappings/objectnet_to_imagenet_1k.json    {ObjectNet class name: "name; name; ..."}
    <root>/mappings/imagenet_to_label_2012_v2        line j: names of ImageNet class j
    <root>/mappings/pytorch_to_imagenet_2012_id.json {ImageNet-1k index: line j}

The ImageNet names in ``objectnet_to_imagenet_1k.json`` are whole lines of
``imagenet_to_label_2012_v2``; ``pytorch_to_imagenet_2012_id.json`` turns a
line number into the standard (sorted-wnid) index. Each resolved index is
checked against the shipped class table (its name must be the same line), so
inconsistent mapping files fail loudly instead of mislabelling images. Only folders whose class
maps to ImageNet are read (113 classes); labels are positions in the sorted
list of those folders.

Scoring: ``Scoring(label_targets=...)``: a prediction is correct when it falls
in the image's set of mapped ImageNet indices, and predictions are restricted
to the union of all mapped indices (125 ImageNet classes; the convention of the
ObjectNet authors' evaluation code and imagenet-testbed). Top-5 is taken over the
113 ObjectNet classes by default (``merge_top5=True``): each class scores the largest
logit among its ImageNet classes, as imagenet-testbed's ``val-on-objectnet-classes``
does (``src/eval_settings/objectnet.py``); ``merge_top5=False`` takes it over the 125
ImageNet classes instead. Top-1 is the same under both rules.

Images carry a red border; ``border_px`` pixels are cropped from every side on load,
2 by default (:data:`DEFAULT_BORDER_PX`), as the official loader
(``objectnet_pytorch_dataloader.py``: ``crop((2, 2, w - 2, h - 2))``) and
imagenet-testbed (``ImageOps.crop(image, border=2)``) do.

``objectnet-clean`` is the class-matched baseline: ImageNet val images whose
class is one of the mapped ImageNet classes, each labelled with the ObjectNet
class it maps to and scored with the *same* ``label_targets`` and restriction,
so "correct" means the same thing on both sides of the gap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .base import LayoutError, Scoring, TestSetInfo
from .classes import imagenet_names
from .folders import scan_class_folders
from .imagenet import VAL_DIRS, VAL_LAYOUT, VAL_OPTIONS, open_imagenet_val
from .images import subfolder_names
from .spec import TestSetSpec
from .testset import TestSet, layout_error

FOLDER_TO_LABEL = "folder_to_objectnet_label.json"
LABEL_TO_IMAGENET = "objectnet_to_imagenet_1k.json"
IMAGENET_LABEL_LINES = "imagenet_to_label_2012_v2"
PYTORCH_TO_LINE = "pytorch_to_imagenet_2012_id.json"
MAPPING_FILES = (FOLDER_TO_LABEL, LABEL_TO_IMAGENET, IMAGENET_LABEL_LINES, PYTORCH_TO_LINE)
DEFAULT_BORDER_PX = 2
"""Pixels cropped from each side of an ObjectNet image: the official loader's and imagenet-testbed's 2."""
DEFAULT_MERGE_TOP5 = True
"""Top-5 over the 113 merged ObjectNet classes (imagenet-testbed), not the 125 ImageNet classes."""

OBJECTNET_LAYOUT = f"""\
  <root>/images/alarm_clock/<hash>.png     (313 object folders, .png images)
  <root>/images/banana/...
  <root>/mappings/{FOLDER_TO_LABEL}
  <root>/mappings/{LABEL_TO_IMAGENET}
  <root>/mappings/{IMAGENET_LABEL_LINES}
  <root>/mappings/{PYTORCH_TO_LINE}
"""


@dataclass(frozen=True)
class ObjectNetMapping:
    """The ObjectNet classes that overlap ImageNet-1k. Label ``k`` is ``folders[k]``."""

    folders: tuple[str, ...]
    class_names: tuple[str, ...]
    targets: tuple[tuple[int, ...], ...]
    """ImageNet-1k indices that count as correct for each label (sorted)."""

    def scoring(self, merge_top5: bool = DEFAULT_MERGE_TOP5) -> Scoring:
        """ObjectNet scoring; ``merge_top5``: top-5 over the labels, not the ImageNet classes."""
        return Scoring(label_targets=self.targets, name=f"objectnet-{len(self.folders)}",
                       merge_targets=merge_top5)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LayoutError(f"{path}: cannot read as JSON ({exc}). Restore it from the ObjectNet "
                          "archive (objectnet-1.0/mappings/).") from exc
    if not isinstance(data, dict):
        raise LayoutError(f"{path}: expected a JSON object, found {type(data).__name__}.")
    return data


def read_objectnet_mapping(mappings_dir: Path) -> ObjectNetMapping:
    """Parse ObjectNet's own mapping files in ``mappings_dir`` (see the module docstring)."""
    mappings_dir = Path(mappings_dir)
    missing = [f for f in MAPPING_FILES if not (mappings_dir / f).is_file()]
    if missing:
        raise layout_error("objectnet", mappings_dir.parent, OBJECTNET_LAYOUT,
                           f"mapping files missing: {', '.join(missing)}.",
                           "extract the complete objectnet-1.0 archive; the mappings/ folder "
                           "ships with it.", where=mappings_dir if mappings_dir.is_dir() else mappings_dir.parent)
    folder_of = {}
    for folder, label in _read_json(mappings_dir / FOLDER_TO_LABEL).items():
        if label in folder_of:
            raise LayoutError(f"{mappings_dir / FOLDER_TO_LABEL}: class {label!r} has two folders.")
        folder_of[label] = folder
    lines = (mappings_dir / IMAGENET_LABEL_LINES).read_text().splitlines()
    line_of: dict[str, int | None] = {}
    for j, text in enumerate(lines):
        text = text.strip()
        line_of[text] = None if text in line_of else j  # None marks an ambiguous name
    index_of_line = {}
    for index, line in _read_json(mappings_dir / PYTORCH_TO_LINE).items():
        index_of_line[int(line)] = int(index)
    by_folder = {}
    for label, names in _read_json(mappings_dir / LABEL_TO_IMAGENET).items():
        if label not in folder_of:
            raise LayoutError(f"{mappings_dir / LABEL_TO_IMAGENET}: class {label!r} has no folder "
                              f"in {FOLDER_TO_LABEL}.")
        indices = set()
        for name in (n.strip() for n in names.split(";")):
            line = line_of.get(name)
            if line is None or line not in index_of_line:
                raise LayoutError(
                    f"{mappings_dir / LABEL_TO_IMAGENET}: ImageNet name {name!r} (for {label!r}) is "
                    f"{'ambiguous' if name in line_of else 'not a line'} in {IMAGENET_LABEL_LINES} "
                    f"or has no index in {PYTORCH_TO_LINE}. Restore the original mapping files.")
            index = index_of_line[line]
            if imagenet_names()[index] != name:
                raise LayoutError(
                    f"{mappings_dir / PYTORCH_TO_LINE} sends {name!r} to ImageNet-1k index {index}, "
                    f"which is {imagenet_names()[index]!r} in the standard class table. The mapping "
                    "files are inconsistent; restore them from the ObjectNet archive.")
            indices.add(index)
        by_folder[folder_of[label]] = (label, tuple(sorted(indices)))
    folders = tuple(sorted(by_folder))
    return ObjectNetMapping(
        folders=folders,
        class_names=tuple(by_folder[f][0] for f in folders),
        targets=tuple(by_folder[f][1] for f in folders),
    )


def open_objectnet(root: Path, *, border_px: int = DEFAULT_BORDER_PX, merge_top5: bool = DEFAULT_MERGE_TOP5,
                   allow_partial: bool = False) -> TestSet:
    """ObjectNet's ImageNet-overlapping images under ``root`` (the ``objectnet-1.0`` folder);
    ``border_px`` pixels cropped from each side, top-5 as ``merge_top5`` (module docstring)."""
    root = Path(root)
    images_dir = root / "images"
    if not images_dir.is_dir():
        raise layout_error("objectnet", root, OBJECTNET_LAYOUT, "no images/ folder.",
                           "point the root at the extracted objectnet-1.0 folder.")
    mapping = read_objectnet_mapping(root / "mappings")
    known = set(_read_json(root / "mappings" / FOLDER_TO_LABEL))
    strangers = [f for f in subfolder_names(images_dir) if f not in known]
    if strangers:
        raise layout_error("objectnet", root, OBJECTNET_LAYOUT,
                           f"folders not listed in {FOLDER_TO_LABEL}: {', '.join(strangers[:5])}",
                           "remove them, or check that images/ and mappings/ come from the same "
                           "archive.", where=images_dir)
    label_of = {f: k for k, f in enumerate(mapping.folders)}
    scanned = scan_class_folders(
        images_dir, label_of.get, set_name="objectnet", expected=OBJECTNET_LAYOUT,
        unknown="skip", required_folders=mapping.folders, allow_partial=allow_partial)
    info = TestSetInfo(name="objectnet", root=images_dir, variant={"border_px": border_px},
                       scoring=mapping.scoring(merge_top5))
    return TestSet(info, scanned.relpaths, scanned.labels, border_px=border_px)


def open_objectnet_clean(
    root: Path, objectnet_root: Path, *, merge_top5: bool = DEFAULT_MERGE_TOP5,
    allow_partial: bool = False, **val_options
) -> TestSet:
    """ImageNet val under ``root`` restricted to the classes ObjectNet maps to, in ObjectNet's
    label space and scoring (see the module docstring). Mappings come from ``objectnet_root``."""
    mapping = read_objectnet_mapping(Path(objectnet_root) / "mappings")
    objectnet_label = {}
    for k, targets in enumerate(mapping.targets):
        for c in targets:
            if c in objectnet_label:
                raise LayoutError(
                    f"objectnet-clean: ImageNet class {c} maps to two ObjectNet classes "
                    f"({mapping.class_names[objectnet_label[c]]!r}, {mapping.class_names[k]!r}); "
                    "the class-matched val set would be ambiguous. Check the mapping files.")
            objectnet_label[c] = k
    val = open_imagenet_val(root, name="objectnet-clean", allow_partial=allow_partial, **val_options)
    labels = np.array([objectnet_label.get(int(c), -1) for c in val.labels], dtype=np.int64)
    info = replace(val.info, scoring=mapping.scoring(merge_top5), variant={"classes": "objectnet"})
    return val.subset(labels >= 0, info, labels=labels)


OBJECTNET = TestSetSpec(
    name="objectnet", opener=open_objectnet, layout=OBJECTNET_LAYOUT,
    default_dir="objectnet-1.0", alt_dirs=("objectnet",), baseline="objectnet-clean",
    options=("allow_partial", "border_px", "merge_top5"), num_classes=113, in_default=True,
    description="ObjectNet images of the 113 classes that map to ImageNet; correct if the "
    "prediction (restricted to mapped classes) is one of the class's ImageNet classes; "
    f"{DEFAULT_BORDER_PX}-px border cropped; top-5 over the 113 ObjectNet classes.")
OBJECTNET_CLEAN = TestSetSpec(
    name="objectnet-clean", opener=open_objectnet_clean, needs=("objectnet",),
    layout=VAL_LAYOUT + "  plus ObjectNet's mappings/ folder (from the objectnet root)\n",
    options=(*VAL_OPTIONS, "objectnet_root", "merge_top5"), num_classes=113,
    description="ImageNet val restricted to the ImageNet classes ObjectNet maps to, labelled "
    "and scored exactly like objectnet.", **VAL_DIRS)

SPECS = (OBJECTNET, OBJECTNET_CLEAN)
