"""Albumentations shift ladders: table, shapes, dtypes, determinism, severity monotonicity,
and two shifts checked against a direct computation."""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest

from corruptions.params.shifts import LADDERS
from corruptions.shifts import CORRUPTIONS, NAMES, ladder_kwargs

BY_NAME = {c.name: c for c in CORRUPTIONS}


def _textured(size: int = 64) -> np.ndarray:
    """Oriented sinusoids at periods 3-17 px (detail at several scales, so that downscaling
    has something to remove), a different shift per channel; uint8 HxWx3."""
    ys, xs = np.mgrid[0:size, 0:size].astype(float)
    waves = sum(40 * np.sin(2 * np.pi * (xs * np.cos(a) + ys * np.sin(a)) / period)
                for a, period in ((0.3, 3.1), (1.1, 5.3), (2.0, 9.7), (2.7, 17.0)))  # fmt: skip
    grey = 128 + waves
    return np.clip(np.stack([grey, np.roll(grey, 7, 0), np.roll(grey, 13, 1)], axis=2), 0, 255).astype(np.uint8)


def test_ladders_have_five_severities_and_are_not_imagenet_c():
    assert set(NAMES) == {"rain", "sun_flare", "shadow", "iso_noise", "color_shift", "downscale"}
    for c in CORRUPTIONS:
        assert (c.family, c.benchmark) == ("albumentations", "shifts")
        assert len(LADDERS[c.name]["severities"]) == 5


def test_fraction_lengths_become_pixels():
    assert ladder_kwargs("rain", 5, (224, 224, 3))["drop_length"] == round(0.2 * 224)
    assert ladder_kwargs("sun_flare", 1, (100, 300, 3))["src_radius"] == 15  # 15 % of the shorter side
    with pytest.raises(ValueError, match="severity"):
        ladder_kwargs("rain", 6, (32, 32, 3))


@pytest.mark.parametrize("name", sorted(NAMES))
def test_shape_dtype_determinism(name):
    image = _textured(48)
    c = BY_NAME[name]
    a = c(image, 3, np.random.RandomState(11))
    b = c(image, 3, np.random.RandomState(11))
    assert a.shape == image.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, image)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_severity_is_monotonic_in_mean_absolute_change(name):
    image = _textured(64)
    change = [np.mean([np.abs(BY_NAME[name](image, s, np.random.RandomState(k)).astype(float) - image).mean()
                       for k in range(4)]) for s in range(1, 6)]  # fmt: skip
    assert all(b > a for a, b in zip(change, change[1:])), change


def test_color_shift_adds_signed_constant_per_channel():
    image = _textured(32)
    params = BY_NAME["color_shift"].sample_parameters(np.random.RandomState(2), 4, image.shape, "imagenet")
    out = BY_NAME["color_shift"].transform(image, params, 4, "imagenet")
    expected = np.clip(image.astype(int) + 40 * np.array(params["signs"]), 0, 255)
    assert np.abs(out.astype(int) - expected).max() <= 1


def test_downscale_is_area_down_then_linear_up():
    import cv2  # a dependency of albumentations

    image = _textured(64)
    out = BY_NAME["downscale"](image, 3, np.random.RandomState(0))
    small = cv2.resize(image, (16, 16), interpolation=cv2.INTER_AREA)
    expected = cv2.resize(small, (64, 64), interpolation=cv2.INTER_LINEAR)
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


def test_importing_the_module_does_not_import_albumentations():
    code = "import sys, corruptions.shifts; print('albumentations' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_builder_and_imagenet_c_reader_accept_cbar_and_shifts(tmp_path, monkeypatch):
    """With the set groups registered (as corruptions/registry.py will list them), the
    ImageNet-C builder writes them and the ImageNet-C reader reads them back."""
    from PIL import Image

    from corruptions.builder import build_corrupted_set
    from corruptions.cbar import CORRUPTIONS as CBAR
    from robustness.datasets.classes import imagenet_wnids
    from robustness.datasets.imagenet_c import open_imagenet_c

    registry_module = importlib.import_module("corruptions.registry")  # the package re-exports a function
    table = {**registry_module.registry(), **{c.name: c for c in CBAR + CORRUPTIONS}}
    monkeypatch.setattr(registry_module, "_TABLE", table)
    wnid = imagenet_wnids()[0]
    (tmp_path / "src" / wnid).mkdir(parents=True)
    for i in range(2):
        Image.fromarray(_textured(40 + 8 * i)).save(tmp_path / "src" / wnid / f"img{i}.png")
    build_corrupted_set(tmp_path / "src", tmp_path / "out", preset="tiny-imagenet",
                        corruptions="color_shift,downscale", severities="2", format="png",
                        progress=False)  # fmt: skip
    for name in ("color_shift", "downscale"):
        test_set = open_imagenet_c(tmp_path / "out", name, 2, group="imagenet-shifts", allow_partial=True)
        assert test_set.info.name == f"imagenet-shifts.{name}.2"
        assert sorted(test_set.relpaths) == [f"{wnid}/img0.png", f"{wnid}/img1.png"]
        assert set(test_set.labels) == {0}
    # C-bar levels exist for the imagenet preset (resize 256, crop 224)
    build_corrupted_set(tmp_path / "src", tmp_path / "out224", preset="imagenet",
                        corruptions="sparkles,checkerboard_cutout", severities="1", format="png",
                        progress=False)  # fmt: skip
    for name in ("sparkles", "checkerboard_cutout"):
        test_set = open_imagenet_c(tmp_path / "out224", name, 1, group="imagenet-c-bar", allow_partial=True)
        assert test_set.info.name == f"imagenet-c-bar.{name}.1"
        assert len(test_set.relpaths) == 2
        with Image.open(tmp_path / "out224" / name / "1" / test_set.relpaths[0]) as written:
            assert written.size == (224, 224)
