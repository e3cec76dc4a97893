"""The launcher service against the real Hub: OAuth login, XSRF, the access matrix, bodies, secrets.

Apps here are created *stopped* (JupyterHub 6 ``PUT``), so the access matrix needs no processes; one
test starts a real app to cover start, status, logs and the one-second stop. JupyterHub 5 creates an
app by starting it (an echo app here, so that costs little): tests that need it stopped stop it first.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx
import pytest

from tests.integration.conftest import HUB_6, Hub

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
SPEC = {
    "framework": "command",
    "display_name": "Matrix app",
    "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
}


class Recorder:
    """Every response the tests saw, to scan them for secrets at the end."""

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []
        self.secrets: list[str] = []

    def __call__(self, response: httpx.Response) -> httpx.Response:
        self.responses.append(response)
        return response


@pytest.fixture(scope="module")
def seen() -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    for response in recorder.responses:
        if response.status_code >= 400:
            for secret in recorder.secrets:
                assert secret not in response.text, f"{response.request.url} leaked a secret"
            assert set(response.json()) == {"detail", "field", "code"}, response.text


@pytest.fixture(scope="module")
def svc(hub: Hub) -> str:
    return hub.url + "services/japps/"


@pytest.fixture(scope="module")
def people(hub: Hub, seen: Recorder) -> dict[str, str]:
    suffix = secrets.token_hex(3)
    names = {role: f"svc-{role}-{suffix}" for role in ("owner", "viewer", "member", "stranger")}
    tokens = {role: hub.token_for(name) for role, name in names.items()}
    tokens["admin"] = hub.token_for("admin")
    names["admin"] = "admin"
    group = f"svc-group-{suffix}"
    assert hub.api("POST", f"groups/{group}").status_code in (201, 409)
    assert hub.api("POST", f"groups/{group}/users", json={"users": [names["member"]]}).status_code == 200
    seen.secrets.extend(tokens.values())
    return {**{f"{k}_name": v for k, v in names.items()}, **tokens, "group": group}


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        yield c


def test_health_and_unauthenticated(svc: str, client: httpx.Client, seen: Recorder) -> None:
    assert client.get(svc + "health").json()["status"] == "ok"
    r = seen(client.get(svc + "api/apps"))
    assert r.status_code == 403
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert client.get(svc + "api/openapi.json").status_code == 200


def test_access_matrix(hub: Hub, svc: str, client: httpx.Client, people: dict[str, str], seen: Recorder) -> None:
    owner, owner_name = people["owner"], people["owner_name"]
    r = seen(client.post(svc + "api/apps", headers=h(owner), json=SPEC))
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["state"] in (("stopped",) if HUB_6 else ("starting", "running"))
    assert app["name"] == "matrix-app"
    hub.stop_if_started(owner_name, "matrix-app")
    path = f"api/apps/{owner_name}/{app['name']}"
    # share with a user and a group, as the Hub's admin would (user sharing through the service is
    # tested below; it needs read:users:name in the users' role)
    assert hub.api("POST", f"shares/{owner_name}/matrix-app", json={"user": people["viewer_name"]}).status_code == 200
    assert hub.api("POST", f"shares/{owner_name}/matrix-app", json={"group": people["group"]}).status_code == 200

    listed = seen(client.get(svc + "api/apps", headers=h(owner)))
    assert [a["access"] for a in listed.json()["data"] if a["id"] == app["id"]] == ["owned"]
    assert int(listed.headers["X-Hubapps-Hub-Calls"]) <= 2
    for role in ("viewer", "member"):
        token = people[role]
        mine = seen(client.get(svc + "api/apps", headers=h(token), params={"access": "shared"})).json()["data"]
        assert [(a["id"], a["access"]) for a in mine] == [(app["id"], "shared")]
        assert seen(client.get(svc + path, headers=h(token))).json()["access"] == "shared"
        assert seen(client.patch(svc + path, headers=h(token), json={"description": "x"})).status_code == 404
        assert seen(client.delete(svc + path, headers=h(token))).status_code == 404
        # They may see it, so they are told who may start it (its owner did not let viewers start it).
        refused = seen(client.post(svc + path + "/start", headers=h(token)))
        assert refused.status_code == 403
        assert f"only its owner, {owner_name}, can start this app" in refused.json()["detail"]
    stranger = people["stranger"]
    for method in ("GET", "PATCH", "DELETE"):
        body = {"description": "x"} if method == "PATCH" else None
        r = seen(client.request(method, svc + path, headers=h(stranger), json=body))
        assert r.status_code == 404, (method, r.text)
    assert seen(client.post(svc + path + "/start", headers=h(stranger))).status_code == 404
    assert seen(client.get(svc + path, headers=h(people["admin"]))).json()["access"] == "admin"
    # the app is unchanged, and editing it as the owner works without starting it (JupyterHub 6; 5
    # stores a spec only at a start, so there the edit starts it: test_stopped_edit.py)
    r = seen(client.patch(svc + path, headers=h(owner), json={"description": "edited"}))
    assert r.status_code in ((200,) if HUB_6 else (200, 202)), r.text
    assert seen(client.get(svc + path, headers=h(owner))).json()["description"] == "edited"
    if HUB_6:
        assert r.json()["state"] == "stopped"
        model = hub.api("GET", f"users/{owner_name}/servers/matrix-app").json()
        assert not model["ready"]
        assert model["pending"] is None
    else:
        assert r.json()["state"] in ("starting", "running")
        hub.stop_if_started(owner_name, "matrix-app")  # started by the edit: stopped, so the delete is at once
    # delete as owner
    assert seen(client.delete(svc + path, headers=h(owner))).status_code in (202, 204)
    assert seen(client.get(svc + path, headers=h(owner))).status_code == 404


def test_edit_is_visible_in_later_reads(hub: Hub, svc: str, client: httpx.Client, people: dict[str, str]) -> None:
    owner, owner_name = people["stranger"], people["stranger_name"]
    app = client.post(svc + "api/apps", headers=h(owner), json={**SPEC, "display_name": "Edit me"}).json()
    path = f"api/apps/{owner_name}/{app['name']}"
    try:
        hub.stop_if_started(owner_name, app["name"])
        client.patch(svc + path, headers=h(owner), json={"description": "edited"})
        assert client.get(svc + path, headers=h(owner)).json()["description"] == "edited"
    finally:
        client.delete(svc + path, headers=h(owner))


def test_sharing_through_the_service(svc: str, client: httpx.Client, people: dict[str, str], seen: Recorder) -> None:
    owner, owner_name = people["owner"], people["owner_name"]
    app = seen(client.post(svc + "api/apps", headers=h(owner), json={**SPEC, "display_name": "Shared app"})).json()
    path = f"api/apps/{owner_name}/{app['name']}"
    try:
        # install(grant_user_sharing=True) gives every user the scopes sharing needs.
        r = seen(client.post(svc + path + "/shares", headers=h(owner), json={"groups": [people["group"]]}))
        assert r.status_code == 200, r.text
        r = seen(client.get(svc + "api/apps", headers=h(people["member"]), params={"access": "shared"}))
        assert [a["display_name"] for a in r.json()["data"]] == ["Shared app"]
        assert (
            seen(client.delete(svc + path + f"/shares/groups/{people['group']}", headers=h(owner))).status_code == 204
        )
        r = seen(client.post(svc + path + "/share-links", headers=h(owner), json={"expires_in": 600}))
        assert r.status_code == 201
        assert "accept-share" in r.json()["accept_url"]
    finally:
        client.delete(svc + path, headers=h(owner))


def _oauth(client: httpx.Client, svc: str, next_url: str) -> httpx.Response:
    """Log in to the service through the Hub's OAuth (the client is logged in to the Hub); returns the
    service's final redirect (the callback's answer)."""
    r = client.get(svc + "oauth_login", params={"next": next_url}, follow_redirects=False)
    assert r.status_code == 302
    for _ in range(5):
        target = urljoin(str(r.url), r.headers["location"])
        if urlsplit(target).path.endswith("/oauth_callback"):
            return client.get(target, follow_redirects=False)
        r = client.get(target, follow_redirects=False)
        # install() grants every user access:services!service=japps, so the Hub authorizes the login.
        assert r.is_redirect, (target, r.status_code, r.text[:300])
    raise AssertionError("the Hub never sent the browser back to the service")


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/services/japps/api/user", "/services/japps/api/user"),
        ("/hub/home", "/hub/home"),
        ("https://evil.example/", "/services/japps/"),
        ("//evil.example/", "/services/japps/"),
        ("///evil.example/", "/services/japps/"),
        ("\\\\evil.example/", "/services/japps/"),
        ("javascript:alert(1)", "/services/japps/"),
        ("relative/path", "/services/japps/"),
    ],
)
def test_login_next_table(
    svc: str, login: Callable[..., httpx.Client], people: dict[str, str], next_url: str, expected: str
) -> None:
    client = login(people["owner_name"])
    final = _oauth(client, svc, next_url)
    assert final.status_code == 302
    assert final.headers["location"] == expected
    cookie = final.headers.get_list("set-cookie")
    login_cookie = next(c for c in cookie if c.startswith("service-japps="))
    assert "HttpOnly" in login_cookie
    assert "SameSite=lax" in login_cookie
    assert "Path=/services/japps/" in login_cookie


def test_callback_state_checked(
    svc: str, login: Callable[..., httpx.Client], people: dict[str, str], seen: Recorder
) -> None:
    client = login(people["stranger_name"])
    assert seen(client.get(svc + "oauth_callback", params={"code": "x"})).status_code == 400
    assert seen(client.get(svc + "oauth_callback", params={"code": "x", "state": "forged"})).status_code == 403


def test_xsrf_on_cookie_writes(
    svc: str, login: Callable[..., httpx.Client], people: dict[str, str], seen: Recorder
) -> None:
    client = login(people["viewer_name"])
    _oauth(client, svc, "/services/japps/api/user")
    me = seen(client.get(svc + "api/user")).json()
    assert me["name"] == people["viewer_name"]
    assert me["via"] == "cookie"
    xsrf = client.cookies.get("_xsrf", path="/services/japps/")
    assert xsrf is not None
    assert xsrf == me["xsrf_token"]
    base = svc + "api/apps"
    spec = {**SPEC, "display_name": "Xsrf app"}
    created: list[str] = []
    try:
        assert seen(client.post(base, json=spec)).status_code == 403
        r = seen(client.post(base, json=spec, headers={"X-XSRFToken": xsrf}))
        assert r.status_code == 201, r.text
        created.append(r.json()["id"])
        form = {"data": json.dumps({**spec, "display_name": "Xsrf form"})}
        files = {"note": ("n.txt", b"n", "text/plain")}
        assert seen(client.post(base, data=form, files=files)).status_code == 403
        r = seen(client.post(base, data={**form, "_xsrf": xsrf}, files=files))
        assert r.status_code == 201, r.text
        created.append(r.json()["id"])
        r = seen(client.post(base, json=spec, headers={"X-XSRFToken": xsrf, "Sec-Fetch-Site": "cross-site"}))
        assert r.status_code == 403
        assert seen(client.delete(f"{svc}api/apps/{created[0]}")).status_code == 403
    finally:
        for app_id in created:
            client.delete(f"{svc}api/apps/{app_id}", headers={"X-XSRFToken": xsrf})


def test_bad_bodies(svc: str, client: httpx.Client, people: dict[str, str], seen: Recorder) -> None:
    headers = {**h(people["stranger"]), "Content-Type": "application/json"}
    cases = {
        b"{not json": 400,
        b"\xff\xfe\x00{": 400,
        b"[" * 50_000 + b"]" * 50_000: 400,
        json.dumps({**SPEC, "description": "x" * 2_000_000}).encode(): 413,
    }
    for content, status in cases.items():
        started = time.monotonic()
        r = seen(client.post(svc + "api/apps", headers=headers, content=content))
        assert r.status_code == status, (content[:20], r.text)
        assert time.monotonic() - started < 1.0
    r = seen(client.post(svc + "api/apps", headers=headers, content=json.dumps({**SPEC, "env": {"LD_PRELOAD": "x"}})))
    assert r.status_code == 422
    assert r.json()["field"] == "env"


def test_create_app_page_for_the_jupyterlab_extension(
    svc: str, login: Callable[..., httpx.Client], people: dict[str, str]
) -> None:
    client = login(people["member_name"])
    url = svc + "create-app?filepath=" + quote("examples/panel_app.py") + "&headless=true"
    r = client.get(url, follow_redirects=True)
    assert r.status_code == 200, (str(r.url), r.text[:300])
    assert 'value="examples/panel_app.py"' in r.text
    assert str(r.url).startswith(url[:40])


def test_real_app_lifecycle(hub: Hub, svc: str, client: httpx.Client, people: dict[str, str], seen: Recorder) -> None:
    owner, owner_name = people["member"], people["member_name"]
    spec = {
        "framework": "command",
        "display_name": "Echo",
        "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
    }
    r = seen(client.post(svc + "api/apps", headers=h(owner), json={**spec, "start": True}))
    assert r.status_code == 201, r.text
    path = f"api/apps/{owner_name}/{r.json()['name']}"
    try:
        deadline = time.monotonic() + 120
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = seen(client.get(svc + path + "/status", headers=h(owner))).json()
            if status["state"] == "running":
                break
            assert status["state"] == "starting", status
            time.sleep(0.5)
        assert status["state"] == "running", status
        started = time.monotonic()
        r = seen(client.post(svc + path + "/stop", headers=h(owner)))
        assert time.monotonic() - started <= 1.0
        assert r.status_code in (200, 202)
        assert r.json()["state"] in ("stopping", "stopped")
        deadline = time.monotonic() + 60
        while seen(client.get(svc + path, headers=h(owner))).json()["state"] != "stopped":
            assert time.monotonic() < deadline
            time.sleep(0.3)
    finally:
        client.delete(svc + path, headers=h(owner))


def test_restart_runs_the_stored_spec_again(
    hub: Hub, svc: str, client: httpx.Client, people: dict[str, str], seen: Recorder
) -> None:
    owner, owner_name = people["viewer"], people["viewer_name"]
    spec = {
        "framework": "command",
        "display_name": "Restarted echo",
        "description": "kept across the restart",
        "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
    }
    r = seen(client.post(svc + "api/apps", headers=h(owner), json={**spec, "start": True}))
    assert r.status_code == 201, r.text
    server = r.json()["name"]
    path = f"api/apps/{owner_name}/{server}"

    def wait_running(not_started: str | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + 120
        app: dict[str, Any] = {}
        while time.monotonic() < deadline:
            app = seen(client.get(svc + path, headers=h(owner))).json()
            if app["state"] == "running" and app["started"] and app["started"] != not_started:
                return app
            time.sleep(0.5)
        raise AssertionError(f"not running (again): {app}")

    try:
        before = wait_running()
        hub.wait_app(owner_name, server, owner)
        r = seen(client.post(svc + path + "/restart", headers=h(owner)))
        assert r.status_code in (200, 202), r.text
        assert r.json()["state"] in ("stopping", "starting")
        after = wait_running(not_started=before["started"])
        assert after["spec"] == before["spec"]
        assert after["spec"]["description"] == "kept across the restart"
        assert hub.wait_app(owner_name, server, owner)["state"] == "ready"
        # Someone else may not restart it (404, as for an app they cannot see).
        r = seen(client.post(svc + path + "/restart", headers=h(people["stranger"])))
        assert r.status_code == 404
    finally:
        client.delete(svc + path, headers=h(owner))


def test_secret_env_reaches_only_the_app(hub: Hub, svc: str, client: httpx.Client, seen: Recorder) -> None:
    """A secret saved through the launcher (here with the CLI) is encrypted before the Hub stores it;
    the app sees the plain value; the Hub API, the REST API, the CLI and every log see none of it."""
    owner_name = f"svc-secret-{secrets.token_hex(3)}"
    owner = hub.token_for(owner_name)
    plain = "plain-secret-" + secrets.token_hex(12)
    seen.secrets += [plain, owner]
    env = {**os.environ, "JUPYTERHUB_URL": hub.url, "JUPYTERHUB_API_TOKEN": owner, "DUMP_API_KEY": plain}

    def cli(*argv: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "hubapps.cli", *argv], env=env, capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, result.stderr
        assert plain not in result.stdout + result.stderr
        return result.stdout

    deployed = json.loads(
        cli("deploy", "--name", "Env dump", "--framework", "command", "--secret", "DUMP_API_KEY", "--env", "COLOR=red",
            "--json", "--", "{python}", str(RESOURCES / "env_dump_app.py"), "{port}")
    )  # fmt: skip
    server = deployed["name"]
    path = f"api/apps/{owner_name}/{server}"
    try:
        assert deployed["spec"]["secret_env"] == {"DUMP_API_KEY": None}
        # The Hub holds ciphertext only, in the owner's and the admin's view alike.
        for token in (owner, hub.admin_token):
            response = hub.api("GET", f"users/{owner_name}?include_stopped_servers=1", token=token)
            options = response.json()["servers"][server]["user_options"]
            assert plain not in response.text
            assert options["spec_version"] == 2
            assert options["env"] == {"COLOR": "red"}
            assert options["secret_env"]["DUMP_API_KEY"].startswith("gAAAAA")
        hub.wait_app(owner_name, server, owner)
        dump = seen(client.get(hub.app_url(owner_name, server), headers=h(owner))).json()
        assert dump["env"]["DUMP_API_KEY"] == plain
        assert dump["env"]["COLOR"] == "red"
        assert "JUPYTERHUB_CRYPT_KEY" not in dump["env"]
        for key in hub.crypt_key.split(";"):
            assert key not in json.dumps(dump)
        for url in (svc + path, svc + "api/apps", svc + "api/apps?all_servers=true", svc + path + "/status"):
            response = seen(client.get(url, headers=h(owner)))
            assert response.status_code == 200, response.text
            assert plain not in response.text
        assert plain not in cli("list", "--json") + cli("status", server, "--json")
    finally:
        client.delete(svc + path, headers=h(owner))
    # Nothing logged it: the Hub's log holds the Hub's, the service's and the app proxy's output.
    assert plain not in hub.log_path.read_text(errors="replace")
