"""Noise corruptions against the original ImageNet-C code and against their definitions."""

from __future__ import annotations

import numpy as np
import pytest
from reference import agreement, our_rng, photo, reference_corrupt, require_reference_source

from corruptions import corrupt
from corruptions.noise import choice_true
from corruptions.params import PRESET_SIZES
from corruptions.params.noise import TABLES

NOISE = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise")
SEVERITIES = (1, 2, 3, 4, 5)


# ---------------------------------------------------------------- fidelity (needs the oracle)
@pytest.mark.imagemagick
@pytest.mark.parametrize("name", NOISE)
@pytest.mark.parametrize("severity", SEVERITIES)
def test_matches_reference_on_photographs(name, severity, photos):
    """Same seeded RandomState -> the reference's output, on three real 224 px photos.

    Bound of the issue: >= 99.5% of subpixels within 1 level, mean |diff| <= 0.1.
    The noise draws and float operations are the reference's own, so in practice
    the outputs are bit-identical; the test checks the issue's bound.
    """
    for i, image in enumerate(photos):
        seed = 1000 * severity + i
        ref = reference_corrupt(image, name, severity, seed)
        ours = corrupt(image, name, severity, rng=our_rng(seed))
        within_one, mad = agreement(ours, ref)
        assert within_one >= 0.995 and mad <= 0.1, (name, severity, i, within_one, mad)


def test_imagenet_table_equals_reference_source():
    """The imagenet table is the one parsed from the installed reference's source."""
    parsed = require_reference_source()
    for name in NOISE:
        assert TABLES["imagenet"][name] == parsed[name], name


# ---------------------------------------------------------------- definitions
def test_choice_true_replays_legacy_choice():
    """Our faster draw equals ``RandomState.choice([True, False], p=...)`` on the same stream."""
    for prob in (0.03, 0.27, 0.5):
        a, b = np.random.RandomState(7), np.random.RandomState(7)
        fast = choice_true(a, prob, (31, 17, 3))
        legacy = b.choice([True, False], size=(31, 17, 3), p=[prob, 1 - prob])
        np.testing.assert_array_equal(fast, legacy)
        assert a.random_sample() == b.random_sample()  # both streams advanced alike


def test_gaussian_noise_has_the_table_std():
    """On mid-gray (no clipping), the noise std is c * 255 levels; truncation biases by ~-0.5."""
    gray = np.full((128, 128, 3), 128, np.uint8)
    out = corrupt(gray, "gaussian_noise", 1, rng=np.random.RandomState(0)).astype(float)
    expected_std = TABLES["imagenet"]["gaussian_noise"][0] * 255  # 20.4 levels
    assert abs(out.std() - expected_std) < 0.02 * expected_std
    assert abs((out - 128).mean() + 0.5) < 0.3


def test_speckle_noise_scales_with_intensity():
    """Multiplicative noise: black stays black, brighter pixels get proportionally more noise."""
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, 32:] = 100
    out = corrupt(image, "speckle_noise", 2, rng=np.random.RandomState(1)).astype(float)
    assert np.all(out[:, :32] == 0)
    std = out[:, 32:].std()
    assert abs(std - 100 * TABLES["imagenet"]["speckle_noise"][1]) < 2.0  # 20 levels


def test_shot_noise_is_poisson_in_photon_units():
    """Counts ``out * c / 255`` have mean ~= variance ~= lambda (Poisson), for lambda = c * x."""
    level = 153  # 0.6 of full scale
    image = np.full((96, 96, 3), level, np.uint8)
    photons = TABLES["imagenet"]["shot_noise"][0]  # 60
    out = corrupt(image, "shot_noise", 1, rng=np.random.RandomState(3)).astype(float)
    lam = photons * level / 255
    counts = np.round(out / 255 * photons)  # truncation loses < 1 level = 0.24 photons
    assert abs(counts.mean() - lam) < 0.05 * lam
    assert abs(counts.var() - lam) < 0.1 * lam


