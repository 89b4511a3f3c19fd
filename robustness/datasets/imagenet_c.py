"""ImageNet-C (Hendrycks & Dietterich 2019): val images under corruptions at severities 1-5.

On disk: ``<root>/<corruption>/<severity>/<wnid>/<image>.JPEG`` (also .png for
re-rendered copies). Every (corruption, severity) pair is its own test set,
named ``imagenet-c.<corruption>.<severity>`` (imagenet-testbed naming), with
1000-way scoring, labels = ImageNet-1k indices, and ImageNet val as baseline.
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import Scoring, TestSetInfo
from .classes import imagenet_wnids, wnid_to_index
from .folders import scan_class_folders
from .images import subfolder_names
from .testset import TestSet, layout_error

FAMILY = "imagenet-c"

COMMON_CORRUPTIONS = (
    "gaussian_noise", "shot_noise", "impulse_noise",
    "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog", "brightness",
    "contrast", "elastic_transform", "pixelate", "jpeg_compression",
)
"""The 15 benchmark corruptions, in the order of the ImageNet-C paper's tables."""

HELD_OUT_CORRUPTIONS = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
"""The 4 extra corruptions released for validation (not part of mCE)."""

C_LAYOUT = """\
  <root>/gaussian_noise/1/n01440764/ILSVRC2012_val_00000293.JPEG
  <root>/gaussian_noise/1/n01443537/...        (1000 wnid folders per severity)
  <root>/gaussian_noise/2/...                  (severities 1..5)
  <root>/shot_noise/...                        (one folder per corruption)
"""

_NAME = re.compile(r"imagenet-c\.([A-Za-z0-9_]+)\.([1-9]\d*)")
_SEVERITY = re.compile(r"[1-9]\d*")


def unit_name(corruption: str, severity: int) -> str:
    """Test-set name of one (corruption, severity) pair."""
    return f"{FAMILY}.{corruption}.{severity}"


def parse_unit_name(name: str) -> tuple[str, int] | None:
    """``(corruption, severity)`` from ``imagenet-c.<corruption>.<severity>``, else None."""
    match = _NAME.fullmatch(name)
    return (match.group(1), int(match.group(2))) if match else None


def corruption_sort_key(corruption: str) -> tuple[int, int, str]:
    """Benchmark corruptions first (paper order), then held-out ones, then others A-Z."""
    if corruption in COMMON_CORRUPTIONS:
        return (0, COMMON_CORRUPTIONS.index(corruption), corruption)
    if corruption in HELD_OUT_CORRUPTIONS:
        return (1, HELD_OUT_CORRUPTIONS.index(corruption), corruption)
    return (2, 0, corruption)


def severities_on_disk(root: Path, corruption: str) -> list[int]:
    """Severity folders present under ``root/corruption``, ascending."""
    folder = Path(root) / corruption
    if not folder.is_dir():
        return []
    return sorted(int(s) for s in subfolder_names(folder) if _SEVERITY.fullmatch(s))


def units_on_disk(root: Path, corruption: str | None = None) -> list[tuple[str, int]]:
    """All (corruption, severity) pairs under ``root`` in a stable order (see
    :func:`corruption_sort_key`), optionally for one ``corruption`` only."""
    root = Path(root)
    if not root.is_dir():
        return []
    corruptions = [corruption] if corruption else subfolder_names(root)
    units = [(c, s) for c in corruptions for s in severities_on_disk(root, c)]
    return sorted(units, key=lambda u: (corruption_sort_key(u[0]), u[1]))


def open_imagenet_c(root: Path, corruption: str, severity: int, *, allow_partial: bool = False) -> TestSet:
    """The ImageNet-C set ``(corruption, severity)``; ``root`` holds the corruption folders."""
    root = Path(root)
    name = unit_name(corruption, severity)
    folder = root / corruption / str(severity)
    if not folder.is_dir():
        where = root / corruption if (root / corruption).is_dir() else root
        raise layout_error(
            name, root, C_LAYOUT, f"folder {corruption}/{severity}/ not found.",
            "extract the archive of this corruption into the ImageNet-C root (the folder that "
            "holds the corruption folders), or run `robustness datasets` to list what is present.",
            where=where)
    scanned = scan_class_folders(
        folder, wnid_to_index().get, set_name=name, expected=C_LAYOUT,
        required_folders=imagenet_wnids(), allow_partial=allow_partial)
    info = TestSetInfo(
        name=name, root=folder, variant={"corruption": corruption, "severity": int(severity)},
        scoring=Scoring(), baseline="imagenet")
    return TestSet(info, scanned.relpaths, scanned.labels)
