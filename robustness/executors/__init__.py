"""Running evaluation units and corruption builds on a scheduler (Slurm via submitit) or locally.

Public API: :class:`ExecutorOptions`, :func:`submit_evaluation`, :func:`submit_build`,
:func:`sweep_status`, :func:`plan_packs`; the config-file loader is
:func:`robustness.config.load_executor_options`.
"""

from .build import BuildSweepReport, submit_build
from .options import EXECUTORS, ExecutorOptions, make_executor
from .packing import WorkPack, plan_packs
from .state import SweepStatus, UnitState, sweep_status, unit_states
from .sweep import SubmissionError, SweepReport, submit_evaluation

__all__ = [
    "EXECUTORS",
    "BuildSweepReport",
    "ExecutorOptions",
    "SubmissionError",
    "SweepReport",
    "SweepStatus",
    "UnitState",
    "WorkPack",
    "make_executor",
    "plan_packs",
    "submit_build",
    "submit_evaluation",
    "sweep_status",
    "unit_states",
]
