"""Test-set readers: ImageNet val (+ReaL), ImageNetV2, ImageNet-C, -R, -A, -Sketch, ObjectNet.

Entry points: :func:`open_test_set` (name -> :class:`TestSet`),
:func:`expand_dataset_names` (family names -> concrete sets on disk) and
:data:`DATASETS` (what each set expects on disk). The facts every module shares
(names, baselines, image counts, set groups) are in :mod:`.catalogue`, which needs
no torch; the readers are imported lazily so that the report can use the
catalogue without them. Nothing here touches the network; label tables ship as
JSON next to this file.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {
    "BadImageError": ".base",
    "LayoutError": ".base",
    "ScoredBatch": ".base",
    "Scoring": ".base",
    "TestSetInfo": ".base",
    "score_logits": ".base",
    "DATASETS": ".registry",
    "DatasetSpec": ".registry",
    "expand_dataset_names": ".registry",
    "format_catalogue": ".registry",
    "open_test_set": ".registry",
    "TestSet": ".testset",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
