"""Upstream JHub Apps' REST API against the real Hub: one contract test per route, upstream's shapes.

A script written for upstream (``requests`` with ``Authorization: Bearer <Hub token>``, multipart
``data`` + ``thumbnail``) must get the keys, types and status codes upstream's routes give
(``jhub_apps/service/routes.py``, ``models.py``). The apps run ``tests/resources/echo_app.py`` as a
``custom`` command, the lightest real app. The translation rules are unit-tested in
``tests/unit/service/test_upstream.py``.
"""

from __future__ import annotations

import io
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from PIL import Image

from tests.integration.conftest import Hub, login_to_service

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

ECHO = Path(__file__).resolve().parents[1] / "resources" / "echo_app.py"
#: The keys of upstream's server models (a Hub server model; ``state`` is the spawner's, always null here).
SERVER_KEYS = {"name", "ready", "pending", "url", "progress_url", "started", "last_activity", "stopped", "state"}
#: The keys of upstream's ``user_options`` (``jhub_apps/service/models.py::UserOptions``).
OPTION_KEYS = {
    "jhub_app",
    "display_name",
    "description",
    "thumbnail",
    "filepath",
    "framework",
    "custom_command",
    "public",
    "keep_alive",
    "env",
    "repository",
    "conda_env",
    "profile",
    "profile_image",
    "share_with",
}


def bearer(token: str) -> dict[str, str]:
    """Upstream's scripts send the Hub token as a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def options(display_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "jhub_app": True,
        "display_name": display_name,
        "description": "made by an upstream client",
        "framework": "custom",
        "filepath": "",
        "custom_command": f"{{python}} {ECHO} {{port}}",
        "keep_alive": False,
        "public": False,
        "env": {"GREETING": "hello"},
        **extra,
    }


def form(display_name: str, **extra: Any) -> dict[str, str]:
    return {"data": json.dumps({"servername": display_name, "user_options": options(display_name, **extra)})}


def assert_server_model(server: dict[str, Any]) -> None:
    assert set(server) >= SERVER_KEYS, server
    assert isinstance(server["name"], str)
    assert isinstance(server["ready"], bool)
    assert server["pending"] in (None, "spawn", "stop")
    assert isinstance(server["url"], str)
    assert isinstance(server["stopped"], bool)


def assert_app_options(opts: dict[str, Any]) -> None:
    assert set(opts) == OPTION_KEYS, opts
    assert opts["jhub_app"] is True
    for key in ("display_name", "description", "thumbnail", "filepath", "framework", "custom_command"):
        assert isinstance(opts[key], str), key
    assert isinstance(opts["env"], dict)


def wait_state(hub: Hub, user: str, server: str, *, ready: bool) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        model = (hub.api("GET", f"users/{quote(user)}").json().get("servers") or {}).get(server) or {}
        if bool(model.get("ready")) == ready and not model.get("pending"):
            return
        time.sleep(0.3)
    raise AssertionError(f"{user}/{server} never became {'ready' if ready else 'stopped'}")


@pytest.fixture(scope="module")
def svc(hub: Hub) -> str:
    return hub.url + "services/japps/"


@pytest.fixture(scope="module")
def people(hub: Hub) -> dict[str, str]:
    suffix = secrets.token_hex(3)
    names = {role: f"up-{role}-{suffix}" for role in ("owner", "viewer")}
    return {**{f"{k}_name": v for k, v in names.items()}, **{k: hub.token_for(v) for k, v in names.items()}}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def created(hub: Hub, svc: str, client: httpx.Client, people: dict[str, str]) -> Iterator[dict[str, Any]]:
    """``POST /server`` by the owner (with a thumbnail and a share); the answer and the app's name."""
    r = client.post(
        svc + "server",
        headers=bearer(people["owner"]),
        data=form("Upstream Echo", share_with={"users": [people["viewer_name"]], "groups": []}),
        files={"thumbnail": ("logo.png", png(), "image/png")},
    )
    yield {"response": r, "name": r.json()[1] if r.status_code == 200 else ""}
    owner = people["owner_name"]
    for name in hub.api("GET", f"users/{owner}").json().get("servers") or {}:
        if name:
            hub.api("DELETE", f"users/{owner}/servers/{name}", json={"remove": True})


def test_status_and_root(svc: str, client: httpx.Client) -> None:
    for path in ("status", ""):
        r = client.get(svc + path, headers={"Accept": "application/json"})
        assert r.status_code == 200
        assert set(r.json()) == {"status", "version"}
        assert r.json()["status"] == "ok"
    # a browser opening the service's root still gets the gallery (the Hub's home page)
    r = client.get(svc, headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 302
    assert r.headers["location"].endswith("/hub/home")


def test_jhub_login(svc: str, client: httpx.Client) -> None:
    navigation = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "same-origin"}
    r = client.get(svc + "jhub-login", headers=navigation, follow_redirects=False)
    assert r.status_code == 302
    target = r.headers["location"]
    assert urlsplit(target).path.endswith("/hub/api/oauth2/authorize")
    assert "client_id=service-japps" in target
    assert "response_type=code" in target


