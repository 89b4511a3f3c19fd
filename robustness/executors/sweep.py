"""Launching a sweep: find pending units, pack them into a job array, follow it, report.

``submit_evaluation`` is the one call behind ``robustness eval --executor ...``:

1. every requested (model, test set) unit gets a state from the results folder
   (:mod:`robustness.executors.state`: no model is loaded here; a finished unit
   whose weights file or images changed is *stale*);
2. locally, every requested unit (with ``only_failed``, the failed ones) goes to
   the engine, which loads each model and skips a unit only when a finished unit
   of exactly its key exists. On Slurm, units not done (stale ones included; with
   ``only_failed``, the failed ones) are packed one model per job,
   ``units_per_job`` test sets per job, and every job compares exact keys;
3. the packs go to Slurm as one job array through submitit; logs land in
   ``OUT/slurm-logs/<sweep id>/<job id>_<task>_log.{out,err}``;
4. with ``wait=True`` the launcher prints pending / running / done / failed as
   they change until every job has left the queue, then lists failed units and
   units whose job ended without finishing them (cancelled, killed, out of time
   without requeue). Rerunning the same command submits exactly those again.

Job states come from ``squeue`` (Slurm) or submitit's local process handles; no
``sacct``/accounting database is needed.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corruptions.errors import UserInputError

from ..datasets import open_test_set as open_named_test_set
from ..engine import EvalConfig, UnitResult, run_evaluation, set_options, set_root
from ..preflight import OpenedSets, preflight
from ..store import atomic_write_json
from .jobs import EvalPack, EvalRequest, job_config
from .options import ExecutorOptions, make_executor
from .packing import Unit, WorkPack, plan_packs
from .state import StaleCheck, SweepStatus, UnitState, counts_line, sweeps_root, unit_states

Echo = Callable[[str], None]


class SubmissionError(RuntimeError, UserInputError):
    """The scheduler refused the jobs (bad partition, resources, account...)."""


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def expected_precision(config: EvalConfig, options: ExecutorOptions) -> str:
    """The precision the jobs will resolve ``config.precision`` to (``auto``: fp16 on a GPU)."""
    if config.precision != "auto":
        return config.precision
    if options.executor == "local":
        return config.resolved_precision(config.resolved_device())
    on_gpu = (options.gpus_per_job > 0 and config.device == "auto") or config.device.startswith("cuda")
    return "fp16" if on_gpu else "fp32"


@dataclass
class SweepReport:
    """What a launch did and where every requested unit stands."""

    states: list[UnitState]
    sweep_id: str | None = None
    job_ids: list[str] = field(default_factory=list)
    log_dir: str | None = None
    submitted: list[Unit] = field(default_factory=list)
    job_logs: dict[str, str] = field(default_factory=dict)  # job id -> stderr log of jobs that left units unfinished
    results: list[UnitResult] = field(default_factory=list)  # local runs: what the engine did per unit

    @property
    def status(self) -> SweepStatus:
        return SweepStatus(self.states)

    @property
    def ok(self) -> bool:
        return all(s.state == "done" for s in self.states)

    def ran_units(self) -> tuple[list[str], list[str]]:
        """(models, test sets) of the requested units that are finished now: the tables a run
        changes are those of these models and sets."""
        done = [s for s in self.states if s.state == "done"]
        return (list(dict.fromkeys(s.model for s in done)), list(dict.fromkeys(s.test_set for s in done)))

    def accuracy_table(self, limit: int = 40) -> str:
        """The units this local run computed or found finished: top-1 per model and test set."""
        rows = [r for r in self.results if r.status in ("done", "cached")]
        if not rows:
            return ""
        width = max(len(r.model) for r in rows[:limit])
        set_width = max(len(r.test_set) for r in rows[:limit])
        lines = [f"{'model':{width}s}  {'test set':{set_width}s}  {'top-1 %':>7s}  {'images':>7s}  note"]
        for r in rows[:limit]:
            notes = ["computed" if r.status == "done" else "already finished"]
            if r.partial:
                notes.append(f"PARTIAL SET: {r.partial}")
            if r.n_skipped:
                notes.append(f"{r.n_skipped} unreadable images skipped")
            lines.append(f"{r.model:{width}s}  {r.test_set:{set_width}s}  {r.top1:7.2f}  {r.n:7d}  "
                         + "; ".join(notes))
        if len(rows) > limit:
            lines.append(f"... and {len(rows) - limit} more units (see the results-*.csv tables)")
        return "\n".join(lines)

    def describe(self) -> str:
        lines = [self.status.describe()]
        left = [s for s in self.states if s.state not in ("done", "failed")]
        for s in [s for s in left if s.state in ("partial", "pending")][:50]:  # others listed above
            lines.append(f"  NOT FINISHED {s.model} on {s.test_set} ({s.state})")
        for job_id, log in self.job_logs.items():
            lines.append(f"  job {job_id} ended before finishing its units; log: {log}")
        if left:
            lines.append("  rerun the same command to submit the unfinished units again")
        if any(s.state == "failed" for s in self.states):
            lines.append("  fix the cause, then resubmit the failed units alone with --only-failed")
        return "\n".join(lines)


# --------------------------------------------------------------------------- job states


def squeue_states(job_ids: Sequence[str]) -> dict[str, str] | None:
    """``{job id: state}`` of the jobs still known to the queue (``123`` or ``123_4``).

    Jobs that left the queue are absent. None when squeue itself failed (try again later).
    """
    masters = sorted({str(j).split("_")[0] for j in job_ids})
    if not masters:
        return {}
    try:
        proc = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T", "--jobs", ",".join(masters)],
                              capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return {} if "Invalid job id" in proc.stderr else None
    states = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            states[parts[0]] = parts[1]
    return states


def live_jobs(jobs: Sequence[Any], executor: str) -> dict[str, str] | None:
    """Jobs still queued or running, ``{job id: state}``; None if that cannot be told right now."""
    if executor == "slurm":
        queued = squeue_states([j.job_id for j in jobs])
        if queued is None:
            return None
        return {j.job_id: queued[j.job_id] for j in jobs if j.job_id in queued}
    return {j.job_id: "RUNNING" for j in jobs if not j.done()}


def _queued_elsewhere(states: Sequence[UnitState], executor: str) -> set[Unit]:
    """Units that a still-queued Slurm job of an earlier sweep holds (not to be submitted twice)."""
    running = [s for s in states if s.state != "done" and s.job_id]
    if executor != "slurm" or not running:
        return set()
    queued = squeue_states([s.job_id for s in running]) or {}
    return {(s.model, s.test_set) for s in running if s.job_id in queued}


# --------------------------------------------------------------------------- launching


def _absolute(path: str | Path | None) -> str | None:
    return str(Path(path).expanduser().resolve()) if path else None


def _absolute_values(paths: dict[str, str]) -> dict[str, str]:
    """Local paths made absolute; values that are not existing paths (e.g. hub names) kept."""
    return {k: str(Path(v).expanduser().resolve()) if Path(v).expanduser().exists() else v
            for k, v in paths.items()}


def _set_opener(open_test_set: Callable, data_root, roots: dict[str, str],
                dataset_options: dict[str, dict[str, Any]]) -> Callable[[str, dict[str, Any]], Any]:
    """``(set name, unit provenance) -> test set``, opened as this run's jobs will open it."""
    def open_set(name: str, provenance: dict[str, Any]) -> Any:
        return open_test_set(name, data_root, root=set_root(name, roots),
                             **set_options(name, dataset_options))

    return open_set


