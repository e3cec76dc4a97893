"""Hub side: install(c) and the spawner mixin that re-validates every start."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jupyterhub
import pytest
from jupyterhub.crypto import CryptKeeper
from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner, Spawner
from tornado import web
from traitlets.config import Config

import hubapps
from hubapps.core.proxy_env import APP_ENV_VAR
from hubapps.core.secret_env import REPOSITORY_TOKEN
from hubapps.core.statuskey import APP_KEY_ENV_VAR, app_key
from hubapps.hub.install import SERVICE_ROLE_SCOPES, STATUS_KEY_ENV_VAR
from hubapps.hub.spawner import (
    GIT_AUTH_ENV_VAR,
    HubAppsSpawnerMixin,
    install_user_options_checks,
    make_spawner_class,
)
from hubapps.service.secrets import SecretSealer


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """install() keeps its status key file in the folder the Hub runs in."""
    monkeypatch.chdir(tmp_path)


class RecordingSpawner(SimpleLocalProcessSpawner):  # type: ignore[misc]
    """A real Spawner whose start records the command instead of running it."""

    test_name = "sales"
    started: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.test_name

    @property
    def server(self) -> SimpleNamespace:
        return SimpleNamespace(base_url=f"/user/ann/{self.test_name}/")

    @property
    def _log_name(self) -> str:
        return f"ann:{self.test_name}"

    def get_env(self) -> dict[str, str]:
        return {"JUPYTERHUB_API_TOKEN": "hub-token-secret"}

    async def start(self) -> str:
        self.started = {"cmd": list(self.cmd), "args": self.get_args(), "env": self.get_env()}
        return "http://127.0.0.1:1"


def make(options: Any, name: str = "sales", **settings: Any) -> Any:
    c = Config()
    c.Spawner.args = ["--debug"]
    hubapps.install(c, spawner_class=RecordingSpawner, **settings)
    spawner = c.JupyterHub.spawner_class(config=c)
    spawner.user = SimpleNamespace(name="ann")
    spawner.test_name = name
    spawner.user_options = options
    return spawner


def spec(**fields: Any) -> dict[str, Any]:
    return {"spec_version": 1, "framework": "panel", "display_name": "Sales", "filepath": "apps/p.py", **fields}


async def test_app_start_runs_the_proxy_with_framework_argv() -> None:
    spawner = make(spec(env={"COLOR": "red"}, public=True), allow_public_apps=True)
    await spawner.start()
    started = spawner.started
    # A local spawner: the Hub's own Python, isolated from the owner's site-packages and PYTHON* variables.
    assert started["cmd"] == [sys.executable, "-I", "-m", "hubapps.proxy"]
    args = started["args"]
    assert "--debug" not in args, "singleuser options must not reach the proxy"
    sep = args.index("--")
    assert "--public" in args[:sep]
    assert "--cwd=apps" in args[:sep]
    # The proxy imports nothing of JupyterHub: the Hub's version comes with its options.
    assert f"--hub-version={jupyterhub.__version__}" in args[:sep]
    assert args[sep + 1 : sep + 5] == ["{python}", "-m", "panel", "serve"]
    assert json.loads(started["env"][APP_ENV_VAR]) == {"COLOR": "red"}


async def test_the_failure_page_learns_where_the_launcher_is() -> None:
    spawner = make(spec())
    await spawner.start()
    args = spawner.started["args"]
    assert "--launcher-url=/services/japps/" in args[: args.index("--")]
    # As the Hub made the service: its prefix (under the Hub's base_url), on a host of its own if any.
    spawner = make(spec(), service_name="apps")
    service = SimpleNamespace(prefix="/base/services/apps/", host="https://services.hub.example.org")
    spawner.user = SimpleNamespace(name="ann", settings={"services": {"apps": service}})
    await spawner.start()
    args = spawner.started["args"]
    assert "--launcher-url=https://services.hub.example.org/base/services/apps/" in args[: args.index("--")]


async def test_the_proxy_learns_where_to_report_and_the_apps_file() -> None:
    spawner = make(spec())
    await spawner.start()
    options = spawner.started["args"][: spawner.started["args"].index("--")]
    assert "--source-file=p.py" in options  # (relative to --cwd=apps)
    assert not any(o.startswith("--report-url") for o in options)  # the Hub knows no service URL here
    # The service's URL and prefix as the Hub has them (its proxy routes the prefix to that URL).
    spawner = make(spec(), service_name="apps")
    service = SimpleNamespace(prefix="/base/services/apps/", url="http://127.0.0.1:10202", host="")
    spawner.user = SimpleNamespace(name="ann", settings={"services": {"apps": service}})
    await spawner.start()
    options = spawner.started["args"][: spawner.started["args"].index("--")]
    assert "--report-url=http://127.0.0.1:10202/base/services/apps/" in options
    # Apps that run elsewhere (Kubernetes, Slurm) report where the admin says.
    spawner = make(spec(), report_url="http://hub.internal:10202/services/japps")
    await spawner.start()
    assert "--report-url=http://hub.internal:10202/services/japps/" in spawner.started["args"]


async def test_proxy_command_and_limits_are_admin_settings() -> None:
    spawner = make(spec(), auth_cache_max_age=5, websocket_max_age=3600)
    await spawner.start()
    args = spawner.started["args"]
    assert "--auth-cache-max-age=5" in args[: args.index("--")]
    assert "--websocket-max-age=3600" in args[: args.index("--")]
    spawner = make(spec(), proxy_command=["/opt/env/bin/python", "-I", "-m", "hubapps.proxy", "--hub-timeout=3"])
    await spawner.start()
    assert spawner.started["cmd"] == ["/opt/env/bin/python", "-I", "-m", "hubapps.proxy", "--hub-timeout=3"]
    assert not any(a.startswith(("--auth-cache-max-age", "--websocket-max-age")) for a in spawner.started["args"])


def test_containers_run_the_proxy_with_the_images_python_isolated() -> None:
    from hubapps.hub.config import HubApps

    class ContainerSpawner(Spawner):  # type: ignore[misc]
        async def start(self) -> None: ...
        async def stop(self, now: bool = False) -> None: ...
        async def poll(self) -> None: ...

    assert HubApps().proxy_command_for(ContainerSpawner) == ["python3", "-I", "-m", "hubapps.proxy"]
    assert HubApps().proxy_command_for(LocalProcessSpawner)[0] == sys.executable


async def test_non_app_servers_are_left_alone() -> None:
    spawner = make({"profile": "small"})
    await spawner.start()
    assert spawner.started["cmd"] == ["jupyterhub-singleuser"]
    assert spawner.started["args"] == ["--debug"]
    assert APP_ENV_VAR not in spawner.started["env"]


async def test_a_server_that_stops_being_an_app_gets_its_command_back() -> None:
    spawner = make(spec())
    await spawner.start()
    spawner.user_options = {}
    await spawner.start()
    assert spawner.started["cmd"] == ["jupyterhub-singleuser"]


async def test_jupyterlab_apps_run_singleuser_with_their_env() -> None:
    spawner = make(spec(framework="jupyterlab", filepath="", env={"EXTRA": "1"}))
    await spawner.start()
    assert spawner.started["cmd"] == ["jupyterhub-singleuser"]
    assert spawner.started["args"] == ["--debug"]
    assert spawner.started["env"]["EXTRA"] == "1"


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (spec(env={"LD_PRELOAD": "/tmp/x.so"}), "LD_PRELOAD"),
        (spec(env={"JUPYTERHUB_API_TOKEN": "x"}), "JUPYTERHUB_API_TOKEN"),
        (spec(framework="nosuch"), "nosuch"),
        (spec(framework="command", filepath="", command=["python", "-c", "x; rm -rf ~"]), "command.2"),
        (spec(args=["$(id)"]), "args.0"),
        (spec(python_env="missing"), "python_env"),
        (spec(profile="gpu"), "profile"),
        ({"jhub_app": True, "display_name": "x", "framework": "panel", "profile_image": "evil"}, "profile_image"),
    ],
)
async def test_bad_specs_are_refused_before_any_process(options: dict[str, Any], needle: str) -> None:
    spawner = make(options)
    with pytest.raises(web.HTTPError) as info:
        await spawner.start()
    assert info.value.status_code == 400
    assert info.value.log_message is not None
    assert needle in info.value.log_message % info.value.args
    assert spawner.started is None


async def test_admin_settings_are_enforced_at_start() -> None:
    spawner = make(spec(), blocked_frameworks=["panel"])
    with pytest.raises(web.HTTPError, match="panel"):
        await spawner.start()
    spawner = make(spec(public=True), allow_public_apps=False)
    with pytest.raises(web.HTTPError) as info:
        await spawner.start()
    assert "public" in info.value.args[0]
    # And by default on a Hub without subdomain_host.
    with pytest.raises(web.HTTPError, match="public"):
        await make(spec(public=True)).start()


async def test_named_environments_are_resolved_by_the_hub() -> None:
    spawner = make(spec(python_env="analysis"), environments={"analysis": "/opt/envs/analysis"})
    await spawner.start()
    assert "--env-prefix=/opt/envs/analysis" in spawner.started["args"]


async def test_apps_cannot_be_the_default_server() -> None:
    spawner = make(spec(), name="")
    with pytest.raises(web.HTTPError, match="named servers"):
        await spawner.start()


def test_install_registers_service_roles_and_named_servers() -> None:
    c = Config()
    c.JupyterHub.services = [{"name": "other", "url": "http://127.0.0.1:9999"}]
    settings = hubapps.install(c, spawner_class="localprocess", service_workers=3, service_port=10300)
    assert c.JupyterHub.allow_named_servers is True
    assert issubclass(c.JupyterHub.spawner_class, HubAppsSpawnerMixin)
    assert issubclass(c.JupyterHub.spawner_class, LocalProcessSpawner)
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert set(services) == {"other", "japps"}
    japps = services["japps"]
    assert japps["url"] == "http://127.0.0.1:10300"
    assert japps["command"][japps["command"].index("--workers") + 1] == "3"
    assert json.loads(japps["environment"]["HUBAPPS_SETTINGS"])["service_name"] == "japps"
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "japps-service")
    assert role["services"] == ["japps"]
    assert set(role["scopes"]) == set(SERVICE_ROLE_SCOPES)
    for scope in role["scopes"]:
        assert not scope.startswith(("admin", "tokens")), "the service's own token must stay minimal"
    assert settings.service_workers == 3


def test_install_is_idempotent_and_keeps_the_admins_spawner() -> None:
    c = Config()
    c.JupyterHub.spawner_class = SimpleLocalProcessSpawner
    hubapps.install(c)
    first = c.JupyterHub.spawner_class
    hubapps.install(c, spawner_class=first)
    assert c.JupyterHub.spawner_class is first
    assert [s["name"] for s in c.JupyterHub.services] == ["japps"]
    assert make_spawner_class(first) is first


def test_install_rejects_unknown_settings() -> None:
    with pytest.raises(TypeError, match="service_wrokers"):
        hubapps.install(Config(), service_wrokers=2)


def test_users_may_use_the_launcher_but_share_only_when_asked() -> None:
    c = Config()
    hubapps.install(c)
    user_role = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert user_role["scopes"] == ["self", "access:services!service=japps"]
    c = Config()
    c.JupyterHub.load_roles = [{"name": "user", "scopes": ["self", "read:groups"]}]
    hubapps.install(c, grant_user_sharing=True, allow_sharing=True)
    user_role = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert user_role["scopes"][:2] == ["self", "read:groups"]
    assert {"shares!user", "read:users:name", "read:groups:name"} <= set(user_role["scopes"])


def test_users_list_everyone_for_suggestions_only_when_the_admin_chose() -> None:
    c = Config()
    hubapps.install(c, grant_user_sharing=True, allow_sharing=True)
    scopes = set(next(r for r in c.JupyterHub.load_roles if r["name"] == "user")["scopes"])
    assert not {"list:users", "list:groups"} & scopes
    c = Config()
    hubapps.install(c, grant_user_sharing=True, allow_sharing=True, share_suggestions_from="all")
    scopes = set(next(r for r in c.JupyterHub.load_roles if r["name"] == "user")["scopes"])
    assert {"list:users", "list:groups"} <= scopes
    # The launcher's OAuth tokens may carry them (the Hub intersects with what each user holds), and
    # the service reads the members of a user's own groups with its own token.
    service = c.JupyterHub.services[0]
    assert {"list:users", "list:groups", "shares", "read:shares"} <= set(service["oauth_client_allowed_scopes"])
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "japps-service")
    assert "read:groups" in role["scopes"]


def _origin_policy(c: Config) -> dict[str, Any]:
    settings = json.loads(c.JupyterHub.services[0]["environment"]["HUBAPPS_SETTINGS"])
    return {k: settings[k] for k in ("allow_public_apps", "allow_sharing")}


def test_public_apps_and_sharing_are_off_without_subdomains(caplog: pytest.LogCaptureFixture) -> None:
    c = Config()
    hubapps.install(c, grant_user_sharing=True)
    assert _origin_policy(c) == {"allow_public_apps": False, "allow_sharing": False}
    assert c.HubApps.allow_public_apps is False  # what the spawner mixin reads at every start
    # Asking for the sharing scopes does not turn sharing on: nothing is granted, and the log says why.
    user_role = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert user_role["scopes"] == ["self", "access:services!service=japps"]
    assert "grant_user_sharing is ignored" in caplog.text


def test_public_apps_and_sharing_are_on_with_subdomains(caplog: pytest.LogCaptureFixture) -> None:
    c = Config()
    c.JupyterHub.subdomain_host = "https://hub.example.org"
    hubapps.install(c, grant_user_sharing=True)
    assert _origin_policy(c) == {"allow_public_apps": True, "allow_sharing": True}
    user_role = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert "shares!user" in user_role["scopes"]
    assert "subdomain_host is not set" not in caplog.text
    # The admin may still turn either off.
    c = Config()
    c.JupyterHub.subdomain_host = "https://hub.example.org"
    hubapps.install(c, allow_public_apps=False)
    assert _origin_policy(c) == {"allow_public_apps": False, "allow_sharing": True}


def test_turning_them_on_without_subdomains_is_explicit_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    c = Config()
    hubapps.install(c, allow_public_apps=True, allow_sharing=True)
    assert _origin_policy(c) == {"allow_public_apps": True, "allow_sharing": True}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("public apps are turned on" in w and "subdomain_host is not set" in w for w in warnings)
    assert any("sharing is turned on" in w and "act as its visitors" in w for w in warnings)


async def test_specs_are_refused_when_the_hub_applies_user_options() -> None:
    spawner = make(spec(env={"LD_PRELOAD": "x"}))
    with pytest.raises(web.HTTPError) as info:
        await spawner._run_apply_user_options(spawner.user_options)
    assert info.value.log_message is not None
    assert "LD_PRELOAD" in info.value.log_message % info.value.args


def test_service_settings_carry_proxy_url_and_profiles() -> None:
    c = Config()
    c.JupyterHub.bind_url = "http://0.0.0.0:8123/base/"
    c.KubeSpawner.profile_list = [{"slug": "gpu", "display_name": "GPU"}, {"display_name": "no slug"}]
    hubapps.install(c, database_url="postgresql://db/hubapps")
    settings = json.loads(c.JupyterHub.services[0]["environment"]["HUBAPPS_SETTINGS"])
    assert settings["proxy_url"] == "http://127.0.0.1:8123"
    assert settings["database_url"] == "postgresql://db/hubapps"
    assert settings["profiles"] == [{"slug": "gpu", "display_name": "GPU", "description": ""}]


@pytest.mark.parametrize(
    ("jupyterhub", "proxy_url"),
    [
        # Zero to JupyterHub's shape: ip, port and base_url, no bind_url.
        ({"ip": "10.0.0.5", "port": 8000, "base_url": "/jhub/"}, "http://10.0.0.5:8000"),
        ({"port": 8443, "base_url": "/jhub/", "ssl_cert": "/etc/tls.crt"}, "https://127.0.0.1:8443"),
        ({"bind_url": "http://:443/", "ssl_cert": "/etc/tls.crt"}, "https://127.0.0.1:443"),
    ],
)
def test_the_default_proxy_url_follows_the_hubs_url_settings(jupyterhub: dict[str, Any], proxy_url: str) -> None:
    c = Config()
    for key, value in jupyterhub.items():
        c.JupyterHub[key] = value
    hubapps.install(c)
    settings = json.loads(c.JupyterHub.services[0]["environment"]["HUBAPPS_SETTINGS"])
    assert settings["proxy_url"] == proxy_url


@pytest.mark.parametrize("settings", [{"blocked_frameworks": ["jupyterlab"]}, {"allowed_frameworks": ["panel"]}])
async def test_plain_named_servers_are_refused_when_jupyterlab_is_off(settings: dict[str, Any]) -> None:
    """A named server without an app spec is a JupyterLab by another name: the admin's block holds for it."""
    for options in ({}, {"profile": "small"}):
        spawner = make(options, **settings)
        with pytest.raises(web.HTTPError) as info:
            await spawner.start()
        assert info.value.status_code == 400
        assert info.value.log_message is not None
        assert "jupyterlab" in info.value.log_message % info.value.args
        assert spawner.started is None
        # The Hub's apply_user_options hook (run before start, API and form alike) refuses it too.
        with pytest.raises(web.HTTPError):
            spawner.apply_user_options(spawner, options)
    # The default server is not an app and always starts; apps still start.
    default = make({}, name="", **settings)
    await default.start()
    assert default.started["cmd"] == ["jupyterhub-singleuser"]
    app = make(spec(), **settings)
    await app.start()
    assert app.started["cmd"][-2:] == ["-m", "hubapps.proxy"]


