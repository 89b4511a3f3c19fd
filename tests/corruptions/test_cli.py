"""The generator's two command lines: ``python -m corruptions build|list`` builds here; the
cluster build is ``robustness build ... --executor slurm`` (issue 11, item 2).

``python -m corruptions`` needs nothing from ``robustness``: given an executor flag, it says in
one line where the cluster build went and writes nothing. ``robustness build`` takes the same
build flags plus the executor flags, builds here without ``--executor`` (the same files as
``python -m corruptions build``) and splits the images over array tasks with one (checked with
submitit's local executor: real subprocesses, no Slurm).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from test_builder import all_files, cheap_corruptions, make_source

from corruptions import registry
from corruptions.cli import CLUSTER_FLAGS, CLUSTER_SWITCHES
from corruptions.cli import main as corruptions_main


def images(root: Path) -> dict[str, bytes]:
    return {k: v for k, v in all_files(root).items() if not k.startswith("manifest")}


def build_args(src: Path, out: Path) -> list[str]:
    return ["build", str(src), str(out), "--corruptions", cheap_corruptions(1)[0],
            "--severities", "1,3", "--seed", "4", "--no-progress"]  # fmt: skip


def one_error_line(capsys, prog: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_list_prints_every_corruption_with_its_family(capsys):
    assert corruptions_main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(registry())
    assert any(line.split()[:2] == ["frost", "weather"] for line in lines)
    assert any(line.startswith("saturate") and line.endswith("(held-out)") for line in lines)


@pytest.mark.parametrize("extra", [
    ["--executor", "slurm"],
    ["--executor", "submitit-local"],
    ["--shards", "4"],
    ["--no-wait"],
    ["--config", "sweep.toml"],
    ["--slurm-partition", "gpu"],
])  # fmt: skip
def test_cluster_flags_say_in_one_line_to_use_robustness_build(tmp_path, capsys, extra):
    src = make_source(tmp_path, n_classes=1, per_class=1)
    out = tmp_path / "out"
    assert corruptions_main([*build_args(src, out), *extra]) == 2
    line = one_error_line(capsys, "python -m corruptions")
    assert "robustness build SRC OUT ... --executor slurm" in line
    assert not out.exists()


def test_executor_local_still_builds_here(tmp_path, capsys):
    src = make_source(tmp_path, n_classes=1, per_class=2)
    assert corruptions_main([*build_args(src, tmp_path / "out"), "--executor", "local"]) == 0
    assert len(images(tmp_path / "out")) == 2 * 2
    assert "4 files written" in capsys.readouterr().out


def test_the_refused_flags_are_exactly_the_harness_build_flags():
    from robustness.cli.executor_args import add_executor_arguments

    parser = argparse.ArgumentParser()
    add_executor_arguments(parser, build=True)
    harness = {s for a in parser._actions for s in a.option_strings if s.startswith("--")} - {"--help"}
    assert harness == set(CLUSTER_FLAGS) | set(CLUSTER_SWITCHES)


def test_robustness_build_here_writes_the_files_of_python_m_corruptions_build(tmp_path, capsys):
    from robustness.cli import main as robustness_main

    src = make_source(tmp_path, n_classes=2, per_class=2)
    assert corruptions_main(build_args(src, tmp_path / "a")) == 0
    assert robustness_main(build_args(src, tmp_path / "b")) == 0
    assert "8 files written" in capsys.readouterr().out
    assert images(tmp_path / "a") == images(tmp_path / "b") and len(images(tmp_path / "b")) == 8


def test_robustness_build_on_array_tasks_equals_one_local_run(tmp_path, capsys):
    from robustness.cli import main as robustness_main

    src = make_source(tmp_path, n_classes=2, per_class=2)
    cfg = tmp_path / "sweep.toml"
    cfg.write_text('[executor]\nexecutor = "submitit-local"\npoll_seconds = 0.2\n')
    assert corruptions_main(build_args(src, tmp_path / "local")) == 0
    code = robustness_main([*build_args(src, tmp_path / "jobs"), "--config", str(cfg),
                            "--shards", "2", "--gpus-per-job", "0", "--cpus-per-job", "1",
                            "--timeout-min", "5"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 of 2 shard(s) finished: 8 files written" in out
    assert images(tmp_path / "jobs") == images(tmp_path / "local")
    assert sorted(p.name for p in (tmp_path / "jobs").glob("manifest*.json")) == [
        "manifest-shard-0-of-2.json", "manifest-shard-1-of-2.json"]
    assert list((tmp_path / "jobs-slurm-logs").glob("build-*"))  # logs beside OUT, not in it


def test_robustness_build_user_errors_are_one_line_and_submit_nothing(tmp_path, capsys):
    from robustness.cli import main as robustness_main

    src = make_source(tmp_path, n_classes=1, per_class=1)
    out = tmp_path / "out"
    assert robustness_main([*build_args(src, out), "--executor", "slurm", "--shard", "0/2"]) == 2
    assert "--shard is for one task; with --executor slurm use --shards N" in one_error_line(
        capsys, "robustness")
    bad = tmp_path / "bad.toml"
    bad.write_text('[executor]\nexecutor = "slurm"\ncpus_per_job = 0\n')
    assert robustness_main([*build_args(src, out), "--config", str(bad)]) == 2
    assert f"config file {bad}" in one_error_line(capsys, "robustness")
    assert robustness_main(build_args(tmp_path / "missing", out)) == 2  # the builder's own check
    assert "does not exist" in one_error_line(capsys, "robustness")
    assert not out.exists()
