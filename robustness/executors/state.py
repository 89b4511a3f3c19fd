"""What state each (model, test set) unit is in, read from the results folder alone.

The store names a unit folder ``units/<model>/<set>/<key16>/`` by a key that
needs the loaded model (its weights checksum and transform), so the launcher
matches units *by name* and by the settings it can know without loading a
model (precision, save_logits). Every job still checks the exact key before
computing, so a finished unit is never recomputed; the by-name view is what
users see and what decides which units are submitted.

A sweep leaves a ledger beside the units::

    OUT/sweeps/<sweep id>/plan.json          the packs, their units and job ids
    OUT/sweeps/<sweep id>/packs/<i>.json     written by job i: running / finished, results

States, from most to least final: ``done`` (a finished unit), ``failed`` (the
unit's error.json, or a failure a job reported), ``running`` (a job started
the pack and has not finished it: running now, or killed), ``queued`` (given to
a job that has not started: waiting in the queue, or cancelled before it
started), ``partial`` (checkpointed parts on disk), ``pending`` (nothing yet).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..store import Store, safe_name
from .packing import Unit

STATES = ("done", "failed", "running", "queued", "partial", "pending")


@dataclass(frozen=True)
class UnitState:
    model: str
    test_set: str
    state: str  # one of STATES
    error: str | None = None
    path: str | None = None  # the unit folder, when there is one
    job_id: str | None = None  # the job that last ran it, when known


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _matches(spec: dict[str, Any] | None, model: str, test_set: str, precision: str | None,
             save_logits: bool | None) -> bool:
    if spec is None:
        return False
    if spec.get("model", {}).get("name") != model:
        return False
    if spec.get("test_set", {}).get("name") not in (None, test_set):
        return False
    if precision is not None and spec.get("precision") != precision:
        return False
    return save_logits is None or bool(spec.get("save_logits")) == bool(save_logits)


def store_state(store: Store, model: str, test_set: str, precision: str | None = None,
                save_logits: bool | None = None) -> UnitState:
    """The unit's state from its folders in the store (done, failed, partial or pending)."""
    folder = store.units_root / safe_name(model) / safe_name(test_set)
    failed: UnitState | None = None
    partial: UnitState | None = None
    for unit_dir in sorted(folder.glob("*/")) if folder.is_dir() else []:
        spec = _read_json(unit_dir / "spec.json")
        if (unit_dir / "meta.json").is_file() and (unit_dir / "records.npz").is_file():
            if _matches(spec, model, test_set, precision, save_logits):
                return UnitState(model, test_set, "done", path=str(unit_dir))
            continue
        error = _read_json(unit_dir / "error.json")
        if error is not None and error.get("model", model) == model:
            failed = UnitState(model, test_set, "failed", error=error.get("error"), path=str(unit_dir))
        elif any((unit_dir / "parts").glob("part-*.npz")) and _matches(
            spec, model, test_set, precision, save_logits
        ):
            partial = UnitState(model, test_set, "partial", path=str(unit_dir))
    return failed or partial or UnitState(model, test_set, "pending")


# --------------------------------------------------------------------------- the sweep ledger


def sweeps_root(out: str | Path) -> Path:
    return Path(out) / "sweeps"


def read_plans(out: str | Path) -> list[dict[str, Any]]:
    """Every sweep's plan.json under ``OUT/sweeps``, oldest first."""
    plans = []
    for path in sorted(sweeps_root(out).glob("*/plan.json")):
        plan = _read_json(path)
        if plan is not None:
            plans.append(plan)
    return plans


def read_pack_reports(sweep_dir: Path) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for path in sorted((sweep_dir / "packs").glob("*.json")):
        report = _read_json(path)
        if report is not None:
            out[int(path.stem)] = report
    return out


