"""Model zoo adapter: ImageNet-1k classifiers from every model source behind one interface.

>>> from robustness.zoo import load_model
>>> loaded = load_model("resnet50.a1_in1k", device="auto")   # doctest: +SKIP
>>> logits = loaded.network(loaded.preprocess(img)[None].to(loaded.device))  # doctest: +SKIP

Sources: timm (``arch.tag``), torchvision (``tv:``), timm export folders (``local-dir:``), and
any source added with :func:`register_source` (see :mod:`robustness.zoo.sources`).
See docs/models.md for names, families, sources and where weights are looked for.
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
from robustness.zoo.names import ModelName
from robustness.zoo.resolve import resolve_model_names
from robustness.zoo.sources import (
    SOURCES,
    ModelSource,
    canonical_model_name,
    parse_model_name,
    register_source,
    source_for,
    unregister_source,
)
from robustness.zoo.transforms import EvalTransform

__all__ = [
    "FAMILIES",
    "SOURCES",
    "EvalTransform",
    "FamilySpec",
    "LoadedModel",
    "ModelInfo",
    "ModelName",
    "ModelSource",
    "NormalizedClassifier",
    "UnknownModelError",
    "UnsafeWeightsError",
    "UnsupportedLabelSpaceError",
    "WeightsMismatchError",
    "WeightsNotFoundError",
    "canonical_model_name",
    "family_of",
    "kind_of",
    "list_family",
    "load_model",
    "parse_model_name",
    "register_source",
    "resolve_device",
    "resolve_model_names",
    "source_for",
    "unregister_source",
]
