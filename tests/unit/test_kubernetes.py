"""KubeSpawner with hubapps, from the Zero to JupyterHub values file we ship (``deploy/z2jh-values.yaml``).

No cluster runs here, so KubeSpawner's own code builds the pods (``_mock=True``, an API address where nothing
listens): the values file's ``hub.extraConfig`` runs against the ``z2jh`` stub of the upstream-config tests,
the resulting spawner class makes the pod (and its Secret) of an app of every framework, and
``kubernetes-validate`` checks each manifest against Kubernetes' own schemas (strict: no unknown field).
The one place a cluster would answer (``KubeSpawner.api``) is a recording fake in the Secret's lifecycle test.

Fixtures: ``kubeconfig`` (autouse: an unreachable cluster, as on the upstream-config Hubs), ``hub_key`` (the
Hub's CryptKeeper with a key), ``values_config`` (the traitlets Config the values file gives the Hub).
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import kubernetes_validate
import pytest
import yaml
from jupyterhub import orm
from jupyterhub.crypto import CryptKeeper
from kubernetes_asyncio.client import ApiClient
from tornado import web
from traitlets.config import Config

from hubapps.core.command import LaunchContext, build_command
from hubapps.core.frameworks import Framework, builtin_frameworks
from hubapps.core.gitproject import GIT_AUTH_ENV_VAR
from hubapps.core.proxy_env import APP_ENV_VAR
from hubapps.core.spec import parse_user_options
from hubapps.core.statuskey import APP_KEY_ENV_VAR
from hubapps.hub.kube import SECRET_ENV_NAMES, KubeSecretEnvMixin
from hubapps.service.secrets import SecretSealer

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "deploy" / "z2jh-values.yaml"
Z2JH_STUB = REPO / "tests" / "resources" / "upstream_overlay" / "z2jh.py"
#: The Kubernetes version the manifests are validated against (Zero to JupyterHub 4.x supports 1.28+).
K8S_VERSION = "1.33.0"
HUB_KEY = "b" * 64
API_TOKEN = "hub-api-token-" + "9" * 20
SECRET_VALUE = "sk-live-" + "4" * 24
REPO_TOKEN = "ghp_" + "5" * 36
SINGLEUSER_IMAGE = "registry.example.org/singleuser-hubapps:2026.12"
DATASCIENCE_IMAGE = "registry.example.org/singleuser-hubapps-datascience:2026.12"


@pytest.fixture(autouse=True)
def kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster address where nothing listens (KubeSpawner loads a config when it is made); the status
    key file that ``install`` writes goes to the test's folder."""
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
        "clusters: [{name: test, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: test, user: {token: not-a-cluster}}]\n"
        "contexts: [{name: test, context: {cluster: test, user: test, namespace: hub}}]\n"
    )
    # (the client reads KUBECONFIG once, when it is imported)
    monkeypatch.setattr("kubernetes_asyncio.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", str(path))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def hub_key() -> Iterator[str]:
    CryptKeeper.clear_instance()
    CryptKeeper.instance(config=Config(), keys=[HUB_KEY])
    yield HUB_KEY
    CryptKeeper.clear_instance()


