"""ImageNet-C-bar: the ten corruptions of Mintun, Kirillov & Xie (2021), vectorised.

This is **not ImageNet-C**: a separate benchmark of corruptions chosen to be dissimilar to
ImageNet-C's (``benchmark="imagenet-c-bar"``, ``family="cbar"``). The definitions follow
``imagenet_c_bar/corrupt.py`` of facebookresearch/augmentation-corruption, where every
transform is a per-pixel Python loop; here each is computed on whole coordinate grids.

Conventions

* Images are uint8 HxWx3 (0-255); ``y`` is the row index, ``x`` the column index, both
  in pixels from the top-left corner, as in the reference's ``noise[y][x]`` loops.
* Severity 1-5 selects the published *level* (0-10, :mod:`corruptions.params.cbar`);
  parameters are ``level * maxval / 10`` (:func:`level_fraction`).
* ``side`` is the reference's ``im_size`` (224 for ImageNet): here ``min(H, W)``, so sizes
  scale with the image. The two Fourier-noise corruptions need square images, as in the
  reference (crop first).
* ``sample_parameters`` draws from the given ``RandomState`` in the reference's order
  (so the same state gives the same parameters); ``transform`` is pure. Results agree with
  the per-pixel reference up to floating-point rounding (at most one grey level where a
  value sits on a truncation boundary).
"""

from __future__ import annotations

import numpy as np
from scipy.fft import ifft2
from scipy.ndimage import gaussian_filter

from .base import Corruption, Params
from .params import severity_params
from .params.cbar import TABLES

LUMA = (0.2126, 0.7152, 0.0722)  # Rec. 709 weights the reference uses


def level_fraction(level: float, maxval: float) -> float:
    """The reference's ``float_parameter``: ``level * maxval / 10``."""
    return float(level) * maxval / 10.0


def _level(name: str, severity: int, preset: str) -> float:
    return float(severity_params(TABLES, preset, name, severity))


def _side(shape: tuple[int, ...]) -> int:
    return int(min(shape[0], shape[1]))


