"""install(c) under JupyterHub's ``subdomain_host``: ``__Host-`` login cookies for https, the launcher's
origin for the Hub's templates (tests/integration/test_subdomains.py runs the real thing)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import Config

import hubapps


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """install() keeps its status key file in the folder the Hub runs in."""
    monkeypatch.chdir(tmp_path)


def _installed(**jupyterhub: object) -> Config:
    c = Config()
    for key, value in jupyterhub.items():
        c.JupyterHub[key] = value
    hubapps.install(c, spawner_class="simple")
    return c


def _service_settings(c: Config) -> dict[str, object]:
    service = next(s for s in c.JupyterHub.services if s["name"] == "japps")
    settings: dict[str, object] = json.loads(service["environment"]["HUBAPPS_SETTINGS"])
    return settings


def test_https_subdomains_get_host_prefixed_cookies() -> None:
    c = _installed(subdomain_host="https://hub.example.org")
    assert c.JupyterHub.cookie_host_prefix_enabled is True
    assert _service_settings(c)["subdomain_host"] == "https://hub.example.org"
    # JupyterHub's own reading: no scheme means https.
    assert _installed(subdomain_host="hub.example.org").JupyterHub.cookie_host_prefix_enabled is True


def test_the_admins_choice_is_kept_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hubapps"):
        c = _installed(subdomain_host="https://hub.example.org", cookie_host_prefix_enabled=False)
    assert c.JupyterHub.cookie_host_prefix_enabled is False
    assert "cookie tossing" in caplog.text


def test_plain_http_subdomains_warn_and_no_subdomains_change_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hubapps"):
        c = _installed(subdomain_host="http://hub.test:8000")
    assert "cookie_host_prefix_enabled" not in c.JupyterHub
    assert "plain http" in caplog.text
    plain = _installed()
    assert "cookie_host_prefix_enabled" not in plain.JupyterHub
    assert _service_settings(plain)["subdomain_host"] == ""


def test_templates_get_the_launchers_own_origin() -> None:
    origin = _installed().JupyterHub.template_vars["hubapps_origin"]
    service = SimpleNamespace(host="https://japps--service.hub.example.org")
    assert origin(SimpleNamespace(settings={"services": {"japps": service}})) == service.host
    assert origin(SimpleNamespace(settings={"services": {"japps": SimpleNamespace(host="")}})) == ""
    assert origin(None) == ""


def test_the_login_page_gets_the_launchers_origin_from_the_running_hub() -> None:
    """No user on the login page: the origin (where the theme's stylesheet is) comes from the Hub itself."""
    from jupyterhub.app import JupyterHub

    origin = _installed().JupyterHub.template_vars["hubapps_origin"]
    JupyterHub.clear_instance()
    assert origin(None) == ""  # no Hub running
    running = JupyterHub.instance()
    try:
        service = SimpleNamespace(host="https://japps--service.hub.example.org")
        running.tornado_settings = {"services": {"japps": service}}
        assert origin(None) == service.host
    finally:
        JupyterHub.clear_instance()
