"""Each admin setting is declared once (a ``HubApps`` trait) and reaches the service, even when set in
``jupyterhub_config.py`` after ``hubapps.install(c)``.

The late-setting tests load a real ``jupyterhub_config.py`` through JupyterHub's own config loading
(``JupyterHub.load_config_file``, as ``jupyterhub`` does at start), without starting a Hub.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from jupyterhub.app import JupyterHub
from pydantic import ValidationError

from hubapps.hub.config import HubApps, service_value
from hubapps.service.settings import ServiceSettings

KEY = "ab" * 32
#: Fields of ServiceSettings that are not admin settings: what the Hub tells every managed service
#: (JUPYTERHUB_*), what install() works out from the rest of the Hub's config, and the secrets.
NOT_ADMIN = {
    "prefix",
    "hub_api_url",
    "hub_prefix",
    "api_token",
    "client_id",
    "oauth_callback_url",
    "access_scopes",
    "public_url",
    "hub_host",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_client_ca",
    "subdomain_host",
    "profiles",
    "named_server_limit_per_user",
    "theme",
    "conda_envs_from_hub",
    "cookie_secret",
    "crypt_key",
    "status_key",
}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _service_traits() -> dict[str, Any]:
    return dict(HubApps.class_traits(service=True))


def test_every_admin_field_of_the_service_is_a_trait_with_help_and_the_same_default() -> None:
    traits = _service_traits()
    admin = set(ServiceSettings.model_fields) - NOT_ADMIN
    assert admin == set(traits), "every admin field of ServiceSettings is a HubApps trait tagged service=True"
    for name, trait in traits.items():
        field = ServiceSettings.model_fields[name]
        assert len(inspect.cleandoc(trait.help or "")) > 20, f"c.HubApps.{name} needs a help text"
        assert field.description == inspect.cleandoc(trait.help)
        default = field.get_default(call_default_factory=True)
        assert default == service_value(trait, trait.default()), f"{name}: one default, the trait's"
        assert ServiceSettings().model_dump()[name] == service_value(trait, getattr(HubApps(), name))


def test_the_service_limits_are_admin_settings() -> None:
    """Issue 11: these were hard-coded in the service, out of the admin's reach."""
    limits = {
        "max_body_bytes",
        "user_cache_ttl",
        "shared_cache_ttl",
        "directory_cache_ttl",
        "cache_max_entries",
        "hub_max_connections",
        "hub_idle_connections",
        "cookie_cache_ttl",
        "page_default",
        "page_max",
        "stop_wait",
        "start_wait",
        "restart_timeout",
        "app_status_timeout",
        "app_status_max_bytes",
        "log_lines_max",
        "oauth_state_max_age",
        "cookie_max_age",
        "thumbnail_max_bytes",
        "thumbnail_max_pixels",
        "thumbnail_decode_workers",
        "thumbnail_width",
        "thumbnail_height",
        "gallery_page_size",
        "gallery_page_max",
        "share_suggestions_max",
        "watch_poll_seconds",
    }
    assert limits <= set(_service_traits())


def test_the_database_defaults_agree() -> None:
    assert ServiceSettings().database_url == HubApps().database_url == "sqlite:///hubapps.sqlite"


def _changed(trait: Any) -> Any:
    """A valid value of ``trait`` other than its default."""
    value = trait.default()
    if trait.name == "service_name":
        return "launcher"
    if trait.name in ("allowed_frameworks", "blocked_frameworks"):
        return ["streamlit"]
    if trait.name == "git_allowed_protocols":
        return ["https", "file"]
    if trait.name == "git_allowed_hosts":
        return ["git.example.org"]
    if trait.name == "environments":
        return {"data": "/opt/envs/data"}
    if trait.name == "conda_envs":
        return ["data"]
    if trait.name in ("app_icon", "default_thumbnail"):
        return "/static/launcher.svg"
    if trait.name == "startup_apps":
        return [HubApps(startup_apps=[{"owner": "ann", "framework": "panel", "display_name": "A"}]).startup_apps[0]]
    if getattr(trait, "values", None):  # an Enum: another of its values
        return next(v for v in trait.values if v != value)
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int | float):
        return value + 3
    if isinstance(value, str):
        return value + "-x" if "://" not in value else value + "2"
    raise AssertionError(f"no changed value for {trait.name}")


@pytest.mark.parametrize("name", sorted(HubApps.class_trait_names(service=True)))
def test_service_settings_round_trip_for_every_trait(name: str) -> None:
    trait = HubApps.class_traits()[name]
    value = _changed(trait)
    data = json.loads(json.dumps(HubApps(**{name: value}).service_settings()))
    settings = ServiceSettings.model_validate(data)
    assert getattr(settings, name) == service_value(trait, value)
    assert getattr(settings, name) != getattr(ServiceSettings(), name)


@pytest.mark.parametrize("name", sorted(n for n, t in HubApps.class_traits(service=True).items() if "gt" in t.metadata))
def test_bounds_are_checked_on_both_sides(name: str) -> None:
    bound = HubApps.class_traits()[name].metadata["gt"]
    with pytest.raises(ValueError, match=name):
        HubApps(**{name: bound})
    with pytest.raises(ValidationError):
        ServiceSettings(**{name: bound})


# -- settings set after install(c) ----------------------------------------------------------------------


