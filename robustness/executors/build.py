"""``robustness build SRC OUT --executor slurm``: one array task per shard of the source images.

Shard ``i`` of ``n`` corrupts every n-th source image starting at ``i`` (the
builder's ``--shard i/n``); per-image seeds make the files identical to one
local run, and each shard writes its own ``manifest-shard-i-of-n.json``.
A rerun (same settings) skips files on disk, so resubmitting after a
cancelled or failed task finishes the set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .jobs import BuildShard
from .options import ExecutorOptions, make_executor
from .sweep import Echo, _stderr, live_jobs, new_sweep_id, poll_delays


@dataclass
class BuildSweepReport:
    job_ids: list[str]
    log_dir: str | None
    shards: int
    results: list[dict[str, Any] | None] = field(default_factory=list)  # per shard; None: no result
    errors: dict[int, str] = field(default_factory=dict)  # shard -> error text

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r is not None for r in self.results) and not self.errors

    def describe(self) -> str:
        done = [r for r in self.results if r is not None]
        lines = [f"{len(done)} of {self.shards} shard(s) finished: "
                 f"{sum(r['n_written'] for r in done)} files written, "
                 f"{sum(r['n_existing'] for r in done)} already present"]
        for shard, err in sorted(self.errors.items()):
            lines.append(f"  shard {shard}/{self.shards} FAILED: {err}")
        if not self.ok:
            lines.append("  rerun the same command: finished files are kept and skipped")
        return "\n".join(lines)


def submit_build(src: str | Path, out: str | Path, shards: int, options: ExecutorOptions,
                 *, wait: bool = True, echo: Echo = _stderr, **build_options: Any) -> BuildSweepReport:
    """Submit ``shards`` array tasks of ``corruptions.build_corrupted_set(src, out, shard=(i, n), ...)``.

    ``build_options`` are the builder's keyword arguments (preset, corruptions,
    severities, seed, format, classes, skip_bad_images, force, workers).
    ``workers`` defaults to the job's CPUs. Logs: ``<log dir or OUT-slurm-logs>/build-<id>/``.
    """
    if int(shards) < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    if options.executor == "local":
        raise ValueError("executor 'local' builds in-process: call corruptions.build_corrupted_set")
    build_options.setdefault("workers", options.cpus_per_job)
    # logs go beside OUT, not into it: OUT must hold only the ImageNet-C layout
    logs = Path(options.log_dir) if options.log_dir else Path(f"{Path(out)}-slurm-logs")
    log_dir = logs / f"build-{new_sweep_id()}"
    Path(out).mkdir(parents=True, exist_ok=True)
    executor = make_executor(options, log_dir)
    tasks = [BuildShard(i, int(shards), str(Path(src).resolve()), str(Path(out).resolve()), build_options)
             for i in range(int(shards))]
    jobs: list[Any] = []
    for start in range(0, len(tasks), options.max_array_size):  # one job array per chunk
        with executor.batch():
            jobs.extend([executor.submit(t) for t in tasks[start : start + options.max_array_size]])
    echo(f"{len(jobs)} build shard(s) submitted (job {jobs[0].job_id.split('_')[0]}); logs in {log_dir}")
    report = BuildSweepReport([str(j.job_id) for j in jobs], str(log_dir), int(shards))
    if wait:
        _wait_all(jobs, options, echo)
        report.results, report.errors = _collect(jobs)
    return report


def _wait_all(jobs: Sequence[Any], options: ExecutorOptions, echo: Echo) -> None:
    import time

    last = -1
    delays = poll_delays(options.poll_seconds)
    while True:
        alive = live_jobs(jobs, options.executor)
        if alive is not None:
            if len(alive) != last:
                echo(time.strftime("%H:%M:%S ") + f"build shards queued or running: {len(alive)}")
                last = len(alive)
            if not alive:
                return
        time.sleep(next(delays))


def _collect(jobs: Sequence[Any]) -> tuple[list[dict[str, Any] | None], dict[int, str]]:
    results: list[dict[str, Any] | None] = []
    errors: dict[int, str] = {}
    for i, job in enumerate(jobs):
        if not job.paths.result_pickle.exists():
            results.append(None)
            errors[i] = f"no result (cancelled or killed); log {job.paths.stderr}"
            continue
        try:
            results.append(job.result())
        except Exception as exc:  # the job's own exception, re-raised by submitit
            results.append(None)
            errors[i] = f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else exc!r}; log {job.paths.stderr}"
    return results, errors
