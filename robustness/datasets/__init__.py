"""Test-set readers: ImageNet val (+ReaL), ImageNetV2, ImageNet-C, -R, -A, -Sketch, ObjectNet.

Entry points: :func:`open_test_set` (name -> :class:`TestSet`),
:func:`expand_dataset_names` (family names -> concrete sets on disk) and
:data:`DATASETS` (what each set expects on disk). Nothing here touches the
network; label tables ship as JSON next to this file.
"""

from .base import BadImageError, LayoutError, ScoredBatch, Scoring, TestSetInfo, score_logits
from .registry import DATASETS, DatasetSpec, expand_dataset_names, format_catalogue, open_test_set
from .testset import TestSet

__all__ = [
    "DATASETS",
    "BadImageError",
    "DatasetSpec",
    "LayoutError",
    "ScoredBatch",
    "Scoring",
    "TestSet",
    "TestSetInfo",
    "expand_dataset_names",
    "format_catalogue",
    "open_test_set",
    "score_logits",
]
