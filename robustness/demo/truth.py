"""What is true in the simulated world, measured on large fresh samples.

For a model ``f`` and the world's processes:

* ``original``: accuracy on the original distribution: a fresh sample drawn
  by the same acceptance process as the original test set.
* ``matched-frequency``: the MatchedFrequency process's expected accuracy:
  per class, the original set's measured-frequency histogram (rounded to
  ``k`` by the sampler) weights the accuracy on fresh pool-B candidates in
  each frequency bin (within a bin the sampler draws uniformly).
* ``threshold0.7``: accuracy on fresh pool-B candidates with measured
  frequency >= 0.7.
* ``top-images``: mean over replicate pools (each the size of the demo's
  pool B) of the accuracy on each class's ``k`` top-frequency candidates.
* ``distribution gap`` (the target of the selection-bias correction):
  original accuracy minus pool-B accuracy re-weighted so that the *true*
  selection probabilities have the original distribution's histogram. It is
  the part of the gap caused by the world changing, not by how the new set
  was selected.
"""

from __future__ import annotations

import numpy as np

from .collect import Images

BIN_EDGES = (0.2, 0.4, 0.6, 0.8)
TRUE_P_BINS = np.linspace(0.0, 1.0, 21)


def frequency_bin(freq: np.ndarray, edges=BIN_EDGES) -> np.ndarray:
    """Bin j holds edges[j-1] <= f < edges[j]; 1.0 falls in the last bin."""
    return np.searchsorted(np.asarray(edges), freq, side="right")


def matched_frequency_accuracy(correct: np.ndarray, pool: Images, quotas: np.ndarray) -> float:
    """Expected accuracy of MatchedFrequency: ``quotas`` (classes, bins) images per bin."""
    labels = pool.nuisances.label
    bins = frequency_bin(pool.votes.mean(axis=1))
    total, weight = 0.0, 0.0
    for c in range(quotas.shape[0]):
        for b in range(quotas.shape[1]):
            q = quotas[c, b]
            if q == 0:
                continue
            sel = (labels == c) & (bins == b)
            if not sel.any():  # the sampler would fill from the next bin up; so do we
                for b2 in range(b + 1, quotas.shape[1]):
                    sel = (labels == c) & (bins == b2)
                    if sel.any():
                        break
            if sel.any():
                total += q * correct[sel].mean()
                weight += q
    return float(total / weight)


def threshold_accuracy(correct: np.ndarray, pool: Images, t: float = 0.7) -> float:
    keep = pool.votes.mean(axis=1) >= t
    return float(correct[keep].mean())


def top_images_accuracy(correct: np.ndarray, pool: Images, k: int, pool_size: int,
                        rng: np.random.Generator) -> float:
    """Mean over disjoint replicate pools of ``pool_size`` of the top-``k``-per-class accuracy."""
    n_rep = max(1, len(pool) // pool_size)
    order = rng.permutation(len(pool))
    freq = pool.votes.mean(axis=1)
    accs = []
    for r in range(n_rep):
        idx = order[r * pool_size : (r + 1) * pool_size]
        chosen = []
        for c in np.unique(pool.nuisances.label[idx]):
            in_c = idx[pool.nuisances.label[idx] == c]
            # highest frequency first; ties broken at random as the sampler does
            tiebreak = rng.random(len(in_c))
            chosen.append(in_c[np.lexsort((tiebreak, -freq[in_c]))][:k])
        accs.append(correct[np.concatenate(chosen)].mean())
    return float(np.mean(accs))


def distribution_gap(correct_orig: np.ndarray, orig: Images, correct_pool: np.ndarray,
                     pool: Images) -> float:
    """Original accuracy minus pool accuracy re-weighted to the original's true-p histogram."""
    from .world import selection_probability

    p_orig = selection_probability(orig.visibility)
    p_pool = selection_probability(pool.visibility)
    b_orig = np.clip(np.searchsorted(TRUE_P_BINS, p_orig, side="right") - 1, 0, len(TRUE_P_BINS) - 2)
    b_pool = np.clip(np.searchsorted(TRUE_P_BINS, p_pool, side="right") - 1, 0, len(TRUE_P_BINS) - 2)
    n_bins = len(TRUE_P_BINS) - 1
    w = np.bincount(b_orig, minlength=n_bins) / len(b_orig)
    acc = np.array([correct_pool[b_pool == b].mean() if (b_pool == b).any() else np.nan
                    for b in range(n_bins)])
    have = ~np.isnan(acc)
    reweighted = float(np.sum(w[have] * acc[have]) / np.sum(w[have]))
    return float(correct_orig.mean() - reweighted)
