"""ImageNet-C rendered in memory: ImageNet val corrupted on the fly as the engine reads it.

``imagenet-c-inmemory.<corruption>.<severity>`` is the val set passed through the
generator's builder geometry (Resize(256) + CenterCrop(224) for the ``imagenet``
preset) and the numpy corruption, per image in the DataLoader workers, with the
builder's per-image seeds (run seed, relpath, corruption, severity). Its pixels
equal ``python -m corruptions build ... --format png --seed S``; they are **not**
the JPEG files of the published ImageNet-C (no quality-85 encode), so these sets
have their own name and never enter the ImageNet-C mean or mCE.

No folder of its own: it reads the ImageNet val folder. Options: ``seed`` (run
seed, default 0), ``preset`` (default ``imagenet``), and val's options. The group's spec
is at the end of this file.
"""

from __future__ import annotations

from pathlib import Path

from corruptions import ALL
from corruptions.inmemory import CorruptedDataset

from .. import __version__  # the generator ships in the same distribution
from .base import DEFAULT_GEOMETRY, TestSetInfo, geometry_variant
from .imagenet import VAL_DIRS, VAL_LAYOUT, VAL_OPTIONS, open_imagenet_val
from .imagenet_c import COMMON_CORRUPTIONS, HELD_OUT_CORRUPTIONS, IMAGENET_C_NAME, corruption_group
from .spec import SetGroup, member_name
from .testset import TestSet

IN_MEMORY_NAME = "imagenet-c-inmemory"


class InMemoryCorruptedSet:
    """A test set whose item ``i`` is ``source[i]`` corrupted on the fly (engine interface:
    ``info``, ``labels``, ``relpaths``, ``len`` and ``(PIL image, label, index, relpath)`` items)."""

    def __init__(self, source: TestSet, corruption: str, severity: int, seed: int = 0,
                 preset: str = "imagenet", geometry: str = DEFAULT_GEOMETRY):  # fmt: skip
        self.source = source
        self.corrupted = CorruptedDataset(source, corruption, severity, seed=seed, preset=preset)
        self.labels = source.labels
        self.relpaths = source.relpaths
        name = member_name(corruption, severity, IN_MEMORY_NAME)
        self.info = TestSetInfo(
            name=name,
            root=source.info.root,
            variant={"corruption": corruption, "severity": int(severity), "seed": int(seed),
                     "preset": preset, "source": source.info.describe(),
                     "generator": __version__, **geometry_variant(name, geometry)},  # fmt: skip
            scoring=source.info.scoring,
            baseline=IMAGENET_C_INMEMORY.baseline,
        )

    def __len__(self) -> int:
        return len(self.corrupted)

    def __getitem__(self, index: int):
        return self.corrupted[index]

    def __repr__(self) -> str:
        return f"InMemoryCorruptedSet({self.info.name!r}, source={self.source!r})"


def open_imagenet_c_inmemory(val_root, corruption: str, severity: int, *, seed: int = 0,
                             preset: str = "imagenet", geometry: str = DEFAULT_GEOMETRY,
                             **val_options) -> InMemoryCorruptedSet:  # fmt: skip
    """``imagenet-c-inmemory.<corruption>.<severity>`` over the ImageNet val folder ``val_root``."""
    if corruption_group(corruption) != IMAGENET_C_NAME:
        raise ValueError(
            f"{member_name(corruption, severity, IN_MEMORY_NAME)}: {corruption!r} is not one of "
            "the generator's ImageNet-C corruptions (`python -m corruptions list`); in-memory "
            "sets render those 19.")
    return InMemoryCorruptedSet(open_imagenet_val(val_root, **val_options), corruption, severity,
                                seed=seed, preset=preset, geometry=geometry)  # fmt: skip


def rendered_members(root: Path | None = None, corruption: str | None = None) -> list[tuple[str, int]]:
    """The (corruption, severity) pairs of the in-memory group: the generator's 19 ImageNet-C
    corruptions (or ``corruption``) at severities 1-5; nothing is listed on disk."""
    chosen = [corruption] if corruption else [c for c in COMMON_CORRUPTIONS + HELD_OUT_CORRUPTIONS
                                              if c in ALL]
    return [(c, s) for c in chosen for s in range(1, 6)]


IMAGENET_C_INMEMORY = SetGroup(
    name=IN_MEMORY_NAME, title="ImageNet-C in memory", opener=open_imagenet_c_inmemory,
    members=rendered_members, on_disk=False, layout=VAL_LAYOUT,
    options=(*VAL_OPTIONS, "seed", "preset", "geometry"),
    description="ImageNet-C rendered in memory from ImageNet val (builder geometry and seeds, "
    "numpy path, no JPEG encode: equal to `corruptions build --format png`, not to the "
    "published JPEGs), named imagenet-c-inmemory.<corruption>.<severity>; "
    "'imagenet-c-inmemory' expands to the 19 corruptions x 5 severities.", **VAL_DIRS)

SPECS = (IMAGENET_C_INMEMORY,)
