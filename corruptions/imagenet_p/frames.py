"""ImageNet-P frame sequences, faithful to ``make_imagenet_p.py``.

:func:`perturbation_sequence` turns one validation image into the frames the original
script wrote as PNGs before encoding them: uint8, ``T x 224 x 224 x 3`` (0-255, RGB), frame
order as in the script. The parameters are the plain data of
:mod:`corruptions.params.imagenet_p`; how each type follows the script:

* Geometry: the image is resized so its shorter side is 256 (PIL bilinear in the image's
  own mode, then converted to RGB, as ``Resize(256)(Image.open(f)).convert('RGB')``), and
  every frame is the centre 224 x 224 (torchvision's ``CenterCrop`` offsets). Types that
  move the image (translate, rotate, scale, shear, zoom blur, tilt) transform the whole
  resized image and crop afterwards; the others crop first.
* translate, rotate, scale, shear, zoom blur: torchvision 0.2's ``affine`` on the PIL
  image, i.e. PIL ``Image.transform(AFFINE)`` with the inverse matrix torchvision 0.2
  computed (centre ``(w/2 + 0.5, h/2 + 0.5)``; shear enters as
  ``[cos(a+s), sin(a+s); -sin(a), cos(a)] / cos(s)``). Newer torchvision moved the centre to
  ``w/2`` and changed the shear matrix, so the matrix is built here, not taken from it.
  translate resamples nearest (torchvision's default), the others bilinear.
* zoom blur: frame 0 is the crop; frame ``i`` is the running mean of the crops of frames
  ``0..i`` zoomed by ``1 + 0.004 k``, in float32 ``x / 255`` (``ToTensor``) and written as
  ``uint8(mean * 255)`` (``ToPILImage``: truncation).
* tilt: OpenCV ``warpPerspective`` (bilinear, black border) of the resized image with the
  script's pinhole homography (rotation by the same angle about the x and the y axis,
  focal length = the image diagonal), then the crop.
* gaussian noise: frame 0 the crop, then 30 frames ``clamp(x + s * randn, 0, 1)`` on the
  float32 tensor, truncated to uint8; the noise comes from **torch**'s generator, as the
  script's ``torch.randn_like``.
* shot and speckle noise: frame 0 the crop, then 30 independent numpy draws (Poisson photon
  counts, multiplicative normal noise) from the legacy stream, in frame order.
* motion blur: ImageMagick ``MotionBlurImage`` of the crop (radius 10, sigma 3) at angle
  ``(i - 30) * 4`` degrees, through the same numpy rendition of ImageMagick as ImageNet-C's
  motion blur (:func:`corruptions.blur.imagemagick_motion_blur`).
* snow: one normal draw for a crop-sized snow layer, zoomed and thresholded as in
  ImageNet-C's snow, stored as an 8-bit grey image, motion-blurred (radius 14, sigma 4) at
  ``4 i - 150`` degrees per frame and added twice (as is and rotated 180 degrees) to the
  brightened image ``0.85 x + 0.15 max(x, 1.5 grey + 0.5)`` (float64 here, unlike ImageNet-C).
* brightness: HSV value shifted by ``(i - 15) / 50`` (scikit-image's HSV formulas).
* gaussian blur: scikit-image's Gaussian (``mode='nearest'``, ``truncate=6``) with sigma
  ``0.25 + 0.035 i``.
* spatter: one normal draw for the liquid layer, blurred and thresholded; each frame is
  ImageNet-C's water spatter of the current layer, after which every column of the layer
  is convolved with ``[0.05, 0.1, 0.15, 0.7]`` (``np.convolve``, ``mode='same'``).

Other sizes: ``resize`` and ``crop`` are parameters (default 256 and 224); the snow and
spatter layers take the crop's size, so nothing is hard-wired to 224 px.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage

from ..base import check_rng, clip_scale_truncate, truncate
from ..blur import clipped_zoom, imagemagick_motion_blur, skimage_gaussian
from ..digital import hsv_to_rgb, rgb_to_hsv
from ..errors import UserInputError
from ..params import imagenet_p as P
from ..registry import similar_names
from ..weather import _WATER_BGR, _water_shading

_RESAMPLE = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR}


class UnknownPerturbationError(UserInputError, KeyError):
    """No ImageNet-P perturbation of that name (a ``KeyError`` too)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# --------------------------------------------------------------------------- plain data


