"""Digital corruptions: contrast, brightness, saturate, JPEG, pixelate, elastic.

Faithful to ``make_imagenet_c.py`` (see ``docs/corruptions.md`` for the
quirks kept). Pixels are 0-255 uint8 in and out; inside, the reference's float
path (0-1 float64 or float32) is followed operation by operation and the result
is truncated with ``np.uint8``.

* brightness and saturate convert through HSV with scikit-image's formulas
  (re-implemented here without boolean indexing; bit-identical). Gray pixels
  have hue 0, so raising their saturation (saturate 4-5) tints them red.
* jpeg_compression and pixelate go through PIL exactly as the reference did
  (JPEG at the table's quality and re-decoded; BOX down to ``int(side * c)``,
  BOX back up).
* elastic_transform: random affine of three anchor points (OpenCV
  ``warpAffine``, reflect-101 border), then a smoothed random displacement field
  (Gaussian, ``truncate=3``, reflect) sampled bilinearly (reflect border).

Other sizes: contrast, brightness, saturate and JPEG are size-free; pixelate
scales each side by ``c``; elastic's constants are pixels, kept as-is, and its
anchor points follow the image's own height and width.
"""

from __future__ import annotations

import functools
from io import BytesIO

import numpy as np
from PIL import Image
from scipy import ndimage

from .base import Corruption, Params, clip_scale_truncate, no_parameters, to_unit
from .params import severity_params
from .params.digital import TABLES


