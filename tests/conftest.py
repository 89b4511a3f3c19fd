"""Test-suite-wide settings: the suite never reaches the network."""

from __future__ import annotations

import os

os.environ.setdefault("ROBUSTNESS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