def check_perturbation(name: Any) -> str:
    """``name`` if it is an ImageNet-P perturbation type, else a clear error with close names."""
    if not isinstance(name, str) or name not in P.ALL:
        close = similar_names(name, P.ALL) if isinstance(name, str) else []
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UnknownPerturbationError(
            f"unknown ImageNet-P perturbation {name!r}; {hint}known: {', '.join(P.ALL)}"
        )
    return name


def difficulties_of(name: str) -> tuple[int, ...]:
    """The difficulties ``name`` has sequences for: 1-3 for the noises, only 1 otherwise."""
    return P.DIFFICULTIES if check_perturbation(name) in P.NOISE else (1,)


def check_difficulty(name: str, difficulty: Any) -> int:
    """``difficulty`` as an int if ``name`` has a sequence at it (see :func:`difficulties_of`)."""
    allowed = difficulties_of(name)
    ok = isinstance(difficulty, numbers.Integral) and not isinstance(difficulty, bool | np.bool_)
    if not ok or int(difficulty) not in allowed:
        if name in P.NOISE:
            why = "noise types have difficulties 1, 2 and 3"
        else:
            why = (f"{name} has one sequence (difficulty 1); the original test.py uses its "
                   "difficulty only as a frame stride when scoring")  # fmt: skip
        raise UserInputError(f"difficulty must be one of {allowed} for {name}, got "
                             f"{difficulty!r}: {why}")  # fmt: skip
    return int(difficulty)


def frame_values(name: str, key: str) -> list[float]:
    """The per-frame parameter ``key`` of ``name``, frame by frame, as the script computes it."""
    start, step, divisor = P.LADDERS[name][key]
    return [(start + step * i) / divisor for i in range(P.FRAMES[name])]


def sequence_dirname(name: str, difficulty: int) -> str:
    """The folder of ``name`` at ``difficulty``: ``name``, or ``name_2`` / ``name_3``."""
    difficulty = check_difficulty(name, difficulty)
    return name if difficulty == 1 else f"{name}_{difficulty}"


# --------------------------------------------------------------------------- geometry


def resize_shorter(image: Image.Image, size: int) -> Image.Image:
    """torchvision's ``Resize(size)`` on a PIL image: shorter side to ``size`` (bilinear), the
    longer one to ``int(size * long / short)``; an image already at ``size`` is returned."""
    w, h = image.size
    if (w <= h and w == size) or (h <= w and h == size):
        return image
    if w < h:
        return image.resize((size, int(size * h / w)), Image.BILINEAR)
    return image.resize((int(size * w / h), size), Image.BILINEAR)


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The centre ``size`` x ``size`` of an HxWxC array (offsets rounded as torchvision)."""
    h, w = image.shape[:2]
    if h < size or w < size:
        raise UserInputError(f"image of {h}x{w} px is smaller than the {size} px crop; pass a "
                             "larger image or a smaller crop")  # fmt: skip
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return image[top : top + size, left : left + size]


def inverse_affine_matrix(
    center: tuple[float, float],
    angle: float,
    translate: tuple[float, float],
    scale: float,
    shear: float,
) -> list[float]:
    """torchvision 0.2's inverse affine matrix (6 coefficients for PIL ``Image.AFFINE``).

    The forward map is ``T * C * RSS * C^-1``: about ``center`` (x, y in px), rotate by
    ``angle`` and shear by ``shear`` (degrees; ``RSS = [[cos a, -sin(a+s)], [sin a,
    cos(a+s)]] * scale``), then translate. PIL needs the inverse, output -> input.
    """
    a, s = math.radians(angle), math.radians(shear)
    det = math.cos(a + s) * math.cos(a) + math.sin(a + s) * math.sin(a)  # = cos(s)
    m = [math.cos(a + s), math.sin(a + s), 0.0, -math.sin(a), math.cos(a), 0.0]
    m = [(1.0 / scale) / det * v for v in m]
    cx, cy = center
    tx, ty = translate
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx
    m[5] += cy
    return m


def affine(
    image: Image.Image,
    angle: float = 0.0,
    translate: tuple[float, float] = (0, 0),
    scale: float = 1.0,
    shear: float = 0.0,
    resample: str = "nearest",
) -> Image.Image:
    """torchvision 0.2's ``functional.affine`` on a PIL image (black outside the source)."""
    w, h = image.size
    matrix = inverse_affine_matrix((w * 0.5 + 0.5, h * 0.5 + 0.5), angle, translate, scale, shear)
    return image.transform(image.size, Image.AFFINE, matrix, _RESAMPLE[resample])


