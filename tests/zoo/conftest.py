"""Zoo tests run offline against empty caches in tmp_path: nothing can touch the network."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def offline_empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point the HF and torch hub caches at empty folders in tmp_path and force offline mode."""
    hf_home = tmp_path / "hf_home"
    torch_home = tmp_path / "torch_home"
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    monkeypatch.setenv("ROBUSTNESS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return {
        "hf_hub": hf_home / "hub",
        "torch_checkpoints": torch_home / "hub" / "checkpoints",
    }
