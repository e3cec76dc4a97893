"""Upstream JHub Apps' ``c.JAppsConfig`` settings as aliases of ``c.HubApps`` traits, and the drop-in
module upstream configurations import (``hubapps.jhub_apps``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jupyterhub.app import JupyterHub
from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets.config import Config

from hubapps.hub.conda_envs import CONDA_ENVS_PATH, CondaEnvironmentsHandler, conda_envs_for
from hubapps.hub.config import HubApps
from hubapps.jhub_apps import (
    install_jhub_apps,
    is_jupyterhub_5,
    service_for_jhub_apps,
    theme_template_paths,
    themes,
)
from hubapps.service.settings import ServiceSettings

KEY = "ab" * 32


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _installed(**japps: Any) -> Config:
    c = Config()
    c.HubApps.status_key = KEY
    for name, value in japps.items():
        c.JAppsConfig[name] = value
    return install_jhub_apps(c, spawner_to_subclass=SimpleLocalProcessSpawner, oauth_no_confirm=True)


def _launcher(c: Config) -> dict[str, Any]:
    service: dict[str, Any] = next(s for s in c.JupyterHub.services if s["name"] == "japps")
    return service


def _service_settings(c: Config) -> dict[str, Any]:
    settings: dict[str, Any] = json.loads(_launcher(c)["environment"]["HUBAPPS_SETTINGS"])
    return settings


# -- the module upstream configurations import --------------------------------------------------------


def test_install_jhub_apps_returns_the_config_it_installed_into() -> None:
    """Upstream configs read ``c = install_jhub_apps(c, ...)``: anything but ``c`` breaks the rest of the file."""
    c = Config()
    c.HubApps.status_key = KEY
    returned = install_jhub_apps(c, spawner_to_subclass=SimpleLocalProcessSpawner)
    assert returned is c
    assert issubclass(c.JupyterHub.spawner_class, SimpleLocalProcessSpawner)
    assert c.JupyterHub.allow_named_servers is True
    assert _launcher(c)["oauth_no_confirm"] is False, "upstream's default keeps the Hub's authorize page"


def test_theme_template_paths_keep_the_launcher_home() -> None:
    """``c.JupyterHub.template_paths = theme_template_paths`` after install keeps hubapps' templates first."""
    c = _installed()
    assert c.JupyterHub.template_paths[0] == theme_template_paths[0]
    assert (Path(theme_template_paths[0]) / "home.html").is_file()


def test_default_theme_loads_nothing_from_outside_the_hub() -> None:
    assert not any(str(v).startswith(("http:", "https:", "//")) for v in themes.DEFAULT_THEME.values())


def test_is_jupyterhub_5_means_sharing_exists() -> None:
    from jupyterhub import version_info

    assert is_jupyterhub_5() is (version_info[0] >= 5)


def test_service_for_jhub_apps_is_upstreams_shape() -> None:
    assert service_for_jhub_apps("Monitoring", "/grafana", description="Dashboards", pinned=True) == {
        "name": "Monitoring",
        "display": True,
        "info": {
            "name": "Monitoring",
            "description": "Dashboards",
            "url": "/grafana",
            "external": True,
            "pinned": True,
            "thumbnail": None,
        },
    }


# -- each c.JAppsConfig name -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "trait", "expected"),
    [
        ("app_title", "Data apps", "title", "Data apps"),
        ("app_icon", "https://example.org/icon.svg", "app_icon", "https://example.org/icon.svg"),
        ("default_thumbnail", "/static/card.png", "default_thumbnail", "/static/card.png"),
        ("python_exec", "/opt/hub/bin/python", "service_python", "/opt/hub/bin/python"),
        ("service_workers", 3, "service_workers", 3),
        ("allowed_frameworks", ["panel", "streamlit"], "allowed_frameworks", ["panel", "streamlit"]),
        ("allowed_frameworks", None, "allowed_frameworks", []),
        ("blocked_frameworks", ["jupyterlab"], "blocked_frameworks", ["jupyterlab"]),
        ("blocked_frameworks", None, "blocked_frameworks", []),
        ("conda_envs", ["data", "geo"], "conda_envs", ["data", "geo"]),
    ],
)
def test_each_upstream_name_sets_its_hubapps_trait(name: str, value: Any, trait: str, expected: Any) -> None:
    c = _installed(**{name: value})
    assert getattr(HubApps(config=c), trait) == expected


