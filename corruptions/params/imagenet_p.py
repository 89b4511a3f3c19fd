"""ImageNet-P perturbation sequences (224 px), as plain data.

Source: ``ImageNet-P/create_p/make_imagenet_p.py`` in hendrycks/robustness (last changed
in commit e0377d4, 2018-09-28; the same at 8190fe3), whose frames the published ImageNet-P
videos hold. Every value below is read off that script; :mod:`corruptions.imagenet_p`
turns them into frames.

Each sequence starts from the validation image resized so its shorter side is
:data:`RESIZE` px (torchvision ``Resize(256)`` on the PIL image, bilinear) and ends
centre-cropped to :data:`CROP` x :data:`CROP` (``CenterCrop(224)``). Frame ``i`` runs
``0 .. FRAMES[name] - 1``.

* ``LADDERS[name][key] = (start, step, divisor)``: the per-frame parameter of frame ``i``
  is ``(start + step * i) / divisor`` in Python floats, the same float the script's own
  expression gives (e.g. motion blur's ``(i - 30) * 4``, brightness's ``(i - 15) * 2 / 100.``,
  scale's ``(i * 2.5 + 40) / 100.``, Gaussian blur's ``0.25 + 0.035 * i``).
* ``NOISE_LEVELS[name][d - 1]``: the noise level of difficulty ``d`` (1-3) of the three noise
  types, whose difficulty 2 and 3 sequences live in ``<name>_2`` and ``<name>_3``. The other
  types have one sequence each (the script's ``test.py`` uses their "difficulty" as a frame
  stride when it scores a model, not as a generation parameter).
* ``FIXED[name]``: the per-type constants that do not change over the frames.
* ``CLEAN_FIRST_FRAME``: types whose frame 0 is the clean centre crop (the noises, and
  zoom blur's running mean).
* ``ENCODING``: the script's ``ffmpeg -r 1 -framerate 1 -i img%01d.png -vcodec libx264
  ... -preset veryslow`` call; noises add ``-tune grain`` and no ``-crf`` (x264's default
  rate factor, 23), the others ``-crf 20``. The PNG frames are RGB, for which ffmpeg picks
  ``yuv444p`` for libx264 (High 4:4:4 Predictive profile).
"""

from __future__ import annotations

SOURCE = "hendrycks/robustness ImageNet-P/create_p/make_imagenet_p.py (commit e0377d4)"

RESIZE = 256  # shorter side, px
CROP = 224  # centre crop side, px

# Test-time perturbations, then the validation ("held-out") ones; test.py accepts all 14.
PERTURBATIONS = (
    "gaussian_noise", "shot_noise", "motion_blur", "zoom_blur", "snow",
    "brightness", "translate", "rotate", "tilt", "scale",
)  # fmt: skip
HELD_OUT = ("speckle_noise", "gaussian_blur", "spatter", "shear")
ALL = PERTURBATIONS + HELD_OUT
NOISE = ("gaussian_noise", "shot_noise", "speckle_noise")
DIFFICULTIES = (1, 2, 3)

FRAMES = {name: 31 for name in ALL} | {"translate": 41}

CLEAN_FIRST_FRAME = ("gaussian_noise", "shot_noise", "speckle_noise", "zoom_blur")

NOISE_LEVELS = {
    # std of additive Gaussian noise on the 0-1 tensor, drawn with torch.randn_like
    "gaussian_noise": (0.03, 0.05, 0.08),
    # photons per unit intensity: poisson(x * c) / c, drawn with numpy
    "shot_noise": (300, 120, 60),
    # std of multiplicative Gaussian noise: x + x * normal(scale=c), drawn with numpy
    "speckle_noise": (0.05, 0.10, 0.15),
}

LADDERS = {
    "motion_blur": {"angle": (-120, 4, 1)},  # degrees: -120 .. 0
    "zoom_blur": {"scale": (1, 0.004, 1)},  # affine zoom of frame i, averaged over 0..i
    "snow": {"angle": (-150, 4, 1)},  # degrees of the snow layer's motion blur: -150 .. -30
    "brightness": {"shift": (-30, 2, 100)},  # added to HSV value: -0.3 .. 0.3
    "translate": {"dx": (-20, 1, 1)},  # px to the right: -20 .. 20 (41 frames)
    "rotate": {"angle": (-15, 1, 1)},  # degrees (torchvision affine): -15 .. 15
    "tilt": {"angle": (-15, 1, 1)},  # degrees about both the x and the y axis
    "scale": {"scale": (40, 2.5, 100)},  # affine scale: 0.4 .. 1.15
    "gaussian_blur": {"sigma": (0.25, 0.035, 1)},  # px: 0.25 .. 1.3
    "shear": {"shear": (-15, 1, 1)},  # degrees (torchvision 0.2 affine): -15 .. 15
}

FIXED = {
    "motion_blur": {"radius": 10, "sigma": 3},  # ImageMagick MotionBlurImage
    "zoom_blur": {"resample": "bilinear"},
    "snow": {
        "mean": 0.05, "std": 0.3,  # normal noise layer, crop-sized
        "zoom": 3, "threshold": 0.5,  # clipped zoom, then values below set to 0
        "radius": 14, "sigma": 4,  # ImageMagick motion blur of the 8-bit layer
        "image_weight": 0.85,  # w * x + (1 - w) * max(x, 1.5 * grey + 0.5)
    },  # fmt: skip
    "translate": {"resample": "nearest"},  # torchvision affine's default
    "rotate": {"resample": "bilinear"},
    "scale": {"resample": "bilinear"},
    "shear": {"resample": "bilinear"},
    "tilt": {"interpolation": "linear"},  # cv2.warpPerspective's default, black border
    "gaussian_blur": {"truncate": 6.0},  # skimage gaussian, mode 'nearest'
    "spatter": {
        "mean": 0.65, "std": 0.27,  # normal liquid layer, crop-sized
        "sigma": 3.7, "threshold": 0.69,  # skimage gaussian (truncate 4), values below -> 0
        "intensity": 0.6,  # the water mask's maximum
        # after each frame every column of the liquid layer is np.convolve(..., mode="same")d
        # with this kernel: the drops run down the image
        "drift": (0.05, 0.1, 0.15, 0.7),
    },  # fmt: skip
}

ENCODING = {
    "container": "mp4",
    "codec": "libx264",
    "pix_fmt": "yuv444p",
    "fps": 1,
    "options": {"preset": "veryslow"},
    "noise_options": {"tune": "grain"},  # no crf: x264's default rate factor (23)
    "other_options": {"crf": "20"},
}
