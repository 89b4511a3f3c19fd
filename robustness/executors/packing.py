"""Packing pending units into jobs: one model per job, so each job loads its model once.

A unit is a (model name, test-set name) pair. ``units_per_job`` sets how many
test sets of one model share a job: 75 ImageNet-C sets of a model with
``units_per_job=75`` make one job; a model is never split across a job
boundary with another model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Unit = tuple[str, str]  # (model name, test-set name)


@dataclass(frozen=True)
class WorkPack:
    """The units one array task evaluates: one model on ``test_sets`` (in order)."""

    index: int  # position in the sweep's job array, 0-based
    model: str
    test_sets: tuple[str, ...]

    @property
    def units(self) -> list[Unit]:
        return [(self.model, s) for s in self.test_sets]


def plan_packs(pending: Sequence[Unit], units_per_job: int) -> list[WorkPack]:
    """Group ``pending`` by model (first-seen order) and cut each model's sets into chunks.

    Within a model the test sets keep their order. Repeated pairs are dropped.
    Every pending unit lands in exactly one pack.
    """
    if units_per_job < 1:
        raise ValueError(f"units_per_job must be at least 1, got {units_per_job}")
    by_model: dict[str, list[str]] = {}
    for model, test_set in pending:
        sets = by_model.setdefault(model, [])
        if test_set not in sets:
            sets.append(test_set)
    packs: list[WorkPack] = []
    for model, sets in by_model.items():
        for start in range(0, len(sets), units_per_job):
            packs.append(WorkPack(len(packs), model, tuple(sets[start : start + units_per_job])))
    return packs
