"""The torchvision model source: names ``tv:arch.WEIGHTS_MEMBER``, loaded offline-safe.

Names: ``tv:arch.WEIGHTS_MEMBER`` (``tv:resnet50.IMAGENET1K_V2``); ``tv:arch`` alone means the
enum's ``DEFAULT`` member. Registered as :data:`SOURCE` in :mod:`robustness.zoo.sources`.

Weights live where torchvision puts them: ``<torch hub>/checkpoints/<file name of
weights.url>`` (``$TORCH_HOME/hub/checkpoints``, default ``~/.cache/torch/hub/checkpoints``).
The file is read with ``torch.load(weights_only=True)`` (or safetensors) and served to
torchvision's own model builder, so builder specifics (e.g. Inception's ``transform_input``,
DenseNet's legacy key renaming) still apply.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn

from robustness.datasets.fingerprint import file_sha256
from robustness.zoo.errors import (
    UnknownModelError,
    UnsupportedLabelSpaceError,
    WeightsMismatchError,
    WeightsNotFoundError,
)
from robustness.zoo.names import IMAGENET1K_CLASSES, ModelName, suggest
from robustness.zoo.transforms import EvalTransform, torchvision_eval_transform
from robustness.zoo.weight_files import (
    RANDOM_INIT,
    expected_sha256_prefix,
    is_offline,
    reachable,
    read_state_dict,
    torch_hub_checkpoint_dir,
    verify_hash_in_name,
)

PREFIX = "tv:"
SOURCE_NAME = "torchvision"


# ----------------------------------------------------------------------------- names


def parse_torchvision_name(name: str) -> ModelName:
    """``tv:arch[.MEMBER]`` -> ModelName('torchvision', arch, MEMBER) (no registry lookups)."""
    arch, _, tag = name.strip().removeprefix(PREFIX).partition(".")
    return ModelName(SOURCE_NAME, arch, tag, PREFIX)


def torchvision_weights(name: ModelName) -> Any:
    """The torchvision weights enum member for ``tv:arch.MEMBER`` (``DEFAULT`` when untagged)."""
    archs = torchvision.models.list_models(module=torchvision.models)
    if name.architecture not in archs:
        raise UnknownModelError(
            f"{str(name)!r}: torchvision has no classification model {name.architecture!r}."
            + suggest(name.architecture, archs)
        )
    enum = torchvision.models.get_model_weights(name.architecture)
    member = name.tag or "DEFAULT"
    if member not in enum.__members__:
        raise UnknownModelError(
            f"{str(name)!r}: {enum.__name__} has no member {member!r}. "
            f"Available: {', '.join(m for m in enum.__members__ if m != 'DEFAULT')}."
        )
    return enum[member]


def check_torchvision_label_space(name: ModelName, weights: Any) -> None:
    """Raise :class:`UnsupportedLabelSpaceError` unless the weights have 1000 categories."""
    categories = len(weights.meta.get("categories") or [])
    if categories != IMAGENET1K_CLASSES:
        raise UnsupportedLabelSpaceError(
            f"{name}: refused because its weights have {categories} categories; the harness "
            "scores 1000-way ImageNet-1k logits."
        )


def torchvision_in1k_names() -> list[str]:
    """Every ``tv:arch.MEMBER`` torchvision classification checkpoint with 1000 categories."""
    names = []
    for arch in torchvision.models.list_models(module=torchvision.models):
        for member_name, member in torchvision.models.get_model_weights(arch).__members__.items():
            if member_name == "DEFAULT":
                continue
            if len(member.meta.get("categories") or []) == IMAGENET1K_CLASSES:
                names.append(f"{PREFIX}{arch}.{member_name}")
    return names


# ----------------------------------------------------------------------------- weights


def cache_file(weights: Any) -> Path:
    """Where torchvision caches this weights member's checkpoint."""
    return torch_hub_checkpoint_dir() / Path(urlparse(weights.url).path).name


def missing_weights_message(name: str, weights: Any, reason: str) -> str:
    arch = name.removeprefix(PREFIX).partition(".")[0]
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


# ----------------------------------------------------------------------------- the source


def load_torchvision(
    name: str, weights: str | Path | None, pretrained: bool
) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
    """(network without normalisation, eval transform, ModelInfo fields) for a ``tv:`` name."""
    parsed = parse_torchvision_name(name)
    member = torchvision_weights(parsed)
    tagged = ModelName(SOURCE_NAME, parsed.architecture, member.name, PREFIX)
    check_torchvision_label_space(tagged, member)
    canonical = str(tagged)
    label, sha256, state_dict = RANDOM_INIT, None, None
    if pretrained:
        if weights is not None:
            file = Path(weights).expanduser().resolve()
            label = str(file)
        else:
            file, label = locate_torchvision_weights(canonical, member)
        state_dict, sha256 = read_state_dict(file), file_sha256(file)
        if weights is None:
            verify_hash_in_name(file, sha256)
    model = build_torchvision_model(parsed.architecture, member, state_dict, label)
    del state_dict
    transform = torchvision_eval_transform(member)
    fields = {
        "name": canonical,
        "architecture": parsed.architecture,
        "crop_pct": round(transform.crop_pct, 6),
        "num_classes": len(member.meta["categories"]),
        "weights": label,
        "weights_sha256": sha256,
    }
    return model, transform, fields


class TorchvisionSource:
    """torchvision classification checkpoints: ``tv:arch.WEIGHTS_MEMBER``."""

    prefix = PREFIX
    name = SOURCE_NAME

    def owns(self, name: str) -> bool:
        return name.strip().startswith(PREFIX)

    def parse(self, name: str) -> ModelName:
        return parse_torchvision_name(name)

    def canonical(self, name: str, check_label_space: bool = False) -> str:
        """``tv:resnet50`` -> ``tv:resnet50.IMAGENET1K_V2`` (the enum's DEFAULT member)."""
        parsed = parse_torchvision_name(name)
        weights = torchvision_weights(parsed)
        canonical = ModelName(SOURCE_NAME, parsed.architecture, weights.name, PREFIX)
        if check_label_space:
            check_torchvision_label_space(canonical, weights)
        return str(canonical)

    def expand(self, pattern: str) -> list[str]:
        """ImageNet-1k checkpoints whose ``tv:arch.MEMBER`` name matches (shell-style)."""
        return [n for n in torchvision_in1k_names() if fnmatch.fnmatchcase(n, pattern.strip())]

    def load(
        self, name: str, weights: str | Path | None, pretrained: bool, use_test_size: bool
    ) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
        """``use_test_size`` does not apply: torchvision weights have one eval size."""
        return load_torchvision(name, weights, pretrained)


SOURCE = TorchvisionSource()
