"""A procedural image world: ten classes of rendered shapes under nuisance factors.

Every image is 64x64 RGB (uint8, HWC), so the corruption generator's
``tiny-imagenet`` preset applies. An image is fully described by its
:class:`Nuisances` row (class, pose, scale, colour, texture, background
clutter, occlusion, contrast), drawn from :func:`sample_nuisances`, whose
``shift`` argument moves the nuisance distribution toward harder images (the
"collected a little later" distribution of the re-collected pool).

Each image also has a *visibility* in (0, 1), a known function of its
nuisances (:func:`visibility`): it sets how often simulated annotators select
the image as showing its class (:func:`annotate`), and it tracks how hard the
image is for a classifier. Rendering is vectorised per class and
deterministic given the nuisances.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

SIZE = 64
HUE_JITTER = 0.07  # each class has a typical object hue, (class + 0.5) / n_classes, +- this
HUE_SHIFT = 0.5  # later pools spread the hues wider: a shift annotators do not see (hue is not
# part of visibility) but models that learned the colour cue do -- the "distribution" part of a gap
SHAPES = (
    "circle", "triangle", "square", "pentagon", "hexagon",
    "star", "cross", "ring", "ellipse", "crescent",
)  # fmt: skip
NOVEL_SHAPES = ("heart", "arrow", "lshape", "hourglass", "tshape")
"""Shapes of classes no demo model is trained on: the out-of-distribution set's objects
(:mod:`robustness.demo.ood`), rendered under the original distribution's nuisances."""


@dataclass
class Nuisances:
    """Per-image factors, one array entry per image. Units: pixels, radians, fractions."""

    label: np.ndarray  # int: index into SHAPES
    angle: np.ndarray  # pose, radians
    scale: np.ndarray  # object circumradius, px
    cx: np.ndarray  # object centre, px
    cy: np.ndarray
    hue: np.ndarray  # object hue (mod 1): the class's typical hue plus jitter
    texture: np.ndarray  # stripe strength, [0, 1]
    texture_freq: np.ndarray  # stripes per px (radians/px)
    texture_angle: np.ndarray
    bg_hue: np.ndarray
    bg_value: np.ndarray  # background brightness, [0, 1]
    clutter: np.ndarray  # int: number of background strokes
    occlusion: np.ndarray  # fraction of the object's box covered, [0, 1)
    contrast: np.ndarray  # object/background contrast, (0, 1]
    seed: np.ndarray  # int: seeds the clutter and occluder placement

    def __len__(self) -> int:
        return len(self.label)

    def take(self, idx) -> Nuisances:
        return Nuisances(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Nuisances]) -> Nuisances:
        return Nuisances(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Nuisances)}
        )


def sample_nuisances(rng: np.random.Generator, n: int, shift: float = 0.0, n_classes: int = 10) -> Nuisances:
    """Draw ``n`` images' nuisances (0: the original distribution).

    ``shift`` >= 0 makes images smaller, busier, more occluded and lower in
    contrast (which annotators see: visibility drops) and spreads object hues
    away from their class's typical hue (which annotators ignore)."""
    scale = rng.uniform(15.0, 27.0, n) - 3.0 * shift
    contrast = np.clip(0.35 + 0.65 * rng.beta(3.0, 1.0, n) - 0.15 * shift, 0.08, 1.0)
    occluded = rng.random(n) < 0.2 + 0.2 * shift
    occlusion = np.where(occluded, rng.uniform(0.1, 0.45, n), 0.0)
    label = rng.integers(0, n_classes, n)
    return Nuisances(
        label=label,
        angle=rng.uniform(0, 2 * np.pi, n),
        scale=np.clip(scale, 6.0, None),
        cx=SIZE / 2 + rng.uniform(-8, 8, n),
        cy=SIZE / 2 + rng.uniform(-8, 8, n),
        hue=(label + 0.5) / n_classes + rng.normal(0.0, HUE_JITTER * (1.0 + HUE_SHIFT * shift), n),
        texture=rng.uniform(0.0, 0.35, n),
        texture_freq=rng.uniform(0.4, 1.4, n),
        texture_angle=rng.uniform(0, np.pi, n),
        bg_hue=rng.random(n),
        bg_value=rng.uniform(0.25, 0.85, n),
        clutter=rng.poisson(1.0 + 2.0 * shift, n),
        occlusion=occlusion,
        contrast=contrast,
        seed=rng.integers(0, 2**31 - 1, n),
    )


def visibility(nz: Nuisances) -> np.ndarray:
    """How clearly the object shows, in (0, 1): a logistic function of its nuisances."""
    z = (
        0.30 * (nz.scale - 18.0)
        + 4.0 * (nz.contrast - 0.65)
        - 5.0 * nz.occlusion
        - 0.30 * (nz.clutter - 1.0)
        - 0.2
    )
    return 1.0 / (1.0 + np.exp(-z))


