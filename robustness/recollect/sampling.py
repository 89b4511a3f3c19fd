"""Samplers that turn a candidate pool into a new test set (Recht et al. 2019, section 3).

Three strategies, each deterministic given ``seed`` and independent of row order:

* :func:`matched_frequency` - per class, match the original images' histogram of selection
  frequencies over 5 bins (edges 0.2, 0.4, 0.6, 0.8), rounded to ``k`` images by the
  largest-remainder method, then sample uniformly within each bin; a bin that runs short
  takes the rest from the next higher bin.
* :func:`threshold` - ``k`` per class uniformly among candidates with frequency >= t.
* :func:`top_images` - the ``k`` candidates with the highest frequency per class.

Each returns a :class:`SamplingResult`: the chosen rows with the reason each was chosen,
and a :class:`Shortfall` for every class that could not be filled (never a silently
smaller set). Frequencies are fractions in [0, 1]; bin comparisons are exact (integer
arithmetic on ``selected`` and ``shown``), so 2/10 lands in the bin that starts at 0.2.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd

from ..stats.replication import DEFAULT_BIN_EDGES, frequency_bins
from .pool import Pool


@dataclass(frozen=True)
class Shortfall:
    """A class that got fewer than ``wanted`` images, and why."""

    wnid: str
    wanted: int
    got: int
    reason: str


@dataclass
class SamplingResult:
    """What a sampler chose. ``selected`` holds the candidate rows (pool columns) plus
    ``bin`` (-1 where bins are not used), ``rank`` (order within the class) and ``reason``."""

    strategy: str
    params: dict
    selected: pd.DataFrame
    shortfalls: list[Shortfall] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Images chosen per wnid."""
        return self.selected.groupby("wnid").size().to_dict()