def test_user(svc: str, client: httpx.Client, people: dict[str, str]) -> None:
    r = client.get(svc + "user", headers=bearer(people["owner"]))
    assert r.status_code == 200, r.text
    me = r.json()
    assert {"name", "admin", "groups", "kind", "scopes", "servers", "share_permissions", "auth_state"} <= set(me)
    assert me["name"] == people["owner_name"]
    assert me["admin"] is False
    assert me["kind"] == "user"
    assert isinstance(me["groups"], list)
    assert isinstance(me["scopes"], list)
    assert set(me["share_permissions"]) == {"users", "groups"}
    assert me["auth_state"] is None
    assert client.get(svc + "user").status_code in (401, 403)  # no credentials


def test_frameworks(svc: str, client: httpx.Client, people: dict[str, str]) -> None:
    r = client.get(svc + "frameworks/", headers=bearer(people["owner"]))
    assert r.status_code == 200
    frameworks = r.json()
    assert all(set(f) == {"name", "display_name", "logo", "logo_path"} for f in frameworks)
    names = {f["name"] for f in frameworks}
    # Exactly the frameworks hubapps' own API lists as available here, in upstream's names (the
    # JupyterHub 5.5 environment has no framework packages: Streamlit, Panel, ... are left out there).
    own = client.get(svc + "api/frameworks", headers=bearer(people["owner"])).json()
    upstream_names = {"dash": "plotlydash", "command": "custom"}
    assert names == {upstream_names.get(f["name"], f["name"]) for f in own if f["available"]}
    assert "custom" in names
    assert "command" not in names  # upstream's name for it is custom


def test_conda_environments(svc: str, client: httpx.Client, people: dict[str, str]) -> None:
    r = client.get(svc + "conda-environments/", headers=bearer(people["owner"]))
    assert r.status_code == 200
    assert isinstance(r.json(), list)
    assert all(isinstance(e, str) for e in r.json())


def test_spawner_profiles(svc: str, client: httpx.Client, people: dict[str, str]) -> None:
    r = client.get(svc + "spawner-profiles/", headers=bearer(people["owner"]))
    assert r.status_code == 200
    assert isinstance(r.json(), list)


def test_services(hub: Hub, svc: str, client: httpx.Client, people: dict[str, str]) -> None:
    r = client.get(svc + "services/", headers=bearer(people["owner"]))
    assert r.status_code == 200
    assert r.json() == {}  # the Hub lets a plain user list no services
    r = client.get(svc + "services/", headers=bearer(hub.token_for("admin")))
    assert r.status_code == 200
    services = r.json()
    assert services["japps"]["name"] == "japps"
    assert {"display", "info", "prefix"} <= set(services["japps"])


def test_post_server(hub: Hub, svc: str, people: dict[str, str], created: dict[str, Any]) -> None:
    r = created["response"]
    assert r.status_code == 200, r.text
    status, name = r.json()
    assert status in (201, 202)
    assert name == "upstream-echo"
    stored = hub.api("GET", f"users/{people['owner_name']}").json()["servers"][name]["user_options"]
    assert stored["framework"] == "command"  # kept in hubapps' spec
    assert stored["thumbnail"].startswith("sha256:")  # re-encoded into the thumbnail store
    shares = hub.api("GET", f"shares/{people['owner_name']}/{name}").json()["items"]
    assert [s["user"]["name"] for s in shares] == [people["viewer_name"]]
    wait_state(hub, people["owner_name"], name, ready=True)


def test_post_server_refusals(hub: Hub, svc: str, people: dict[str, str]) -> None:
    owner = people["owner"]
    with httpx.Client(timeout=60) as client:
        r = client.post(svc + "server", headers=bearer(owner), data={"data": json.dumps({"servername": "x"})})
        assert r.status_code == 422
        r = client.post(svc + "server", headers=bearer(owner), data=form("Nope", framework="no-such-framework"))
        assert r.status_code == 403
        assert r.json()["detail"].startswith('Given framework "no-such-framework" is not allowed')
        # a browser session writes only with its XSRF token (a form field works, as for upstream's UI)
        browser = hub.login(people["owner_name"])
        try:
            xsrf = login_to_service(browser, svc)
            r = browser.post(svc + "server", data=form("Nope"))
            assert r.status_code == 403
            assert "XSRF" in r.json()["detail"]
            r = browser.post(svc + "server", data={**form("Nope", framework="no-such-framework"), "_xsrf": xsrf})
            assert r.status_code == 403  # past the XSRF check: refused for its framework
            assert "framework" in r.json()["detail"]
        finally:
            browser.close()
    assert "nope" not in (hub.api("GET", f"users/{people['owner_name']}").json().get("servers") or {})


