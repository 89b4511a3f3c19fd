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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..datasets.fingerprint import file_sha256, test_set_fingerprint
from ..store import Store
from .packing import Unit

STATES = ("done", "stale", "failed", "locked", "running", "queued", "partial", "pending")


@dataclass(frozen=True)
class UnitState:
    model: str
    test_set: str
    state: str  # one of STATES
    error: str | None = None  # failed: the error; stale: what changed; locked: who holds it
    path: str | None = None  # the unit folder, when there is one
    job_id: str | None = None  # the job that last ran it, when known
    images_done: int | None = None  # partial: images checkpointed so far


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


@dataclass
class StaleCheck:
    """Tells a finished unit whose inputs changed, without loading its model.

    Checked: the weights file the unit recorded (size and modification time), a weights
    file given for this run (its SHA-256 against the unit's), and the test set's image
    list (re-listed through ``open_set(name, provenance)`` and fingerprinted). The exact
    key, which also covers the preprocessing, is compared by every job before it skips a
    unit; ``--recheck`` submits every unit so that jobs compare it.
    """

    weights: dict[str, str] | None = None  # model -> weights file of a run; None: not a run (status)
    open_set: Callable[[str, dict[str, Any]], Any] | None = None
    _sha: dict[tuple[str, int, int], str] = field(default_factory=dict)
    _fingerprints: dict[str, str | None] = field(default_factory=dict)

    def reason(self, model: str, spec: dict[str, Any]) -> str | None:
        prov = spec.get("provenance", {})
        recorded = prov.get("weights_file")
        if recorded:
            path = Path(recorded["path"])
            try:
                st = path.stat()
            except OSError:
                st = None
            if st is None or (st.st_size, st.st_mtime_ns) != (recorded["size"], recorded["mtime_ns"]):
                return f"weights file {path} changed since the unit was computed"
        given = None if self.weights is None else self.weights.get(model)
        if given is not None and self._file_sha(Path(given)) != spec.get("model", {}).get("weights_sha256"):
            return f"--weights file {given} is not the weights the unit was computed with"
        if self.weights is not None and given is None and recorded is not None:
            return f"computed with --weights {recorded['path']}; this run gives no --weights"
        return self._images_reason(spec, prov)

    def _file_sha(self, path: Path) -> str | None:
        try:
            st = path.stat()
        except OSError:
            return None
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key not in self._sha:
            self._sha[key] = file_sha256(path)
        return self._sha[key]

    def _images_reason(self, spec: dict[str, Any], prov: dict[str, Any]) -> str | None:
        images = spec.get("test_set", {}).get("images")
        name = spec.get("test_set", {}).get("name")
        if self.open_set is None or not images or not name:
            return None
        cache_key = json.dumps([name, prov.get("test_set_root"), prov.get("open_options"),
                                images.get("mode")], sort_keys=True, default=str)
        if cache_key not in self._fingerprints:
            try:
                test_set = self.open_set(name, prov)
                self._fingerprints[cache_key] = test_set_fingerprint(test_set, images["mode"]).sha256
                self._fingerprints[cache_key + "#n"] = str(len(test_set))
            except Exception:  # the set cannot be opened here (other machine, moved): not judged
                self._fingerprints[cache_key] = None
        now = self._fingerprints[cache_key]
        if now is None or now == images.get("sha256"):
            return None
        return (f"the images of {name} changed since the unit was computed "
                f"({images.get('count')} then, {self._fingerprints[cache_key + '#n']} now)")


def recorded_set_opener(open_test_set: Callable) -> Callable[[str, dict[str, Any]], Any]:
    """``(set name, unit provenance) -> test set`` opened from the folder and options the unit
    recorded (what ``robustness status`` uses)."""
    def open_set(name: str, provenance: dict[str, Any]) -> Any:
        return open_test_set(name, None, root=provenance["test_set_root"],
                             **provenance.get("open_options", {}))

    return open_set


