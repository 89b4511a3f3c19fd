"""Benchmark: what the per-image confidences cost (prints measurements, asserts nothing).

Issue #17 stores, for every image of every unit, the softmax probabilities of the top-5 classes
and of the true label (float16). This script measures, side by side in one run:

* **storage**: bytes per image per unit of ``predictions.parquet`` with and without the
  confidence columns, on units written through the store API with realistic predictions
  (softmax of logits whose top class is right about 75% of the time);
* **throughput**: images/s of the engine (``evaluate_unit``) on the same images and model, with
  the confidences computed and stored, and with them left out (the scoring's probability step
  replaced by a stub, so nothing else changes), alternating runs and keeping each side's best.

Run from the repository root::

    .venv/bin/python benchmarks/confidence_fields.py [--images 512 --model resnet18 --repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def synthetic_arrays(n: int, rng: np.random.Generator, confidences: bool) -> dict[str, np.ndarray]:
    """One unit's records as the engine passes them to ``UnitDir.finish``."""
    labels = rng.integers(0, 1000, n)
    logits = rng.normal(0, 1, (n, 1000)).astype(np.float32)
    right = rng.random(n) < 0.75
    logits[np.arange(n), labels] += np.where(right, 6.0, 1.0)
    top5 = np.argsort(-logits, axis=1)[:, :5]
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    arrays = {"index": np.arange(n), "relpath": np.array([f"n{i % 1000:08d}/ILSVRC2012_val_{i + 1:08d}.JPEG"
                                                         for i in range(n)]),
              "label": labels, "top5": top5.astype(np.int16), "correct1": top5[:, 0] == labels,
              "correct5": (top5 == labels[:, None]).any(1)}
    arrays["correct1_all"], arrays["correct5_all"] = arrays["correct1"], arrays["correct5"]
    if confidences:
        arrays["prob5"] = np.take_along_axis(probs, top5, 1).astype(np.float16)
        arrays["p_true"] = probs[np.arange(n), labels].astype(np.float16)
    return arrays


def storage(n_images: int, n_units: int) -> dict[str, float]:
    from robustness.store import Store

    rng = np.random.default_rng(0)
    out = {}
    for confidences in (False, True):
        root = Path(tempfile.mkdtemp(prefix="conf-bench-"))
        store = Store(root)
        for u in range(n_units):
            meta = {"key": f"k{u}", "model": {"name": f"m{u}"}, "test_set": {"name": "imagenet"}}
            store.unit(f"m{u}", "imagenet", f"{u:016d}").finish(synthetic_arrays(n_images, rng, confidences), meta)
        size = sum(p.stat().st_size for p in root.glob("units/*/*/*/predictions.parquet"))
        out["with" if confidences else "without"] = size / (n_images * n_units)
        shutil.rmtree(root)
    return out


class PhotoSet:
    """``n`` 224x224 images (scikit-image's photographs, cycled), labels 0..n-1 mod 1000."""

    def __init__(self, n: int):
        import skimage.data
        from PIL import Image

        from robustness.datasets.base import Scoring, TestSetInfo

        names = ("astronaut", "chelsea", "coffee", "rocket")
        self.photos = [Image.fromarray(getattr(skimage.data, k)()).convert("RGB").resize((224, 224))
                       for k in names]
        self.relpaths = [f"c{i % 1000:04d}/img{i:05d}.png" for i in range(n)]
        self.labels = np.arange(n) % 1000
        self.info = TestSetInfo(name="imagenet", root=Path("/bench"), scoring=Scoring())

    def __len__(self) -> int:
        return len(self.relpaths)

    def __getitem__(self, i: int):
        return self.photos[i % len(self.photos)], int(self.labels[i]), i, self.relpaths[i]


class BenchModel:
    """A timm network with random weights; images arrive as 224 px PIL images."""

    def __init__(self, architecture: str):
        import timm
        import torch

        from robustness.zoo import ModelInfo

        self.network = timm.create_model(architecture, pretrained=False).eval()
        self.info = ModelInfo(
            name=architecture, source="timm", architecture=architecture, family="bench",
            kind="cnn", param_count=sum(p.numel() for p in self.network.parameters()) / 1e6,
            img_size=224, crop_pct=1.0, interpolation="bilinear", num_classes=1000,
            label_space="imagenet-1k", weights="random-init", weights_sha256=None,
            mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
        self.device = torch.device("cpu")

    def transform(self, image):
        return image

    def transform_spec(self) -> dict:
        return {"resize": 224}


def throughput(n_images: int, model_name: str, repeats: int, batch: int, workers: int) -> dict[str, float]:
    import robustness.datasets.base as base
    from robustness.engine import EvalConfig, evaluate_unit
    from robustness.store import Store

    model, images = BenchModel(model_name), PhotoSet(n_images)
    real = base._probabilities

    def stub(logits, top5, labels, scoring, allowed):
        return None, None

    best = {"with": np.inf, "without": np.inf}
    try:
        for _ in range(repeats):
            for side in ("with", "without"):
                base._probabilities = real if side == "with" else stub
                root = Path(tempfile.mkdtemp(prefix="conf-tp-"))
                config = EvalConfig(batch_size=batch, workers=workers, device="cpu", precision="fp32",
                                    progress=False)
                start = time.perf_counter()
                evaluate_unit(model, images, Store(root), config)
                best[side] = min(best[side], time.perf_counter() - start)
                shutil.rmtree(root)
    finally:
        base._probabilities = real
    return {side: n_images / seconds for side, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512, help="images per throughput run")
    parser.add_argument("--model", default="resnet18", help="timm architecture (random weights)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--storage-images", type=int, default=50_000)
    parser.add_argument("--storage-units", type=int, default=4)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    size = storage(args.storage_images, args.storage_units)
    print(f"storage, bytes per image per unit ({args.storage_units} units x {args.storage_images} images): "
          f"without confidences {size['without']:.2f}, with {size['with']:.2f} "
          f"(+{size['with'] - size['without']:.2f})")
    speed = throughput(args.images, args.model, args.repeats, args.batch, args.workers)
    print(f"throughput, {args.model} on CPU, {args.images} images, best of {args.repeats}: "
          f"without {speed['without']:.1f} img/s, with {speed['with']:.1f} img/s, "
          f"ratio {speed['with'] / speed['without']:.3f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