async def test_plain_named_servers_start_when_jupyterlab_is_on() -> None:
    spawner = make({})
    spawner.apply_user_options(spawner, {})
    await spawner.start()
    assert spawner.started["cmd"] == ["jupyterhub-singleuser"]


@pytest.mark.parametrize(
    "arg",
    [
        "--ServerApp.disable_check_xsrf=True",
        "--ServerApp.token=",
        "--ServerApp.allow_origin=*",
        "--ServerApp.ip=0.0.0.0",
        "--ServerApp.jpserver_extensions={'evil': True}",
        "--ServerApp.default_url=https://evil.example/",
        "--ServerApp.default_url=//evil.example/",
        "--ServerApp.root_dir=../../etc",
        "--ServerApp.default_url",
        "--debug",
    ],
)
async def test_jupyterlab_args_are_limited_to_an_allow_list(arg: str) -> None:
    spawner = make(spec(framework="jupyterlab", filepath="", args=[arg]))
    with pytest.raises(web.HTTPError) as info:
        await spawner.start()
    assert info.value.status_code == 400
    assert info.value.log_message is not None
    assert "args.0" in info.value.log_message % info.value.args
    assert spawner.started is None


async def test_jupyterlab_allowed_options_reach_singleuser() -> None:
    args = ["--ServerApp.default_url=/lab/tree/report%20v2.ipynb", "--ServerApp.root_dir=projects/q3"]
    spawner = make(spec(framework="jupyterlab", filepath="", args=args))
    await spawner.start()
    assert spawner.started["args"] == ["--debug", *args]