def store_state(store: Store, model: str, test_set: str, precision: str | None = None,
                save_logits: bool | None = None, stale: StaleCheck | None = None) -> UnitState:
    """The unit's state from its folders in the store: done, stale (with ``stale``), failed,
    locked (another run computes it now), partial or pending."""
    failed: UnitState | None = None
    partial: UnitState | None = None
    locked: UnitState | None = None
    done: UnitState | None = None
    for unit in store.pair_units(model, test_set):
        spec = unit.read_spec()
        if unit.finished():
            if unit.superseded() or not _matches(spec, model, test_set, precision, save_logits):
                continue
            why = stale.reason(model, spec or {}) if stale is not None else None
            done = UnitState(model, test_set, "stale" if why else "done", error=why, path=str(unit.root))
            continue
        holder = unit.lock_holder()
        if holder is not None and _matches(spec, model, test_set, precision, save_logits):
            locked = UnitState(model, test_set, "locked", path=str(unit.root),
                               error=f"host {holder.get('host')}, pid {holder.get('pid')}, "
                               f"since {holder.get('started')}")
            continue
        error = unit.read_error()
        if error is not None and error.get("model", model) == model:
            failed = UnitState(model, test_set, "failed", error=error.get("error"), path=str(unit.root))
        elif unit.part_files() and _matches(spec, model, test_set, precision, save_logits):
            partial = UnitState(model, test_set, "partial", path=str(unit.root),
                                images_done=unit.images_checkpointed())
    if done is not None and done.state == "done":
        return done
    pair_error = store.read_pair_error(model, test_set)
    if pair_error is not None and failed is None:
        failed = UnitState(model, test_set, "failed", error=pair_error.get("error"),
                           path=str(store.pair_dir(model, test_set)))
    return locked or done or failed or partial or UnitState(model, test_set, "pending")


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
                save_logits: bool | None = None, stale: StaleCheck | None = None) -> list[UnitState]:
    """State of each unit from the store and the sweep ledger (see the module docstring)."""
    store = Store(out)
    jobs = _job_view(read_plans(out), out)
    states = []
    for model, test_set in units:
        from_store = store_state(store, model, test_set, precision, save_logits, stale)
        from_job = jobs.get((model, test_set))
        if from_store.state in ("done", "locked") or from_job is None:
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
        lines = [counts_line(counts)]
        for s in self.of("stale")[:limit]:
            lines.append(f"  STALE {s.model} on {s.test_set}: {s.error}; `eval` recomputes it")
        for s in self.of("failed")[:limit]:
            where = f" (job {s.job_id})" if s.job_id else ""
            lines.append(f"  FAILED {s.model} on {s.test_set}{where}: {s.error}")
        for s in self.of("locked")[:limit]:
            lines.append(f"  computing {s.model} on {s.test_set} in another run ({s.error})")
        for s in self.of("partial")[:limit]:
            lines.append(f"  partly done {s.model} on {s.test_set}: {s.images_done} images "
                         "checkpointed; `eval` resumes it")
        for s in self.of("running")[:limit]:
            lines.append(f"  started {s.model} on {s.test_set} (job {s.job_id}): running now, or killed")
        for s in self.of("queued")[:limit]:
            lines.append(f"  submitted {s.model} on {s.test_set} (job {s.job_id}): queued, or cancelled")
        return "\n".join(lines)


def counts_line(counts: dict[str, int]) -> str:
    """``"6 units: 4 done, 2 failed"``: the states that occur, in the order of STATES."""
    shown = ", ".join(f"{counts[k]} {k}" for k in STATES if counts.get(k))
    return f"{sum(counts.values())} units" + (f": {shown}" if shown else "")


def sweep_status(out: str | Path, stale: StaleCheck | None = None) -> SweepStatus:
    """States of every planned unit and every unit folder under ``out`` (the store alone).

    ``stale``: how to tell finished units whose inputs changed (see :class:`StaleCheck`);
    None checks nothing."""
    precision_of: dict[Unit, tuple[str | None, bool | None]] = {}
    for plan in read_plans(out):
        for model, test_set in plan.get("units", []):
            precision_of[(model, test_set)] = (plan.get("precision"), plan.get("save_logits"))
    units = list(precision_of)
    for pair in Store(out).pairs():
        if pair not in precision_of:
            precision_of[pair] = (None, None)
            units.append(pair)
    groups: dict[tuple[str | None, bool | None], list[Unit]] = {}
    for unit in units:
        groups.setdefault(precision_of[unit], []).append(unit)
    by_unit: dict[Unit, UnitState] = {}
    for (precision, save_logits), members in groups.items():
        for state in unit_states(out, members, precision, save_logits, stale):
            by_unit[(state.model, state.test_set)] = state
    return SweepStatus([by_unit[u] for u in units])
