"""Fixtures for the re-collection tests; plain helpers live in ``recollect_helpers.py``."""

from __future__ import annotations

import pandas as pd
import pytest

from robustness.recollect.pool import pool_from_table


@pytest.fixture
def make_pool():
    """Build a validated pool from a list of row dicts."""

    def make(rows: list[dict], root="."):
        return pool_from_table(pd.DataFrame(rows), root=root)

    return make
