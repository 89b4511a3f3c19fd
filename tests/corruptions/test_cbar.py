"""ImageNet-C-bar: vectorised transforms against per-pixel transcriptions of the published
definitions on small images, plus shapes, dtypes, determinism and severity monotonicity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from corruptions.cbar import CORRUPTIONS, NAMES, PerlinTables
from corruptions.params.cbar import TABLES

BY_NAME = {c.name: c for c in CORRUPTIONS}
SIZE = 24


def _photo(size=SIZE, seed=0) -> np.ndarray:
    """A smooth colour image with some edges (not pure noise)."""
    ys, xs = np.mgrid[0:size, 0:size] / size
    rng = np.random.RandomState(seed)
    base = np.stack([128 + 90 * np.sin(6 * xs + 1), 128 + 90 * np.cos(5 * ys), 255 * (xs * ys)], axis=2)
    base[size // 3 : size // 2, size // 4 : 3 * size // 4] = [30, 200, 60]
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def _params(name, severity=3, size=SIZE, seed=1):
    return BY_NAME[name].sample_parameters(np.random.RandomState(seed), severity, (size, size, 3), "imagenet")


def test_the_ten_names_and_published_levels():
    assert set(NAMES) == {
        "blue_noise_sample", "brownish_noise", "caustic_refraction", "checkerboard_cutout",
        "cocentric_sine_waves", "inverse_sparkles", "perlin_noise", "plasma_noise",
        "single_frequency_greyscale", "sparkles",
    }  # fmt: skip
    assert TABLES["imagenet"]["caustic_refraction"] == [2.35, 3.2, 4.9, 6.6, 9.15]
    assert TABLES["imagenet"]["blue_noise_sample"] == [0.8, 1.6, 2.4, 4.0, 5.6]
    for c in CORRUPTIONS:
        assert (c.family, c.benchmark) == ("cbar", "imagenet-c-bar")
        levels = TABLES["imagenet"][c.name]
        assert levels == sorted(levels) and len(levels) == 5


@pytest.mark.parametrize("name", sorted(NAMES))
def test_shape_dtype_determinism(name):
    image = _photo()
    c = BY_NAME[name]
    a = c(image, 3, np.random.RandomState(7))
    b = c(image, 3, np.random.RandomState(7))
    assert a.shape == image.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, image)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_severity_is_monotonic_in_mean_absolute_change(name):
    """Same random state at every severity: mean |corrupted - clean| (0-255), averaged over
    4 draws on a 64 px image, never decreases and rises from severity 1 to 5."""
    image = _photo(64)
    change = []
    for severity in range(1, 6):
        diffs = [np.abs(BY_NAME[name](image, severity, np.random.RandomState(s)).astype(float) - image).mean()
                 for s in range(4)]  # fmt: skip
        change.append(np.mean(diffs))
    assert all(b >= a - 1e-9 for a, b in zip(change, change[1:])), change
    assert change[-1] > change[0], change


# ------------------------------------------------------------------ per-pixel oracles
def _clip8(value):
    return np.uint8(min(max(value, 0), 255)) if np.isscalar(value) else np.clip(value, 0, 255).astype(np.uint8)


def test_single_frequency_greyscale_per_pixel():
    image, p = _photo(), _params("single_frequency_greyscale")
    assert p["intensity"] == pytest.approx(2.0 * 196 / 10)
    expected = np.empty_like(image)
    for y in range(SIZE):
        for x in range(SIZE):
            wave = math.sin(x * p["freq"][0] + y * p["freq"][1] + p["phase"])
            expected[y, x] = _clip8(image[y, x] + p["intensity"] * wave)
    assert np.array_equal(BY_NAME["single_frequency_greyscale"].transform(image, p, 3, "imagenet"), expected)


def test_cocentric_sine_waves_per_pixel():
    image, p = _photo(), _params("cocentric_sine_waves")
    x0, y0 = p["offset"]
    expected = np.empty_like(image)
    for y in range(SIZE):
        for x in range(SIZE):
            theta = math.atan2(x - x0, y - y0) * p["freq"]
            r = math.hypot(x - x0, y - y0) + math.sin(theta) * p["amplitude"]
            ring = (r % p["ring_width"]) / p["ring_width"] - 0.5
            expected[y, x] = _clip8(image[y, x] + np.array(p["intensity"]) * ring)
    out = BY_NAME["cocentric_sine_waves"].transform(image, p, 3, "imagenet")
    assert np.abs(out.astype(int) - expected).max() <= 1


def test_checkerboard_cutout_per_pixel():
    image, p = _photo(), _params("checkerboard_cutout", severity=5)
    s = p["scales"][0]
    n = int(4 * SIZE // s)
    cut = np.random.RandomState(p["seed"]).uniform(size=(n, n)) < p["fraction"]
    expected = image.copy()
    for y in range(SIZE):
        for x in range(SIZE):
            u = (math.cos(p["angle"]) * y + math.sin(p["angle"]) * x) / s
            v = (-math.sin(p["angle"]) * y + math.cos(p["angle"]) * x) / s
            if int(u % 2) == int(v % 2) and cut[int(u), int(v)]:
                expected[y, x] = 128
    assert np.array_equal(BY_NAME["checkerboard_cutout"].transform(image, p, 5, "imagenet"), expected)


def _star_pixel(y, x, value, center, radius, lengths, amount, inverse):
    rays = len(lengths)
    dy, dx = y - center[0], x - center[1]
    dist = math.hypot(dy, dx)
    d = (math.atan2(dx, dy) + math.pi) / (2 * math.pi) * rays
    i = int(d)
    f = d - i
    length = lengths[i % rays] + f * (lengths[(i + 1) % rays] - lengths[i % rays])
    g = (length**2 / (dist**2 + 1e-4)) ** ((100 - amount) / 50.0)
    w = min(max((1 - (f - 0.5) ** 2) * g, 0.0), 1.0)
    return 255.0 + w * (value - 255.0) if inverse else value + w * (255.0 - value)


def test_sparkles_per_pixel():
    image, p = _photo(), _params("sparkles", severity=5)
    draws = np.random.RandomState(p["seed"])
    current = image.astype(np.float64)
    for center, rays, radius in zip(p["centers"], p["nrays"], p["radii"]):
        lengths = [max(1.0, radius + 0.25 * radius * draws.randn()) for _ in range(rays)]
        nxt = np.empty_like(current)
        for y in range(SIZE):
            for x in range(SIZE):
                value = current[y, x].astype(np.float32).astype(np.float64)
                nxt[y, x] = _star_pixel(y, x, value, center, radius, lengths, 50, inverse=False)
        current = nxt
    out = BY_NAME["sparkles"].transform(image, p, 5, "imagenet")
    assert np.abs(out.astype(int) - _clip8(current)).max() <= 1


def test_inverse_sparkles_per_pixel():
    image, p = _photo(), _params("inverse_sparkles", severity=4)
    draws = np.random.RandomState(p["seed"])
    lengths = [p["radius"] + 0.25 * p["radius"] * draws.randn() for _ in range(p["rays"])]
    expected = np.empty_like(image)
    for y in range(SIZE):
        for x in range(SIZE):
            expected[y, x] = _clip8(_star_pixel(y, x, image[y, x].astype(np.float64), p["center"], p["radius"],
                                                lengths, p["amount"], inverse=True))  # fmt: skip
    out = BY_NAME["inverse_sparkles"].transform(image, p, 4, "imagenet")
    assert np.abs(out.astype(int) - expected).max() <= 1


def test_plasma_noise_per_pixel():
    image, p = _photo(), _params("plasma_noise")
    expected = np.empty_like(image)
    for y0 in range(SIZE):
        for x0 in range(SIZE):
            x, y = x0 / p["scale"], y0 / p["scale"]
            a, b, c, d = 1.0, 1.0, 1.0, 0.0
            for _ in range(p["iterations"]):
                r0 = math.cos(y * a - d + p["time"] / b) / c
                r1 = math.sin(x * a - d + p["time"] / b) / c
                r0, r1 = r0 - 0.3 * r1, r1 + 0.3 * r0
                x, y = x + r0, y + r1
                a, b, c, d = a * 1.93, b * 1.15, c * (2.25 - p["sharpness"]), d * p["time"] * b
            rgb = np.array([math.sin(x - p["time"]), math.sin((x + y + math.sin(p["time"])) * 0.5),
                            math.sin(y + p["time"])])  # fmt: skip
            k = p["intensity"]
            expected[y0, x0] = _clip8((1 - k / 255) * image[y0, x0] + k * rgb)
    out = BY_NAME["plasma_noise"].transform(image, p, 3, "imagenet")
    assert np.abs(out.astype(int) - expected).max() <= 1


def _perlin_point(tables: PerlinTables, x: float, y: float) -> float:
    """Scalar gradient noise, written out from Perlin (1985)."""
    def s_curve(t):
        return t * t * (3.0 - 2.0 * t)

    tx, ty = x + 4096, y + 4096
    bx0, by0 = int(tx) % 256, int(ty) % 256
    bx1, by1 = (bx0 + 1) % 256, (by0 + 1) % 256
    rx0, ry0 = tx % 1, ty % 1
    p, g = tables.p, tables.g

    def dot(k, rx, ry):
        return rx * g[k, 0] + ry * g[k, 1]

    i, j = p[bx0], p[bx1]
    a = dot(p[i + by0], rx0, ry0) + s_curve(rx0) * (dot(p[j + by0], rx0 - 1, ry0) - dot(p[i + by0], rx0, ry0))
    b = dot(p[i + by1], rx0, ry0 - 1) + s_curve(rx0) * (
        dot(p[j + by1], rx0 - 1, ry0 - 1) - dot(p[i + by1], rx0, ry0 - 1))
    return 1.5 * (a + s_curve(ry0) * (b - a))


def test_perlin_tables_and_noise_per_pixel():
    p = _params("perlin_noise", severity=5)
    tables = PerlinTables(np.random.RandomState(p["seed"]))
    # the permutation is a permutation of 0..255, repeated; gradients are unit vectors
    assert sorted(tables.p[:256]) == list(range(256))
    assert np.array_equal(tables.p[256:512], tables.p[:256]) and np.array_equal(tables.p[512:], tables.p[:2])
    assert np.allclose(np.linalg.norm(tables.g, axis=1), 1.0)
    image = _photo()
    expected = np.empty_like(image)
    for y in range(SIZE):
        for x in range(SIZE):
            u, v = y / p["period"], x / p["period"]
            turb = sum(abs(_perlin_point(tables, f * u, f * v)) / f for f in (1, 2, 4, 8, 16))
            grey = min(max(0.5 * turb + 0.5, 0.0), 1.0)
            expected[y, x] = _clip8((1 - p["alpha"]) * image[y, x].astype(np.float32) + 255 * p["alpha"] * grey)
    out = BY_NAME["perlin_noise"].transform(image, p, 5, "imagenet")
    assert np.abs(out.astype(int) - expected).max() <= 1


def test_caustic_refraction_per_pixel():
    """Snell refraction of (0, 0, 1) through the caustic height field, written with an
    explicit rotation matrix as the paper's shader does, then bilinear lookup and lighting."""
    from scipy.ndimage import gaussian_filter

    from corruptions.cbar import caustic_pattern

    image, p = _photo(), _params("caustic_refraction", severity=4)
    luma = gaussian_filter(caustic_pattern(image.shape, p["time"], p["size"]), sigma=1)
    unit = image.astype(np.float32) / 255

    def at(arr, y, x):
        return arr[y, x] if 0 <= y < SIZE and 0 <= x < SIZE else 0.0 * arr[0, 0]

    expected = np.empty_like(image)
    for y in range(SIZE):
        for x in range(SIZE):
            north, south = at(luma, y, x - 1), at(luma, y, x + 1)
            west, east = at(luma, y - 1, x), at(luma, y + 1, x)
            n = np.array([east - west, south - north, 1.0])
            n /= np.linalg.norm(n)
            incident = np.array([0.0, 0.0, 1.0])
            if abs(n @ incident) >= 1 - 1e-3:
                ray = incident
            else:
                out_angle = math.asin(math.sin(math.acos(n @ incident)) / p["eta"])
                spectator = np.cross(incident, n)
                spectator /= np.linalg.norm(spectator)
                rotation = np.stack([n, np.cross(n, spectator), spectator])
                ray = np.linalg.inv(rotation) @ np.array([math.cos(out_angle), math.sin(out_angle), 0.0])
            ray = np.round(ray * p["lens_scale"], 3)
            py, px = y + ray[0], x + ray[1]
            r, c = math.floor(py), math.floor(px)
            fy, fx = py - r, px - c
            value = ((at(unit, r, c) * (1 - fx) + at(unit, r, c + 1) * fx) * (1 - fy)
                     + (at(unit, r + 1, c) * (1 - fx) + at(unit, r + 1, c + 1) * fx) * fy)  # fmt: skip
            value = value + (north - south) * p["lighting_amount"] + (east - west) * p["lighting_amount"]
            expected[y, x] = (np.clip(value, 0, 1) * 255).astype(np.uint8)
    out = BY_NAME["caustic_refraction"].transform(image, p, 4, "imagenet")
    assert np.abs(out.astype(int) - expected).max() <= 1


