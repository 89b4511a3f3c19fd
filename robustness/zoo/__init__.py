"""Model zoo adapter: ImageNet-1k classifiers from every model source behind one interface.

>>> from robustness.zoo import load_model
>>> loaded = load_model("resnet50.a1_in1k", device="auto")   # doctest: +SKIP
>>> logits = loaded.network(loaded.preprocess(img)[None].to(loaded.device))  # doctest: +SKIP

Sources: timm (``arch.tag``), torchvision (``tv:``), timm export folders (``local-dir:``), and
any source added with :func:`register_source` (see :mod:`robustness.zoo.sources`).
See docs/models.md for names, families, sources and where weights are looked for.
"""

from robustness.lazy import lazy_exports

# public name -> module; imported on first use (loading a model needs torch, listing families not)
_EXPORTS = {
    "UnknownModelError": ".errors",
    "UnsafeWeightsError": ".errors",
    "UnsupportedLabelSpaceError": ".errors",
    "WeightsMismatchError": ".errors",
    "WeightsNotFoundError": ".errors",
    "FAMILIES": ".families",
    "FamilySpec": ".families",
    "family_of": ".families",
    "kind_of": ".families",
    "list_family": ".families",
    "LoadedModel": ".loaded",
    "ModelInfo": ".loaded",
    "NormalizedClassifier": ".loaded",
    "load_model": ".loader",
    "resolve_device": ".loader",
    "ModelName": ".names",
    "resolve_model_names": ".resolve",
    "SOURCES": ".sources",
    "ModelSource": ".sources",
    "canonical_model_name": ".sources",
    "parse_model_name": ".sources",
    "register_source": ".sources",
    "source_for": ".sources",
    "unregister_source": ".sources",
    "EvalTransform": ".transforms",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
