"""Weather corruptions on NCHW batches: fog, frost, snow (spatter runs the numpy path).

Each follows :mod:`corruptions.weather`:

* fog: the diamond-square plasma fractal (torch sampler: the same recursion
  with ``torch.rand`` per image), added to the image and rescaled by its max.
* frost: a crop of one of the first five frost photographs (loaded once per
  process by :mod:`corruptions.frost`), blended with the image.
* snow: a zoomed, thresholded Gaussian layer stored as 8-bit grey, motion
  blurred with ImageMagick's algorithm (:func:`.blur.motion_blur_levels`),
  added twice (as is and rotated 180 degrees) to the brightened image. The
  layer is zoomed in float64 so that its threshold test agrees with numpy's.
"""

from __future__ import annotations

import numpy as np
import torch

from ..params import severity_params
from ..params.weather import TABLES
from ..weather import frost_texture_for, plasma_map_size
from .base import BatchedCorruption, per_image, to_unit, truncate_0_255, truncate_levels
from .blur import clipped_zoom, motion_blur_levels


def _params(name: str, severity: int, preset: str):
    return severity_params(TABLES, preset, name, severity)


# ----------------------------------------------------------------- fog
def plasma_fractal(mapsize: int, wibble_decay: float, generators, device) -> torch.Tensor:
    """Diamond-square height maps (N, mapsize, mapsize), float64 in 0-1, one per generator."""
    n = len(generators)
    hmap = torch.zeros((n, mapsize, mapsize), dtype=torch.float64, device=device)
    step, wibble = mapsize, 100.0

    # One uniform per cell, drawn at once per image (each cell is set once); the numpy
    # path draws them level by level in the reference's order, same distribution.
    uniforms = per_image(generators, lambda g: torch.rand(mapsize * mapsize, generator=g, device=device,
                                                          dtype=torch.float64))  # fmt: skip
    used = 0

    def wibbled_mean(total: torch.Tensor) -> torch.Tensor:
        nonlocal used
        count = total.shape[1] * total.shape[2]
        u = uniforms[:, used : used + count].reshape(total.shape)
        used += count
        return total / 4 + wibble * (u * (2 * wibble) - wibble)

    while step >= 2:
        half = step // 2
        corners = hmap[:, 0:mapsize:step, 0:mapsize:step]
        square_sum = corners + torch.roll(corners, -1, 1)
        square_sum = square_sum + torch.roll(square_sum, -1, 2)
        hmap[:, half:mapsize:step, half:mapsize:step] = wibbled_mean(square_sum)
        centres = hmap[:, half:mapsize:step, half:mapsize:step]
        corners = hmap[:, 0:mapsize:step, 0:mapsize:step]
        row_sum = (centres + torch.roll(centres, 1, 1)) + (corners + torch.roll(corners, -1, 2))
        hmap[:, 0:mapsize:step, half:mapsize:step] = wibbled_mean(row_sum)
        col_sum = (centres + torch.roll(centres, 1, 2)) + (corners + torch.roll(corners, -1, 1))
        hmap[:, half:mapsize:step, 0:mapsize:step] = wibbled_mean(col_sum)
        step //= 2
        wibble /= wibble_decay
    flat = hmap.reshape(n, -1)
    flat = flat - flat.amin(1, keepdim=True)
    return (flat / flat.amax(1, keepdim=True)).reshape(n, mapsize, mapsize)


def _fog_sample(generators, severity, shape, preset, device):
    _, decay = _params("fog", severity, preset)
    size = plasma_map_size(shape[2:], preset)
    return {"plasma": plasma_fractal(size, decay, generators, device)}


def _fog_from_numpy(params_list, images, severity, preset):
    return {"plasma": torch.from_numpy(np.stack([p["plasma"] for p in params_list])).to(images.device)}


def _fog(images, params, severity, preset):
    strength, _ = _params("fog", severity, preset)
    h, w = images.shape[2:]
    x = to_unit(images)
    max_val = x.amax(dim=(1, 2, 3), keepdim=True)
    x = x + strength * params["plasma"][:, None, :h, :w].to(x.dtype)
    return truncate_levels(x * max_val / (max_val + strength))