def test_python_exec_runs_the_launcher_service() -> None:
    c = _installed(python_exec="/opt/hub/bin/python", service_workers=3)
    command = _launcher(c)["command"]
    assert command[0] == "/opt/hub/bin/python"
    assert command[command.index("--workers") + 1] == "3"


def test_titles_frameworks_icons_and_conda_names_reach_the_service() -> None:
    c = _installed(
        app_title="Data apps",
        app_icon="/static/icon.svg",
        default_thumbnail="https://example.org/card.png",
        blocked_frameworks=["jupyterlab"],
        conda_envs=["geo", "data"],
    )
    settings = ServiceSettings.model_validate(_service_settings(c))
    assert settings.title == "Data apps"
    assert settings.app_icon == "/static/icon.svg"
    assert settings.default_thumbnail == "https://example.org/card.png"
    assert settings.blocked_frameworks == ["jupyterlab"]
    assert settings.static_environment_names == ["data", "geo"]
    assert settings.conda_envs_from_hub is False
    assert c.JupyterHub.template_vars["hubapps_icon"] == "/static/icon.svg"


def test_a_callable_conda_envs_stays_in_the_hub() -> None:
    """The service gets no names, only that it must ask the Hub, which has a handler for it."""
    c = _installed(conda_envs=lambda user: ["mine"])
    settings = _service_settings(c)
    assert settings["conda_envs"] == []
    assert settings["conda_envs_from_hub"] is True
    assert (CONDA_ENVS_PATH, CondaEnvironmentsHandler) in c.JupyterHub.extra_handlers


@pytest.mark.parametrize(
    ("hub_host", "url", "listens_on"),
    [
        ("hub", "http://hub:10202", "0.0.0.0"),
        ("127.0.0.1", "http://127.0.0.1:10202", "127.0.0.1"),
        ("localhost", "http://localhost:10202", "127.0.0.1"),
        ("fd00::5", "http://[fd00::5]:10202", "0.0.0.0"),
    ],
)
def test_hub_host_is_the_host_of_the_services_url(hub_host: str, url: str, listens_on: str) -> None:
    """Where the Hub's proxy reaches the service; from another host the service listens on every interface."""
    c = _installed(hub_host=hub_host)
    assert _launcher(c)["url"] == url
    command = _launcher(c)["command"]
    assert command[command.index("--host") + 1] == listens_on


def test_hub_host_keeps_the_admins_port_and_listening_address() -> None:
    c = Config()
    c.HubApps.status_key = KEY
    c.HubApps.service_host = "10.0.0.5"
    c.JAppsConfig.hub_host = "hub"
    install_jhub_apps(c, "simple")
    command = _launcher(c)["command"]
    assert command[command.index("--host") + 1] == "10.0.0.5"
    c = Config()
    c.HubApps.status_key = KEY
    c.JAppsConfig.hub_host = "hub"
    from hubapps.hub.install import install

    install(c, "simple", service_port=10300)
    assert _launcher(c)["url"] == "http://hub:10300"


def test_startup_apps_are_read_in_upstreams_format() -> None:
    entry = {
        "username": "admin",
        "servername": "Admin's Panel App",
        "user_options": {"display_name": "Panel", "framework": "panel", "filepath": "app.py"},
    }
    c = _installed(startup_apps=[entry])
    (ours,) = _service_settings(c)["startup_apps"]
    assert (ours["owner"], ours["server"]) == ("admin", "admins-panel-app")