def z2jh_hub_config(values_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """The Config a hub pod gets from ``values_path``: what the chart's own ``jupyterhub_config.py`` sets from
    the values and that matters here (spawner, command, image, profiles, the Hub's address), then every
    ``hub.extraConfig`` snippet in key order, run as the chart runs them (with ``c`` and z2jh's helpers)."""
    monkeypatch.setenv("HUBAPPS_TEST_Z2JH_VALUES", str(values_path))
    monkeypatch.setenv("HUBAPPS_TEST_PROXY_PORT", "80")
    module_spec = importlib.util.spec_from_file_location("z2jh", Z2JH_STUB)
    assert module_spec is not None
    assert module_spec.loader is not None
    z2jh = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(z2jh)
    monkeypatch.setitem(sys.modules, "z2jh", z2jh)

    values = yaml.safe_load(values_path.read_text())
    singleuser = values.get("singleuser", {})
    c = Config()
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    c.JupyterHub.hub_connect_url = "http://hub:8081"
    c.KubeSpawner.cmd = singleuser.get("cmd", ["jupyterhub-singleuser"])
    c.KubeSpawner.image = f"{singleuser['image']['name']}:{singleuser['image']['tag']}"
    if "profileList" in singleuser:
        c.KubeSpawner.profile_list = singleuser["profileList"]
    helpers = {name: getattr(z2jh, name) for name in ("get_config", "get_name", "get_name_env", "get_secret_value")}
    for key, source in sorted(values["hub"].get("extraConfig", {}).items()):
        exec(compile(source, f"<hub.extraConfig.{key}>", "exec"), {"c": c, **helpers})  # noqa: S102
    return c


@pytest.fixture
def values_config(monkeypatch: pytest.MonkeyPatch) -> Config:
    return z2jh_hub_config(VALUES, monkeypatch)


def kube_spawner(c: Config, options: dict[str, Any], name: str = "sales", owner: str = "ann") -> Any:
    """A server of ``owner`` made by the Hub's spawner class, as the Hub makes it (KubeSpawner's test mode)."""
    user = SimpleNamespace(
        name=owner, id=7, url=f"/user/{owner}/", settings={}, admin=False, spawners={}, orm_spawners={}
    )
    hub = SimpleNamespace(
        public_host="", url="http://hub:8081/hub/", base_url="/hub/", api_url="http://hub:8081/hub/api"
    )
    server = orm.Server(base_url=f"/user/{owner}/{name}/", proto="http", ip="", port=0, cookie_name="c")
    spawner = c.JupyterHub.spawner_class(
        _mock=True,
        config=c,
        user=user,
        hub=hub,
        orm_spawner=orm.Spawner(name=name, server=server),
        api_token=API_TOKEN,
        oauth_client_id=f"jupyterhub-user-{owner}-{name}",
    )
    spawner.user_options = options
    return spawner


async def manifests(spawner: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """What the spawner's start sends the cluster (the steps of ``start`` before its first API call):
    the pod and its env Secret, as JSON, each validated against Kubernetes' schemas."""
    spawner._hubapps_prepare()
    await spawner.load_user_options()
    async with ApiClient() as client:
        pod = client.sanitize_for_serialization(await spawner.get_pod_manifest())
        secret_model = spawner.get_env_secret_manifest()
        secret = None if secret_model is None else client.sanitize_for_serialization(secret_model)
    for manifest in (pod, secret):
        if manifest is not None:
            assert kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    return pod, secret


def sealed(value: str, name: str, owner: str = "ann") -> str:
    with ThreadPoolExecutor(1) as pool:  # (called inside the test's event loop)
        return pool.submit(asyncio.run, SecretSealer(HUB_KEY).seal(owner, name, value)).result()


def app_options(framework: Framework, **fields: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"spec_version": 2, "framework": framework.name, "display_name": "Sales"}
    if framework.needs_file:
        options["filepath"] = "apps/app" + framework.file_suffixes[0]
    if "{command}" in framework.argv:
        options["command"] = ["{python}", "serve.py", "{socket}"]
    return {**options, **fields}


def env_of(pod: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod["spec"]["containers"]
    return {entry["name"]: entry.get("value", entry.get("valueFrom")) for entry in container["env"]}


@pytest.mark.parametrize("framework", builtin_frameworks(), ids=lambda fw: fw.name)
async def test_every_framework_makes_a_valid_pod_with_its_secrets_in_a_secret(
    framework: Framework, values_config: Config, hub_key: str
) -> None:
    options = app_options(framework, env={"COLOR": "red"}, secret_env={"API_KEY": sealed(SECRET_VALUE, "API_KEY")})
    spawner = kube_spawner(values_config, options)
    pod, secret = await manifests(spawner)
    (container,) = pod["spec"]["containers"]

    # The command: the proxy (the image's python3, isolated) and the framework's own argv after "--";
    # JupyterLab apps run the chart's jupyterhub-singleuser with their options. KubeSpawner makes it the
    # container's args, so the image's entrypoint (tini in Jupyter's images) still runs it.
    spec = parse_user_options(options).with_secret_values({"API_KEY": SECRET_VALUE})
    argv, app_env = build_command(spec, framework, LaunchContext(prefix="/user/ann/sales/", server_name="sales"))
    assert "command" not in container
    command = container["args"]
    if framework.singleuser:
        assert command[0] == "jupyterhub-singleuser"
        assert command[1:] == argv[1:]
    else:
        assert command[:4] == ["python3", "-I", "-m", "hubapps.proxy"]
        assert command[command.index("--") + 1 :] == argv

    # One port, the one the server listens on (the proxy reads it from JUPYTERHUB_SERVICE_URL).
    env = env_of(pod)
    assert container["ports"] == [{"containerPort": 8888, "name": "notebook-port"}]
    assert env["JUPYTERHUB_SERVICE_URL"] == "http://0.0.0.0:8888/user/ann/sales/"
    # No probes: the Hub's own start check and the proxy's startup page decide readiness (docs/kubernetes.md).
    assert not {"readinessProbe", "livenessProbe", "startupProbe"} & set(container)
    assert container["image"] == SINGLEUSER_IMAGE

    # No credential in the pod's spec: each is a reference to the server's own Secret, which holds it.
    plain = json.dumps(pod)
    for value in (API_TOKEN, SECRET_VALUE, HUB_KEY):
        assert value not in plain
    assert secret is not None
    secret_name = "jupyter-ann--sales-hubapps-env"
    assert secret["metadata"]["name"] == secret_name
    held = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    in_secret = {"JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN"}
    in_secret |= {"API_KEY"} if framework.singleuser else {APP_ENV_VAR, APP_KEY_ENV_VAR}
    assert set(held) == in_secret
    for key in in_secret:
        assert env[key] == {"secretKeyRef": {"name": secret_name, "key": key}}
    assert held["JUPYTERHUB_API_TOKEN"] == API_TOKEN
    if framework.singleuser:
        assert held["API_KEY"] == SECRET_VALUE
    else:
        assert json.loads(held[APP_ENV_VAR]) == app_env
        assert (app_env["COLOR"], app_env["API_KEY"]) == ("red", SECRET_VALUE)
    assert secret["metadata"]["labels"]["hub.jupyter.org/username"] == "ann"


async def test_a_repository_token_is_in_the_secret_only(values_config: Config, hub_key: str) -> None:
    from hubapps.core.secret_env import REPOSITORY_TOKEN

    (panel,) = [fw for fw in builtin_frameworks() if fw.name == "panel"]
    repository = {"url": "https://git.example.org/ann/sales.git", "secret_token": sealed(REPO_TOKEN, REPOSITORY_TOKEN)}
    pod, secret = await manifests(kube_spawner(values_config, app_options(panel, repository=repository)))
    assert REPO_TOKEN not in json.dumps(pod)
    assert secret is not None
    assert base64.b64decode(secret["data"][GIT_AUTH_ENV_VAR]).decode() == REPO_TOKEN
    assert GIT_AUTH_ENV_VAR in SECRET_ENV_NAMES
    assert APP_ENV_VAR in SECRET_ENV_NAMES


async def test_a_plain_server_keeps_its_command_and_its_token_in_a_secret(values_config: Config) -> None:
    pod, secret = await manifests(kube_spawner(values_config, {}, name=""))
    (container,) = pod["spec"]["containers"]
    assert container["args"] == ["jupyterhub-singleuser"]
    assert API_TOKEN not in json.dumps(pod)
    assert secret is not None
    assert set(secret["data"]) == {"JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN"}


async def test_an_app_runs_on_the_image_of_the_profile_it_names(values_config: Config) -> None:
    (panel,) = [fw for fw in builtin_frameworks() if fw.name == "panel"]
    pod, _ = await manifests(kube_spawner(values_config, app_options(panel, profile="datascience")))
    (container,) = pod["spec"]["containers"]
    assert container["image"] == DATASCIENCE_IMAGE
    assert container["resources"]["limits"] == {"cpu": 2.0, "memory": 4 * 1024**3}  # (KubeSpawner reads "4G" so)


async def test_the_admins_probes_pass_through(values_config: Config) -> None:
    probe = {"tcpSocket": {"port": 8888}, "periodSeconds": 10}
    values_config.KubeSpawner.extra_container_config = {"readinessProbe": probe}
    (panel,) = [fw for fw in builtin_frameworks() if fw.name == "panel"]
    pod, _ = await manifests(kube_spawner(values_config, app_options(panel)))
    (container,) = pod["spec"]["containers"]
    assert container["readinessProbe"] == probe


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"profile": "gpu-free-for-all"}, "unknown spawner profile 'gpu-free-for-all'"),
        # An image of the user's choice, however it is named, is refused before any pod is made.
        ({"image": "evil.example.org/miner:latest"}, "image"),
        ({"profile": "small", "image--unlisted-choice": "evil.example.org/miner:latest"}, "image--unlisted-choice"),
        ({"profile_image": "evil.example.org/miner:latest"}, "profile_image"),
    ],
)
async def test_images_outside_the_allow_list_are_refused(
    values_config: Config, fields: dict[str, Any], needle: str
) -> None:
    (panel,) = [fw for fw in builtin_frameworks() if fw.name == "panel"]
    spawner = kube_spawner(values_config, app_options(panel, **fields))
    with pytest.raises(web.HTTPError) as info:
        await spawner.start()  # refused before KubeSpawner's start (which would call the cluster)
    assert info.value.status_code == 400
    assert needle in str(info.value.log_message) % info.value.args


