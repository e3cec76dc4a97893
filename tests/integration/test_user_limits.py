"""Per-user limits on a real Hub (issue 10, requirement 9): one user once created 200 public apps in
2.7 s, filling everyone's gallery. With small limits on a Hub of its own, the N+1st app, running app
and public app are refused with 409 naming the limit, through the launcher (API, CLI) and straight
through the Hub's REST API (the spawner mixin at start, and when a public spec is stored).

JupyterHub 5 creates an app by starting it, so there a creation counts as a start too (the limit on
running apps applies to it): the tests stop each app they create.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.integration.conftest import HUB_6, Hub, own_hub

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
import hubapps

# The shared configuration's limits are high; these are small. install() again, so that the
# service gets them too (it reads the settings install() hands it).
c.HubApps.allow_public_apps = True  # the module makes apps public
c.HubApps.max_apps_per_user = 2
c.HubApps.max_running_apps_per_user = 1
c.HubApps.max_public_apps_per_user = 1
# JupyterHub's own limit, set before install() so the launcher knows it too. It counts every named
# server and binds admins (who are exempt from the launcher's limits); one above max_apps_per_user so
# that a user's stored spec through the Hub's API (below) is not refused by it.
c.JupyterHub.named_server_limit_per_user = 3
hubapps.install(c)
"""


@pytest.fixture(scope="module")
def limits_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("limits-hub"), CONFIG) as running:
        yield running


@pytest.fixture
def user(limits_hub: Hub) -> Iterator[tuple[str, str]]:
    name = f"limits-{secrets.token_hex(3)}"
    yield name, limits_hub.token_for(name)
    model = limits_hub.api("GET", f"users/{name}", params={"include_stopped_servers": "1"}).json()
    for server in model.get("servers") or {}:
        if server:
            limits_hub.stop_app(name, server, remove=True)


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as c:
        yield c


def _spec(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "framework": "command",
        "display_name": name,
        "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
        **extra,
    }


def _refused(r: httpx.Response, limit: str, field: str | None) -> str:
    assert r.status_code == 409, r.text
    body = r.json()
    assert (body["code"], body["field"]) == ("limit_reached", field), body
    assert limit in body["detail"]
    return str(body["detail"])


def test_the_third_app_is_refused(limits_hub: Hub, client: httpx.Client, user: tuple[str, str]) -> None:
    name, token = user
    api, auth = limits_hub.url + "services/japps/api/apps", {"Authorization": f"token {token}"}
    for display in ("One", "Two"):
        assert client.post(api, headers=auth, json=_spec(display)).status_code == 201
        limits_hub.stop_if_started(name, display.lower())
    detail = _refused(client.post(api, headers=auth, json=_spec("Three")), "max_apps_per_user", None)
    assert "2 apps of 2 allowed" in detail
    model = limits_hub.api("GET", f"users/{name}", params={"include_stopped_servers": "1"}).json()
    assert sorted(s for s in model["servers"] if s) == ["one", "two"]


def test_an_admin_is_refused_at_the_hubs_named_server_limit(limits_hub: Hub, client: httpx.Client) -> None:
    """Admins are exempt from max_apps_per_user but not from the Hub's named_server_limit_per_user: the
    launcher refuses the 4th app itself, naming the Hub's setting, before the Hub would."""
    name = "admin"  # c.Authenticator.admin_users in the integration config
    token = limits_hub.token_for(name)
    assert limits_hub.api("GET", f"users/{name}").json()["admin"] is True
    api, auth = limits_hub.url + "services/japps/api/apps", {"Authorization": f"token {token}"}
    try:
        for display in ("One", "Two", "Three"):
            assert client.post(api, headers=auth, json=_spec(display)).status_code == 201
            limits_hub.stop_if_started(name, display.lower())
        detail = _refused(client.post(api, headers=auth, json=_spec("Four")), "named_server_limit_per_user", None)
        assert "3 named servers of 3 allowed per user on this Hub" in detail
        assert "delete a server or app first" in detail
        model = limits_hub.api("GET", f"users/{name}", params={"include_stopped_servers": "1"}).json()
        assert sorted(s for s in model["servers"] if s) == ["one", "three", "two"]
    finally:
        model = limits_hub.api("GET", f"users/{name}", params={"include_stopped_servers": "1"}).json()
        for server in model.get("servers") or {}:
            if server:
                limits_hub.stop_app(name, server, remove=True)


