"""Expanding user model selections (names, families, wildcards) into canonical names."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from pathlib import Path

from corruptions.errors import UserInputError
from robustness.zoo.errors import UnknownModelError
from robustness.zoo.families import FAMILIES, list_family
from robustness.zoo.local_dir import canonical_local_dir_name, is_local_dir_name
from robustness.zoo.names import (
    IMAGENET1K_CLASSES,
    TORCHVISION_PREFIX,
    canonical_model_name,
    is_timm_in1k,
)
from robustness.zoo.weight_files import weights_file_problem

_WILDCARD_CHARS = set("*?[")


def _torchvision_in1k_names() -> list[str]:
    """Every ``tv:arch.MEMBER`` torchvision classification checkpoint with 1000 categories."""
    import torchvision.models
    from torchvision.models import get_model_weights, list_models

    names = []
    for arch in list_models(module=torchvision.models):
        for member_name, member in get_model_weights(arch).__members__.items():
            if member_name == "DEFAULT":
                continue
            if len(member.meta.get("categories") or []) == IMAGENET1K_CLASSES:
                names.append(f"{TORCHVISION_PREFIX}{arch}.{member_name}")
    return names


def expand_wildcard(pattern: str) -> list[str]:
    """ImageNet-1k checkpoints matching a shell-style pattern ('resnet50.*', 'tv:vit_*').

    timm patterns go through ``timm.list_models(pattern, pretrained=True)``; checkpoints whose
    label space is not ImageNet-1k are left out, since the harness cannot score them.
    """
    if pattern.startswith(TORCHVISION_PREFIX):
        return [n for n in _torchvision_in1k_names() if fnmatch.fnmatchcase(n, pattern)]
    import timm

    return [n for n in timm.list_models(pattern, pretrained=True) if is_timm_in1k(n)]


def _expand_one(item: str) -> list[str]:
    if is_local_dir_name(item):
        return [canonical_local_dir_name(item)]
    if item.startswith("family:") or item in FAMILIES:
        return list_family(item)
    if _WILDCARD_CHARS & set(item):
        matches = expand_wildcard(item)
        if not matches:
            raise UnknownModelError(
                f"pattern {item!r} matches no pretrained ImageNet-1k checkpoint "
                "(timm patterns look like 'resnet50.*' or 'vit_*', torchvision ones 'tv:resnet*')."
            )
        return matches
    return [canonical_model_name(item, check_label_space=True)]


def resolve_model_names(names: list[str] | str) -> list[str]:
    """Canonical model names for a selection, in order, without duplicates.

    names: a list, or one comma-separated string, of model names ('resnet50' becomes
    'resnet50.a1_in1k'), families ('vit' or 'family:vit') and wildcards ('resnet50.*').
    Raises UnknownModelError for anything that matches nothing, and
    UnsupportedLabelSpaceError for an explicitly named checkpoint without ImageNet-1k logits
    (wildcards silently leave those out).
    """
    items = names.split(",") if isinstance(names, str) else list(names)
    resolved: list[str] = []
    for item in (i.strip() for i in items):
        if item:
            resolved.extend(_expand_one(item))
    return list(dict.fromkeys(resolved))


def _canonical_or_none(name: str) -> str | None:
    try:
        if is_local_dir_name(name):
            return canonical_local_dir_name(name)
        return canonical_model_name(name)
    except Exception:  # not a zoo name (a user's own loader's name): matched as written
        return None


def match_weights(weights: Mapping[str, str | Path], models: Sequence[str]) -> dict[str, str]:
    """``--weights NAME=FILE`` entries keyed by the run's model names.

    ``NAME`` is resolved exactly as ``--models`` resolves a name, so the short name
    (``resnet18``) and the full one (``resnet18.a1_in1k``) both reach the model
    ``resnet18.a1_in1k``. An entry that reaches no model of the run, two entries for
    one model, or a file that does not exist are errors (:class:`UserInputError`).
    """
    targets: dict[str, str] = {}
    for model in models:
        targets[model] = model
        canonical = _canonical_or_none(model)
        if canonical is not None:
            targets.setdefault(canonical, model)
    out: dict[str, str] = {}
    for name, file in weights.items():
        target = targets.get(name)
        if target is None:
            canonical = _canonical_or_none(name)
            target = targets.get(canonical) if canonical is not None else None
        if target is None:
            shown = ", ".join(list(models)[:8]) + (" ..." if len(models) > 8 else "")
            raise UserInputError(f"--weights {name}={file}: {name!r} is not a model of this run "
                                 f"({shown}); name one of them, or add it to --models")
        if target in out:
            raise UserInputError(f"--weights: two files for model {target} ({out[target]} and {file}); "
                                 "give one")
        path = Path(file).expanduser()
        if not path.is_file():
            raise UserInputError(f"--weights {name}={file}: no such file; give the path of a "
                                 ".safetensors or state-dict file")
        problem = weights_file_problem(path)
        if problem is not None:
            raise UserInputError(f"--weights {name}={file}: {problem}")
        out[target] = str(path.resolve())
    return out
