"""Fixtures for the executor tests: job-importable fakes, and a private single-node Slurm.

The Slurm cluster is started once per test run (session scope) and always torn
down. Where it cannot start, Slurm tests skip with the reason -- except when
the ``CI`` environment variable is set, where they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from slurm_cluster import LocalSlurm

HERE = Path(__file__).resolve().parent


@pytest.fixture
def job_env(monkeypatch):
    """Jobs (submitit subprocesses, Slurm jobs) import ``fakes`` and ``fakes_jobs`` like the tests."""
    paths = [str(HERE), str(HERE.parent)]
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths + ([old] if old else [])))


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"), cpus=2)
    try:
        cluster.start()
    except Exception as exc:  # any start failure (SlurmUnavailable, OSError, ...) means no Slurm
        cluster.stop()
        reason = f"no single-node Slurm could be started: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set, so this fails instead of skipping)")
        pytest.skip(reason)
    yield cluster
    cluster.stop()


@pytest.fixture
def slurm(slurm_cluster, monkeypatch, job_env):
    """The running cluster, with ``SLURM_CONF`` set for sbatch/squeue/scancel in this test."""
    monkeypatch.setenv("SLURM_CONF", str(slurm_cluster.conf))
    yield slurm_cluster
    slurm_cluster.run("scancel", "--user=root", check=False)
