"""Digital corruptions on NCHW batches: contrast, brightness, saturate.

Same formulas as :mod:`corruptions.digital`, in float64 like the numpy path
(elementwise, so cheap; float32 would move many values that land exactly on a
level to the level below when truncated), with scikit-image's HSV conversion (gray pixels have hue 0, so saturate 4-5 tints them red).
elastic_transform: OpenCV's ``warpAffine`` re-done in torch (bilinear,
reflect-101 border), then scipy's
``map_coordinates(order=1, mode='reflect')`` along the smoothed displacement.
pixelate: PIL's BOX resampling re-done exactly (its fixed-point coefficients,
horizontal pass then vertical, each rounded to 8 bits), down and back up.
jpeg_compression: libjpeg's lossy steps replayed in integer arithmetic
(:mod:`corruptions.batched.jpeg`), bit-equal to Pillow's save and decode.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..params import severity_params
from ..params.digital import TABLES
from .base import (
    BatchedCorruption,
    filter_matrix,
    gaussian_kernel1d,
    no_params_from_numpy,
    no_params_sample,
    stack_numpy,
    to_unit,
    truncate_levels,
)
from .jpeg import jpeg_roundtrip


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


# ---------------------------------------------------------------- elastic
def anchor_points(height: int, width: int) -> np.ndarray:
    """The numpy path's three affine anchor points (float32, its (row, col) quirk kept)."""
    center = np.float32((height, width)) // 2
    side = min(height, width) // 3
    return np.float32([center + side, [center[0] + side, center[1] - side], center - side])


def sample_bilinear(planes: torch.Tensor, src_x: torch.Tensor, src_y: torch.Tensor, border: str):
    """Bilinear samples of (N, C, H, W) ``planes`` at pixel coordinates ``(src_x, src_y)`` (N, H, W).

    ``border``: ``"mirror"`` (reflect-101 about the edge pixels' centres: OpenCV's
    ``BORDER_REFLECT_101``) or ``"reflect"`` (half-sample symmetric: scipy's
    ``mode='reflect'``). Both equal reflecting each integer tap, which is what
    OpenCV and scipy do. Runs as one ``grid_sample`` (its normalised coordinates
    cost ~1e-5 px of float32 rounding).
    """
    h, w = planes.shape[-2:]
    if border == "mirror":  # align_corners=True: -1 and +1 are the edge pixels' centres
        gx, gy = src_x * (2.0 / max(w - 1, 1)) - 1, src_y * (2.0 / max(h - 1, 1)) - 1
    elif border == "reflect":  # align_corners=False: -1 and +1 are the outer pixel edges
        gx, gy = (2 * src_x + 1) / w - 1, (2 * src_y + 1) / h - 1
    else:
        raise ValueError(f"border must be 'mirror' or 'reflect', got {border!r}")
    grid = torch.stack([gx, gy], -1).to(planes.dtype)
    return F.grid_sample(planes, grid, mode="bilinear", padding_mode="reflection",
                         align_corners=border == "mirror")  # fmt: skip


def warp_affine(planes: torch.Tensor, matrices: np.ndarray) -> torch.Tensor:
    """``cv2.warpAffine(img, M, (W, H), INTER_LINEAR, BORDER_REFLECT_101)`` per image.

    ``matrices``: (N, 2, 3) forward matrices as ``cv2.getAffineTransform`` gives them.
    Source coordinates are rounded to float32: this matches the installed
    OpenCV 5.0 within 1e-5 (measured); an emulation of the 1/32 pixel fixed-point
    coordinates of older OpenCV releases did not (up to 0.011, about 3 levels).
    """
    _, _, h, w = planes.shape
    device = planes.device
    inverse = np.stack([cv2.invertAffineTransform(m) for m in matrices])
    m = torch.from_numpy(inverse).to(device=device, dtype=torch.float64)[:, :, :, None, None]
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float64),
                            torch.arange(w, device=device, dtype=torch.float64), indexing="ij")  # fmt: skip
    src_x = (m[:, 0, 0] * xs + m[:, 0, 1] * ys + m[:, 0, 2]).float()
    src_y = (m[:, 1, 0] * xs + m[:, 1, 1] * ys + m[:, 1, 2]).float()
    return sample_bilinear(planes, src_x, src_y, "mirror")


def _elastic_sample(generators, severity, shape, preset, device):
    _, _, jitter = severity_params(TABLES, preset, "elastic_transform", severity)
    h, w = shape[2:]

    def draw(g):
        shift = torch.rand((3, 2), generator=g, device=device, dtype=torch.float64) * (2 * jitter) - jitter
        # float32 fields: the smoothing averages hundreds of them, float32 is what it computes in
        noise = torch.rand((2, h, w), generator=g, device=device) * 2 - 1
        return shift, noise

    pairs = [draw(g) for g in generators]
    return {
        "anchor_shift": torch.stack([p[0] for p in pairs]).float(),
        "dx_noise": torch.stack([p[1][0] for p in pairs]),
        "dy_noise": torch.stack([p[1][1] for p in pairs]),
    }