def test_shot_noise_transform_is_pure():
    """Its parameters snapshot the RNG, so the same parameters give the same output twice."""
    from corruptions.registry import get_corruption

    shot = get_corruption("shot_noise")
    image = photo(1, 64)
    params = shot.sample_parameters(np.random.RandomState(5), 3, image.shape, "imagenet")
    first = shot.transform(image, params, 3, "imagenet")
    np.testing.assert_array_equal(first, shot.transform(image, params, 3, "imagenet"))


def test_impulse_noise_flips_the_table_fraction_half_salt_half_pepper():
    image = np.full((128, 128, 3), 128, np.uint8)
    amount = TABLES["imagenet"]["impulse_noise"][4]  # 0.27
    out = corrupt(image, "impulse_noise", 5, rng=np.random.RandomState(11))
    n = out.size
    salt, pepper = np.mean(out == 255), np.mean(out == 0)
    tolerance = 4 * np.sqrt(amount * (1 - amount) / n)
    assert abs(salt + pepper - amount) < tolerance
    assert abs(salt - pepper) < 2 * tolerance
    # Untouched subpixels keep 128 (the reference's float path: 128/255*255 -> 128).
    assert set(np.unique(out)) == {0, 128, 255}


def test_global_stream_is_used_when_rng_is_none(photos):
    np.random.seed(42)
    from_global = corrupt(photos[0], "gaussian_noise", 2)
    np.testing.assert_array_equal(
        from_global, corrupt(photos[0], "gaussian_noise", 2, rng=np.random.RandomState(42))
    )


# ---------------------------------------------------------------- other presets
@pytest.mark.parametrize("preset", ["tiny-imagenet", "cifar"])
@pytest.mark.parametrize("name", NOISE)
def test_small_presets_get_stronger_with_severity(preset, name):
    """At the preset's own size, the mean |change| grows with severity (3 photos, fixed seeds)."""
    size = PRESET_SIZES[preset]
    images = [photo(i, size) for i in range(3)]
    change = []
    for severity in SEVERITIES:
        outs = [
            corrupt(im, name, severity, rng=np.random.RandomState(i), preset=preset)
            for i, im in enumerate(images)
        ]
        change.append(np.mean([np.abs(o.astype(int) - im).mean() for o, im in zip(outs, images)]))
    assert all(a < b for a, b in zip(change, change[1:])), (preset, name, change)


@pytest.mark.parametrize("preset", ["tiny-imagenet", "cifar"])
def test_small_preset_gaussian_uses_its_table(preset):
    """Hand-computed: the reference formula with that preset's std, on a flat image."""
    size = PRESET_SIZES[preset]
    image = np.full((size, size, 3), 100, np.uint8)
    std = TABLES[preset]["gaussian_noise"][2]
    noise = np.random.RandomState(9).normal(size=image.shape, scale=std)
    expected = np.uint8(np.clip(100 / 255 + noise, 0, 1) * 255)
    ours = corrupt(image, "gaussian_noise", 3, rng=np.random.RandomState(9), preset=preset)
    np.testing.assert_array_equal(ours, expected)


def test_tables_are_complete():
    for preset in PRESET_SIZES:
        assert set(TABLES[preset]) == set(NOISE)
        for name in NOISE:
            assert len(TABLES[preset][name]) == 5


def test_works_at_other_sizes():
    image = photo(2, 100)[:, :77]  # 100 x 77, not square, not a preset size
    for name in NOISE:
        out = corrupt(image, name, 3, rng=np.random.RandomState(0))
        assert out.shape == image.shape and out.dtype == np.uint8


def test_shot_noise_advances_the_stream_like_the_reference():
    """Consecutive calls on one RandomState: fresh noise each time, and the stream
    ends where a direct ``poisson(x * c)`` draw would leave it."""
    image = photo(0, 48)
    rng = np.random.RandomState(21)
    first = corrupt(image, "shot_noise", 2, rng=rng)
    second = corrupt(image, "shot_noise", 2, rng=rng)
    assert not np.array_equal(first, second)
    direct = np.random.RandomState(21)
    photons = TABLES["imagenet"]["shot_noise"][1]
    expected_first = np.uint8(
        np.clip(direct.poisson(image / 255.0 * photons) / photons, 0, 1) * 255
    )
    np.testing.assert_array_equal(first, expected_first)
    direct.poisson(image / 255.0 * photons)
    assert rng.random_sample() == direct.random_sample()
