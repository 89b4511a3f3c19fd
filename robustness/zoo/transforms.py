"""The geometric evaluation transform: resize, then center-crop. Pixels stay PIL (0-255).

Conventions
-----------
* ``resize_size``: the target of the resize, in px. With ``resize_mode='shorter_side'`` the
  shorter image side becomes ``resize_size`` and the aspect ratio is kept (timm 'center' crop
  mode, torchvision ``Resize(int)``); with ``'squash'`` both sides become ``resize_size``
  (timm 'squash' crop mode).
* ``crop_size``: side of the square center crop, in px (the network's input side).
* ``crop_pct = crop_size / resize_size`` as a fraction (timm computes
  ``resize_size = floor(crop_size / crop_pct)``). A few timm checkpoints use crop_pct > 1:
  the crop is then larger than the resized image and is zero-padded, as in torchvision.
* ``mean``/``std`` are per-channel RGB statistics for inputs in [0, 1]; they are *not* applied
  here (normalisation is folded into the network) but recorded so a cache key identifies
  the whole preprocessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from robustness.errors import UserInputError

RESIZE_MODES = ("shorter_side", "squash")


@dataclass(frozen=True)
class EvalTransform:
    """Resize + center crop of a PIL image, as timm/torchvision evaluate ImageNet models."""

    resize_size: int
    crop_size: int
    interpolation: str  # 'bilinear' | 'bicubic' | 'nearest' | 'lanczos' | ...
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize_mode: str = "shorter_side"

    def __post_init__(self) -> None:
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"resize_mode {self.resize_mode!r}; expected one of {RESIZE_MODES}")
        InterpolationMode(self.interpolation)  # raises ValueError for unknown names
        if self.crop_size <= 0 or self.resize_size <= 0:
            raise ValueError(f"sizes must be positive: {self.resize_size=}, {self.crop_size=}")

    @property
    def crop_pct(self) -> float:
        """Fraction of the resized image's side that the crop keeps."""
        return self.crop_size / self.resize_size

    def __call__(self, img: Image.Image) -> Image.Image:
        mode = InterpolationMode(self.interpolation)
        if self.resize_mode == "squash":
            size: int | list[int] = [self.resize_size, self.resize_size]
        else:
            size = self.resize_size
        resized = TF.resize(img, size, interpolation=mode, antialias=True)
        return TF.center_crop(resized, [self.crop_size, self.crop_size])

    def spec(self) -> dict[str, Any]:
        """JSON-able description (ints, floats, strings, lists) used in cache keys."""
        return {
            "resize_size": self.resize_size,
            "resize_mode": self.resize_mode,
            "crop_size": self.crop_size,
            "crop_pct": round(self.crop_pct, 6),
            "interpolation": self.interpolation,
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
        }


@dataclass(frozen=True)
class CenterCropOnly:
    """A center crop to ``crop_size`` px without resizing (PIL in, PIL out), the geometry of
    hendrycks/robustness ``ImageNet-C/test.py`` for sets that are already 224 px crops
    (``robustness.datasets.base.GEOMETRIES``). An image smaller than the crop is an error,
    not zero-padded: a model with a larger input needs the default geometry (its resize)."""

    crop_size: int

    def check(self, size: tuple[int, int]) -> None:
        """UserInputError when an image of ``size`` (width, height) px would be zero-padded."""
        if min(size) < self.crop_size:
            raise UserInputError(
                f"geometry=center-crop: a {size[0]} x {size[1]} px image is smaller than the "
                f"model's {self.crop_size} px input and would be zero-padded; evaluate this "
                "model with the default geometry (its own resize and crop)")

    def __call__(self, img: Image.Image) -> Image.Image:
        self.check(img.size)
        return TF.center_crop(img, [self.crop_size, self.crop_size])


def timm_eval_transform(data_config: dict[str, Any]) -> EvalTransform:
    """Our transform from a timm data config (``timm.data.resolve_data_config`` output).

    Supports timm's 'center' and 'squash' crop modes; 'border' (letterbox padding) is refused.
    """
    _, height, width = data_config["input_size"]
    if height != width:
        raise ValueError(
            f"non-square input size {height}x{width}: only square inputs are supported."
        )
    crop_mode = data_config.get("crop_mode") or "center"
    modes = {"center": "shorter_side", "squash": "squash"}
    if crop_mode not in modes:
        raise ValueError(
            f"timm crop_mode {crop_mode!r} (resize the longer side and pad) is not supported; "
            "supported crop modes are 'center' and 'squash'."
        )
    crop_pct = data_config.get("crop_pct") or 0.875
    return EvalTransform(
        resize_size=math.floor(height / crop_pct),
        crop_size=height,
        interpolation=data_config["interpolation"],
        mean=tuple(float(v) for v in data_config["mean"]),
        std=tuple(float(v) for v in data_config["std"]),
        resize_mode=modes[crop_mode],
    )


def torchvision_eval_transform(weights: Any) -> EvalTransform:
    """Our transform from a torchvision weights enum member (reads ``weights.transforms()``)."""
    preset = weights.transforms()
    resize = list(preset.resize_size)
    crop = list(preset.crop_size)
    if len(resize) != 1 or len(crop) != 1:
        raise ValueError(
            f"{weights}: expected a single resize size and crop size, got {resize} and {crop}"
        )
    return EvalTransform(
        resize_size=int(resize[0]),
        crop_size=int(crop[0]),
        interpolation=InterpolationMode(preset.interpolation).value,
        mean=tuple(float(v) for v in preset.mean),
        std=tuple(float(v) for v in preset.std),
    )
