"""How units are sent to a scheduler: the executor's options, and a submitit executor built from them.

``local`` runs in this process (today's runner); ``slurm`` submits a job array
through submitit; ``submitit-local`` runs the same job code as ``slurm`` in local
subprocesses through submitit's LocalExecutor (for tests and single machines).
Times are minutes, memory GiB.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..ranges import NON_NEGATIVE_INT, POSITIVE_FLOAT, POSITIVE_INT, NumberRange

EXECUTORS = ("local", "slurm", "submitit-local")

NUMERIC_OPTIONS: dict[str, NumberRange] = {
    "gpus_per_job": NON_NEGATIVE_INT,
    "cpus_per_job": POSITIVE_INT,
    "mem_gb": POSITIVE_FLOAT,
    "timeout_min": POSITIVE_INT,
    "array_parallelism": POSITIVE_INT,
    "units_per_job": POSITIVE_INT,
    "max_array_size": POSITIVE_INT,
    "max_timeouts": NON_NEGATIVE_INT,
    "poll_seconds": POSITIVE_FLOAT,
}
"""Allowed range of each numeric option (also the ``type=`` of its command-line flag)."""


@dataclass
class ExecutorOptions:
    """Options of ``--executor``; the Slurm ones are ignored by ``local``."""

    executor: str = "local"  # local | slurm | submitit-local
    partition: str | None = None  # Slurm partition (None: the cluster's default)
    gpus_per_job: int = 1  # GPUs per array task (0: CPU-only jobs)
    cpus_per_job: int = 8  # CPUs per array task (DataLoader workers use cpus_per_job - 1)
    mem_gb: float | None = None  # memory per array task, GiB (None: the partition's default)
    timeout_min: int = 240  # wall-clock limit per array task, minutes
    array_parallelism: int = 64  # array tasks running at once
    units_per_job: int = 1  # units packed into one array task (one model per task)
    max_array_size: int = 1000  # tasks per job array; Slurm refuses larger arrays (MaxArraySize, 1001)
    max_timeouts: int = 3  # requeues after hitting timeout_min before a pack gives up (preemptions are free)
    log_dir: str | None = None  # submitit/Slurm logs; default OUT/slurm-logs
    job_name: str = "robustness"
    slurm_extra: dict[str, Any] = field(default_factory=dict)  # e.g. {"account": "lab", "qos": "high"}
    setup: list[str] = field(default_factory=list)  # shell lines run before the job (module load ...)
    poll_seconds: float = 30.0  # longest wait between a waiting launcher's checks (starts at 1 s)

    def __post_init__(self) -> None:
        check_options(self)

    def logs_folder(self, out: str | Path) -> Path:
        return Path(self.log_dir) if self.log_dir else Path(out) / "slurm-logs"


def option_problem(name: str, value: Any) -> str | None:
    """Why ``value`` is not allowed for option ``name`` (``"must be ..."``), or None."""
    if name == "executor" and value not in EXECUTORS:
        return f"must be one of {', '.join(EXECUTORS)}, got {value!r}"
    if name == "mem_gb" and value is None:  # the partition's default
        return None
    limits = NUMERIC_OPTIONS.get(name)
    return None if limits is None else limits.problem(value)


def check_options(opts: ExecutorOptions) -> None:
    """Raise ValueError naming the bad option and the allowed values."""
    for name in ("executor", *NUMERIC_OPTIONS):
        problem = option_problem(name, getattr(opts, name))
        if problem is not None:
            raise ValueError(f"{name} {problem}")


def option_names() -> list[str]:
    return [f.name for f in fields(ExecutorOptions)]


def submitit_parameters(opts: ExecutorOptions) -> dict[str, Any]:
    """``AutoExecutor.update_parameters`` arguments for these options."""
    params: dict[str, Any] = {
        "name": opts.job_name,
        "timeout_min": int(opts.timeout_min),
        "cpus_per_task": int(opts.cpus_per_job),
        "tasks_per_node": 1,
        "nodes": 1,
    }
    if opts.gpus_per_job:
        params["gpus_per_node"] = int(opts.gpus_per_job)
    if opts.mem_gb:
        params["mem_gb"] = opts.mem_gb
    if opts.executor == "slurm":
        params["slurm_array_parallelism"] = int(opts.array_parallelism)
        if opts.partition:
            params["slurm_partition"] = opts.partition
        if opts.setup:
            params["slurm_setup"] = list(opts.setup)
        for key, value in opts.slurm_extra.items():
            params[key if key.startswith("slurm_") else f"slurm_{key}"] = value
    return params


def make_executor(opts: ExecutorOptions, folder: str | Path):
    """A submitit executor writing its logs and pickles under ``folder`` (one sub-folder per job)."""
    import submitit

    if opts.executor == "local":
        raise ValueError("the local executor runs in-process; no submitit executor is needed")
    cluster = "slurm" if opts.executor == "slurm" else "local"
    extra = {"slurm_max_num_timeout": int(opts.max_timeouts)} if cluster == "slurm" else {}
    executor = submitit.AutoExecutor(folder=str(Path(folder) / "%j"), cluster=cluster, **extra)
    params = submitit_parameters(opts)
    if cluster == "local":
        params = {k: v for k, v in params.items() if not k.startswith("slurm_")}
    executor.update_parameters(**params)
    return executor