def new_sweep_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def write_plan(sweep_dir: Path, plan: dict[str, Any]) -> None:
    atomic_write_json(sweep_dir / "plan.json", plan)


def _run_local(models, test_sets, out, units: list[Unit], results: list[UnitResult],
               **run_kwargs) -> dict[Unit, UnitState]:
    """The in-process runner over ``units``; appends the engine's results to ``results`` and
    returns failures the store may not hold."""
    failures: dict[Unit, UnitState] = {}
    if set(units) == {(m, s) for m in models for s in test_sets}:
        groups = [(list(models), list(test_sets))]
    else:
        groups = [(p.model, list(p.test_sets)) for p in plan_packs(units, len(units) or 1)]
        groups = [([m], sets) for m, sets in groups]
    for group_models, group_sets in groups:
        summary = run_evaluation(group_models, group_sets, out, **run_kwargs)
        results.extend(summary.results)
        for r in summary.failed:
            failures[(r.model, r.test_set)] = UnitState(r.model, r.test_set, "failed", error=r.error)
        for model, err in summary.model_errors.items():
            for s in group_sets:
                failures[(model, s)] = UnitState(model, s, "failed", error=f"model not loaded: {err}")
    return failures


def submit_evaluation(
    models: Sequence[str],
    test_sets: Sequence[str],
    out: str | Path,
    data_root: str | Path | None = None,
    roots: dict[str, str] | None = None,
    config: EvalConfig | None = None,
    weights: dict[str, str] | None = None,
    options: ExecutorOptions | None = None,
    *,
    load_model: Callable | None = None,
    open_test_set: Callable | None = None,
    dataset_options: dict[str, dict[str, Any]] | None = None,
    wait: bool = True,
    only_failed: bool = False,
    recheck: bool = False,
    echo: Echo = _stderr,
) -> SweepReport:
    """Evaluate every model on every test set with the chosen executor; see the module docstring.

    ``only_failed``: run only units whose last run failed (whatever the cause: the
    model did not load, the set did not open, the unit failed). ``recheck``: on
    Slurm, submit every unit, done or not (jobs skip units whose exact key is
    finished; use it after upgrading a library that may change preprocessing).
    ``load_model`` / ``open_test_set`` / ``dataset_options`` as in
    :func:`robustness.engine.run_evaluation` (they are pickled into the jobs). Returns a :class:`SweepReport`.
    """
    options = options or ExecutorOptions()
    config = config or EvalConfig()
    out = Path(out)
    roots = dict(roots or {})
    local = options.executor == "local"
    opened = OpenedSets(open_test_set or open_named_test_set)
    weights = preflight(models, test_sets, out, data_root=data_root, roots=roots,
                        dataset_options=dict(dataset_options or {}), weights=dict(weights or {}),
                        config=config, open_test_set=opened, check_device=local)
    echo(f"{len(models)} model(s) x {len(test_sets)} test set(s) -> {out}")
    precision = expected_precision(config, options)
    requested = [(m, s) for m in models for s in test_sets]
    stale = None if local else StaleCheck(weights, _set_opener(opened, data_root, roots,
                                                               dict(dataset_options or {})))
    before = unit_states(out, requested, precision, config.save_logits, stale)
    if only_failed:
        todo = [(s.model, s.test_set) for s in before if s.state == "failed"]
    elif recheck or local or config.upgrade_old_units:  # jobs compare keys (and formats)
        todo = list(requested)
    else:
        todo = [(s.model, s.test_set) for s in before if s.state != "done"]
    held = _queued_elsewhere(before, options.executor)
    todo = [u for u in todo if u not in held]
    if local and not only_failed:
        echo(_counts_line(before) + " -> each model is loaded and a unit is skipped only when a "
             "finished unit of exactly its key exists")
    else:
        echo(_counts_line(before) + f" -> {len(todo)} to run"
             + (f" ({len(held)} still held by queued jobs of an earlier launch)" if held else ""))

    if local:
        run_kwargs = dict(data_root=data_root, roots=roots, config=config, weights=weights,
                          load_model=load_model, open_test_set=opened,
                          dataset_options=dict(dataset_options or {}))
        results: list[UnitResult] = []
        failures = _run_local(models, test_sets, out, todo, results, **run_kwargs) if todo else {}
        after = unit_states(out, requested, precision, config.save_logits)
        states = [failures.get((s.model, s.test_set), s) if s.state != "done" else s for s in after]
        return SweepReport(states, submitted=todo, results=results)

    if not todo:
        return SweepReport(before)
    packs = plan_packs(todo, options.units_per_job)
    sweep_id = new_sweep_id()
    sweep_dir = sweeps_root(out) / sweep_id
    log_dir = options.logs_folder(out) / sweep_id
    request = EvalRequest(  # absolute paths: jobs may start in another working directory
        out=str(out.resolve()), data_root=_absolute(data_root), roots=_absolute_values(roots),
        config=job_config(config, options.cpus_per_job), weights=_absolute_values(weights),
        load_model=load_model,
        open_test_set=open_test_set, dataset_options=dict(dataset_options or {}),
    )
    plan = {
        "sweep_id": sweep_id,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "executor": options.executor,
        "options": {k: v for k, v in vars(options).items()},
        "precision": precision,
        "save_logits": bool(config.save_logits),
        "units": [list(u) for u in todo],
        "packs": [{"index": p.index, "model": p.model, "test_sets": list(p.test_sets), "job_id": None}
                  for p in packs],
        "log_dir": str(log_dir),
    }
    write_plan(sweep_dir, plan)
    jobs: list[Any] = []
    try:
        _submit(packs, request, sweep_dir, options, log_dir, jobs)
    except Exception as exc:
        raise SubmissionError(
            f"sbatch refused the jobs ({len(jobs)} of {len(packs)} submitted before): "
            f"{str(exc).strip()}. Check the Slurm options (--partition, --gpus-per-job, "
            f"--cpus-per-job, --mem-gb, --timeout-min, slurm_extra in --config), then rerun: "
            "submitted units are not submitted twice."
        ) from exc
    finally:
        for entry, job in zip(plan["packs"], jobs):
            entry["job_id"] = str(job.job_id)
        write_plan(sweep_dir, plan)
    arrays = ", ".join(dict.fromkeys(str(j.job_id).split("_")[0] for j in jobs))
    echo(f"sweep {sweep_id}: {len(todo)} units in {len(jobs)} job(s) (Slurm job {arrays}); "
         f"logs in {log_dir}; follow with `robustness status --out {out}`")
    report = SweepReport(before, sweep_id, [str(j.job_id) for j in jobs], str(log_dir), todo)
    if not wait:
        return report
    follow_jobs(jobs, options, out, requested, precision, config.save_logits, echo)
    report.states = unit_states(out, requested, precision, config.save_logits)
    unfinished = {(s.model, s.test_set) for s in report.states if s.state not in ("done", "failed")}
    for pack, job in zip(packs, jobs):
        if unfinished.intersection(pack.units):
            report.job_logs[str(job.job_id)] = str(job.paths.stderr)
    return report


