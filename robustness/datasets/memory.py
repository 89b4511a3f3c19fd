"""ImageNet-C rendered in memory: ImageNet val corrupted on the fly as the engine reads it.

``imagenet-c-inmemory.<corruption>.<severity>`` is the val set passed through the
generator's builder geometry (Resize(256) + CenterCrop(224) for the ``imagenet``
preset) and the numpy corruption, per image in the DataLoader workers, with the
builder's per-image seeds (run seed, relpath, corruption, severity). Its pixels
equal ``python -m corruptions build ... --format png --seed S``; they are **not**
the JPEG files of the published ImageNet-C (no quality-85 encode), so these sets
have their own name and never enter the ImageNet-C mean or mCE.

No folder of its own: it reads the ImageNet val folder. Options: ``seed`` (run
seed, default 0), ``preset`` (default ``imagenet``), and val's options.
"""

from __future__ import annotations

from corruptions.inmemory import CorruptedDataset

from .. import __version__  # the generator ships in the same distribution
from .base import TestSetInfo
from .catalogue import IMAGENET_C_INMEMORY, member_name
from .imagenet import open_imagenet_val
from .imagenet_c import FAMILY, corruption_family
from .testset import TestSet

MEMORY_FAMILY = IMAGENET_C_INMEMORY.name


class InMemoryCorruptedSet:
    """A test set whose item ``i`` is ``source[i]`` corrupted on the fly (engine interface:
    ``info``, ``labels``, ``relpaths``, ``len`` and ``(PIL image, label, index, relpath)`` items)."""

    def __init__(self, source: TestSet, corruption: str, severity: int, seed: int = 0,
                 preset: str = "imagenet"):  # fmt: skip
        self.source = source
        self.corrupted = CorruptedDataset(source, corruption, severity, seed=seed, preset=preset)
        self.labels = source.labels
        self.relpaths = source.relpaths
        self.info = TestSetInfo(
            name=member_name(corruption, severity, MEMORY_FAMILY),
            root=source.info.root,
            variant={"corruption": corruption, "severity": int(severity), "seed": int(seed),
                     "preset": preset, "source": source.info.describe(),
                     "generator": __version__},  # fmt: skip
            scoring=source.info.scoring,
            baseline=source.info.name,
        )

    def __len__(self) -> int:
        return len(self.corrupted)

    def __getitem__(self, index: int):
        return self.corrupted[index]

    def __repr__(self) -> str:
        return f"InMemoryCorruptedSet({self.info.name!r}, source={self.source!r})"


def open_imagenet_c_inmemory(val_root, corruption: str, severity: int, *, seed: int = 0,
                             preset: str = "imagenet", **val_options) -> InMemoryCorruptedSet:  # fmt: skip
    """``imagenet-c-inmemory.<corruption>.<severity>`` over the ImageNet val folder ``val_root``."""
    if corruption_family(corruption) != FAMILY:
        raise ValueError(
            f"{member_name(corruption, severity, MEMORY_FAMILY)}: {corruption!r} is not one of "
            "the generator's ImageNet-C corruptions (`python -m corruptions list`); in-memory "
            "sets render those 19.")
    return InMemoryCorruptedSet(open_imagenet_val(val_root, **val_options), corruption, severity,
                                seed=seed, preset=preset)  # fmt: skip
