"""The shape every corruption takes, the registry, and per-image seeding.

Each corruption separates randomness from computation (the ImageNet-C-bar
pattern):

* ``sample_parameters(rng, severity, shape, preset)`` draws everything random
  from a ``numpy.random.RandomState`` *in the same order as the reference code*
  (so that the same RandomState state gives the reference's output), and
  returns a plain dict.
* ``transform(image, params, severity, preset)`` is pure: same inputs, same
  output. ``image`` is uint8 HxWx3 (0-255); it returns uint8 HxWx3, truncated
  with ``np.uint8`` exactly where the reference truncates.

Corruptions are registered explicitly in ``corruptions/registry.py`` (no
registration by import side effects).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Params = dict[str, Any]
SEVERITIES = (1, 2, 3, 4, 5)

# The 15 corruptions of the ImageNet-C benchmark and the 4 held-out ones.
COMMON = (
    "gaussian_noise", "shot_noise", "impulse_noise",
    "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog", "brightness",
    "contrast", "elastic_transform", "pixelate", "jpeg_compression",
)  # fmt: skip
HELD_OUT = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
ALL = COMMON + HELD_OUT
PRESETS = ("imagenet", "tiny-imagenet", "cifar")


@dataclass(frozen=True)
class Corruption:
    """One corruption: its name, family, and the two halves of its computation."""

    name: str
    family: str  # noise | blur | weather | digital | cbar | albumentations
    sample_parameters: Callable[[np.random.RandomState, int, tuple[int, ...], str], Params]
    transform: Callable[[np.ndarray, Params, int, str], np.ndarray]
    benchmark: str = "imagenet-c"  # which benchmark it belongs to (imagenet-c, imagenet-c-bar, ...)

    def __call__(
        self,
        image: np.ndarray,
        severity: int,
        rng: np.random.RandomState | None = None,
        preset: str = "imagenet",
    ) -> np.ndarray:
        check_severity(severity)
        image = as_uint8_image(image)
        rng = np.random.mtrand._rand if rng is None else rng
        params = self.sample_parameters(rng, severity, image.shape, preset)
        return self.transform(image, params, severity, preset)


def check_severity(severity: int) -> None:
    if int(severity) != severity or not 1 <= severity <= 5:
        raise ValueError(f"severity must be an integer from 1 to 5, got {severity!r}")


def as_uint8_image(image: Any) -> np.ndarray:
    """Return ``image`` as a uint8 HxWx3 array; PIL images and grayscale are accepted."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an HxWx3 image, got shape {arr.shape}")
    if arr.shape[2] == 4:
        arr = arr[..., :3]
    if arr.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels (0-255), got dtype {arr.dtype}")
    return arr


# --- the reference's pixel conventions, shared by every family ---------------


def to_unit(image: np.ndarray) -> np.ndarray:
    """uint8 0-255 -> float64 0-1, exactly as the reference's ``np.array(x) / 255.``."""
    return np.asarray(image) / 255.0


def truncate(values: np.ndarray) -> np.ndarray:
    """The reference saver's ``np.uint8`` cast of 0-255 floats: truncation, not rounding."""
    with np.errstate(invalid="ignore"):
        return np.asarray(values).astype(np.uint8)


def clip_scale_truncate(unit: np.ndarray) -> np.ndarray:
    """``np.uint8(np.clip(unit, 0, 1) * 255)``, in place on a fresh float array (0-1 in)."""
    np.clip(unit, 0, 1, out=unit)
    unit *= 255
    return truncate(unit)


def no_parameters(rng: np.random.RandomState, severity: int, shape, preset: str) -> Params:
    """``sample_parameters`` of a corruption that draws nothing."""
    return {}


def image_seed(run_seed: int, image_id: str, name: str, severity: int) -> int:
    """A 32-bit seed for one (image, corruption, severity), independent of order.

    ``image_id`` is the image's path relative to the dataset root (POSIX), so the
    same file gets the same noise whatever the worker count, batch or split.
    """
    key = f"{int(run_seed)}\x1f{image_id}\x1f{name}\x1f{int(severity)}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "little")


def image_rng(run_seed: int, image_id: str, name: str, severity: int) -> np.random.RandomState:
    """The legacy ``RandomState`` the reference's global-RNG draws are replayed from."""
    return np.random.RandomState(image_seed(run_seed, image_id, name, severity))
