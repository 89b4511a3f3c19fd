"""Model zoo adapter: timm and torchvision ImageNet-1k classifiers behind one interface.

>>> from robustness.zoo import load_model
>>> loaded = load_model("resnet50.a1_in1k", device="auto")   # doctest: +SKIP
>>> logits = loaded.network(loaded.preprocess(img)[None].to(loaded.device))  # doctest: +SKIP

See docs/models.md for names, families and where weights are looked for.
"""

from robustness.zoo.errors import (
    UnknownModelError,
    UnsafeWeightsError,
    UnsupportedLabelSpaceError,
    WeightsMismatchError,
    WeightsNotFoundError,
)
from robustness.zoo.families import FAMILIES, FamilySpec, family_of, kind_of, list_family
from robustness.zoo.loaded import LoadedModel, ModelInfo, NormalizedClassifier
from robustness.zoo.loader import load_model, resolve_device
from robustness.zoo.resolve import resolve_model_names
from robustness.zoo.transforms import EvalTransform

__all__ = [
    "FAMILIES",
    "EvalTransform",
    "FamilySpec",
    "LoadedModel",
    "ModelInfo",
    "NormalizedClassifier",
    "UnknownModelError",
    "UnsafeWeightsError",
    "UnsupportedLabelSpaceError",
    "WeightsMismatchError",
    "WeightsNotFoundError",
    "family_of",
    "kind_of",
    "list_family",
    "load_model",
    "resolve_device",
    "resolve_model_names",
]
