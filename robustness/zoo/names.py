"""Model names: parsing, canonical form, and the ImageNet-1k label-space check.

Names
-----
* timm: ``arch.tag`` (``resnet50.a1_in1k``). ``arch`` alone means timm's default tag for it.
  A ``timm:`` prefix is accepted and dropped.
* torchvision: ``tv:arch.WEIGHTS_MEMBER`` (``tv:resnet50.IMAGENET1K_V2``). ``tv:arch`` alone
  means the enum's ``DEFAULT`` member.

Canonical names always carry the tag / weights member, so results stay keyed by exact weights.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from robustness.zoo.errors import UnknownModelError, UnsupportedLabelSpaceError

TORCHVISION_PREFIX = "tv:"
IMAGENET1K_CLASSES = 1000
_DATASET_TOKEN = re.compile(r"^in\d+k$")  # in1k, in12k, in21k, in22k in timm weight tags


@dataclass(frozen=True)
class ModelName:
    """A parsed model name. ``tag`` is the timm tag or the torchvision weights member, or ''."""

    source: str  # 'timm' | 'torchvision'
    architecture: str
    tag: str = ""

    def __str__(self) -> str:
        prefix = TORCHVISION_PREFIX if self.source == "torchvision" else ""
        return f"{prefix}{self.architecture}.{self.tag}" if self.tag else prefix + self.architecture


def parse_model_name(name: str) -> ModelName:
    """Split a user-facing name into source, architecture and tag (no registry lookups)."""
    text = name.strip()
    if text.startswith("hf-hub:") or text.startswith("hf_hub:"):
        raise UnknownModelError(
            f"{name!r}: Hugging Face hub model ids are not supported; use a timm name with a "
            "weight tag (e.g. 'resnet50.a1_in1k') and, offline, pass the file with weights=path."
        )
    if text.startswith(TORCHVISION_PREFIX):
        arch, _, tag = text[len(TORCHVISION_PREFIX) :].partition(".")
        return ModelName("torchvision", arch, tag)
    if text.startswith("timm:"):
        text = text[len("timm:") :]
    arch, _, tag = text.partition(".")
    return ModelName("timm", arch, tag)


def _suggest(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=5, cutoff=0.6)
    return f" Close matches: {', '.join(close)}." if close else ""


def timm_pretrained_cfg(name: ModelName) -> Any:
    """timm's PretrainedCfg for ``arch.tag`` (default tag when untagged), with clear errors."""
    import timm
    from timm.models import get_pretrained_cfg

    if not timm.is_model(name.architecture):
        raise UnknownModelError(
            f"{str(name)!r}: timm has no architecture {name.architecture!r}."
            + _suggest(name.architecture, timm.list_models())
        )
    try:
        cfg = get_pretrained_cfg(str(name), allow_unregistered=False)
    except RuntimeError as exc:
        tags = timm.list_models(name.architecture, pretrained=True)
        raise UnknownModelError(
            f"{str(name)!r}: no pretrained weights with that tag in timm {timm.__version__}. "
            f"Available: {', '.join(tags) or 'none'}."
        ) from exc
    if cfg is None or not cfg.has_weights:
        raise UnknownModelError(f"{str(name)!r}: timm lists no pretrained weights for it.")
    return cfg


def torchvision_weights(name: ModelName) -> Any:
    """The torchvision weights enum member for ``tv:arch.MEMBER`` (``DEFAULT`` when untagged)."""
    import torchvision.models
    from torchvision.models import get_model_weights, list_models

    archs = list_models(module=torchvision.models)
    if name.architecture not in archs:
        raise UnknownModelError(
            f"{str(name)!r}: torchvision has no classification model {name.architecture!r}."
            + _suggest(name.architecture, archs)
        )
    enum = get_model_weights(name.architecture)
    member = name.tag or "DEFAULT"
    if member not in enum.__members__:
        raise UnknownModelError(
            f"{str(name)!r}: {enum.__name__} has no member {member!r}. "
            f"Available: {', '.join(m for m in enum.__members__ if m != 'DEFAULT')}."
        )
    return enum[member]


def canonical_model_name(name: str, check_label_space: bool = False) -> str:
    """The canonical name with its weight tag: 'resnet50' -> 'resnet50.a1_in1k'.

    With ``check_label_space``, also raise :class:`UnsupportedLabelSpaceError` for
    checkpoints that do not output ImageNet-1k logits (metadata only, nothing is loaded).
    """
    parsed = parse_model_name(name)
    if parsed.source == "torchvision":
        weights = torchvision_weights(parsed)
        canonical = ModelName("torchvision", parsed.architecture, weights.name)
        if check_label_space:
            check_torchvision_label_space(canonical, weights)
        return str(canonical)
    cfg = timm_pretrained_cfg(parsed)
    canonical = ModelName("timm", parsed.architecture, parsed.tag or cfg.tag)
    if check_label_space:
        check_timm_label_space(canonical, cfg)
    return str(canonical)


def timm_label_space_problem(tag: str, num_classes: int | None) -> str | None:
    """Why a timm checkpoint is not a 1000-way ImageNet-1k classifier, or None if it is.

    Rule: the checkpoint's head must have 1000 outputs, and if the tag names datasets
    (``in1k``, ``in12k``, ``in21k``, ``in22k``) the last one named must be ``in1k``
    (``in22k_ft_in1k`` passes, ``in1k_ft_in22k`` does not).
    """
    if num_classes != IMAGENET1K_CLASSES:
        return (
            f"its classifier has {num_classes or 0} outputs (weights tag {tag!r}); "
            "an ImageNet-1k classifier has 1000"
        )
    datasets = [token for token in tag.split("_") if _DATASET_TOKEN.match(token)]
    if datasets and datasets[-1] != "in1k":
        return f"its weights tag {tag!r} says it was last trained on {datasets[-1]}, not in1k"
    return None


def check_timm_label_space(name: ModelName, cfg: Any) -> None:
    """Raise :class:`UnsupportedLabelSpaceError` unless the checkpoint scores ImageNet-1k."""
    import timm

    problem = timm_label_space_problem(cfg.tag or name.tag, cfg.num_classes)
    if problem is None:
        return
    in1k_tags = [n for n in timm.list_models(name.architecture, pretrained=True) if is_timm_in1k(n)]
    hint = (
        f" ImageNet-1k weights for this architecture: {', '.join(in1k_tags)}."
        if in1k_tags
        else " timm has no ImageNet-1k weights for this architecture."
    )
    raise UnsupportedLabelSpaceError(
        f"{name}: refused because {problem}. The harness scores 1000-way ImageNet-1k logits "
        "(standard class order), so it needs a checkpoint fine-tuned on ImageNet-1k." + hint
    )


def is_timm_in1k(name: str) -> bool:
    """True when the timm ``arch.tag`` checkpoint outputs ImageNet-1k logits (metadata only)."""
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    if cfg is None:
        return False
    return timm_label_space_problem(cfg.tag or name.partition(".")[2], cfg.num_classes) is None


def check_torchvision_label_space(name: ModelName, weights: Any) -> None:
    """Raise :class:`UnsupportedLabelSpaceError` unless the weights have 1000 categories."""
    categories = len(weights.meta.get("categories") or [])
    if categories != IMAGENET1K_CLASSES:
        raise UnsupportedLabelSpaceError(
            f"{name}: refused because its weights have {categories} categories; the harness "
            "scores 1000-way ImageNet-1k logits."
        )
