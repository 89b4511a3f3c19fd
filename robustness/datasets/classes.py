"""The ImageNet-1k class index space and the 200-class subsets of ImageNet-R/-A.

Index convention: class ``i`` is the ``i``-th WordNet ID (wnid) of the 1000
ILSVRC2012 leaf synsets sorted as strings (``n01440764`` = 0 = tench,
``n15075141`` = 999 = toilet tissue). This is the order of torchvision, timm
and almost every released checkpoint. Data files ship with the package.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources


@cache
def _load(filename: str) -> dict:
    return json.loads(resources.files(__package__).joinpath(filename).read_text("utf-8"))


def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ImageNet-1k wnids in index order (sorted)."""
    return tuple(_load("imagenet_classes.json")["wnids"])


def imagenet_names() -> tuple[str, ...]:
    """Human-readable names (WordNet lemmas, comma-separated), in index order."""
    return tuple(_load("imagenet_classes.json")["names"])


@cache
def wnid_to_index() -> dict[str, int]:
    """Map wnid -> ImageNet-1k class index."""
    return {w: i for i, w in enumerate(imagenet_wnids())}


def subset_wnids(set_name: str) -> tuple[str, ...]:
    """The sorted wnids covered by ``set_name`` (``"imagenet-r"`` or ``"imagenet-a"``)."""
    return tuple(_load("imagenet_subsets.json")[set_name])


def subset_indices(set_name: str) -> tuple[int, ...]:
    """ImageNet-1k indices covered by ``set_name``, ascending."""
    index = wnid_to_index()
    return tuple(sorted(index[w] for w in subset_wnids(set_name)))
