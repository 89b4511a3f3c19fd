"""A store shaped like the demo's, built from a seeded simulation (no training, seconds).

Six models with the demo's names and families; ``demo-vit`` and ``demo-deit`` share one true
accuracy, and so do the two ConvNeXts, which are "tuned on the test set": their original-set
accuracy is inflated, so they sit below the line fitted on the other four. Per-image
correctness is drawn from those true accuracies, so the measured numbers (and where the
points and labels land) change with the seed; nothing about the outputs is written in here.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from robustness.store import Store

#: model -> (family, training kind, true top-1 on the original distribution, tuned on the test set)
DEMO_MODELS = {
    "demo-resnet": ("resnet", "imagenet-trained", 0.66, False),
    "demo-convnext-xs": ("convnext", "imagenet-trained", 0.67, True),
    "demo-convnext-s": ("convnext", "imagenet-trained", 0.67, True),
    "demo-vit": ("vit", "imagenet-trained", 0.48, False),
    "demo-deit": ("deit", "imagenet-trained", 0.48, False),
    "demo-vit-hybrid": ("vit-hybrid", "imagenet-trained", 0.60, False),
}
N_VAL, N_MF = 1000, 470
TUNING_BONUS = 0.08  # what tuning on the test set adds to the measured original accuracy
CORRUPTIONS = ("fog", "gaussian_noise")
MF = "imagenetv2-matched-frequency"


def add_unit(store: Store, model: str, test_set: str, relpaths, correct, baseline, family, kind,
             key: str = ""):
    """Finish one unit of ``model`` on ``test_set`` (``key`` tells apart a recomputed unit)."""
    correct = np.asarray(correct, dtype=bool)
    n = correct.size
    arrays = {
        "index": np.arange(n, dtype=np.int64), "relpath": np.asarray(relpaths, dtype=str),
        "label": np.zeros(n, dtype=np.int64), "top5": np.zeros((n, 5), dtype=np.int16),
        "correct1": correct, "correct5": np.ones(n, dtype=bool), "correct1_all": correct,
        "correct5_all": np.ones(n, dtype=bool),
    }
    meta = {
        "key": f"{model}-{test_set}",
        "model": {"name": model, "family": family, "training": kind, "img_size": 64,
                  "kind": "cnn" if family in ("resnet", "convnext") else "vit",
                  "param_count": 0.3, "crop_pct": 1.0, "interpolation": "bilinear",
                  "source": "local-dir", "weights": f"/zoo/{model}/model.safetensors"},
        "test_set": {"name": test_set, "baseline": baseline, "scoring": {}},
        "n": n, "top1": 100.0 * correct.mean(),
        "finished_at": "2026-01-02T00:00:00" if key else "2026-01-01T00:00:00",
    }
    folder = (key or f"{model}{test_set}").encode().hex()[:16]
    store.unit(model, test_set, folder).finish(arrays, meta)


def build_demo_kind_store(root, seed: int, corruptions: bool = True) -> Store:
    """The store described in the module docstring, under ``root``."""
    rng = np.random.default_rng(seed)
    store = Store(root)
    val = [f"n{i % 10:08d}/ILSVRC2012_val_{i + 1:08d}.JPEG" for i in range(N_VAL)]
    mf = [f"n{i % 10:08d}/mf_{i:05d}.jpeg" for i in range(N_MF)]
    for model, (family, kind, true_orig, tuned) in DEMO_MODELS.items():
        # the new distribution is harder: probit line with slope 1, intercept -0.3
        true_new = stats.norm.cdf(stats.norm.ppf(true_orig) - 0.3)
        measured_orig = true_orig + (TUNING_BONUS if tuned else 0.0)
        c_val = rng.random(N_VAL) < measured_orig
        add_unit(store, model, "imagenet", val, c_val, None, family, kind)
        add_unit(store, model, MF, mf, rng.random(N_MF) < true_new, "imagenet", family, kind)
        if not corruptions:
            continue
        for c_index, corruption in enumerate(CORRUPTIONS):
            for severity in range(1, 6):
                keep = rng.random(N_VAL) > 0.08 * severity * (1 + c_index)
                add_unit(store, model, f"imagenet-c.{corruption}.{severity}", val, c_val & keep,
                      "imagenet", family, kind)
    return store
