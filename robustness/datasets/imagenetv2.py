"""ImageNetV2 (Recht et al. 2019): three re-collected 10,000-image test sets.

On disk (the extracted ``imagenetv2-<variant>-format-val`` archives) each
variant has folders named by the ImageNet-1k class index, ``0`` ... ``999``,
ten images each. The label is ``int(folder)``: never the position of the
folder in a lexicographic listing (``ImageFolder`` would put ``10`` before
``2``). Scoring is plain 1000-way; the baseline is ImageNet val.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

from .base import Scoring, TestSetInfo
from .folders import scan_class_folders
from .spec import TestSetSpec
from .testset import TestSet

VARIANTS = ("matched-frequency", "threshold0.7", "top-images")
"""The three re-collected sets of Recht et al. (2019), as their archives name them."""

V2_LAYOUT = """\
  <root>/0/<hash>.jpeg      (folder name = ImageNet-1k class index, no leading zeros)
  <root>/1/...
  ...
  <root>/999/...            (1000 folders, 10 images each)
"""

_CLASS_FOLDER = re.compile(r"0|[1-9]\d{0,2}")


def class_index_of_folder(folder: str) -> int | None:
    """``int(folder)`` for ``"0"``..``"999"``, else None."""
    return int(folder) if _CLASS_FOLDER.fullmatch(folder) else None


def archive_folder(variant: str) -> str:
    """Name of the folder the official archive of ``variant`` extracts to."""
    return f"imagenetv2-{variant}-format-val"


def open_imagenetv2(root: Path, variant: str, *, allow_partial: bool = False) -> TestSet:
    """ImageNetV2 ``variant`` (one of :data:`VARIANTS`) under ``root``."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown ImageNetV2 variant {variant!r}; expected one of {VARIANTS}")
    name = f"imagenetv2-{variant}"
    scanned = scan_class_folders(
        Path(root), class_index_of_folder, set_name=name, expected=V2_LAYOUT,
        required_folders=[str(i) for i in range(1000)], allow_partial=allow_partial)
    info = TestSetInfo(name=name, root=Path(root), variant={"variant": variant},
                       scoring=Scoring())
    return TestSet(info, scanned.relpaths, scanned.labels)


SPECS = tuple(
    TestSetSpec(
        name=f"imagenetv2-{v}", opener=partial(open_imagenetv2, variant=v), layout=V2_LAYOUT,
        default_dir=archive_folder(v), alt_dirs=(f"imagenetv2-{v}",), baseline="imagenet",
        description=f"ImageNetV2 {v} (10,000 re-collected images), 1000-way; "
        "label = int(folder name).", num_images=10_000, in_default=True)
    for v in VARIANTS)
