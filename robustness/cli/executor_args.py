"""The executor flags, shared by ``robustness eval`` and ``robustness build``.

Each flag is spelt like its :class:`~robustness.executors.options.ExecutorOptions` field
and its key in the ``[executor]`` table of a ``--config`` file (``--gpus-per-job`` is
``gpus_per_job``); ``--slurm-partition`` is kept as an alias of ``--partition``. Every
flag defaults to None so that a config file's value is kept unless the flag is given.
"""

from __future__ import annotations

import argparse

from ..config import load_executor_options
from ..executors.options import EXECUTORS, NUMERIC_OPTIONS, ExecutorOptions
from ..ranges import POSITIVE_INT
from .common import flag_type

OPTION_FLAGS = ("executor", "partition", "gpus_per_job", "cpus_per_job", "mem_gb", "timeout_min",
                "array_parallelism", "units_per_job", "log_dir")
"""The ExecutorOptions fields that have a flag of the same name."""


def add_executor_arguments(parser: argparse.ArgumentParser, build: bool = False) -> None:
    """Add ``--executor``, the Slurm resource flags, ``--config``, ``--no-wait`` (and ``--shards`` for builds)."""
    g = parser.add_argument_group("executor (run here, or as a Slurm job array)")
    g.add_argument("--executor", choices=EXECUTORS, default=None,
                   help="local: in this process (default); slurm: a job array through submitit")
    g.add_argument("--config", default=None, metavar="FILE",
                   help="TOML/JSON file with an [executor] table; flags override it")
    g.add_argument("--partition", "--slurm-partition", dest="partition", default=None,
                   help="Slurm partition (default: the cluster's)")
    limits = {name: flag_type(r) for name, r in NUMERIC_OPTIONS.items()}
    g.add_argument("--gpus-per-job", type=limits["gpus_per_job"], default=None,
                   help="GPUs per array task (default 1; 0: CPU-only jobs)")
    g.add_argument("--cpus-per-job", type=limits["cpus_per_job"], default=None,
                   help="CPUs per array task (default 8)")
    g.add_argument("--mem-gb", type=limits["mem_gb"], default=None, help="memory per array task, GiB")
    g.add_argument("--timeout-min", type=limits["timeout_min"], default=None,
                   help="time limit per array task, minutes (default 240); jobs are requeued at the limit")
    g.add_argument("--array-parallelism", type=limits["array_parallelism"], default=None,
                   help="array tasks running at once (default 64)")
    g.add_argument("--log-dir", default=None, help="submitit/Slurm logs (default: OUT/slurm-logs)")
    g.add_argument("--no-wait", action="store_true",
                   help="submit and return; follow with `robustness status --out OUT`")
    if build:
        g.add_argument("--shards", type=flag_type(POSITIVE_INT), default=None,
                       help="array tasks the source images are split over (default: --array-parallelism)")
    else:
        g.add_argument("--units-per-job", type=limits["units_per_job"], default=None,
                       help="test sets of one model per array task, e.g. 75 for ImageNet-C (default 1)")
        g.add_argument("--only-failed", action="store_true", help="resubmit only units that failed")
        g.add_argument("--recheck", action="store_true",
                       help="submit every unit, finished or not; jobs skip units whose exact key is done "
                       "(use after replacing weight files)")


def executor_options(args: argparse.Namespace) -> ExecutorOptions:
    """ExecutorOptions from ``--config`` then the flags given (raises ConfigError, a UserInputError)."""
    overrides = {name: getattr(args, name, None) for name in OPTION_FLAGS}
    return load_executor_options(getattr(args, "config", None), **overrides)
