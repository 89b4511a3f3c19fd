"""The torch path against the numpy path: same parameters -> within 1 level; own sampler ->
same distribution; filters against scipy/OpenCV; glass blur's copy chains exactly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from reference import photo
from scipy import ndimage

from corruptions import ALL, registry
from corruptions.batched import NATIVE, corrupt_batch, numpy_params, transform_batch
from corruptions.batched.base import filter2d, gaussian_filter
from corruptions.batched.blur import glass_sources
from corruptions.blur import glass_shuffle_sources
from corruptions.errors import UserInputError


def nchw(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()


def hwc(batch: torch.Tensor) -> np.ndarray:
    return batch.permute(0, 2, 3, 1).cpu().numpy()


@pytest.fixture(scope="module")
def two_photos() -> np.ndarray:
    return np.stack([photo(0, 224), photo(1, 224)])


@pytest.fixture(scope="module")
def one_photo() -> np.ndarray:
    return photo(1, 224)[None]


# ------------------------------------------------------------------ same parameters


@pytest.mark.parametrize("name", NATIVE)
def test_torch_transform_fed_numpy_parameters_is_within_one_level(name, one_photo):
    corruption = registry()[name]
    images = nchw(one_photo)
    for severity in (1, 2, 3, 4, 5):
        seeds = [100 + severity]
        params = numpy_params(images, name, severity, seeds, "imagenet")
        expected = np.stack(
            [
                corruption.transform(img.copy(), p, severity, "imagenet")
                for img, p in zip(one_photo, params)
            ]
        )
        got = hwc(transform_batch(images, name, severity, params))
        diff = np.abs(got.astype(np.int16) - expected.astype(np.int16))
        assert diff.max() <= 1, (name, severity, int(diff.max()))
        assert diff.mean() <= 0.15, (name, severity, float(diff.mean()))


@pytest.mark.parametrize(
    "name",
    [
        "glass_blur",
        "motion_blur",
        "zoom_blur",
        "fog",
        "snow",
        "elastic_transform",
        "gaussian_noise",
    ],
)
def test_other_sizes_follow_the_numpy_path(name):
    """A non-square image that is not 224 px: torch output within 1 level of numpy's."""
    image = photo(2, 96)[:, :80]
    seeds = [7]
    got = hwc(corrupt_batch(nchw(image[None]), name, 4, seeds, sampler="numpy"))[0]
    expected = registry()[name](image, 4, rng=np.random.RandomState(7))
    assert got.shape == expected.shape
    assert np.abs(got.astype(np.int16) - expected.astype(np.int16)).max() <= 1


def test_numpy_sampler_matches_corrupt_for_every_corruption(two_photos):
    """``sampler='numpy'`` replays RandomState(seed): within 1 level of ``corrupt``; the
    corruptions without a torch transform go through the numpy path and match exactly."""
    images = nchw(two_photos[:1])
    for name in sorted(ALL):
        got = hwc(corrupt_batch(images, name, 3, [42], sampler="numpy"))[0]
        expected = registry()[name](two_photos[0], 3, rng=np.random.RandomState(42))
        diff = np.abs(got.astype(np.int16) - expected.astype(np.int16))
        assert diff.max() <= (1 if name in NATIVE else 0), name


def test_every_corruption_runs_through_corrupt_batch():
    names = set(ALL)  # the ImageNet-C corruptions; C-bar and shift ladders have no torch path
    assert names <= set(registry())
    image = nchw(photo(0, 64)[None])
    for name in sorted(names):
        out = corrupt_batch(image, name, 2, [1], preset="tiny-imagenet")
        assert out.shape == image.shape and out.dtype == torch.uint8


def test_an_empty_batch_comes_back_empty():
    empty = torch.zeros((0, 3, 16, 16), dtype=torch.uint8)
    for name in ("glass_blur", "spatter", "jpeg_compression"):
        out = corrupt_batch(empty, name, 3, [])
        assert out.shape == empty.shape and out.dtype == torch.uint8
        assert transform_batch(empty, name, 3, []).shape == empty.shape


