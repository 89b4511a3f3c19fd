"""Shared fixtures for the corruption tests: the reference oracle and real photographs.

``reference.py`` (next to this file) holds the shimmed original ImageNet-C code;
this folder is put on ``sys.path`` so test modules can ``from reference import ...``
under any pytest import mode.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from reference import PHOTO_NAMES, photo_224, require_reference  # noqa: E402


@pytest.fixture
def reference_oracle():
    """The shimmed ``imagenet_c.corruptions`` module; skips (fails under CI) without Wand."""
    return require_reference()


@pytest.fixture(scope="session")
def photos() -> list[np.ndarray]:
    """The real test photographs (astronaut, chelsea, coffee) as 224x224x3 uint8."""
    return [photo_224(i) for i in range(len(PHOTO_NAMES))]
