"""TEST ORACLE -- a transcription of the original ImageNet-P frame loops, for tests only.

Source: ``ImageNet-P/create_p/make_imagenet_p.py`` of hendrycks/robustness (Apache-2.0,
Copyright Dan Hendrycks), last changed in commit e0377d46411fa30c01a9559017bdb6a5f78d4abf
(identical at 8190fe3). The script is not a package and is not in this repository, so the
per-type loop bodies (``for i in range(...)`` up to the PNG save) are transcribed here
into functions, one per perturbation type, keeping the script's library calls and
arithmetic. Changes, all mechanical:

* the file I/O is gone: each function returns the frames (uint8 T x crop x crop x 3) that
  the script saved as ``img0.png``, ``img1.png``, ... ; ``224`` is the ``crop`` argument and
  the input is the already resized PIL image (the script's ``img``);
* numpy's global stream and torch's global generator are used as in the script: the
  caller seeds them (``np.random.seed`` / ``torch.manual_seed``);
* API drift of today's libraries: ``np.fromstring`` -> ``np.frombuffer``;
  ``gaussian(multichannel=True)`` -> ``channel_axis=-1``; torchvision's ``affine`` lost
  ``resample=`` (now ``interpolation=``) and moved its default centre from
  ``(w/2 + 0.5, h/2 + 0.5)`` (torchvision 0.2, which the script ran on) to ``(w/2, h/2)``:
  the old centre is passed explicitly. Its inverse matrix is unchanged for ``shear=0``
  (the only case used here; shear is tested against a hand-derived matrix instead);
* motion blur and snow run ImageMagick through Wand with the ``MotionImage`` class of the
  installed original ImageNet-C code (the same three lines as the script's class).

Nothing in ``corruptions/`` imports this module.
"""

from __future__ import annotations

from io import BytesIO

import cv2
import numpy as np
import skimage.color as skcolor
import torch
import torchvision.transforms as trn
import torchvision.transforms.functional as trn_F
from PIL import Image as PILImage
from reference import require_reference
from scipy.ndimage import zoom as scizoom
from skimage.filters import gaussian

BILINEAR = trn_F.InterpolationMode.BILINEAR
NEAREST = trn_F.InterpolationMode.NEAREST


def affine_02(img, angle, translate, scale, shear, resample=NEAREST):
    """torchvision 0.2's ``functional.affine`` (centre w/2 + 0.5) through today's torchvision;
    valid for ``shear == 0`` only."""
    assert shear == 0, "today's torchvision builds another shear matrix than 0.2"
    w, h = img.size
    return trn_F.affine(img, angle=angle, translate=list(translate), scale=scale, shear=0.0,
                        interpolation=resample, center=[w * 0.5 + 0.5, h * 0.5 + 0.5])  # fmt: skip


def _stack(frames):
    return np.stack([np.asarray(f, dtype=np.uint8) for f in frames])


def _wand_motion_blur(png_bytes, radius, sigma, angle):
    motion_image = require_reference().MotionImage
    z = motion_image(blob=png_bytes)
    z.motion_blur(radius=radius, sigma=sigma, angle=angle)
    return cv2.imdecode(np.frombuffer(z.make_blob(), np.uint8), cv2.IMREAD_UNCHANGED)


def clipped_zoom(img, zoom_factor):
    h = img.shape[0]
    ch = int(np.ceil(h / zoom_factor))
    top = (h - ch) // 2
    img = scizoom(img[top:top + ch, top:top + ch], (zoom_factor, zoom_factor, 1), order=1)
    trim_top = (img.shape[0] - h) // 2
    return img[trim_top:trim_top + h, trim_top:trim_top + h]


def brightness(_x, c=0.0):
    _x = np.array(_x, copy=True) / 255.0
    _x = skcolor.rgb2hsv(_x)
    _x[:, :, 2] = np.clip(_x[:, :, 2] + c, 0, 1)
    _x = skcolor.hsv2rgb(_x)
    return np.uint8(_x * 255)


# ---------------------------------------------------------------- test perturbations


def gaussian_noise(img, crop, std):
    x = trn.Compose([trn.CenterCrop(crop), trn.ToTensor()])(img)
    frames = [trn.ToPILImage()(x)]
    for _ in range(1, 31):
        frames.append(trn.ToPILImage()(torch.clamp(x + std * torch.randn_like(x), 0, 1)))
    return _stack(frames)


