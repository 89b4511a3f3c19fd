"""Digital corruptions on NCHW batches: contrast, brightness, saturate.

Same formulas as :mod:`corruptions.digital`, in float64 like the numpy path
(elementwise, so cheap; float32 would move many values that land exactly on a
level to the level below when truncated), with scikit-image's HSV conversion (gray pixels have hue 0, so saturate 4-5 tints them red).
jpeg_compression, pixelate and elastic_transform are not native: they run the
numpy path per image (PIL's codec and resampler, OpenCV's warp).
"""

from __future__ import annotations

import torch

from ..params import severity_params
from ..params.digital import TABLES
from .base import (
    BatchedCorruption,
    no_params_from_numpy,
    no_params_sample,
    to_unit,
    truncate_levels,
)


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """NCHW RGB in [0, 1] -> HSV in [0, 1] (scikit-image's ``rgb2hsv`` rules, channel dim 1)."""
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    value = rgb.amax(1)
    delta = value - rgb.amin(1)
    gray = delta == 0
    safe_delta = torch.where(gray, torch.ones_like(delta), delta)
    safe_value = torch.where(value == 0, torch.ones_like(value), value)
    sat = torch.where(gray, torch.zeros_like(delta), delta / safe_value)
    hue6 = torch.where(
        b == value,
        4.0 + (r - g) / safe_delta,
        torch.where(g == value, 2.0 + (b - r) / safe_delta, (g - b) / safe_delta),
    )
    hue = torch.remainder(hue6 / 6.0, 1.0)
    hue = torch.where(gray, torch.zeros_like(hue), hue)
    return torch.stack([hue, sat, value], 1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """NCHW HSV in [0, 1] -> RGB in [0, 1] (scikit-image's ``hsv2rgb`` sector table)."""
    h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    sector_f = torch.floor(h * 6)
    f = h * 6 - sector_f
    p = v * (1 - s)
    q = v * (1 - f * s)
    t = v * (1 - (1 - f) * s)
    sector = sector_f.long() % 6
    table = ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))
    out = []
    for channel in range(3):
        options = torch.stack([row[channel] for row in table], 0)
        out.append(options.gather(0, sector[None]).squeeze(0))
    return torch.stack(out, 1)


def _contrast(images, params, severity, preset):
    factor = float(severity_params(TABLES, preset, "contrast", severity))
    unit = to_unit(images, torch.float64)
    means = unit.mean(dim=(2, 3), keepdim=True)
    return truncate_levels((unit - means) * factor + means)


def _brightness(images, params, severity, preset):
    shift = float(severity_params(TABLES, preset, "brightness", severity))
    hsv = rgb_to_hsv(to_unit(images, torch.float64))
    hsv = torch.cat([hsv[:, :2], (hsv[:, 2:] + shift).clamp(0, 1)], 1)
    return truncate_levels(hsv_to_rgb(hsv))


def _saturate(images, params, severity, preset):
    scale, offset = severity_params(TABLES, preset, "saturate", severity)
    hsv = rgb_to_hsv(to_unit(images, torch.float64))
    hsv = torch.cat([hsv[:, :1], (hsv[:, 1:2] * scale + offset).clamp(0, 1), hsv[:, 2:]], 1)
    return truncate_levels(hsv_to_rgb(hsv))


BATCHED = (
    BatchedCorruption("contrast", no_params_sample, no_params_from_numpy, _contrast),
    BatchedCorruption("brightness", no_params_sample, no_params_from_numpy, _brightness),
    BatchedCorruption("saturate", no_params_sample, no_params_from_numpy, _saturate),
)