def tilt_homography(width: int, height: int, angle: float) -> np.ndarray:
    """The script's 3x3 homography for ``tilt``: ``angle`` degrees about the x and the y axis.

    Pixels are lifted to 3-D about the image centre (z = 1), rotated about y then x,
    pushed ``f`` (the diagonal) along z and projected with focal length ``f`` and principal
    point at the centre; products in the script's order.
    """
    w, h = width, height
    phi = theta = np.deg2rad(angle)
    f = np.sqrt(w**2 + h**2)
    lift = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1], [0, 0, 1]])
    rot_x = np.array([[1, 0, 0, 0], [0, np.cos(theta), -np.sin(theta), 0],
                      [0, np.sin(theta), np.cos(theta), 0], [0, 0, 0, 1]])  # fmt: skip
    rot_y = np.array([[np.cos(phi), 0, -np.sin(phi), 0], [0, 1, 0, 0],
                      [np.sin(phi), 0, np.cos(phi), 0], [0, 0, 0, 1]])  # fmt: skip
    push = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, f], [0, 0, 0, 1]])
    project = np.array([[f, 0, w / 2, 0], [0, f, h / 2, 0], [0, 0, 1, 0]])
    return project @ push @ rot_x @ rot_y @ lift


# --------------------------------------------------------------------------- per type
# Each takes the resized RGB image (PIL), its uint8 array, the crop side, the difficulty's
# noise level (or None) and the random source, and returns uint8 T x crop x crop x 3.


def _frames(name: str, crop: int) -> np.ndarray:
    return np.empty((P.FRAMES[name], crop, crop, 3), dtype=np.uint8)


def _affine_sequence(name, key, pil, crop, resample) -> np.ndarray:
    out = _frames(name, crop)
    for i, value in enumerate(frame_values(name, key)):
        moved = affine(pil, resample=resample, **{key: value})
        out[i] = center_crop(np.asarray(moved), crop)
    return out


def _translate(pil, full, crop, level, rng):
    out = _frames("translate", crop)
    for i, dx in enumerate(frame_values("translate", "dx")):
        moved = affine(pil, translate=(dx, 0), resample=P.FIXED["translate"]["resample"])
        out[i] = center_crop(np.asarray(moved), crop)
    return out


def _rotate(pil, full, crop, level, rng):
    return _affine_sequence("rotate", "angle", pil, crop, P.FIXED["rotate"]["resample"])


def _scale(pil, full, crop, level, rng):
    return _affine_sequence("scale", "scale", pil, crop, P.FIXED["scale"]["resample"])


def _shear(pil, full, crop, level, rng):
    return _affine_sequence("shear", "shear", pil, crop, P.FIXED["shear"]["resample"])


def _tilt(pil, full, crop, level, rng):
    out = _frames("tilt", crop)
    h, w = full.shape[:2]
    for i, angle in enumerate(frame_values("tilt", "angle")):
        warped = cv2.warpPerspective(full, tilt_homography(w, h, angle), (w, h))
        out[i] = center_crop(warped, crop)
    return out


def _zoom_blur(pil, full, crop, level, rng):
    out = _frames("zoom_blur", crop)
    out[0] = center_crop(full, crop)
    total = out[0].astype(np.float32) / np.float32(255)  # ToTensor: float32 x / 255
    resample = P.FIXED["zoom_blur"]["resample"]
    for i, zoom in enumerate(frame_values("zoom_blur", "scale")[1:], start=1):
        zoomed = center_crop(np.asarray(affine(pil, scale=zoom, resample=resample)), crop)
        total += zoomed.astype(np.float32) / np.float32(255)
        mean = total / np.float32(i + 1)
        out[i] = truncate(mean * np.float32(255))  # ToPILImage: mul(255).byte()
    return out


def _gaussian_noise(pil, full, crop, level, rng):
    import torch

    out = _frames("gaussian_noise", crop)
    out[0] = center_crop(full, crop)
    x = torch.from_numpy(np.ascontiguousarray(out[0])).permute(2, 0, 1).float().div(255)
    generator = rng if isinstance(rng, torch.Generator) else None
    for i in range(1, len(out)):
        noise = torch.randn(x.shape, dtype=x.dtype, generator=generator)
        noisy = torch.clamp(x + level * noise, 0, 1)
        out[i] = noisy.mul(255).byte().permute(1, 2, 0).numpy()
    return out


