"""Near-duplicate screening of candidates, against the original set and among themselves.

A re-collected test set must not contain the original test images (or copies of each
other): the same photo resized or re-encoded is not a new sample. Two signals, both
computed on a small grayscale thumbnail, so that resizing and JPEG re-encoding barely
change them:

* perceptual hash (pHash): the image as 32x32 grayscale (box-filtered), its 2-D DCT-II, the
  8x8 lowest frequencies without the DC term, each bit = coefficient > their median.
  64 bits; Hamming distance 0-64.
* pixel distance: root-mean-square difference of the 16x16 grayscale thumbnails (0-255),
  after subtracting each thumbnail's mean (so a brightness shift is not a new image).

A pair is a near duplicate when **both** agree: Hamming distance <= ``max_hamming``
(default 20, of 64) and RMS distance <= ``max_rms`` (default 10, on 0-255). The hash
finds candidate pairs cheaply (all pairs, chunked, popcount on 64-bit words); the pixel
distance confirms them. On resized (0.5-1.5x) and JPEG re-encoded (quality 50-95) copies
of smooth synthetic 96 px images, copies landed at Hamming <= 10 and RMS <= 2.2, while 40
distinct images were at Hamming >= 16 and RMS >= 39 from each other: the hash alone would
not separate them, the pixel distance does. Tighten ``max_rms`` if your pool holds many
near-identical shots (bursts), and review the listed pairs rather than trusting them blindly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from scipy.fft import dctn

from .pool import Pool

HASH_SIZE = 32  # thumbnail side for the DCT
HASH_LOW = 8  # low-frequency block side -> 64 bits
THUMB_SIZE = 16  # thumbnail side for the pixel distance
DEFAULT_MAX_HAMMING = 20
DEFAULT_MAX_RMS = 10.0


@dataclass(frozen=True)
class Fingerprints:
    """Hashes (uint64, one per image) and mean-free thumbnails (float32, N x 256, 0-255)."""

    paths: list[str]
    hashes: np.ndarray
    thumbs: np.ndarray


def _gray(image: Image.Image, size: int) -> np.ndarray:
    return np.asarray(image.convert("L").resize((size, size), Image.Resampling.BOX), dtype=np.float64)


def phash(image: Image.Image) -> int:
    """64-bit DCT perceptual hash of a PIL image (see module docstring)."""
    coeffs = dctn(_gray(image, HASH_SIZE), type=2, norm="ortho")[:HASH_LOW, :HASH_LOW].ravel()[1:]
    bits = np.append(coeffs > np.median(coeffs), False)  # 63 coefficients + a constant bit
    return int(np.packbits(bits).view(">u8")[0])


def thumbnail(image: Image.Image) -> np.ndarray:
    """Mean-free 16x16 grayscale thumbnail (float32, flattened, 0-255 scale)."""
    thumb = _gray(image, THUMB_SIZE).ravel()
    return (thumb - thumb.mean()).astype(np.float32)


def fingerprint_files(paths: Sequence[str], files: Sequence[Path]) -> Fingerprints:
    """Fingerprints of image files; an unreadable file raises naming it."""
    hashes, thumbs = [], []
    for file in files:
        try:
            with Image.open(file) as image:
                image.load()
                hashes.append(phash(image))
                thumbs.append(thumbnail(image))
        except (OSError, ValueError) as exc:
            raise OSError(f"{file}: cannot read image for duplicate screening ({exc}); "
                          "fix or remove this row of the pool") from exc  # fmt: skip
    return Fingerprints(list(paths), np.array(hashes, dtype=np.uint64).reshape(-1),
                        np.array(thumbs, dtype=np.float32).reshape(-1, THUMB_SIZE**2))  # fmt: skip


def fingerprint_pool(pool: Pool) -> Fingerprints:
    paths = pool.table["path"].tolist()
    return fingerprint_files(paths, [pool.image_path(p) for p in paths])


def _close_pairs(a: Fingerprints, b: Fingerprints, max_hamming: int, max_rms: float,
                 same: bool, chunk: int = 2048) -> list[tuple[int, int, int, float]]:  # fmt: skip
    pairs = []
    for start in range(0, len(a.hashes), chunk):
        block = a.hashes[start : start + chunk]
        hamming = np.bitwise_count(block[:, None] ^ b.hashes[None, :])
        rows, cols = np.nonzero(hamming <= max_hamming)
        rows = rows + start
        if same:
            keep = rows < cols
            rows, cols = rows[keep], cols[keep]
        if len(rows) == 0:
            continue
        rms = np.sqrt(np.mean((a.thumbs[rows] - b.thumbs[cols]) ** 2, axis=1))
        ok = rms <= max_rms
        pairs += [(int(r), int(c), int(hamming[r - start, c]), float(d))
                  for r, c, d in zip(rows[ok], cols[ok], rms[ok])]  # fmt: skip
    return pairs


def find_near_duplicates(
    candidates: Fingerprints,
    originals: Fingerprints | None = None,
    max_hamming: int = DEFAULT_MAX_HAMMING,
    max_rms: float = DEFAULT_MAX_RMS,
) -> pd.DataFrame:
    """All near-duplicate pairs: candidate-original and candidate-candidate.

    Columns: ``candidate``, ``other``, ``other_set`` ("original" or "candidate"),
    ``hamming`` (0-64) and ``rms`` (0-255), sorted by candidate path.
    """
    rows = []
    if originals is not None and len(originals.hashes):
        for i, j, h, d in _close_pairs(candidates, originals, max_hamming, max_rms, same=False):
            rows.append((candidates.paths[i], originals.paths[j], "original", h, d))
    for i, j, h, d in _close_pairs(candidates, candidates, max_hamming, max_rms, same=True):
        rows.append((candidates.paths[i], candidates.paths[j], "candidate", h, d))
    table = pd.DataFrame(rows, columns=["candidate", "other", "other_set", "hamming", "rms"])
    return table.sort_values(["candidate", "other_set", "other"], kind="stable").reset_index(drop=True)


def screen_pool(candidates: Pool, pairs: pd.DataFrame) -> tuple[Pool, pd.DataFrame]:
    """Drop near duplicates from the candidate pool and fill ``dup_group``.

    A candidate that matches an original is removed. Candidates linked by candidate-candidate
    pairs form a group (connected components, named by their first path); the first path
    of each group is kept, the others removed. Returns the screened pool and a table of
    removed paths with the reason.
    """
    table = candidates.table.copy()
    paths = table["path"].tolist()
    parent = {p: p for p in paths}

    def root(p: str) -> str:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    among = pairs[pairs["other_set"] == "candidate"]
    for a, b in zip(among["candidate"], among["other"]):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups = {p: root(p) for p in paths}
    roots_with_members = {g for p, g in groups.items() if g != p}
    in_a_group = {p for p in paths if groups[p] in roots_with_members}
    # members of a found group are named by its first path; other rows keep their dup_group
    table["dup_group"] = [groups[p] if p in in_a_group else old for p, old in zip(paths, table["dup_group"])]
    copies_of_originals = set(pairs.loc[pairs["other_set"] == "original", "candidate"])
    removed = []
    for p in paths:
        if p in copies_of_originals:
            removed.append((p, "near duplicate of an original image"))
        elif groups[p] != p:
            removed.append((p, f"near duplicate of candidate {groups[p]} (kept)"))
    drop = {p for p, _ in removed}
    kept = table[~table["path"].isin(drop)].reset_index(drop=True)
    return (Pool(kept, candidates.root, candidates.source),
            pd.DataFrame(removed, columns=["path", "reason"]))  # fmt: skip
