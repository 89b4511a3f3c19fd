"""ImageNet-P without video files: the frames of a validation item, rendered on the fly.

:class:`PerturbedSequenceDataset` wraps a harness reader (items ``(PIL image, label, index,
relpath)``) and returns ``(frames, label, index, relpath)`` with ``frames`` the uint8
``T x 224 x 224 x 3`` sequence of :func:`corruptions.imagenet_p.perturbation_sequence`,
seeded per item as the on-disk builder (``image_rng(seed, relpath, perturbation,
difficulty)``). It is picklable and works inside ``DataLoader`` workers.

By default the frames are the encoder's input, without H.264's loss (as
:class:`corruptions.inmemory.CorruptedDataset` skips ImageNet-C's JPEG). With
``encode=True`` each sequence goes through the same mp4 encoding in memory and is decoded
again: the frames then equal what :func:`corruptions.imagenet_p.read_sequence` returns for
the builder's file, provided the reader gives the same RGB pixels the builder reads (the
builder resizes in the file's own mode; the harness readers hand over RGB images, which
only differs for CMYK or palette files).
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Any

import numpy as np

from ..base import image_rng
from .frames import check_difficulty, check_perturbation, perturbation_sequence
from .video import _av, is_noise, read_sequence, write_sequence_mp4


def encode_roundtrip(frames: np.ndarray, noise: bool, reproducible: bool = True) -> np.ndarray:
    """``frames`` (uint8 T x H x W x 3) encoded as the builder's mp4 in memory and decoded."""
    buffer = BytesIO()
    write_sequence_mp4(frames, buffer, noise, reproducible)
    buffer.seek(0)
    return read_sequence(buffer)


class PerturbedSequenceDataset:
    """Item ``i`` is ``base[i]`` with its image replaced by its ImageNet-P frames.

    ``base`` items are ``(PIL image, label, index, relpath)``. Returns ``(frames, label,
    index, relpath)``: ``frames`` uint8 ``T x 224 x 224 x 3`` (0-255, RGB), or
    ``transform(frames)`` when a transform is given (e.g. to a normalised float tensor).
    ``resize``/``crop``: the geometry (the script's 256/224 by default, as the builder).
    """

    def __init__(
        self,
        base: Any,
        name: str,
        difficulty: int = 1,
        seed: int = 0,
        encode: bool = False,
        transform: Callable[[np.ndarray], Any] | None = None,
        resize: int | None = 256,
        crop: int = 224,
    ):
        self.name = check_perturbation(name)
        self.difficulty = check_difficulty(name, difficulty)
        if encode:
            _av(encode=True)  # fail early without PyAV / libx264
        self.base = base
        self.seed = int(seed)
        self.encode = bool(encode)
        self.transform = transform
        self.resize = resize
        self.crop = crop

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> tuple[Any, Any, int, str]:
        item = self.base[i]
        if not (isinstance(item, tuple | list) and len(item) == 4):
            raise TypeError(
                "PerturbedSequenceDataset expects base items (PIL image, label, index, relpath); "
                f"got {type(item).__name__}"
            )
        image, label, index, relpath = item
        rng = image_rng(self.seed, relpath, self.name, self.difficulty)
        frames = perturbation_sequence(image, self.name, self.difficulty, rng,
                                       resize=self.resize, crop=self.crop)  # fmt: skip
        if self.encode:
            frames = encode_roundtrip(frames, is_noise(self.name))
        if self.transform is not None:
            frames = self.transform(frames)
        return frames, label, index, relpath
