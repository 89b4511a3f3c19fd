"""Weather family: snow, frost, fog and spatter, faithful to ImageNet-C.

Images are uint8 HxWx3 (0-255, RGB). Each corruption reproduces the reference
function of ``make_imagenet_c.py`` (and its tiny-imagenet / CIFAR siblings):
same parameter tables, random draws in the reference's order (``sample_parameters``),
the same float32/float64 arithmetic and OpenCV calls (``transform``), and the
reference saver's ``np.uint8`` truncation.

* snow: Gaussian noise layer (normal draw), zoomed, thresholded, stored as an
  8-bit grey image, motion-blurred with :func:`corruptions.blur.imagemagick_motion_blur`
  (ImageMagick's algorithm in numpy; angle drawn uniformly in [-135, -45] degrees
  after the noise), added twice (as is and rotated 180 degrees) to a brightened image.
* frost: ``randint(5)`` picks one of the first five frost photographs (so
  ``frost6.jpg`` is never used, as in the reference), then a random crop offset
  (rows, then columns); tiny-imagenet and CIFAR shrink the photographs first
  (0.3 and 0.2, bilinear). ImageNet uses them unscaled (imagecorruptions' extra
  1.1 rescale is *not* part of the reference). See :mod:`corruptions.frost`.
* fog: a diamond-square plasma fractal (uniform draws, in the reference's order).
* spatter: Gaussian noise blurred into water (Canny/distance-transform shading)
  or mud blobs, with OpenCV as in the reference.

Other image sizes (the rule): snow, spatter and the grey-level step use the
image's own height and width; fog draws the plasma fractal on the preset's map
(256 px for imagenet, 64 tiny-imagenet, 32 cifar) or, for larger images, on the
next power of two >= the longer side, and crops its top-left HxW corner; frost
crops HxW from the photograph, first scaling the photograph up uniformly
(``cv2.resize``, bilinear) when it is not at least one pixel taller and wider
than the image. At the preset's own size every rule reduces to the reference.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from .base import Corruption, Params, clip_scale_truncate, truncate
from .blur import clipped_zoom, imagemagick_motion_blur, skimage_gaussian
from .frost import load_frost_texture
from .params import severity_params
from .params.weather import FROST_TEXTURE_SCALE, TABLES

# Plasma-fractal side in the reference scripts (``plasma_fractal(mapsize=...)``).
PLASMA_MAP_SIZE = {"imagenet": 256, "tiny-imagenet": 64, "cifar": 32}


def _params(name: str, severity: int, preset: str):
    return severity_params(TABLES, preset, name, severity)






# ----------------------------------------------------------------- snow
def snow_sample(rng: np.random.RandomState, severity: int, shape, preset: str) -> Params:
    mean, std = _params("snow", severity, preset)[:2]
    noise = rng.normal(size=tuple(shape[:2]), loc=mean, scale=std)
    angle = float(rng.uniform(-135, -45))
    return {"snow_noise": noise, "angle": angle}


def snow_layer(noise: np.ndarray, severity: int, preset: str, angle: float) -> np.ndarray:
    """The motion-blurred snow layer, HxWx1 float64 in 0-1 (8-bit steps, as the reference's
    PNG round trip leaves it)."""
    _, _, zoom, threshold, radius, sigma, _ = _params("snow", severity, preset)
    layer = clipped_zoom(noise[..., np.newaxis], zoom)
    layer[layer < threshold] = 0
    grey = (np.clip(layer[..., 0], 0, 1) * 255).astype(np.uint8)
    return (imagemagick_motion_blur(grey, radius, sigma, angle) / 255.0)[..., np.newaxis]


def snow_transform(image: np.ndarray, params: Params, severity: int, preset: str):
    image_weight = _params("snow", severity, preset)[6]
    height, width = image.shape[:2]
    layer = snow_layer(params["snow_noise"], severity, preset, params["angle"])
    x = np.array(image, dtype=np.float32) / 255.0
    grey = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).reshape(height, width, 1)
    x = image_weight * x + (1 - image_weight) * np.maximum(x, grey * 1.5 + 0.5)
    return truncate(np.clip(x + layer + np.rot90(layer, k=2), 0, 1) * 255)


# ----------------------------------------------------------------- frost
def frost_texture_for(index: int, shape, preset: str, folder=None) -> np.ndarray:
    """Frost photograph ``index`` (BGR uint8) at the preset's scale, scaled up uniformly when
    it is not at least one pixel taller and wider than an image of ``shape``."""
    texture = load_frost_texture(index, FROST_TEXTURE_SCALE[preset], folder)
    height, width = shape[:2]
    grow = max(1.0, (height + 1) / texture.shape[0], (width + 1) / texture.shape[1])
    if grow > 1.0:
        size = (int(np.ceil(texture.shape[1] * grow)), int(np.ceil(texture.shape[0] * grow)))
        texture = cv2.resize(texture, size)
    return texture


def make_frost(folder: str | os.PathLike | None = None) -> Corruption:
    """The frost corruption reading its photographs from ``folder`` (default: the
    ``CORRUPTIONS_FROST_DIR`` variable, else the installed package data; see
    :mod:`corruptions.frost`)."""

    def sample(rng: np.random.RandomState, severity: int, shape, preset: str) -> Params:
        index = int(rng.randint(5))  # the reference never picks frost6.jpg
        texture = frost_texture_for(index, shape, preset, folder)
        top = int(rng.randint(0, texture.shape[0] - shape[0]))
        left = int(rng.randint(0, texture.shape[1] - shape[1]))
        return {"texture_index": index, "top": top, "left": left}

    def transform(image: np.ndarray, params: Params, severity: int, preset: str):
        image_weight, frost_weight = _params("frost", severity, preset)
        height, width = image.shape[:2]
        texture = frost_texture_for(params["texture_index"], image.shape, preset, folder)
        top, left = params["top"], params["left"]
        crop = texture[top : top + height, left : left + width][..., [2, 1, 0]]  # BGR -> RGB
        return truncate(np.clip(image_weight * np.array(image) + frost_weight * crop, 0, 255))

    return Corruption("frost", "weather", sample, transform)


# ----------------------------------------------------------------- fog
def plasma_fractal(mapsize: int, wibble_decay: float, rng: np.random.RandomState) -> np.ndarray:
    """Diamond-square height map, ``mapsize`` x ``mapsize`` (a power of two), float64 in 0-1.

    Draws ``rng.uniform`` in the reference's order: per level, the square centres, then
    the diamond points on the corner rows, then those on the corner columns.
    """
    if mapsize < 2 or mapsize & (mapsize - 1):
        raise ValueError(f"plasma map size must be a power of two >= 2, got {mapsize}")
    height_map = np.empty((mapsize, mapsize), dtype=np.float64)
    height_map[0, 0] = 0
    step, wibble = mapsize, 100.0

    def wibbled_mean(total: np.ndarray) -> np.ndarray:
        return total / 4 + wibble * rng.uniform(-wibble, wibble, total.shape)

    while step >= 2:
        half = step // 2
        corners = height_map[0:mapsize:step, 0:mapsize:step]
        square_sum = corners + np.roll(corners, shift=-1, axis=0)
        square_sum += np.roll(square_sum, shift=-1, axis=1)
        height_map[half:mapsize:step, half:mapsize:step] = wibbled_mean(square_sum)

        centres = height_map[half:mapsize:step, half:mapsize:step]
        corners = height_map[0:mapsize:step, 0:mapsize:step]
        row_sum = (centres + np.roll(centres, 1, axis=0)) + (corners + np.roll(corners, -1, axis=1))
        height_map[0:mapsize:step, half:mapsize:step] = wibbled_mean(row_sum)
        col_sum = (centres + np.roll(centres, 1, axis=1)) + (corners + np.roll(corners, -1, axis=0))
        height_map[half:mapsize:step, 0:mapsize:step] = wibbled_mean(col_sum)

        step //= 2
        wibble /= wibble_decay

    height_map -= height_map.min()
    return height_map / height_map.max()


def plasma_map_size(shape, preset: str) -> int:
    """The preset's plasma map side, or the next power of two >= the image's longer side."""
    longest = max(int(shape[0]), int(shape[1]))
    return max(PLASMA_MAP_SIZE[preset], 1 << max(0, (longest - 1).bit_length()))


def fog_sample(rng: np.random.RandomState, severity: int, shape, preset: str) -> Params:
    _, wibble_decay = _params("fog", severity, preset)
    return {"plasma": plasma_fractal(plasma_map_size(shape, preset), wibble_decay, rng)}


def fog_transform(image: np.ndarray, params: Params, severity: int, preset: str):
    strength, _ = _params("fog", severity, preset)
    height, width = image.shape[:2]
    x = image / 255.0
    max_val = image.max() / 255.0  # == x.max(): division by 255 is monotonic
    fog = strength * params["plasma"][:height, :width]
    for channel in range(x.shape[2]):  # per channel: long inner loops, same sums
        x[..., channel] += fog
    x *= max_val
    x /= max_val + strength
    return clip_scale_truncate(x)


# ----------------------------------------------------------------- spatter
_WATER_BGR = (175 / 255.0, 238 / 255.0, 238 / 255.0)  # "pale turquoise", in array order
_MUD_BGR = (63 / 255.0, 42 / 255.0, 20 / 255.0)  # "mud brown", in array order


def spatter_sample(rng: np.random.RandomState, severity: int, shape, preset: str) -> Params:
    mean, std = _params("spatter", severity, preset)[:2]
    return {"liquid_noise": rng.normal(size=tuple(shape[:2]), loc=mean, scale=std)}


def _water_shading(liquid: np.ndarray) -> np.ndarray:
    """The reference's water-drop shading from the uint8 liquid layer: float32 HxW."""
    dist = 255 - cv2.Canny(liquid, 50, 150)
    dist = cv2.distanceTransform(dist, cv2.DIST_L2, 5)
    _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
    dist = cv2.equalizeHist(cv2.blur(dist, (3, 3)).astype(np.uint8))
    emboss = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    dist = cv2.filter2D(dist, cv2.CV_8U, emboss)
    return cv2.blur(dist, (3, 3)).astype(np.float32)