def test_get_servers(svc: str, client: httpx.Client, people: dict[str, str], created: dict[str, Any]) -> None:
    r = client.get(svc + "server/", headers=bearer(people["owner"]))
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"shared_apps", "user_apps"}
    mine = {s["name"]: s for s in body["user_apps"]}
    assert created["name"] in mine
    for server in mine.values():
        assert_server_model(server)
    opts = mine[created["name"]]["user_options"]
    assert_app_options(opts)
    assert opts["framework"] == "custom"
    assert opts["custom_command"] == f"{{python}} {ECHO} {{port}}"
    assert opts["env"] == {"GREETING": "hello"}
    # the viewer sees it among the apps shared with them
    shared = client.get(svc + "server/", headers=bearer(people["viewer"])).json()["shared_apps"]
    assert [(s["name"], s["user_options"]["display_name"]) for s in shared] == [(created["name"], "Upstream Echo")]
    assert_server_model(shared[0])


def test_get_server(hub: Hub, svc: str, client: httpx.Client, people: dict[str, str], created: dict[str, Any]) -> None:
    r = client.get(svc + f"server/{created['name']}", headers=bearer(people["owner"]))
    assert r.status_code == 200
    server = r.json()
    assert_server_model(server)
    assert_app_options(server["user_options"])
    assert server["user_options"]["share_with"] == {"users": [people["viewer_name"]], "groups": []}
    image = client.get(hub.url.rstrip("/") + server["user_options"]["thumbnail"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/webp"
    r = client.get(svc + "server/no-such-app", headers=bearer(people["owner"]))
    assert r.status_code == 404
    assert r.json()["detail"] == "server 'no-such-app' not found"
    # lab and vscode name the default server
    for alias in ("lab", "vscode"):
        r = client.get(svc + f"server/{alias}", headers=bearer(people["owner"]))
        assert r.status_code == 200
        assert r.json()["name"] == ""


def test_delete_server_stops(
    hub: Hub, svc: str, client: httpx.Client, people: dict[str, str], created: dict[str, Any]
) -> None:
    r = client.delete(svc + f"server/{created['name']}", params={"remove": "false"}, headers=bearer(people["owner"]))
    assert r.status_code == 200, r.text
    assert r.json() in (202, 204)
    wait_state(hub, people["owner_name"], created["name"], ready=False)
    # no name: the default server (not running here: nothing to stop)
    r = client.delete(svc + "server/", headers=bearer(people["owner"]))
    assert r.status_code == 200, r.text
    assert r.json() in (202, 204)


def test_put_server(hub: Hub, svc: str, client: httpx.Client, people: dict[str, str], created: dict[str, Any]) -> None:
    name = created["name"]
    current = client.get(svc + f"server/{name}", headers=bearer(people["owner"])).json()["user_options"]
    r = client.put(
        svc + f"server/{name}",
        headers=bearer(people["owner"]),
        data={
            **form("Upstream Echo", description="edited", share_with={"users": [], "groups": []}),
            "thumbnail_data_url": current["thumbnail"],
        },
    )
    assert r.status_code == 200, r.text
    status, answered = r.json()
    assert status in (201, 202)
    assert answered == name
    stored = hub.api("GET", f"users/{people['owner_name']}").json()["servers"][name]["user_options"]
    assert stored["description"] == "edited"
    assert current["thumbnail"].endswith(stored["thumbnail"])  # the image it had, kept
    assert hub.api("GET", f"shares/{people['owner_name']}/{name}").json()["items"] == []  # shares as sent
    revisions = client.get(svc + f"api/apps/{people['owner_name']}/{name}/revisions", headers=bearer(people["owner"]))
    assert [rev["note"] for rev in revisions.json()["data"]][:2] == ["edited", "created"]
    assert client.put(svc + "server/no-such-app", headers=bearer(people["owner"]), data=form("X")).status_code == 404
    wait_state(hub, people["owner_name"], name, ready=True)  # upstream's edit starts the app


def test_post_server_starts(
    hub: Hub, svc: str, client: httpx.Client, people: dict[str, str], created: dict[str, Any]
) -> None:
    name = created["name"]
    assert hub.api("DELETE", f"users/{people['owner_name']}/servers/{name}").status_code in (202, 204)
    wait_state(hub, people["owner_name"], name, ready=False)
    # the viewer may not start it (its owner did not let viewers start it): upstream's 403
    r = client.post(svc + f"server/{name}", params={"owner": people["owner_name"]}, headers=bearer(people["viewer"]))
    assert r.status_code == 403
    assert client.post(svc + "server/no-such-app", headers=bearer(people["owner"])).status_code == 403
    r = client.post(svc + f"server/{name}", params={"owner": people["owner_name"]}, headers=bearer(people["owner"]))
    assert r.status_code == 200, r.text
    assert r.json() in (201, 202)
    wait_state(hub, people["owner_name"], name, ready=True)


def test_delete_server_removes(
    hub: Hub, svc: str, client: httpx.Client, people: dict[str, str], created: dict[str, Any]
) -> None:
    name = created["name"]
    r = client.delete(svc + f"server/{name}", params={"remove": "true"}, headers=bearer(people["owner"]))
    assert r.status_code == 200, r.text
    assert r.json() in (202, 204)
    deadline = time.monotonic() + 60
    while name in (hub.api("GET", f"users/{people['owner_name']}").json().get("servers") or {}):
        assert time.monotonic() < deadline, "the app was never deleted"
        time.sleep(0.3)
