"""The public call ``corrupt(image, name, severity, rng, preset)`` and its error messages."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from reference import photo

import corruptions
from corruptions import corrupt, get_corruption, image_rng, registry
from corruptions.errors import UserInputError
from corruptions.params import PRESET_SIZES, severity_params
from corruptions.params.noise import TABLES as NOISE_TABLES

OWN = {
    "gaussian_noise": "noise",
    "shot_noise": "noise",
    "impulse_noise": "noise",
    "speckle_noise": "noise",
    "contrast": "digital",
    "brightness": "digital",
    "saturate": "digital",
    "jpeg_compression": "digital",
    "pixelate": "digital",
    "elastic_transform": "digital",
}


def test_registry_holds_the_noise_and_digital_families():
    table = registry()
    for name, family in OWN.items():
        assert table[name].name == name
        assert table[name].family == family
    imagenet_c = {c.name for c in table.values() if c.benchmark == "imagenet-c"}
    assert imagenet_c <= set(corruptions.ALL)


def test_a_name_registered_twice_is_an_error_not_a_silent_replacement(monkeypatch):
    import importlib
    import sys
    import types
    from dataclasses import replace

    from corruptions.registry import FAMILY_MODULES, DuplicateCorruptionError, _collect

    defined = [c.name for m in FAMILY_MODULES
               for c in importlib.import_module(f"corruptions.{m}").CORRUPTIONS]  # fmt: skip
    assert sorted(_collect()) == sorted(defined) and len(set(defined)) == len(defined)
    with pytest.raises(DuplicateCorruptionError, match=r"'gaussian_noise' is defined twice: "
                       r"in corruptions.noise and in corruptions.noise"):  # fmt: skip
        _collect(("noise", "noise"))
    # another family module reusing a name: a copy of frost filed under another family
    frost = registry()["frost"]
    clash = types.ModuleType("corruptions._clash")
    clash.CORRUPTIONS = (replace(frost, family="digital"),)
    monkeypatch.setitem(sys.modules, "corruptions._clash", clash)
    with pytest.raises(DuplicateCorruptionError, match=r"'frost' is defined twice: in "
                       r"corruptions.weather and in corruptions._clash"):  # fmt: skip
        _collect(("noise", "weather", "_clash"))
    assert issubclass(DuplicateCorruptionError, ValueError)


def test_unknown_corruption_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown corruption 'gauss'.*gaussian_noise"):
        corrupt(photo(0, 32), "gauss", 1)


@pytest.mark.parametrize("severity", [0, 6, 2.5, -1])
def test_bad_severity_is_rejected(severity):
    with pytest.raises(ValueError, match="severity must be an integer from 1 to 5"):
        corrupt(photo(0, 32), "contrast", severity)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ValueError, match="unknown preset 'imagenet-64'.*tiny-imagenet"):
        corrupt(photo(0, 32), "contrast", 1, preset="imagenet-64")


def test_non_uint8_input_is_rejected_with_the_expected_range():
    with pytest.raises(ValueError, match=r"uint8 pixels \(0-255\)"):
        corrupt(photo(0, 32) / 255.0, "contrast", 1)
    with pytest.raises(ValueError, match="HxWx3"):
        corrupt(np.zeros((4, 32, 32), np.uint8), "contrast", 1)


def test_pil_grayscale_and_rgba_inputs_are_accepted():
    rgb = photo(0, 48)
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    out = corrupt(gray, "pixelate", 2)
    assert out.shape == (48, 48, 3)
    rgba = np.asarray(Image.fromarray(rgb).convert("RGBA"))
    np.testing.assert_array_equal(corrupt(rgba, "pixelate", 2), corrupt(rgb, "pixelate", 2))
    np.testing.assert_array_equal(
        corrupt(Image.fromarray(rgb), "jpeg_compression", 1), corrupt(rgb, "jpeg_compression", 1)
    )


def test_input_image_is_not_modified():
    image = photo(1, 64)
    before = image.copy()
    for name in OWN:
        corrupt(image, name, 5, rng=np.random.RandomState(0))
    np.testing.assert_array_equal(image, before)


def test_per_image_rng_is_order_independent():
    """The same (run seed, image id, corruption, severity) gives the same output in any order."""
    images = {f"n01440764/img_{i}.JPEG": photo(i, 64) for i in range(3)}
    forward = {
        key: corrupt(im, "impulse_noise", 3, rng=image_rng(7, key, "impulse_noise", 3))
        for key, im in images.items()
    }
    backward = {
        key: corrupt(im, "impulse_noise", 3, rng=image_rng(7, key, "impulse_noise", 3))
        for key, im in reversed(list(images.items()))
    }
    for key in images:
        np.testing.assert_array_equal(forward[key], backward[key])
    # Different image ids get different noise: the flipped-subpixel masks differ.
    masks = [forward[key] != images[key] for key in images]
    assert not np.array_equal(masks[0], masks[1])


def test_severity_params_reads_the_table():
    assert severity_params(NOISE_TABLES, "cifar", "shot_noise", 5) == 50
    with pytest.raises(KeyError, match="no 'cifar' parameters for corruption 'fog2'"):
        severity_params(NOISE_TABLES, "cifar", "fog2", 1)


def test_every_preset_runs_every_own_corruption_at_its_size():
    for preset, size in PRESET_SIZES.items():
        image = photo(0, size)
        for name in OWN:
            for severity in (1, 5):
                out = get_corruption(name)(
                    image, severity, rng=np.random.RandomState(0), preset=preset
                )
                assert out.shape == (size, size, 3) and out.dtype == np.uint8, (preset, name)


def test_missing_oracle_skips_locally_and_fails_under_ci(monkeypatch):
    """The developer-guide rule for system packages, applied to the Wand/ImageMagick oracle."""
    import reference

    monkeypatch.setattr(reference, "reference_unavailable_reason", lambda: "no libmagickwand")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no libmagickwand"):
        reference.require_reference()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set.*no libmagickwand"):
        reference.require_reference()


def test_outputs_are_fresh_writable_uint8_arrays():
    image = photo(0, 32)
    for name in OWN:
        out = corrupt(image, name, 2, rng=np.random.RandomState(0))
        assert out.dtype == np.uint8 and out.flags.writeable and out.flags.c_contiguous, name
        assert not np.shares_memory(out, image), name


@pytest.mark.imagemagick
def test_global_stream_sequence_matches_reference(reference_oracle, photos):
    """Several corruptions in a row on numpy's global stream, seeded once, as the
    reference scripts ran: each of ours consumes exactly the reference's draws."""
    sequence = [
        ("gaussian_noise", 2), ("shot_noise", 3), ("impulse_noise", 4),
        ("elastic_transform", 3), ("contrast", 1), ("speckle_noise", 5), ("shot_noise", 1),
    ]  # fmt: skip
    np.random.seed(2024)
    expected = [
        np.uint8(np.asarray(getattr(reference_oracle, name)(Image.fromarray(photos[k % 3]), sev)))
        for k, (name, sev) in enumerate(sequence)
    ]
    np.random.seed(2024)
    for k, (name, sev) in enumerate(sequence):
        np.testing.assert_array_equal(corrupt(photos[k % 3], name, sev), expected[k], err_msg=name)


