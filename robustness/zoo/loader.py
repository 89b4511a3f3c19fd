"""``load_model``: one entry point for timm and torchvision ImageNet-1k classifiers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from robustness.zoo import timm_models, torchvision_models
from robustness.zoo.families import family_of, kind_of
from robustness.zoo.loaded import LoadedModel, ModelInfo, NormalizedClassifier
from robustness.zoo.local_dir import is_local_dir_name, load_local_dir
from robustness.zoo.names import (
    IMAGENET1K_CLASSES,
    ModelName,
    check_timm_label_space,
    check_torchvision_label_space,
    parse_model_name,
    timm_pretrained_cfg,
    torchvision_weights,
)
from robustness.zoo.transforms import EvalTransform, timm_eval_transform, torchvision_eval_transform
from robustness.zoo.weight_files import read_state_dict, sha256_of_file, verify_hash_in_name

RANDOM_INIT = "random-init"


def resolve_device(device: str | torch.device) -> torch.device:
    """``'auto'`` -> cuda if available else cpu; anything else -> ``torch.device(device)``."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _param_count_millions(model: nn.Module) -> float:
    return round(sum(p.numel() for p in model.parameters()) / 1e6, 2)


def _read_weights(
    weights: str | Path | None, locate: Any
) -> tuple[dict[str, torch.Tensor], str, str, Path]:
    """(state dict, provenance label, sha256, file) from an explicit file or from ``locate()``."""
    if weights is not None:
        file = Path(weights).expanduser().resolve()
        label = str(file)
    else:
        file, label = locate()
    state_dict = read_state_dict(file)
    return state_dict, label, sha256_of_file(file), file


def _load_timm(
    name: ModelName, weights: str | Path | None, pretrained: bool, use_test_size: bool
) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
    cfg = timm_pretrained_cfg(name)
    tagged = ModelName("timm", name.architecture, name.tag or cfg.tag)
    check_timm_label_space(tagged, cfg)
    canonical = str(tagged)
    label, sha256 = RANDOM_INIT, None
    if not pretrained:
        model = timm_models.build_timm_model_random(canonical)
    elif weights is not None:
        file = Path(weights).expanduser().resolve()
        state_dict, label, sha256 = read_state_dict(file), str(file), sha256_of_file(file)
        model = timm_models.build_timm_from_state_dict(canonical, state_dict, label)
        del state_dict
    else:
        file, label = timm_models.locate_timm_weights(canonical, cfg)
        sha256 = sha256_of_file(file)
        if label.startswith("torch-cache:"):
            verify_hash_in_name(file, sha256)
        model = timm_models.build_timm_from_cache(canonical, file, label)
    data_config = timm_models.timm_data_config(model, use_test_size)
    transform = timm_eval_transform(data_config)
    fields = {
        "name": canonical,
        "source": "timm",
        "crop_pct": float(data_config["crop_pct"]),
        "num_classes": int(getattr(model, "num_classes", cfg.num_classes)),
        "weights": label,
        "weights_sha256": sha256,
    }
    return model, transform, fields


def _load_torchvision(
    name: ModelName, weights: str | Path | None, pretrained: bool
) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
    member = torchvision_weights(name)
    tagged = ModelName("torchvision", name.architecture, member.name)
    check_torchvision_label_space(tagged, member)
    canonical = str(tagged)
    label, sha256, state_dict = RANDOM_INIT, None, None
    if pretrained:
        state_dict, label, sha256, file = _read_weights(
            weights, lambda: torchvision_models.locate_torchvision_weights(canonical, member)
        )
        if weights is None:
            verify_hash_in_name(file, sha256)
    model = torchvision_models.build_torchvision_model(name.architecture, member, state_dict, label)
    del state_dict
    transform = torchvision_eval_transform(member)
    fields = {
        "name": canonical,
        "source": "torchvision",
        "crop_pct": round(transform.crop_pct, 6),
        "num_classes": len(member.meta["categories"]),
        "weights": label,
        "weights_sha256": sha256,
    }
    return model, transform, fields


def load_model(
    name: str,
    weights: str | Path | None = None,
    device: str | torch.device = "cpu",
    pretrained: bool = True,
    *,
    use_test_size: bool = True,
) -> LoadedModel:
    """Load an ImageNet-1k classifier by name, ready for [0, 1] NCHW input on ``device``.

    name: timm ``arch.tag`` or torchvision ``tv:arch.WEIGHTS_MEMBER`` (untagged: default).
    weights: a local ``.safetensors`` or torch state-dict file to use instead of the caches.
    device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ``'auto'`` (cuda if available), or a device.
    pretrained: False builds the architecture with random weights (for smoke tests).
    use_test_size: timm only; use the checkpoint's ``test_input_size``/``test_crop_pct`` when
        it declares them, as timm's ``validate.py`` and its published results do.

    Raises WeightsNotFoundError (weights neither cached nor downloadable),
    UnsupportedLabelSpaceError (not an ImageNet-1k head), UnsafeWeightsError,
    WeightsMismatchError, UnknownModelError.
    """
    if weights is not None and not pretrained:
        raise ValueError("weights= was given with pretrained=False; drop one of them.")
    if is_local_dir_name(name):
        return _finish_local_dir(name, weights, device, use_test_size)
    parsed = parse_model_name(name)
    if parsed.source == "torchvision":
        model, transform, fields = _load_torchvision(parsed, weights, pretrained)
    else:
        model, transform, fields = _load_timm(parsed, weights, pretrained, use_test_size)
    if fields["num_classes"] != IMAGENET1K_CLASSES:
        raise AssertionError(f"{fields['name']}: built with {fields['num_classes']} classes")
    name_for_family = fields["name"]
    return _assemble(model, transform, fields, parsed.architecture, family_of(name_for_family),
                     kind_of(name_for_family), device)


def _assemble(model: nn.Module, transform: EvalTransform, fields: dict[str, Any], architecture: str,
              family: str | None, kind: str, device: str | torch.device) -> LoadedModel:
    """Fold the normalisation into the network, move it to ``device`` and record its provenance."""
    target = resolve_device(device)
    network = NormalizedClassifier(model.eval(), transform.mean, transform.std).eval().to(target)
    info = ModelInfo(
        architecture=architecture,
        family=family,
        kind=kind,
        param_count=_param_count_millions(model),
        img_size=transform.crop_size,
        interpolation=transform.interpolation,
        label_space="imagenet-1k",
        mean=transform.mean,
        std=transform.std,
        **fields,
    )
    return LoadedModel(network=network, transform=transform, info=info, device=target)


def _finish_local_dir(
    name: str, weights: str | Path | None, device: str | torch.device, use_test_size: bool
) -> LoadedModel:
    """``local-dir:<folder>`` models: a timm export folder (see :mod:`robustness.zoo.local_dir`)."""
    if weights is not None:
        raise ValueError(f"{name}: the folder holds the weights; drop weights=")
    model, transform, fields = load_local_dir(name, use_test_size)
    arch = fields.pop("_architecture")
    family = fields.pop("_family") or family_of(arch)
    kind = fields.pop("_kind") or kind_of(arch)
    return _assemble(model, transform, fields, arch, family, kind, device)
