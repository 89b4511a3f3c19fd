"""The procedural world: deterministic rendering and known nuisance effects."""

from __future__ import annotations

import numpy as np

from robustness.demo.world import (
    SHAPES,
    annotate,
    render,
    sample_nuisances,
    selection_probability,
    visibility,
)


def test_render_shape_dtype_and_per_image_determinism():
    nz = sample_nuisances(np.random.default_rng(0), 40)
    imgs = render(nz)
    assert imgs.shape == (40, 64, 64, 3) and imgs.dtype == np.uint8
    again = render(nz.take(np.array([7, 3])))
    np.testing.assert_array_equal(again, imgs[[7, 3]])
    assert len({imgs[i].tobytes() for i in range(40)}) == 40


def test_same_seed_same_world():
    a = render(sample_nuisances(np.random.default_rng(5), 12))
    b = render(sample_nuisances(np.random.default_rng(5), 12))
    np.testing.assert_array_equal(a, b)


def test_each_class_draws_its_shape_where_the_object_is():
    nz = sample_nuisances(np.random.default_rng(1), len(SHAPES))
    nz.label[:] = np.arange(len(SHAPES))
    nz.occlusion[:] = 0.0
    nz.clutter[:] = 0
    nz.contrast[:] = 1.0
    nz.texture[:] = 0.0
    nz.scale[:] = 20.0
    imgs = render(nz).astype(float)
    for i in range(len(SHAPES)):
        cx, cy = int(nz.cx[i]), int(nz.cy[i])
        corner = imgs[i, 1, 1]
        # every shape but the ring and crescent covers its centre; those leave it background
        centre_differs = np.abs(imgs[i, cy, cx] - corner).max() > 20
        assert centre_differs == (SHAPES[i] not in ("ring", "crescent")), SHAPES[i]


def test_visibility_moves_with_each_nuisance():
    nz = sample_nuisances(np.random.default_rng(2), 1)
    base = visibility(nz)[0]
    for field, delta, sign in (("scale", 5.0, 1), ("contrast", 0.2, 1), ("occlusion", 0.2, -1),
                               ("clutter", 3, -1)):
        moved = nz.take(np.array([0]))
        getattr(moved, field)[:] = getattr(moved, field) + delta
        assert np.sign(visibility(moved)[0] - base) == sign, field


def test_shift_lowers_visibility_and_annotations_follow_selection_probability():
    rng = np.random.default_rng(3)
    v0 = visibility(sample_nuisances(rng, 20000))
    v1 = visibility(sample_nuisances(rng, 20000, shift=1.0))
    assert v1.mean() < v0.mean() - 0.1
    votes = annotate(rng, v0, annotators=10)
    assert votes.shape == (20000, 10)
    assert abs(votes.mean() - selection_probability(v0).mean()) < 0.01
