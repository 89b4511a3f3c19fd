"""ImageMagick's MotionBlurImage re-implemented in numpy, checked by hand and against Wand.

The Wand comparisons call ``MagickMotionBlurImage`` on a PNG blob and decode the
PNG it writes, exactly as the reference's ``motion_blur``/``snow`` do. They need
Debian's libmagickwand (Q16, non-HDRI); they skip with the reason when it is
missing and fail when ``CI`` is set. Bound checked: exact equality. The 16-bit
quantum rounding is reproduced, not approximated (see ``corruptions.blur``).
"""

from __future__ import annotations

import ctypes
import io
import math
import os

import cv2
import numpy as np
import pytest
from PIL import Image
from reference import photo_224

from corruptions.blur import imagemagick_kernel_width, imagemagick_motion_blur, motion_blur_kernel


def _wand_library():
    """libMagickWand through Wand, or skip (fail under CI) with the reason."""
    try:
        from wand.api import library
        from wand.image import Image as WandImage
        from wand.version import MAGICK_HDRI, QUANTUM_DEPTH
    except ImportError as exc:
        reason = (
            f"Wand/ImageMagick unavailable ({exc}); install Debian's libmagickwand-dev "
            "(`make system-deps`) and the dev extras"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and ImageMagick is required: {reason}")
        pytest.skip(reason)
    if QUANTUM_DEPTH != 16 or MAGICK_HDRI:
        reason = (
            f"ImageMagick build is Q{QUANTUM_DEPTH} HDRI={MAGICK_HDRI}; the emulation targets "
            "Q16 non-HDRI (Debian's libmagickwand-6.q16, installed by `make system-deps`)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set: {reason}")
        pytest.skip(reason)
    library.MagickMotionBlurImage.argtypes = (
        ctypes.c_void_p,
        ctypes.c_double,
        ctypes.c_double,
        ctypes.c_double,
    )
    return library, WandImage


def wand_motion_blur(image: np.ndarray, radius: float, sigma: float, angle: float) -> np.ndarray:
    """The reference's route: PIL PNG -> Wand -> MagickMotionBlurImage -> PNG -> cv2."""
    library, wand_image = _wand_library()
    blob = io.BytesIO()
    Image.fromarray(image).save(blob, format="PNG")
    with wand_image(blob=blob.getvalue()) as img:
        library.MagickMotionBlurImage(img.wand, radius, sigma, angle)
        out = cv2.imdecode(np.frombuffer(img.make_blob(), np.uint8), cv2.IMREAD_UNCHANGED)
    if image.ndim == 2:
        return out if out.ndim == 2 else out[..., 0]
    if out.ndim == 2:  # ImageMagick wrote a grey PNG
        return np.stack([out] * 3, axis=-1)
    return out[..., ::-1]


# ----------------------------------------------------------------- the kernel, by hand
def test_kernel_width_is_two_ceil_radius_plus_one():
    assert imagemagick_kernel_width(10) == 21
    assert imagemagick_kernel_width(2.5) == 7
    assert len(motion_blur_kernel(15.0, 5.0, 0.0)[0]) == 31
    with pytest.raises(ValueError, match="radius"):
        imagemagick_kernel_width(0)


def test_kernel_weights_are_a_normalised_one_sided_gaussian():
    weights, _, _ = motion_blur_kernel(3.0, 2.0, 0.0)
    raw = np.exp(-(np.arange(7) ** 2) / 8.0)
    np.testing.assert_allclose(weights, raw / raw.sum(), rtol=1e-14)
    assert np.all(np.diff(weights) < 0)


@pytest.mark.parametrize(
    ("angle", "expected_dx", "expected_dy"),
    [
        (0.0, [0, 1, 2, 3, 4], [0, 0, 0, 0, 0]),  # along +x
        (90.0, [0, 0, 0, 0, 0], [0, 1, 2, 3, 4]),  # along +y (down the image)
        (180.0, [0, -1, -2, -3, -4], [0, 0, 0, 0, 0]),
        (-90.0, [0, 0, 0, 0, 0], [0, -1, -2, -3, -4]),
        # 45 degrees: ceil(i * 0.7071 - 0.5) = 0, 1, 1, 2, 3
        (45.0, [0, 1, 1, 2, 3], [0, 1, 1, 2, 3]),
    ],
)
def test_kernel_offsets_follow_the_angle(angle, expected_dx, expected_dy):
    _, dx, dy = motion_blur_kernel(2.0, 1.0, angle)
    assert dx.tolist() == expected_dx
    assert dy.tolist() == expected_dy


def test_blur_of_a_step_by_hand():
    """Angle 0, radius 1: out[x] = sum_i w_i * v[min(x+i, W-1)], rounded as ImageMagick does."""
    row = np.array([[0, 0, 255, 255, 100]], dtype=np.uint8)
    weights, _, _ = motion_blur_kernel(1.0, 1.0, 0.0)
    padded = np.concatenate([row[0], [100, 100]]).astype(float)
    expected = []
    for x in range(5):
        quantum = sum(weights[i] * 257 * padded[x + i] for i in range(3))
        expected.append(math.floor(quantum + 0.5) // 257)
    np.testing.assert_array_equal(imagemagick_motion_blur(row, 1.0, 1.0, 0.0)[0], expected)


def test_constant_image_is_unchanged():
    image = np.full((9, 13, 3), 173, dtype=np.uint8)
    np.testing.assert_array_equal(imagemagick_motion_blur(image, 5, 2, 33.0), image)


# ----------------------------------------------------------------- against ImageMagick itself
@pytest.mark.parametrize(
    ("radius", "sigma", "angle"),
    [(10, 3, 17.3), (15, 5, -44.9), (15, 8, 0.0), (15, 12, 90.0), (20, 15, 135.5), (6, 1, -120.0)],
)
def test_matches_wand_on_random_rgb(radius, sigma, angle):
    rng = np.random.RandomState(int(radius * 100 + sigma))
    image = rng.randint(0, 256, size=(37, 53, 3)).astype(np.uint8)
    np.testing.assert_array_equal(
        imagemagick_motion_blur(image, radius, sigma, angle),
        wand_motion_blur(image, radius, sigma, angle),
    )


@pytest.mark.parametrize("angle", [-135.0, -98.6, -45.0])
def test_matches_wand_on_grey_snow_like_layer(angle):
    rng = np.random.RandomState(7)
    layer = np.where(rng.rand(48, 40) > 0.9, rng.randint(0, 256, (48, 40)), 0).astype(np.uint8)
    np.testing.assert_array_equal(
        imagemagick_motion_blur(layer, 12, 8, angle), wand_motion_blur(layer, 12, 8, angle)
    )


def test_matches_wand_on_random_parameters_from_every_preset():
    """Radius/sigma pairs of all presets' motion blur and snow, angles anywhere in a turn."""
    from corruptions.params.blur import TABLES as BLUR_TABLES
    from corruptions.params.weather import TABLES as WEATHER_TABLES

    pairs = {tuple(p) for t in BLUR_TABLES.values() for p in t["motion_blur"]}
    pairs |= {tuple(p[4:6]) for t in WEATHER_TABLES.values() for p in t["snow"]}
    rng = np.random.RandomState(11)
    image = rng.randint(0, 256, size=(29, 31, 3)).astype(np.uint8)
    for radius, sigma in sorted(pairs):
        angle = float(rng.uniform(-180, 180))
        np.testing.assert_array_equal(
            imagemagick_motion_blur(image, radius, sigma, angle),
            wand_motion_blur(image, radius, sigma, angle),
            err_msg=f"radius={radius} sigma={sigma} angle={angle}",
        )


def test_matches_wand_on_a_real_photo():
    image = photo_224(2)
    for angle in (-31.7, 8.25):
        np.testing.assert_array_equal(
            imagemagick_motion_blur(image, 15, 5, angle), wand_motion_blur(image, 15, 5, angle)
        )