# ----------------------------------------------------------------- frost
def _frost_sample(generators, severity, shape, preset, device):
    h, w = shape[2:]
    index, top, left = [], [], []
    for g in generators:
        i = int(torch.randint(0, 5, (), generator=g, device=device))
        texture = frost_texture_for(i, (h, w), preset)
        index.append(i)
        top.append(int(torch.randint(0, texture.shape[0] - h, (), generator=g, device=device)))
        left.append(int(torch.randint(0, texture.shape[1] - w, (), generator=g, device=device)))
    return {"texture_index": index, "top": top, "left": left}


def _frost_from_numpy(params_list, images, severity, preset):
    return {key: [int(p[key]) for p in params_list] for key in ("texture_index", "top", "left")}


def _frost(images, params, severity, preset):
    image_weight, frost_weight = _params("frost", severity, preset)
    h, w = images.shape[2:]
    crops = []
    for i, top, left in zip(params["texture_index"], params["top"], params["left"]):
        texture = frost_texture_for(i, (h, w), preset)
        crops.append(texture[top : top + h, left : left + w][..., ::-1])  # BGR -> RGB
    crop = torch.from_numpy(np.ascontiguousarray(np.stack(crops))).permute(0, 3, 1, 2)
    crop = crop.to(device=images.device, dtype=torch.float32)
    return truncate_0_255(image_weight * images.to(torch.float32) + frost_weight * crop)


# ----------------------------------------------------------------- snow
def _snow_sample(generators, severity, shape, preset, device):
    mean, std = _params("snow", severity, preset)[:2]
    h, w = shape[2:]

    zoom = float(_params("snow", severity, preset)[2])
    # The zoom reads only the centre crop of the noise field: draw that, leave the rest 0.
    crop_h, crop_w = min(h, int(np.ceil(h / zoom))), min(w, int(np.ceil(w / zoom)))
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    noise = torch.zeros((len(generators), h, w), dtype=torch.float64, device=device)
    angles = []
    for i, g in enumerate(generators):
        crop = torch.randn((crop_h, crop_w), generator=g, device=device, dtype=torch.float64)
        noise[i, top : top + crop_h, left : left + crop_w] = crop * std + mean
        angles.append(float(torch.rand((), generator=g, device=device, dtype=torch.float64)) * 90.0 - 135.0)
    return {"snow_noise": noise, "angle": angles}


def _snow_from_numpy(params_list, images, severity, preset):
    noise = torch.from_numpy(np.stack([p["snow_noise"] for p in params_list])).to(images.device)
    return {"snow_noise": noise, "angle": [float(p["angle"]) for p in params_list]}


def snow_layers(noise: torch.Tensor, severity: int, preset: str, angles) -> torch.Tensor:
    """(N, 1, H, W) float32 snow layers in 0-1 (8-bit steps), from (N, H, W) float64 noise."""
    _, _, zoom, threshold, radius, sigma, _ = _params("snow", severity, preset)
    layer = clipped_zoom(noise[:, None], float(zoom))
    layer = torch.where(layer < threshold, torch.zeros_like(layer), layer)
    grey = (layer.clamp(0, 1) * 255).to(torch.uint8)
    return motion_blur_levels(grey, radius, sigma, angles).to(torch.float32) / 255.0


def _snow(images, params, severity, preset):
    image_weight = _params("snow", severity, preset)[6]
    layer = snow_layers(params["snow_noise"], severity, preset, params["angle"])
    x = to_unit(images)
    grey = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]  # OpenCV RGB2GRAY
    x = image_weight * x + (1 - image_weight) * torch.maximum(x, grey * 1.5 + 0.5)
    return truncate_levels(x + layer + layer.flip(2, 3))


BATCHED = (
    BatchedCorruption("fog", _fog_sample, _fog_from_numpy, _fog),
    BatchedCorruption("frost", _frost_sample, _frost_from_numpy, _frost),
    BatchedCorruption("snow", _snow_sample, _snow_from_numpy, _snow),
)