def test_the_second_public_app_is_refused(limits_hub: Hub, client: httpx.Client, user: tuple[str, str]) -> None:
    name, token = user
    api, auth = limits_hub.url + "services/japps/api/apps", {"Authorization": f"token {token}"}
    assert client.post(api, headers=auth, json=_spec("Open", public=True)).status_code == 201
    limits_hub.stop_if_started(name, "open")
    r = client.post(api, headers=auth, json=_spec("Also open", public=True))
    assert "1 public app of 1 allowed" in _refused(r, "max_public_apps_per_user", "public")
    # A private app cannot be made public either.
    assert client.post(api, headers=auth, json=_spec("Closed")).status_code == 201
    limits_hub.stop_if_started(name, "closed")
    _refused(
        client.patch(f"{api}/{name}/closed", headers=auth, json={"public": True}), "max_public_apps_per_user", "public"
    )
    # Nor stored public straight through the Hub's API (it would reach the gallery at the next listing):
    # JupyterHub 6 stores a spec with PUT, JupyterHub 5 at a start.
    stored = {"spec_version": 2, "jhub_app": True, **_spec("Direct", public=True)}
    if HUB_6:
        r = limits_hub.api(
            "PUT", f"users/{name}/servers/direct", token=token, json={"user_options": stored, "display_name": "Direct"}
        )
    else:
        r = limits_hub.start_app(name, "direct", stored, token=token)
    assert r.status_code == 409, r.text
    assert "max_public_apps_per_user" in r.text
    gallery = client.get(api, headers=auth, params={"access": "public"}).json()["data"]
    gallery += client.get(api, headers=auth, params={"access": "owned"}).json()["data"]
    assert [a["name"] for a in gallery if a["public"]] == ["open"]


@pytest.mark.timeout(120)  # one real app starts
def test_the_second_running_app_is_refused(limits_hub: Hub, client: httpx.Client, user: tuple[str, str]) -> None:
    name, token = user
    api, auth = limits_hub.url + "services/japps/api/apps", {"Authorization": f"token {token}"}
    r = client.post(api, headers=auth, json=_spec("Second"))
    assert r.status_code == 201, r.text
    limits_hub.stop_if_started(name, "second")
    assert client.post(api, headers=auth, json=_spec("First", start=True)).status_code == 201
    limits_hub.wait_ready(name, "first")
    detail = _refused(client.post(f"{api}/{name}/second/start", headers=auth), "max_running_apps_per_user", "start")
    assert "1 running app of 1 allowed" in detail

    # Straight through the Hub's REST API: the spawner mixin refuses the start before anything runs. (No
    # body: the stored spec. On JupyterHub 5 a body of {} would be new, empty options: a plain server.)
    r = limits_hub.api("POST", f"users/{name}/servers/second", token=token, timeout=60.0)
    assert r.status_code == 409, r.text
    assert "max_running_apps_per_user" in r.text
    assert limits_hub.server_model(name, "second") is None

    # The CLI prints the launcher's message.
    env = {**os.environ, "JUPYTERHUB_URL": limits_hub.url, "JUPYTERHUB_API_TOKEN": token}
    result = subprocess.run(
        [sys.executable, "-m", "hubapps.cli", "start", f"{name}/{quote('second')}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "limit reached: 1 running app of 1 allowed per user (max_running_apps_per_user)" in result.stderr
    assert "(HTTP 409)" in result.stderr
