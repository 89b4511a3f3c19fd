"""Loading torchvision classification models from the weights API, offline-safe.

Weights live where torchvision puts them: ``<torch hub>/checkpoints/<file name of
weights.url>`` (``$TORCH_HOME/hub/checkpoints``, default ``~/.cache/torch/hub/checkpoints``).
The file is read with ``torch.load(weights_only=True)`` (or safetensors) and served to
torchvision's own model builder, so builder specifics (e.g. Inception's ``transform_input``,
DenseNet's legacy key renaming) still apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn

from robustness.zoo.errors import WeightsMismatchError, WeightsNotFoundError
from robustness.zoo.weight_files import (
    expected_sha256_prefix,
    is_offline,
    reachable,
    torch_hub_checkpoint_dir,
)


def cache_file(weights: Any) -> Path:
    """Where torchvision caches this weights member's checkpoint."""
    return torch_hub_checkpoint_dir() / Path(urlparse(weights.url).path).name


def missing_weights_message(name: str, weights: Any, reason: str) -> str:
    arch = name.removeprefix("tv:").partition(".")[0]
    return (
        f"no pretrained weights for {name} on this machine ({reason}). Looked in:\n"
        f"  - {cache_file(weights)}\n"
        "To provide them: on a machine with internet access run\n"
        f"  python -c \"import torchvision; torchvision.models.get_model('{arch}', "
        f"weights='{weights.name}')\"\n"
        f"(or download {weights.url}) and copy the file to {cache_file(weights)} here (set "
        "TORCH_HOME to use another cache), or pass it explicitly: "
        "load_model(name, weights='file.pth') / --weights file.pth."
    )


def locate_torchvision_weights(name: str, weights: Any) -> tuple[Path, str]:
    """(file, provenance) of the cached checkpoint; downloads only when not offline."""
    file = cache_file(weights)
    if not file.is_file():
        if is_offline():
            raise WeightsNotFoundError(
                missing_weights_message(
                    name, weights, "offline: ROBUSTNESS_OFFLINE or HF_HUB_OFFLINE"
                )
            )
        if not reachable(weights.url):
            raise WeightsNotFoundError(missing_weights_message(
                name, weights, f"offline: {urlparse(weights.url).hostname} cannot be reached; set "
                "ROBUSTNESS_OFFLINE=1 to skip this check"))
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(
                weights.url, str(file), hash_prefix=expected_sha256_prefix(file), progress=False
            )
        except Exception as exc:  # network, disk, hash: one actionable error
            reason = f"download failed: {type(exc).__name__}: {str(exc)[:300]}"
            raise WeightsNotFoundError(missing_weights_message(name, weights, reason)) from exc
    return file, f"torch-cache:{file.name}"


@contextmanager
def _serving_state_dict(weights: Any, state_dict: dict) -> Iterator[None]:
    """Make ``weights.get_state_dict()`` return ``state_dict`` instead of downloading.

    Temporarily replaces the method on the weights enum class (not thread-safe).
    """
    enum_cls = type(weights)
    original = enum_cls.__dict__.get("get_state_dict")

    def get_state_dict(self: Any, *args: Any, **kwargs: Any) -> dict:
        return state_dict

    enum_cls.get_state_dict = get_state_dict
    try:
        yield
    finally:
        if original is None:
            del enum_cls.get_state_dict
        else:
            enum_cls.get_state_dict = original


def build_torchvision_model(
    architecture: str, weights: Any, state_dict: dict | None, weights_label: str
) -> nn.Module:
    """torchvision's builder for ``architecture`` with the given state dict (None: random)."""
    if state_dict is None:
        return torchvision.models.get_model(architecture, weights=None)
    try:
        with _serving_state_dict(weights, state_dict):
            return torchvision.models.get_model(architecture, weights=weights)
    except RuntimeError as exc:
        raise WeightsMismatchError(
            f"weights {weights_label} do not fit tv:{architecture}: {str(exc)[:800]}. Check the "
            "file holds weights for exactly this architecture (and a 1000-class head)."
        ) from exc
