"""Executor options: submitit parameters, config files, clear errors."""

from __future__ import annotations

import json

import pytest

from robustness.config import ConfigError, load_executor_options
from robustness.executors import ExecutorOptions
from robustness.executors.options import submitit_parameters


def test_slurm_options_map_to_submitit_parameters():
    opts = ExecutorOptions(executor="slurm", partition="gpu", gpus_per_job=2, cpus_per_job=16,
                           mem_gb=64, timeout_min=90, array_parallelism=8,
                           slurm_extra={"account": "lab", "slurm_qos": "high"})
    assert submitit_parameters(opts) == {
        "name": "robustness", "timeout_min": 90, "cpus_per_task": 16, "tasks_per_node": 1,
        "nodes": 1, "gpus_per_node": 2, "mem_gb": 64, "slurm_array_parallelism": 8,
        "slurm_partition": "gpu", "slurm_account": "lab", "slurm_qos": "high",
    }
    cpu_only = submitit_parameters(ExecutorOptions(executor="slurm", gpus_per_job=0))
    assert "gpus_per_node" not in cpu_only and "slurm_partition" not in cpu_only


def test_the_sbatch_script_carries_the_options(tmp_path):
    import submitit

    from robustness.executors.options import make_executor

    opts = ExecutorOptions(executor="slurm", partition="debug", gpus_per_job=1, cpus_per_job=3,
                           timeout_min=17, array_parallelism=5, max_timeouts=7)
    executor = make_executor(opts, tmp_path)
    assert executor._executor.max_num_timeout == 7
    script = executor._executor._make_submission_file_text("echo", "x")  # what sbatch would get
    for line in ("--partition=debug", "--cpus-per-task=3", "--gpus-per-node=1", "--time=17"):
        assert line in script
    assert isinstance(executor, submitit.AutoExecutor)


@pytest.mark.parametrize("bad, message", [
    ({"executor": "pbs"}, "executor must be one of"),
    ({"units_per_job": 0}, "units_per_job must be at least 1"),
    ({"gpus_per_job": -1}, "gpus_per_job must be 0 or more"),
])
def test_bad_options_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        ExecutorOptions(**bad)


def test_config_file_then_command_line_overrides(tmp_path):
    toml = tmp_path / "sweep.toml"
    toml.write_text('[executor]\nexecutor = "slurm"\npartition = "gpu"\nunits_per_job = 75\n'
                    'slurm_extra = { account = "lab" }\n')
    opts = load_executor_options(toml, partition="a100", units_per_job=None)
    assert (opts.executor, opts.partition, opts.units_per_job) == ("slurm", "a100", 75)
    assert opts.slurm_extra == {"account": "lab"}
    js = tmp_path / "sweep.json"
    js.write_text(json.dumps({"executor": {"cpus_per_job": 4}}))
    assert load_executor_options(js).cpus_per_job == 4


def test_config_errors_name_the_file_and_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_executor_options(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[executor]\npartiton = "gpu"\n')
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['partiton'\].*bad.toml"):
        load_executor_options(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("[executor\n")
    with pytest.raises(ConfigError, match="cannot parse config file .*broken.toml"):
        load_executor_options(broken)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[executor]\nunits_per_job = 0\n")
    with pytest.raises(ConfigError, match="units_per_job must be at least 1"):
        load_executor_options(wrong)


def test_command_line_flags_override_the_config_file(tmp_path):
    import argparse

    from robustness.executors.cli_args import add_executor_arguments, options_from_args

    cfg = tmp_path / "c.toml"
    cfg.write_text('[executor]\nexecutor = "slurm"\ncpus_per_job = 4\nunits_per_job = 75\n')
    parser = argparse.ArgumentParser()
    add_executor_arguments(parser)
    args = parser.parse_args(["--config", str(cfg), "--units-per-job", "5", "--slurm-partition", "a100"])
    opts = options_from_args(args)
    assert (opts.executor, opts.cpus_per_job, opts.units_per_job, opts.partition) == ("slurm", 4, 5, "a100")
    plain = options_from_args(parser.parse_args([]))
    assert plain == ExecutorOptions()  # no file, no flags: the defaults (local executor)
    build = argparse.ArgumentParser()
    add_executor_arguments(build, build=True)
    assert build.parse_args(["--shards", "8", "--executor", "slurm"]).shards == 8