def _elastic_from_numpy(params_list, images, severity, preset):
    out = {key: stack_numpy([p[key] for p in params_list], images.device, hwc=False)
           for key in ("anchor_shift",)}  # fmt: skip
    for key in ("dx_noise", "dy_noise"):
        out[key] = torch.from_numpy(np.stack([p[key] for p in params_list])).to(images.device)
    return out


def _smooth_fields(noise: torch.Tensor, sigma: float, alpha: float) -> torch.Tensor:
    """scipy ``gaussian_filter(noise, sigma, mode='reflect', truncate=3) * alpha`` as float32
    (the numpy path's dtype), for (N, H, W) noise: two float32 matrix products (the
    field moves pixels by ``alpha`` times a value of order 1e-2; float32 keeps that
    to ~1e-6 px)."""
    noise = noise.to(torch.float32)
    kernel = gaussian_kernel1d(sigma, 3.0)
    h, w = noise.shape[1:]
    rows = filter_matrix(h, kernel, "reflect", noise)
    cols = filter_matrix(w, kernel, "reflect", noise)
    return torch.matmul(torch.matmul(rows, noise), cols.T) * alpha


def _elastic(images, params, severity, preset):
    alpha, sigma, _ = severity_params(TABLES, preset, "elastic_transform", severity)
    n, _, h, w = images.shape
    anchors = anchor_points(h, w)
    shifts = params["anchor_shift"].cpu().numpy().astype(np.float32)
    matrices = np.stack([cv2.getAffineTransform(anchors, anchors + s) for s in shifts])
    warped = warp_affine(to_unit(images), matrices)

    dx = _smooth_fields(params["dx_noise"], sigma, alpha)
    dy = _smooth_fields(params["dy_noise"], sigma, alpha)
    rows = torch.arange(h, device=images.device, dtype=torch.float32)[None, :, None] + dy
    cols = torch.arange(w, device=images.device, dtype=torch.float32)[None, None, :] + dx
    return truncate_levels(sample_bilinear(warped, cols, rows, "reflect"))


# ---------------------------------------------------------------- pixelate
PIL_PRECISION_BITS = 22  # Pillow's 8-bit resampling: 32 - 8 - 2


@functools.lru_cache(maxsize=64)
def pil_box_coefficients(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) integer weights of Pillow's BOX resampling along one axis.

    Pillow's rule: output pixel ``xx`` covers ``center +- support`` with
    ``center = (xx + 0.5) * scale``, ``support = 0.5 * max(scale, 1)``; taps are
    box-filter values at ``(x - center + 0.5) / max(scale, 1)``, normalised, then
    stored as ``int(0.5 + w * 2**22)``.
    """
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 0.5 * filterscale
    coefficients = np.zeros((out_size, in_size), dtype=np.int64)
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        taps = np.arange(xmin, xmax)
        arg = (taps - center + 0.5) / filterscale
        weights = ((arg > -0.5) & (arg <= 0.5)).astype(np.float64)
        if weights.sum() != 0:
            weights /= weights.sum()
        coefficients[xx, xmin:xmax] = (0.5 + weights * (1 << PIL_PRECISION_BITS)).astype(np.int64)
    return coefficients


def _pil_resample_axis(levels: torch.Tensor, dim: int, out_size: int) -> torch.Tensor:
    """One Pillow 8-bit BOX pass along ``dim`` (2 rows, 3 columns) of float64 integer levels."""
    coeff = pil_box_coefficients(levels.shape[dim], out_size)
    k = torch.from_numpy(coeff).to(device=levels.device, dtype=torch.float64)
    moved = levels.movedim(dim, -1)
    sums = torch.matmul(moved, k.T) + (1 << (PIL_PRECISION_BITS - 1))  # exact integers
    out = torch.floor(sums / (1 << PIL_PRECISION_BITS)).clamp(0, 255)
    return out.movedim(-1, dim)


def pil_box_resize(levels: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``Image.resize((width, height), Image.BOX)`` on uint8 NCHW levels (columns, then rows)."""
    x = levels.to(torch.float64)
    if width != x.shape[3]:
        x = _pil_resample_axis(x, 3, width)
    if height != x.shape[2]:
        x = _pil_resample_axis(x, 2, height)
    return x.to(torch.uint8)


def _pixelate(images, params, severity, preset):
    factor = severity_params(TABLES, preset, "pixelate", severity)
    h, w = images.shape[2:]
    small = pil_box_resize(images, max(1, int(h * factor)), max(1, int(w * factor)))
    return pil_box_resize(small, h, w)


def _jpeg(images, params, severity, preset):
    return jpeg_roundtrip(images, int(severity_params(TABLES, preset, "jpeg_compression", severity)))


BATCHED = (
    BatchedCorruption("jpeg_compression", no_params_sample, no_params_from_numpy, _jpeg),
    BatchedCorruption("contrast", no_params_sample, no_params_from_numpy, _contrast),
    BatchedCorruption("brightness", no_params_sample, no_params_from_numpy, _brightness),
    BatchedCorruption("saturate", no_params_sample, no_params_from_numpy, _saturate),
    BatchedCorruption("elastic_transform", _elastic_sample, _elastic_from_numpy, _elastic),
    BatchedCorruption("pixelate", no_params_sample, no_params_from_numpy, _pixelate),
)
