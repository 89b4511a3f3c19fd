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
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from .errors import UserInputError

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
        """Corrupt one image (see :func:`as_uint8_image` for what is accepted); uint8 HxWx3 out."""
        severity = check_severity(severity)
        check_preset(preset)
        rng = check_rng(rng)
        image = as_uint8_image(image)
        params = self.sample_parameters(rng, severity, image.shape, preset)
        return self.transform(image, params, severity, preset)


def check_severity(severity: Any) -> int:
    """``severity`` as a Python int; refuses anything but an integer from 1 to 5.

    Python ints and numpy integers are accepted; booleans (``True`` is not
    severity 1), floats (even ``3.0``) and strings are refused.
    """
    ok = isinstance(severity, numbers.Integral) and not isinstance(severity, bool | np.bool_)
    if not ok or not 1 <= int(severity) <= 5:
        shown = int(severity) if ok else f"{severity!r} ({type(severity).__name__})"
        raise UserInputError(
            f"severity must be an integer from 1 to 5, got {shown}; pass one of "
            f"{', '.join(map(str, SEVERITIES))}"
        )
    return int(severity)


def check_preset(preset: Any) -> str:
    """``preset`` if it names a parameter table (:data:`PRESETS`), else a clear error."""
    if not isinstance(preset, str) or preset not in PRESETS:
        raise UserInputError(
            f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)} "
            "(imagenet = 224 px, tiny-imagenet = 64 px, cifar = 32 px)"
        )
    return preset


def check_rng(rng: Any) -> np.random.RandomState:
    """``rng`` itself if it is a legacy ``np.random.RandomState``; ``None`` -> numpy's global one.

    The reference code draws from the legacy stream, so a ``np.random.Generator``
    (or a bare seed) would give other numbers; it is refused, not converted.
    """
    if rng is None:
        return np.random.mtrand._rand
    if isinstance(rng, np.random.RandomState):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool | np.bool_):
        hint = f"to seed, pass rng=np.random.RandomState({int(rng)})"
    else:
        hint = "pass rng=np.random.RandomState(seed)"
    raise UserInputError(
        f"rng must be a numpy.random.RandomState (the reference code's legacy stream) or None "
        f"(numpy's global stream), got {type(rng).__module__}.{type(rng).__qualname__}; {hint}, "
        "e.g. corruptions.image_rng(run_seed, image_id, name, severity)"
    )


def as_uint8_image(image: Any) -> np.ndarray:
    """Return ``image`` as a uint8 HxWx3 array (0-255).

    Accepted: numpy uint8 arrays HxWx3 (RGB), HxWx4 (RGBA: alpha dropped) and HxW
    (grayscale: replicated to three channels), and PIL images in modes ``RGB``,
    ``RGBA`` and ``L`` (the same three). Anything else is refused with what to do.
    """
    if isinstance(image, Image.Image):
        if image.mode not in ("RGB", "RGBA", "L"):
            raise UserInputError(
                f"got a PIL image in mode {image.mode!r}; pass image.convert('RGB') "
                "(corruptions take RGB, RGBA or L images, 8 bit, 0-255)"
            )
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        hint = ""
        if arr.ndim == 3 and arr.shape[0] in (3, 4):
            hint = " (it looks channels-first: use image.transpose(1, 2, 0))"
        elif arr.ndim == 4:
            hint = " (a batch: corrupt one image at a time, or use corruptions.batched.corrupt_batch)"
        raise UserInputError(
            f"expected an HxWx3 image (HxWx4 and HxW are also accepted), got shape "
            f"{arr.shape}{hint}"
        )
    if 0 in arr.shape[:2]:
        raise UserInputError(f"expected a non-empty HxWx3 image, got shape {arr.shape}")
    if arr.shape[2] == 4:
        arr = arr[..., :3]
    if arr.dtype != np.uint8:
        hint = ""
        if arr.dtype.kind == "f":
            hint = "; for floats in [0, 1] pass (image * 255).round().astype(np.uint8)"
        elif arr.dtype.kind in "iu":
            hint = "; for 0-255 integers pass image.astype(np.uint8) after checking the range"
        raise UserInputError(f"expected uint8 pixels (0-255), got dtype {arr.dtype}{hint}")
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
