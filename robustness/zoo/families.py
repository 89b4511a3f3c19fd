"""Curated model families (data in ``families.json``) and the cnn/vit kind of any model.

A family is a named list of canonical model names. Aggregate families (``all-cnn``,
``all-vit``) list member families in ``union_of`` and expand to their union, in order.

Kind rule (:func:`kind_of`): a model whose architecture appears in a curated family takes
that family's kind. Otherwise it is ``'vit'`` when its architecture name starts with one of
:data:`TRANSFORMER_ARCH_PREFIXES` (attention-based and hybrid conv-attention designs) and
``'cnn'`` for everything else (including MLP-Mixers and attention-free MetaFormers).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from importlib import resources

from robustness.zoo.errors import UnknownModelError
from robustness.zoo.names import TRANSFORMER_ARCH_PREFIXES, ModelName

FAMILIES_FILE = "families.json"
KINDS = ("cnn", "vit")

@dataclass(frozen=True)
class FamilySpec:
    """One entry of ``families.json``. ``models`` is empty for aggregates (see ``union_of``)."""

    name: str
    kind: str  # 'cnn' | 'vit'
    description: str
    models: tuple[str, ...] = ()
    union_of: tuple[str, ...] = ()


def _load_families() -> dict[str, FamilySpec]:
    text = resources.files("robustness.zoo").joinpath(FAMILIES_FILE).read_text(encoding="utf-8")
    raw = json.loads(text)["families"]
    families = {
        name: FamilySpec(
            name=name,
            kind=entry["kind"],
            description=entry.get("description", ""),
            models=tuple(entry.get("models", ())),
            union_of=tuple(entry.get("union_of", ())),
        )
        for name, entry in raw.items()
    }
    for spec in families.values():
        if spec.kind not in KINDS:
            raise ValueError(f"{FAMILIES_FILE}: family {spec.name!r} has kind {spec.kind!r}")
        unknown = [member for member in spec.union_of if member not in families]
        if unknown:
            raise ValueError(f"{FAMILIES_FILE}: {spec.name!r} unions unknown families {unknown}")
    return families


FAMILIES: dict[str, FamilySpec] = _load_families()


def list_family(name: str) -> list[str]:
    """Canonical model names of a family (``'vit'`` or ``'family:vit'``), aggregates expanded."""
    key = name.removeprefix("family:")
    if key not in FAMILIES:
        close = difflib.get_close_matches(key, list(FAMILIES), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise UnknownModelError(f"unknown model family {name!r}{hint} Known families: "
                                f"{', '.join(FAMILIES)} (see `robustness models`)")
    spec = FAMILIES[key]
    names = list(spec.models)
    for member in spec.union_of:
        names.extend(list_family(member))
    return list(dict.fromkeys(names))


def _architecture_key(name: ModelName) -> tuple[str, str]:
    return (name.source, name.architecture)


def family_of(name: str) -> str | None:
    """The curated (non-aggregate) family whose models share this model's architecture."""
    from robustness.zoo.sources import parse_model_name  # the sources import timm (and torch)

    key = _architecture_key(parse_model_name(name))
    for spec in FAMILIES.values():
        if any(_architecture_key(parse_model_name(m)) == key for m in spec.models):
            return spec.name
    return None


def kind_of(name: str) -> str:
    """'vit' or 'cnn' for any model name: from its family if curated, else the prefix rule."""
    family = family_of(name)
    if family is not None:
        return FAMILIES[family].kind
    from robustness.zoo.sources import parse_model_name

    architecture = parse_model_name(name).architecture
    return "vit" if architecture.startswith(TRANSFORMER_ARCH_PREFIXES) else "cnn"
