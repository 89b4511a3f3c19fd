"""One library thread per worker process (``corruptions.threads``).

Checked where it matters: in a fresh interpreter (so this test process keeps its own thread
settings), inside real ``DataLoader`` worker processes, and through the harness engine's
loader, whose workers must report one OpenCV and one torch thread. Before the engine passed
``worker_init_fn``, its workers kept OpenCV's default (one thread per CPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from corruptions.threads import (
    THREAD_ENV_VARS,
    init_worker_process,
    limit_opencv_threads,
    limit_worker_threads,
)


def _run(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, check=True)  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_limit_worker_threads_caps_opencv_torch_and_the_environment():
    seen = _run(
        "import json, os, cv2, torch\n"
        "from corruptions.threads import limit_worker_threads, THREAD_ENV_VARS\n"
        "limit_worker_threads(1)\n"
        "print(json.dumps({'cv2': cv2.getNumThreads(), 'torch': torch.get_num_threads(),\n"
        "                  'env': [os.environ[v] for v in THREAD_ENV_VARS]}))\n"
    )
    assert seen == {"cv2": 1, "torch": 1, "env": ["1"] * len(THREAD_ENV_VARS)}


def test_torch_is_capped_only_when_already_imported():
    seen = _run(
        "import json, sys\n"
        "from corruptions.threads import limit_worker_threads\n"
        "limit_worker_threads(2)\n"
        "import cv2\n"
        "print(json.dumps({'torch_imported': 'torch' in sys.modules, 'cv2': cv2.getNumThreads()}))\n"
    )
    assert seen == {"torch_imported": False, "cv2": 2}


def test_a_thread_count_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        limit_worker_threads(0)


class _ThreadReport:
    """Items are what the worker process sees: OpenCV threads, torch threads, OMP_NUM_THREADS."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int):
        import cv2
        import torch

        return np.array([cv2.getNumThreads(), torch.get_num_threads(),
                         int(os.environ.get("OMP_NUM_THREADS", "0"))])  # fmt: skip


def test_dataloader_workers_get_one_thread_each():
    torch = pytest.importorskip("torch")
    limit_opencv_threads(1)  # what the engine does before forking: forked workers keep OpenCV's setting
    loader = torch.utils.data.DataLoader(
        _ThreadReport(), batch_size=1, num_workers=2, worker_init_fn=init_worker_process
    )
    seen = np.concatenate([batch.numpy() for batch in loader])
    assert (seen == 1).all(), seen


def test_the_engines_dataloader_workers_get_one_opencv_thread(tmp_path):
    """Through ``robustness.engine.evaluate_unit`` with two workers: each image is a solid gray
    whose level encodes the worker's thread counts (100 + 10 * OpenCV + torch) and the fake
    model classifies a solid level v as class v, so top-1 is 100% exactly when every worker
    ran with one OpenCV and one torch thread."""
    pytest.importorskip("torch")
    from fakes import GrayModel, GraySet
    from PIL import Image

    from robustness.engine import EvalConfig, evaluate_unit
    from robustness.store import Store

    class ThreadLevels(GraySet):
        def __getitem__(self, i):
            import cv2
            import torch

            level = 100 + 10 * cv2.getNumThreads() + torch.get_num_threads()
            return Image.new("RGB", (12, 10), (level,) * 3), int(self.labels[i]), i, self.relpaths[i]

    test_set = ThreadLevels("threads", [0] * 8, [111] * 8)
    config = EvalConfig(batch_size=2, workers=2, device="cpu", progress=False)
    result = evaluate_unit(GrayModel(), test_set, Store(tmp_path), config)
    assert result.status == "done" and result.n == 8
    assert result.top1 == 100.0
