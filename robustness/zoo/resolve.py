"""Expanding user model selections (names, families, wildcards) into canonical names.

Every name goes to the source that owns its prefix (:func:`robustness.zoo.sources.source_for`);
only families (``vit``, ``family:vit``) are read here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from corruptions.errors import UserInputError
from robustness.zoo.errors import UnknownModelError
from robustness.zoo.families import FAMILIES, list_family
from robustness.zoo.sources import source_for
from robustness.zoo.weight_files import weights_file_problem

_WILDCARD_CHARS = set("*?[")


def _expand_one(item: str) -> list[str]:
    if item.startswith("family:") or item in FAMILIES:
        return list_family(item)
    source = source_for(item)
    if _WILDCARD_CHARS & set(item):
        matches = source.expand(item)
        if not matches:
            raise UnknownModelError(
                f"pattern {item!r} matches no pretrained ImageNet-1k checkpoint of model source "
                f"{source.name!r} (timm patterns look like 'resnet50.*' or 'vit_*', torchvision "
                "ones 'tv:resnet*', folders 'local-dir:/zoo/*')."
            )
        return matches
    return [source.canonical(item, check_label_space=True)]


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
        return source_for(name).canonical(name)
    except Exception:  # not a zoo name (a user's own loader's name): matched as written
        return None


def match_weights(weights: Mapping[str, str | Path], models: Sequence[str],
                  check_contents: bool = True) -> dict[str, str]:
    """``--weights NAME=FILE`` entries keyed by the run's model names.

    ``NAME`` is resolved exactly as ``--models`` resolves a name, so the short name
    (``resnet18``) and the full one (``resnet18.a1_in1k``) both reach the model
    ``resnet18.a1_in1k``. An entry that reaches no model of the run, two entries for
    one model, or a file that does not exist are errors (:class:`UserInputError`);
    with ``check_contents``, so is a file that is not a tensor file with a 1000-way head
    (read from its header). Names are canonicalised only when an entry is not spelled
    exactly as a model of the run.
    """
    exact = set(models)
    targets: dict[str, str] | None = None
    out: dict[str, str] = {}
    for name, file in weights.items():
        target = name if name in exact else None
        if target is None:
            if targets is None:
                targets = {}
                for model in models:
                    canonical = _canonical_or_none(model)
                    if canonical is not None:
                        targets.setdefault(canonical, model)
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
        problem = weights_file_problem(path) if check_contents else None
        if problem is not None:
            raise UserInputError(f"--weights {name}={file}: {problem}")
        out[target] = str(path.resolve())
    return out