def test_additional_services_are_hub_services_and_pinned_ones_quick_access_cards() -> None:
    c = _installed(
        additional_services=[
            {"name": "Argo", "url": "/argo"},
            {
                "name": "Environments",
                "url": "/conda-store",
                "description": "Your environments",
                "pinned": True,
                "thumbnail": "https://example.org/logo.svg",
            },
            {"name": "Inline", "url": "/inline", "pinned": True, "thumbnail": "data:image/png;base64,AAAA"},
        ]
    )
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert services["Argo"] == {
        "name": "Argo",
        "display": True,
        "info": {
            "name": "Argo",
            "description": None,
            "url": "/argo",
            "external": True,
            "pinned": False,
            "thumbnail": None,
        },
    }
    assert services["Environments"]["info"]["pinned"] is True
    pinned = HubApps(config=c).pinned_services
    assert pinned == [
        {
            "name": "Environments",
            "url": "/conda-store",
            "description": "Your environments",
            "thumbnail": "https://example.org/logo.svg",
        },
        {"name": "Inline", "url": "/inline", "description": "", "thumbnail": ""},
    ]
    assert c.JupyterHub.template_vars["hubapps_pinned"] == pinned


@pytest.mark.parametrize(
    ("name", "value", "note"),
    [
        ("jupyterhub_config_path", "/etc/jupyterhub/jupyterhub_config.py", "never re-executes"),
        ("jhub_app_proxy_version", "v0.2.2", "nothing is downloaded"),
        ("apps_auth_type", "none", "checked by its proxy"),
    ],
)
def test_names_without_an_equivalent_are_accepted_with_a_note(
    name: str, value: str, note: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="hubapps"):
        _installed(**{name: value})
    (line,) = [r.getMessage() for r in caplog.records if f"c.JAppsConfig.{name}" in r.getMessage()]
    assert note in line


def test_an_unknown_name_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    _installed(bogus_setting=1)
    assert "c.JAppsConfig.bogus_setting is unknown" in caplog.text


def test_an_icon_that_is_not_a_link_is_refused() -> None:
    with pytest.raises(ValueError, match="app_icon"):
        _installed(app_icon="javascript:alert(1)")


# -- set after install_jhub_apps(c) ----------------------------------------------------------------------


def _load(tmp_path: Path, body: str) -> JupyterHub:
    path = tmp_path / "jupyterhub_config.py"
    path.write_text(
        "from hubapps.jhub_apps import install_jhub_apps\n"
        f"c = get_config()  # noqa: F821\nc.HubApps.status_key = {KEY!r}\n{body}\n"
    )
    app = JupyterHub()
    app.load_config_file(str(path))
    return app


def test_names_the_service_reads_may_be_set_after_install(tmp_path: Path) -> None:
    app = _load(
        tmp_path,
        "c = install_jhub_apps(c, 'simple')\n"
        "c.JAppsConfig.conda_envs = ['late']\n"
        "c.JAppsConfig.blocked_frameworks = ['voila']\n"
        "c.JAppsConfig.default_thumbnail = '/static/late.png'\n",
    )
    (service,) = (s for s in app.services if s["name"] == "japps")
    settings = ServiceSettings.from_env(service["environment"])
    assert settings.static_environment_names == ["late"]
    assert settings.blocked_frameworks == ["voila"]
    assert settings.default_thumbnail == "/static/late.png"


def test_a_callable_set_after_install_is_asked_of_the_hub(tmp_path: Path) -> None:
    app = _load(tmp_path, "c = install_jhub_apps(c, 'simple')\nc.JAppsConfig.conda_envs = lambda user: []\n")
    (service,) = (s for s in app.services if s["name"] == "japps")
    assert ServiceSettings.from_env(service["environment"]).conda_envs_from_hub is True


@pytest.mark.parametrize(("name", "value"), [("service_workers", 4), ("hub_host", "hub"), ("app_title", "Late")])
def test_names_install_applied_at_once_stop_the_hub_when_set_later(tmp_path: Path, name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"c\.JAppsConfig\.{name} set .* after install_jhub_apps"):
        _load(tmp_path, f"c = install_jhub_apps(c, 'simple')\nc.JAppsConfig.{name} = {value!r}\n")


# -- a callable conda_envs, run in the Hub -----------------------------------------------------------------


def _settings(conda_envs: Any, timeout: float = 5.0) -> HubApps:
    return HubApps(conda_envs=conda_envs, conda_envs_timeout=timeout)