# ------------------------------------------------------------------ argument checks


@pytest.mark.parametrize(
    "severity, shown",
    [(True, "True (bool)"), (False, "False (bool)"), (3.0, "3.0 (float)"),
     (np.float64(2), "(float64)"), ("3", "'3' (str)"), (np.int64(7), "got 7")],
)  # fmt: skip
def test_bool_float_and_string_severities_are_refused(severity, shown):
    """``severity=True`` used to run as severity 1 and 2.0-style floats were accepted."""
    with pytest.raises(UserInputError, match="severity must be an integer from 1 to 5") as err:
        corrupt(photo(0, 32), "contrast", severity, rng=np.random.RandomState(0))
    assert shown in str(err.value)


def test_numpy_integer_severity_equals_the_python_int():
    image = photo(0, 32)
    expected = corrupt(image, "gaussian_noise", 3, rng=np.random.RandomState(5))
    got = corrupt(image, "gaussian_noise", np.int64(3), rng=np.random.RandomState(5))
    np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(expected, corrupt(image, "gaussian_noise", 1, rng=np.random.RandomState(5)))


@pytest.mark.parametrize(
    "rng, hint",
    [(np.random.default_rng(0), "numpy.random._generator.Generator"),
     (0, r"rng=np.random.RandomState(0)"), (7.5, "rng=np.random.RandomState(seed)"),
     (np.random.RandomState(0).random_sample, "rng=np.random.RandomState(seed)")],
)  # fmt: skip
def test_rng_must_be_a_legacy_random_state(rng, hint):
    before = np.random.get_state()[1].copy()
    with pytest.raises(UserInputError, match="rng must be a numpy.random.RandomState") as err:
        corrupt(photo(0, 32), "gaussian_noise", 2, rng=rng)
    assert hint in str(err.value)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # nothing was drawn


