"""SystemdSpawner and DockerSpawner with hubapps, through their own code, with only the daemon faked.

Neither systemd nor a Docker daemon runs here. Each spawner's real ``start`` runs with the mixin; the one
boundary where a daemon would answer is replaced by a recorder: SystemdSpawner's subprocesses
(``systemd-run``, ``systemctl``) and DockerSpawner's ``docker.APIClient``. What the tests read is exactly
what the daemon would have been given: systemd-run's argv and the environment file SystemdSpawner writes,
and DockerSpawner's ``create_container`` keyword arguments. (What a daemon adds, and so is not tested
here: the unit or container actually running, as the uid asked for. docs/kubernetes.md, "Spawners".)
"""

from __future__ import annotations

import asyncio
import json
import pwd
import shlex
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from jupyterhub import orm
from jupyterhub.crypto import CryptKeeper
from tornado import web
from traitlets.config import Config

import hubapps
from hubapps.core.command import LaunchContext, build_command
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.proxy_env import APP_ENV_VAR
from hubapps.core.spec import parse_user_options
from hubapps.hub.spawner import HubAppsSpawnerMixin
from hubapps.hub.systemd import SystemdUnitPerServerMixin, unit_name_part
from hubapps.service.secrets import SecretSealer

HUB_KEY = "c" * 64
API_TOKEN = "hub-api-token-" + "8" * 20
SECRET_VALUE = "sk-live-" + "3" * 24
#: A Unix account every Debian system has (SystemdSpawner looks the user up to run the unit as them).
UNIX_USER = "nobody"


@pytest.fixture(autouse=True)
def hub_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)  # install() keeps its status key file in the Hub's folder
    CryptKeeper.clear_instance()
    CryptKeeper.instance(config=Config(), keys=[HUB_KEY])
    yield HUB_KEY
    CryptKeeper.clear_instance()


def sealed(value: str, name: str, owner: str) -> str:
    with ThreadPoolExecutor(1) as pool:  # (called inside the test's event loop)
        return pool.submit(asyncio.run, SecretSealer(HUB_KEY).seal(owner, name, value)).result()


def panel_app(owner: str) -> dict[str, Any]:
    return {
        "spec_version": 2,
        "framework": "panel",
        "display_name": "Sales",
        "filepath": "apps/p.py",
        "env": {"COLOR": "red"},
        "secret_env": {"API_KEY": sealed(SECRET_VALUE, "API_KEY", owner)},
    }


def spawner_of(c: Config, owner: str, name: str, options: dict[str, Any]) -> Any:
    """A server as the Hub makes it, of the class ``install`` configured."""
    user = SimpleNamespace(
        name=owner, id=7, url=f"/user/{owner}/", settings={}, admin=False, spawners={}, orm_spawners={}
    )
    hub = SimpleNamespace(
        public_host="", url="http://127.0.0.1:8081/hub/", base_url="/hub/", api_url="http://127.0.0.1:8081/hub/api"
    )
    server = orm.Server(base_url=f"/user/{owner}/{name}/", proto="http", ip="", port=0, cookie_name="c")
    spawner = c.JupyterHub.spawner_class(
        config=c,
        user=user,
        hub=hub,
        orm_spawner=orm.Spawner(name=name, server=server),
        api_token=API_TOKEN,
        oauth_client_id=f"jupyterhub-user-{owner}-{name}",
    )
    spawner.user_options = options
    return spawner


def app_argv(spawner: Any, owner: str) -> list[str]:
    """The framework's argv for the spawner's app, as the pure command builder makes it."""
    spec = parse_user_options(spawner.user_options).with_secret_values({"API_KEY": SECRET_VALUE})
    context = LaunchContext(prefix=f"/user/{owner}/{spawner.name}/", server_name=spawner.name)
    argv, _ = build_command(spec, FrameworkRegistry.load(lambda: []).get(spec.framework), context)
    return argv


# -- SystemdSpawner (TLJH) -----------------------------------------------------------------------------