def _load(tmp_path: Path, body: str) -> JupyterHub:
    """``jupyterhub_config.py`` with ``body`` loaded as JupyterHub loads it at start."""
    path = tmp_path / "jupyterhub_config.py"
    path.write_text(f"import hubapps\nc = get_config()  # noqa: F821\nc.HubApps.status_key = {KEY!r}\n{body}\n")
    app = JupyterHub()
    app.load_config_file(str(path))
    return app


def _service_env(app: JupyterHub) -> dict[str, str]:
    (service,) = app.services
    env: dict[str, str] = service["environment"]
    return env


def test_settings_set_after_install_reach_the_service(tmp_path: Path) -> None:
    """The attack on the admin's intent: a limit set after install() was silently not applied."""
    app = _load(
        tmp_path,
        "hubapps.install(c, spawner_class='simple')\n"
        "c.HubApps.max_running_apps_per_user = 2\n"
        "c.HubApps.blocked_frameworks = ['jupyterlab']\n"
        "c.HubApps.environments = {'data': '/opt/envs/data'}\n",
    )
    settings = ServiceSettings.from_env(_service_env(app))
    assert settings.max_running_apps_per_user == 2
    assert settings.blocked_frameworks == ["jupyterlab"]
    assert settings.environments == ["data"]


def test_the_proxy_url_follows_the_hubs_address_set_after_install(tmp_path: Path) -> None:
    """The service reaches apps through the proxy: an https bind_url set after install() is where it is
    (it was left at the http address install() saw); a proxy_url of the admin's own stays theirs."""
    late_tls = "c.JupyterHub.bind_url = 'http://127.0.0.1:8443'\nc.JupyterHub.ssl_cert = '/etc/tls.crt'\n"
    app = _load(tmp_path, "hubapps.install(c, spawner_class='simple')\n" + late_tls)
    assert ServiceSettings.from_env(_service_env(app)).proxy_url == "https://127.0.0.1:8443"
    own = "c.HubApps.proxy_url = 'http://proxy-public'\nhubapps.install(c, spawner_class='simple')\n"
    app = _load(tmp_path, own + late_tls)
    assert ServiceSettings.from_env(_service_env(app)).proxy_url == "http://proxy-public"


def test_a_status_key_set_after_install_reaches_the_service(tmp_path: Path) -> None:
    other = "cd" * 32
    app = _load(tmp_path, f"hubapps.install(c, spawner_class='simple')\nc.HubApps.status_key = {other!r}\n")
    assert ServiceSettings.from_env(_service_env(app)).status_key_bytes == bytes.fromhex(other)


def test_settings_set_before_install_are_unchanged(tmp_path: Path) -> None:
    app = _load(tmp_path, "c.HubApps.stop_wait = 0\nhubapps.install(c, spawner_class='simple', start_wait=0)\n")
    settings = ServiceSettings.from_env(_service_env(app))
    assert (settings.stop_wait, settings.start_wait) == (0, 0)


def test_an_edited_settings_json_is_kept(tmp_path: Path) -> None:
    """A config that rewrites HUBAPPS_SETTINGS itself after install() (as some tests do) keeps its edit."""
    app = _load(
        tmp_path,
        "import json\n"
        "hubapps.install(c, spawner_class='simple')\n"
        "env = c.JupyterHub.services[0]['environment']\n"
        "env['HUBAPPS_SETTINGS'] = json.dumps({**json.loads(env['HUBAPPS_SETTINGS']), 'stop_wait': 0})\n",
    )
    assert ServiceSettings.from_env(_service_env(app)).stop_wait == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [("service_port", 10999), ("title", "Late"), ("home_page", False), ("grant_user_sharing", True)],
)
def test_a_setting_install_applied_at_once_stops_the_hub_when_set_later(
    tmp_path: Path, name: str, value: object
) -> None:
    """Settings install() turns into the Hub's own configuration (the service's command line, roles,
    pages) cannot follow a later change: the Hub does not start, and says which one to move."""
    with pytest.raises(ValueError, match=rf"c\.HubApps\.{name}\b.*after hubapps\.install"):
        _load(tmp_path, f"hubapps.install(c, spawner_class='simple')\nc.HubApps.{name} = {value!r}\n")


def test_a_list_appended_to_after_install_is_named_too(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"c\.HubApps\.pinned_services\b"):
        _load(
            tmp_path,
            "hubapps.install(c, spawner_class='simple')\n"
            "c.HubApps.pinned_services.append({'name': 'Docs', 'url': '/services/docs/'})\n",
        )


def test_the_same_value_again_after_install_is_no_change(tmp_path: Path) -> None:
    app = _load(tmp_path, "hubapps.install(c, spawner_class='simple', title='Tools')\nc.HubApps.title = 'Tools'\n")
    assert ServiceSettings.from_env(_service_env(app)).title == "Tools"


def test_sharing_turned_on_late_reaches_the_service_with_the_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="hubapps"):
        app = _load(tmp_path, "hubapps.install(c, spawner_class='simple')\nc.HubApps.allow_sharing = True\n")
    assert ServiceSettings.from_env(_service_env(app)).allow_sharing is True
    assert "c.HubApps.allow_sharing = True" in caplog.text
    assert "subdomain_host" in caplog.text


def test_sharing_changed_late_under_grant_user_sharing_stops_the_hub(tmp_path: Path) -> None:
    """install() granted (or not) the sharing scopes by the value it saw; a later one cannot follow."""
    with pytest.raises(ValueError, match=r"c\.HubApps\.allow_sharing\b.*after hubapps\.install"):
        _load(
            tmp_path,
            "hubapps.install(c, spawner_class='simple', grant_user_sharing=True)\nc.HubApps.allow_sharing = True\n",
        )
