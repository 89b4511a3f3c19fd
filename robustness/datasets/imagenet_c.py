"""ImageNet-C (Hendrycks & Dietterich 2019) and the sets laid out like it: val images under
corruptions at severities 1-5.

On disk: ``<root>/<corruption>/<severity>/<wnid>/<image>.JPEG`` (also .png for
re-rendered copies). Every (corruption, severity) pair is its own test set,
named ``<family>.<corruption>.<severity>`` (imagenet-testbed naming), with
1000-way scoring, labels = ImageNet-1k indices, and ImageNet val as baseline.

Three families share the layout and the reader, each in its own folder, so that
one benchmark's numbers never mix into another's (the ImageNet-C mean, mCE):

* ``imagenet-c``: the 15 benchmark and 4 held-out corruptions, plus corruptions
  the generator does not know (a user's own);
* ``imagenet-c-bar``: the ten ImageNet-C-bar corruptions (Mintun et al. 2021);
* ``imagenet-shifts``: the generator's albumentations shift ladders.

A folder named after a corruption of another family is not read as this one's
(``robustness datasets`` points at it).
"""

from __future__ import annotations

import re
from pathlib import Path

from corruptions.errors import UserInputError

from .base import Scoring, TestSetInfo
from .catalogue import (
    IMAGENET_C,
    IMAGENET_C_BAR,
    IMAGENET_SHIFTS,
    ON_DISK_GROUPS,
    SET_GROUPS,
    baseline_of,
    member_name,
)
from .classes import imagenet_wnids, wnid_to_index
from .folders import scan_class_folders
from .images import subfolder_names
from .testset import TestSet, layout_error

FAMILY = IMAGENET_C.name
CBAR_FAMILY = IMAGENET_C_BAR.name
SHIFTS_FAMILY = IMAGENET_SHIFTS.name
FAMILIES = ON_DISK_GROUPS
_GENERATOR_BENCHMARK = {g.generator_benchmark: g.name for g in SET_GROUPS.values() if g.on_disk}
"""The ``benchmark`` label of the generator's corruptions -> the set group they belong to."""

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

CBAR_LAYOUT = C_LAYOUT.replace("gaussian_noise", "blue_noise_sample").replace("shot_noise", "sparkles")
SHIFTS_LAYOUT = C_LAYOUT.replace("gaussian_noise", "rain").replace("shot_noise", "sun_flare")
LAYOUTS = {FAMILY: C_LAYOUT, CBAR_FAMILY: CBAR_LAYOUT, SHIFTS_FAMILY: SHIFTS_LAYOUT}

_SEVERITY = re.compile(r"[1-9]\d*")


def corruption_family(corruption: str) -> str | None:
    """The family of a corruption the generator knows (``corruptions`` registry), else None."""
    from corruptions import registry  # the generator's catalogue; no torch, no I/O

    known = registry().get(corruption)
    return None if known is None else _GENERATOR_BENCHMARK.get(known.benchmark)


def belongs_to(corruption: str, family: str) -> bool:
    """Whether ``corruption``'s sets are read as ``family``'s: its own family, or unknown
    corruptions (a user's own) as ImageNet-C."""
    owner = corruption_family(corruption)
    return owner == family or (owner is None and family == FAMILY)


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


def units_on_disk(root: Path, corruption: str | None = None, family: str = FAMILY) -> list[tuple[str, int]]:
    """All (corruption, severity) pairs of ``family`` under ``root`` in a stable order (see
    :func:`corruption_sort_key`), optionally for one ``corruption`` only. Folders of
    another family's corruptions are left out (see :func:`foreign_corruptions`)."""
    root = Path(root)
    if not root.is_dir():
        return []
    corruptions = [corruption] if corruption else subfolder_names(root)
    units = [(c, s) for c in corruptions if belongs_to(c, family) for s in severities_on_disk(root, c)]
    return sorted(units, key=lambda u: (corruption_sort_key(u[0]), u[1]))


def foreign_corruptions(root: Path, family: str = FAMILY) -> dict[str, str]:
    """Corruption folders under ``root`` that belong to another family: name -> family."""
    root = Path(root)
    if not root.is_dir():
        return {}
    found = {c: corruption_family(c) for c in subfolder_names(root) if severities_on_disk(root, c)}
    return {c: owner for c, owner in found.items() if owner is not None and owner != family}


def open_imagenet_c(root: Path, corruption: str, severity: int, *, family: str = FAMILY,
                    allow_partial: bool = False) -> TestSet:  # fmt: skip
    """The set ``(corruption, severity)`` of ``family``; ``root`` holds the corruption folders."""
    root = Path(root)
    name = member_name(corruption, severity, family)
    if not belongs_to(corruption, family):
        owner = corruption_family(corruption)
        raise UserInputError(
            f"{name}: {corruption} is an {owner} corruption, not {family}. Its sets are named "
            f"{member_name(corruption, severity, owner)} and are read from <data-root>/{owner} "
            f"(or --root {owner}=PATH): build or move them there, so that {family}'s "
            "averages never include another benchmark's corruptions.")
    folder = root / corruption / str(severity)
    if not folder.is_dir():
        where = root / corruption if (root / corruption).is_dir() else root
        raise layout_error(
            name, root, LAYOUTS[family], f"folder {corruption}/{severity}/ not found.",
            f"extract or build this corruption into the {family} root (the folder that holds "
            "the corruption folders), or run `robustness datasets` to list what is present.",
            where=where)
    scanned = scan_class_folders(
        folder, wnid_to_index().get, set_name=name, expected=LAYOUTS[family],
        required_folders=imagenet_wnids(), allow_partial=allow_partial)
    info = TestSetInfo(
        name=name, root=folder, variant={"corruption": corruption, "severity": int(severity)},
        scoring=Scoring(), baseline=baseline_of(name))
    return TestSet(info, scanned.relpaths, scanned.labels)
