"""ImageNet-C corruptions, faithful to the original code and faster.

One obvious call::

    from corruptions import corrupt
    out = corrupt(image_uint8_hwc, "glass_blur", severity=3, rng=np.random.RandomState(0))
"""

from __future__ import annotations

import numpy as np

from .base import ALL, COMMON, HELD_OUT, PRESETS, SEVERITIES, Corruption, image_rng, image_seed
from .registry import UnknownCorruptionError, get_corruption, registry


def corrupt(
    image: np.ndarray,
    name: str,
    severity: int,
    rng: np.random.RandomState | None = None,
    preset: str = "imagenet",
) -> np.ndarray:
    """Corrupt one uint8 HxWx3 image (0-255) and return uint8 HxWx3.

    ``image`` may also be uint8 HxWx4 (alpha dropped), HxW (grayscale), or a PIL
    image in mode RGB, RGBA or L. ``severity`` is an integer 1-5 (not a bool or
    float). ``rng`` is a legacy ``np.random.RandomState``; ``None`` draws from
    numpy's global stream, as the reference code does (a ``np.random.Generator``
    is refused: its numbers differ). ``preset`` selects the parameter table:
    ``imagenet`` (224 px), ``tiny-imagenet`` (64 px) or ``cifar`` (32 px).
    A wrong argument raises :class:`corruptions.errors.UserInputError` (a
    ``ValueError``; unknown names raise :class:`UnknownCorruptionError`, also a
    ``KeyError``) saying what was expected.
    """
    return get_corruption(name)(image, severity, rng=rng, preset=preset)


_LAZY = {
    "build_corrupted_set": "corruptions.builder",  # on-disk builder (ImageNet-C layout)
    "corrupt_batch": "corruptions.batched",  # batched torch path (imports torch)
    "CorruptedDataset": "corruptions.inmemory",  # in-memory mode for the evaluation engine
    "DeviceCorruptor": "corruptions.inmemory",
    # ImageNet-P (corruptions/imagenet_p): frame sequences, mp4 files (PyAV), builder, in-memory
    "perturbation_sequence": "corruptions.imagenet_p",
    "IMAGENET_P_FRAMES": "corruptions.imagenet_p",  # {perturbation: frame count}, all 14 types
    "write_sequence_mp4": "corruptions.imagenet_p",
    "read_sequence": "corruptions.imagenet_p",
    "build_imagenet_p": "corruptions.imagenet_p",
    "PerturbedSequenceDataset": "corruptions.imagenet_p",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'corruptions' has no attribute {name!r}")


__all__ = [
    *_LAZY,
    "ALL",
    "COMMON",
    "HELD_OUT",
    "PRESETS",
    "SEVERITIES",
    "Corruption",
    "UnknownCorruptionError",
    "corrupt",
    "get_corruption",
    "image_rng",
    "image_seed",
    "registry",
]
