"""Every PIL mode decodes to correct 8-bit RGB, and bad-image messages name the file once
(robustness/datasets/images.py, robustness/datasets/base.py)."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from PIL import Image

from robustness.datasets import BadImageError
from robustness.datasets.images import load_rgb, to_rgb

# 16-bit levels around the rounding boundaries of round(v / 257), and the 8-bit levels
# worked out by hand: 128/257 = 0.498 -> 0, 129/257 = 0.502 -> 1, 385/257 = 1.498 -> 1,
# 386/257 = 1.502 -> 2, 32767/257 = 127.498 -> 127, 32768/257 = 127.502 -> 128,
# 65278/257 = 254 exactly, 65279/257 = 254.004 -> 254, 65534/257 = 254.996 -> 255.
LEVELS_16 = [[0, 128, 129, 257, 385, 386], [32767, 32768, 65278, 65279, 65534, 65535]]
EXPECTED_8 = [[0, 0, 1, 1, 1, 2], [127, 128, 254, 254, 255, 255]]


def rgb_of(image: Image.Image) -> np.ndarray:
    assert image.mode == "RGB"
    out = np.asarray(image)
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    return out.astype(int)


def gray_rgb(levels) -> np.ndarray:
    """An HxW table of 8-bit levels as the HxWx3 RGB array with that level on each channel."""
    return np.repeat(np.asarray(levels, dtype=int)[..., None], 3, axis=2)


# ------------------------------------------------------------------ 16-bit and float gray


def test_16_bit_png_maps_0_65535_to_0_255_by_rounding(tmp_path):
    path = tmp_path / "gray16.png"
    Image.fromarray(np.array(LEVELS_16, dtype=np.uint16)).save(path)
    with Image.open(path) as check:
        assert check.mode == "I;16"  # the case PIL's convert("RGB") turns all white
    np.testing.assert_array_equal(rgb_of(load_rgb(path)), gray_rgb(EXPECTED_8))


def test_full_16_bit_ramp_is_within_half_a_level_and_uses_every_level(tmp_path):
    ramp = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)
    out = rgb_of(load_rgb(path))[..., 0].ravel()
    # |255 * v / 65535 - level| < 0.5 for every pixel (255 / 65535 = 1 / 257), so the
    # ramp is monotone and every one of the 256 levels appears.
    assert np.abs(ramp.ravel() / 257.0 - out).max() < 0.5
    assert (np.diff(out) >= 0).all() and len(np.unique(out)) == 256


def test_big_endian_16_bit_tiff(tmp_path):
    raw = np.array(LEVELS_16, dtype=">u2").tobytes()
    path = tmp_path / "gray16b.tif"
    Image.frombytes("I;16B", (6, 2), raw).save(path)
    with Image.open(path) as check:
        assert check.mode == "I;16B"
    np.testing.assert_array_equal(rgb_of(load_rgb(path)), gray_rgb(EXPECTED_8))


def test_32_bit_int_image_is_read_in_the_16_bit_range(tmp_path):
    path = tmp_path / "gray_i.tif"
    Image.fromarray(np.array(LEVELS_16, dtype=np.int32)).save(path)
    with Image.open(path) as check:
        assert check.mode == "I"
    np.testing.assert_array_equal(rgb_of(load_rgb(path)), gray_rgb(EXPECTED_8))


@pytest.mark.parametrize("bad_value", [70000, -1])
def test_int_image_outside_16_bits_is_refused_naming_the_file(tmp_path, bad_value):
    path = tmp_path / "wide_i.tif"
    Image.fromarray(np.array([[0, 100], [bad_value, 5]], dtype=np.int32)).save(path)
    with pytest.raises(BadImageError) as err:
        load_rgb(path)
    assert err.value.path == path
    message = str(err.value)
    assert str(path) in message and "0-65535" in message and str(bad_value) in message


def test_float_image_in_0_1_maps_by_rounding(tmp_path):
    # round(255 * v): 0.2 -> 51, 1/3 -> 85, 0.999 -> 254.7 -> 255, 0.001 -> 0.26 -> 0,
    # 0.003 -> 0.77 -> 1, 1.0 -> 255.
    values = np.array([[0.0, 0.2, 1 / 3, 0.999], [0.001, 0.003, 1.0, 0.0]], dtype=np.float32)
    path = tmp_path / "gray_f.tif"
    Image.fromarray(values).save(path)
    with Image.open(path) as check:
        assert check.mode == "F"
    expected = [[0, 51, 85, 255], [0, 1, 255, 0]]
    np.testing.assert_array_equal(rgb_of(load_rgb(path)), gray_rgb(expected))


@pytest.mark.parametrize(
    "values, found",
    [([[0.0, 128.0], [255.0, 3.0]], "values from 0 to 255"),
     ([[0.0, 0.5], [-0.25, 1.0]], "values from -0.25 to 1"),
     ([[0.0, np.nan], [0.5, 1.0]], "1 NaN/infinite pixel")],
)  # fmt: skip
def test_float_image_with_an_ambiguous_range_is_refused_naming_the_file(tmp_path, values, found):
    path = tmp_path / "gray_f.tif"
    Image.fromarray(np.array(values, dtype=np.float32)).save(path)
    with pytest.raises(BadImageError) as err:
        load_rgb(path)
    message = str(err.value)
    assert str(path) in message and "[0, 1]" in message and found in message
    assert message.count("cannot read image") == 1


# ------------------------------------------------------------------ 8-bit modes


def test_gray_and_bilevel_png_replicate_the_level(tmp_path):
    levels = np.array([[0, 1, 127], [128, 254, 255]], dtype=np.uint8)
    gray = tmp_path / "gray.png"
    Image.fromarray(levels).save(gray)
    np.testing.assert_array_equal(rgb_of(load_rgb(gray)), gray_rgb(levels))

    bits = np.array([[True, False, True], [False, True, True]])
    bilevel = tmp_path / "bits.png"
    Image.fromarray(bits).save(bilevel)
    with Image.open(bilevel) as check:
        assert check.mode == "1"
    np.testing.assert_array_equal(rgb_of(load_rgb(bilevel)), gray_rgb(bits * 255))


def test_la_png_drops_alpha_and_keeps_the_level(tmp_path):
    la = np.zeros((2, 3, 2), dtype=np.uint8)
    la[..., 0] = [[10, 20, 30], [40, 50, 60]]
    la[..., 1] = [[0, 128, 255], [255, 0, 7]]
    path = tmp_path / "la.png"
    Image.fromarray(la, "LA").save(path)
    np.testing.assert_array_equal(rgb_of(load_rgb(path)), gray_rgb(la[..., 0]))


def test_rgba_png_drops_alpha(tmp_path):
    rgba = np.array([[[1, 2, 3, 0], [250, 251, 252, 255]], [[9, 8, 7, 128], [0, 0, 0, 0]]],
                    dtype=np.uint8)  # fmt: skip
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(path)
    np.testing.assert_array_equal(rgb_of(load_rgb(path)), rgba[..., :3])


PALETTE = [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 17, 34, 51]  # black red green blue (17,34,51)


@pytest.mark.parametrize("transparency", [None, 2, bytes([255, 0, 128, 255, 255])])
def test_palette_png_looks_up_colours_with_or_without_transparency(tmp_path, transparency):
    indices = np.array([[0, 1, 2], [3, 4, 1]], dtype=np.uint8)
    image = Image.fromarray(indices, "P")
    image.putpalette(PALETTE + [0] * (768 - len(PALETTE)))
    path = tmp_path / "pal.png"
    image.save(path, **({} if transparency is None else {"transparency": transparency}))
    expected = np.array(PALETTE).reshape(-1, 3)[indices]  # transparent entries keep their colour
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(rgb_of(load_rgb(path)), expected)


def test_palette_with_alpha_looks_up_colours():
    image = Image.new("PA", (3, 1))
    image.putpalette(PALETTE + [0] * (768 - len(PALETTE)))
    for x, (index, alpha) in enumerate([(4, 255), (1, 0), (3, 90)]):
        image.putpixel((x, 0), (index, alpha))
    np.testing.assert_array_equal(rgb_of(to_rgb(image)), [[[17, 34, 51], [255, 0, 0], [0, 0, 255]]])


def test_cmyk_tiff_uses_pils_conversion(tmp_path):
    # PIL: channel = (255 - ink) * (255 - K) / 255. Without K: 255 - ink; full K: black.
    cmyk = np.array([[[51, 102, 0, 0], [0, 255, 255, 0], [0, 0, 0, 255]]], dtype=np.uint8)
    path = tmp_path / "cmyk.tif"
    Image.fromarray(cmyk, "CMYK").save(path)
    np.testing.assert_array_equal(rgb_of(load_rgb(path)), [[[204, 153, 255], [255, 0, 0], [0, 0, 0]]])


def test_ycbcr_converts_with_the_jpeg_matrix():
    # R = Y + 1.402 (Cr - 128), G = Y - 0.344 (Cb - 128) - 0.714 (Cr - 128), B = Y + 1.772 (Cb - 128)
    # (100, 128, 128) -> gray 100; (76, 85, 255) -> (254.1, 0.1, -0.2) -> about pure red.
    image = Image.new("YCbCr", (2, 1))
    image.putpixel((0, 0), (100, 128, 128))
    image.putpixel((1, 0), (76, 85, 255))
    out = rgb_of(to_rgb(image))
    assert np.abs(out - [[[100, 100, 100], [254, 0, 0]]]).max() <= 1


def test_lab_tiff_converts_to_srgb(tmp_path):
    # PIL's LAB bytes: L* = L / 255 * 100; a*, b* are signed bytes (0 = neutral, as in the
    # TIFF CIELab encoding). L* = 100 is white; L* = 50.2 is Y = ((50.2 + 16) / 116) ** 3
    # = 0.186, sRGB 1.055 * Y ** (1 / 2.4) - 0.055 = 0.468 -> 119; L* = 0 is black.
    lab = np.array([[[255, 0, 0], [128, 0, 0], [0, 0, 0]]], dtype=np.uint8)
    path = tmp_path / "lab.tif"
    Image.fromarray(lab, "LAB").save(path)
    out = rgb_of(load_rgb(path))
    assert np.abs(out - [[[255, 255, 255], [119, 119, 119], [0, 0, 0]]]).max() <= 2


def test_hsv_converts_hue_to_the_primaries():
    hsv = np.array([[[0, 255, 255], [85, 255, 255], [170, 255, 255], [0, 0, 200]]], dtype=np.uint8)
    out = rgb_of(to_rgb(Image.fromarray(hsv, "HSV")))
    np.testing.assert_array_equal(out, [[[255, 0, 0], [0, 255, 0], [0, 0, 255], [200, 200, 200]]])


# ------------------------------------------------------------------ bad-image messages


def test_bad_image_message_names_the_file_once_when_wrapped_again(tmp_path):
    path = tmp_path / "cut.jpg"
    first = BadImageError(path, OSError("image file is truncated"))
    # As the engine does: the DataLoader worker's message text is wrapped in the main process.
    for again in (BadImageError(path, str(first)), BadImageError(path, first)):
        message = str(again)
        assert message.count("cannot read image") == 1
        assert message.count(str(path)) == 1
        assert message.count("--skip-bad-images") == 1
        assert message == str(first)
        assert again.path == path


def test_missing_and_non_image_files_name_the_path_once(tmp_path):
    missing = tmp_path / "absent.png"
    with pytest.raises(BadImageError) as err:
        load_rgb(missing)
    assert str(err.value).count(str(missing)) == 1 and "No such file" in str(err.value)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(BadImageError) as err:
        load_rgb(text)
    assert str(err.value).count(str(text)) == 1 and "not an image file" in str(err.value)


def test_bad_image_error_survives_pickling(tmp_path):
    error = BadImageError(tmp_path / "x.png", ValueError("broken"))
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is BadImageError and str(again) == str(error) and again.path == error.path
