"""Benchmark: paired bootstrap over images for many models (prints time, asserts nothing).

Target from the issue: 10,000 resamples for 100 models x 50,000 images in under 10 s on
2 CPU cores. Run: ``python benchmarks/stats.py [--models 100 --images 50000 --resamples 10000]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from robustness.stats.bootstrap import bootstrap_accuracies, percentile_interval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=256, help="resamples generated at once")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    model_accuracy = rng.uniform(0.5, 0.9, args.models)
    correct = rng.random((args.models, args.images)) < model_accuracy[:, None]

    start, cpu_start = time.perf_counter(), time.process_time()
    accs = bootstrap_accuracies(correct, args.resamples, seed=1, chunk=args.chunk)
    gaps = accs - accs[:, :1]  # every model against model 0, paired over images
    low, high = percentile_interval(gaps[:, 1:])
    elapsed = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start

    print(f"paired bootstrap: {args.models} models x {args.images} images, "
          f"{args.resamples} resamples")
    print(f"time {elapsed:.2f} s wall ({cpu_seconds:.2f} s CPU over all threads), "
          f"{args.resamples / elapsed:,.0f} resamples/s")
    print(f"load average (1 min) during the run: {os.getloadavg()[0]:.1f} "
          "-- other processes on the box slow the wall time")
    print(f"example: model 1 - model 0 = {gaps[:, 1].mean():+.4f} "
          f"[{low[0]:+.4f}, {high[0]:+.4f}] (fraction)")


if __name__ == "__main__":
    main()
