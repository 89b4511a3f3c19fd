"""Blur corruptions on NCHW batches: defocus, glass, motion, zoom, Gaussian.

Each follows :mod:`corruptions.blur` operation by operation:

* Gaussian filters are scipy's (``mode='nearest'``, ``truncate=4``), separable.
* Defocus correlates with the numpy path's anti-aliased disk (OpenCV's
  reflect-101 border).
* Glass blur resolves each pass's sequential pixel copy with the same
  pointer-jumping rule as the numpy path, batched over images.
* Motion blur sums the ImageMagick taps (weights and integer offsets from
  :func:`corruptions.blur.motion_blur_kernel`, edges repeated) in 16-bit
  quanta, rounds half up and keeps ``q // 257``.
* Zoom blur resizes each centre crop with ``interpolate(align_corners=True)``,
  which is scipy ``zoom(order=1)``'s coordinate map (``in = out * (n_in - 1) / (n_out - 1)``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..blur import disk_kernel, motion_blur_kernel, resolve_copy_chains, zoom_factors
from ..params import severity_params
from ..params.blur import TABLES
from .base import (
    BatchedCorruption,
    filter2d,
    gaussian_filter,
    no_params_from_numpy,
    no_params_sample,
    pad2d,
    per_image,
    to_unit,
    truncate_0_255,
    truncate_levels,
)


def _params(name: str, severity: int, preset: str):
    return severity_params(TABLES, preset, name, severity)


# ----------------------------------------------------------------- Gaussian blur
def _gaussian_blur(images, params, severity, preset):
    sigma = _params("gaussian_blur", severity, preset)
    return truncate_levels(gaussian_filter(to_unit(images), sigma))


# ----------------------------------------------------------------- defocus blur
def _defocus_blur(images, params, severity, preset):
    radius, alias_blur = _params("defocus_blur", severity, preset)
    return truncate_levels(filter2d(to_unit(images), disk_kernel(radius, alias_blur), "mirror"))


# ----------------------------------------------------------------- glass blur
def glass_sources(height: int, width: int, max_delta: int, offsets: torch.Tensor) -> torch.Tensor:
    """Per image, the flat source index each pixel holds after one pass of the sequential copy.

    ``offsets``: (N, n_rows, n_cols, 2) integer ``(dx, dy)`` in draw order (rows and
    columns descending). Returns (N, H*W) int64 indices into the pass's input.
    The numpy path's rule (:func:`corruptions.blur.glass_shuffle_sources`), batched:
    a pixel whose source was already overwritten in this pass (inside the block and
    later in raster order) takes that source's final value; chains are resolved by
    pointer jumping over the still-pending positions only.
    """
    d = max_delta
    n, n_rows, n_cols = offsets.shape[:3]
    k = n_rows * n_cols
    device = offsets.device
    # int32 arithmetic halves the memory traffic; int64 only where indices could overflow it.
    i32 = torch.int32 if n * max(k, height * width) < 2**31 else torch.int64
    block_row = torch.arange(n_rows - 1, -1, -1, device=device, dtype=i32).repeat_interleave(n_cols)
    block_col = torch.arange(n_cols - 1, -1, -1, device=device, dtype=i32).repeat(n_rows)
    image_index = (block_row + d + 1) * width + (block_col + d + 1)
    flat = offsets.reshape(n, k, 2).to(i32)
    dx, dy = flat[..., 0], flat[..., 1]
    src_row, src_col = block_row + dy, block_col + dx
    pending = ((dy > 0) | ((dy == 0) & (dx > 0))) & (src_row < n_rows) & (src_col >= 0) & (src_col < n_cols)
    source = (image_index + dy * width + dx).reshape(-1)
    # Position of the source in draw order, as an index into the batch's flattened positions.
    hop = (torch.arange(k, device=device, dtype=i32) - (dy * n_cols + dx)).clamp(0, k - 1)
    hop = (hop + torch.arange(n, device=device, dtype=i32)[:, None] * k).reshape(-1)
    pending = pending.reshape(-1)
    resolve_copy_chains(source, hop, pending, pending.nonzero().squeeze(1))
    result = torch.arange(height * width, device=device).repeat(n, 1)
    result[:, image_index.long()] = source.reshape(n, k).long()
    return result


def _glass_sample(generators, severity, shape, preset, device):
    _, d, iterations = _params("glass_blur", severity, preset)
    n_rows, n_cols = shape[2] - 2 * d, shape[3] - 2 * d
    size = (iterations, max(n_rows, 0), max(n_cols, 0), 2)
    draw = lambda g: torch.randint(-d, d, size, generator=g, device=device, dtype=torch.int32)  # noqa: E731
    return {"offsets": per_image(generators, draw)}


def _glass_from_numpy(params_list, images, severity, preset):
    offsets = np.stack([p["offsets"] for p in params_list])
    return {"offsets": torch.from_numpy(offsets).to(images.device)}


def _glass_blur(images, params, severity, preset):
    sigma, d, _ = _params("glass_blur", severity, preset)
    n, c, h, w = images.shape
    x = truncate_0_255(gaussian_filter(to_unit(images), sigma) * 255)
    offsets = params["offsets"]
    sources = torch.arange(h * w, device=images.device).repeat(n, 1)
    for it in range(offsets.shape[1]):  # compose the passes' index maps, then gather once
        if offsets[:, it].numel():
            sources = sources.gather(1, glass_sources(h, w, d, offsets[:, it]))
    x = x.reshape(n, c, h * w).gather(2, sources[:, None, :].expand(n, c, h * w)).reshape(n, c, h, w)
    return truncate_levels(gaussian_filter(to_unit(x), sigma))


# ----------------------------------------------------------------- motion blur
QUANTUM_SCALE = 257
QUANTUM_MAX = 65535


def motion_blur_levels(images: torch.Tensor, radius: float, sigma: float, angles) -> torch.Tensor:
    """ImageMagick ``MotionBlurImage`` (Q16) on uint8 NCHW levels, one angle (degrees) per image.

    Each tap adds a shifted window of the edge-padded image (as the numpy path),
    in 16-bit quanta; the sum is rounded half up and mapped back with ``q // 257``.
    """
    kernels = [motion_blur_kernel(float(radius), float(sigma), float(a)) for a in angles]
    n, c, h, w = images.shape
    pad_y = max(int(np.abs(k[2]).max()) for k in kernels)
    pad_x = max(int(np.abs(k[1]).max()) for k in kernels)
    padded = pad2d(images.to(torch.float32) * QUANTUM_SCALE, pad_y, pad_x, "nearest")
    acc = torch.zeros((n, c, h, w), dtype=torch.float32, device=images.device)
    for i, (weights, dx, dy) in enumerate(kernels):
        for weight, ox, oy in zip(weights.tolist(), dx.tolist(), dy.tolist()):
            window = padded[i, :, pad_y + oy : pad_y + oy + h, pad_x + ox : pad_x + ox + w]
            acc[i].add_(window, alpha=weight)
    quanta = torch.floor(acc.clamp(0, QUANTUM_MAX) + 0.5).clamp(max=QUANTUM_MAX)
    return torch.div(quanta, QUANTUM_SCALE, rounding_mode="floor").to(torch.uint8)


def _motion_sample(generators, severity, shape, preset, device):
    angles = per_image(generators, lambda g: torch.rand((), generator=g, device=device))
    return {"angle": (angles.double() * 90.0 - 45.0).cpu()}


def _motion_from_numpy(params_list, images, severity, preset):
    return {"angle": torch.tensor([p["angle"] for p in params_list], dtype=torch.float64)}


def _motion_blur(images, params, severity, preset):
    radius, sigma = _params("motion_blur", severity, preset)
    return motion_blur_levels(images, radius, sigma, params["angle"].tolist())


# ----------------------------------------------------------------- zoom blur
def clipped_zoom(x: torch.Tensor, zoom: float) -> torch.Tensor:
    """The reference's ``clipped_zoom`` on NCHW floats: crop the centre ``ceil(n / zoom)``
    pixels, ``scipy.ndimage.zoom(order=1)`` them, trim the centre back to the input size.

    scipy's order-1 zoom maps ``in = out * (n_in - 1) / (n_out - 1)``, which is
    ``interpolate(mode='bilinear', align_corners=True)``; each axis uses its own length.
    """
    h, w = x.shape[-2:]
    crop_h, crop_w = int(np.ceil(h / zoom)), int(np.ceil(w / zoom))
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    zoomed_h, zoomed_w = int(round(crop_h * zoom)), int(round(crop_w * zoom))
    trim_top, trim_left = (zoomed_h - h) // 2, (zoomed_w - w) // 2
    crop = x[..., top : top + crop_h, left : left + crop_w]
    zoomed = F.interpolate(crop, size=(zoomed_h, zoomed_w), mode="bilinear", align_corners=True)
    return zoomed[..., trim_top : trim_top + h, trim_left : trim_left + w]


def _zoom_blur(images, params, severity, preset):
    factors = zoom_factors(severity, preset)
    x = to_unit(images)
    total = x.clone()
    for factor in factors:
        total += clipped_zoom(x, float(factor))
    return truncate_levels(total / (len(factors) + 1))


BATCHED = (
    BatchedCorruption("gaussian_blur", no_params_sample, no_params_from_numpy, _gaussian_blur),
    BatchedCorruption("defocus_blur", no_params_sample, no_params_from_numpy, _defocus_blur),
    BatchedCorruption("glass_blur", _glass_sample, _glass_from_numpy, _glass_blur),
    BatchedCorruption("motion_blur", _motion_sample, _motion_from_numpy, _motion_blur),
    BatchedCorruption("zoom_blur", no_params_sample, no_params_from_numpy, _zoom_blur),
)
