# The Slurm tests' Hub (tests/integration/test_slurm.py), loaded after jupyterhub_config.py: apps run as
# jobs of a real one-node Slurm cluster (tests/integration/slurm_cluster.py) through batchspawner's
# SlurmSpawner wrapped by hubapps.install, as docs/hpc.md describes. Besides the shared settings:
#
#   SLURM_CONF   the test cluster's slurm.conf (set in the Hub's environment by the test's fixture)
#
# What differs from a real cluster, and why:
# - The test users have no Unix accounts, so jobs are submitted as the Hub's own user (exec_prefix
#   empty instead of `sudo -E -u {username}`) and their homes are folders of the test run (batchspawner
#   reads a user's home and shell from the password database).
# - The job runs on this machine: the proxy runs with the test virtualenv's Python (on a cluster, the
#   Python of a shared environment that has hubapps), and the job keeps the Hub's PATH.

import os
import sys
from pathlib import Path
from typing import Any

import batchspawner
from traitlets import default

from hubapps.hub.spawner import make_spawner_class

c = get_config()  # type: ignore[name-defined]  # noqa: F821

home_root = Path(os.environ["HUBAPPS_TEST_DIR"]) / "home"


class TestSlurmSpawner(batchspawner.SlurmSpawner):  # type: ignore[misc]
    """batchspawner's SlurmSpawner for users without a Unix account: their home is a folder of the run."""

    @default("req_homedir")
    def _req_homedir_default(self) -> str:
        return str(home_root / self.user.name)

    def user_env(self, env: dict[str, Any]) -> dict[str, Any]:
        env["USER"] = self.user.name
        env["HOME"] = self.req_homedir
        return env


# What hubapps.install(c, spawner_class=TestSlurmSpawner) does to the class; install() itself ran in the
# shared configuration (this file is a subconfig: install() here would see none of that file's settings).
c.JupyterHub.spawner_class = make_spawner_class(TestSlurmSpawner)

# The recipe of docs/hpc.md: the batch shell execs the proxy (no srun step holding the Hub token).
c.SlurmSpawner.req_srun = ""
# Jobs are submitted (and queried, cancelled) as the Hub's own user.
c.SlurmSpawner.exec_prefix = ""
c.SlurmSpawner.req_runtime = "00:30:00"
c.SlurmSpawner.startup_poll_interval = 0.3
c.HubApps.proxy_command = [sys.executable, "-I", "-m", "hubapps.proxy"]
# sbatch gets the spawner's environment, not the Hub's: it needs SLURM_CONF to find the cluster.
c.Spawner.env_keep = ["JUPYTERHUB_SINGLEUSER_APP", "PATH", "SLURM_CONF"]
# A job that ends on its own is seen within a second or two.
c.Spawner.poll_interval = 1
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.HubApps.proxy_limits = {"failure-linger": 1, "max-restarts": 0}
