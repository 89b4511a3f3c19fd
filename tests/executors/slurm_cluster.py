"""A private single-node Slurm cluster for the tests: munged + slurmctld + slurmd on localhost.

Everything lives under one folder (config, munge key and socket, state, logs); the
daemons listen on free ports, so the cluster does not touch a system Slurm. Tools
(sbatch, squeue, scancel, sinfo) find it through the ``SLURM_CONF`` environment
variable, which :meth:`LocalSlurm.env` returns.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")


class SlurmUnavailable(RuntimeError):
    """No Slurm could be started here (missing programs, or the daemons did not come up)."""


def missing_programs() -> list[str]:
    return [p for p in DAEMONS if shutil.which(p) is None and not Path("/usr/sbin", p).exists()]


def _program(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    return str(Path("/usr/sbin", name))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_conf_text(root: Path, cpus: int, memory_mb: int, ports: tuple[int, int]) -> str:
    """A minimal slurm.conf: one node ``localhost``, one partition ``debug``, no accounting."""
    return "\n".join(
        [
            "ClusterName=harness-test",
            "SlurmctldHost=localhost",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"SlurmctldPort={ports[0]}",
            f"SlurmdPort={ports[1]}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            # cred_expire also delays a requeued job's start (default 120 s): keep requeues short
            f"AuthInfo=socket={root}/munge/munge.socket,cred_expire=10",
            f"StateSaveLocation={root}/state",
            f"SlurmdSpoolDir={root}/spool/slurmd-%n",
            f"SlurmctldPidFile={root}/run/slurmctld.pid",
            f"SlurmdPidFile={root}/run/slurmd-%n.pid",
            f"SlurmctldLogFile={root}/log/slurmctld.log",
            f"SlurmdLogFile={root}/log/slurmd.log",
            f"PlugStackConfig={root}/plugstack.conf",
            "ProctrackType=proctrack/pgid",  # linuxproc let SIGTERM-ignoring tasks outlive scancel here
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "SwitchType=switch/none",
            "SchedulerType=sched/builtin",
            "SchedulerParameters=sched_interval=2",  # start requeued jobs within seconds
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "ReturnToService=2",
            "SlurmctldTimeout=30",
            "SlurmdTimeout=30",
            "InactiveLimit=0",
            "MinJobAge=600",
            "KillWait=2",
            "Waittime=0",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            f"NodeName=localhost NodeHostname=localhost CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
            "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


@dataclass
class LocalSlurm:
    """Start with :meth:`start`, always :meth:`stop` (it kills only the daemons it started)."""

    root: Path
    cpus: int = 2
    memory_mb: int = 2000
    processes: dict[str, int] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([_program(args[0]), *args[1:]], env=self.env(), capture_output=True,
                              text=True, check=check, timeout=timeout)

    def start(self, timeout: float = 60) -> None:
        missing = missing_programs()
        if missing:
            raise SlurmUnavailable(f"programs not found: {', '.join(missing)} (run `make system-deps`)")
        for sub in ("munge", "state", "spool", "run", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "munge", 0o700)
        (self.root / "plugstack.conf").write_text("")
        self.conf.write_text(slurm_conf_text(self.root, self.cpus, self.memory_mb,
                                             (_free_port(), _free_port())))
        key = self.root / "munge" / "munge.key"
        subprocess.run([_program("mungekey"), "--create", f"--keyfile={key}", "--force"],
                       check=True, capture_output=True, timeout=30)
        os.chmod(key, 0o600)
        self._spawn("munged", [_program("munged"), "--foreground", "--force",
                               f"--key-file={key}", f"--socket={self.root}/munge/munge.socket",
                               f"--pid-file={self.root}/run/munged.pid",
                               f"--log-file={self.root}/log/munged.log",
                               f"--seed-file={self.root}/munge/munged.seed"])
        self._wait_for(lambda: (self.root / "munge" / "munge.socket").exists(), 10, "munged socket")
        self._spawn("slurmctld", [_program("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._wait_for(lambda: self.run("sinfo", "-h", check=False).returncode == 0, timeout,
                       "slurmctld answering sinfo")
        self._spawn("slurmd", [_program("slurmd"), "-D", "-N", "localhost", "-f", str(self.conf)])
        self._wait_for(self._node_idle, timeout, "node localhost idle in sinfo")

    def _node_idle(self) -> bool:
        out = self.run("sinfo", "-h", "-N", "-o", "%N %t", check=False).stdout
        return "localhost idle" in out

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.stdout", "wb")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env(),
                                start_new_session=True)
        self.processes[name] = proc.pid

    def _wait_for(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.5)
        raise SlurmUnavailable(f"timed out after {timeout:.0f} s waiting for {what}; "
                               f"logs in {self.root / 'log'}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        out = []
        for path in sorted((self.root / "log").glob("*")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    def stop(self) -> None:
        """Cancel every job, then stop slurmd, slurmctld and munged (in that order)."""
        if "slurmctld" in self.processes:
            self.run("scancel", "--user=root", check=False)
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self.processes.pop(name, None)
            if pid is None:
                continue
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    if os.waitpid(pid, os.WNOHANG)[0] == pid:
                        break
                except ChildProcessError:
                    break
                time.sleep(0.2)
            else:
                try:
                    os.killpg(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
