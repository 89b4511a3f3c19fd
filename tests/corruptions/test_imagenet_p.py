"""ImageNet-P frames: parameters, fidelity to the original script, geometry by hand, inputs.

Oracles, by what each test compares against:

* ``reference_p.py``: a labelled test-only transcription of the frame loops of
  ``ImageNet-P/create_p/make_imagenet_p.py`` (hendrycks/robustness, commit e0377d4), run
  with the script's own libraries (torch's ``randn_like`` and ``ToTensor``/``ToPILImage``,
  numpy's global stream, Wand/ImageMagick for motion blur and snow, scikit-image, OpenCV,
  PIL through torchvision's ``affine`` with torchvision 0.2's centre). Bound: every
  subpixel within 1 level (the issue's bound) and >= 99 % identical; on the current stack
  every type is in fact bit-exact.
* The original ImageNet-C code (``imagenet_c``, ``reference.py``) where ImageNet-P reuses
  its functions with the same constants: shot and speckle noise at difficulty 3 (= ImageNet-C
  severity 1), brightness frames 20/25/30 (= severities 1/2/3).
* Hand-derived geometry for translate, rotate, scale, shear and tilt: the inverse maps
  written out from torchvision 0.2's matrix (``[cos(a+s), sin(a+s); -sin a, cos a] / cos s``
  about ``(w/2 + 0.5, h/2 + 0.5)``) and the script's pinhole homography, evaluated with an
  independent numpy bilinear sampler on a smooth image, plus where a bright spot must land.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from reference import reference_corrupt, require_reference
from reference_p import ORACLES, reference_sequence
from skimage import data as skdata

import corruptions
from corruptions.errors import UserInputError
from corruptions.imagenet_p import (
    ALL,
    FRAMES,
    HELD_OUT,
    NOISE,
    PERTURBATIONS,
    UnknownPerturbationError,
    difficulties_of,
    perturbation_sequence,
    sequence_dirname,
)
from corruptions.imagenet_p.frames import (
    center_crop,
    frame_values,
    resize_shorter,
    spatter_drift,
    tilt_homography,
)
from corruptions.params import imagenet_p as P

SEED = 11


def resized_photo(short: int) -> Image.Image:
    """chelsea (300 x 451 px) resized as the script (shorter side ``short``): not square."""
    return resize_shorter(Image.fromarray(skdata.chelsea()), short).convert("RGB")


def smooth_image(h: int, w: int) -> np.ndarray:
    """Low-frequency colour waves (at most ~12 levels per pixel): bilinear samplers agree to
    within a level on it whatever their fixed-point details."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(xx / 9.0) * np.cos(yy / 13.0)
    g = 128 + 90 * np.cos((xx + yy) / 11.0)
    b = 60 + 1.5 * xx + 0.5 * yy
    return np.clip(np.stack([r, g, b], -1), 0, 255).round().astype(np.uint8)


def our_rng(name: str, seed: int):
    """Our random source that replays the script after it seeded numpy and torch with ``seed``."""
    return torch.Generator().manual_seed(seed) if name == "gaussian_noise" else np.random.RandomState(seed)


def assert_within_one_level(ours: np.ndarray, ref: np.ndarray, exact_fraction: float = 0.99):
    assert ours.shape == ref.shape and ours.dtype == np.uint8
    diff = np.abs(ours.astype(np.int16) - ref.astype(np.int16))
    assert diff.max() <= 1, f"max difference {diff.max()} levels"
    assert np.mean(diff == 0) >= exact_fraction, f"only {np.mean(diff == 0):.4f} identical"


# --------------------------------------------------------------------------- plain data