# -- secret env values ------------------------------------------------------------------------------

HUB_KEY = "a" * 64
PLAIN = "sk-live-" + "7" * 24


@pytest.fixture
def hub_key() -> Iterator[str]:
    """The Hub's CryptKeeper singleton with ``HUB_KEY`` (what ``JUPYTERHUB_CRYPT_KEY`` gives the Hub)."""
    CryptKeeper.clear_instance()
    CryptKeeper.instance(config=Config(), keys=[HUB_KEY])
    yield HUB_KEY
    CryptKeeper.clear_instance()


@pytest.fixture
def no_hub_key() -> Iterator[None]:
    CryptKeeper.clear_instance()
    CryptKeeper.instance(config=Config(), keys=[])
    yield
    CryptKeeper.clear_instance()


def sealed(value: str, owner: str = "ann", name: str = "API_KEY", key: str = HUB_KEY) -> str:
    """A secret as the launcher service stores it (the service's own sealer, so both sides agree)."""
    with ThreadPoolExecutor(1) as pool:  # the tests calling it run in an event loop already
        return pool.submit(asyncio.run, SecretSealer(key).seal(owner, name, value)).result()


def spec2(**fields: Any) -> dict[str, Any]:
    return spec(spec_version=2, **fields)


def owned_by(spawner: Any, owner: str = "ann") -> Any:
    spawner.user = SimpleNamespace(name=owner)
    return spawner