USER = {"name": "ann", "admin": False, "groups": ["geo"], "auth_state": {"namespaces": ["geo", "ann"]}}


def test_a_callable_gets_the_users_model_with_auth_state() -> None:
    seen: list[dict[str, Any]] = []

    def by_namespace(user: dict[str, Any]) -> list[str]:
        seen.append(user)
        return [f"{ns}-env" for ns in user["auth_state"]["namespaces"]]

    assert asyncio.run(conda_envs_for(_settings(by_namespace), USER)) == ["geo-env", "ann-env"]
    assert seen == [USER]


def test_an_async_callable_is_awaited() -> None:
    async def names(user: dict[str, Any]) -> list[str]:
        return [user["name"]]

    assert asyncio.run(conda_envs_for(_settings(names), USER)) == ["ann"]


def _raises(user: dict[str, Any]) -> list[str]:
    raise RuntimeError("conda-store is down")


def _slow(user: dict[str, Any]) -> list[str]:
    time.sleep(0.5)
    return ["late"]


@pytest.mark.parametrize(
    ("source", "timeout"),
    [(_raises, 5.0), (_slow, 0.05), (lambda user: "data", 5.0), (lambda user: [1, 2], 5.0)],
    ids=["error", "timeout", "a string", "not names"],
)
def test_a_failing_callable_offers_none(
    source: Callable[[dict[str, Any]], Any], timeout: float, caplog: pytest.LogCaptureFixture
) -> None:
    assert asyncio.run(conda_envs_for(_settings(source, timeout), USER)) == []
    assert "'ann'" in caplog.text, "the log names the user whose names are missing"


def test_a_list_is_the_same_for_everyone() -> None:
    assert asyncio.run(conda_envs_for(_settings(["data"]), USER)) == ["data"]


def test_a_name_set_after_a_subconfig_that_installed_reaches_the_service(tmp_path: Path) -> None:
    """``load_subconfig()`` of a file that installed, then ``c.JAppsConfig`` set: the late call still sees it."""
    (tmp_path / "main.py").write_text(
        f"from hubapps.jhub_apps import install_jhub_apps\nc = get_config()  # noqa: F821\n"
        f"c.HubApps.status_key = {KEY!r}\nc = install_jhub_apps(c, 'simple')\n"
    )
    path = tmp_path / "jupyterhub_config.py"
    path.write_text(
        f"c = get_config()  # noqa: F821\nload_subconfig({str(tmp_path / 'main.py')!r})  # noqa: F821\n"
        "c.JAppsConfig.conda_envs = lambda user: []\n"
    )
    app = JupyterHub()
    app.load_config_file(str(path))
    (service,) = (s for s in app.services if s["name"] == "japps")
    assert ServiceSettings.from_env(service["environment"]).conda_envs_from_hub is True


def test_installing_twice_adds_no_service_or_card_twice() -> None:
    c = _installed(additional_services=[{"name": "Docs", "url": "/docs", "pinned": True}])
    c.HubApps.pinned_services = [*c.HubApps.pinned_services, {"name": "Mine", "url": "/mine"}]
    install_jhub_apps(c, spawner_to_subclass=SimpleLocalProcessSpawner)
    assert [s["name"] for s in c.JupyterHub.services].count("Docs") == 1
    assert [p["name"] for p in HubApps(config=c).pinned_services] == ["Mine", "Docs"]


def test_the_spawner_allows_listed_conda_names_and_leaves_a_callables_to_the_launcher() -> None:
    """At start the spawner knows a list's names; a callable's are per user, checked when the app is saved."""
    from hubapps.hub.spawner import make_spawner_class

    spawner_class = make_spawner_class(SimpleLocalProcessSpawner)
    c = Config()
    c.HubApps.environments = {"base": "/opt/envs/base"}
    c.HubApps.conda_envs = ["data"]
    assert spawner_class(config=c).hubapps_policy().environments == frozenset({"base", "data"})
    c.HubApps.conda_envs = lambda user: ["data"]
    assert spawner_class(config=c).hubapps_policy().environments is None