def test_float_input_gives_float_levels(two_photos):
    images = nchw(two_photos)
    as_float = images.float() / 255.0
    out_float = corrupt_batch(as_float, "gaussian_noise", 2, [3, 4])
    out_uint8 = corrupt_batch(images, "gaussian_noise", 2, [3, 4])
    assert out_float.dtype == torch.float32
    torch.testing.assert_close(out_float, out_uint8.float() / 255.0)


def test_torch_sampler_is_seeded_per_image():
    image = nchw(photo(1, 32)[None]).repeat(3, 1, 1, 1)
    a = corrupt_batch(image, "glass_blur", 2, [5, 6, 5])
    b = corrupt_batch(image[:1], "glass_blur", 2, [5])
    assert torch.equal(a[0], a[2]) and torch.equal(a[0], b[0])
    assert not torch.equal(a[0], a[1])


def test_bad_arguments_are_clear_errors():
    image = torch.zeros((2, 3, 8, 8), dtype=torch.uint8)
    with pytest.raises(ValueError, match="one seed per image"):
        corrupt_batch(image, "gaussian_noise", 1, [1])
    with pytest.raises(ValueError, match="NCHW"):
        corrupt_batch(image[:, :1], "gaussian_noise", 1, [1, 2])
    with pytest.raises(ValueError, match="sampler"):
        corrupt_batch(image, "gaussian_noise", 1, [1, 2], sampler="jax")
    with pytest.raises(KeyError, match="unknown corruption"):
        corrupt_batch(image, "blizzard", 1, [1, 2])


FLOAT_RANGE_MESSAGE = "float images must be in [0, 1] (NCHW)"
FLOAT_RANGE_FIX = "divide 0-255 images by 255 or pass uint8"


@pytest.mark.parametrize(
    "make, found",
    [(lambda x: x.float(), "values from 0 to 255"),  # 0-255 floats: used to be clamped to 1.0
     (lambda x: x.float() / 255.0 - 0.5, "values from -0.5 to"),
     (lambda x: (x.float() / 255.0).index_put_((torch.tensor([0]),), torch.tensor(float("nan"))),
      "and 3072 NaN")],
)  # fmt: skip
def test_float_images_outside_0_1_are_refused_not_clamped(make, found):
    levels = nchw(photo(0, 32)[None]).clone()
    levels[0, 0, 0, :2] = torch.tensor([0, 255], dtype=torch.uint8)  # the extremes are present
    images = make(levels)  # 3 x 32 x 32 = 3072 values per image
    for call in (lambda: corrupt_batch(images, "gaussian_noise", 2, [1]),
                 lambda: corrupt_batch(images, "pixelate", 2, [1], sampler="numpy"),
                 lambda: transform_batch(images, "gaussian_noise", 2,
                                         numpy_params(nchw(photo(0, 32)[None]), "gaussian_noise",
                                                      2, [1], "imagenet"))):  # fmt: skip
        with pytest.raises(UserInputError) as err:
            call()
        message = str(err.value)
        assert message.startswith(FLOAT_RANGE_MESSAGE) and FLOAT_RANGE_FIX in message
        assert found in message, message


def test_float_images_at_exactly_0_and_1_are_accepted():
    levels = torch.zeros((1, 3, 8, 8), dtype=torch.uint8)
    levels[..., 4:] = 255
    as_float = levels.double() / 255.0
    assert as_float.min() == 0 and as_float.max() == 1
    got = corrupt_batch(as_float, "contrast", 3, [0])
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, corrupt_batch(levels, "contrast", 3, [0]).double() / 255.0)


@pytest.mark.parametrize(
    "seeds, expected",
    [([1.7, 2], r"seeds\[0\] is 1.7 \(float\)"),  # used to be truncated to 1
     ([1, True], r"seeds\[1\] is True \(bool\)"),
     ([np.float32(3), 4], r"seeds\[0\].*float32"),
     ([-1, 2], r"seeds\[0\] is -1, outside 0 to 4294967295"),
     ([1, 2**32], r"seeds\[1\] is 4294967296, outside"),
     (np.array([1.0, 2.0]), "1-D integer array.*float64"),
     (torch.tensor([True, False]), "1-D integer array.*torch.bool"),
     (np.array([[1, 2]]), "2-D array"),
     (5, "sequence of integers, one per image, got int 5"),
     ("12", "sequence of integers, one per image, got str")],
)  # fmt: skip
def test_seeds_must_be_integers_that_numpy_accepts(seeds, expected):
    images = nchw(photo(0, 16)[None]).repeat(2, 1, 1, 1)
    for sampler in ("torch", "numpy"):
        with pytest.raises(UserInputError, match=expected):
            corrupt_batch(images, "gaussian_noise", 2, seeds, sampler=sampler)


