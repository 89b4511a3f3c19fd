"""What :func:`robustness.zoo.load_model` returns: a ready network plus everything needed to
reproduce its preprocessing.

Conventions: ``LoadedModel.network`` takes float NCHW RGB tensors in [0, 1] (normalisation by
``info.mean``/``info.std`` happens inside) and returns (N, 1000) ImageNet-1k logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from torch import nn
from torchvision.transforms import functional as TF

from robustness.zoo.transforms import EvalTransform


@dataclass(frozen=True)
class ModelInfo:
    """Provenance and preprocessing of a loaded model (all JSON-able)."""

    name: str  # canonical, with weight tag: 'resnet50.a1_in1k', 'tv:resnet50.IMAGENET1K_V2'
    source: str  # 'timm' | 'torchvision' | 'local-dir'
    architecture: str  # 'resnet50'
    family: str | None  # curated family ('resnet', 'vit', ...) or None
    kind: str  # 'cnn' | 'vit'
    param_count: float  # millions of parameters, rounded to 2 decimals (timm results tables)
    img_size: int  # network input side, px
    crop_pct: float  # fraction of the resized side kept by the center crop
    interpolation: str  # resize interpolation: 'bilinear' | 'bicubic' | ...
    num_classes: int  # 1000
    label_space: str  # 'imagenet-1k'
    weights: str  # file path, 'hf-cache:<repo>', 'torch-cache:<file>' or 'random-init'
    weights_sha256: str | None  # SHA-256 of the weight file, None for random init
    mean: tuple[float, float, float]  # RGB mean for inputs in [0, 1]
    std: tuple[float, float, float]  # RGB std for inputs in [0, 1]
    training: str = "imagenet-trained"  # how the 1000-way head was obtained, see TRAININGS
    head: dict[str, Any] | None = None
    """How the head was built when it is not simply the checkpoint's own ImageNet-1k layer
    (JSON-able; None otherwise): a zero-shot text head (template set, class names, the
    SHA-256 ``head_sha256`` of everything it was computed from), or a class-order mapping
    (``label_map``). Recorded in every unit's metadata."""

    def head_identity(self) -> dict[str, Any] | None:
        """The part of :attr:`head` that changes the outputs (hashed into unit keys): the
        template set and the head's SHA-256, or the class-order mapping's SHA-256; None for a
        checkpoint's own ImageNet-1k head. Whether the head was just computed is left out."""
        if not self.head:
            return None
        keys = ("templates", "head_sha256", "label_map_sha256")
        identity = {k: self.head[k] for k in keys if self.head.get(k) is not None}
        return identity or None


TRAININGS = ("imagenet-trained", "zero-shot")
"""Values of ``ModelInfo.training``: the head was trained (or fine-tuned) on ImageNet-1k
labels, or built without ImageNet labels from class-name prompts (zero-shot CLIP). Not the
cnn/vit ``kind``: a CLIP ViT is ``kind='vit'``, ``training='zero-shot'``."""


class NormalizedClassifier(nn.Module):
    """Wraps a classifier so it takes [0, 1] inputs: ``model((x - mean) / std)``."""

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images: float (N, 3, H, W) in [0, 1] -> logits (N, num_classes)."""
        return self.model((images - self.mean) / self.std)


@dataclass
class LoadedModel:
    """A network in eval mode on ``device`` with its geometric transform and provenance."""

    network: nn.Module
    transform: EvalTransform
    info: ModelInfo
    device: torch.device

    def preprocess(self, img: Image.Image) -> torch.Tensor:
        """PIL image -> float32 (3, H, W) in [0, 1] (non-RGB images are converted to RGB)."""
        if img.mode != "RGB":
            img = img.convert("RGB")
        return TF.to_tensor(self.transform(img))

    def transform_spec(self) -> dict[str, Any]:
        """JSON-able description of the preprocessing, for cache keys."""
        return self.transform.spec()