@pytest.mark.parametrize(("amplitude", "blue"), [(lambda d: d, True), (lambda d: 1 / (d**2 + 1), False)])
def test_fourier_noise_colour(amplitude, blue):
    """Unit-std real fields; blue noise (amplitude ~ |k|) puts most power at high spatial
    frequencies, brownish noise (~ 1/(|k|^2+1)) at low ones."""
    from corruptions.cbar import fourier_noise

    side = 32
    noise = fourier_noise(np.random.RandomState(3), side, amplitude)
    assert noise.shape == (side, side) and noise.dtype == np.float64
    assert abs(noise.std() - 1) < 1e-9
    power = np.abs(np.fft.fftshift(np.fft.fft2(noise))) ** 2
    ys, xs = np.mgrid[0:side, 0:side]
    radius = np.hypot(xs - side / 2, ys - side / 2)
    high_share = power[radius > side / 4].sum() / power.sum()
    assert (high_share > 0.8) if blue else (high_share < 0.2), high_share


def test_blue_noise_sample_blacks_out_below_threshold_and_needs_square():
    image, p = _photo(), _params("blue_noise_sample", severity=5)
    out = BY_NAME["blue_noise_sample"].transform(image, p, 5, "imagenet")
    kept = (out == image).all(axis=2)
    assert ((out[~kept] == 0).all()) and 0 < kept.mean() < 1
    with pytest.raises(ValueError, match="square"):
        BY_NAME["blue_noise_sample"](_photo()[:, :20], 3, np.random.RandomState(0))
