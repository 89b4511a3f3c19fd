"""Nonparametric bootstrap over images, vectorised with integer resampling counts.

A bootstrap resample of ``n`` images draws ``n`` indices uniformly with replacement.
Instead of gathering rows, we count how often each image is drawn (an integer vector
that sums to ``n``) and compute every model's resampled accuracy as one matrix product::

    acc[b, m] = sum_i counts[b, i] * correct[m, i] / n

Drawing the same counts for every model keeps the resample *paired*: models compared on
the same images see the same resampled images (Efron & Tibshirani 1993, ch. 6).

Units: ``correct`` is per-image correctness (bool or 0/1), accuracies are fractions in [0, 1].
"""

from __future__ import annotations

import numpy as np

#: resamples generated at once; bounds memory to about chunk * n_images * 8 bytes
DEFAULT_CHUNK = 256
#: rows counted per bincount call; small blocks keep the counting in cache
_ROWS_PER_BINCOUNT = 8


def as_correctness(correct: np.ndarray, name: str = "correct") -> np.ndarray:
    """Check a per-image correctness array (bool or 0/1) and return it as float32.

    Raises ValueError naming the argument when values are not 0/1 or the array is empty.
    """
    values = np.asarray(correct)
    if values.size == 0 or values.shape[-1] == 0:
        raise ValueError(f"{name}: expected per-image correctness with at least one image, "
                         f"got shape {values.shape}")
    if values.dtype != bool:
        if not np.all((values == 0) | (values == 1)):
            raise ValueError(f"{name}: expected per-image correctness as bool or 0/1 values "
                             "(one entry per image); convert predictions with "
                             "`predictions == labels` first")
    return values.astype(np.float32)


def resample_counts(
    n_items: int, n_resamples: int, rng: np.random.Generator, dtype=np.int32
) -> np.ndarray:
    """Multinomial(n_items, uniform) counts, shape (n_resamples, n_items).

    Each row says how often each item is drawn in one bootstrap resample; rows sum to n_items.
    Drawn as n_items uniform indices per row and counted with ``bincount``, a few rows at a
    time so the counting stays in cache.
    """
    counts = np.empty((n_resamples, n_items), dtype=dtype)
    for start in range(0, n_resamples, _ROWS_PER_BINCOUNT):
        rows = min(_ROWS_PER_BINCOUNT, n_resamples - start)
        draws = rng.integers(0, n_items, size=(rows, n_items), dtype=np.int64)
        draws += np.arange(rows, dtype=np.int64)[:, None] * n_items
        block = np.bincount(draws.ravel(), minlength=rows * n_items)
        counts[start:start + rows] = block.reshape(rows, n_items)
    return counts


def bootstrap_accuracies(
    correct: np.ndarray,
    n_resamples: int = 1000,
    seed: int | np.random.Generator | None = 0,
    chunk: int = DEFAULT_CHUNK,
) -> np.ndarray:
    """Paired bootstrap of accuracies over images.

    Args:
        correct: per-image correctness, shape (n_images,) or (n_models, n_images); all models
            share the same images, so one resample applies to every row (paired).
        n_resamples: bootstrap resamples B.
        seed: seed or Generator, for reproducible resamples.
        chunk: resamples generated at once (memory about chunk * n_images * 8 bytes).

    Returns:
        resampled accuracies as fractions, shape (B,) or (B, n_models).
    """
    values = as_correctness(correct)
    single = values.ndim == 1
    matrix = values[None, :] if single else values
    rng = np.random.default_rng(seed)
    n_items = matrix.shape[1]
    out = np.empty((n_resamples, matrix.shape[0]), dtype=np.float64)
    transposed = np.ascontiguousarray(matrix.T)
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        counts = resample_counts(n_items, stop - start, rng, dtype=np.float32)
        # float32 sums of integer counts are exact below 2**24 images
        out[start:stop] = (counts @ transposed) / n_items
    return out[:, 0] if single else out


class ResampleCounts:
    """The counts of ``n_resamples`` bootstrap resamples of ``n_items`` images, drawn once and
    reused for any number of models (paired): the same draws as :func:`bootstrap_accuracies`
    with the same seed. Kept as uint8 (uint16 for a chunk where an image is drawn more than
    255 times), so memory is about ``n_resamples * n_items`` bytes whatever the number of models.
    """

    def __init__(self, n_items: int, n_resamples: int, seed: int | np.random.Generator | None = 0,
                 chunk: int = DEFAULT_CHUNK):
        rng = np.random.default_rng(seed)
        self.n_items, self.n_resamples = int(n_items), int(n_resamples)
        self._chunks: list[np.ndarray] = []
        for start in range(0, self.n_resamples, chunk):
            block = resample_counts(self.n_items, min(chunk, self.n_resamples - start), rng)
            self._chunks.append(block.astype(np.uint8 if block.max() < 256 else np.uint16))

    def totals(self, values: np.ndarray) -> np.ndarray:
        """``sum_i counts[b, i] * values[m, i]`` for every resample b and row m of ``values``
        ((n_models, n_items) or (n_items,), small integers such as 0/1 or -1/0/1): float64,
        shape (n_resamples, n_models) or (n_resamples,). Exact: float32 sums of integers below 2**24."""
        matrix = np.atleast_2d(np.asarray(values, dtype=np.float32))
        if matrix.shape[1] != self.n_items:
            raise ValueError(f"resample counts are for {self.n_items} images, values have "
                             f"{matrix.shape[1]}")
        transposed = np.ascontiguousarray(matrix.T)
        out = np.empty((self.n_resamples, matrix.shape[0]), dtype=np.float64)
        start = 0
        for block in self._chunks:
            out[start:start + len(block)] = block.astype(np.float32) @ transposed
            start += len(block)
        return out[:, 0] if np.ndim(values) == 1 else out


def paired_difference_resamples(correct_a: np.ndarray, correct_b: np.ndarray,
                                counts: ResampleCounts) -> np.ndarray:
    """Bootstrap resamples of acc_a - acc_b (fractions) on the same images, for one pair of
    correctness vectors (n_items,) or many ((n_models, n_items), row m of both for model m):
    shape (n_resamples,) or (n_resamples, n_models)."""
    a = as_correctness(correct_a, "correct_a")
    b = as_correctness(correct_b, "correct_b")
    if a.shape != b.shape:
        raise ValueError(f"paired resamples need the same images in the same order: correct_a "
                         f"has shape {a.shape}, correct_b has shape {b.shape}")
    return counts.totals(a - b) / counts.n_items


def percentile_interval(samples: np.ndarray, alpha: float = 0.05, axis: int = 0):
    """Percentile bootstrap interval: the alpha/2 and 1 - alpha/2 quantiles along ``axis``."""
    low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2], axis=axis)
    return low, high