async def refusal(spawner: Any) -> str:
    with pytest.raises(web.HTTPError) as info:
        await spawner.start()
    assert info.value.status_code == 400
    assert spawner.started is None
    assert info.value.log_message is not None
    return str(info.value.log_message % info.value.args)


async def test_secrets_are_decrypted_into_the_app_env_only_at_start(hub_key: str) -> None:
    token = await SecretSealer(hub_key).seal("ann", "API_KEY", PLAIN)
    options = spec2(env={"COLOR": "red"}, secret_env={"API_KEY": token})
    spawner = owned_by(make(options))
    await spawner.start()
    assert json.loads(spawner.started["env"][APP_ENV_VAR]) == {"COLOR": "red", "API_KEY": PLAIN}
    assert PLAIN not in json.dumps(spawner.user_options)  # the stored options keep the ciphertext
    assert PLAIN not in " ".join(spawner.started["args"])


async def test_jupyterlab_apps_get_their_secrets_in_their_env(hub_key: str) -> None:
    token = await SecretSealer(hub_key).seal("ann", "API_KEY", PLAIN)
    spawner = owned_by(make(spec2(framework="jupyterlab", filepath="", secret_env={"API_KEY": token})))
    await spawner.start()
    assert spawner.started["env"]["API_KEY"] == PLAIN