def _grid(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Row (y) and column (x) coordinates, float64, shape HxW."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    return ys.astype(np.float64), xs.astype(np.float64)


def _add_and_truncate(values: np.ndarray) -> np.ndarray:
    return np.clip(values, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- single_frequency_greyscale
def _sample_single_frequency(rng, severity, shape, preset) -> Params:
    magnitude = rng.uniform(low=-np.pi, high=np.pi)
    other = rng.uniform(low=-abs(magnitude), high=abs(magnitude))
    freq = np.array([magnitude, other])[rng.permutation(2)]
    phase = rng.uniform(low=0, high=2 * np.pi)
    level = _level("single_frequency_greyscale", severity, preset)
    return {"freq": freq, "phase": phase, "intensity": level_fraction(level, 196)}


def _single_frequency(image, params, severity, preset) -> np.ndarray:
    """A grey plane wave ``intensity * sin(x f0 + y f1 + phase)`` added to every channel."""
    ys, xs = _grid(image.shape)
    wave = np.sin(xs * params["freq"][0] + ys * params["freq"][1] + params["phase"])
    return _add_and_truncate(image + params["intensity"] * wave[..., None])


# ---------------------------------------------------------------- cocentric_sine_waves
def _sample_cocentric(rng, severity, shape, preset) -> Params:
    side = _side(shape)
    offset = rng.uniform(low=0, high=side, size=2)
    freq = rng.uniform(low=0, high=10)
    amplitude = rng.uniform(low=0, high=side / 10)
    ring_width = rng.uniform(low=0, high=side / 10)
    intensity = level_fraction(_level("cocentric_sine_waves", severity, preset), 128)
    return {"offset": offset, "freq": freq, "amplitude": amplitude, "ring_width": ring_width,
            "intensity": [intensity] * 3}  # fmt: skip


def _cocentric(image, params, severity, preset) -> np.ndarray:
    """Rings around ``offset`` (x0, y0) whose radius wobbles with the angle; values in
    [-1/2, 1/2) scaled by ``intensity`` per channel and added."""
    ys, xs = _grid(image.shape)
    dx, dy = xs - params["offset"][0], ys - params["offset"][1]
    angle = np.arctan2(dx, dy) * params["freq"]
    width = params["ring_width"]
    ring = ((np.sqrt(dx**2 + dy**2) + np.sin(angle) * params["amplitude"]) % width) / width - 0.5
    noise = np.stack([k * ring for k in params["intensity"]], axis=2)
    return _add_and_truncate(image + noise)


# ---------------------------------------------------------------- plasma_noise
def _sample_plasma(rng, severity, shape, preset) -> Params:
    time = rng.uniform(low=0.0, high=6 * np.pi)
    iterations = rng.randint(low=4, high=7)
    sharpness = rng.uniform(low=0.5, high=1.0)
    scale = rng.uniform(low=0.075, high=0.2) * _side(shape)
    intensity = level_fraction(_level("plasma_noise", severity, preset), 64)
    return {"time": time, "iterations": iterations, "sharpness": sharpness, "scale": scale,
            "intensity": intensity}  # fmt: skip


def plasma_field(shape, time, iterations, sharpness, scale) -> np.ndarray:
    """The iterated sine-warp colour field (HxWx3, values in [-1, 1])."""
    ys, xs = _grid(shape)
    x, y = xs / scale, ys / scale
    state = np.array([1.0, 1.0, 1.0, 0.0])
    for _ in range(iterations):
        r0 = np.cos(y * state[0] - state[3] + time / state[1]) / state[2]
        r1 = np.sin(x * state[0] - state[3] + time / state[1]) / state[2]
        r0, r1 = r0 - 0.3 * r1, r1 + 0.3 * r0
        x, y = x + r0, y + r1
        state = state * np.array([1.93, 1.15, 2.25 - sharpness, time * state[1]])
    red = np.sin(x - time)
    blue = np.sin(y + time)
    green = np.sin((x + y + np.sin(time)) * 0.5)
    return np.stack([red, green, blue], axis=2)


def _plasma(image, params, severity, preset) -> np.ndarray:
    field = plasma_field(image.shape, params["time"], params["iterations"], params["sharpness"],
                         params["scale"])  # fmt: skip
    k = params["intensity"]
    return _add_and_truncate((1 - k / 255) * image + k * field)


# ---------------------------------------------------------------- caustic_refraction
def _sample_caustic(rng, severity, shape, preset) -> Params:
    side = _side(shape)
    time = rng.uniform(low=0.5, high=2.0)
    size = rng.uniform(low=0.75, high=1.25) * side
    level = _level("caustic_refraction", severity, preset)
    return {"time": time, "size": size, "eta": 4.0, "lens_scale": level_fraction(level, 0.5 * side),
            "lighting_amount": level_fraction(level, 2.0), "softening": 1}  # fmt: skip


def caustic_pattern(shape, time, size) -> np.ndarray:
    """Grey caustic light pattern in [0, 1], HxW (the water-surface shader of the reference)."""
    ys, xs = _grid(shape)
    p0 = (ys / size % 1) * 6.28318530718 - 250
    p1 = (xs / size % 1) * 6.28318530718 - 250
    i0, i1 = p0.copy(), p1.copy()
    c = np.ones_like(p0)
    inten = 0.005
    for n in range(5):
        t = time * (1.0 - (3.5 / (n + 1)))
        i0, i1 = p0 + np.cos(t - i0) + np.sin(t + i1), p1 + np.sin(t - i1) + np.cos(t + i0)
        length = np.sqrt((p0 / (np.sin(i0 + t) / inten)) ** 2 + (p1 / (np.cos(i1 + t) / inten)) ** 2)
        c += 1.0 / length
    c = 1.17 - (c / 5.0) ** 1.4
    return np.clip(np.abs(c) ** 8.0, 0, 1)


def _shifted(values: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``values[y + dy, x + dx]``, zero outside the image."""
    out = np.zeros_like(values)
    h, w = values.shape
    out[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)] = values[
        max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)
    ]
    return out


def bilinear_zero(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear samples of HxWxC ``image`` at fractional (rows, cols); outside = 0."""
    h, w = image.shape[:2]
    r0, c0 = np.floor(rows).astype(np.int64), np.floor(cols).astype(np.int64)
    fr, fc = rows - r0, cols - c0

    def at(r, c):
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        vals = image[np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)]
        return np.where(inside[..., None], vals, 0.0)

    top = at(r0, c0) * (1.0 - fc)[..., None] + at(r0, c0 + 1) * fc[..., None]
    bottom = at(r0 + 1, c0) * (1.0 - fc)[..., None] + at(r0 + 1, c0 + 1) * fc[..., None]
    return top * (1.0 - fr)[..., None] + bottom * fr[..., None]


def _caustic(image, params, severity, preset) -> np.ndarray:
    """Refract the image through a lens whose height is the caustic pattern, and light it."""
    pattern = gaussian_filter(caustic_pattern(image.shape, params["time"], params["size"]),
                              sigma=params["softening"])  # fmt: skip
    luma = pattern * LUMA[0] + pattern * LUMA[1] + pattern * LUMA[2]  # grey: channels equal
    north, south = _shifted(luma, 0, -1), _shifted(luma, 0, 1)
    west, east = _shifted(luma, -1, 0), _shifted(luma, 1, 0)
    n = np.stack([east - west, south - north, np.ones_like(luma)], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    # refract the ray (0, 0, 1) at the surface with normal n (Snell, index eta); the
    # result is cos(out) * n + sin(out) * o with o the unit vector in the plane of
    # incidence orthogonal to n
    straight = np.abs(n[..., 2]) >= 1.0 - 1e-3
    out_angle = np.arcsin(np.sin(np.arccos(np.clip(n[..., 2], -1, 1))) / params["eta"])
    s = np.stack([-n[..., 1], n[..., 0], np.zeros_like(luma)], axis=-1)
    s /= np.where(straight, 1.0, np.linalg.norm(s, axis=-1))[..., None]
    o = np.cross(n, s)
    ray = np.cos(out_angle)[..., None] * n + np.sin(out_angle)[..., None] * o
    ray = np.where(straight[..., None], np.array([0.0, 0.0, 1.0]), ray)
    ray = np.round(ray * params["lens_scale"], 3)
    ys, xs = _grid(image.shape)
    unit = image.astype(np.float32) / 255
    out = bilinear_zero(unit, ys + ray[..., 0], xs + ray[..., 1])
    light = ((north - south) + (east - west)) * params["lighting_amount"]
    out = np.clip(out + light[..., None], 0, 1)
    return np.clip((out * 255).astype(np.uint8), 0, 255)


# ---------------------------------------------------------------- sparkles / inverse_sparkles
def _star_weight(ys, xs, center, radius, ray_lengths, amount) -> np.ndarray:
    """Per-pixel blend weight in [0, 1] of a star with ``len(ray_lengths)`` rays at ``center``
    (row, col); rays are interpolated linearly in angle and fall off as length^2 / dist^2."""
    rays = len(ray_lengths)
    dy, dx = ys - center[0], xs - center[1]
    dist = np.sqrt(dy**2 + dx**2)
    d = (np.arctan2(dx, dy) + np.pi) / (2 * np.pi) * rays
    i = np.floor(d).astype(np.int64)
    f = d - i
    if radius != 0:
        lengths = np.asarray(ray_lengths, dtype=np.float64)
        low, high = lengths[i % rays], lengths[(i + 1) % rays]
        g = (low + f * (high - low)) ** 2 / (dist**2 + 1e-4)
        g = g ** ((100 - amount) / 50.0)
        f = (1 - (f - 0.5) ** 2) * g
    return np.clip(f, 0, 1)


def _sample_sparkles(rng, severity, shape, preset) -> Params:
    side = _side(shape)
    centers = rng.uniform(low=0, high=side, size=(5, 2))
    radius = level_fraction(_level("sparkles", severity, preset), 0.1) * side
    seed = rng.randint(low=0, high=2**32)
    nrays = rng.randint(low=50, high=200, size=5)
    return {"centers": centers, "radii": np.full(5, radius), "amounts": np.full(5, 50), "color": 255.0,
            "randomness": 25, "seed": seed, "nrays": nrays}  # fmt: skip


def _sparkles(image, params, severity, preset) -> np.ndarray:
    """Five white stars blended over the image one after the other."""
    ys, xs = _grid(image.shape)
    rays_rng = np.random.RandomState(seed=params["seed"])
    out = image
    for center, rays, amount, radius in zip(params["centers"], params["nrays"], params["amounts"],
                                            params["radii"]):  # fmt: skip
        lengths = np.maximum(1, radius + params["randomness"] / 100.0 * radius * rays_rng.randn(rays))
        weight = _star_weight(ys, xs, center, radius, lengths, amount)[..., None]
        value = out.astype(np.float32).astype(np.float64)
        out = value + weight * (params["color"] - value)
    return _add_and_truncate(out)


def _sample_inverse_sparkles(rng, severity, shape, preset) -> Params:
    side = _side(shape)
    center = rng.uniform(low=0.25, high=0.75, size=2) * side
    amount = 100 - level_fraction(_level("inverse_sparkles", severity, preset), 65)
    seed = rng.randint(low=0, high=2**32)
    rays = rng.randint(low=50, high=200)
    return {"center": center, "radius": 0.25 * side, "color": 255.0, "randomness": 25, "seed": seed,
            "rays": rays, "amount": amount}  # fmt: skip


def _inverse_sparkles(image, params, severity, preset) -> np.ndarray:
    """The image seen through one star-shaped hole in a white sheet."""
    ys, xs = _grid(image.shape)
    radius = params["radius"]
    lengths = radius + params["randomness"] / 100.0 * radius * np.random.RandomState(
        seed=params["seed"]).randn(params["rays"])  # fmt: skip
    weight = _star_weight(ys, xs, params["center"], radius, lengths, params["amount"])[..., None]
    value = image.astype(np.float32).astype(np.float64)
    return _add_and_truncate(params["color"] + weight * (value - params["color"]))


# ---------------------------------------------------------------- perlin_noise
class PerlinTables:
    """Ken Perlin's 1985 gradient-noise tables, drawn as the reference draws them."""

    B = 256
    N = 16 * 256

    def __init__(self, rng: np.random.RandomState):
        b = self.B
        raw = (rng.randint(low=0, high=2**31, size=(2 * b + 2, 2)) % (2 * b) - b) / b
        self.g = raw / np.linalg.norm(raw, axis=1, keepdims=True)
        self.p = np.arange(2 * b + 2)
        swaps = rng.randint(low=0, high=2**31, size=b) % b
        for i, j in zip(range(b - 1, -1, -1), swaps):
            self.p[i], self.p[j] = self.p[j], self.p[i]
        # entries b .. 2b+1 repeat 0 .. b+1 (two steps: the last two copy the new values)
        self.p[b : 2 * b] = self.p[:b]
        self.p[2 * b :] = self.p[b : b + 2]
        self.g[b : 2 * b] = self.g[:b]
        self.g[2 * b :] = self.g[b : b + 2]

    def noise(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """2-D gradient noise at arrays of non-negative coordinates."""
        b, p, g = self.B, self.p, self.g
        tx, ty = x + self.N, y + self.N
        bx0, by0 = tx.astype(np.int64) % b, ty.astype(np.int64) % b
        bx1, by1 = (bx0 + 1) % b, (by0 + 1) % b
        rx0, ry0 = tx % 1, ty % 1
        rx1, ry1 = rx0 - 1.0, ry0 - 1.0
        i, j = p[bx0], p[bx1]
        b00, b10, b01, b11 = p[i + by0], p[j + by0], p[i + by1], p[j + by1]
        sx, sy = rx0**2 * (3.0 - 2.0 * rx0), ry0**2 * (3.0 - 2.0 * ry0)
        u = rx0 * g[b00, 0] + ry0 * g[b00, 1]
        v = rx1 * g[b10, 0] + ry0 * g[b10, 1]
        a = u + sx * (v - u)
        u = rx0 * g[b01, 0] + ry1 * g[b01, 1]
        v = rx1 * g[b11, 0] + ry1 * g[b11, 1]
        low = u + sx * (v - u)
        return 1.5 * (a + sy * (low - a))

    def turbulence(self, x: np.ndarray, y: np.ndarray, octaves: float) -> np.ndarray:
        total, f = np.zeros_like(x), 1.0
        while f <= octaves:
            total += np.abs(self.noise(f * x, f * y)) / f
            f *= 2
        return total


def _sample_perlin(rng, severity, shape, preset) -> Params:
    alpha = level_fraction(_level("perlin_noise", severity, preset), 0.50)
    seed = rng.randint(low=0, high=2**32)
    return {"period": 32 * _side(shape) / 224, "turbulence": 16.0, "seed": seed, "gain": 0.5,
            "bias": 0.5, "alpha": alpha}  # fmt: skip


def _perlin(image, params, severity, preset) -> np.ndarray:
    """Blend with grey Perlin turbulence (period 32 px at 224 px): (1-a) img + 255 a noise."""
    tables = PerlinTables(np.random.RandomState(seed=params["seed"]))
    ys, xs = _grid(image.shape)
    scale = 1.0 / params["period"]
    field = tables.turbulence(ys * scale, xs * scale, params["turbulence"])
    field = np.clip(params["gain"] * field + params["bias"], 0, 1.0)[..., None]
    alpha = params["alpha"]
    return _add_and_truncate((1 - alpha) * image.astype(np.float32) + 255 * alpha * field)


# ---------------------------------------------------------------- Fourier noises
def fourier_noise(rng: np.random.RandomState, side: int, power_of_distance) -> np.ndarray:
    """Real noise with amplitude spectrum ``power_of_distance(|k|)`` and random phases,
    normalised to unit standard deviation (side x side)."""
    centre = side / 2
    ys, xs = _grid((side, side))
    power = power_of_distance(np.sqrt((xs - centre) ** 2 + (ys - centre) ** 2))
    half = side // 2
    phases = rng.uniform(low=0, high=2 * np.pi, size=(side, half))
    if side % 2 == 0:
        phases = np.concatenate((phases, phases[::-1, ::-1]), axis=1)
    else:
        middle = rng.uniform(low=0, high=2 * np.pi, size=(half, 1))
        middle = np.concatenate((middle, np.array([[0.0]]), middle[::-1, :]), axis=0)
        phases = np.concatenate((phases, middle, phases[::-1, ::-1]), axis=1)
    spectrum = power * (np.cos(phases) + np.sin(phases) * 1j)
    spectrum = np.roll(np.roll(spectrum, half, axis=0), half, axis=1)
    noise = np.real(ifft2(spectrum))
    return noise / np.std(noise)


def _square_side(image: np.ndarray, name: str) -> int:
    if image.shape[0] != image.shape[1]:
        raise ValueError(f"{name} needs a square image (the reference draws side x side Fourier "
                         f"noise); got {image.shape[0]}x{image.shape[1]}: center-crop it first")  # fmt: skip
    return image.shape[0]


def _sample_blue_noise_sample(rng, severity, shape, preset) -> Params:
    seed = rng.randint(low=0, high=2**32)
    return {"seed": seed, "threshold": level_fraction(_level("blue_noise_sample", severity, preset), 3.0) - 2.5}


def _blue_noise_sample(image, params, severity, preset) -> np.ndarray:
    """Black out pixels where blue noise (amplitude ~ |k|) falls below ``threshold`` (in std)."""
    side = _square_side(image, "blue_noise_sample")
    noise = fourier_noise(np.random.RandomState(seed=params["seed"]), side, lambda d: d)
    return _add_and_truncate(image * (noise > params["threshold"])[..., None])


def _sample_brownish(rng, severity, shape, preset) -> Params:
    seed = rng.randint(low=0, high=2**32)
    return {"seed": seed, "intensity": level_fraction(_level("brownish_noise", severity, preset), 64)}


def _brownish(image, params, severity, preset) -> np.ndarray:
    """Add brownish noise (amplitude ~ 1 / (|k|^2 + 1)), one field per channel."""
    side = _square_side(image, "brownish_noise")
    noise_rng = np.random.RandomState(seed=params["seed"])
    noise = np.stack([fourier_noise(noise_rng, side, lambda d: 1 / (d**2 + 1)) for _ in range(3)], axis=2)
    return _add_and_truncate(image + params["intensity"] * noise)


# ---------------------------------------------------------------- checkerboard_cutout
def _sample_checkerboard(rng, severity, shape, preset) -> Params:
    side = _side(shape)
    angle = rng.uniform(low=0, high=2 * np.pi)
    scale = max(rng.uniform(low=0.1, high=0.25) * side, 1)
    fraction = level_fraction(_level("checkerboard_cutout", severity, preset), 1.0)
    seed = rng.randint(low=0, high=2**32)
    return {"angle": angle, "scales": (scale, scale), "fraction": fraction, "seed": seed, "side": side}


def _checkerboard(image, params, severity, preset) -> np.ndarray:
    """Grey (128) out a random ``fraction`` of the dark squares of a rotated checkerboard."""
    side, (s0, s1), angle = params["side"], params["scales"], params["angle"]
    grid_shape = (int(4 * side // s0), int(4 * side // s1))
    cut = np.random.RandomState(seed=params["seed"]).uniform(size=grid_shape) < params["fraction"]
    ys, xs = _grid(image.shape)
    nx = (np.cos(angle) * ys + np.sin(angle) * xs) / s0
    ny = (-np.sin(angle) * ys + np.cos(angle) * xs) / s1
    ix, iy = np.trunc(nx).astype(np.int64), np.trunc(ny).astype(np.int64)  # Python int(): toward 0
    light = np.floor(nx % 2) != np.floor(ny % 2)
    keep = light | ~cut[ix, iy]  # negative indices wrap, as in the reference
    return np.where(keep[..., None], image, np.uint8(128)).astype(np.uint8)


def _c(name, sample, transform) -> Corruption:
    return Corruption(name, "cbar", sample, transform, benchmark="imagenet-c-bar")


CORRUPTIONS = (
    _c("blue_noise_sample", _sample_blue_noise_sample, _blue_noise_sample),
    _c("brownish_noise", _sample_brownish, _brownish),
    _c("caustic_refraction", _sample_caustic, _caustic),
    _c("checkerboard_cutout", _sample_checkerboard, _checkerboard),
    _c("cocentric_sine_waves", _sample_cocentric, _cocentric),
    _c("inverse_sparkles", _sample_inverse_sparkles, _inverse_sparkles),
    _c("perlin_noise", _sample_perlin, _perlin),
    _c("plasma_noise", _sample_plasma, _plasma),
    _c("single_frequency_greyscale", _sample_single_frequency, _single_frequency),
    _c("sparkles", _sample_sparkles, _sparkles),
)
NAMES = tuple(c.name for c in CORRUPTIONS)
