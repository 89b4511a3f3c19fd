"""Zoom blur's two routes against scipy, bit for bit.

The original zooms with ``scipy.ndimage.zoom(crop, (z, z, 1), order=1)`` and trims the centre.
:func:`corruptions.blur.clipped_zoom` computes the same float bits by one of two routes: two
sparse products (scipy's CSR kernel: each product rounded, then added in stored order), used
where a run-time check finds that kernel rounding as numpy does; else numpy gathers and
element-wise products. Each route is checked here against scipy itself and against the
original ``zoom_blur`` written out literally, on square and non-square images and any channel
count (each axis is cropped and zoomed by its own length; on squares that is the original's
rule).
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import photo, photo_224
from scipy import sparse
from scipy.ndimage import zoom as scipy_zoom

from corruptions import blur, corrupt
from corruptions.blur import clipped_zoom, zoom_factors

FACTORS = [*np.arange(1.0, 1.31, 0.03), 1.11, 1.5, 2.0, 3.0, 4.5]


def scipy_clipped_zoom(image: np.ndarray, zoom_factor: float) -> np.ndarray:
    """The original's clipped_zoom, each axis by its own length: crop the centre
    ``ceil(n / z)``, ``scipy.ndimage.zoom(order=1)`` it, trim the centre back to ``n``."""
    h, w = image.shape[:2]
    ch, cw = int(np.ceil(h / zoom_factor)), int(np.ceil(w / zoom_factor))
    top, left = (h - ch) // 2, (w - cw) // 2
    out = scipy_zoom(image[top : top + ch, left : left + cw], (zoom_factor, zoom_factor, 1), order=1)
    trim_top, trim_left = (out.shape[0] - h) // 2, (out.shape[1] - w) // 2
    return out[trim_top : trim_top + h, trim_left : trim_left + w]


def literal_zoom_blur(image: np.ndarray, severity: int, preset: str) -> np.ndarray:
    """The original ``zoom_blur`` with the saver's ``np.uint8``, scipy doing the zooms."""
    x = (np.array(image) / 255.0).astype(np.float32)
    out = np.zeros_like(x)
    factors = zoom_factors(severity, preset)
    for zoom in factors:
        out += scipy_clipped_zoom(x, zoom)
    x = (x + out) / (len(factors) + 1)
    return np.uint8(np.clip(x, 0, 1) * 255)


@pytest.fixture(params=["sparse", "elementwise"])
def route(request, monkeypatch):
    """Run the test on one route: the sparse one (skipped where scipy's kernel fuses
    multiply-adds, since it is then never used) or the element-wise one (forced)."""
    if request.param == "sparse":
        if not blur.sparse_products_are_exact():
            pytest.skip("scipy's sparse kernel does not round as numpy here; the element-wise "
                        "route is the one used")  # fmt: skip
    else:
        monkeypatch.setattr(blur, "sparse_products_are_exact", lambda: False)
    return request.param


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((224, 224, 3), np.float32), ((50, 70, 3), np.float32), ((70, 50, 1), np.float64),
     ((33, 33, 4), np.float64), ((31, 40, 2), np.float32)],
)  # fmt: skip
def test_clipped_zoom_equals_scipy_bit_for_bit(route, shape, dtype):
    image = np.random.RandomState(sum(shape)).rand(*shape).astype(dtype)
    for factor in FACTORS:
        ours = clipped_zoom(image, factor)
        assert ours.dtype == image.dtype and ours.shape == image.shape
        np.testing.assert_array_equal(ours, scipy_clipped_zoom(image, factor), err_msg=f"z={factor}")


def test_clipped_zoom_writes_into_out(route):
    image = np.random.RandomState(1).rand(40, 30, 3).astype(np.float32)
    out = np.full_like(image, np.nan)
    assert clipped_zoom(image, 1.2, out=out) is out
    np.testing.assert_array_equal(out, scipy_clipped_zoom(image, 1.2))


@pytest.mark.parametrize("severity", [1, 2, 3, 4, 5])
def test_zoom_blur_equals_the_literal_original(route, severity):
    image = photo_224(severity % 3)
    ours = corrupt(image, "zoom_blur", severity, rng=np.random.RandomState(0))
    assert ours.dtype == np.uint8 and ours.flags.c_contiguous
    np.testing.assert_array_equal(ours, literal_zoom_blur(image, severity, "imagenet"))


@pytest.mark.parametrize(("preset", "shape"), [("tiny-imagenet", (64, 64)), ("cifar", (32, 32)),
                                               ("imagenet", (60, 90)), ("imagenet", (90, 60))])  # fmt: skip
def test_zoom_blur_other_sizes_equal_the_literal_original(route, preset, shape):
    image = photo(2, max(shape))[: shape[0], : shape[1]]
    for severity in (1, 5):
        ours = corrupt(image, "zoom_blur", severity, rng=np.random.RandomState(0), preset=preset)
        np.testing.assert_array_equal(ours, literal_zoom_blur(image, severity, preset))


def test_reused_buffers_do_not_leak_between_images_of_other_sizes(route):
    """The sparse route keeps per-thread scratch arrays between images; alternating sizes and
    channel counts (snow zooms a one-channel layer) must not change any result."""
    big, small = photo_224(0), photo(1, 48)
    layer = np.random.RandomState(2).rand(30, 30, 1)
    expected_big = literal_zoom_blur(big, 2, "imagenet")
    expected_small = literal_zoom_blur(small, 2, "imagenet")
    for _ in range(2):
        np.testing.assert_array_equal(corrupt(big, "zoom_blur", 2), expected_big)
        np.testing.assert_array_equal(clipped_zoom(layer, 2.5), scipy_clipped_zoom(layer, 2.5))
        np.testing.assert_array_equal(corrupt(small, "zoom_blur", 2), expected_small)


def test_sparse_product_equals_scipys_matrix_product():
    """The wrapper around scipy's CSR kernel: unsorted and repeated columns, empty rows, an
    ``out`` holding garbage; the same numbers as ``csr_array @ dense``."""
    rng = np.random.RandomState(3)
    dense = rng.rand(7, 33)
    counts = np.array([4, 0, 1, 4, 2])
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    indices = np.array([6, 0, 6, 2, 3, 1, 1, 5, 4, 0, 2], dtype=np.int32)
    data = rng.rand(indices.size)
    out = np.full((len(counts), dense.shape[1]), np.nan)
    blur._sparse_product((indptr, indices, data), dense.shape[0], dense, out)
    expected = sparse.csr_array((data, indices, indptr), shape=(len(counts), dense.shape[0])) @ dense
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(out[1], 0)
    # and, where the route is used, scipy's kernel sums the entries in stored order
    if blur.sparse_products_are_exact():
        by_hand = np.zeros_like(out)
        for row in range(len(counts)):
            for k in range(indptr[row], indptr[row + 1]):
                by_hand[row] += data[k] * dense[indices[k]]
        np.testing.assert_array_equal(out, by_hand)
