"""One thread per worker process: when images are spread over processes, the processes are
the parallelism.

The on-disk builder's pool and the harness's DataLoader workers each corrupt one image at a
time. A library thread pool inside every one of them (OpenCV's, torch's intra-op pool, an
OpenMP or BLAS pool) only oversubscribes the CPUs: on a 2-core machine, four workers with
two OpenCV threads each compete with the two threads of the network being evaluated.
:func:`limit_worker_threads` caps them all, in one place; :func:`init_worker_process` is the
same call shaped as a ``DataLoader(worker_init_fn=...)`` and a ``Pool(initializer=...)``.

Thread counts change no pixel: every corruption gives the same output whatever they are.
Nothing here imports torch (its pool is capped only when something else imported it).
"""

from __future__ import annotations

import os
import sys

# Read by OpenMP and BLAS runtimes when they start: libraries loaded later in this process,
# and child processes.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def limit_worker_threads(n: int = 1, opencv: bool = True) -> None:
    """Cap this process's library thread pools at ``n`` threads (``n`` >= 1).

    Sets OpenCV's pool (``cv2.setNumThreads``), torch's intra-op pool when torch is already
    imported (``torch.set_num_threads``), the BLAS/OpenMP pools already loaded when
    ``threadpoolctl`` is installed, and the OpenMP/BLAS environment variables for whatever
    starts later. Safe to call more than once.
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"thread count must be at least 1, got {n}")
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(n)
    if opencv:
        limit_opencv_threads(n)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(limits=n)


def limit_opencv_threads(n: int = 1) -> None:
    """Cap OpenCV's thread pool at ``n`` threads in this process."""
    try:
        import cv2
    except ImportError:  # pragma: no cover - OpenCV is a dependency
        return
    cv2.setNumThreads(n)


def init_worker_process(worker_id: int | None = None) -> None:
    """:func:`limit_worker_threads` (1 thread) for a worker process; ``worker_id`` (what a
    ``DataLoader`` passes its ``worker_init_fn``) is ignored, and a ``Pool`` initializer
    calls it without one.

    OpenCV is left alone when it came with a forked parent: ``cv2.setNumThreads`` in a child
    forked while the parent's OpenCV pool had threads can wait forever for threads that do not
    exist in the child. Such a parent caps OpenCV before forking
    (:func:`limit_opencv_threads`, as the harness's engine does), and the child keeps that."""
    limit_worker_threads(1, opencv="cv2" not in sys.modules)