@pytest.mark.parametrize(
    "seeds",
    [np.array([3, 2**32 - 1], dtype=np.int64), np.array([3, 2**32 - 1], dtype=np.uint32),
     [np.int64(3), np.uint64(2**32 - 1)], torch.tensor([3, 2**32 - 1]), range(3, 3)],
)  # fmt: skip
def test_integer_seed_arrays_and_numpy_scalars_equal_python_ints(seeds):
    as_list = [int(s) for s in seeds]
    images = nchw(photo(0, 16)[None]).repeat(len(as_list), 1, 1, 1)
    for sampler in ("torch", "numpy"):
        expected = corrupt_batch(images, "gaussian_noise", 2, as_list, sampler=sampler)
        assert torch.equal(corrupt_batch(images, "gaussian_noise", 2, seeds, sampler=sampler), expected)
    if as_list:  # the largest seed RandomState takes is used as given: same as the numpy path
        got = hwc(corrupt_batch(images[1:], "gaussian_noise", 2, [2**32 - 1], sampler="numpy"))[0]
        want = registry()["gaussian_noise"](photo(0, 16), 2, rng=np.random.RandomState(2**32 - 1))
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


@pytest.mark.parametrize("severity", [True, 3.0, np.float32(2), 0, 6, "2"])
def test_batched_severity_must_be_an_integer_1_to_5(severity):
    images = nchw(photo(0, 16)[None])
    with pytest.raises(UserInputError, match="severity must be an integer from 1 to 5"):
        corrupt_batch(images, "gaussian_noise", severity, [1])
    with pytest.raises(UserInputError, match="severity must be an integer from 1 to 5"):
        transform_batch(images, "gaussian_noise", severity, [{}])


def test_numpy_integer_severity_equals_the_python_int_in_batches():
    images = nchw(photo(0, 16)[None])
    expected = corrupt_batch(images, "gaussian_noise", 4, [9])
    assert torch.equal(corrupt_batch(images, "gaussian_noise", np.int64(4), [9]), expected)
    assert not torch.equal(corrupt_batch(images, "gaussian_noise", 1, [9]), expected)


def test_other_batch_mistakes_are_user_errors_saying_what_to_do():
    image = torch.zeros((2, 3, 8, 8), dtype=torch.uint8)
    with pytest.raises(UserInputError, match="must be a torch.Tensor.*corruptions.corrupt"):
        corrupt_batch(np.zeros((2, 8, 8, 3), np.uint8), "gaussian_noise", 1, [1, 2])
    with pytest.raises(UserInputError, match=r"permute\(0, 3, 1, 2\)"):
        corrupt_batch(image.permute(0, 2, 3, 1), "gaussian_noise", 1, [1, 2])
    with pytest.raises(UserInputError, match="torch.int64"):
        corrupt_batch(image.long(), "gaussian_noise", 1, [1, 2])
    with pytest.raises(UserInputError, match="unknown preset 'cifar10'"):
        corrupt_batch(image, "gaussian_noise", 1, [1, 2], preset="cifar10")
    with pytest.raises(UserInputError, match="did you mean gaussian_noise"):
        corrupt_batch(image, "gaussian_nois", 1, [1, 2])
    with pytest.raises(UserInputError, match="one parameter dict per image: 2 images, 1 dicts"):
        transform_batch(image, "gaussian_noise", 1, [{}])


# ------------------------------------------------------------------ own sampler, same distribution


