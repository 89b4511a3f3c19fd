"""Small synthetic pools for the re-collection tests (real wnids; images live in tmp_path)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from robustness.datasets.classes import imagenet_wnids

WNIDS = imagenet_wnids()[:40]


def rows_for(wnid: str, frequencies_of_10: list[int], prefix: str, shown: int = 10, **extra) -> list[dict]:
    """One row per entry: ``selected`` out of ``shown`` annotators."""
    return [dict(path=f"{prefix}/{wnid}/{prefix}_{i:03d}.jpg", wnid=wnid, shown=shown, selected=s, **extra)
            for i, s in enumerate(frequencies_of_10)]  # fmt: skip


def simulated_pool(rng: np.random.Generator, n_classes=20, n_candidates=120, n_originals=40, votes=10):
    """Candidates with true frequencies ~ Beta(2, 2), originals ~ Beta(6, 2), noisy votes.

    Returns (candidates table, originals table, true frequency per candidate path)."""
    cands, origs, truth = [], [], {}
    for wnid in WNIDS[:n_classes]:
        p_c = rng.beta(2, 2, n_candidates)
        p_o = rng.beta(6, 2, n_originals)
        for i, (p, s) in enumerate(zip(p_c, rng.binomial(votes, p_c))):
            path = f"cand/{wnid}/{i:04d}.jpg"
            cands.append(dict(path=path, wnid=wnid, shown=votes, selected=int(s)))
            truth[path] = p
        for i, s in enumerate(rng.binomial(votes, p_o)):
            origs.append(dict(path=f"orig/{wnid}/{i:04d}.jpg", wnid=wnid, shown=votes, selected=int(s)))
    return pd.DataFrame(cands), pd.DataFrame(origs), truth
