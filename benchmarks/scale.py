"""Benchmark: the store and the report at scale (prints measurements, asserts nothing).

Writes synthetic stores through the store API the way the engine writes them (one spec and one
``finish`` per unit: every image's path, label, top-5 and correctness; meta.json as the engine
fills it), shaped like an ImageNet-C sweep: ``imagenet`` plus ``--sets - 1`` ImageNet-C sets of
the same images, every model on every set. Then times, each in a fresh process:

* ``robustness report --no-plots`` (and its peak resident memory),
* ``robustness status --no-stale-check`` and ``robustness --help``,
* a DuckDB query over the per-image files (top-1 per model and set), when duckdb is installed,

and prints the store's bytes per image per unit. ``--double`` repeats with twice the models,
sets and images (one at a time) and prints the growth; ``--models-memory 40,160`` prints the
report's peak memory at those model counts. ``--compare PATH`` runs everything a second time
with the code of another checkout (e.g. a git worktree of an older commit) on a store written
by that code, and prints the ratios, side by side in one run.

Default sizes fit a 2-core machine in a few minutes; the issue's store is
``--models 40 --sets 10 --images 10000``. Run from the repository root::

    .venv/bin/python benchmarks/scale.py --models 40 --sets 10 --images 10000 --compare /tmp/old
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# corruptions.COMMON, spelt out: run as a script, ``import corruptions`` would find the
# benchmark next to this file (benchmarks/corruptions.py) before the package
CORRUPTIONS = ("gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
               "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
               "elastic_transform", "pixelate", "jpeg_compression")


def set_names(n_sets: int) -> list[str]:
    """``imagenet`` and ImageNet-C sets of its images (corruption-major, severities 1-5)."""
    shifted = [f"imagenet-c.{c}.{s}" for c in CORRUPTIONS for s in range(1, 6)]
    if n_sets - 1 > len(shifted):
        raise SystemExit(f"at most {len(shifted) + 1} sets")
    return ["imagenet", *shifted[:n_sets - 1]]


def write_store(out: Path, n_models: int, n_sets: int, n_images: int, seed: int = 0) -> None:
    """The synthetic store (runs with whatever ``robustness`` is importable)."""
    import numpy as np

    from robustness.store import Store

    rng = np.random.default_rng(seed)
    store = Store(out)
    relpaths = np.array([f"n{i % 1000:08d}/ILSVRC2012_val_{i + 1:08d}.JPEG" for i in range(n_images)])
    labels = np.arange(n_images, dtype=np.int64) % 1000
    versions = {"robustness-harness": "bench", "python": "3", "torch": "x", "torchvision": "x",
                "numpy": np.__version__, "pillow": "x", "timm": "x"}
    for m in range(n_models):
        model = f"model-{m:04d}"
        info = {"name": model, "family": f"family-{m % 8}", "kind": "cnn", "source": "timm",
                "img_size": 224, "param_count": 25.6, "crop_pct": 0.875, "interpolation": "bicubic",
                "weights": f"/cache/{model}.safetensors", "weights_sha256": f"{m:064x}",
                "num_classes": 1000, "training": "imagenet-trained"}
        skill = rng.uniform(0.55, 0.85)
        for s, test_set in enumerate(set_names(n_sets)):
            p = skill * (1.0 - 0.03 * s)
            top5 = rng.integers(0, 1000, size=(n_images, 5), dtype=np.int16)
            correct1 = rng.random(n_images) < p
            top5[correct1, 0] = labels[correct1]
            correct5 = correct1 | (rng.random(n_images) < 0.5)
            arrays = {"index": np.arange(n_images, dtype=np.int64), "relpath": relpaths, "label": labels,
                      "top5": top5, "correct1": correct1, "correct5": correct5,
                      "correct1_all": correct1, "correct5_all": correct5}
            baseline = None if test_set == "imagenet" else "imagenet"
            described = {"name": test_set, "baseline": baseline, "root": "/data/x",
                         "scoring": {"restrict_predictions": True, "class_subset": None,
                                     "label_targets": None}}
            key = f"{m:08d}{s:08d}"
            unit = store.unit(model, test_set, key)
            unit.write_spec({"key": key, "model": info, "test_set": described, "precision": "fp16",
                             "save_logits": False})
            meta = {"key": key, "model": info, "test_set": described,
                    "transform": {"resize": 256, "crop": 224}, "precision": "fp16", "device": "cuda",
                    "batch_size": 256, "n": n_images, "n_total": n_images,
                    "top1": float(100.0 * correct1.mean()), "top5": float(100.0 * correct5.mean()),
                    "top1_all": float(100.0 * correct1.mean()),
                    "top5_all": float(100.0 * correct5.mean()), "skipped_images": [],
                    "partial": None, "resumed_from": 0, "eval_seconds": 60.0,
                    "finished_at": "2026-12-01T00:00:00+0000", "versions": versions}
            unit.finish(arrays, meta)


def _env(code: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(code) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def timed(cmd: list[str], code: Path) -> tuple[float, float]:
    """Run ``cmd`` with the checkout ``code`` first on the path: (seconds, peak RSS in MB)."""
    start = time.perf_counter()
    # run from the checkout: ``python -c`` puts the working directory first on the path
    proc = subprocess.Popen(cmd, env=_env(code), cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024.0


def cli(code: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", "import sys\nfrom robustness.cli import main\nsys.exit(main(sys.argv[1:]))",
            *args]


def store_bytes(out: Path) -> int:
    return sum(p.stat().st_size for sub in ("units", "images") if (out / sub).is_dir()
               for p in (out / sub).rglob("*") if p.is_file()
               and p.suffix in (".parquet", ".npz", ".npy", ".json"))


def prediction_bytes(out: Path) -> int:
    """Bytes of the per-image files only (predictions / records and image lists)."""
    return sum(p.stat().st_size for sub in ("units", "images") if (out / sub).is_dir()
               for p in (out / sub).rglob("*") if p.is_file() and p.suffix in (".parquet", ".npz"))


DUCKDB_QUERY = """
SELECT model, test_set, 100 * avg(correct1::INTEGER) AS top1, count(correct1) AS n
FROM read_parquet('{out}/units/*/*/*/predictions.parquet')
GROUP BY model, test_set ORDER BY test_set, top1 DESC
"""


def duckdb_seconds(out: Path) -> float | None:
    try:
        import duckdb
    except ImportError:
        return None
    if not any((out / "units").glob("*/*/*/predictions.parquet")):
        return None
    start = time.perf_counter()
    duckdb.sql(DUCKDB_QUERY.format(out=out)).fetchall()
    return time.perf_counter() - start


def measure(code: Path, root: Path, models: int, sets: int, images: int, label: str) -> dict:
    out = root / f"{label}-{models}x{sets}x{images}"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--write", str(out), "--models", str(models),
                    "--sets", str(sets), "--images", str(images)], env=_env(code), cwd=code, check=True)
    write_s = time.perf_counter() - start
    report_s, report_mb = timed(cli(code, "report", "--out", str(out), "--no-plots"), code)
    status_s, _ = timed(cli(code, "status", "--out", str(out), "--no-stale-check"), code)
    help_s, _ = timed(cli(code, "--help"), code)
    units = models * sets
    row = {"code": label, "models": models, "sets": sets, "images": images, "write_s": write_s,
           "report_s": report_s, "report_peak_mb": report_mb, "status_s": status_s, "help_s": help_s,
           "bytes_per_image_unit": prediction_bytes(out) / (units * images),
           "all_bytes_per_image_unit": store_bytes(out) / (units * images),
           "duckdb_s": duckdb_seconds(out)}
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}),
          flush=True)
    shutil.rmtree(out, ignore_errors=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--sets", type=int, default=5)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--double", action="store_true", help="also twice the models, sets, images")
    parser.add_argument("--models-memory", default="", help="model counts for the peak-memory line, e.g. 40,160")
    parser.add_argument("--compare", type=Path, help="another checkout to run side by side (the reference)")
    parser.add_argument("--work", type=Path, help="folder for the stores (default: a temporary one)")
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)  # internal: write one store
    args = parser.parse_args()
    if args.write:
        write_store(args.write, args.models, args.sets, args.images)
        return
    root = Path(args.work or tempfile.mkdtemp(prefix="scale-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    base = (args.models, args.sets, args.images)
    sides = [("this", REPO)] + ([("reference", args.compare.resolve())] if args.compare else [])
    rows = {label: measure(code, root, *base, label) for label, code in sides}
    if args.compare:
        this, ref = rows["this"], rows["reference"]
        print(f"ratios reference / this: report {ref['report_s'] / this['report_s']:.1f}x faster, "
              f"status {ref['status_s'] / this['status_s']:.1f}x, "
              f"bytes per image per unit {ref['bytes_per_image_unit'] / this['bytes_per_image_unit']:.1f}x smaller")
    if args.double:
        m, s, n = base
        for what, size in (("models", (2 * m, s, n)), ("sets", (m, 2 * s, n)), ("images", (m, s, 2 * n))):
            row = measure(REPO, root, *size, "this")
            print(f"doubling {what}: report time x{row['report_s'] / rows['this']['report_s']:.2f}, "
                  f"peak memory x{row['report_peak_mb'] / rows['this']['report_peak_mb']:.2f}", flush=True)
    for count in [int(c) for c in args.models_memory.split(",") if c.strip()]:
        row = measure(REPO, root, count, args.sets, args.images, "this")
        print(f"peak memory of report at {count} models: {row['report_peak_mb']:.0f} MB", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if not args.work:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