@pytest.mark.parametrize(
    "name,severity",
    [("gaussian_noise", 3), ("shot_noise", 4), ("impulse_noise", 2), ("speckle_noise", 5),
     ("glass_blur", 3), ("motion_blur", 2), ("fog", 3), ("frost", 2), ("snow", 3),
     ("elastic_transform", 2)],
)  # fmt: skip
def test_torch_sampler_matches_the_numpy_distribution(name, severity):
    """Per-pixel mean and variance over repeated draws: torch sampler vs numpy path.

    Means must agree within 5 standard errors at every subpixel, and the pixel-averaged
    variance within 5 standard errors of its own estimate (draws of one field are
    correlated across pixels, so its error comes from the per-draw spread). Weather
    layers on 32 px images use the cifar preset.
    """
    preset = "cifar" if name in ("fog", "frost", "snow") else "imagenet"
    image = photo(0, 32)
    draws = 300
    seeds = list(range(1000, 1000 + draws))
    ours = hwc(corrupt_batch(nchw(image[None]).repeat(draws, 1, 1, 1), name, severity, seeds,
                             preset=preset)).astype(np.float64)  # fmt: skip
    corruption = registry()[name]
    ref = np.stack(
        [
            corruption(image, severity, rng=np.random.RandomState(s + 7919), preset=preset)
            for s in seeds
        ]
    ).astype(np.float64)
    se = np.sqrt(ours.var(0, ddof=1) / draws + ref.var(0, ddof=1) / draws)
    gap = np.abs(ours.mean(0) - ref.mean(0))
    assert np.all(gap <= 5 * se + 1e-9), (name, float((gap / (se + 1e-12)).max()))

    def averaged_variance(samples: np.ndarray) -> tuple[float, float]:
        per_draw = ((samples - samples.mean(0)) ** 2).reshape(draws, -1).mean(1)
        return float(per_draw.mean()), float(per_draw.std(ddof=1) / np.sqrt(draws))

    (v_ours, se_ours), (v_ref, se_ref) = averaged_variance(ours), averaged_variance(ref)
    assert v_ref > 1.0, "the corruption should vary between draws"
    assert abs(v_ours - v_ref) <= 5 * np.hypot(se_ours, se_ref), (name, v_ours, v_ref)


# ------------------------------------------------------------------ building blocks


