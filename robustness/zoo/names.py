"""The vocabulary every model source shares: parsed names, the label space, close-match hints.

A model name is ``<prefix><architecture>[.<tag>]``; the prefix picks the model source
(``""`` timm, ``tv:`` torchvision, ``local-dir:`` a timm export folder, or a source a user
registered; see :mod:`robustness.zoo.sources`). How each source reads the rest of the name,
and what its canonical form is, lives in that source's own module.

Canonical names always carry the tag / weights member, so results stay keyed by exact weights.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

IMAGENET1K_CLASSES = 1000


@dataclass(frozen=True)
class ModelName:
    """A parsed model name.

    source: the source's name, as recorded in ``ModelInfo.source`` ('timm', 'torchvision',
        'local-dir', ...). architecture: what the source builds. tag: the timm tag, the
        torchvision weights member, or ''. prefix: the source's name prefix ('', 'tv:', ...),
        so that ``str(name)`` spells the name back.
    """

    source: str
    architecture: str
    tag: str = ""
    prefix: str = ""

    def __str__(self) -> str:
        text = f"{self.architecture}.{self.tag}" if self.tag else self.architecture
        return self.prefix + text


def suggest(word: str, candidates: list[str]) -> str:
    """' Close matches: a, b.' for an unknown ``word``, or '' when nothing is close."""
    close = difflib.get_close_matches(word, candidates, n=5, cutoff=0.6)
    return f" Close matches: {', '.join(close)}." if close else ""


#: architecture-name prefixes of attention-based and hybrid conv-attention designs: ``kind`` 'vit'
#: (timm and torchvision architectures, Hugging Face ``model_type`` names); see zoo.families
TRANSFORMER_ARCH_PREFIXES: tuple[str, ...] = (
    # timm
    "vit", "deit", "swin", "beit", "eva", "cait", "xcit", "crossvit", "levit", "pit_", "tnt_",
    "twins_", "mvitv2", "maxvit", "maxxvit", "coat", "convit", "volo", "flexivit", "gcvit",
    "davit", "efficientformer", "efficientvit", "mobilevit", "nextvit", "tiny_vit", "hiera",
    "samvit", "pvt_v2", "visformer", "nest_", "caformer", "naflexvit", "aimv2", "next_vit",
    # torchvision (vit_*, swin_*, maxvit_t are covered above); Hugging Face model types
    "dinov2", "dinov3", "swinv2", "cvt", "segformer", "pvt",
)  # fmt: skip
