"""ImageNet-C (Hendrycks & Dietterich 2019) and the set groups laid out like it: val images
under corruptions at severities 1-5.

On disk: ``<root>/<corruption>/<severity>/<wnid>/<image>.JPEG`` (also .png for
re-rendered copies). Every (corruption, severity) pair is its own test set,
named ``<group>.<corruption>.<severity>`` (imagenet-testbed naming), with
1000-way scoring, labels = ImageNet-1k indices, and ImageNet val as baseline.

Three set groups share the layout and the reader, each in its own folder, so that
one benchmark's numbers never mix into another's (the ImageNet-C mean, mCE):

* ``imagenet-c``: the 15 benchmark and 4 held-out corruptions, plus corruptions
  the generator does not know (a user's own);
* ``imagenet-c-bar``: the ten ImageNet-C-bar corruptions (Mintun et al. 2021);
* ``imagenet-shifts``: the generator's albumentations shift ladders.

A folder named after a corruption of another group is not read as this one's
(``robustness datasets`` points at it). The groups' specs are at the end of this file.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

from corruptions import registry as corruption_registry
from corruptions.base import COMMON, HELD_OUT
from corruptions.errors import UserInputError

from .base import DEFAULT_GEOMETRY, Scoring, TestSetInfo, geometry_variant
from .classes import imagenet_wnids, wnid_to_index
from .folders import scan_class_folders
from .images import subfolder_names
from .spec import SetGroup, member_name
from .testset import TestSet, layout_error

COMMON_CORRUPTIONS = COMMON
"""The 15 benchmark corruptions, in the order of the ImageNet-C paper's tables (the generator's list)."""

HELD_OUT_CORRUPTIONS = HELD_OUT
"""The 4 extra corruptions released for validation (not part of mCE)."""

C_LAYOUT = """\
  <root>/gaussian_noise/1/n01440764/ILSVRC2012_val_00000293.JPEG
  <root>/gaussian_noise/1/n01443537/...        (1000 wnid folders per severity)
  <root>/gaussian_noise/2/...                  (severities 1..5)
  <root>/shot_noise/...                        (one folder per corruption)
