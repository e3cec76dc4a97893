"""A one-node Slurm cluster on loopback for the tests: ``munged``, ``slurmctld`` and ``slurmd``.

Debian's ``slurm-wlm`` and ``munge`` packages (``make system-deps``), run by hand the way their systemd
units would, but in the foreground and in a folder of the test's own: a new munge key, a ``slurm.conf``
written here, state and spool folders, pid and log files. Nothing under ``/etc`` or ``/var`` is used,
so the cluster of one test run cannot meet another's. The machine has no systemd and no cgroup
delegation, so processes are tracked by ``proctrack/linuxproc`` and tasks are not confined
(``task/none``); jobs run as the user who submits them.

Client commands (``sbatch``, ``squeue``, ``scancel``) find the cluster through ``SLURM_CONF``:
:meth:`SlurmCluster.env` is what to add to a process's environment.

Run ``python tests/integration/slurm_cluster.py DIR`` to start one by hand (Ctrl-C stops it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["SLURM_PROGRAMS", "SlurmCluster", "SlurmError"]

#: The programs the cluster needs (Debian: ``apt-get install slurm-wlm munge``).
SLURM_PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")
#: Seconds to wait for each daemon, and for the node to be idle.
START_TIMEOUT = 30.0
#: Seconds each daemon gets to stop on SIGTERM before it is killed.
STOP_TIMEOUT = 10.0


class SlurmError(RuntimeError):
    """The cluster could not start (the message includes the daemons' logs)."""


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _memory_mb() -> int:
    """The machine's memory in MB, as slurmd counts it (``RealMemory`` may not be more)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 1024


class SlurmCluster:
    """A running one-node cluster in ``root``; :meth:`start` it, :meth:`stop` it."""

    def __init__(self, root: Path, *, cpus: int = 2) -> None:
        self.root = root
        self.cpus = cpus
        self.node = socket.gethostname().split(".")[0]
        self.ctld_port, self.slurmd_port = _free_ports(2)
        self.conf = root / "slurm.conf"
        self.munge_socket = root / "munge" / "munge.socket"
        self._processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def env(self) -> dict[str, str]:
        """What client commands (``sbatch``, ``squeue``...) need in their environment to reach the cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def log(self, name: str) -> Path:
        return self.root / "log" / f"{name}.log"

    def logs(self, lines: int = 30) -> str:
        parts = []
        for name in ("munged", "slurmctld", "slurmd"):
            try:
                text = self.log(name).read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                text = ["(no log)"]
            parts.append(f"--- {name} ---\n" + "\n".join(text))
        return "\n".join(parts)

    def write_config(self) -> None:
        root = self.root
        for sub in ("munge", "log", "ctld", "spool", "run"):
            (root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        key = root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self.conf.write_text(
            f"""\
# Written by tests/integration/slurm_cluster.py: one node, on loopback, for one test run.
ClusterName=hubapps-test
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={self.ctld_port}
SlurmdPort={self.slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={root / "ctld"}
SlurmdSpoolDir={root / "spool"}
SlurmctldPidFile={root / "run" / "slurmctld.pid"}
SlurmdPidFile={root / "run" / "slurmd.pid"}
SlurmctldLogFile={self.log("slurmctld")}
SlurmdLogFile={self.log("slurmd")}
# No systemd, no cgroup delegation here: track processes by their parent links, confine nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
# Finished jobs leave squeue at once; the daemons answer and give up quickly.
MinJobAge=2
MessageTimeout=5
KillWait=5
SlurmdTimeout=30
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={_memory_mb() // 2} State=UNKNOWN
PartitionName=apps Nodes={self.node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
"""
        )

    def _spawn(self, name: str, argv: list[str]) -> None:
        with self.log(name + ".out").open("ab") as out:
            process = subprocess.Popen(
                argv,
                cwd=self.root,
                env={**os.environ, **self.env()},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._processes.append((name, process))

    def _wait(self, what: str, check: object) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for name, process in self._processes:
                if process.poll() is not None:
                    output = self.log(name + ".out").read_text(errors="replace")[-2000:]
                    raise SlurmError(f"{name} exited with {process.returncode}:\n{output}\n{self.logs()}")
            if callable(check) and check():
                return
            time.sleep(0.2)
        raise SlurmError(f"{what} within {START_TIMEOUT:g} s\n{self.logs()}")

    def run(self, *argv: str, timeout: float = 15.0) -> subprocess.CompletedProcess[str]:
        """Run a Slurm client command against this cluster."""
        return subprocess.run(
            argv, env={**os.environ, **self.env()}, capture_output=True, text=True, timeout=timeout, check=False
        )

    def _node_state(self) -> str:
        result = self.run("sinfo", "-h", "-N", "-o", "%T")
        return result.stdout.strip() if result.returncode == 0 else ""

    def start(self) -> None:
        missing = [
            name for name in SLURM_PROGRAMS if shutil.which(name) is None and not Path("/usr/sbin", name).exists()
        ]
        if missing:
            raise SlurmError(f"missing {', '.join(missing)}: apt-get install slurm-wlm munge")
        self.write_config()
        munge = self.root / "munge"
        self._spawn(
            "munged",
            [
                _sbin("munged"),
                "--foreground",
                "--force",
                f"--socket={self.munge_socket}",
                f"--key-file={munge / 'munge.key'}",
                f"--pid-file={munge / 'munged.pid'}",
                f"--seed-file={munge / 'munged.seed'}",
                f"--log-file={self.log('munged')}",
            ],
        )
        self._wait("munged did not open its socket", self.munge_socket.exists)
        self._spawn("slurmctld", [_sbin("slurmctld"), "-D", "-c", "-f", str(self.conf)])
        self._wait("slurmctld did not answer", lambda: self.run("sinfo", "-h").returncode == 0)
        self._spawn("slurmd", [_sbin("slurmd"), "-D", "-f", str(self.conf), "-N", self.node])
        self._wait(f"node {self.node} did not become idle", lambda: self._node_state() == "idle")

    def stop(self) -> None:
        """SIGTERM each daemon (slurmd first), SIGKILL whatever is left after :data:`STOP_TIMEOUT`."""
        for _name, process in reversed(self._processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._processes.clear()


def _sbin(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops the daemons too
    cluster = SlurmCluster(Path(sys.argv[1]).resolve())
    try:
        cluster.start()
        print(f"export SLURM_CONF={cluster.conf}", flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