def selection_probability(vis: np.ndarray) -> np.ndarray:
    """Chance that one annotator says the image shows its class."""
    return 0.05 + 0.9 * vis


def annotate(rng: np.random.Generator, vis: np.ndarray, annotators: int = 10) -> np.ndarray:
    """Per-annotator votes (n_images, annotators) as bool; frequency = votes.mean(1)."""
    p = selection_probability(vis)
    return rng.random((len(vis), annotators)) < p[:, None]


# --- rendering -------------------------------------------------------------


def _shape_sdf(shape: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Signed distance (unit circumradius; negative inside) of a shape at the origin."""
    r = np.hypot(x, y)
    t = np.arctan2(y, x)
    if shape == "circle":
        return r - 1.0
    sides = {"triangle": 3, "square": 4, "pentagon": 5, "hexagon": 6}
    if shape in sides:
        k = sides[shape]
        sector = 2 * np.pi / k
        a = np.mod(t, sector) - sector / 2
        return r * np.cos(a) - np.cos(np.pi / k)
    if shape == "star":
        a = np.abs(np.mod(t, 2 * np.pi / 5) - np.pi / 5) / (np.pi / 5)  # 0 at tip, 1 between
        return r - (1.0 - 0.55 * a)
    if shape == "cross":
        ax, ay = np.abs(x), np.abs(y)
        return np.minimum(np.maximum(ax - 1.0, ay - 0.3), np.maximum(ax - 0.3, ay - 1.0))
    if shape == "ring":
        return np.abs(r - 0.72) - 0.28
    if shape == "ellipse":
        return np.hypot(x, y / 0.45) * 0.45 - 0.45
    if shape == "crescent":
        return np.maximum(r - 1.0, 0.8 - np.hypot(x - 0.5, y))
    return _novel_sdf(shape, x, y)


def _box(x, y, x0, x1, y0, y1):
    """Distance-like field of an axis-aligned box (exact along its edges; negative inside)."""
    return np.maximum(np.maximum(x0 - x, x - x1), np.maximum(y0 - y, y - y1))


def _convex(x, y, vertices):
    """Field of a convex polygon (vertices in either winding): the largest signed distance
    to its edge lines (exact along the edges; negative inside)."""
    v = np.asarray(vertices, dtype=float)
    centre = v.mean(axis=0)
    out = None
    for (ax, ay), (bx, by) in zip(v, np.roll(v, -1, axis=0)):
        nx, ny = by - ay, ax - bx
        norm = np.hypot(nx, ny)
        nx, ny = nx / norm, ny / norm
        if (centre[0] - ax) * nx + (centre[1] - ay) * ny > 0:  # normal must point outward
            nx, ny = -nx, -ny
        d = (x - ax) * nx + (y - ay) * ny
        out = d if out is None else np.maximum(out, d)
    return out


def _novel_sdf(shape: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The out-of-distribution classes' shapes (:data:`NOVEL_SHAPES`), unit circumradius."""
    if shape == "heart":
        lobes = np.minimum(np.hypot(x + 0.42, y + 0.3) - 0.48, np.hypot(x - 0.42, y + 0.3) - 0.48)
        return np.minimum(lobes, _convex(x, y, [(-0.86, -0.12), (0.86, -0.12), (0.0, 0.95)]))
    if shape == "arrow":
        return np.minimum(_box(x, y, -0.95, 0.15, -0.2, 0.2),
                          _convex(x, y, [(0.1, -0.62), (0.95, 0.0), (0.1, 0.62)]))
    if shape == "lshape":
        return np.minimum(_box(x, y, -0.7, -0.2, -0.9, 0.9), _box(x, y, -0.7, 0.7, 0.4, 0.9))
    if shape == "hourglass":
        return np.minimum(_convex(x, y, [(-0.75, -0.9), (0.75, -0.9), (0.0, 0.12)]),
                          _convex(x, y, [(-0.75, 0.9), (0.75, 0.9), (0.0, -0.12)]))
    if shape == "tshape":
        return np.minimum(_box(x, y, -0.85, 0.85, -0.9, -0.45), _box(x, y, -0.22, 0.22, -0.9, 0.9))
    raise KeyError(shape)


def _hsv(h, s, v) -> np.ndarray:
    """Vectorised HSV -> RGB in [0, 1], shape (n, 3)."""
    h = np.atleast_1d(np.asarray(h, dtype=float)) % 1.0
    s = np.broadcast_to(np.asarray(s, dtype=float), h.shape)
    v = np.broadcast_to(np.asarray(v, dtype=float), h.shape)
    k = (np.array([5.0, 3.0, 1.0])[None, :] + 6.0 * h[:, None]) % 6.0
    return v[:, None] - v[:, None] * s[:, None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def render(nz: Nuisances, shapes: tuple[str, ...] = SHAPES) -> np.ndarray:
    """Render images (n, 64, 64, 3) uint8 from their nuisances; label k draws ``shapes[k]``."""
    n = len(nz)
    out = np.zeros((n, SIZE, SIZE, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5
    for cls in np.unique(nz.label):
        idx = np.flatnonzero(nz.label == cls)
        out[idx] = _render_class(nz.take(idx), shapes[int(cls)], xx, yy)
    return out


def _render_class(nz: Nuisances, shape: str, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    n = len(nz)
    X = xx[None] - nz.cx[:, None, None]
    Y = yy[None] - nz.cy[:, None, None]
    ca, sa = np.cos(nz.angle)[:, None, None], np.sin(nz.angle)[:, None, None]
    s = nz.scale[:, None, None]
    u, v = (ca * X + sa * Y) / s, (-sa * X + ca * Y) / s
    alpha = np.clip(0.5 - _shape_sdf(shape, u, v) * s, 0.0, 1.0)[..., None]

    bg_rgb = _hsv(nz.bg_hue, 0.35, nz.bg_value)[:, None, None, :]
    grad = (0.85 + 0.3 * (yy / SIZE))[None, :, :, None]
    img = np.clip(bg_rgb * grad, 0, 1)

    rngs = [np.random.default_rng(int(sd)) for sd in nz.seed]
    img = _draw_clutter(img, nz.clutter, rngs, xx, yy)

    obj = _hsv(nz.hue, 0.75, np.full(n, 0.92))[:, None, None, :]
    phase = nz.texture_freq[:, None, None] * (
        np.cos(nz.texture_angle)[:, None, None] * X + np.sin(nz.texture_angle)[:, None, None] * Y
    )
    stripes = 1.0 - nz.texture[:, None, None] * 0.5 * (1.0 + np.sin(phase))
    obj = obj * stripes[..., None]
    mean_bg = img.mean(axis=(1, 2), keepdims=True)
    obj = mean_bg + nz.contrast[:, None, None, None] * (obj - mean_bg)
    img = alpha * obj + (1.0 - alpha) * img

    img = _draw_occluders(img, nz, rngs, xx, yy)
    return np.clip(img * 255.0, 0, 255).astype(np.uint8)


def _draw_clutter(img, counts, rngs, xx, yy):
    """Background strokes: line segments of random colour and width (behind the object)."""
    n, k_max = len(counts), int(max(counts, default=0))
    if k_max == 0:
        return img
    p0 = np.zeros((n, k_max, 2))
    p1 = np.zeros((n, k_max, 2))
    width = np.zeros((n, k_max))
    colour = np.zeros((n, k_max, 3))
    for i, (k, rng) in enumerate(zip(counts, rngs)):
        k = int(k)
        if k:
            p0[i, :k], p1[i, :k] = rng.uniform(0, SIZE, (k, 2)), rng.uniform(0, SIZE, (k, 2))
            width[i, :k] = rng.uniform(0.8, 2.5, k)
            colour[i, :k] = rng.random((k, 3))
    for j in range(k_max):
        active = np.flatnonzero(counts > j)
        d = _segment_distance(xx[None], yy[None], p0[active, j], p1[active, j])
        a = np.clip(width[active, j, None, None] - d, 0.0, 1.0)[..., None]
        img[active] = a * colour[active, j, None, None, :] + (1 - a) * img[active]
    return img


def _draw_occluders(img, nz, rngs, xx, yy):
    """A rectangle over part of the object, covering ``occlusion`` of its box."""
    for i, rng in enumerate(rngs):
        occ = nz.occlusion[i]
        if occ <= 0:
            continue
        side = 2.0 * nz.scale[i]
        w = side * np.sqrt(occ) * rng.uniform(0.8, 1.25)
        h = side * side * occ / w
        ox = nz.cx[i] + rng.uniform(-0.5, 0.5) * side - w / 2
        oy = nz.cy[i] + rng.uniform(-0.5, 0.5) * side - h / 2
        mask = (xx >= ox) & (xx < ox + w) & (yy >= oy) & (yy < oy + h)
        img[i][mask] = rng.random(3)
    return img


def _segment_distance(xx, yy, p0, p1):
    """Distance (n, H, W) from each pixel to segments p0[i]-p1[i] (arrays (n, 2))."""
    d = p1 - p0
    L2 = np.maximum((d * d).sum(axis=1), 1e-9)[:, None, None]
    ax, ay = p0[:, 0, None, None], p0[:, 1, None, None]
    dx, dy = d[:, 0, None, None], d[:, 1, None, None]
    t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / L2, 0.0, 1.0)
    return np.hypot(xx - (ax + t * dx), yy - (ay + t * dy))
