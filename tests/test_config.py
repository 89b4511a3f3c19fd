"""Config files (`--config FILE`): whatever the harness would not read is an error, not ignored."""

from __future__ import annotations

import json

import pytest

from robustness.config import ConfigError, load_executor_options
from robustness.errors import UserInputError


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_misspelt_section_is_refused_with_a_close_match(tmp_path):
    cfg = write(tmp_path, "sweep.toml", '[exector]\nexecutor = "slurm"\npartition = "gpu"\n')
    with pytest.raises(ConfigError) as err:
        load_executor_options(cfg)
    assert str(err.value) == (
        f"unknown section [exector] in config file {cfg} (did you mean [executor]?); known "
        "sections: [executor]. Fix the name or remove it: nothing in it would be used")
    assert isinstance(err.value, UserInputError)


def test_an_unrelated_section_lists_the_known_ones_without_a_guess(tmp_path):
    cfg = write(tmp_path, "sweep.toml", '[executor]\nexecutor = "slurm"\n\n[paths]\nout = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_executor_options(cfg)
    message = str(err.value)
    assert message.startswith(f"unknown section [paths] in config file {cfg}; known sections: [executor].")
    assert "did you mean" not in message


def test_unknown_top_level_keys_and_json_files_are_checked_too(tmp_path):
    cfg = write(tmp_path, "sweep.toml", 'verbose = true\n[executor]\nexecutor = "slurm"\n')
    with pytest.raises(ConfigError, match=r"^unknown top-level key 'verbose' in config file .*sweep\.toml;"):
        load_executor_options(cfg)
    js = write(tmp_path, "sweep.json", json.dumps({"executer": {"executor": "slurm"}}))
    with pytest.raises(ConfigError, match=r"unknown section \[executer\] .*sweep\.json \(did you mean \[executor\]\?\)"):
        load_executor_options(js)


def test_options_outside_their_section_are_pointed_at_it(tmp_path):
    loose = write(tmp_path, "loose.toml", 'partition = "gpu"\n')
    with pytest.raises(ConfigError) as err:
        load_executor_options(loose)
    assert str(err.value) == (f"config file {loose}: option 'partition' is outside any section; "
                              "put it below the line `[executor]`")
    scalar = write(tmp_path, "scalar.toml", 'executor = "slurm"\n')
    with pytest.raises(ConfigError, match=r"executor = 'slurm' must be a table of options.*`\[executor\]`"):
        load_executor_options(scalar)


def test_an_unknown_key_in_the_executor_section_gets_a_close_match(tmp_path):
    cfg = write(tmp_path, "sweep.toml", '[executor]\nexecutor = "slurm"\ngpu_per_job = 2\nzzz = 1\n')
    with pytest.raises(ConfigError) as err:
        load_executor_options(cfg)
    message = str(err.value)
    assert message.startswith("unknown option(s) 'gpu_per_job' (did you mean 'gpus_per_job'?), 'zzz' "
                              f"in [executor] of config file {cfg}; known: executor, partition, ")
    assert "'zzz' (did you mean" not in message


def test_a_valid_file_still_loads(tmp_path):
    cfg = write(tmp_path, "sweep.toml", '[executor]\nexecutor = "slurm"\nmem_gb = 64\ngpus_per_job = 0\n')
    opts = load_executor_options(cfg)
    assert (opts.executor, opts.mem_gb, opts.gpus_per_job) == ("slurm", 64, 0)
    assert load_executor_options(write(tmp_path, "empty.toml", "")).executor == "local"


@pytest.mark.parametrize("line, message", [
    ("mem_gb = 0", "mem_gb must be a number > 0, got 0"),
    ('cpus_per_job = "8"', "cpus_per_job must be a whole number >= 1, got '8'"),
    ("max_timeouts = -1", "max_timeouts must be a whole number >= 0, got -1"),
    ("timeout_min = 90.5", "timeout_min must be a whole number >= 1, got 90.5"),
])
def test_out_of_range_values_in_the_file_are_config_errors(tmp_path, line, message):
    cfg = write(tmp_path, "sweep.toml", f"[executor]\n{line}\n")
    with pytest.raises(ConfigError) as err:
        load_executor_options(cfg)
    assert str(err.value) == f"config file {cfg}: [executor] {message}; fix the value in the file"


def test_the_command_line_refuses_a_misspelt_section_with_exit_code_2(capsys, tmp_path):
    from robustness.cli import main

    cfg = write(tmp_path, "sweep.toml", '[exector]\nexecutor = "slurm"\n')
    code = main(["eval", "--config", str(cfg), "--models", "resnet18.a1_in1k", "--datasets",
                 "imagenet", "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"robustness: error: unknown section [exector] in config file {cfg}")
    assert "Traceback" not in captured.err and not (tmp_path / "out").exists()