"""

CBAR_LAYOUT = C_LAYOUT.replace("gaussian_noise", "blue_noise_sample").replace("shot_noise", "sparkles")
SHIFTS_LAYOUT = C_LAYOUT.replace("gaussian_noise", "rain").replace("shot_noise", "sun_flare")

_SEVERITY = re.compile(r"[1-9]\d*")


def corruption_group(corruption: str) -> str | None:
    """The set group of a corruption the generator knows (``corruptions`` registry), else None."""
    known = corruption_registry().get(corruption)
    if known is None:
        return None
    owners = [g.name for g in SPECS if g.generator_benchmark == known.benchmark]
    return owners[0] if owners else None


def belongs_to(corruption: str, group: str) -> bool:
    """Whether ``corruption``'s sets are read as ``group``'s: its own group, or unknown
    corruptions (a user's own) as ImageNet-C."""
    owner = corruption_group(corruption)
    return owner == group or (owner is None and group == IMAGENET_C_NAME)


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


def units_on_disk(root: Path | None, corruption: str | None = None,
                  group: str = "imagenet-c") -> list[tuple[str, int]]:
    """All (corruption, severity) pairs of ``group`` under ``root`` in a stable order (see
    :func:`corruption_sort_key`), optionally for one ``corruption`` only. Folders of
    another group's corruptions are left out (see :func:`foreign_corruptions`)."""
    if root is None or not Path(root).is_dir():
        return []
    root = Path(root)
    corruptions = [corruption] if corruption else subfolder_names(root)
    units = [(c, s) for c in corruptions if belongs_to(c, group) for s in severities_on_disk(root, c)]
    return sorted(units, key=lambda u: (corruption_sort_key(u[0]), u[1]))


def foreign_corruptions(root: Path, group: str = "imagenet-c") -> dict[str, str]:
    """Corruption folders under ``root`` that belong to another group: name -> group."""
    root = Path(root)
    if not root.is_dir():
        return {}
    found = {c: corruption_group(c) for c in subfolder_names(root) if severities_on_disk(root, c)}
    return {c: owner for c, owner in found.items() if owner is not None and owner != group}


def open_imagenet_c(root: Path, corruption: str, severity: int, *, group: str = "imagenet-c",
                    allow_partial: bool = False, geometry: str = DEFAULT_GEOMETRY) -> TestSet:  # fmt: skip
    """The set ``(corruption, severity)`` of ``group``; ``root`` holds the corruption folders.
    ``geometry``: how its 224 px images reach a model (``base.GEOMETRIES``)."""
    root = Path(root)
    name = member_name(corruption, severity, group)
    shown_geometry = geometry_variant(name, geometry)
    layout = {g.name: g.layout for g in SPECS}[group]
    if not belongs_to(corruption, group):
        owner = corruption_group(corruption)
        raise UserInputError(
            f"{name}: {corruption} is an {owner} corruption, not {group}. Its sets are named "
            f"{member_name(corruption, severity, owner)} and are read from <data-root>/{owner} "
            f"(or --root {owner}=PATH): build or move them there, so that {group}'s "
            "averages never include another benchmark's corruptions.")
    folder = root / corruption / str(severity)
    if not folder.is_dir():
        where = root / corruption if (root / corruption).is_dir() else root
        raise layout_error(
            name, root, layout, f"folder {corruption}/{severity}/ not found.",
            f"extract or build this corruption into the {group} root (the folder that holds "
            "the corruption folders), or run `robustness datasets` to list what is present.",
            where=where)
    scanned = scan_class_folders(
        folder, wnid_to_index().get, set_name=name, expected=layout,
        required_folders=imagenet_wnids(), allow_partial=allow_partial)
    info = TestSetInfo(
        name=name, root=folder,
        variant={"corruption": corruption, "severity": int(severity), **shown_geometry},
        scoring=Scoring())
    return TestSet(info, scanned.relpaths, scanned.labels)


IMAGENET_C_NAME = "imagenet-c"


def _on_disk_group(name: str, **fields) -> SetGroup:
    """A group read from its own folder by :func:`open_imagenet_c`."""
    return SetGroup(name=name, opener=partial(open_imagenet_c, group=name),
                    members=partial(units_on_disk, group=name),
                    options=("allow_partial", "geometry"), **fields)


IMAGENET_C = _on_disk_group(
    IMAGENET_C_NAME, title="ImageNet-C", generator_benchmark="imagenet-c", mce=True,
    member_images=50_000, default_dir="imagenet-c", alt_dirs=("ImageNet-C",), layout=C_LAYOUT,
    in_default=True,
    description="ImageNet-C: one set per corruption and severity, named "
    "imagenet-c.<corruption>.<severity>; 'imagenet-c' expands to all pairs on disk.")
IMAGENET_C_BAR = _on_disk_group(
    "imagenet-c-bar", title="ImageNet-C-bar", generator_benchmark="imagenet-c-bar",
    default_dir="imagenet-c-bar", alt_dirs=("ImageNet-C-bar",), layout=CBAR_LAYOUT,
    description="ImageNet-C-bar (Mintun et al. 2021): one set per corruption and severity, named "
    "imagenet-c-bar.<corruption>.<severity>, e.g. built with `python -m corruptions build VAL "
    "<data-root>/imagenet-c-bar --corruptions c-bar`; 'imagenet-c-bar' expands to all pairs "
    "on disk.")
IMAGENET_SHIFTS = _on_disk_group(
    "imagenet-shifts", title="shift ladders", generator_benchmark="shifts",
    default_dir="imagenet-shifts", layout=SHIFTS_LAYOUT,
    description="The generator's albumentations shift ladders (rain, sun_flare, shadow, "
    "iso_noise, color_shift, downscale), named imagenet-shifts.<corruption>.<severity> "
    "(`--corruptions shifts` when building); 'imagenet-shifts' expands to all pairs.")

SPECS = (IMAGENET_C, IMAGENET_C_BAR, IMAGENET_SHIFTS)
