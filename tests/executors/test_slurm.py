"""Through a real single-node Slurm (see conftest.py): sweeps, cancellation, failures, builds.

Jobs are tiny (8 gray images per unit, a few seconds) and run the project's own
Python; two run at once on the 2-CPU node.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from fakes_jobs import CONFIG, GrayShelf, GrayZoo, image_files, make_source, table_bytes

from corruptions.builder import build_corrupted_set
from robustness.executors import (
    ExecutorOptions,
    SubmissionError,
    submit_build,
    submit_evaluation,
    sweep_status,
)
from robustness.executors.sweep import follow_jobs, squeue_states
from robustness.report.tables import write_tables
from robustness.store import Store

pytestmark = pytest.mark.slurm

SLURM = ExecutorOptions(executor="slurm", partition="debug", gpus_per_job=0, cpus_per_job=1,
                        timeout_min=10, units_per_job=2, array_parallelism=4, poll_seconds=1)
SETS = ["imagenet", "imagenetv2-matched-frequency", "imagenet-r"]
PLAIN = GrayShelf()


def evaluate(out, models, sets, opts=SLURM, shelf=PLAIN, **kw):
    return submit_evaluation(models, sets, out, config=CONFIG, options=opts, load_model=GrayZoo(),
                             open_test_set=shelf, echo=lambda line: None, **kw)


def local_tables(out, models, sets, shelf=PLAIN):
    report = evaluate(out, models, sets, opts=replace(SLURM, executor="local"), shelf=shelf)
    assert report.ok, report.describe()
    write_tables(Store(out), out)
    return table_bytes(out)


def unit_folders(out):
    """(model, set) -> every unit folder holding records (a duplicate would show as two)."""
    found: dict[tuple[str, str], list[Path]] = {}
    for records in Path(out, "units").glob("*/*/*/predictions.parquet"):
        meta = json.loads((records.parent / "meta.json").read_text())
        found.setdefault((meta["model"]["name"], meta["test_set"]["name"]), []).append(records.parent)
    return found


def wait_until(condition, timeout=120.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_sweep_tables_equal_the_local_executors_and_a_failing_unit_blocks_nothing(tmp_path, slurm):
    models, sets = ["gray.a", "gray.b"], [*SETS, "imagenet-a"]
    shelf = GrayShelf(broken=("imagenet-a",))  # shares a job with imagenet-r
    report = evaluate(tmp_path / "slurm", models, sets, shelf=shelf, opts=replace(SLURM, max_array_size=3))
    assert len(report.job_ids) == 4  # 2 per model; arrays of at most 3 tasks: 3 + 1
    arrays = [j.split("_")[0] for j in report.job_ids]
    assert arrays[0] == arrays[1] == arrays[2] != arrays[3]
    failed = report.status.of("failed")
    assert [(s.model, s.test_set) for s in failed] == [(m, "imagenet-a") for m in models]
    assert all("img00002" in s.error for s in failed)
    assert len(report.status.of("done")) == 6
    assert "FAILED gray.a on imagenet-a" in report.describe()
    later = sweep_status(tmp_path / "slurm")  # from the store alone
    assert later.counts() == {"done": 6, "stale": 0, "failed": 2, "locked": 0, "running": 0, "queued": 0, "partial": 0, "pending": 0}
    assert squeue_states(report.job_ids) == {}

    write_tables(Store(tmp_path / "slurm"), tmp_path / "slurm")
    local = evaluate(tmp_path / "local", models, sets, opts=replace(SLURM, executor="local"),
                     shelf=shelf)
    assert local.status.counts() == later.counts()
    write_tables(Store(tmp_path / "local"), tmp_path / "local")
    assert table_bytes(tmp_path / "slurm") == table_bytes(tmp_path / "local") != {}
    assert all(len(v) == 1 for v in unit_folders(tmp_path / "slurm").values())
    assert len(list(Path(report.log_dir).glob("*/*_log.out"))) == 4  # logs per job


def _first_part(out, model):
    return next(Path(out, "units", model).glob("*/*/parts/part-*.npz"), None)


def test_scancel_then_relaunch_loses_and_duplicates_nothing(tmp_path, slurm):
    # one unit per job; gray.a's job is cancelled after its first checkpoint (4 of 16 images),
    # long before it could finish (16 s per unit; Slurm kills within KillWait + a few seconds)
    out, models, sets = tmp_path / "slurm", ["gray.a", "gray.b"], ["imagenet"]
    slow, opts = GrayShelf(n_images=16, delay=1.0), replace(SLURM, units_per_job=1)
    first = evaluate(out, models, sets, opts=opts, shelf=slow, wait=False)
    plan = json.loads(Path(out, "sweeps", first.sweep_id, "plan.json").read_text())
    job_of = {p["model"]: p["job_id"] for p in plan["packs"]}
    # launching again while those jobs are queued or running submits nothing
    assert evaluate(out, models, sets, opts=opts, shelf=slow, wait=False).submitted == []
    assert len(list(Path(out, "sweeps").glob("*/plan.json"))) == 1
    wait_until(lambda: _first_part(out, "gray.a"), what="a checkpoint of gray.a's unit")
    slurm.run("scancel", job_of["gray.a"])
    follow_jobs([_Handle(j) for j in first.job_ids], opts, out, [], None, None, echo=lambda s: None,
                timeout_s=180)
    middle = {(s.model, s.test_set): s for s in sweep_status(out).states}
    assert middle[("gray.b", "imagenet")].state == "done"
    assert middle[("gray.a", "imagenet")].state == "running"  # started, never finished: killed
    assert middle[("gray.a", "imagenet")].job_id == job_of["gray.a"]
    done_before = {p: p.joinpath("meta.json").stat().st_mtime_ns
                   for v in unit_folders(out).values() for p in v}

    second = evaluate(out, models, sets, opts=opts, shelf=slow)
    assert second.ok, second.describe()
    assert second.submitted == [("gray.a", "imagenet")]  # only what was lost
    folders = unit_folders(out)
    assert sorted(folders) == [(m, "imagenet") for m in models]
    assert all(len(v) == 1 for v in folders.values())  # nothing duplicated
    assert all(p.joinpath("meta.json").stat().st_mtime_ns == t for p, t in done_before.items())
    resumed = json.loads((folders[("gray.a", "imagenet")][0] / "meta.json").read_text())["resumed_from"]
    assert 4 <= resumed < 16  # the relaunch resumed from a checkpoint written before the cancel
    write_tables(Store(out), out)
    assert table_bytes(out) == local_tables(tmp_path / "local", models, sets, GrayShelf(n_images=16))


class _Handle:
    """The part of a submitit job that follow_jobs needs (its id), for jobs of an earlier launch."""

    def __init__(self, job_id: str):
        self.job_id = job_id


def test_preempted_job_is_requeued_and_resumes(tmp_path, slurm):
    out = tmp_path / "slurm"
    report = evaluate(out, ["gray.a"], ["imagenet"], shelf=GrayShelf(n_images=12, delay=0.6),
                      wait=False)
    wait_until(lambda: _first_part(out, "gray.a"), what="a checkpoint")
    # what Slurm sends before a timeout or preemption; submitit checkpoints and requeues the job
    slurm.run("scancel", "--signal=USR2", report.job_ids[0])
    follow_jobs([_Handle(j) for j in report.job_ids], SLURM, out, [], None, None,
                echo=lambda s: None, timeout_s=240)
    pack = json.loads(Path(out, "sweeps", report.sweep_id, "packs", "0.json").read_text())
    assert pack["state"] == "finished" and pack["slurm_restart_count"] == "1"
    (folder,) = unit_folders(out)[("gray.a", "imagenet")]
    assert json.loads((folder / "meta.json").read_text())["resumed_from"] >= 4


def test_corruption_build_split_over_array_tasks_equals_one_local_run(tmp_path, slurm):
    src = make_source(tmp_path)
    kw = {"corruptions": "gaussian_noise", "severities": "1,3", "seed": 7, "preset": "imagenet"}
    build_corrupted_set(src, tmp_path / "local", progress=False, **kw)
    report = submit_build(src, tmp_path / "split", shards=3, options=SLURM, echo=lambda s: None, **kw)
    assert report.ok, report.describe()
    assert len(report.job_ids) == 3
    assert Path(report.log_dir).parent == tmp_path / "split-slurm-logs"  # not inside the data set
    local, split = image_files(tmp_path / "local"), image_files(tmp_path / "split")
    assert len(local) == 3 * 2 * 2 and split == local
    assert sorted(p.name for p in (tmp_path / "split").glob("manifest*.json")) == [
        f"manifest-shard-{i}-of-3.json" for i in range(3)]


def test_a_refused_submission_names_the_problem_and_submits_nothing(tmp_path, slurm):
    with pytest.raises(SubmissionError, match=r"(?s)sbatch refused.*invalid partition.*--partition"):
        evaluate(tmp_path, ["gray.a"], ["imagenet"], opts=replace(SLURM, partition="nope"))
    assert [s.state for s in sweep_status(tmp_path).states] == ["pending"]
