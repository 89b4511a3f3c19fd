"""Test-set readers: ImageNet val (+ReaL), ImageNetV2, ImageNet-C, -R, -A, -Sketch, ObjectNet.

Entry points: :func:`open_test_set` (name -> :class:`TestSet`),
:func:`expand_dataset_names` (selections and set-group names -> concrete sets on disk),
:data:`DATASETS` (every set and set group) and :func:`register_test_set` (add your own).
Each reader module ends with the specs (:class:`TestSetSpec`, :class:`SetGroup`) of the
sets it opens; :mod:`.catalogue` collects them. Readers import no torch, so the report
and ``analyze`` can ask the catalogue cheaply. Nothing here touches the network; label
tables ship as JSON next to this file.
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
    "SetGroup": ".spec",
    "TestSetSpec": ".spec",
    "register_test_set": ".catalogue",
    "unregister_test_set": ".catalogue",
    "expand_dataset_names": ".registry",
    "format_catalogue": ".registry",
    "open_test_set": ".registry",
    "TestSet": ".testset",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
