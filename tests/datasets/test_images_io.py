"""Decoding to RGB, bad files, file-name filtering and border cropping (robustness/datasets/images.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from dataset_trees import write_image
from PIL import Image

from robustness.datasets import BadImageError
from robustness.datasets.images import crop_border, is_image_name, load_rgb


def test_grayscale_jpeg_becomes_rgb_with_equal_channels(tmp_path):
    path = tmp_path / "gray.jpg"
    Image.new("L", (8, 6), 90).save(path)
    image = load_rgb(path)
    assert image.mode == "RGB" and image.size == (8, 6)
    pixels = np.asarray(image).astype(int)
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    assert abs(pixels.mean() - 90) <= 2


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    # CMYK (0, 255, 255, 0) is pure red; (0, 0, 0, 0) is white.
    red, white = tmp_path / "red.jpg", tmp_path / "white.jpg"
    Image.new("CMYK", (8, 6), (0, 255, 255, 0)).save(red)
    Image.new("CMYK", (8, 6), (0, 0, 0, 0)).save(white)
    r, w = np.asarray(load_rgb(red)).astype(int), np.asarray(load_rgb(white)).astype(int)
    assert load_rgb(red).mode == "RGB"
    assert np.abs(r.mean(axis=(0, 1)) - [255, 0, 0]).max() <= 6
    assert np.abs(w.mean(axis=(0, 1)) - [255, 255, 255]).max() <= 6


def test_rgba_png_drops_alpha_and_keeps_stored_colour(tmp_path):
    # Documented convention (PIL convert("RGB"), as torchvision/timm): alpha is dropped,
    # the colour stored under a fully transparent pixel is kept, no compositing.
    rgba = np.zeros((6, 8, 4), dtype=np.uint8)
    rgba[:, :4] = (10, 200, 30, 255)  # opaque green half
    rgba[:, 4:] = (250, 5, 5, 0)  # transparent red half
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(path)
    out = np.asarray(load_rgb(path))
    assert out.shape == (6, 8, 3)
    assert (out[:, :4] == (10, 200, 30)).all()
    assert (out[:, 4:] == (250, 5, 5)).all()


def test_la_and_palette_png_with_transparency_become_rgb_without_warnings(tmp_path):
    la = tmp_path / "la.png"
    Image.new("LA", (8, 6), (120, 0)).save(la)
    pal = tmp_path / "pal.png"
    p = Image.new("P", (8, 6), 3)
    p.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)
    p.save(pal, transparency=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out_la, out_p = load_rgb(la), load_rgb(pal)
    assert out_la.mode == out_p.mode == "RGB"
    assert (np.asarray(out_la) == 120).all()
    assert (np.asarray(out_p) == (0, 0, 255)).all()  # palette entry 3 is blue


def test_truncated_jpeg_raises_bad_image_error_naming_the_path(tmp_path):
    good = write_image(tmp_path / "full.jpg", size=(64, 48))
    data = good.read_bytes()
    bad = tmp_path / "cut.jpg"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImageError) as err:
        load_rgb(bad)
    assert err.value.path == bad
    assert str(bad) in str(err.value)
    assert "--skip-bad-images" in str(err.value)


def test_non_image_bytes_and_missing_files_raise_bad_image_error(tmp_path):
    fake = tmp_path / "fake.JPEG"
    fake.write_text("not an image")
    with pytest.raises(BadImageError, match="fake.JPEG"):
        load_rgb(fake)
    with pytest.raises(BadImageError, match="absent.png"):
        load_rgb(tmp_path / "absent.png")


@pytest.mark.parametrize(
    "name, accepted",
    [("a.JPEG", True), ("a.jpeg", True), ("a.Jpg", True), ("a.PNG", True), ("a.gif", False),
     ("a.txt", False), ("._a.jpg", False), (".hidden.png", False), ("jpg", False)],
)
def test_image_name_filter(name, accepted):
    assert is_image_name(name) is accepted


def test_crop_border_removes_one_pixel_on_each_side():
    frame = np.zeros((6, 8, 3), dtype=np.uint8)
    frame[:] = (255, 0, 0)
    frame[1:-1, 1:-1] = (0, 0, 255)
    out = crop_border(Image.fromarray(frame), 1)
    assert out.size == (6, 4)
    assert (np.asarray(out) == (0, 0, 255)).all()
    assert crop_border(Image.fromarray(frame), 0).size == (8, 6)


@pytest.mark.parametrize("keep_fraction", [0.1, 0.5, 0.9])
def test_truncated_png_raises_bad_image_error(tmp_path, keep_fraction):
    noise = np.random.default_rng(0).integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    full = tmp_path / "full.png"
    Image.fromarray(noise).save(full)
    data = full.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: int(len(data) * keep_fraction)])
    with pytest.raises(BadImageError, match="cut.png"):
        load_rgb(cut)
