"""The spawner mixin on batchspawner's SlurmSpawner: the job script it submits (nothing is run: the batch
commands are recorded). The real cluster is in ``tests/integration/test_slurm.py``."""

from __future__ import annotations

import shlex
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from batchspawner import SlurmSpawner
from traitlets.config import Config

import hubapps
from hubapps.hub.batch import BatchSpawnerAppsMixin, is_batch_spawner
from hubapps.hub.spawner import HubAppsSpawnerMixin, make_spawner_class


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """install() keeps its status key file in the folder the Hub runs in."""
    monkeypatch.chdir(tmp_path)


class RecordingSlurmSpawner(SlurmSpawner):  # type: ignore[misc]
    """batchspawner's SlurmSpawner with a fake user and server; its batch commands are recorded, and
    ``squeue`` says the job runs on ``node7``."""

    test_name = "sales"
    mock_port = 40001  # batchspawner's own hook for tests: the port the server would have reported

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands: list[tuple[str, str | None]] = []
        self._server = SimpleNamespace(base_url=f"/user/ann/{self.test_name}/", port=0)

    @property
    def name(self) -> str:
        return self.test_name

    @property
    def server(self) -> SimpleNamespace:
        return self._server

    @property
    def _log_name(self) -> str:
        return f"ann:{self.test_name}"

    def get_env(self) -> dict[str, str]:
        return {"JUPYTERHUB_API_TOKEN": "hub-token-secret", "JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:0/"}

    async def run_command(self, cmd: str, input: str | None = None, env: Any = None) -> str:
        self.commands.append((cmd.strip(), input))
        return "4242" if "sbatch" in cmd else "RUNNING node7"

    @property
    def script(self) -> str:
        scripts = [script for _cmd, script in self.commands if script]
        assert len(scripts) == 1, self.commands
        return scripts[0]


def make(options: Any, **slurm: Any) -> Any:
    c = Config()
    c.Spawner.args = ["--allow-root"]
    c.SlurmSpawner.exec_prefix = ""
    for name, value in slurm.items():
        c.SlurmSpawner[name] = value
    hubapps.install(c, spawner_class=RecordingSlurmSpawner)
    spawner = c.JupyterHub.spawner_class(config=c)
    spawner.user = SimpleNamespace(name="ann")
    spawner.db = SimpleNamespace(commit=lambda: None)
    spawner.req_homedir = "/home/ann"
    spawner.user_options = options
    return spawner


#: Arguments and a display name that the job script's shell would split, expand or run if they were not quoted.
AWKWARD = ["two words", "it's $HOME *", '"quoted" \\ # {{cmd}}']
TITLE = "Sales; echo `id` $(id) 'x' &"


def command_app(**fields: Any) -> dict[str, Any]:
    return {
        "spec_version": 2,
        "framework": "command",
        "display_name": TITLE,
        "command": ["{python}", "app.py", "{port}", *AWKWARD],
        **fields,
    }


def job_line(script: str, marker: str) -> str:
    lines = [line for line in script.splitlines() if marker in line]
    assert len(lines) == 1, script
    return lines[0]


def test_batchspawner_classes_get_the_batch_mixin_in_front() -> None:
    assert is_batch_spawner(SlurmSpawner)
    wrapped = make_spawner_class(SlurmSpawner)
    assert wrapped.__mro__[1:4] == (BatchSpawnerAppsMixin, HubAppsSpawnerMixin, SlurmSpawner)
    assert make_spawner_class(wrapped) is wrapped
    c = Config()
    hubapps.install(c, spawner_class="batchspawner.SlurmSpawner")  # as docs/hpc.md says
    assert c.JupyterHub.spawner_class.__mro__[1:4] == (BatchSpawnerAppsMixin, HubAppsSpawnerMixin, SlurmSpawner)
    from jupyterhub.spawner import LocalProcessSpawner

    assert not is_batch_spawner(LocalProcessSpawner)
    assert BatchSpawnerAppsMixin not in make_spawner_class(LocalProcessSpawner).__mro__


async def test_an_app_job_execs_the_quoted_proxy_which_reports_its_port() -> None:
    spawner = make(command_app(), req_srun="")
    assert await spawner.start() == ("node7", 40001)
    assert spawner.commands[0] == ("sbatch --parsable", spawner.script)
    line = job_line(spawner.script, "hubapps.proxy")
    assert line.startswith("exec ")
    argv = shlex.split(line)[1:]
    assert argv[:4] == ["python3", "-I", "-m", "hubapps.proxy"]
    dashes = argv.index("--")
    assert "--announce-port" in argv[:dashes]
    assert f"--display-name={TITLE}" in argv[:dashes]
    assert "--allow-root" not in argv  # the admin's singleuser args mean nothing to the proxy
    assert argv[dashes + 1 :] == ["{python}", "app.py", "{port}", *AWKWARD]
    assert "batchspawner-singleuser" not in spawner.script
    assert "hub-token-secret" not in spawner.script


async def test_with_srun_the_line_follows_srun_without_exec() -> None:
    spawner = make(command_app())
    await spawner.start()
    line = job_line(spawner.script, "hubapps.proxy")
    assert line.startswith("srun python3 -I -m hubapps.proxy ")
    assert shlex.split(line)[-len(AWKWARD) :] == AWKWARD


async def test_an_apps_options_are_not_template_variables() -> None:
    """batchspawner hands every user_options key to the job template; an app's never get there."""
    template = "#!/bin/bash\n# [{{framework}}] [{{display_name}}] [{{partition}}]\n{{cmd}}\n"
    spawner = make(command_app(), batch_script=template, req_partition="gpu", req_srun="")
    await spawner.start()
    assert "# [] [] [gpu]\n" in spawner.script


async def test_jupyterlab_apps_keep_the_batchspawner_wrapper() -> None:
    spawner = make({"spec_version": 2, "framework": "jupyterlab", "display_name": "Lab"}, req_srun="")
    await spawner.start()
    argv = shlex.split(job_line(spawner.script, "batchspawner-singleuser"))
    assert argv[:2] == ["batchspawner-singleuser", "jupyterhub-singleuser"]
    assert "--allow-root" in argv
    assert "--announce-port" not in argv


async def test_plain_servers_are_left_to_batchspawner() -> None:
    spawner = make({})
    spawner.test_name = ""
    await spawner.start()
    assert job_line(spawner.script, "batchspawner-singleuser") == (
        "srun batchspawner-singleuser jupyterhub-singleuser --allow-root"
    )