def test_types_frame_counts_and_difficulties_follow_the_script():
    """The script's sections: 10 test types, then the "Validation Data" ones (speckle noise,
    gaussian blur, spatter, shear; test.py accepts all 14); ``range(0, 31)`` / ``range(1, 31)``
    after a clean ``img0`` give 31 frames, translate ``range(0, 41)``; only the noises have the
    commented-out ``_2`` / ``_3`` blocks."""
    assert set(PERTURBATIONS) == {"gaussian_noise", "shot_noise", "motion_blur", "zoom_blur",
                                  "snow", "brightness", "translate", "rotate", "tilt", "scale"}  # fmt: skip
    assert HELD_OUT == ("speckle_noise", "gaussian_blur", "spatter", "shear")
    assert ALL == PERTURBATIONS + HELD_OUT
    assert FRAMES == {**{n: 31 for n in ALL}, "translate": 41}
    assert corruptions.IMAGENET_P_FRAMES == FRAMES
    assert set(NOISE) == {"gaussian_noise", "shot_noise", "speckle_noise"}
    for name in ALL:
        assert difficulties_of(name) == ((1, 2, 3) if name in NOISE else (1,))
    assert sequence_dirname("shot_noise", 1) == "shot_noise"
    assert sequence_dirname("shot_noise", 3) == "shot_noise_3"
    assert P.NOISE_LEVELS == {"gaussian_noise": (0.03, 0.05, 0.08), "shot_noise": (300, 120, 60),
                              "speckle_noise": (0.05, 0.1, 0.15)}  # fmt: skip


def test_frame_parameters_are_the_scripts_floats():
    """Each ladder against the script's own expression (exact float equality)."""
    expected = {
        ("motion_blur", "angle"): [(i - 30) * 4 for i in range(31)],
        ("zoom_blur", "scale"): [1 + 0.004 * i for i in range(31)],
        ("snow", "angle"): [i * 4 - 150 for i in range(31)],
        ("brightness", "shift"): [(i - 15) * 2 / 100.0 for i in range(31)],
        ("translate", "dx"): [i - 20 for i in range(41)],
        ("rotate", "angle"): [i - 15 for i in range(31)],
        ("tilt", "angle"): [i - 15 for i in range(31)],
        ("scale", "scale"): [(i * 2.5 + 40) / 100.0 for i in range(31)],
        ("gaussian_blur", "sigma"): [0.25 + 0.035 * i for i in range(31)],
        ("shear", "shear"): [i - 15 for i in range(31)],
    }
    assert {(n, k) for n, keys in P.LADDERS.items() for k in keys} == set(expected)
    for (name, key), values in expected.items():
        assert frame_values(name, key) == values, (name, key)


# --------------------------------------------------------------------------- fidelity


def _oracle_cases():
    return [(n, d) for n in ORACLES for d in (P.DIFFICULTIES if n in NOISE else (1,))]


@pytest.mark.parametrize(("name", "difficulty"), _oracle_cases())
def test_frames_match_the_original_script(name, difficulty):
    """Every type and noise difficulty against the transcribed script (``reference_p.py``),
    same seed, on a 72 px photograph cropped to 64 (the script's code at another size)."""
    img = resized_photo(72)
    ref = reference_sequence(img, name, difficulty, crop=64, seed=SEED + difficulty)
    ours = perturbation_sequence(img, name, difficulty, our_rng(name, SEED + difficulty),
                                 resize=None, crop=64)  # fmt: skip
    assert ours.shape == (FRAMES[name], 64, 64, 3)
    assert_within_one_level(ours, ref)


@pytest.mark.parametrize("name", ["translate", "rotate", "tilt", "scale", "zoom_blur", "snow",
                                  "spatter"])  # fmt: skip
def test_frames_match_the_original_script_at_256_and_224(name):
    """The size-dependent types at the real geometry: a 300 x 451 photograph through
    ``Resize(256)`` (-> 256 x 384), moved as a whole, then ``CenterCrop(224)``; snow's and
    spatter's layers are 224 x 224."""
    raw = Image.fromarray(skdata.chelsea())
    img = resize_shorter(raw, 256).convert("RGB")
    assert img.size == (384, 256)  # int(256 * 451 / 300), as torchvision's Resize
    ref = reference_sequence(img, name, 1, crop=224, seed=SEED)
    ours = perturbation_sequence(raw, name, 1, np.random.RandomState(SEED))  # default 256/224
    assert ours.shape == (FRAMES[name], 224, 224, 3)
    assert_within_one_level(ours, ref)


def test_gaussian_noise_replays_torchs_global_generator():
    """The script drew with ``torch.randn_like`` from torch's global generator: ``rng=None``
    after ``torch.manual_seed`` and a ``torch.Generator`` seeded alike give its frames."""
    img = resized_photo(40)
    ref = reference_sequence(img, "gaussian_noise", 2, crop=32, seed=3)
    torch.manual_seed(3)
    from_global = perturbation_sequence(img, "gaussian_noise", 2, None, resize=None, crop=32)
    np.testing.assert_array_equal(from_global, ref)
    from_generator = perturbation_sequence(img, "gaussian_noise", 2, torch.Generator().manual_seed(3),
                                           resize=None, crop=32)  # fmt: skip
    np.testing.assert_array_equal(from_generator, ref)