def spatter_transform(image: np.ndarray, params: Params, severity: int, preset: str):
    _, _, sigma, threshold, intensity, mode = _params("spatter", severity, preset)
    x = np.array(image, dtype=np.float32) / 255.0
    liquid = skimage_gaussian(params["liquid_noise"], sigma)
    liquid[liquid < threshold] = 0
    if mode == 0:  # water
        liquid = (liquid * 255).astype(np.uint8)
        # The reference works in BGRA and drops alpha at the end; alpha never reaches the
        # colour channels, so the same float32 operations run on the three channels only.
        mask = liquid * _water_shading(liquid)  # float32
        with np.errstate(invalid="ignore", divide="ignore"):
            mask /= np.max(mask)
        mask *= intensity
        out = np.empty_like(x)
        for channel, value in enumerate(_WATER_BGR):
            out[..., channel] = x[..., channel] + mask * np.float32(value)
        return clip_scale_truncate(out)
    # mud
    blobs = skimage_gaussian(np.where(liquid > threshold, 1, 0).astype(np.float32), intensity)
    blobs[blobs < 0.8] = 0
    keep = 1 - blobs
    for channel, value in enumerate(_MUD_BGR):  # same float32 operations, channel by channel
        x[..., channel] = x[..., channel] * keep + np.float32(value) * blobs
    return clip_scale_truncate(x)


CORRUPTIONS = (
    Corruption("snow", "weather", snow_sample, snow_transform),
    make_frost(),
    Corruption("fog", "weather", fog_sample, fog_transform),
    Corruption("spatter", "weather", spatter_sample, spatter_transform),
)