# ---------------------------------------------------------------- HSV (scikit-image's formulas)
def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 float RGB (0-1) -> HSV (each 0-1), bit-identical to ``skimage.color.rgb2hsv``.

    Hue: where several channels equal the max, blue wins over green over red;
    gray pixels (max == min) get hue 0 and saturation 0. Same float operations
    as scikit-image, on contiguous planes and with one division for the hue.
    """
    r, g, b = np.ascontiguousarray(np.moveaxis(rgb, -1, 0))
    value = np.maximum(np.maximum(r, g), b)
    delta = value - np.minimum(np.minimum(r, g), b)
    gray = delta == 0.0
    blue_max, green_max = b == value, g == value
    # Hue sector offset and numerator of the winning channel (blue > green > red).
    offset = np.where(blue_max, 4.0, np.where(green_max, 2.0, 0.0))
    numerator = np.where(blue_max, r - g, np.where(green_max, b - r, g - b))
    safe_delta = np.where(gray, 1.0, delta)
    hue = offset + numerator / safe_delta
    hue /= 6.0
    np.mod(hue, 1.0, out=hue)
    hue[gray] = 0.0
    sat = np.where(gray, 0.0, delta / np.where(gray, 1.0, value))
    out = np.empty(rgb.shape, dtype=np.float64)
    out[..., 0], out[..., 1], out[..., 2] = hue, sat, value
    return out


# scikit-image's hsv2rgb table: per 60-degree sector, which of (v, p, q, t) is R, G, B.
_SECTOR_SOURCE = np.array(
    [
        [0, 2, 1, 1, 3, 0],  # R: v q p p t v
        [3, 0, 0, 2, 1, 1],  # G: t v v q p p
        [1, 1, 3, 0, 0, 2],  # B: p p t v v q
    ],
    dtype=np.intp,
)


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """HxWx3 HSV (0-1) -> float RGB (0-1), bit-identical to ``skimage.color.hsv2rgb``.

    Same products as scikit-image (``p = v(1-s)``, ``q = v(1-fs)``,
    ``t = v(1-(1-f)s)``); the per-sector choice is a table lookup.
    """
    h, s, v = np.ascontiguousarray(np.moveaxis(hsv, -1, 0))
    h6 = h * 6
    sector = np.floor(h6)
    f = h6 - sector
    candidates = np.empty((4, v.size))  # rows: v, p, q, t
    candidates[0] = v.ravel()
    candidates[1] = (v * (1 - s)).ravel()
    candidates[2] = (v * (1 - f * s)).ravel()
    candidates[3] = (v * (1 - (1 - f) * s)).ravel()
    sector = (sector.astype(np.uint8) % 6).ravel()
    columns = np.arange(v.size)
    out = np.empty(hsv.shape, dtype=np.float64)
    for channel in range(3):
        source = _SECTOR_SOURCE[channel][sector]
        out[..., channel] = candidates[source, columns].reshape(v.shape)
    return out


# ---------------------------------------------------------------- contrast
def _contrast(image, params, severity, preset) -> np.ndarray:
    factor = severity_params(TABLES, preset, "contrast", severity)
    unit = to_unit(image)
    means = np.mean(unit, axis=(0, 1), keepdims=True)
    return clip_scale_truncate((unit - means) * factor + means)


# ---------------------------------------------------------------- brightness
def _brightness(image, params, severity, preset) -> np.ndarray:
    shift = severity_params(TABLES, preset, "brightness", severity)
    hsv = rgb_to_hsv(to_unit(image))
    hsv[..., 2] = np.clip(hsv[..., 2] + shift, 0, 1)
    return clip_scale_truncate(hsv_to_rgb(hsv))


# ---------------------------------------------------------------- saturate
def _saturate(image, params, severity, preset) -> np.ndarray:
    scale, offset = severity_params(TABLES, preset, "saturate", severity)
    hsv = rgb_to_hsv(to_unit(image))
    hsv[..., 1] = np.clip(hsv[..., 1] * scale + offset, 0, 1)
    return clip_scale_truncate(hsv_to_rgb(hsv))


# ---------------------------------------------------------------- jpeg
def _jpeg(image, params, severity, preset) -> np.ndarray:
    quality = severity_params(TABLES, preset, "jpeg_compression", severity)
    buffer = BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.array(decoded.convert("RGB"))  # a writable copy


# ---------------------------------------------------------------- pixelate
def _pixelate(image, params, severity, preset) -> np.ndarray:
    factor = severity_params(TABLES, preset, "pixelate", severity)
    height, width = image.shape[:2]
    small = (max(1, int(width * factor)), max(1, int(height * factor)))
    pil = Image.fromarray(np.ascontiguousarray(image))
    return np.array(pil.resize(small, Image.BOX).resize((width, height), Image.BOX))


# ---------------------------------------------------------------- elastic
def _sample_elastic(rng, severity, shape, preset) -> Params:
    _, _, jitter = severity_params(TABLES, preset, "elastic_transform", severity)
    height, width = shape[:2]
    return {
        "anchor_shift": rng.uniform(-jitter, jitter, size=(3, 2)).astype(np.float32),
        "dx_noise": rng.uniform(-1, 1, size=(height, width)),
        "dy_noise": rng.uniform(-1, 1, size=(height, width)),
    }


# Gaussian kernels with a radius above this many taps are applied as matrix products.
_MATRIX_FILTER_MIN_RADIUS = 16


@functools.lru_cache(maxsize=32)
def reflect_gaussian_matrix(length: int, sigma: float, truncate: float = 3.0) -> np.ndarray:
    """The ``length x length`` matrix of scipy's 1-D Gaussian filter with ``mode='reflect'``.

    ``matrix @ line`` equals ``ndimage.gaussian_filter1d(line, sigma, mode='reflect',
    truncate=truncate)`` up to float summation order: the kernel (scipy's: radius
    ``int(truncate * sigma + 0.5)``, normalised to sum 1) is folded onto the
    line by half-sample reflection, repeated with period ``2 * length`` for
    kernels longer than the line.
    """
    radius = int(truncate * float(sigma) + 0.5)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 / float(sigma) ** 2 * offsets.astype(np.float64) ** 2)
    weights /= weights.sum()
    source = (np.arange(length)[:, None] + offsets[None, :]) % (2 * length)
    source = np.where(source < length, source, 2 * length - 1 - source)
    matrix = np.zeros((length, length))
    rows = np.broadcast_to(np.arange(length)[:, None], source.shape)
    np.add.at(matrix, (rows, source), np.broadcast_to(weights, source.shape))
    return matrix


def _smooth_field(noise: np.ndarray, sigma: float, alpha: float) -> np.ndarray:
    """skimage ``gaussian(noise, sigma, mode='reflect', truncate=3) * alpha`` as float32.

    Narrow kernels use scipy's filter (bit-identical to the reference); kernels
    wider than 2 * 16 + 1 taps (imagenet severities 1-2: up to 1025 taps on a
    224 px line) use the equivalent matrix products, which differ from scipy
    only in float summation order (relative ~1e-15) and are ~20x faster.
    """
    if sigma == 0:
        smoothed = noise.astype(np.float64, copy=True)
    elif int(3 * float(sigma) + 0.5) <= _MATRIX_FILTER_MIN_RADIUS:
        smoothed = ndimage.gaussian_filter(noise, sigma, mode="reflect", truncate=3)
    else:
        height, width = noise.shape
        rows = reflect_gaussian_matrix(height, float(sigma))
        cols = reflect_gaussian_matrix(width, float(sigma))
        smoothed = rows @ noise @ cols.T
    return (smoothed * alpha).astype(np.float32)


def _elastic(image, params, severity, preset) -> np.ndarray:
    import cv2  # OpenCV (an albumentations dependency); imported only when needed

    alpha, sigma, _ = severity_params(TABLES, preset, "elastic_transform", severity)
    unit = np.asarray(image, dtype=np.float32) / 255.0
    height, width = unit.shape[:2]

    # Random affine: three anchor points around the centre, each shifted.
    center = np.float32((height, width)) // 2
    side = min(height, width) // 3
    anchors = np.float32([center + side, [center[0] + side, center[1] - side], center - side])
    matrix = cv2.getAffineTransform(anchors, anchors + params["anchor_shift"])
    unit = cv2.warpAffine(unit, matrix, (width, height), borderMode=cv2.BORDER_REFLECT_101)

    # Smoothed displacement field, sampled bilinearly per channel.
    dx = _smooth_field(params["dx_noise"], sigma, alpha)
    dy = _smooth_field(params["dy_noise"], sigma, alpha)
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    coords = np.stack([(rows + dy).ravel(), (cols + dx).ravel()])
    out = np.empty_like(unit)
    for channel in range(unit.shape[2]):
        plane = np.ascontiguousarray(unit[..., channel])
        sampled = ndimage.map_coordinates(plane, coords, order=1, mode="reflect")
        out[..., channel] = sampled.reshape(height, width)
    return clip_scale_truncate(out)


CORRUPTIONS = (
    Corruption("contrast", "digital", no_parameters, _contrast),
    Corruption("brightness", "digital", no_parameters, _brightness),
    Corruption("saturate", "digital", no_parameters, _saturate),
    Corruption("jpeg_compression", "digital", no_parameters, _jpeg),
    Corruption("pixelate", "digital", no_parameters, _pixelate),
    Corruption("elastic_transform", "digital", _sample_elastic, _elastic),
)
