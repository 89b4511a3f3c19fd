"""Near-duplicate screening finds planted resized/re-encoded copies and no false pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image
from recollect_helpers import WNIDS

from robustness.recollect.duplicates import find_near_duplicates, fingerprint_pool, screen_pool
from robustness.recollect.pool import pool_from_table


def _distinct_image(seed: int, size: int = 96) -> Image.Image:
    """A smooth random colour pattern: a 6x6 random grid upsampled bicubically."""
    grid = (np.random.default_rng(seed).random((6, 6, 3)) * 255).astype(np.uint8)
    return Image.fromarray(grid).resize((size, size), Image.Resampling.BICUBIC)


def _save(image: Image.Image, path, scale=1.0, quality=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    if scale != 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)),
                             Image.Resampling.BILINEAR)  # fmt: skip
    if quality is None:
        image.save(path.with_suffix(".png"))
        return path.with_suffix(".png")
    image.save(path, "JPEG", quality=quality)
    return path


def _pool(tmp_path, files):
    rows = [dict(path=str(f.relative_to(tmp_path)), wnid=WNIDS[0], shown=10, selected=5) for f in files]
    return pool_from_table(pd.DataFrame(rows), root=tmp_path)


def test_finds_planted_copies_and_no_false_pairs(tmp_path):
    originals = [_save(_distinct_image(i), tmp_path / "orig" / f"o{i}") for i in range(12)]
    candidates = [_save(_distinct_image(100 + i), tmp_path / "cand" / f"c{i:02d}.jpg", quality=90)
                  for i in range(20)]  # fmt: skip
    # planted: copies of originals 3 and 7 (half size, JPEG q50; 1.5x, q95), and a copy of
    # candidate 5 (0.7x, q60)
    planted = [
        _save(_distinct_image(3), tmp_path / "cand" / "dup_o3.jpg", scale=0.5, quality=50),
        _save(_distinct_image(7), tmp_path / "cand" / "dup_o7.jpg", scale=1.5, quality=95),
        _save(_distinct_image(105), tmp_path / "cand" / "dup_c05.jpg", scale=0.7, quality=60),
    ]
    cand_pool = _pool(tmp_path, candidates + planted)
    pairs = find_near_duplicates(fingerprint_pool(cand_pool), fingerprint_pool(_pool(tmp_path, originals)))
    found = {(a, b, s) for a, b, s in zip(pairs["candidate"], pairs["other"], pairs["other_set"])}
    assert found == {
        ("cand/dup_o3.jpg", "orig/o3.png", "original"),
        ("cand/dup_o7.jpg", "orig/o7.png", "original"),
        ("cand/c05.jpg", "cand/dup_c05.jpg", "candidate"),
    }

    screened, removed = screen_pool(cand_pool, pairs)
    assert set(removed["path"]) == {"cand/dup_o3.jpg", "cand/dup_o7.jpg", "cand/dup_c05.jpg"}
    assert len(screened) == 20  # the 20 distinct candidates, c05 kept as its group's first
    group = screened.table.loc[screened.table["path"] == "cand/c05.jpg", "dup_group"].item()
    assert group == "cand/c05.jpg"


def test_unreadable_image_is_named(tmp_path):
    bad = tmp_path / "cand" / "broken.jpg"
    bad.parent.mkdir()
    bad.write_bytes(b"not an image")
    try:
        fingerprint_pool(_pool(tmp_path, [bad]))
    except OSError as exc:
        assert "broken.jpg" in str(exc)
    else:
        raise AssertionError("an unreadable image must raise")