class FakeSystemd:
    """``asyncio.create_subprocess_exec`` as SystemdSpawner calls it: records each command; a unit is
    active once ``systemd-run`` started it."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []
        self.active: set[str] = set()

    async def __call__(self, *argv: str, **kwargs: Any) -> Any:
        self.commands.append(list(argv))
        code = 0
        if argv[0] == "systemd-run":
            self.active.add(argv[argv.index("--unit") + 1])
        elif argv[:2] == ("systemctl", "is-active"):
            code = 0 if argv[2] in self.active else 3
        elif argv[:2] == ("systemctl", "is-failed"):
            code = 1

        async def wait() -> int:
            return code

        return SimpleNamespace(wait=wait)


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSystemd:
    from systemdspawner import systemd as systemd_module

    fake = FakeSystemd()
    monkeypatch.setattr(systemd_module.asyncio, "create_subprocess_exec", fake)
    monkeypatch.setattr(systemd_module, "get_systemd_version", lambda: 255)
    monkeypatch.setattr(systemd_module, "RUN_ROOT", str(tmp_path / "run"))  # where it writes env files
    return fake


def systemd_hub() -> Config:
    c = Config()
    c.SystemdSpawner.username_template = UNIX_USER
    hubapps.install(c, spawner_class="systemdspawner.SystemdSpawner")
    return c


async def test_systemd_runs_the_proxy_as_the_user_with_secrets_in_a_private_file(
    systemd: FakeSystemd, tmp_path: Path
) -> None:
    spawner = spawner_of(systemd_hub(), "ann", "sales", panel_app("ann"))
    assert isinstance(spawner, HubAppsSpawnerMixin)
    await spawner.start()

    (run,) = [argv for argv in systemd.commands if argv[0] == "systemd-run"]
    unit = "jupyter-ann-singleuser-sales"
    assert run[run.index("--unit") + 1] == unit
    account = pwd.getpwnam(UNIX_USER)
    assert f"--uid={account.pw_uid}" in run
    assert f"--gid={account.pw_gid}" in run
    # The proxy, with the image-independent interpreter "python3" found on the PATH, then the framework.
    start = next(i for i, arg in enumerate(run) if arg.endswith("/python3"))
    assert run[start + 1 : start + 4] == ["-I", "-m", "hubapps.proxy"]
    # The app's arguments as built, braces included (SystemdSpawner runs str.format on every argument).
    assert run[run.index("--") + 1 :] == app_argv(spawner, "ann")
    assert "{python}" in run
    # No credential on the command line (every local user sees it in ps): they are in the unit's
    # environment file, which only root may read.
    command_line = " ".join(run)
    for value in (API_TOKEN, SECRET_VALUE, HUB_KEY):
        assert value not in command_line
    env_file = Path(next(arg for arg in run if arg.startswith("--property=EnvironmentFile=")).split("=", 2)[2])
    assert env_file.parent == tmp_path / "run" / unit
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o400
    assert stat.S_IMODE(env_file.parent.stat().st_mode) == 0o700
    env = {k: shlex.split(v)[0] for k, v in (line.split("=", 1) for line in env_file.read_text().splitlines())}
    assert env["JUPYTERHUB_API_TOKEN"] == API_TOKEN
    assert json.loads(env[APP_ENV_VAR])["API_KEY"] == SECRET_VALUE
    assert env["JUPYTERHUB_SERVICE_URL"].startswith("http://127.0.0.1:")


async def test_each_named_server_gets_a_unit_of_its_own(systemd: FakeSystemd) -> None:
    c = systemd_hub()
    first = spawner_of(c, "ann", "sales", panel_app("ann"))
    second = spawner_of(c, "ann", "sales-2", panel_app("ann"))
    default = spawner_of(c, "ann", "", {})
    assert issubclass(type(first), SystemdUnitPerServerMixin)
    assert (first.unit_name, second.unit_name) == ("jupyter-ann-singleuser-sales", "jupyter-ann-singleuser-sales-2")
    assert default.unit_name == "jupyter-ann-singleuser"
    await first.start()
    await second.start()
    # Starting the second never stopped the first (SystemdSpawner stops a unit of the same name first).
    assert ["systemctl", "stop", first.unit_name] not in systemd.commands
    assert systemd.active == {first.unit_name, second.unit_name}
    assert first.get_state()["unit_name"] == first.unit_name  # found again after a Hub restart


def test_unit_name_parts_are_escaped_like_systemd_escape() -> None:
    assert unit_name_part("sales-2.v1") == "sales-2.v1"
    assert unit_name_part("a b/ç") == "a\\x20b\\x2f\\xc3\\xa7"


async def test_systemd_refuses_a_bad_spec_before_running_anything(systemd: FakeSystemd) -> None:
    spawner = spawner_of(systemd_hub(), "ann", "sales", {**panel_app("ann"), "framework": "no-such"})
    with pytest.raises(web.HTTPError) as info:
        await spawner.start()
    assert info.value.status_code == 400
    assert not [argv for argv in systemd.commands if argv[0] == "systemd-run"]


# -- DockerSpawner -------------------------------------------------------------------------------------


class FakeDockerClient:
    """``docker.APIClient`` as DockerSpawner calls it: no image pull needed, no container yet."""

    def __init__(self) -> None:
        self.created: dict[str, Any] | None = None
        self.started: list[str] = []

    def inspect_image(self, image: str) -> dict[str, Any]:
        return {"Config": {"Cmd": ["jupyterhub-singleuser"]}}

    def inspect_container(self, name: str) -> dict[str, Any]:
        from docker.errors import NotFound

        raise NotFound("no such container", response=SimpleNamespace(status_code=404))

    def create_host_config(self, **kwargs: Any) -> dict[str, Any]:
        return {"HostConfigFrom": sorted(kwargs)}

    def create_container(self, **kwargs: Any) -> dict[str, Any]:
        self.created = kwargs
        return {"Id": "c0ffee" * 4}

    def start(self, container_id: str) -> None:
        self.started.append(container_id)

    def port(self, container_id: str, port: int) -> list[dict[str, str]]:
        return [{"HostIp": "127.0.0.1", "HostPort": "49153"}]


@pytest.fixture
def docker_client(monkeypatch: pytest.MonkeyPatch) -> FakeDockerClient:
    from dockerspawner import DockerSpawner

    fake = FakeDockerClient()
    monkeypatch.setattr(DockerSpawner, "_client", fake)  # DockerSpawner's one shared client
    return fake


def docker_hub() -> Config:
    c = Config()
    c.DockerSpawner.image = "registry.example.org/singleuser-hubapps:2026.12"
    c.DockerSpawner.cmd = ["jupyterhub-singleuser"]
    hubapps.install(c, spawner_class="dockerspawner.DockerSpawner")
    return c


async def test_docker_creates_the_container_with_the_proxy_command(docker_client: FakeDockerClient) -> None:
    spawner = spawner_of(docker_hub(), "ann", "sales", panel_app("ann"))
    assert await spawner.start() == ("127.0.0.1", 49153)
    created = docker_client.created
    assert created is not None
    assert created["image"] == "registry.example.org/singleuser-hubapps:2026.12"
    command = created["command"]
    assert command[:4] == ["python3", "-I", "-m", "hubapps.proxy"]
    assert command[command.index("--") + 1 :] == app_argv(spawner, "ann")
    for value in (API_TOKEN, SECRET_VALUE, HUB_KEY):
        assert value not in " ".join(command)
    env = created["environment"]
    assert env["JUPYTERHUB_API_TOKEN"] == API_TOKEN
    assert json.loads(env[APP_ENV_VAR]) == {"COLOR": "red", "API_KEY": SECRET_VALUE}
    assert env["JUPYTERHUB_SERVICE_URL"] == "http://0.0.0.0:8888/user/ann/sales/"
    assert created["ports"] == {"8888/tcp": None}
    assert docker_client.started == ["c0ffee" * 4]


async def test_docker_never_takes_an_image_from_an_app(docker_client: FakeDockerClient) -> None:
    """DockerSpawner itself reads ``user_options["image"]``: an app spec naming one is refused first."""
    spawner = spawner_of(docker_hub(), "ann", "sales", {**panel_app("ann"), "image": "evil.example.org/miner"})
    with pytest.raises(web.HTTPError) as info:
        await spawner.start()
    assert info.value.status_code == 400
    assert "image" in str(info.value.log_message) % info.value.args
    assert docker_client.created is None