def shot_noise(img, crop, photons):
    x = trn.CenterCrop(crop)(img)
    frames = [x]
    for _ in range(1, 31):
        z = np.array(x, copy=True) / 255.0
        frames.append(np.uint8(255 * np.clip(np.random.poisson(z * photons) / float(photons), 0, 1)))
    return _stack(frames)


def motion_blur(img, crop):
    frames = []
    for i in range(0, 31):
        z = trn.CenterCrop(crop)(img)
        output = BytesIO()
        z.save(output, format="PNG")
        z = _wand_motion_blur(output.getvalue(), 10, 3, (i - 30) * 4)
        if z.shape != (crop, crop):
            z = np.clip(z[..., [2, 1, 0]], 0, 255)
        else:
            z = np.clip(np.array([z, z, z]).transpose((1, 2, 0)), 0, 255)
        frames.append(z)
    return _stack(frames)


def zoom_blur(img, crop):
    z = trn.CenterCrop(crop)(img)
    avg = trn.ToTensor()(z)
    frames = [z]
    for i in range(1, 31):
        z = trn.CenterCrop(crop)(affine_02(img, angle=0, translate=(0, 0), scale=1 + 0.004 * i,
                                           shear=0, resample=BILINEAR))  # fmt: skip
        avg += trn.ToTensor()(z)
        frames.append(trn.ToPILImage()(avg / (i + 1)))
    return _stack(frames)


def snow(img, crop):
    x = trn.CenterCrop(crop)(img)
    x = np.array(x) / 255.0
    snow_layer = np.random.normal(size=(crop, crop), loc=0.05, scale=0.3)
    snow_layer = clipped_zoom(snow_layer[..., np.newaxis], 3)
    snow_layer[snow_layer < 0.5] = 0
    snow_layer = PILImage.fromarray((np.clip(snow_layer.squeeze(), 0, 1) * 255).astype(np.uint8),
                                    mode="L")  # fmt: skip
    output = BytesIO()
    snow_layer.save(output, format="PNG")
    output = output.getvalue()
    frames = []
    for i in range(0, 31):
        snow_layer = _wand_motion_blur(output, 14, 4, i * 4 - 150) / 255.0
        snow_layer = snow_layer[..., np.newaxis]
        z = 0.85 * x + (1 - 0.85) * np.maximum(
            x, cv2.cvtColor(np.float32(x), cv2.COLOR_RGB2GRAY).reshape(crop, crop, 1) * 1.5 + 0.5)
        frames.append(np.uint8(np.clip(z + snow_layer + np.rot90(snow_layer, k=2), 0, 1) * 255))
    return _stack(frames)


def brightness_sequence(img, crop):
    x = trn.CenterCrop(crop)(img)
    return _stack([brightness(x, c=(i - 15) * 2 / 100.0) for i in range(0, 31)])


def translate(img, crop):
    return _stack([trn.CenterCrop(crop)(affine_02(img, angle=0, translate=(i - 20, 0), scale=1,
                                                  shear=0)) for i in range(0, 41)])  # fmt: skip


def rotate(img, crop):
    return _stack([trn.CenterCrop(crop)(affine_02(img, angle=i - 15, translate=(0, 0), scale=1.0,
                                                  shear=0, resample=BILINEAR))
                   for i in range(0, 31)])  # fmt: skip


def tilt(img, crop):
    x = np.array(img)
    h, w = x.shape[0:2]
    frames = []
    for i in range(0, 31):
        phi, theta = np.deg2rad(i - 15), np.deg2rad(i - 15)
        f = np.sqrt(w**2 + h**2)
        P1 = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1], [0, 0, 1]])
        RX = np.array([[1, 0, 0, 0], [0, np.cos(theta), -np.sin(theta), 0],
                       [0, np.sin(theta), np.cos(theta), 0], [0, 0, 0, 1]])  # fmt: skip
        RY = np.array([[np.cos(phi), 0, -np.sin(phi), 0], [0, 1, 0, 0],
                       [np.sin(phi), 0, np.cos(phi), 0], [0, 0, 0, 1]])  # fmt: skip
        T = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, f], [0, 0, 0, 1]])
        P2 = np.array([[f, 0, w / 2, 0], [0, f, h / 2, 0], [0, 0, 1, 0]])
        mat = P2 @ T @ RX @ RY @ P1
        frames.append(trn.CenterCrop(crop)(PILImage.fromarray(cv2.warpPerspective(x, mat, (w, h)))))
    return _stack(frames)