@pytest.mark.parametrize("difficulty", [1, 2, 3])
def test_gaussian_noise_from_a_randomstate_has_the_scripts_statistics(difficulty):
    """A ``RandomState`` (the builder's per-image seeding) seeds torch: reproducible, seed
    dependent, frame 0 clean, and the noise std is the level (on mid-grey, away from clipping)."""
    grey = np.full((40, 40, 3), 128, dtype=np.uint8)
    a = perturbation_sequence(grey, "gaussian_noise", difficulty, np.random.RandomState(1), resize=None, crop=40)
    b = perturbation_sequence(grey, "gaussian_noise", difficulty, np.random.RandomState(1), resize=None, crop=40)
    c = perturbation_sequence(grey, "gaussian_noise", difficulty, np.random.RandomState(2), resize=None, crop=40)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    np.testing.assert_array_equal(a[0], grey)
    level = P.NOISE_LEVELS["gaussian_noise"][difficulty - 1]
    noise = (a[1:].astype(np.float64) - 128) / 255
    assert abs(noise.std() - level) < 0.05 * level
    assert all((a[i] != a[i + 1]).any() for i in range(1, 30))  # fresh noise every frame


@pytest.mark.parametrize("name", ["shot_noise", "speckle_noise"])
def test_noise_difficulty_3_is_imagenet_c_severity_1(name, photos):
    """Shot noise's 60 photons and speckle's 0.15 at difficulty 3 are ImageNet-C severity 1:
    frames 1-30 are 30 consecutive draws of the original ImageNet-C function."""
    module = require_reference()
    crop = photos[1]
    np.random.seed(SEED)
    expected = [np.uint8(getattr(module, name)(Image.fromarray(crop), 1)) for _ in range(30)]
    ours = perturbation_sequence(crop, name, 3, np.random.RandomState(SEED), resize=None)
    np.testing.assert_array_equal(ours[0], crop)
    assert_within_one_level(ours[1:], np.stack(expected))


def test_brightness_frames_20_25_30_are_imagenet_c_severities_1_2_3(photos):
    """Brightness ``c = (i - 15) / 50`` is 0.1, 0.2, 0.3 at frames 20, 25, 30: ImageNet-C's
    brightness severities 1-3 (original code, which draws nothing)."""
    ours = perturbation_sequence(photos[2], "brightness", 1, resize=None)
    for frame, severity in ((20, 1), (25, 2), (30, 3)):
        assert_within_one_level(ours[frame], reference_corrupt(photos[2], "brightness", severity, 0))


# --------------------------------------------------------------------------- geometry by hand