async def test_plain_text_posted_as_a_secret_is_refused(hub_key: str) -> None:
    message = await refusal(owned_by(make(spec2(secret_env={"API_KEY": PLAIN}))))
    assert "secret_env" in message
    assert "'API_KEY'" in message
    assert "not encrypted" in message
    assert PLAIN not in message


@pytest.mark.parametrize(
    ("token", "words"),
    [
        (lambda: sealed(PLAIN, key="b" * 64), "not encrypted with this Hub's key"),
        (lambda: sealed(PLAIN, owner="bob"), "saved for another user"),
        (lambda: sealed(PLAIN, name="OTHER"), "saved for another user or variable"),
    ],
    ids=["other-key", "other-owner", "other-variable"],
)
async def test_ciphertext_not_made_for_this_app_is_refused(hub_key: str, token: Callable[[], str], words: str) -> None:
    message = await refusal(owned_by(make(spec2(secret_env={"API_KEY": token()}))))
    assert words in message
    assert "secret_env" in message


async def test_rotated_keys_open_secrets_sealed_with_an_older_key() -> None:
    old = "c" * 64
    CryptKeeper.clear_instance()
    CryptKeeper.instance(config=Config(), keys=[HUB_KEY, old])
    try:
        spawner = owned_by(make(spec2(secret_env={"API_KEY": sealed(PLAIN, key=old)})))
        await spawner.start()
        assert json.loads(spawner.started["env"][APP_ENV_VAR])["API_KEY"] == PLAIN
    finally:
        CryptKeeper.clear_instance()


