"""Benchmark: in-memory ImageNet-C throughput against clean evaluation, through the engine.

One CPU model with random weights (timm, ``pretrained=False``: nothing is downloaded) is
evaluated by :func:`robustness.engine.evaluate_unit` on ``--images`` clean images (the
``imagenet`` val reader over a generated folder tree) and on the in-memory ImageNet-C sets
of the same images (``imagenet-c-inmemory.<corruption>.<severity>``: builder geometry and
the numpy corruption, in the DataLoader workers). Prints images per second per set and
the ratio against clean (1.0: the corruption costs nothing), plus the load average.
A script, not a test: nothing here asserts a timing.

* Images: scikit-image's bundled photographs (astronaut, chelsea, coffee, ...) at their
  own size (300-1000 px, like ImageNet val's ~500 x 375), varied by a crop and a flip per
  file and saved as JPEG (quality 90) in ``<tmp>/imagenet/val/<wnid>/``.
* Each set is evaluated into a fresh store (no cached unit). Clean is timed before and
  after the corrupted sets (the ratio uses their mean); ``--repeats`` times everything
  more than once and keeps each set's fastest run (the least disturbed by other load).
* Defaults are the engine's (``EvalConfig``: batch 64, 4 workers, fp32 on CPU).
* Besides images/s, the CPU time per image (``getrusage``: user + system) of the main
  process (the network) and of the DataLoader workers (reading, corrupting, resizing) is
  printed. On a shared machine images/s moves with other load; the workers' CPU per image
  and the CPU ratio (the throughput ratio a CPU-bound machine would show) move much less.

Run from the repository root::

    .venv/bin/python benchmarks/inmemory_throughput.py --images 512 --model resnet18

The machine's load average is printed after each set.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the checkout's packages, whatever the install

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")


def make_val_tree(root: Path, n_images: int, n_classes: int) -> Path:
    """``root/imagenet/val/<wnid>/ILSVRC2012_val_<k>.JPEG``: ``n_images`` JPEGs (RGB, quality 90)
    cut from scikit-image's photographs (a crop of 80-100% per side and a flip per file),
    spread over the first ``n_classes`` ImageNet classes. Returns ``root``."""
    import skimage.data
    from PIL import Image

    from robustness.datasets.classes import imagenet_wnids

    photos = [
        np.asarray(Image.fromarray(getattr(skimage.data, p)()).convert("RGB")) for p in PHOTOS
    ]
    rng = np.random.RandomState(0)
    wnids = imagenet_wnids()[:n_classes]
    for k in range(n_images):
        photo = photos[k % len(photos)]
        h, w = photo.shape[:2]
        ch, cw = int(h * rng.uniform(0.8, 1.0)), int(w * rng.uniform(0.8, 1.0))
        top, left = rng.randint(0, h - ch + 1), rng.randint(0, w - cw + 1)
        crop = photo[top : top + ch, left : left + cw]
        if rng.rand() < 0.5:
            crop = crop[:, ::-1]
        folder = root / "imagenet" / "val" / wnids[k % len(wnids)]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.ascontiguousarray(crop)).save(
            folder / f"ILSVRC2012_val_{k + 1:08d}.JPEG", quality=90
        )
    return root


def cpu_seconds() -> np.ndarray:
    """User + system CPU seconds of this process (the network) and of its finished children
    (the DataLoader workers, joined at the end of each unit)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return np.array([own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime])


