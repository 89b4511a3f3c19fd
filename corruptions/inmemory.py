"""Corrupt on the fly instead of reading JPEGs from disk.

Two ways, both keyed by the same per-image seeds as the on-disk builder
(:func:`corruptions.base.image_rng` of the run seed, the item's ``relpath``,
the corruption and the severity):

* :class:`CorruptedDataset` wraps a harness reader (items ``(PIL image, label,
  index, relpath)``), applies the builder's geometry (preset ``imagenet``: short
  side to 256 with PIL bilinear, centre crop 224; other presets: unchanged) and
  the numpy corruption, and returns the same tuple with the corrupted PIL image.
  It is picklable and works inside ``DataLoader`` workers. The harness evaluates
  it as the sets ``imagenet-c-inmemory.<corruption>.<severity>``
  (``robustness/datasets/memory.py``).
* :class:`DeviceCorruptor` corrupts a batch of already preprocessed images on
  their device with the torch path (:func:`corruptions.batched.corrupt_batch`).

Not bit-identical to files on disk: the builder's default output is JPEG
(quality 85), and this mode skips that encode. With the builder's ``--format
png`` and the same seed, :class:`CorruptedDataset` gives exactly the files'
pixels; the torch path is within 1 level of the numpy path when it replays the
numpy sampler (``sampler="numpy"``) and only equal in distribution with its own
sampler (``sampler="torch"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PIL import Image

from .base import check_severity, image_rng, image_seed
from .builder import preprocess
from .registry import get_corruption


class CorruptedDataset:
    """A dataset whose item ``i`` is ``base[i]`` with its image corrupted (numpy path).

    ``base`` items are ``(PIL image, label, index, relpath)``; the returned image
    is a PIL RGB image of the preset's geometry (224 x 224 for ``imagenet``).
    """

    def __init__(
        self, base: Any, name: str, severity: int, seed: int = 0, preset: str = "imagenet"
    ):
        get_corruption(name)  # fail early on unknown names
        check_severity(severity)
        self.base = base
        self.name = name
        self.severity = int(severity)
        self.seed = int(seed)
        self.preset = preset

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> tuple[Image.Image, Any, int, str]:
        item = self.base[i]
        if not (isinstance(item, tuple | list) and len(item) == 4):
            raise TypeError(
                f"CorruptedDataset expects base items (PIL image, label, index, relpath); got "
                f"{type(item).__name__} of length {len(item) if hasattr(item, '__len__') else '?'}"
            )
        image, label, index, relpath = item
        array = preprocess(image, self.preset)
        rng = image_rng(self.seed, relpath, self.name, self.severity)
        out = get_corruption(self.name)(array, self.severity, rng=rng, preset=self.preset)
        return Image.fromarray(out), label, index, relpath


class DeviceCorruptor:
    """Corrupt NCHW batches on their device; seeds follow the batch's ``relpaths``.

    ``images``: uint8 (0-255) or float (0-1) NCHW, already at the preset's
    geometry (e.g. from :func:`corruptions.builder.preprocess`). Returns the same
    dtype and device.
    """

    def __init__(
        self,
        name: str,
        severity: int,
        seed: int = 0,
        preset: str = "imagenet",
        sampler: str = "torch",
    ):
        check_severity(severity)
        self.name = name
        self.severity = int(severity)
        self.seed = int(seed)
        self.preset = preset
        self.sampler = sampler

    def seeds(self, relpaths: Sequence[str]) -> list[int]:
        return [image_seed(self.seed, r, self.name, self.severity) for r in relpaths]

    def __call__(self, images, relpaths: Sequence[str]):
        # imported here: the batched path imports torch, which the per-image path and the
        # harness's test-set readers (robustness.datasets.memory) must not pay for
        from .batched import corrupt_batch

        if len(relpaths) != images.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {len(relpaths)} relpaths")
        return corrupt_batch(
            images, self.name, self.severity, self.seeds(relpaths), preset=self.preset,
            sampler=self.sampler,
        )  # fmt: skip