async def test_without_a_key_secrets_are_refused_with_what_to_set(no_hub_key: None) -> None:
    message = await refusal(owned_by(make(spec2(secret_env={"API_KEY": sealed(PLAIN)}))))
    assert "JUPYTERHUB_CRYPT_KEY" in message
    assert "openssl rand -hex 32" in message


REPO_URL = "https://git.example.org/team/app.git"


async def test_a_repository_token_reaches_the_proxy_only_at_start(hub_key: str) -> None:
    token = sealed(PLAIN, name=REPOSITORY_TOKEN)
    spawner = owned_by(make(spec2(repository={"url": REPO_URL, "secret_token": token})))
    await spawner.start()
    env = spawner.started["env"]
    assert env[GIT_AUTH_ENV_VAR] == PLAIN  # read by the proxy for its clone (it never passes it on)
    assert PLAIN not in env[APP_ENV_VAR]
    assert PLAIN not in " ".join(spawner.started["args"])
    assert f"--repo={REPO_URL}" in spawner.started["args"]
    # The next start without a repository carries no token.
    spawner.user_options = spec2()
    await spawner.start()
    assert GIT_AUTH_ENV_VAR not in spawner.started["env"]


@pytest.mark.parametrize(
    ("token", "words"),
    [
        (lambda: sealed(PLAIN, owner="bob", name=REPOSITORY_TOKEN), "saved for another user"),
        (lambda: sealed(PLAIN, name="API_KEY"), "saved for another user or variable"),
        (lambda: PLAIN, "not encrypted"),
    ],
    ids=["other-owner", "a-secret-variable", "plain"],
)
async def test_a_repository_token_not_made_for_this_app_is_refused(
    hub_key: str, token: Callable[[], str], words: str
) -> None:
    message = await refusal(owned_by(make(spec2(repository={"url": REPO_URL, "secret_token": token()}))))
    assert words in message
    assert "repository" in message
    assert PLAIN not in message