def _submit(packs: list[WorkPack], request: EvalRequest, sweep_dir: Path, options: ExecutorOptions,
            log_dir: Path, jobs: list[Any]) -> None:
    """Append to ``jobs`` one job array per ``max_array_size`` packs (a submitit batch is one array)."""
    executor = make_executor(options, log_dir)
    for start in range(0, len(packs), options.max_array_size):
        with executor.batch():
            chunk = [executor.submit(EvalPack(p, request, sweep_dir))
                     for p in packs[start : start + options.max_array_size]]
        jobs.extend(chunk)


def _counts_line(states: Sequence[UnitState]) -> str:
    return counts_line(SweepStatus(list(states)).counts())


def poll_delays(longest: float, first: float = 1.0, factor: float = 1.5):
    """Seconds to sleep between checks: ``first``, growing by ``factor`` up to ``longest``."""
    delay = min(first, longest)
    while True:
        yield delay
        delay = min(longest, delay * factor)


def follow_jobs(jobs: Sequence[Any], options: ExecutorOptions, out: str | Path, units: Sequence[Unit],
                precision: str | None, save_logits: bool | None, echo: Echo = _stderr,
                timeout_s: float | None = None) -> None:
    """Print unit counts whenever they change, until no job is queued or running."""
    last = ""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    delays = poll_delays(options.poll_seconds)
    while True:
        alive = live_jobs(jobs, options.executor)
        line = _counts_line(unit_states(out, units, precision, save_logits))
        if alive is not None:
            line += f"; jobs queued or running: {len(alive)}"
        if line != last:
            echo(time.strftime("%H:%M:%S ") + line)
            last = line
        if alive is not None and not alive:
            return
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"jobs still queued or running after {timeout_s} s")
        time.sleep(next(delays))
