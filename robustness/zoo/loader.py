"""``load_model``: one entry point for every registered model source (timm, torchvision,
``local-dir:`` folders, and sources added with :func:`robustness.zoo.register_source`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from robustness.zoo.errors import UnsupportedLabelSpaceError
from robustness.zoo.families import family_of, kind_of
from robustness.zoo.loaded import LoadedModel, ModelInfo, NormalizedClassifier
from robustness.zoo.names import IMAGENET1K_CLASSES
from robustness.zoo.sources import REQUIRED_FIELDS, ModelSource, source_for
from robustness.zoo.transforms import EvalTransform


def resolve_device(device: str | torch.device) -> torch.device:
    """``'auto'`` -> cuda if available else cpu; anything else -> ``torch.device(device)``."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _param_count_millions(model: nn.Module) -> float:
    return round(sum(p.numel() for p in model.parameters()) / 1e6, 2)


def load_model(
    name: str,
    weights: str | Path | None = None,
    device: str | torch.device = "cpu",
    pretrained: bool = True,
    *,
    use_test_size: bool = True,
) -> LoadedModel:
    """Load an ImageNet-1k classifier by name, ready for [0, 1] NCHW input on ``device``.

    name: timm ``arch.tag``, torchvision ``tv:arch.WEIGHTS_MEMBER`` (untagged: default),
        ``local-dir:FOLDER``, or a name of a registered source (``robustness.zoo.SOURCES``).
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
    source = source_for(name)
    model, transform, fields = source.load(name, weights, pretrained, use_test_size)
    return _assemble(source, name, model, transform, fields, device)


def _assemble(source: ModelSource, name: str, model: nn.Module, transform: EvalTransform,
              fields: dict[str, Any], device: str | torch.device) -> LoadedModel:
    """Fold the normalisation into the network, move it to ``device`` and record its provenance
    (``fields`` as documented in :mod:`robustness.zoo.sources`, defaults filled in here)."""
    fields = dict(fields)
    missing = [key for key in REQUIRED_FIELDS if key not in fields]
    if missing:
        raise TypeError(f"{name}: model source {source.name!r} returned no {', '.join(missing)} "
                        f"(load() must return the fields {', '.join(REQUIRED_FIELDS)})")
    if fields["num_classes"] != IMAGENET1K_CLASSES:
        raise UnsupportedLabelSpaceError(
            f"{fields['name']}: model source {source.name!r} built a head with "
            f"{fields['num_classes']} classes; the harness scores 1000-way ImageNet-1k logits."
        )
    classified_as = fields.pop("classified_as", None) or fields["name"]
    family = fields.pop("family", None) or family_of(classified_as)
    kind = fields.pop("kind", None) or kind_of(classified_as)
    architecture = fields.pop("architecture", None) or source.parse(name).architecture
    fields.setdefault("crop_pct", round(transform.crop_pct, 6))
    fields["source"] = source.name
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