async def test_the_crypt_key_never_reaches_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RecordingSpawner, "get_env", lambda self: {"JUPYTERHUB_CRYPT_KEY": HUB_KEY, "A": "1"})
    spawner = make(spec())
    await spawner.start()
    assert "JUPYTERHUB_CRYPT_KEY" not in spawner.started["env"]
    assert HUB_KEY not in json.dumps(spawner.started)


def test_install_passes_the_crypt_key_to_the_service_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", f"{HUB_KEY};{'c' * 64}")
    c = Config()
    hubapps.install(c)
    assert c.JupyterHub.services[0]["environment"]["JUPYTERHUB_CRYPT_KEY"] == f"{HUB_KEY};{'c' * 64}"
    assert "JUPYTERHUB_CRYPT_KEY" not in json.dumps(c.JupyterHub.services[0]["environment"]["HUBAPPS_SETTINGS"])
    monkeypatch.delenv("JUPYTERHUB_CRYPT_KEY")
    c = Config()
    c.CryptKeeper.keys = [bytes.fromhex(HUB_KEY)]
    hubapps.install(c)
    assert c.JupyterHub.services[0]["environment"]["JUPYTERHUB_CRYPT_KEY"] == HUB_KEY
    c = Config()
    hubapps.install(c)
    assert "JUPYTERHUB_CRYPT_KEY" not in c.JupyterHub.services[0]["environment"]


def test_options_stored_for_later_are_checked_when_written(hub_key: str) -> None:
    """JupyterHub 6 PUT/PATCH write ``orm.Spawner.user_options`` of a stopped server and start nothing."""
    from jupyterhub import orm
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    install_user_options_checks()
    engine = create_engine("sqlite://")
    orm.Base.metadata.create_all(engine)
    db = Session(engine)
    user = orm.User(name="ann")
    db.add(user)
    row = orm.Spawner(name="sales", user=user)
    db.add(row)
    db.commit()
    with pytest.raises(web.HTTPError) as info:
        row.user_options = spec2(secret_env={"API_KEY": PLAIN})
    assert info.value.status_code == 400
    assert info.value.log_message is not None
    assert "secret_env" in info.value.log_message % info.value.args
    assert row.user_options is None
    with pytest.raises(web.HTTPError):
        row.user_options = spec2(secret_env={"API_KEY": sealed(PLAIN, owner="bob")})
    row.user_options = good = spec2(secret_env={"API_KEY": sealed(PLAIN)})
    assert row.user_options == good
    row.user_options = {"not": "an app"}  # other servers are none of the launcher's business
    # A start saves its options first and validates them after (apply_user_options): the stored copy
    # keeps no plain text, whatever the outcome.
    row.server = orm.Server()
    row.user_options = spec2(secret_env={"API_KEY": PLAIN, "GOOD": sealed(PLAIN, name="GOOD")})
    assert set(row.user_options["secret_env"]) == {"GOOD"}


# -- the status key ------------------------------------------------------------------------------------


def _service(c: Config) -> dict[str, Any]:
    return next(s for s in c.JupyterHub.services if s["name"] == "japps")


def test_the_status_key_file_is_created_private_and_kept(tmp_path: Path) -> None:
    c = Config()
    hubapps.install(c)
    path = tmp_path / "jupyterhub_hubapps_status_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    assert len(bytes.fromhex(key)) == 32
    env = _service(c)["environment"]
    assert env[STATUS_KEY_ENV_VAR] == key
    assert key not in env["HUBAPPS_SETTINGS"], "the settings JSON may be logged; the key is not in it"
    again = Config()
    hubapps.install(again)
    assert _service(again)["environment"][STATUS_KEY_ENV_VAR] == key, "a Hub restart keeps the key"