def _shot_noise(pil, full, crop, level, rng):
    out = _frames("shot_noise", crop)
    out[0] = center_crop(full, crop)
    x = out[0] / 255.0
    for i in range(1, len(out)):
        out[i] = clip_scale_truncate(rng.poisson(x * level) / float(level))
    return out


def _speckle_noise(pil, full, crop, level, rng):
    out = _frames("speckle_noise", crop)
    out[0] = center_crop(full, crop)
    x = out[0] / 255.0
    for i in range(1, len(out)):
        noise = rng.normal(size=x.shape, scale=level)
        out[i] = clip_scale_truncate(x + x * noise)
    return out


def _motion_blur(pil, full, crop, level, rng):
    out = _frames("motion_blur", crop)
    x = center_crop(full, crop)
    radius, sigma = P.FIXED["motion_blur"]["radius"], P.FIXED["motion_blur"]["sigma"]
    for i, angle in enumerate(frame_values("motion_blur", "angle")):
        out[i] = imagemagick_motion_blur(x, radius, sigma, angle)
    return out


def _snow(pil, full, crop, level, rng):
    c = P.FIXED["snow"]
    out = _frames("snow", crop)
    x = center_crop(full, crop) / 255.0  # float64 here (ImageNet-C's snow uses float32)
    layer = rng.normal(size=(crop, crop), loc=c["mean"], scale=c["std"])
    layer = clipped_zoom(layer[..., np.newaxis], c["zoom"])
    layer[layer < c["threshold"]] = 0
    grey_layer = (np.clip(layer[..., 0], 0, 1) * 255).astype(np.uint8)
    grey = cv2.cvtColor(np.float32(x), cv2.COLOR_RGB2GRAY).reshape(crop, crop, 1)
    weight = c["image_weight"]
    base = weight * x + (1 - weight) * np.maximum(x, grey * 1.5 + 0.5)
    for i, angle in enumerate(frame_values("snow", "angle")):
        moving = imagemagick_motion_blur(grey_layer, c["radius"], c["sigma"], angle) / 255.0
        moving = moving[..., np.newaxis]
        out[i] = truncate(np.clip(base + moving + np.rot90(moving, k=2), 0, 1) * 255)
    return out


def _brightness(pil, full, crop, level, rng):
    out = _frames("brightness", crop)
    hsv = rgb_to_hsv(center_crop(full, crop) / 255.0)
    value = hsv[..., 2].copy()
    for i, shift in enumerate(frame_values("brightness", "shift")):
        hsv[..., 2] = np.clip(value + shift, 0, 1)
        out[i] = truncate(hsv_to_rgb(hsv) * 255)
    return out


def _gaussian_blur(pil, full, crop, level, rng):
    out = _frames("gaussian_blur", crop)
    x = center_crop(full, crop) / 255.0
    truncate_at = P.FIXED["gaussian_blur"]["truncate"]
    for i, sigma in enumerate(frame_values("gaussian_blur", "sigma")):
        blurred = ndimage.gaussian_filter(x, (sigma, sigma, 0), mode="nearest",
                                          truncate=truncate_at)  # fmt: skip
        out[i] = truncate(255 * blurred)
    return out


def spatter_drift(layer: np.ndarray) -> np.ndarray:
    """One frame's run of the liquid layer down the image: each column convolved with the
    drift kernel, ``np.convolve(..., mode='same')`` (float64 HxW in and out)."""
    kernel = np.array(P.FIXED["spatter"]["drift"])
    out = np.empty_like(layer)
    for col in range(layer.shape[1]):
        out[:, col] = np.convolve(layer[:, col], kernel, mode="same")
    return out


def _spatter(pil, full, crop, level, rng):
    c = P.FIXED["spatter"]
    out = _frames("spatter", crop)
    x = np.array(center_crop(full, crop), dtype=np.float32) / 255.0
    liquid = rng.normal(size=(crop, crop), loc=c["mean"], scale=c["std"])
    liquid = skimage_gaussian(liquid, c["sigma"])
    liquid[liquid < c["threshold"]] = 0
    frame = np.empty_like(x)
    for i in range(len(out)):
        grey = (liquid * 255).astype(np.uint8)
        mask = grey * _water_shading(grey)  # float32
        with np.errstate(invalid="ignore", divide="ignore"):
            mask /= np.max(mask)
        mask *= c["intensity"]
        for channel, value in enumerate(_WATER_BGR):  # the script's "BGR" order on RGB arrays
            frame[..., channel] = x[..., channel] + mask * np.float32(value)
        out[i] = clip_scale_truncate(frame)  # clips and scales ``frame`` in place
        liquid = spatter_drift(liquid)
    return out


