"""Re-collected test sets (Recht et al. 2019): candidate pools, samplers, duplicate screening.

    from robustness.recollect import load_pool, matched_frequency, write_test_set
    result = matched_frequency(load_pool("pool.csv"), load_pool("val_freq.csv"), k=10, seed=0)
    write_test_set(result, load_pool("pool.csv"), "imagenetv2-mine")

The bias analysis lives in :mod:`robustness.stats.replication`; see docs/recollection.md.
"""

from .duplicates import find_near_duplicates, fingerprint_pool, screen_pool
from .layout import write_test_set
from .pool import Pool, PoolFormatError, load_pool, pool_from_table
from .sampling import (
    SamplingResult,
    Shortfall,
    largest_remainder,
    matched_frequency,
    threshold,
    top_images,
)

__all__ = [
    "Pool",
    "PoolFormatError",
    "SamplingResult",
    "Shortfall",
    "find_near_duplicates",
    "fingerprint_pool",
    "largest_remainder",
    "load_pool",
    "matched_frequency",
    "pool_from_table",
    "screen_pool",
    "threshold",
    "top_images",
    "write_test_set",
]
