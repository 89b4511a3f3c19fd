"""Which images two units share: pairing by position, or by one vectorised join on file names.

Units on the same image list (every model on a set; every ImageNet-C set and val when the
corrupted sets keep val's folders and names) pair position by position with no string work.
Units on different lists (val vs ReaL, ImageNet-C vs a flat val folder) pair through one join
on the file name without folder and extension, computed once per pair of lists.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..store import ImageList

Pairing = tuple[np.ndarray, np.ndarray]  # positions in the shifted list, in the baseline list


def pair_stems(shift_stems: np.ndarray, baseline_stems: np.ndarray) -> Pairing | None:
    """Positions (shift, baseline) pairing each shifted image with the baseline image of the
    same name, or None when a shifted image has no counterpart or names repeat in either list."""
    shift_index, base_index = pd.Index(shift_stems), pd.Index(baseline_stems)
    if not (shift_index.is_unique and base_index.is_unique):
        return None
    position = base_index.get_indexer(shift_index)
    if (position < 0).any():
        return None
    return np.arange(len(shift_index)), position.astype(np.int64)


def pair_positions(shift: ImageList, baseline: ImageList) -> Pairing | None:
    """Pair two image lists: by position when they are the same list, else :func:`pair_stems`."""
    if shift.id == baseline.id:
        same = np.arange(len(shift))
        return same, same
    return pair_stems(shift.stems, baseline.stems)


def match_images(relpaths_shift: Sequence[str], relpaths_baseline: Sequence[str]) -> Pairing | None:
    """:func:`pair_stems` of two lists of relative paths (labels play no part)."""
    return pair_stems(ImageList.of(relpaths_shift, np.zeros(len(relpaths_shift))).stems,
                      ImageList.of(relpaths_baseline, np.zeros(len(relpaths_baseline))).stems)


class PairingCache:
    """:func:`pair_positions` computed once per pair of image lists (lists are immutable)."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, str], Pairing | None] = {}

    def __call__(self, shift: ImageList, baseline: ImageList) -> Pairing | None:
        key = (shift.id, baseline.id)
        if key not in self._pairs:
            self._pairs[key] = pair_positions(shift, baseline)
        return self._pairs[key]
