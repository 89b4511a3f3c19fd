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


def test_novel_shapes_are_none_of_the_trained_shapes():
    from robustness.demo.world import NOVEL_SHAPES, _shape_sdf

    yy, xx = np.mgrid[-1.2:1.2:121j, -1.2:1.2:121j]
    masks = {s: _shape_sdf(s, xx, yy) < 0 for s in SHAPES + NOVEL_SHAPES}
    for novel in NOVEL_SHAPES:
        assert 0.1 < masks[novel].mean() < 0.6, novel  # a solid shape of sensible size
        for known in SHAPES:  # at any of 36 rotations, no trained shape covers the same pixels
            best = 0.0
            for angle in np.linspace(0, 2 * np.pi, 36, endpoint=False):
                c, s = np.cos(angle), np.sin(angle)
                rotated = _shape_sdf(known, c * xx + s * yy, -s * xx + c * yy) < 0
                best = max(best, (rotated & masks[novel]).sum() / (rotated | masks[novel]).sum())
            assert best < 0.8, (novel, known, best)


def test_parallel_rendering_draws_the_same_pixels():
    from robustness.demo.run import ParallelRenderer
    from robustness.demo.world import NOVEL_SHAPES

    nz = sample_nuisances(np.random.default_rng(4), 2 * ParallelRenderer.CHUNK + 7)
    novel = sample_nuisances(np.random.default_rng(5), 2 * ParallelRenderer.CHUNK + 1, n_classes=5)
    with ParallelRenderer(2) as draw:
        np.testing.assert_array_equal(draw(nz), render(nz))
        np.testing.assert_array_equal(draw(novel, NOVEL_SHAPES), render(novel, NOVEL_SHAPES))
