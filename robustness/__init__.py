"""robustness-harness: how far does a classifier's accuracy fall when it leaves ImageNet?

The public API, in one place (imported lazily, so ``import robustness`` is cheap)::

    import robustness as rh
    model = rh.load_model("resnet50.a1_in1k")                      # zoo adapter
    val = rh.open_test_set("imagenet", "/data")                     # test-set readers
    rh.run_evaluation(["resnet50.a1_in1k"], ["imagenet", "imagenetv2-matched-frequency"],
                      out="results", data_root="/data")             # per-image store
    rh.write_tables(rh.Store("results"), "results")                 # timm-format CSVs
"""

from __future__ import annotations

from .lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    # model zoo
    "load_model": "robustness.zoo",
    "resolve_model_names": "robustness.zoo",
    "list_family": "robustness.zoo",
    "FAMILIES": "robustness.zoo",
    "ModelInfo": "robustness.zoo",
    "LoadedModel": "robustness.zoo",
    "register_source": "robustness.zoo",
    # test sets
    "open_test_set": "robustness.datasets",
    "expand_dataset_names": "robustness.datasets",
    "DATASETS": "robustness.datasets",
    "TestSetSpec": "robustness.datasets",
    "SetGroup": "robustness.datasets",
    "register_test_set": "robustness.datasets",
    "TestSet": "robustness.datasets",
    "Scoring": "robustness.datasets",
    "score_logits": "robustness.datasets",
    # engine and store
    "EvalConfig": "robustness.engine",
    "evaluate_unit": "robustness.engine",
    "run_evaluation": "robustness.engine",
    "Store": "robustness.store",
    "Unit": "robustness.store",
    "UnitRecords": "robustness.store",
    # tables
    "units_frame": "robustness.report.tables",
    "test_set_table": "robustness.report.tables",
    "family_summary": "robustness.report.tables",
    "timm_diffs": "robustness.report.tables",
    "write_tables": "robustness.report.tables",
    # errors
    "UserInputError": "robustness.errors",
    # re-collection (ImageNetV2-style test sets)
    "load_pool": "robustness.recollect",
    "matched_frequency": "robustness.recollect",
    "threshold": "robustness.recollect",
    "top_images": "robustness.recollect",
    "write_test_set": "robustness.recollect",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__ = lazy_exports(__name__, _EXPORTS)[0]


def __dir__() -> list[str]:
    return __all__
