"""Fixtures for the stats tests: the published result tables, when this checkout has them."""

from pathlib import Path

import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = REPO_ROOT.parent / "shared" / "data" / "published"


def _published_csv(name: str, **read_kwargs) -> pd.DataFrame:
    path = PUBLISHED / name
    if not path.is_file():
        pytest.skip(f"published table {path} is absent (only the project's shared data folder "
                    "has it; users' clones do not)")
    return pd.read_csv(path, **read_kwargs)


@pytest.fixture(scope="session")
def testbed() -> pd.DataFrame:
    """imagenet-testbed wide table: one row per model, top-1 in percent per evaluation setting."""
    return _published_csv("imagenet-testbed-robustness_top1s.csv")


@pytest.fixture(scope="session")
def timm_val_v2() -> pd.DataFrame:
    """timm's val and ImageNetV2-MatchedFrequency top-1 (percent), joined on model + img_size."""
    val = _published_csv("timm-results-imagenet.csv", thousands=",")
    v2 = _published_csv("timm-results-imagenetv2-matched-frequency.csv", thousands=",")
    joined = val.merge(v2, on=["model", "img_size"], suffixes=("_val", "_v2"), validate="1:1")
    return joined