def test_unknown_corruption_suggests_close_names_and_is_a_user_error():
    with pytest.raises(UserInputError) as err:
        corrupt(photo(0, 32), "gaussian_nosie", 1)
    message = str(err.value)
    assert message.startswith("unknown corruption 'gaussian_nosie'; did you mean gaussian_noise")
    assert isinstance(err.value, KeyError)  # callers catching KeyError keep working
    with pytest.raises(UserInputError, match="did you mean jpeg_compression"):
        corrupt(photo(0, 32), "jpeg", 1)
    with pytest.raises(UserInputError, match="unknown corruption None"):
        corrupt(photo(0, 32), None, 1)


def test_unknown_preset_is_a_user_error_before_any_draw():
    before = np.random.get_state()[1].copy()
    with pytest.raises(UserInputError, match="unknown preset 'imagenet224'.*cifar"):
        corrupt(photo(0, 32), "gaussian_noise", 1, preset="imagenet224")
    np.testing.assert_array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("mode", ["P", "CMYK", "I;16", "F", "LA", "YCbCr"])
def test_pil_images_other_than_rgb_rgba_l_are_refused(mode):
    """Their arrays are not RGB levels (palette indices, ink, 16-bit or float values)."""
    image = Image.fromarray(photo(0, 32)).convert(mode)
    with pytest.raises(UserInputError, match=rf"mode '{mode}'.*convert\('RGB'\)"):
        corrupt(image, "pixelate", 2)
    rgb = image.convert("RGB")
    np.testing.assert_array_equal(corrupt(rgb, "pixelate", 2), corrupt(np.asarray(rgb), "pixelate", 2))


def test_pil_gray_equals_the_replicated_array():
    gray = Image.fromarray(photo(0, 32)).convert("L")
    replicated = np.repeat(np.asarray(gray)[..., None], 3, axis=2)
    np.testing.assert_array_equal(corrupt(gray, "contrast", 3), corrupt(replicated, "contrast", 3))


@pytest.mark.parametrize(
    "image, expected",
    [(np.zeros((3, 32, 32), np.uint8), "channels-first"),
     (np.zeros((2, 32, 32, 3), np.uint8), "corrupt_batch"),
     (np.zeros((0, 32, 3), np.uint8), "non-empty"),
     (np.zeros((32, 32, 3)), r"\(image \* 255\).round\(\).astype\(np.uint8\)"),
     (np.zeros((32, 32, 3), np.int64), "dtype int64")],
)  # fmt: skip
def test_images_that_are_not_uint8_hwc_say_what_to_do(image, expected):
    with pytest.raises(UserInputError, match=expected):
        corrupt(image, "contrast", 1)
