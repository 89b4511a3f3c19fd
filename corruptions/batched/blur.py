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
* Zoom blur samples each zoomed crop with scipy ``zoom(order=1)``'s coordinate
  map (``in = out * (n_in - 1) / (n_out - 1)``), separably.
"""

from __future__ import annotations

import numpy as np
import torch

from ..blur import disk_kernel, motion_blur_kernel, zoom_factors
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
    """
    d = max_delta
    n, n_rows, n_cols = offsets.shape[:3]
    device = offsets.device
    ascending = offsets.flip(1, 2).long()
    dx, dy = ascending[..., 0], ascending[..., 1]
    rows = torch.arange(d + 1, height - d + 1, device=device)[:, None]
    cols = torch.arange(d + 1, width - d + 1, device=device)[None, :]
    src_rows, src_cols = rows + dy, cols + dx
    inside = (src_rows > d) & (src_rows <= height - d) & (src_cols > d) & (src_cols <= width - d)
    later = (dy > 0) | ((dy == 0) & (dx > 0))
    dependent = (inside & later).reshape(n, -1)
    target = (rows * width + cols).reshape(-1)
    source = (src_rows * width + src_cols).reshape(n, -1)

    block_pos = torch.full((height * width,), -1, dtype=torch.long, device=device)
    block_pos[target] = torch.arange(target.numel(), device=device)
    minus_one = torch.full_like(source, -1)
    next_pos = torch.where(dependent, block_pos[source], minus_one)
    end_src = torch.where(dependent, minus_one, source)
    while True:  # pointer jumping: halves every chain's remaining length per round
        active = next_pos >= 0
        if not bool(active.any()):
            break
        hop = next_pos.clamp(min=0)
        end_src = torch.where(active, end_src.gather(1, hop), end_src)
        next_pos = torch.where(active, next_pos.gather(1, hop), next_pos)

    result = torch.arange(height * width, device=device).repeat(n, 1)
    result[:, target] = end_src
    return result


def _glass_sample(generators, severity, shape, preset, device):
    _, d, iterations = _params("glass_blur", severity, preset)
    n_rows, n_cols = shape[2] - 2 * d, shape[3] - 2 * d
    size = (iterations, max(n_rows, 0), max(n_cols, 0), 2)
    return {"offsets": per_image(generators, lambda g: torch.randint(-d, d, size, generator=g, device=device))}


def _glass_from_numpy(params_list, images, severity, preset):
    offsets = np.stack([p["offsets"] for p in params_list])
    return {"offsets": torch.from_numpy(offsets).to(images.device)}


def _glass_blur(images, params, severity, preset):
    sigma, d, _ = _params("glass_blur", severity, preset)
    n, c, h, w = images.shape
    x = truncate_0_255(gaussian_filter(to_unit(images), sigma) * 255)
    flat = x.reshape(n, c, h * w)
    offsets = params["offsets"]
    for it in range(offsets.shape[1]):
        if offsets[:, it].numel():
            sources = glass_sources(h, w, d, offsets[:, it])
            flat = flat.gather(2, sources[:, None, :].expand(n, c, h * w))
    x = flat.reshape(n, c, h, w)
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
def _linear_taps(n_in: int, zoom: float, device):
    """scipy ``clipped_zoom`` along one axis: (index0, index1, fraction) of each output pixel."""
    crop = int(np.ceil(n_in / zoom))
    top = (n_in - crop) // 2
    n_zoomed = int(round(crop * zoom))
    trim = (n_zoomed - n_in) // 2
    scale = (crop - 1) / (n_zoomed - 1) if n_zoomed > 1 else 0.0
    coords = (np.arange(trim, trim + n_in, dtype=np.float64)) * scale
    i0 = np.floor(coords).astype(np.int64)
    frac = coords - i0
    i1 = np.minimum(i0 + 1, crop - 1)
    as_t = lambda a: torch.as_tensor(a, device=device)  # noqa: E731
    return as_t(top + i0), as_t(top + i1), as_t(frac)


def _zoom_axis(x: torch.Tensor, dim: int, zoom: float) -> torch.Tensor:
    i0, i1, frac = _linear_taps(x.shape[dim], zoom, x.device)
    shape = [1] * x.ndim
    shape[dim] = -1
    frac = frac.to(x.dtype).view(shape)
    return x.index_select(dim, i0) * (1 - frac) + x.index_select(dim, i1) * frac


def _zoom_blur(images, params, severity, preset):
    factors = zoom_factors(severity, preset)
    x = to_unit(images)
    total = torch.zeros_like(x)
    for factor in factors:
        total += _zoom_axis(_zoom_axis(x, 2, float(factor)), 3, float(factor))
    return truncate_levels((x + total) / (len(factors) + 1))


BATCHED = (
    BatchedCorruption("gaussian_blur", no_params_sample, no_params_from_numpy, _gaussian_blur),
    BatchedCorruption("defocus_blur", no_params_sample, no_params_from_numpy, _defocus_blur),
    BatchedCorruption("glass_blur", _glass_sample, _glass_from_numpy, _glass_blur),
    BatchedCorruption("motion_blur", _motion_sample, _motion_from_numpy, _motion_blur),
    BatchedCorruption("zoom_blur", no_params_sample, no_params_from_numpy, _zoom_blur),
)