def sample_bilinear(image: np.ndarray, src_x: np.ndarray, src_y: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``image`` at continuous pixel-index coordinates (pixel centres at
    integers), black outside; rounded to uint8."""
    h, w = image.shape[:2]
    x0, y0 = np.floor(src_x).astype(int), np.floor(src_y).astype(int)
    fx, fy = (src_x - x0)[..., None], (src_y - y0)[..., None]
    padded = np.zeros((h + 4, w + 4, image.shape[2]))
    padded[2:-2, 2:-2] = image

    def at(yy, xx):
        return padded[np.clip(yy, -2, h + 1) + 2, np.clip(xx, -2, w + 1) + 2]

    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    return np.clip(np.round(top * (1 - fy) + bottom * fy), 0, 255).astype(np.uint8)


def pil_affine_expected(image: np.ndarray, inverse):
    """Output pixel (x, y) reads the input at ``inverse(x + 0.5, y + 0.5) - 0.5``: PIL's
    pixel-centre convention, in index coordinates. Returns the samples, where they are at
    least one pixel inside the source (``inside``), and where they miss it (``outside``)."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    sx, sy = inverse(xx + 0.5, yy + 0.5)
    inside = (sx >= 1.5) & (sx <= w - 1.5) & (sy >= 1.5) & (sy <= h - 1.5)
    outside = (sx < 0) | (sx >= w) | (sy < 0) | (sy >= h)
    return sample_bilinear(image, sx - 0.5, sy - 0.5), inside, outside


def torchvision02_inverse(kind: str, value: float, w: int, h: int):
    """Output -> input maps of torchvision 0.2's affine, about ``(w/2 + 0.5, h/2 + 0.5)``."""
    cx, cy = w * 0.5 + 0.5, h * 0.5 + 0.5

    def rotate(x, y):
        a = math.radians(value)
        return (cx + math.cos(a) * (x - cx) + math.sin(a) * (y - cy),
                cy - math.sin(a) * (x - cx) + math.cos(a) * (y - cy))  # fmt: skip

    def scale(x, y):
        return cx + (x - cx) / value, cy + (y - cy) / value

    def shear(x, y):
        s = math.radians(value)
        return cx + (x - cx) + math.tan(s) * (y - cy), cy + (y - cy) / math.cos(s)

    return {"rotate": rotate, "scale": scale, "shear": shear}[kind]


def interior(frame: np.ndarray, margin: int = 3) -> np.ndarray:
    return frame[margin:-margin, margin:-margin]


@pytest.mark.parametrize(("name", "frames"), [("rotate", (0, 7, 30)), ("scale", (0, 12, 30)),
                                              ("shear", (0, 22, 30))])  # fmt: skip
def test_affine_types_follow_torchvision_02_by_hand(name, frames):
    """rotate/scale/shear frames equal the hand-derived inverse map sampled bilinearly
    (within 1 level where the source point lies a pixel inside the image; PIL clamps
    neighbours at the edge) and are black where it misses the image."""
    h, w, crop = 60, 84, 48
    image = smooth_image(h, w)
    ours = perturbation_sequence(image, name, 1, resize=None, crop=crop)
    key = next(iter(P.LADDERS[name]))
    top, left = (h - crop) // 2, (w - crop) // 2
    window = (slice(top, top + crop), slice(left, left + crop))
    for i in frames:
        value = frame_values(name, key)[i]
        full, inside, outside = pil_affine_expected(image, torchvision02_inverse(name, value, w, h))
        inside, outside = inside[window], outside[window]
        diff = np.abs(ours[i].astype(int) - full[window])
        assert inside.mean() > 0.3 and diff[inside].max() <= 1, (name, i, diff[inside].max())
        assert (ours[i][outside] == 0).all(), (name, i)


def spot_image(h: int, w: int, row: float, col: float) -> np.ndarray:
    """Black with a smooth bright spot (Gaussian, sigma 2 px) centred at pixel (row, col)."""
    yy, xx = np.mgrid[0:h, 0:w]
    spot = 250 * np.exp(-((yy - row) ** 2 + (xx - col) ** 2) / (2 * 2.0**2))
    return np.repeat(spot[..., None], 3, axis=2).round().astype(np.uint8)


def centroid(frame: np.ndarray) -> tuple[float, float]:
    weight = frame[..., 0].astype(np.float64)
    yy, xx = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]]
    return float((weight * yy).sum() / weight.sum()), float((weight * xx).sum() / weight.sum())


def test_where_a_spot_lands():
    """Directions and centre by hand (pixel indices; rotation centre = pixel (h/2, w/2), as
    torchvision 0.2's (w/2 + 0.5, h/2 + 0.5) in PIL's edge coordinates): translate +20 moves
    right; rotate +15 degrees turns clockwise on screen; scale 0.4 pulls to the centre (0.3 px
    off with today's torchvision centre); shear +15 degrees sends a spot below the centre up
    to cos(15) of its distance and left by sin(15) of it."""
    h, w, crop = 72, 96, 64
    top, left = (h - crop) // 2, (w - crop) // 2  # 4, 16
    cy, cx = h // 2, w // 2  # 36, 48

    def landed(name, frame, row, col):
        frames = perturbation_sequence(spot_image(h, w, row, col), name, 1, resize=None, crop=crop)
        r, c = centroid(frames[frame])
        return r + top, c + left

    np.testing.assert_allclose(landed("translate", 40, cy, cx), (cy, cx + 20), atol=1e-6)
    np.testing.assert_allclose(landed("translate", 0, cy, cx), (cy, cx - 20), atol=1e-6)
    a = math.radians(15)
    np.testing.assert_allclose(landed("rotate", 30, cy, cx + 20),
                               (cy + 20 * math.sin(a), cx + 20 * math.cos(a)), atol=0.05)  # fmt: skip
    np.testing.assert_allclose(landed("scale", 0, cy, cx + 20), (cy, cx + 0.4 * 20), atol=0.05)
    np.testing.assert_allclose(landed("shear", 30, cy + 20, cx),
                               (cy + 20 * math.cos(a), cx - 20 * math.sin(a)), atol=0.05)  # fmt: skip


