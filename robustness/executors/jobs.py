"""What runs inside one array task: a pack of units, or one shard of a corruption build.

Jobs write results only through the store's atomic per-unit writes, so a pack
that runs twice (requeue, preemption, a relaunch) yields one result per unit:
finished units are skipped by key, unfinished ones resume from their last
checkpoint. Both job kinds are :class:`submitit.helpers.Checkpointable`: on
preemption or timeout submitit requeues the same job, which reruns the pack.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import submitit

from corruptions.builder import build_corrupted_set

from ..engine import EvalConfig, run_evaluation
from ..store import atomic_write_json
from .packing import WorkPack


@dataclass
class EvalRequest:
    """Everything a job needs besides its pack (pickled into every job; keep it small)."""

    out: str
    data_root: str | None = None
    roots: dict[str, str] = field(default_factory=dict)
    config: EvalConfig = field(default_factory=EvalConfig)
    weights: dict[str, str] = field(default_factory=dict)
    load_model: Callable | None = None  # default: robustness.zoo.load_model
    open_test_set: Callable | None = None  # default: robustness.datasets.open_test_set
    dataset_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # reader options per set


def job_identity() -> dict[str, Any]:
    """Job id, array task, host and pid of the current process (empty ids outside a job)."""
    try:
        env = submitit.JobEnvironment()
        job_id = str(env.job_id)
    except RuntimeError:
        job_id = ""
    return {"job_id": job_id, "host": socket.gethostname(), "pid": os.getpid(),
            "slurm_restart_count": os.environ.get("SLURM_RESTART_COUNT", "0")}


def pack_report_path(sweep_dir: str | Path, index: int) -> Path:
    return Path(sweep_dir) / "packs" / f"{index}.json"


class EvalPack(submitit.helpers.Checkpointable):
    """Evaluate one model on its pack of test sets (the model is loaded once)."""

    def __init__(self, pack: WorkPack, request: EvalRequest, sweep_dir: str | Path):
        self.pack = pack
        self.request = request
        self.sweep_dir = str(sweep_dir)

    def __call__(self) -> dict[str, Any]:
        req, pack = self.request, self.pack
        report_path = pack_report_path(self.sweep_dir, pack.index)
        started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        base = {"index": pack.index, "model": pack.model, "test_sets": list(pack.test_sets),
                "started_at": started, **job_identity()}
        atomic_write_json(report_path, {**base, "state": "running"})
        summary = run_evaluation(
            [pack.model], list(pack.test_sets), req.out, data_root=req.data_root, roots=req.roots,
            config=req.config, weights=req.weights, load_model=req.load_model,
            open_test_set=req.open_test_set, dataset_options=req.dataset_options,
        )
        report = {
            **base,
            "state": "finished",
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "results": [asdict(r) for r in summary.results],
            "model_error": summary.model_errors.get(pack.model),
        }
        atomic_write_json(report_path, report)
        return report


def job_config(config: EvalConfig, cpus_per_job: int) -> EvalConfig:
    """The config a job runs with: DataLoader workers fit the job's CPUs, no progress bars in logs."""
    return replace(config, workers=min(int(config.workers), max(0, cpus_per_job - 1)), progress=False)


class BuildShard(submitit.helpers.Checkpointable):
    """Shard ``index`` of ``count`` of a corruption build (``corruptions.build_corrupted_set``).

    The builder's per-image seeds make the files independent of the split, and
    it skips files already on disk, so a requeued shard finishes where it stopped.
    """

    def __init__(self, index: int, count: int, src: str, out: str, build_options: dict[str, Any]):
        self.index, self.count = index, count
        self.src, self.out = src, out
        self.build_options = dict(build_options)

    def __call__(self) -> dict[str, Any]:
        report = build_corrupted_set(self.src, self.out, shard=(self.index, self.count),
                                     progress=False, **self.build_options)
        return {"shard": [self.index, self.count], "manifest": str(report.manifest_path),
                "n_images": report.n_images, "n_written": report.n_written,
                "n_existing": report.n_existing, "bad_files": report.bad_files, **job_identity()}
