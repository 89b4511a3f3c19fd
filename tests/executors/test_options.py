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
    ({"executor": "pbs"}, "executor must be one of local, slurm, submitit-local, got 'pbs'"),
    ({"units_per_job": 0}, "units_per_job must be a whole number >= 1, got 0"),
    ({"gpus_per_job": -1}, "gpus_per_job must be a whole number >= 0, got -1"),
    ({"cpus_per_job": 0}, "cpus_per_job must be a whole number >= 1, got 0"),
    ({"cpus_per_job": 2.5}, "cpus_per_job must be a whole number >= 1, got 2.5"),
    ({"cpus_per_job": "8"}, "cpus_per_job must be a whole number >= 1, got '8'"),
    ({"gpus_per_job": True}, "gpus_per_job must be a whole number >= 0, got True"),
    ({"timeout_min": -5}, "timeout_min must be a whole number >= 1, got -5"),
    ({"array_parallelism": 0}, "array_parallelism must be a whole number >= 1, got 0"),
    ({"max_array_size": 0}, "max_array_size must be a whole number >= 1, got 0"),
    ({"max_timeouts": -1}, "max_timeouts must be a whole number >= 0, got -1"),
    ({"mem_gb": 0}, "mem_gb must be a number > 0, got 0"),
    ({"mem_gb": float("nan")}, "mem_gb must be a number > 0, got nan"),
    ({"poll_seconds": 0.0}, "poll_seconds must be a number > 0, got 0.0"),
])
def test_bad_options_are_named(bad, message):
    with pytest.raises(ValueError) as err:
        ExecutorOptions(**bad)
    assert str(err.value) == message


def test_the_smallest_allowed_values_are_accepted():
    opts = ExecutorOptions(gpus_per_job=0, cpus_per_job=1, mem_gb=0.5, timeout_min=1,
                           array_parallelism=1, units_per_job=1, max_array_size=1,
                           max_timeouts=0, poll_seconds=0.1)  # fmt: skip
    assert (opts.gpus_per_job, opts.max_timeouts, opts.mem_gb) == (0, 0, 0.5)
    assert ExecutorOptions(mem_gb=None).mem_gb is None  # the partition's default


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
    with pytest.raises(ConfigError, match=r"unknown option\(s\) 'partiton' \(did you mean "
                       r"'partition'\?\) in \[executor\] of config file .*bad.toml"):
        load_executor_options(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("[executor\n")
    with pytest.raises(ConfigError, match="cannot parse config file .*broken.toml"):
        load_executor_options(broken)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[executor]\nunits_per_job = 0\n")
    with pytest.raises(ConfigError) as err:
        load_executor_options(wrong)
    assert str(err.value) == (f"config file {wrong}: [executor] units_per_job must be a whole "
                              "number >= 1, got 0; fix the value in the file")


def test_command_line_flags_override_the_config_file(tmp_path):
    import argparse

    from robustness.cli.executor_args import add_executor_arguments, executor_options

    cfg = tmp_path / "c.toml"
    cfg.write_text('[executor]\nexecutor = "slurm"\ncpus_per_job = 4\nunits_per_job = 75\n')
    parser = argparse.ArgumentParser()
    add_executor_arguments(parser)
    args = parser.parse_args(["--config", str(cfg), "--units-per-job", "5", "--slurm-partition", "a100"])
    opts = executor_options(args)
    assert (opts.executor, opts.cpus_per_job, opts.units_per_job, opts.partition) == ("slurm", 4, 5, "a100")
    plain = executor_options(parser.parse_args([]))
    assert plain == ExecutorOptions()  # no file, no flags: the defaults (local executor)
    build = argparse.ArgumentParser()
    add_executor_arguments(build, build=True)
    assert build.parse_args(["--shards", "8", "--executor", "slurm"]).shards == 8


# Numeric flags are range-checked by argparse: the error names the flag and the range, exit 2.

EVAL = ["eval", "--models", "resnet18.a1_in1k", "--datasets", "imagenet"]


@pytest.mark.parametrize("flag, value, expected", [
    ("--batch-size", "0", "a whole number >= 1"),
    ("--batch-size", "-4", "a whole number >= 1"),
    ("--batch-size", "many", "a whole number >= 1"),
    ("--workers", "-1", "a whole number >= 0"),
    ("--checkpoint-every", "0", "a whole number >= 1"),
    ("--gpus-per-job", "-1", "a whole number >= 0"),
    ("--cpus-per-job", "0", "a whole number >= 1"),
    ("--mem-gb", "0", "a number > 0"),
    ("--mem-gb", "-2.5", "a number > 0"),
    ("--timeout-min", "0", "a whole number >= 1"),
    ("--array-parallelism", "0", "a whole number >= 1"),
    ("--units-per-job", "0", "a whole number >= 1"),
])
def test_out_of_range_numeric_flags_exit_2_naming_the_flag(capsys, flag, value, expected):
    from robustness.cli import main

    with pytest.raises(SystemExit) as exit_:
        main([*EVAL, flag, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"robustness eval: error: argument {flag}: expected {expected}, got '{value}'" in err


def test_the_smallest_allowed_flag_values_parse():
    from robustness.cli import build_parser

    args = build_parser().parse_args([*EVAL, "--batch-size", "1", "--workers", "0",
                                      "--checkpoint-every", "1", "--gpus-per-job", "0",
                                      "--mem-gb", "0.5", "--units-per-job", "1"])  # fmt: skip
    assert (args.batch_size, args.workers, args.checkpoint_every) == (1, 0, 1)
    assert (args.gpus_per_job, args.mem_gb, args.units_per_job) == (0, 0.5, 1)
    assert build_parser().parse_args(EVAL).batch_size == 64  # defaults untouched


def test_build_shards_flag_is_range_checked(capsys, tmp_path):
    from robustness.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["build", str(tmp_path), str(tmp_path / "out"), "--executor", "slurm", "--shards", "0"])
    assert exit_.value.code == 2
    assert "argument --shards: expected a whole number >= 1, got '0'" in capsys.readouterr().err


def test_an_out_of_range_config_value_exits_2_naming_the_file_and_key(capsys, tmp_path):
    from robustness.cli import main

    cfg = tmp_path / "sweep.toml"
    cfg.write_text('[executor]\nexecutor = "slurm"\ncpus_per_job = 0\n')
    assert main([*EVAL, "--config", str(cfg), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"robustness: error: config file {cfg}: [executor] cpus_per_job must be a "
                   "whole number >= 1, got 0; fix the value in the file")
    assert not (tmp_path / "out").exists()
