"""Model sources: where a model name's prefix sends it, in one place.

A model name is ``<prefix><rest>``. Each prefix belongs to one :class:`ModelSource`, which
knows everything about its names: parsing, the canonical form, wildcard expansion and
loading. Built in (:func:`builtin_sources`):

===============  ==============  =====================================================
prefix           ``name``        module
===============  ==============  =====================================================
``""``           ``timm``        :mod:`robustness.zoo.timm_models` (``timm:`` accepted)
``tv:``          ``torchvision`` :mod:`robustness.zoo.torchvision_models`
``local-dir:``   ``local-dir``   :mod:`robustness.zoo.local_dir`
``openclip:``    ``openclip``    :mod:`robustness.zoo.openclip_models` (zero-shot)
``openclip-local:`` ``openclip-local`` :mod:`robustness.zoo.openclip_models` (zero-shot)
``hf:``          ``hf``          :mod:`robustness.zoo.hf_models`
===============  ==============  =====================================================

:func:`source_for` is the only place a prefix is read; ``load_model``,
``resolve_model_names``, :func:`canonical_model_name` and ``match_weights`` all go through it.
A new source is one module that defines a class with the members of :class:`ModelSource`,
registered with :func:`register_source` (see docs/models.md, "Adding a model source")::

    register_source(MySource())          # prefix 'my:'
    load_model("my:net")                 # -> MySource().load('my:net', None, True, True)

A registered prefix is never silently replaced: a second source for a prefix (or for names
another source already owns, like ``timm:``) raises ``ValueError``.

``load`` returns ``(network, transform, fields)``: ``network`` maps normalised NCHW RGB
images to (N, 1000) ImageNet-1k logits (``load_model`` folds ``transform.mean``/``std`` in
front of it); ``transform`` is the :class:`~robustness.zoo.transforms.EvalTransform`;
``fields`` holds :class:`~robustness.zoo.loaded.ModelInfo` values, see :data:`REQUIRED_FIELDS`
and :data:`OPTIONAL_FIELDS`. ``ModelInfo.source`` is always the source's ``name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from torch import nn

from robustness.zoo import hf_models, local_dir, openclip_models, timm_models, torchvision_models
from robustness.zoo.errors import UnknownModelError
from robustness.zoo.names import ModelName
from robustness.zoo.transforms import EvalTransform

REQUIRED_FIELDS = ("name", "num_classes", "weights", "weights_sha256")
"""``fields`` every ``load`` returns: the canonical display name (results are keyed by it),
the head's class count (1000), where the weights came from (a path, a cache label or
'random-init') and their SHA-256 (None when there is no file)."""

OPTIONAL_FIELDS = ("architecture", "crop_pct", "family", "kind", "classified_as", "training", "head")
"""``fields`` a ``load`` may return. Defaults: ``architecture`` from ``parse(name)``,
``crop_pct`` from the transform, ``family``/``kind`` from the curated families and the kind
rule applied to ``classified_as`` (default: the canonical ``name``), e.g. a ``local-dir:``
folder is classified as the timm architecture it holds. ``training`` ('imagenet-trained', the
default, or 'zero-shot') and ``head`` (how the head was built, JSON-able) are recorded as
given (:class:`~robustness.zoo.loaded.ModelInfo`)."""

RESERVED_PREFIXES = ("family:",)  # selections, not sources (resolve_model_names)


@runtime_checkable
class ModelSource(Protocol):
    """What the registry needs of a model source; implement these members in one class.

    ``prefix`` ends with ':' (only the timm source has ''); ``name`` is the source's value
    of ``ModelInfo.source`` and ``ModelName.source``.
    """

    prefix: str
    name: str

    def owns(self, name: str) -> bool:
        """True for the names this source reads (usually: the name starts with ``prefix``)."""
        ...

    def parse(self, name: str) -> ModelName:
        """Split a name into architecture and tag, without lookups or file access."""
        ...

    def canonical(self, name: str, check_label_space: bool = False) -> str:
        """The full name results are recorded under; with ``check_label_space`` raise
        ``UnsupportedLabelSpaceError`` for a head that is not ImageNet-1k (metadata only).
        Raise ``UnknownModelError`` (or ``WeightsNotFoundError``) for names it cannot find."""
        ...

    def expand(self, pattern: str) -> list[str]:
        """Canonical names of the ImageNet-1k checkpoints matching a shell-style wildcard."""
        ...

    def load(
        self, name: str, weights: str | Path | None, pretrained: bool, use_test_size: bool
    ) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
        """(network without normalisation, eval transform, ModelInfo fields); see module doc.

        weights: a file to use instead of the source's own (refuse it if that makes no sense);
        pretrained: False builds random weights; use_test_size: a test-time resolution when
        the checkpoint declares one."""
        ...


def builtin_sources() -> list[ModelSource]:
    """The sources that ship with the harness, in registration order."""
    return [timm_models.SOURCE, torchvision_models.SOURCE, local_dir.SOURCE,
            openclip_models.SOURCE, openclip_models.LOCAL_SOURCE, hf_models.SOURCE]


_REGISTRY: dict[str, ModelSource] = {}
SOURCES: Mapping[str, ModelSource] = MappingProxyType(_REGISTRY)
"""Registered sources by prefix (read-only view; change it with :func:`register_source`)."""


def _taken_by(prefix: str) -> ModelSource | None:
    """The registered source that has ``prefix`` or already reads names starting with it."""
    probe = prefix + "x"
    for source in _REGISTRY.values():
        if source.prefix == prefix or source.owns(probe):
            return source
    return None


def _add(source: ModelSource) -> ModelSource:
    if not isinstance(source, ModelSource):
        missing = [m for m in ("prefix", "name", "owns", "parse", "canonical", "expand", "load")
                   if not hasattr(source, m)]
        raise TypeError(f"{source!r} is not a ModelSource: it has no {', '.join(missing)}")
    taken = _taken_by(source.prefix)
    if taken is not None:
        raise ValueError(f"model source {source.name!r}: prefix {source.prefix!r} is already "
                         f"taken by model source {taken.name!r}; unregister_source"
                         f"({taken.prefix!r}) first to replace it")
    _REGISTRY[source.prefix] = source
    return source


def register_source(source: ModelSource) -> ModelSource:
    """Add a model source; its names then work in ``load_model``, ``resolve_model_names``,
    ``--models``, ``--weights`` and the engine. Returns ``source``.

    Raises ``TypeError`` when ``source`` lacks a member of :class:`ModelSource`, and
    ``ValueError`` when the prefix is not a word ending in ':', is reserved, or is taken
    (by another source, or because a source already reads such names: ``timm:``).
    """
    prefix = getattr(source, "prefix", None)
    if not (isinstance(prefix, str) and len(prefix) > 1 and prefix.endswith(":")
            and ":" not in prefix[:-1] and not any(c.isspace() for c in prefix)):
        raise ValueError(f"model source {getattr(source, 'name', source)!r}: prefix {prefix!r} "
                         "must be a word ending in ':' (e.g. 'openclip:')")
    if prefix in RESERVED_PREFIXES:
        raise ValueError(f"model source {source.name!r}: prefix {prefix!r} is reserved for "
                         "model families")
    return _add(source)


def unregister_source(prefix: str) -> ModelSource:
    """Remove a source added with :func:`register_source` and return it.

    Built-in sources cannot be removed (``ValueError``); an unknown prefix is a ``KeyError``.
    """
    if any(source.prefix == prefix for source in builtin_sources()):
        raise ValueError(f"{prefix!r} is a built-in model source; it cannot be removed")
    return _REGISTRY.pop(prefix)


def _register_builtins() -> None:
    """Fill the registry with :func:`builtin_sources`, once, at import."""
    for source in builtin_sources():
        _add(source)


_register_builtins()


def source_for(name: str) -> ModelSource:
    """The registered source that reads ``name`` (longest prefix first; timm last)."""
    for source in sorted(_REGISTRY.values(), key=lambda s: -len(s.prefix)):
        if source.owns(name):
            return source
    scheme = name.strip().partition(":")[0] + ":"
    known = ", ".join(p for p in _REGISTRY if p)
    raise UnknownModelError(
        f"{name!r}: no model source reads names starting with {scheme!r}. Known prefixes: "
        f"{known}, and none for timm names; robustness.zoo.register_source adds a source."
    )


def parse_model_name(name: str) -> ModelName:
    """Split a user-facing name into source, architecture and tag (no registry lookups)."""
    return source_for(name).parse(name)


def canonical_model_name(name: str, check_label_space: bool = False) -> str:
    """The canonical name with its weight tag: 'resnet50' -> 'resnet50.a1_in1k'.

    With ``check_label_space``, also raise :class:`UnsupportedLabelSpaceError` for
    checkpoints that do not output ImageNet-1k logits (metadata only, nothing is loaded).
    """
    return source_for(name).canonical(name, check_label_space)