def scale(img, crop):
    return _stack([trn.CenterCrop(crop)(affine_02(img, angle=0, translate=(0, 0),
                                                  scale=(i * 2.5 + 40) / 100.0, shear=0,
                                                  resample=BILINEAR))
                   for i in range(0, 31)])  # fmt: skip


# ---------------------------------------------------------------- validation perturbations


def speckle_noise(img, crop, std):
    x = trn.CenterCrop(crop)(img)
    frames = [x]
    x = np.array(x) / 255.0
    for _ in range(1, 31):
        frames.append(np.uint8(255 * np.clip(x + x * np.random.normal(size=x.shape, scale=std), 0, 1)))
    return _stack(frames)


def gaussian_blur(img, crop):
    x = trn.CenterCrop(crop)(img)
    return _stack([np.uint8(255 * gaussian(np.array(x, copy=True) / 255.0, sigma=0.25 + 0.035 * i,
                                           channel_axis=-1, truncate=6.0))
                   for i in range(0, 31)])  # fmt: skip


def spatter(img, crop):
    x = trn.CenterCrop(crop)(img)
    x = cv2.cvtColor(np.array(x, dtype=np.float32) / 255.0, cv2.COLOR_BGR2BGRA)
    liquid_layer = np.random.normal(size=x.shape[:2], loc=0.65, scale=0.27)
    liquid_layer = gaussian(liquid_layer, sigma=3.7)
    liquid_layer[liquid_layer < 0.69] = 0
    frames = []
    for _ in range(0, 31):
        liquid_layer_i = (liquid_layer * 255).astype(np.uint8)
        dist = 255 - cv2.Canny(liquid_layer_i, 50, 150)
        dist = cv2.distanceTransform(dist, cv2.DIST_L2, 5)
        _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
        dist = cv2.blur(dist, (3, 3)).astype(np.uint8)
        dist = cv2.equalizeHist(dist)
        ker = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
        dist = cv2.filter2D(dist, cv2.CV_8U, ker)
        dist = cv2.blur(dist, (3, 3)).astype(np.float32)
        m = cv2.cvtColor(liquid_layer_i * dist, cv2.COLOR_GRAY2BGRA)
        m /= np.max(m, axis=(0, 1))
        m *= 0.6
        color = np.concatenate((175 / 255.0 * np.ones_like(m[..., :1]),
                                238 / 255.0 * np.ones_like(m[..., :1]),
                                238 / 255.0 * np.ones_like(m[..., :1])), axis=2)  # fmt: skip
        color = cv2.cvtColor(color, cv2.COLOR_BGR2BGRA)
        frames.append(np.uint8(cv2.cvtColor(np.clip(x + m * color, 0, 1), cv2.COLOR_BGRA2BGR) * 255))
        liquid_layer = np.apply_along_axis(
            lambda mat: np.convolve(mat, np.array([0.05, 0.1, 0.15, 0.7]), mode="same"),
            axis=0, arr=liquid_layer)  # fmt: skip
    return _stack(frames)


# name -> the transcribed loop (shear: see test_imagenet_p.py, hand-derived matrix)
ORACLES = {
    "gaussian_noise": gaussian_noise,
    "shot_noise": shot_noise,
    "motion_blur": motion_blur,
    "zoom_blur": zoom_blur,
    "snow": snow,
    "brightness": brightness_sequence,
    "translate": translate,
    "rotate": rotate,
    "tilt": tilt,
    "scale": scale,
    "speckle_noise": speckle_noise,
    "gaussian_blur": gaussian_blur,
    "spatter": spatter,
}
NOISE_LEVELS = {  # the script's levels, difficulty 1, 2, 3 (its commented-out _2, _3 blocks)
    "gaussian_noise": (0.03, 0.05, 0.08),
    "shot_noise": (300, 120, 60),
    "speckle_noise": (0.05, 0.10, 0.15),
}
NEEDS_WAND = ("motion_blur", "snow")


def reference_sequence(img: PILImage.Image, name: str, difficulty: int, crop: int, seed: int):
    """The script's frames of ``name`` for the resized RGB PIL image ``img``, after seeding
    numpy's global stream and torch's global generator with ``seed``."""
    if name in NEEDS_WAND:
        require_reference()
    np.random.seed(seed)
    torch.manual_seed(seed)
    if name in NOISE_LEVELS:
        return ORACLES[name](img, crop, NOISE_LEVELS[name][difficulty - 1])
    return ORACLES[name](img, crop)