class FakeCoreV1Api:
    """The cluster's API as KubeSpawner calls it: records every call; nothing exists at first."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.secrets: dict[str, Any] = {}

    async def delete_namespaced_secret(self, namespace: str, name: str) -> None:
        from kubernetes_asyncio.client.rest import ApiException

        self.calls.append(("delete secret", name))
        if self.secrets.pop(name, None) is None:
            raise ApiException(status=404)

    async def read_namespaced_secret(self, namespace: str, name: str) -> Any:
        from kubernetes_asyncio.client.rest import ApiException

        raise ApiException(status=404)

    async def create_namespaced_secret(self, namespace: str, body: Any) -> None:
        self.calls.append(("create secret", body.metadata.name))
        self.secrets[body.metadata.name] = body

    async def create_namespaced_pod(self, namespace: str, body: Any) -> None:
        self.calls.append(("create pod", body.metadata.name))


async def test_the_secret_is_made_before_the_pod_and_deleted_at_stop(
    values_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubespawner import KubeSpawner

    (panel,) = [fw for fw in builtin_frameworks() if fw.name == "panel"]
    spawner = kube_spawner(values_config, app_options(panel))
    assert issubclass(type(spawner), KubeSecretEnvMixin)  # (what make_spawner_class adds for KubeSpawner)
    spawner.api = api = FakeCoreV1Api()
    spawner._hubapps_prepare()
    await spawner.load_user_options()
    pod = await spawner.get_pod_manifest()
    assert await spawner._make_create_pod_request(pod, 5)
    name = "jupyter-ann--sales-hubapps-env"
    # Afresh (an old Secret may hold a revoked token), then the pod that refers to it.
    assert api.calls == [("delete secret", name), ("create secret", name), ("create pod", "jupyter-ann--sales")]
    assert base64.b64decode(api.secrets[name].data["JUPYTERHUB_API_TOKEN"]).decode() == API_TOKEN

    async def stopped(self: Any, now: bool = False) -> None:
        api.calls.append(("delete pod", self.pod_name))

    monkeypatch.setattr(KubeSpawner, "stop", stopped)
    await spawner.stop()
    assert api.calls[-2:] == [("delete pod", "jupyter-ann--sales"), ("delete secret", name)]
    assert api.secrets == {}


def test_the_values_file_puts_the_service_on_the_hub_pod(values_config: Config) -> None:
    """``hub_host``: the Hub's proxy reaches the service at the hub's Service, on the port the chart opens."""
    values = yaml.safe_load(VALUES.read_text())
    (service,) = [s for s in values_config.JupyterHub.services if s["name"] == "japps"]
    assert service["url"] == "http://hub:10202"
    ports = values["hub"]["service"]["extraPorts"]
    assert [p["port"] for p in ports] == [10202]
    (rule,) = values["hub"]["networkPolicy"]["ingress"]
    assert rule["ports"] == [{"port": 10202}]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"component": "proxy"}}}]
    assert values_config.HubApps.proxy_url == "http://proxy-public"
    # No profile lets a user type an image (KubeSpawner's unlisted_choice).
    assert "unlisted_choice" not in json.dumps(values["singleuser"]["profileList"])