@pytest.mark.parametrize("mode", ["nearest", "reflect", "mirror"])
@pytest.mark.parametrize("sigma", [0.7, 3.0, 6.0])
def test_gaussian_filter_matches_scipy(mode, sigma):
    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 20, 13))
    expected = ndimage.gaussian_filter(x, (0, 0, sigma, sigma), mode=mode, truncate=4.0)
    got = gaussian_filter(torch.from_numpy(x), sigma, mode).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_filter2d_matches_opencv():
    rng = np.random.default_rng(1)
    x = rng.random((30, 25)).astype(np.float32)
    kernel = rng.random((17, 17)).astype(np.float32)
    expected = cv2.filter2D(x, -1, kernel)
    got = filter2d(torch.from_numpy(x)[None, None], kernel, "mirror")[0, 0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("size,d", [((224, 224), 1), ((40, 31), 2), ((50, 50), 4)])
def test_glass_sources_equal_the_numpy_chains(size, d):
    """Exact: the batched pointer jumping gives the numpy path's copy sources."""
    h, w = size
    rng = np.random.RandomState(3)
    offsets = rng.randint(-d, d, size=(2, h - 2 * d, w - 2 * d, 2))
    got = glass_sources(h, w, d, torch.from_numpy(offsets)).numpy()
    for i in range(2):
        np.testing.assert_array_equal(got[i], glass_shuffle_sources(h, w, d, offsets[i]))


def test_glass_sources_follow_the_sequential_copy_on_a_small_case():
    """Against the reference's literal loop on a 9x9 index image (one pass, d=2)."""
    h = w = 9
    d = 2
    rng = np.random.RandomState(11)
    offsets = rng.randint(-d, d, size=(h - 2 * d, w - 2 * d, 2))
    x = np.arange(h * w).reshape(h, w)
    k = 0
    for row in range(h - d, d, -1):
        for col in range(w - d, d, -1):
            dx, dy = offsets.reshape(-1, 2)[k]
            k += 1
            x[row, col] = x[row + dy, col + dx]
    got = glass_sources(h, w, d, torch.from_numpy(offsets[None]))[0].numpy()
    np.testing.assert_array_equal(got, x.ravel())


@pytest.mark.parametrize("src,dst", [((224, 224), (134, 134)), ((37, 50), (11, 23)),
                                     ((11, 23), (37, 50)), ((64, 48), (64, 17))])  # fmt: skip
def test_pil_box_resize_is_exact(src, dst):
    """Bit-equal to ``Image.resize(..., Image.BOX)``, down- and up-sampling, odd ratios."""
    from PIL import Image

    from corruptions.batched.digital import pil_box_resize

    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, (*src, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(img).resize((dst[1], dst[0]), Image.BOX))
    got = hwc(pil_box_resize(nchw(img[None]), *dst))[0]
    np.testing.assert_array_equal(got, expected)


def test_poisson_counts_invert_the_poisson_cdf():
    """Hand-checkable inversion: u at CDF(k) gives k, u just above it gives k + 1."""
    from scipy import stats

    from corruptions.batched.noise import poisson_counts

    photons = 60.0
    level = 128
    rate = level / 255 * photons
    ks = np.arange(5, 60, 7)
    cdf = stats.poisson.cdf(ks, rate)
    u = torch.from_numpy(np.concatenate([cdf, np.nextafter(cdf, 2)]))
    levels = torch.full(u.shape, level, dtype=torch.uint8)
    got = poisson_counts(levels, photons, u).numpy()
    np.testing.assert_array_equal(got, np.concatenate([ks, ks + 1]))
    zero = poisson_counts(torch.zeros(3, dtype=torch.uint8), photons, torch.rand(3, dtype=torch.float64))
    assert zero.tolist() == [0, 0, 0]  # level 0: rate 0


@pytest.mark.parametrize("photons", [3.0, 60.0, 500.0])
def test_poisson_counts_follow_the_poisson_pmf(photons):
    """Chi-square goodness of fit against scipy's pmf, per level, on 40,000 draws each."""
    from scipy import stats

    from corruptions.batched.noise import poisson_counts

    draws = 40_000
    gen = torch.Generator().manual_seed(0)
    for level in (1, 37, 200, 255):
        rate = level / 255 * photons
        u = torch.rand(draws, generator=gen, dtype=torch.float64)
        counts = poisson_counts(torch.full((draws,), level, dtype=torch.uint8), photons, u).numpy()
        lo, hi = stats.poisson.ppf([1e-4, 1 - 1e-4], rate).astype(int)
        edges = np.arange(lo, hi + 2)
        observed = np.array([(counts < lo).sum(), *np.histogram(counts, edges)[0], (counts > hi).sum()])
        probs = np.array([stats.poisson.cdf(lo - 1, rate), *stats.poisson.pmf(edges[:-1], rate),
                          stats.poisson.sf(hi, rate)])  # fmt: skip
        expected = probs * draws
        keep = expected >= 5  # pool the sparse tails into one cell
        obs = np.append(observed[keep], observed[~keep].sum())
        exp = np.append(expected[keep], expected[~keep].sum())
        if exp[-1] == 0:
            obs, exp = obs[:-1], exp[:-1]
        p_value = stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue
        assert p_value > 1e-4, (photons, level, p_value)


@pytest.mark.parametrize("name", ["glass_blur", "shot_noise", "elastic_transform", "snow", "contrast"])
def test_cpu_chunking_does_not_change_results(name, monkeypatch):
    """A CPU batch is run in chunks; with per-image generators the chunk size is invisible."""
    import corruptions.batched as batched

    images = nchw(np.stack([photo(i % 3, 48) for i in range(5)]))
    seeds = [21, 22, 23, 24, 25]
    monkeypatch.setattr(batched, "CPU_CHUNK_SUBPIXELS", 10**9)
    whole = corrupt_batch(images, name, 3, seeds)
    monkeypatch.setattr(batched, "CPU_CHUNK_SUBPIXELS", 2 * 3 * 48 * 48)  # chunks of 2 images
    assert torch.equal(corrupt_batch(images, name, 3, seeds), whole)
