"""Unit states from the store and the sweep ledger; the job code run in-process (idempotence)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from fakes_jobs import CONFIG, GrayShelf, GrayZoo

from robustness.engine import evaluate_unit, run_evaluation
from robustness.executors import WorkPack, sweep_status, unit_states
from robustness.executors.jobs import EvalPack, EvalRequest, job_config, pack_report_path
from robustness.executors.options import ExecutorOptions
from robustness.executors.state import store_state
from robustness.executors.sweep import expected_precision
from robustness.store import Store, atomic_write_json


def _evaluate(out, model, test_set, config=CONFIG):
    return evaluate_unit(GrayZoo()(model), GrayShelf()(test_set), Store(out), config)


def test_store_states_done_failed_partial_pending(tmp_path):
    store = Store(tmp_path)
    _evaluate(tmp_path, "gray.a", "imagenet")
    run_evaluation(["gray.a"], ["imagenet-r"], tmp_path, config=CONFIG, load_model=GrayZoo(),
                   open_test_set=GrayShelf(broken=("imagenet-r",)))  # records the unit's error.json
    # a unit interrupted after its first checkpoint: spec + one part, no meta
    unit = store.unit("gray.b", "imagenet", "f" * 64)
    atomic_write_json(unit.root / "spec.json", {"model": {"name": "gray.b"}, "test_set": {"name": "imagenet"},
                                                "precision": "fp32", "save_logits": False})
    unit.write_part(0, {"index": np.arange(4)})

    got = {(m, s): store_state(store, m, s, "fp32", False) for m, s in [
        ("gray.a", "imagenet"), ("gray.a", "imagenet-r"), ("gray.b", "imagenet"), ("gray.b", "imagenet-r")]}
    assert {k: v.state for k, v in got.items()} == {
        ("gray.a", "imagenet"): "done", ("gray.a", "imagenet-r"): "failed",
        ("gray.b", "imagenet"): "partial", ("gray.b", "imagenet-r"): "pending"}
    assert "BadImageError" in got[("gray.a", "imagenet-r")].error
    # a unit finished at another precision or with logits is not what this run asks for
    assert store_state(store, "gray.a", "imagenet", "fp16", False).state == "pending"
    assert store_state(store, "gray.a", "imagenet", "fp32", True).state == "pending"


def test_the_ledger_adds_running_and_job_reported_failures(tmp_path):
    _evaluate(tmp_path, "gray.a", "imagenet")
    sweep = tmp_path / "sweeps" / "s1"
    atomic_write_json(sweep / "plan.json", {
        "sweep_id": "s1", "precision": "fp32", "save_logits": False,
        "units": [["gray.a", "imagenet"], ["gray.a", "objectnet"], ["gray.b", "imagenet"],
                  ["gray.c", "imagenet"]],
        "packs": [{"index": 0, "model": "gray.a", "test_sets": ["imagenet", "objectnet"], "job_id": "7_0"},
                  {"index": 1, "model": "gray.b", "test_sets": ["imagenet"], "job_id": "7_1"},
                  {"index": 2, "model": "gray.c", "test_sets": ["imagenet"], "job_id": "7_2"}]})
    # job 7_0 finished and reports objectnet's folder as missing (no unit folder in the store);
    # job 7_1 started and never finished (running, or killed); job 7_2 never started
    atomic_write_json(pack_report_path(sweep, 0), {"state": "finished", "job_id": "7_0", "results": [
        {"model": "gray.a", "test_set": "objectnet", "status": "failed", "error": "LayoutError: no folder"}]})
    atomic_write_json(pack_report_path(sweep, 1), {"state": "running", "job_id": "7_1"})
    status = sweep_status(tmp_path)
    states = {(s.model, s.test_set): s for s in status.states}
    assert states[("gray.a", "imagenet")].state == "done"
    assert states[("gray.a", "objectnet")].state == "failed"
    assert states[("gray.a", "objectnet")].error == "LayoutError: no folder"
    assert (states[("gray.b", "imagenet")].state, states[("gray.b", "imagenet")].job_id) == ("running", "7_1")
    assert (states[("gray.c", "imagenet")].state, states[("gray.c", "imagenet")].job_id) == ("queued", "7_2")
    assert status.counts() == {"done": 1, "stale": 0, "failed": 1, "locked": 0, "running": 1, "queued": 1,
                               "partial": 0, "pending": 0}
    text = status.describe()
    assert "FAILED gray.a on objectnet (job 7_0): LayoutError" in text and "job 7_1" in text
    assert "job 7_2" in text


def test_a_pack_run_twice_gives_one_result_per_unit(tmp_path):
    request = EvalRequest(out=str(tmp_path), config=CONFIG, load_model=GrayZoo(), open_test_set=GrayShelf())
    pack = EvalPack(WorkPack(0, "gray.b", ("imagenet", "imagenet-r")), request, tmp_path / "sweeps" / "s")
    first = pack()
    assert [r["status"] for r in first["results"]] == ["done", "done"]
    records = sorted(tmp_path.glob("units/*/*/*/predictions.parquet"))
    assert len(records) == 2
    stamps = [p.stat().st_mtime_ns for p in records]
    # what a requeue runs: submitit's checkpoint() resubmits the same callable
    again = pack.checkpoint().function()
    assert [r["status"] for r in again["results"]] == ["cached", "cached"]
    assert sorted(tmp_path.glob("units/*/*/*/predictions.parquet")) == records
    assert [p.stat().st_mtime_ns for p in records] == stamps
    assert unit_states(tmp_path, [("gray.b", "imagenet"), ("gray.b", "imagenet-r")], "fp32", False)[0].state == "done"


def test_job_settings_follow_the_job_resources():
    assert job_config(replace(CONFIG, workers=8), cpus_per_job=4).workers == 3
    assert job_config(replace(CONFIG, workers=2), cpus_per_job=1).workers == 0
    auto = replace(CONFIG, precision="auto", device="auto")
    assert expected_precision(auto, ExecutorOptions(executor="slurm", gpus_per_job=1)) == "fp16"
    assert expected_precision(auto, ExecutorOptions(executor="slurm", gpus_per_job=0)) == "fp32"
    assert expected_precision(replace(auto, precision="bf16"), ExecutorOptions(executor="slurm")) == "bf16"


def test_a_model_that_cannot_load_fails_its_units_in_the_ledger(tmp_path):
    sweep = tmp_path / "sweeps" / "s2"
    pack = WorkPack(0, "gray.missing", ("imagenet", "imagenet-r"))
    atomic_write_json(sweep / "plan.json", {
        "sweep_id": "s2", "precision": "fp32", "save_logits": False, "units": [list(u) for u in pack.units],
        "packs": [{"index": 0, "model": pack.model, "test_sets": list(pack.test_sets), "job_id": "9"}]})
    request = EvalRequest(out=str(tmp_path), config=CONFIG, load_model=GrayZoo(), open_test_set=GrayShelf())
    report = EvalPack(pack, request, sweep)()
    assert "unknown test model 'gray.missing'" in report["model_error"]
    states = sweep_status(tmp_path).states
    assert [(s.test_set, s.state) for s in states] == [("imagenet", "failed"), ("imagenet-r", "failed")]
    assert all("gray.missing" in s.error for s in states)


def test_local_executor_resubmits_only_the_failed_units(tmp_path):
    from robustness.executors import submit_evaluation

    local = ExecutorOptions(executor="local")
    sets = ["imagenet", "imagenet-r"]
    kw = dict(config=CONFIG, options=local, load_model=GrayZoo(), echo=lambda s: None)
    first = submit_evaluation(["gray.a", "gray.b"], sets, tmp_path,
                              open_test_set=GrayShelf(broken=("imagenet-r",)), **kw)
    assert [(s.model, s.test_set) for s in first.status.of("failed")] == [
        ("gray.a", "imagenet-r"), ("gray.b", "imagenet-r")]
    done_stamp = next(tmp_path.glob("units/gray.a/imagenet/*/meta.json")).stat().st_mtime_ns
    second = submit_evaluation(["gray.a", "gray.b"], sets, tmp_path, open_test_set=GrayShelf(),
                               only_failed=True, **kw)
    assert second.submitted == [("gray.a", "imagenet-r"), ("gray.b", "imagenet-r")] and second.ok
    assert next(tmp_path.glob("units/gray.a/imagenet/*/meta.json")).stat().st_mtime_ns == done_stamp