_SEQUENCES = {
    "gaussian_noise": _gaussian_noise,
    "shot_noise": _shot_noise,
    "motion_blur": _motion_blur,
    "zoom_blur": _zoom_blur,
    "snow": _snow,
    "brightness": _brightness,
    "translate": _translate,
    "rotate": _rotate,
    "tilt": _tilt,
    "scale": _scale,
    "speckle_noise": _speckle_noise,
    "gaussian_blur": _gaussian_blur,
    "spatter": _spatter,
    "shear": _shear,
}


# --------------------------------------------------------------------------- entry point


def _check_random_source(name: str, rng: Any):
    """The generator ``name`` draws from: numpy's legacy stream for shot/speckle noise, snow
    and spatter; torch's generator for gaussian noise (a ``RandomState`` seeds a fresh one
    from one draw); nothing for the deterministic types."""
    if name == "gaussian_noise":
        import torch

        if rng is None or isinstance(rng, torch.Generator):
            return rng  # None: torch's global generator, as the script's randn_like
        state = check_rng(rng)
        return torch.Generator().manual_seed(int(state.randint(0, 2**63 - 1, dtype=np.int64)))
    if type(rng).__module__.startswith("torch") and name in ("shot_noise", "speckle_noise",
                                                             "snow", "spatter"):  # fmt: skip
        raise UserInputError(
            f"{name} draws from numpy's legacy stream, as the original script: pass "
            "rng=np.random.RandomState(seed), not a torch.Generator"
        )
    if type(rng).__module__.startswith("torch"):
        return None  # deterministic type: any source is accepted and unused
    return check_rng(rng)


def as_pil_rgb(image: Any, resize: int | None) -> Image.Image:
    """``image`` (PIL image of any mode, or uint8 HxW / HxWx3 / HxWx4 array) resized as the
    script did (shorter side to ``resize`` in the image's own mode, then RGB)."""
    if not isinstance(image, Image.Image):
        arr = np.asarray(image)
        if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and
                                                               arr.shape[2] not in (3, 4)):  # fmt: skip
            raise UserInputError(
                f"expected a PIL image or a uint8 HxWx3 (HxW, HxWx4) array, got "
                f"{type(image).__name__} of shape {getattr(arr, 'shape', '?')} and dtype "
                f"{getattr(arr, 'dtype', '?')}"
            )
        image = Image.fromarray(np.ascontiguousarray(arr))
    if resize is not None:
        image = resize_shorter(image, int(resize))
    return image.convert("RGB")


def perturbation_sequence(
    image: Any,
    name: str,
    difficulty: int = 1,
    rng: Any = None,
    *,
    resize: int | None = P.RESIZE,
    crop: int = P.CROP,
) -> np.ndarray:
    """The ImageNet-P frames of one image: uint8 ``T x crop x crop x 3`` (0-255, RGB).

    ``image``: the validation image, a PIL image (any mode) or a uint8 HxWx3 array; it is
    resized so its shorter side is ``resize`` px (256; ``None`` = use it as it is) and each
    frame is centre-cropped to ``crop`` px (224). ``name``: one of
    :data:`corruptions.params.imagenet_p.ALL`; ``difficulty``: 1-3 for the noise types, 1
    for the others. ``T`` is ``FRAMES[name]`` (31; 41 for translate).

    ``rng``: a legacy ``np.random.RandomState`` (``None``: numpy's global stream, as the
    script) for shot and speckle noise, snow and spatter. Gaussian noise draws from torch,
    as the script's ``torch.randn_like``: pass a ``torch.Generator`` (``None``: torch's
    global generator) to replay the script's stream; a ``RandomState`` seeds a fresh
    generator from one draw. The other types draw nothing.
    """
    name = check_perturbation(name)
    difficulty = check_difficulty(name, difficulty)
    source = _check_random_source(name, rng)
    pil = as_pil_rgb(image, resize)
    full = np.asarray(pil)
    center_crop(full, crop)  # refuse too-small images before any work
    level = P.NOISE_LEVELS[name][difficulty - 1] if name in P.NOISE else None
    return _SEQUENCES[name](pil, full, int(crop), level, source)