def test_translate_is_an_exact_shift_with_black_fill():
    """Nearest resampling by whole pixels: frame i is the image moved ``i - 20`` px right."""
    h, w, crop = 40, 70, 32
    image = np.random.RandomState(0).randint(0, 256, (h, w, 3)).astype(np.uint8)
    ours = perturbation_sequence(image, "translate", 1, resize=None, crop=crop)
    for i in (0, 13, 20, 33, 40):
        dx = i - 20
        moved = np.zeros_like(image)
        if dx >= 0:
            moved[:, dx:] = image[:, : w - dx]
        else:
            moved[:, :dx] = image[:, -dx:]
        np.testing.assert_array_equal(ours[i], center_crop(moved, crop))


def test_identity_frames():
    """rotate 0 (frame 15), scale 1.0 (frame 24), shear 0 (frame 15): the plain crop."""
    image = np.asarray(resized_photo(48))
    crop = center_crop(image, 40)
    for name, frame in (("rotate", 15), ("scale", 24), ("shear", 15)):
        ours = perturbation_sequence(image, name, 1, resize=None, crop=40)
        np.testing.assert_array_equal(ours[frame], crop, err_msg=name)


def pinhole(width: int, height: int, degrees: float, x: np.ndarray, y: np.ndarray):
    """The script's tilt written as a camera: the pixel, taken about the centre with z = 1, is
    rotated about y by -angle then about x by +angle (the script's RY and RX), moved the
    diagonal f along z and projected with focal length f onto the centred image plane."""
    f = math.hypot(width, height)
    t = math.radians(degrees)
    rot_y = np.array([[math.cos(t), 0, -math.sin(t)], [0, 1, 0], [math.sin(t), 0, math.cos(t)]])
    rot_x = np.array([[1, 0, 0], [0, math.cos(t), -math.sin(t)], [0, math.sin(t), math.cos(t)]])
    points = np.stack([x - width / 2, y - height / 2, np.ones_like(x)])
    p = rot_x @ rot_y @ points
    p[2] += f
    return f * p[0] / p[2] + width / 2, f * p[1] / p[2] + height / 2


@pytest.mark.parametrize("angle", [-15, -4, 0, 9, 15])
def test_tilt_homography_is_the_pinhole_camera(angle):
    w, h = 84, 60
    x, y = np.meshgrid(np.linspace(0, w, 7), np.linspace(0, h, 5))
    x, y = x.ravel(), y.ravel()
    mapped = tilt_homography(w, h, angle) @ np.stack([x, y, np.ones_like(x)])
    np.testing.assert_allclose(mapped[:2] / mapped[2], pinhole(w, h, angle, x, y), atol=1e-9)


@pytest.mark.parametrize("frame", [15, 0, 26])
def test_tilt_frames_by_hand(frame):
    """cv2.warpPerspective maps output pixel p to input ``H^-1 p`` (pixel centres at
    integers); at angle 0 (frame 15) that is a zoom by (1 + f)/f about (w/2, h/2)."""
    h, w, crop = 60, 84, 48
    image = smooth_image(h, w)
    ours = perturbation_sequence(image, "tilt", 1, resize=None, crop=crop)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    if frame == 15:
        f = math.hypot(w, h)
        sx, sy = w / 2 + (xx - w / 2) * (1 + f) / f, h / 2 + (yy - h / 2) * (1 + f) / f
    else:
        inverse = np.linalg.inv(tilt_homography(w, h, frame - 15))
        q = inverse @ np.stack([xx.ravel(), yy.ravel(), np.ones(xx.size)])
        sx, sy = (q[0] / q[2]).reshape(h, w), (q[1] / q[2]).reshape(h, w)
    expected = center_crop(sample_bilinear(image, sx, sy), crop)
    assert np.abs(interior(ours[frame]).astype(int) - interior(expected)).max() <= 1


