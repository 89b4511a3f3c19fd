"""Digital corruptions against the original ImageNet-C code and against their definitions."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.color
from reference import agreement, our_rng, photo, reference_corrupt, require_reference_source

from corruptions import corrupt
from corruptions.digital import hsv_to_rgb, rgb_to_hsv
from corruptions.params import PRESET_SIZES
from corruptions.params.digital import TABLES
from corruptions.registry import get_corruption

DIGITAL = (
    "contrast",
    "brightness",
    "saturate",
    "jpeg_compression",
    "pixelate",
    "elastic_transform",
)
SEVERITIES = (1, 2, 3, 4, 5)


# ---------------------------------------------------------------- fidelity (needs the oracle)
@pytest.mark.imagemagick
@pytest.mark.parametrize("name", DIGITAL)
@pytest.mark.parametrize("severity", SEVERITIES)
def test_matches_reference_on_photographs(name, severity, photos):
    """Same seeded RandomState -> the reference's output, on three real 224 px photos.

    Bound of the issue: >= 99.5% of subpixels within 1 level, mean |diff| <= 0.1.
    (HSV, PIL, OpenCV and scipy calls are the reference's own operations, so in
    practice the outputs are bit-identical; the test checks the issue's bound.)
    """
    for i, image in enumerate(photos):
        seed = 1000 * severity + i
        ref = reference_corrupt(image, name, severity, seed)
        ours = corrupt(image, name, severity, rng=our_rng(seed))
        within_one, mad = agreement(ours, ref)
        assert within_one >= 0.995 and mad <= 0.1, (name, severity, i, within_one, mad)


def test_imagenet_table_equals_reference_source():
    """The imagenet table (incl. elastic's ``244 *`` constants) is the reference's, parsed."""
    parsed = require_reference_source()
    for name in DIGITAL:
        assert TABLES["imagenet"][name] == parsed[name], name


# ---------------------------------------------------------------- HSV helpers
def _hsv_test_colours() -> np.ndarray:
    """Photos plus the hard cases: grays, black, white, pure and tied channels."""
    special = np.array(
        [
            [0, 0, 0], [255, 255, 255], [128, 128, 128], [255, 0, 0], [0, 255, 0],
            [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255], [10, 10, 200],
            [200, 10, 200], [1, 2, 1], [254, 255, 255], [37, 200, 200],
        ],
        dtype=np.uint8,
    )  # fmt: skip
    rng = np.random.RandomState(0)
    random = rng.randint(0, 256, size=(4000, 3)).astype(np.uint8)
    photos = np.concatenate([photo(i, 64).reshape(-1, 3) for i in range(3)])
    return np.concatenate([special, random, photos])[None] / 255.0


def test_hsv_round_trip_is_bit_identical_to_scikit_image():
    rgb = _hsv_test_colours()
    hsv = rgb_to_hsv(rgb)
    np.testing.assert_array_equal(hsv, skimage.color.rgb2hsv(rgb))
    # Also after the edits the corruptions make (saturation scaled, value shifted).
    hsv[..., 1] = np.clip(hsv[..., 1] * 5 + 0.1, 0, 1)
    hsv[..., 2] = np.clip(hsv[..., 2] + 0.3, 0, 1)
    np.testing.assert_array_equal(hsv_to_rgb(hsv), skimage.color.hsv2rgb(hsv))


def test_saturate_tints_gray_pixels_red():
    """Quirk kept: gray has hue 0, so saturation 0.1 (severity 4) makes it reddish.

    Hand-computed for gray 200: R = V = 200, G = B = V * (1 - 0.1) = 180, each
    truncated after the float round trip (so 199-200 and 179-180).
    """
    gray = np.full((8, 8, 3), 200, np.uint8)
    out = corrupt(gray, "saturate", 4).astype(int)
    assert np.all(np.abs(out[..., 0] - 200) <= 1)
    assert np.all(np.abs(out[..., 1:] - 180) <= 1)


def test_brightness_raises_value_by_the_table_amount():
    """A dark gray (V = 0.2) gains exactly +c in V: 51 -> 51 + 0.3*255 = 127.5 at severity 3."""
    gray = np.full((8, 8, 3), 51, np.uint8)
    out = corrupt(gray, "brightness", 3).astype(float)
    assert np.all(np.abs(out - 127.5) <= 1)


def test_contrast_keeps_the_mean_and_scales_deviations():
    image = photo(0, 96)
    factor = TABLES["imagenet"]["contrast"][1]
    out = corrupt(image, "contrast", 2).astype(float)
    unit_mean = image.reshape(-1, 3).mean(0)
    # Truncation lowers each value by < 1 level (mean ~0.5).
    assert np.all(np.abs(out.reshape(-1, 3).mean(0) - (unit_mean - 0.5)) < 0.6)
    deviation_ratio = out.reshape(-1, 3).std(0) / image.reshape(-1, 3).std(0)
    assert np.all(np.abs(deviation_ratio - factor) < 0.02)


def test_jpeg_and_pixelate_lose_more_with_severity():
    image = photo(1, 224)
    for name in ("jpeg_compression", "pixelate"):
        errors = [np.abs(corrupt(image, name, s).astype(int) - image).mean() for s in SEVERITIES]
        assert all(a < b for a, b in zip(errors, errors[1:])), (name, errors)


def test_pixelate_resolution_is_int_of_side_times_c():
    """A checkerboard of 1 px squares becomes flat gray once BOX-downsampled (any c < 1)."""
    board = (np.indices((224, 224)).sum(0) % 2 * 255).astype(np.uint8)
    board = np.repeat(board[..., None], 3, axis=-1)
    out = corrupt(board, "pixelate", 5).astype(int)  # 224 -> int(224 * 0.25) = 56 -> 224
    assert out.std() < 2 and abs(out.mean() - 127.5) < 1


def test_elastic_with_no_displacement_is_identity():
    """Zero anchor shifts and zero noise fields: affine = identity, field = 0.

    Output equals the input up to the reference's float32 round trip and
    truncation (at most 1 level lower).
    """
    elastic = get_corruption("elastic_transform")
    image = photo(2, 64)
    params = {
        "anchor_shift": np.zeros((3, 2), np.float32),
        "dx_noise": np.zeros((64, 64)),
        "dy_noise": np.zeros((64, 64)),
    }
    out = elastic.transform(image, params, 3, "imagenet").astype(int)
    diff = image.astype(int) - out
    assert diff.min() >= 0 and diff.max() <= 1


def test_elastic_draws_in_reference_order():
    """Anchor shifts (3x2 uniform in +-jitter) first, then the dx field, then dy."""
    params = get_corruption("elastic_transform").sample_parameters(
        np.random.RandomState(4), 5, (50, 60, 3), "imagenet"
    )
    replay = np.random.RandomState(4)
    jitter = TABLES["imagenet"]["elastic_transform"][4][2]
    np.testing.assert_array_equal(
        params["anchor_shift"], replay.uniform(-jitter, jitter, (3, 2)).astype(np.float32)
    )
    np.testing.assert_array_equal(params["dx_noise"], replay.uniform(-1, 1, (50, 60)))
    np.testing.assert_array_equal(params["dy_noise"], replay.uniform(-1, 1, (50, 60)))


# ---------------------------------------------------------------- other presets and sizes
@pytest.mark.parametrize("preset", ["tiny-imagenet", "cifar"])
def test_small_presets_follow_their_tables(preset):
    """At the preset's size: contrast shrinks the spread, brightness raises the mean,
    JPEG and pixelate lose more detail, all monotonically in severity."""
    size = PRESET_SIZES[preset]
    image = photo(0, size)

    def measure(name, stat):
        return [stat(corrupt(image, name, s, preset=preset).astype(float)) for s in SEVERITIES]

    spread = measure("contrast", np.std)
    assert all(a > b for a, b in zip(spread, spread[1:])), spread
    mean = measure("brightness", np.mean)
    assert all(a < b for a, b in zip(mean, mean[1:])), mean
    for name in ("jpeg_compression", "pixelate"):
        error = measure(name, lambda out: np.abs(out - image).mean())
        assert all(a <= b for a, b in zip(error, error[1:])), (name, error)
        assert error[0] < error[-1]


@pytest.mark.parametrize("preset", ["tiny-imagenet", "cifar"])
def test_small_preset_elastic_severity_1_is_affine_only(preset):
    """Their severity 1 has alpha = sigma = 0: the displacement field vanishes."""
    alpha, sigma, _ = TABLES[preset]["elastic_transform"][0]
    assert alpha == 0 and sigma == 0
    size = PRESET_SIZES[preset]
    elastic = get_corruption("elastic_transform")
    image = photo(1, size)
    params = elastic.sample_parameters(np.random.RandomState(0), 1, image.shape, preset)
    without_field = dict(params, dx_noise=np.zeros((size, size)), dy_noise=np.zeros((size, size)))
    np.testing.assert_array_equal(
        elastic.transform(image, params, 1, preset),
        elastic.transform(image, without_field, 1, preset),
    )


def test_tables_are_complete():
    for preset in PRESET_SIZES:
        assert set(TABLES[preset]) == set(DIGITAL)
        for name in DIGITAL:
            assert len(TABLES[preset][name]) == 5
        assert all(len(entry) == 2 for entry in TABLES[preset]["saturate"])
        assert all(len(entry) == 3 for entry in TABLES[preset]["elastic_transform"])


def test_works_at_other_sizes():
    image = photo(2, 100)[:, :77]  # 100 x 77, not square, not a preset size
    for name in DIGITAL:
        out = corrupt(image, name, 3, rng=np.random.RandomState(0))
        assert out.shape == image.shape and out.dtype == np.uint8


@pytest.mark.parametrize(("length", "sigma"), [(224, 244 * 0.7), (224, 244 * 0.08), (37, 5.0)])
def test_reflect_gaussian_matrix_equals_scipy_filter(length, sigma):
    """The matrix form of the wide elastic smoothing equals scipy's reflect-mode filter."""
    from scipy import ndimage

    from corruptions.digital import reflect_gaussian_matrix

    line = np.random.RandomState(0).uniform(-1, 1, size=(length, 5))
    expected = ndimage.gaussian_filter1d(line, sigma, axis=0, mode="reflect", truncate=3)
    ours = reflect_gaussian_matrix(length, sigma) @ line
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-14)