def measure(model, test_set, config, scratch: Path) -> tuple[float, float, float]:
    """Evaluate ``model`` on ``test_set`` into a fresh store under ``scratch``: images per
    second of wall time, and CPU milliseconds per image of the main process and of the
    workers (reading, corrupting, resizing)."""
    from robustness.engine import evaluate_unit
    from robustness.store import Store

    store_dir = Path(tempfile.mkdtemp(dir=scratch))
    start, cpu = time.perf_counter(), cpu_seconds()
    result = evaluate_unit(model, test_set, Store(store_dir), config)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    if result.status != "done":
        raise RuntimeError(f"{test_set.info.name}: unit {result.status}: {result.error}")
    main_ms, workers_ms = 1000.0 * cpu / result.n
    return result.n / seconds, float(main_ms), float(workers_ms)


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=512, help="clean images (default 512)")
    parser.add_argument("--classes", type=int, default=8, help="class folders they are spread over")
    parser.add_argument(
        "--model", default="resnet18", help="timm architecture, random weights (default resnet18)"
    )
    parser.add_argument(
        "--corruptions",
        default="common",
        help="all | common | held-out | comma-separated names (default common: the 15)",
    )
    parser.add_argument("--severities", default="3", help="e.g. 3, 1-5, 1,5 (default 3)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the engine's (64)")
    parser.add_argument("--workers", type=int, default=None, help="default: the engine's (4)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads of the main process (default: torch's own choice)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="time every set this many times, keep the fastest (default 1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="in-memory run seed")
    args = parser.parse_args(argv)
    # torch's advice to use at most os.cpu_count() workers, repeated per set: the engine's
    # default is benchmarked as it is.
    warnings.filterwarnings("ignore", message="This DataLoader will create")

    import torch

    from corruptions.builder import parse_corruptions, parse_severities
    from robustness.datasets.registry import open_test_set
    from robustness.engine import EvalConfig
    from robustness.zoo import load_model

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    defaults = EvalConfig()
    config = EvalConfig(
        batch_size=args.batch_size or defaults.batch_size,
        workers=defaults.workers if args.workers is None else args.workers,
        device="cpu", precision="fp32", progress=False,
    )  # fmt: skip
    names = parse_corruptions(args.corruptions)
    severities = parse_severities(args.severities)
    model = load_model(args.model, pretrained=False, device="cpu")

    with tempfile.TemporaryDirectory(prefix="inmemory-throughput-") as tmp:
        scratch = Path(tmp)
        data_root = make_val_tree(scratch / "data", args.images, args.classes)
        clean = open_test_set("imagenet", data_root, allow_partial=True)
        sets = [
            open_test_set(f"imagenet-c-inmemory.{name}.{sev}", data_root, allow_partial=True,
                          seed=args.seed)
            for name in names for sev in severities
        ]  # fmt: skip
        print(f"model {model.info.name} (random weights, {model.info.img_size} px input); "
              f"{len(clean)} images; batch {config.batch_size}; workers {config.workers}; "
              f"torch threads {torch.get_num_threads()}; CPUs {os.cpu_count()}; "
              f"load average {load()}", flush=True)  # fmt: skip
        measure(model, clean, config, scratch)  # warm-up: page cache, allocator

        runs: dict[str, list[tuple[float, float, float]]] = {}

        def record(name: str, test_set) -> None:
            runs.setdefault(name, []).append(measure(model, test_set, config, scratch))
            rate, main_ms, workers_ms = runs[name][-1]
            print(f"{name:40s} {rate:6.2f} img/s  CPU ms/img: main {main_ms:6.1f}, workers "
                  f"{workers_ms:5.1f}   load {load()}", flush=True)  # fmt: skip

        for _ in range(max(1, args.repeats)):
            record("clean", clean)
            for test_set in sets:
                record(test_set.info.name, test_set)
            record("clean", clean)

    # One pass: each set's run, and the mean of the clean runs around them. More: each set's
    # fastest run and least CPU (the least disturbed by other load), clean's likewise.
    def summary(name: str) -> tuple[float, float, float]:
        rates, mains, workers = np.array(runs[name]).T
        if args.repeats <= 1:
            return float(rates.mean()), float(mains.mean()), float(workers.mean())
        return float(rates.max()), float(mains.min()), float(workers.min())

    clean_rate, clean_main, clean_workers = summary("clean")
    clean_cpu = clean_main + clean_workers
    print(f"\nclean: {clean_rate:.2f} img/s ({len(runs['clean'])} runs: "
          f"{', '.join(f'{r:.2f}' for r, _, _ in runs['clean'])}); CPU ms/img: main "
          f"{clean_main:.1f}, workers {clean_workers:.1f}")  # fmt: skip
    print("ratio: images/s over clean's (the target; moves with other load on the machine).\n"
          "CPU ratio: clean's CPU per image over the set's, main process and workers together\n"
          "(the ratio a CPU-bound machine would show; steadier under other load).")  # fmt: skip
    print(f"{'set':40s} {'img/s':>6s} {'ratio':>6s} {'workers CPU ms':>14s} {'CPU ratio':>9s}")
    ratios = []
    for name in runs:
        if name == "clean":
            continue
        rate, main_ms, workers_ms = summary(name)
        ratios.append(rate / clean_rate)
        print(f"{name:40s} {rate:6.2f} {ratios[-1]:6.2f} {workers_ms:14.1f} "
              f"{clean_cpu / (main_ms + workers_ms):9.2f}")  # fmt: skip
    if ratios:
        print(f"lowest ratio {min(ratios):.2f}; mean {np.mean(ratios):.2f}; load average {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
