"""The launcher and job code through submitit's LocalExecutor (real subprocesses, no Slurm)."""

from __future__ import annotations

from dataclasses import replace

from fakes_jobs import CONFIG, GrayShelf, GrayZoo, table_bytes

from robustness.executors import ExecutorOptions, submit_evaluation, sweep_status
from robustness.report.tables import write_tables
from robustness.store import Store

MODELS = ["gray.a", "gray.b"]
SETS = ["imagenet", "imagenetv2-matched-frequency", "imagenet-r"]
PLAIN = GrayShelf()
OPTS = ExecutorOptions(executor="submitit-local", gpus_per_job=0, cpus_per_job=1, units_per_job=3,
                       poll_seconds=0.5, timeout_min=10)


def run(out, executor_opts, shelf=PLAIN, **kw):
    lines: list[str] = []
    report = submit_evaluation(MODELS, SETS, out, config=CONFIG, options=executor_opts,
                               load_model=GrayZoo(), open_test_set=shelf, echo=lines.append, **kw)
    return report, lines


def finished_units(out):
    return sorted((u.read_meta()["model"]["name"], u.read_meta()["test_set"]["name"])
                  for u in Store(out).iter_units())


def test_jobs_give_the_local_executors_tables_byte_for_byte(tmp_path, job_env):
    local, _ = run(tmp_path / "local", replace(OPTS, executor="local"))
    jobs, lines = run(tmp_path / "jobs", OPTS)
    assert local.ok and jobs.ok, jobs.describe()
    assert len(jobs.job_ids) == 2  # one job per model, its 3 sets packed together
    assert write_tables(Store(tmp_path / "local"), tmp_path / "local")
    write_tables(Store(tmp_path / "jobs"), tmp_path / "jobs")
    assert table_bytes(tmp_path / "jobs") == table_bytes(tmp_path / "local")
    assert finished_units(tmp_path / "jobs") == sorted((m, s) for m in MODELS for s in SETS)
    assert lines[0].startswith("2 model(s) x 3 test set(s) -> ")
    assert "6 units: 6 pending -> 6 to run" in lines[1]
    # logs per job in a folder the user sees
    assert list((tmp_path / "jobs" / "slurm-logs" / jobs.sweep_id).glob("*/*_log.err"))
    # a second launch finds nothing to do and submits nothing
    again, lines = run(tmp_path / "jobs", OPTS)
    assert again.job_ids == [] and again.ok and "-> 0 to run" in lines[1]


def test_an_always_failing_unit_is_reported_and_does_not_block_others(tmp_path, job_env):
    shelf = GrayShelf(broken=("imagenetv2-matched-frequency",))
    report, _ = run(tmp_path, OPTS, shelf=shelf)
    failed = report.status.of("failed")
    assert [(s.model, s.test_set) for s in failed] == [(m, "imagenetv2-matched-frequency") for m in MODELS]
    assert all("BadImageError" in s.error and "img00002" in s.error for s in failed)
    assert len(report.status.of("done")) == 4 and not report.ok
    assert "--only-failed" in report.describe()
    # the store alone tells the same later
    status = sweep_status(tmp_path)
    assert status.counts() == {"done": 4, "stale": 0, "failed": 2, "locked": 0, "running": 0, "queued": 0,
                               "partial": 0, "pending": 0}
    # resubmitting the failed units alone (after a "fix") runs just those two
    fixed, lines = run(tmp_path, OPTS, only_failed=True)
    assert sorted(fixed.submitted) == [(m, "imagenetv2-matched-frequency") for m in MODELS]
    assert fixed.ok and sweep_status(tmp_path).counts()["done"] == 6