# --------------------------------------------------------------------------- other semantics


def test_spatter_drift_is_numpys_same_mode_convolution_by_hand():
    """``np.convolve(a, k, 'same')`` with the 4-tap kernel: ``out[n] = .05 a[n+1] + .1 a[n] +
    .15 a[n-1] + .7 a[n-2]`` (zero outside): the liquid runs down the image."""
    a = np.random.RandomState(0).rand(9, 5)
    padded = np.pad(a, ((2, 1), (0, 0)))
    expected = 0.05 * padded[3:] + 0.1 * padded[2:-1] + 0.15 * padded[1:-2] + 0.7 * padded[:-3]
    np.testing.assert_allclose(spatter_drift(a), expected, rtol=0, atol=1e-15)


def test_clean_and_shared_frames():
    """Noise and zoom blur start from the clean crop; snow's layer is drawn once (frames only
    differ where the blurred layer does); motion blur's and brightness's frames need no rng."""
    image = np.asarray(resized_photo(40))
    crop = center_crop(image, 32)
    for name in ("gaussian_noise", "shot_noise", "speckle_noise", "zoom_blur"):
        frames = perturbation_sequence(image, name, 1, np.random.RandomState(0), resize=None, crop=32)
        np.testing.assert_array_equal(frames[0], crop, err_msg=name)
        assert (frames[1] != crop).any(), name
    for name in ("motion_blur", "brightness", "gaussian_blur", "tilt"):
        a = perturbation_sequence(image, name, 1, np.random.RandomState(0), resize=None, crop=32)
        np.testing.assert_array_equal(a, perturbation_sequence(image, name, 1, np.random.RandomState(9),
                                                               resize=None, crop=32))  # fmt: skip
    snow_a = perturbation_sequence(image, "snow", 1, np.random.RandomState(0), resize=None, crop=32)
    snow_b = perturbation_sequence(image, "snow", 1, np.random.RandomState(1), resize=None, crop=32)
    assert (snow_a != snow_b).any()


def test_resize_happens_in_the_images_own_mode():
    """The script resized the opened file, then converted to RGB: a CMYK image is resized in
    CMYK; a grey (L) one gives three equal channels."""
    rng = np.random.RandomState(0)
    cmyk = Image.fromarray(rng.randint(0, 256, (50, 70, 4)).astype(np.uint8), mode="CMYK")
    frames = perturbation_sequence(cmyk, "rotate", 1, resize=40, crop=32)
    expected = np.asarray(cmyk.resize((56, 40), Image.BILINEAR).convert("RGB"))
    np.testing.assert_array_equal(frames[15], center_crop(expected, 32))
    grey = Image.fromarray(rng.randint(0, 256, (50, 70)).astype(np.uint8), mode="L")
    frames = perturbation_sequence(grey, "brightness", 1, resize=40, crop=32)
    assert frames.shape == (31, 32, 32, 3)
    assert (frames[..., 0] == frames[..., 1]).all() and (frames[..., 1] == frames[..., 2]).all()


def test_wrong_inputs_say_what_to_do():
    image = np.zeros((40, 40, 3), dtype=np.uint8)
    with pytest.raises(UnknownPerturbationError, match="did you mean.*rotate"):
        perturbation_sequence(image, "rotat", resize=None, crop=32)
    with pytest.raises(UserInputError, match="frame stride"):
        perturbation_sequence(image, "rotate", 2, resize=None, crop=32)
    with pytest.raises(UserInputError, match="1, 2, 3"):
        perturbation_sequence(image, "shot_noise", 4, resize=None, crop=32)
    with pytest.raises(UserInputError, match="RandomState"):
        perturbation_sequence(image, "shot_noise", 1, torch.Generator(), resize=None, crop=32)
    with pytest.raises(UserInputError, match="smaller than the 48 px crop"):
        perturbation_sequence(image, "rotate", resize=None, crop=48)
    with pytest.raises(UserInputError, match="uint8"):
        perturbation_sequence(image.astype(np.float32), "rotate", resize=None, crop=32)
    with pytest.raises(UserInputError, match="RandomState"):
        perturbation_sequence(image, "snow", 1, np.random.default_rng(0), resize=None, crop=32)