def _job_view(plans: Sequence[dict[str, Any]], out: str | Path) -> dict[Unit, UnitState]:
    """Per unit, what the latest job that was given it says (running, failed) -- newest sweep wins."""
    view: dict[Unit, UnitState] = {}
    for plan in plans:
        reports = read_pack_reports(sweeps_root(out) / plan["sweep_id"])
        for pack in plan["packs"]:
            report = reports.get(int(pack["index"]))
            job_id = (report or {}).get("job_id") or pack.get("job_id")
            for set_name in pack["test_sets"]:
                unit = (pack["model"], set_name)
                view.pop(unit, None)
                if report is None:
                    if job_id:
                        view[unit] = UnitState(*unit, "queued", job_id=job_id)
                    continue
                if report.get("state") == "running":
                    view[unit] = UnitState(*unit, "running", job_id=job_id)
                    continue
                for r in report.get("results", []):
                    if r.get("test_set") == set_name and r.get("status") == "failed":
                        view[unit] = UnitState(*unit, "failed", error=r.get("error"), job_id=job_id)
                if report.get("model_error"):
                    view[unit] = UnitState(*unit, "failed", error=report["model_error"], job_id=job_id)
    return view


def unit_states(out: str | Path, units: Iterable[Unit], precision: str | None = None,
                save_logits: bool | None = None) -> list[UnitState]:
    """State of each unit from the store and the sweep ledger (see the module docstring)."""
    store = Store(out)
    jobs = _job_view(read_plans(out), out)
    states = []
    for model, test_set in units:
        from_store = store_state(store, model, test_set, precision, save_logits)
        from_job = jobs.get((model, test_set))
        if from_store.state == "done" or from_job is None:
            states.append(from_store)
        elif from_job.state == "queued" and from_store.state in ("failed", "partial"):
            states.append(UnitState(model, test_set, from_store.state, from_store.error,
                                    from_store.path, from_job.job_id))
        elif from_job.state == "running" or from_store.state != "failed":
            states.append(UnitState(model, test_set, from_job.state, from_job.error or from_store.error,
                                    from_store.path, from_job.job_id))
        else:
            states.append(from_store)
    return states


def planned_units(out: str | Path) -> list[Unit]:
    """Units named by any sweep's plan, first appearance first."""
    seen: dict[Unit, None] = {}
    for plan in read_plans(out):
        for model, test_set in plan.get("units", []):
            seen[(model, test_set)] = None
    return list(seen)


@dataclass
class SweepStatus:
    """Every unit a sweep planned (plus finished units of earlier runs), with its state."""

    states: list[UnitState]

    def counts(self) -> dict[str, int]:
        c = Counter(s.state for s in self.states)
        return {k: c.get(k, 0) for k in STATES}

    def of(self, state: str) -> list[UnitState]:
        return [s for s in self.states if s.state == state]

    def describe(self, limit: int = 50) -> str:
        counts = self.counts()
        lines = [f"{len(self.states)} units: " + ", ".join(f"{counts[k]} {k}" for k in STATES)]
        for s in self.of("failed")[:limit]:
            where = f" (job {s.job_id})" if s.job_id else ""
            lines.append(f"  FAILED {s.model} on {s.test_set}{where}: {s.error}")
        for s in self.of("running")[:limit]:
            lines.append(f"  started {s.model} on {s.test_set} (job {s.job_id}): running now, or killed")
        for s in self.of("queued")[:limit]:
            lines.append(f"  submitted {s.model} on {s.test_set} (job {s.job_id}): queued, or cancelled")
        return "\n".join(lines)


def sweep_status(out: str | Path) -> SweepStatus:
    """States of every planned unit and every finished unit under ``out`` (the store alone)."""
    precision_of: dict[Unit, tuple[str | None, bool | None]] = {}
    for plan in read_plans(out):
        for model, test_set in plan.get("units", []):
            precision_of[(model, test_set)] = (plan.get("precision"), plan.get("save_logits"))
    units = list(precision_of)
    for unit in Store(out).iter_units():
        spec = _read_json(unit.root / "spec.json") or _read_json(unit.meta) or {}
        pair = (spec.get("model", {}).get("name"), spec.get("test_set", {}).get("name"))
        if None not in pair and pair not in precision_of:
            precision_of[pair] = (None, None)
            units.append(pair)
    groups: dict[tuple[str | None, bool | None], list[Unit]] = {}
    for unit in units:
        groups.setdefault(precision_of[unit], []).append(unit)
    by_unit: dict[Unit, UnitState] = {}
    for (precision, save_logits), members in groups.items():
        for state in unit_states(out, members, precision, save_logits):
            by_unit[(state.model, state.test_set)] = state
    return SweepStatus([by_unit[u] for u in units])
