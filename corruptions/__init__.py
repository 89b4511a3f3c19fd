"""ImageNet-C corruptions, faithful to the original code and faster.

One obvious call::

    from corruptions import corrupt
    out = corrupt(image_uint8_hwc, "glass_blur", severity=3, rng=np.random.RandomState(0))
"""

from __future__ import annotations

import numpy as np

from .base import ALL, COMMON, HELD_OUT, PRESETS, SEVERITIES, Corruption, image_rng, image_seed
from .registry import get_corruption, registry


def corrupt(
    image: np.ndarray,
    name: str,
    severity: int,
    rng: np.random.RandomState | None = None,
    preset: str = "imagenet",
) -> np.ndarray:
    """Corrupt one uint8 HxWx3 image (0-255) and return uint8 HxWx3.

    ``rng`` is a legacy ``np.random.RandomState``; ``None`` draws from numpy's
    global stream, as the reference code does. ``preset`` selects the parameter
    table: ``imagenet`` (224 px), ``tiny-imagenet`` (64 px) or ``cifar`` (32 px).
    """
    return get_corruption(name)(image, severity, rng=rng, preset=preset)


__all__ = [
    "ALL",
    "COMMON",
    "HELD_OUT",
    "PRESETS",
    "SEVERITIES",
    "Corruption",
    "corrupt",
    "get_corruption",
    "image_rng",
    "image_seed",
    "registry",
]