# ------------------------------------------------------------------ building blocks
def largest_remainder(counts: Sequence[int] | np.ndarray, k: int) -> np.ndarray:
    """Round the shares ``k * counts / sum(counts)`` to integers that sum to ``k``.

    Floor every share, then give the leftover units one each to the largest fractional
    parts; equal fractional parts go to the lower index first. Exact (integer) arithmetic.
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total <= 0:
        raise ValueError("largest_remainder needs at least one positive count")
    scaled = counts * int(k)
    quotas = scaled // total
    remainders = scaled - quotas * total  # numerators over ``total``
    leftover = int(k) - int(quotas.sum())
    order = np.lexsort((np.arange(len(counts)), -remainders))  # largest remainder, then index
    quotas[order[:leftover]] += 1
    return quotas


def class_rng(seed: int, wnid: str, strategy: str) -> np.random.Generator:
    """A generator for one class, so that adding or removing classes changes nothing else."""
    return np.random.default_rng([int(seed), zlib.crc32(wnid.encode()), zlib.crc32(strategy.encode())])


def _class_rows(table: pd.DataFrame, wnid: str) -> pd.DataFrame:
    """The rows of one class in a canonical order (by path), independent of file order."""
    return table[table["wnid"] == wnid].sort_values("path", kind="stable")


def _take(rows: pd.DataFrame, n: int, rng: np.random.Generator, keep_previous: bool) -> pd.DataFrame:
    """Up to ``n`` rows drawn uniformly without replacement; with ``keep_previous`` the rows
    marked ``previous`` are taken first (uniformly among them if there are more than ``n``)."""
    if n <= 0 or rows.empty:
        return rows.iloc[:0]
    if keep_previous:
        prev, new = rows[rows["previous"]], rows[~rows["previous"]]
        first = _take(prev, n, rng, keep_previous=False)
        return pd.concat([first, _take(new, n - len(first), rng, keep_previous=False)])
    pick = rng.permutation(len(rows))[: min(n, len(rows))]
    return rows.iloc[np.sort(pick)]


def _eligible(table: pd.DataFrame, min_annotations: int) -> pd.DataFrame:
    return table[table["shown"] >= min_annotations]


def _classes(candidates: Pool, originals: Pool | None, classes: Sequence[str] | None) -> list[str]:
    if classes is not None:
        return sorted(set(classes))
    found = set(candidates.table["wnid"])
    if originals is not None:
        found |= set(originals.table["wnid"])
    return sorted(found)


def _finish(strategy: str, params: dict, parts: list[pd.DataFrame], shortfalls: list[Shortfall]) -> SamplingResult:
    """Concatenate the per-class choices, ordered by class index then rank."""
    nonempty = [p for p in parts if len(p)]
    if not nonempty:
        columns = list(parts[0].columns) if parts else ["path", "wnid", "class_index", "bin", "rank", "reason"]
        return SamplingResult(strategy, params, pd.DataFrame(columns=columns), shortfalls)
    selected = pd.concat(nonempty, ignore_index=True)
    selected = selected.sort_values(["class_index", "rank"], kind="stable").reset_index(drop=True)
    return SamplingResult(strategy, params, selected, shortfalls)


# ------------------------------------------------------------------ MatchedFrequency
def matched_frequency(
    candidates: Pool,
    originals: Pool,
    k: int = 10,
    seed: int = 0,
    min_annotations: int = 10,
    min_originals: int = 20,
    edges: Sequence[float] = DEFAULT_BIN_EDGES,
    keep_previous: bool = False,
    classes: Sequence[str] | None = None,
) -> SamplingResult:
    """MatchedFrequency: match each class's histogram of original selection frequencies.

    Per class: the originals with at least ``min_annotations`` annotators are binned by
    frequency (bin ``j`` holds values with ``edges[j-1] <= f < edges[j]``; 1.0 is in the
    last bin); a class with fewer than ``min_originals`` such originals is skipped (a
    shortfall). The histogram is rounded to ``k`` images by :func:`largest_remainder`.
    Candidates (also needing ``min_annotations``) are drawn uniformly within each bin,
    from the lowest bin up; what a bin cannot supply is added to the next higher bin's
    quota, and what the top bin cannot supply is a shortfall. ``keep_previous`` takes
    candidates of a previous revision first within each bin.
    """
    params = dict(k=k, seed=seed, min_annotations=min_annotations, min_originals=min_originals,
                  edges=list(edges), keep_previous=keep_previous)  # fmt: skip
    cand = _eligible(candidates.table, min_annotations).copy()
    cand["bin"] = frequency_bins(cand["selected"].to_numpy(), cand["shown"].to_numpy(), edges)
    orig = _eligible(originals.table, min_annotations)
    orig_bins = frequency_bins(orig["selected"].to_numpy(), orig["shown"].to_numpy(), edges)
    n_bins = len(edges) + 1
    parts, shortfalls = [], []
    for wnid in _classes(candidates, originals, classes):
        in_class = (orig["wnid"] == wnid).to_numpy()
        n_orig = int(in_class.sum())
        if n_orig < min_originals:
            shortfalls.append(Shortfall(wnid, k, 0, f"only {n_orig} original images with >= "
                                        f"{min_annotations} annotations (need {min_originals}); class skipped"))  # fmt: skip
            continue
        hist = np.bincount(orig_bins[in_class], minlength=n_bins)
        quotas = largest_remainder(hist, k)
        rng = class_rng(seed, wnid, "matched-frequency")
        rows = _class_rows(cand, wnid)
        carry, chosen = 0, []
        for b in range(n_bins):
            want = int(quotas[b]) + carry
            taken = _take(rows[rows["bin"] == b], want, rng, keep_previous).copy()
            n_own = min(int(quotas[b]), len(taken))
            reasons = [f"bin {b} (quota {quotas[b]})"] * n_own + [
                f"bin {b} filling a shortfall of lower bins"] * (len(taken) - n_own)
            taken["reason"] = [r + (" (kept from the previous revision)" if keep_previous and prev else "")
                               for r, prev in zip(reasons, taken["previous"])]  # fmt: skip
            chosen.append(taken)
            carry = want - len(taken)
        got = sum(len(c) for c in chosen)
        if carry:
            shortfalls.append(Shortfall(wnid, k, got, f"{carry} image(s) missing: the bins from the "
                                        "short one upward hold too few candidates"))  # fmt: skip
        picked = pd.concat(chosen)
        picked["rank"] = np.arange(len(picked))
        parts.append(picked)
    return _finish("matched-frequency", params, parts, shortfalls)


# ------------------------------------------------------------------ Threshold
def threshold(
    candidates: Pool,
    k: int = 10,
    t: float = 0.7,
    seed: int = 0,
    min_annotations: int = 10,
    per_class_t: Mapping[str, float] | None = None,
    keep_previous: bool = False,
    classes: Sequence[str] | None = None,
) -> SamplingResult:
    """Threshold-t: ``k`` per class drawn uniformly among candidates with frequency >= ``t``
    (``per_class_t`` overrides ``t`` for some wnids). Comparison is exact: 7/10 >= 0.7."""
    per_class_t = dict(per_class_t or {})
    params = dict(k=k, t=t, seed=seed, min_annotations=min_annotations, per_class_t=per_class_t,
                  keep_previous=keep_previous)  # fmt: skip
    cand = _eligible(candidates.table, min_annotations)
    parts, shortfalls = [], []
    for wnid in _classes(candidates, None, classes):
        limit = Fraction(str(per_class_t.get(wnid, t)))
        rows = _class_rows(cand, wnid)
        ok = rows["selected"].to_numpy() * limit.denominator >= limit.numerator * rows["shown"].to_numpy()
        picked = _take(rows[ok], k, class_rng(seed, wnid, "threshold"), keep_previous).copy()
        picked["bin"] = -1
        picked["rank"] = np.arange(len(picked))
        picked["reason"] = f"frequency >= {float(limit):g}"
        parts.append(picked)
        if len(picked) < k:
            shortfalls.append(Shortfall(wnid, k, len(picked), f"only {int(ok.sum())} candidates with "
                                        f"frequency >= {float(limit):g} and >= {min_annotations} annotations"))  # fmt: skip
    return _finish("threshold", params, parts, shortfalls)


# ------------------------------------------------------------------ TopImages
def top_images(
    candidates: Pool,
    k: int = 10,
    seed: int = 0,
    min_annotations: int = 10,
    classes: Sequence[str] | None = None,
) -> SamplingResult:
    """TopImages: the ``k`` candidates with the highest frequency per class; candidates with
    equal frequency are ordered by a seeded random permutation (deterministic)."""
    params = dict(k=k, seed=seed, min_annotations=min_annotations)
    cand = _eligible(candidates.table, min_annotations)
    parts, shortfalls = [], []
    for wnid in _classes(candidates, None, classes):
        rows = _class_rows(cand, wnid)
        tiebreak = class_rng(seed, wnid, "top-images").permutation(len(rows))
        order = np.lexsort((tiebreak, -rows["frequency"].to_numpy()))
        picked = rows.iloc[order[:k]].copy()
        picked["bin"] = -1
        picked["rank"] = np.arange(len(picked))
        picked["reason"] = [f"rank {r + 1} by frequency" for r in range(len(picked))]
        parts.append(picked)
        if len(picked) < k:
            shortfalls.append(Shortfall(wnid, k, len(picked), f"only {len(rows)} candidates with "
                                        f">= {min_annotations} annotations"))  # fmt: skip
    return _finish("top-images", params, parts, shortfalls)


STRATEGIES = ("matched-frequency", "threshold", "top-images")
