"""Running evaluation units and corruption builds on a scheduler (Slurm via submitit) or locally.

Public API: :class:`ExecutorOptions`, :func:`submit_evaluation`, :func:`submit_build`,
:func:`sweep_status`, :func:`plan_packs`; the config-file loader is
:func:`robustness.config.load_executor_options`. Imported lazily, so that the command
line's parser (which needs only the options) does not import torch.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {
    "BuildSweepReport": ".build",
    "submit_build": ".build",
    "EXECUTORS": ".options",
    "ExecutorOptions": ".options",
    "make_executor": ".options",
    "WorkPack": ".packing",
    "plan_packs": ".packing",
    "SweepStatus": ".state",
    "UnitState": ".state",
    "sweep_status": ".state",
    "unit_states": ".state",
    "SubmissionError": ".sweep",
    "SweepReport": ".sweep",
    "submit_evaluation": ".sweep",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