def test_the_status_key_file_lives_next_to_the_cookie_secret(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    c = Config()
    c.JupyterHub.cookie_secret_file = str(tmp_path / "secrets" / "jupyterhub_cookie_secret")
    hubapps.install(c)
    assert (tmp_path / "secrets" / "jupyterhub_hubapps_status_key").exists()
    assert not (tmp_path / "jupyterhub_hubapps_status_key").exists()


def test_a_status_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jupyterhub_hubapps_status_key"
    path.write_text("ab" * 32)
    os.chmod(path, 0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        hubapps.install(Config())


def test_an_admin_set_status_key_is_used_and_checked(tmp_path: Path) -> None:
    c = Config()
    hubapps.install(c, status_key="CD" * 32)
    assert _service(c)["environment"][STATUS_KEY_ENV_VAR] == "cd" * 32
    assert not (tmp_path / "jupyterhub_hubapps_status_key").exists()
    with pytest.raises(ValueError, match="status_key"):
        hubapps.install(Config(), status_key="not hex")


async def test_each_proxy_gets_only_its_own_app_key() -> None:
    spawner = make(spec(), status_key="ef" * 32)
    await spawner.start()
    env = spawner.started["env"]
    assert env[APP_KEY_ENV_VAR] == app_key(bytes.fromhex("ef" * 32), "ann", "sales").hex()
    assert "ef" * 32 not in json.dumps(env)
    assert not any(a.startswith("--status-max-skew") for a in spawner.started["args"])
    spawner = make(spec(), status_key="ef" * 32, status_max_skew=5)
    await spawner.start()
    assert "--status-max-skew=5" in spawner.started["args"]


@pytest.mark.parametrize("options", [spec(framework="jupyterlab", filepath=""), {}, {"profile": "small"}])
async def test_servers_that_are_not_proxy_apps_get_no_status_key(options: dict[str, Any]) -> None:
    spawner = make(options, status_key="ef" * 32)
    await spawner.start()
    assert APP_KEY_ENV_VAR not in spawner.started["env"]


async def test_the_launchers_keys_never_reach_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the admin's env_keep passes on, no server gets the status key or a stale app key."""
    leaked = {STATUS_KEY_ENV_VAR: "ab" * 32, APP_KEY_ENV_VAR: "cd" * 32, "A": "1"}
    monkeypatch.setattr(RecordingSpawner, "get_env", lambda self: dict(leaked))
    for options in (spec(), spec(framework="jupyterlab", filepath=""), {}):
        spawner = make(options)
        await spawner.start()
        env = spawner.started["env"]
        assert STATUS_KEY_ENV_VAR not in env
        assert env.get(APP_KEY_ENV_VAR) != "cd" * 32
        assert env["A"] == "1"


async def test_proxy_limits_reach_every_proxy_as_options_it_parses() -> None:
    from hubapps.core.command import PROXY_LIMITS
    from hubapps.proxy.config import parse_config

    limits = {"log-echo-rate": 100, "log-echo-line-length": 80, "request-body-timeout": 2.5}
    spawner = make(spec(), proxy_limits=limits)
    await spawner.start()
    args = spawner.started["args"]
    options = args[: args.index("--")]
    assert {"--log-echo-rate=100.0", "--log-echo-line-length=80", "--request-body-timeout=2.5"} <= set(options)
    config = parse_config([*options, "--", "app"], {"JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:9"})
    assert (config.log_echo_rate, config.log_echo_line_length, config.request_body_timeout) == (100, 80, 2.5)
    # Every admin limit is an option of the proxy.
    every = [f"--{name}=1" for name in PROXY_LIMITS]
    parse_config([*every, "--", "app"], {"JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:9"})
    for bad in ({"no-such-option": 1}, {"log-echo-rate": -1}, {"request-head-timeout": float("nan")}):
        with pytest.raises(ValueError, match="proxy_limits"):
            make(spec(), proxy_limits=bad)
