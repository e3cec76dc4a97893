"""The apps API against the fake Hub: listing, access matrix, lifecycle, errors and Hub calls."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient

from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, Users, app_options

API = "/services/japps/api"
SPEC = {"framework": "streamlit", "display_name": "Sales Dashboard", "filepath": "app.py"}


def calls(response: httpx2.Response) -> int:
    return int(response.headers["X-Hubapps-Hub-Calls"])


def no_secrets(response: httpx2.Response, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in response.text
        assert all(secret not in v for v in response.headers.values())


# -- listing ---------------------------------------------------------------------------------------


@pytest.fixture
def world(fake_hub: FakeHub, auth: Users) -> FakeHub:
    fake_hub.add_server("ann", "sales", app_options("Sales"), running=True)
    fake_hub.add_server("ann", "lab", None)  # a plain named server, not an app
    fake_hub.add_server("bob", "sales", app_options("Bob's sales"))  # same server name, other owner
    fake_hub.add_server("bob", "report", app_options("Report", "panel"))
    fake_hub.add_server("cat", "secret", app_options("Secret"))
    fake_hub.share("bob", "report", user="ann")
    fake_hub.share("bob", "report", group="team")  # twice: user and group share
    return fake_hub


def test_list_marks_owned_shared_and_matches_owner_and_server(client: TestClient, world: FakeHub, auth: Users) -> None:
    r = client.get(f"{API}/apps", headers=auth("ann"))
    assert r.status_code == 200
    apps = {a["id"]: a for a in r.json()["data"]}
    assert set(apps) == {"ann/sales", "bob/report"}
    assert apps["ann/sales"]["access"] == "owned"
    assert apps["ann/sales"]["state"] == "running"
    assert apps["ann/sales"]["spec"]["framework"] == "streamlit"
    assert apps["bob/report"]["access"] == "shared"
    assert apps["bob/report"]["spec"] is None
    assert calls(r) <= 2


def test_list_public_from_directory(client: TestClient, world: FakeHub, auth: Users) -> None:
    # bob publishes through the service; the directory then lists it for everyone
    r = client.put(f"{API}/apps/bob/sales/public", headers=auth("bob"), json={"public": True})
    assert r.status_code == 200, r.text
    r = client.get(f"{API}/apps", headers=auth("cat"))
    apps = {a["id"]: a["access"] for a in r.json()["data"]}
    assert apps == {"cat/secret": "owned", "bob/sales": "public", "bob/report": "shared"}
    # made private again (or deleted) behind the service's back: bob's own listing corrects it
    world.users["bob"].servers["sales"].user_options = app_options("Bob's sales")
    client.get(f"{API}/apps", headers=auth("bob"))
    r = client.get(f"{API}/apps", headers=auth("cat"))
    assert "bob/sales" not in {a["id"] for a in r.json()["data"]}


def test_list_filters_search_sort_pages(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    for i in range(12):
        fake_hub.add_server("ann", f"app-{i:02d}", app_options(f"App {i:02d}", "panel" if i % 2 else "streamlit"))
    h = auth("ann")
    r = client.get(f"{API}/apps", params={"limit": 5, "offset": 5, "sort": "-name"}, headers=h).json()
    assert r["count"] == 12
    assert [a["name"] for a in r["data"]] == ["app-06", "app-05", "app-04", "app-03", "app-02"]
    r = client.get(f"{API}/apps", params={"framework": "panel"}, headers=h).json()
    assert r["count"] == 6
    r = client.get(f"{API}/apps", params={"q": "app 1"}, headers=h).json()
    assert {a["name"] for a in r["data"]} == {"app-10", "app-11"}
    r = client.get(f"{API}/apps", params={"access": "shared"}, headers=h).json()
    assert r["count"] == 0
    assert client.get(f"{API}/apps", params={"access": "mine"}, headers=h).status_code == 422
    assert client.get(f"{API}/apps", params={"sort": "evil"}, headers=h).status_code == 422


def test_list_paginates_hub_shares(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    for i in range(450):
        fake_hub.add_user(f"u{i}")
        fake_hub.add_server(f"u{i}", "app", app_options(f"App of u{i}"))
        fake_hub.share(f"u{i}", "app", user="ann")
    r = client.get(f"{API}/apps", params={"limit": 500}, headers=auth("ann"))
    assert r.json()["count"] == 450
    assert calls(r) == 1 + 3  # whoami + three pages of 200


def test_cached_list_makes_at_most_two_hub_calls(
    make_client: Callable[..., TestClient], settings: ServiceSettings, world: FakeHub, auth: Users
) -> None:
    client = make_client(settings.model_copy(update={"user_cache_ttl": 60, "shared_cache_ttl": 60}))
    first = client.get(f"{API}/apps", headers=auth("ann"))
    second = client.get(f"{API}/apps", headers=auth("ann"))
    assert calls(first) == 2
    assert calls(second) == 0
    assert [
        c for c in world.calls if c[1].startswith("/hub/api/users") and c[1].count("/") == 4
    ] == []  # never GET /users


# -- access matrix ---------------------------------------------------------------------------------


def test_access_matrix(client: TestClient, world: FakeHub, auth: Users) -> None:
    # owner
    assert client.get(f"{API}/apps/bob/report", headers=auth("bob")).json()["access"] == "owned"
    # shared (user share and group share)
    for viewer in ("ann", "cat"):
        r = client.get(f"{API}/apps/bob/report", headers=auth(viewer))
        assert r.json()["access"] == "shared"
        assert r.json()["spec"] is None
        assert (
            client.patch(f"{API}/apps/bob/report", headers=auth(viewer), json={"description": "x"}).status_code == 404
        )
        assert client.delete(f"{API}/apps/bob/report", headers=auth(viewer)).status_code == 404
        assert client.post(f"{API}/apps/bob/report/stop", headers=auth(viewer)).status_code == 404
        assert (
            client.post(f"{API}/apps/bob/report/shares", headers=auth(viewer), json={"users": ["cat"]}).status_code
            == 404
        )
    # no access: 404 for every verb, same body as a missing app
    missing = client.get(f"{API}/apps/cat/nope", headers=auth("bob"))
    for method, path in [
        ("GET", "/apps/cat/secret"),
        ("PATCH", "/apps/cat/secret"),
        ("DELETE", "/apps/cat/secret"),
        ("POST", "/apps/cat/secret/start"),
        ("POST", "/apps/cat/secret/stop"),
        ("POST", "/apps/cat/secret/restart"),
        ("GET", "/apps/cat/secret/status"),
        ("GET", "/apps/cat/secret/logs"),
        ("GET", "/apps/cat/secret/shares"),
        ("PUT", "/apps/cat/secret/public"),
        ("POST", "/apps/cat/secret/share-links"),
    ]:
        body = {"public": True} if path.endswith("public") else ({"description": "x"} if method == "PATCH" else {})
        r = client.request(
            method, f"{API}{path}", headers=auth("bob"), json=body if method in ("PATCH", "PUT", "POST") else None
        )
        assert r.status_code == 404, (method, path, r.text)
        assert r.json() == missing.json()
    assert world.users["cat"].servers["secret"].user_options == app_options("Secret")
    # admin sees and manages anyone's app
    assert client.get(f"{API}/apps/cat/secret", headers=auth("root")).json()["access"] == "admin"
    r = client.patch(f"{API}/apps/cat/secret", headers=auth("root"), json={"description": "by admin"})
    assert r.status_code == 200
    assert world.users["cat"].servers["secret"].user_options["description"] == "by admin"


# -- create / update / delete ----------------------------------------------------------------------


def test_create_uses_put_nested_and_stopped(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    r = client.post(f"{API}/apps", headers=auth("ann"), json=SPEC)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "sales-dashboard"
    assert r.json()["state"] == "stopped"
    server = fake_hub.users["ann"].servers["sales-dashboard"]
    assert server.user_options is not None
    assert server.user_options["framework"] == "streamlit"
    assert server.display_name == "Sales Dashboard"
    assert not server.running
    assert ("PUT", "/hub/api/users/ann/servers/sales-dashboard") in fake_hub.calls
    # same display name again, asked for: a new server name, never the same server
    r = client.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "start": True, "on_conflict": "new"})
    assert r.status_code == 201
    assert r.json()["name"].startswith("sales-dashboard-")
    assert fake_hub.users["ann"].servers[r.json()["name"]].running


def test_same_name_again_asks_instead_of_a_silent_duplicate(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    assert client.post(f"{API}/apps", headers=auth("ann"), json=SPEC).status_code == 201
    before = set(fake_hub.users["ann"].servers)
    # "Sales-Dashboard!" folds to the same server name
    r = client.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "display_name": "Sales-Dashboard!"})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "app_exists"
    assert body["field"] == "display_name"
    assert body["existing"] == "ann/sales-dashboard"
    assert "Sales Dashboard" in body["detail"]
    assert "update" in body["detail"]
    assert set(fake_hub.users["ann"].servers) == before  # nothing made
    # another user's app of the same name is no conflict
    assert client.post(f"{API}/apps", headers=auth("bob"), json=SPEC).status_code == 201


def test_the_deploy_form_asks_update_or_new_keeping_what_was_typed(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    assert client.post(f"{API}/apps", headers=auth("ann"), json=SPEC).status_code == 201
    form = {
        "display_name": "Sales Dashboard",
        "description": "typed <by> ann",
        "framework": "streamlit",
        "filepath": "app.py",
        "env_rows": "1",
        "env_name_0": "REGION",
        "env_value_0": "eu",
    }
    r = client.post("/services/japps/create-app", headers=auth("ann"), data=form, follow_redirects=False)
    assert r.status_code == 422
    assert 'id="on-conflict"' in r.text
    assert 'value="update"' in r.text
    assert 'value="new"' in r.text
    assert 'id="display_name-error"' in r.text
    assert "typed &lt;by&gt; ann" in r.text
    assert 'value="REGION"' in r.text
    assert 'value="eu"' in r.text
    assert list(fake_hub.users["ann"].servers) == ["sales-dashboard"]
    r = client.post(
        "/services/japps/create-app", headers=auth("ann"), data={**form, "on_conflict": "new"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert len(fake_hub.users["ann"].servers) == 2
    r = client.post(
        "/services/japps/create-app",
        headers=auth("ann"),
        data={**form, "on_conflict": "update", "description": "v2"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/services/japps/ui/apps/ann/sales-dashboard"
    options = fake_hub.users["ann"].servers["sales-dashboard"].user_options
    assert options is not None
    assert options["description"] == "v2"
    assert options["env"] == {"REGION": "eu"}
    assert len(fake_hub.users["ann"].servers) == 2


def test_on_conflict_update_changes_the_existing_app(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    assert client.post(f"{API}/apps", headers=auth("ann"), json=SPEC).status_code == 201
    r = client.post(
        f"{API}/apps", headers=auth("ann"), json={**SPEC, "description": "second version", "on_conflict": "update"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "ann/sales-dashboard"
    assert list(fake_hub.users["ann"].servers) == ["sales-dashboard"]
    options = fake_hub.users["ann"].servers["sales-dashboard"].user_options
    assert options is not None
    assert options["description"] == "second version"
    # no app of that name yet: "update" creates it
    r = client.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "display_name": "Other", "on_conflict": "update"})
    assert r.status_code == 201
    assert r.json()["name"] == "other"
    r = client.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "on_conflict": "sometimes"})
    assert r.status_code == 422
    assert r.json()["field"] == "on_conflict"


def test_create_on_jupyterhub_5_posts_flat_options(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.version = "5.3.0"
    r = client.post(f"{API}/apps", headers=auth("ann"), json=SPEC)
    assert r.status_code == 201
    assert ("POST", "/hub/api/users/ann/servers/sales-dashboard") in fake_hub.calls


def test_edit_of_a_stopped_app_on_jupyterhub_5_starts_it_with_the_new_spec(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    """JupyterHub 5 has no PATCH and stores options only at a spawn: the edit is a start with them."""
    fake_hub.version = "5.5.4"
    fake_hub.add_server("ann", "sales-dashboard", {"spec_version": 2, "jhub_app": True, **SPEC})
    fake_hub.calls.clear()
    r = client.patch(f"{API}/apps/ann/sales-dashboard", headers=auth("ann"), json={"description": "new"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": "ann/sales-dashboard", "state": "running", "done": True}
    server = fake_hub.users["ann"].servers["sales-dashboard"]
    assert server.running
    assert server.user_options is not None
    assert server.user_options["description"] == "new"
    assert server.user_options["framework"] == SPEC["framework"]
    assert ("POST", "/hub/api/users/ann/servers/sales-dashboard") in fake_hub.calls
    assert not any(method in ("PATCH", "PUT") for method, _ in fake_hub.calls)
    revisions = client.get(f"{API}/apps/ann/sales-dashboard/revisions", headers=auth("ann")).json()["data"]
    assert revisions[0]["note"] == "edited"
    assert revisions[0]["spec"]["description"] == "new"


def test_making_a_stopped_app_public_on_jupyterhub_5_says_how(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    fake_hub.version = "5.5.4"
    fake_hub.add_server("ann", "sales-dashboard", {"spec_version": 2, "jhub_app": True, **SPEC})
    r = client.put(f"{API}/apps/ann/sales-dashboard/public", headers=auth("ann"), json={"public": True})
    assert r.status_code == 409, r.text
    assert "only when it starts the app: edit it" in r.json()["detail"]
    assert not fake_hub.users["ann"].servers["sales-dashboard"].running


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SPEC, "framework": "nope"}, "framework"),
        ({**SPEC, "env": {"LD_PRELOAD": "x"}}, "env"),
        ({**SPEC, "filepath": "--server.address=0.0.0.0"}, "filepath"),
        ({**SPEC, "display_name": ""}, "display_name"),
        ({**SPEC, "unknown": 1}, "unknown"),
        ({**SPEC, "python_env": "not-offered"}, "python_env"),
        ({"display_name": "x"}, "framework"),
        # refused when saving, as the Hub would refuse it at start
        ({**SPEC, "filepath": ""}, "filepath"),
        ({**SPEC, "command": ["python", "x.py"]}, "command"),
        # what the framework listens by is the launcher's (the Hub refuses it too: tests/integration)
        ({**SPEC, "env": {"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}}, "env.STREAMLIT_SERVER_ADDRESS"),
        ({**SPEC, "framework": "gradio", "env": {"GRADIO_SERVER_NAME": "0.0.0.0"}}, "env.GRADIO_SERVER_NAME"),
        ({**SPEC, "args": ["--server.address=0.0.0.0"]}, "args.0"),
    ],
)
def test_create_invalid_names_the_field(client: TestClient, auth: Users, body: dict[str, object], field: str) -> None:
    r = client.post(f"{API}/apps", headers=auth("ann"), json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert r.json()["detail"]


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe{}", b"[" * 100_000 + b"]" * 100_000, b"", b"[1, 2]"],
    ids=["bad-json", "bad-utf8", "deep", "empty", "not-object"],
)
def test_unreadable_bodies_are_400(client: TestClient, auth: Users, content: bytes) -> None:
    r = client.post(f"{API}/apps", headers={**auth("ann"), "Content-Type": "application/json"}, content=content)
    assert r.status_code in (400, 413), r.text
    assert r.json()["code"] in ("bad_request", "too_large")


def test_huge_bodies_are_413(client: TestClient, auth: Users) -> None:
    big = json.dumps({**SPEC, "description": "x" * 1_000_000}).encode()
    r = client.post(f"{API}/apps", headers={**auth("ann"), "Content-Type": "application/json"}, content=big)
    assert r.status_code == 413

    def chunks() -> object:
        for _ in range(100):
            yield b"x" * 10_000

    r = client.post(f"{API}/apps", headers={**auth("ann"), "Content-Type": "application/json"}, content=chunks())  # type: ignore[arg-type]
    assert r.status_code == 413


def test_multipart_create(client: TestClient, auth: Users) -> None:
    r = client.post(f"{API}/apps", headers=auth("ann"), data={"data": json.dumps(SPEC)}, files={"x": ("a", b"1")})
    assert r.status_code == 201, r.text
    r = client.post(f"{API}/apps", headers=auth("ann"), data={"nodata": "1"}, files={"x": ("a", b"1")})
    assert r.status_code == 400


def test_update_stopped_patches_running_needs_restart(client: TestClient, world: FakeHub, auth: Users) -> None:
    r = client.patch(f"{API}/apps/bob/report", headers=auth("bob"), json={"description": "new", "framework": "bokeh"})
    assert r.status_code == 200, r.text
    options = world.users["bob"].servers["report"].user_options or {}
    assert options["description"] == "new"
    assert options["framework"] == "bokeh"
    assert options["display_name"] == "Report"
    assert not world.users["bob"].servers["report"].running
    r = client.patch(f"{API}/apps/ann/sales", headers=auth("ann"), json={"description": "x"})
    assert r.status_code == 409
    assert world.users["ann"].servers["sales"].user_options == app_options("Sales")


def test_delete(client: TestClient, world: FakeHub, auth: Users) -> None:
    assert client.delete(f"{API}/apps/bob/report", headers=auth("bob")).status_code == 204
    assert "report" not in world.users["bob"].servers
    assert client.get(f"{API}/apps/bob/report", headers=auth("bob")).status_code == 404


# -- lifecycle -------------------------------------------------------------------------------------


def test_stop_answers_within_a_second(client: TestClient, world: FakeHub, auth: Users) -> None:
    world.stop_delay = 3.0
    started = time.monotonic()
    r = client.post(f"{API}/apps/ann/sales/stop", headers=auth("ann"))
    assert time.monotonic() - started < 1.0
    assert r.status_code == 202
    assert r.json() == {"id": "ann/sales", "state": "stopping", "done": False}


def test_fast_stop_and_start(client: TestClient, world: FakeHub, auth: Users) -> None:
    r = client.post(f"{API}/apps/ann/sales/stop", headers=auth("ann"))
    assert r.status_code == 200
    assert r.json()["state"] == "stopped"
    r = client.post(f"{API}/apps/ann/sales/start", headers=auth("ann"))
    assert r.status_code == 200
    assert r.json()["state"] == "running"
    r = client.post(f"{API}/apps/ann/sales/start", headers=auth("ann"))
    assert r.status_code == 409


def test_throttled_start_is_429_with_retry_after(client: TestClient, world: FakeHub, auth: Users) -> None:
    world.spawn_limit_reached = True
    r = client.post(f"{API}/apps/bob/report/start", headers=auth("bob"))
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "7"


def test_status_of_stopped_app(client: TestClient, world: FakeHub, auth: Users) -> None:
    r = client.get(f"{API}/apps/bob/report/status", headers=auth("bob"))
    assert r.json()["state"] == "stopped"
    assert client.get(f"{API}/apps/bob/report/logs", headers=auth("bob")).status_code == 409


# -- sharing ---------------------------------------------------------------------------------------


def test_share_revoke_links(client: TestClient, world: FakeHub, auth: Users) -> None:
    h = auth("cat")
    r = client.post(f"{API}/apps/cat/secret/shares", headers=h, json={"users": ["bob"], "groups": ["team"]})
    assert r.status_code == 200, r.text
    assert {(s["kind"], s["name"]) for s in r.json()["shares"]} == {("user", "bob"), ("group", "team")}
    listed = {a["id"]: a for a in client.get(f"{API}/apps", headers=auth("bob")).json()["data"]}
    assert listed["cat/secret"]["access"] == "shared"
    assert listed["cat/secret"]["display_name"] == "Secret"
    assert client.delete(f"{API}/apps/cat/secret/shares/users/bob", headers=h).status_code == 204
    assert client.get(f"{API}/apps/cat/secret", headers=auth("bob")).status_code == 404
    r = client.post(f"{API}/apps/cat/secret/shares", headers=h, json={"users": ["nobody"]})
    assert r.status_code == 400
    assert r.json()["field"] == "users"
    r = client.post(f"{API}/apps/cat/secret/share-links", headers=h, json={"expires_in": 3600})
    assert r.status_code == 201
    assert r.json()["accept_url"]
    assert len(client.get(f"{API}/apps/cat/secret/share-links", headers=h).json()) == 1
    assert client.delete(f"{API}/apps/cat/secret/shares", headers=h).status_code == 204
    assert client.get(f"{API}/apps/cat/secret/shares", headers=h).json()["shares"] == []


def test_an_edit_saved_with_a_new_share_shows_its_description_to_the_viewer(
    client: TestClient, world: FakeHub, auth: Users
) -> None:
    """The edit form's save: the Hub takes the new spec, then the new share records the app in the
    directory, with the description just saved (not the one the request saw as it began)."""
    form = {"display_name": "Secret", "description": "new words", "framework": "streamlit", "filepath": "app.py"}
    r = client.post(
        "/services/japps/ui/apps/cat/secret/edit",
        headers=auth("cat"),
        data={**form, "share_users": "bob"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    listed = {a["id"]: a for a in client.get(f"{API}/apps", headers=auth("bob")).json()["data"]}
    assert listed["cat/secret"]["description"] == "new words"


def test_sharing_and_public_apps_off_by_default(
    make_client: Callable[..., TestClient], settings: ServiceSettings, world: FakeHub, auth: Users
) -> None:
    """A Hub without subdomain_host: no new shares, links or public apps; revoking still works."""
    defaults = ServiceSettings.model_fields
    assert defaults["allow_sharing"].default is False
    assert defaults["allow_public_apps"].default is False
    client = make_client(settings.model_copy(update={"allow_sharing": False, "allow_public_apps": False}))
    h = auth("cat")
    before = list(world.shares)
    for path, body in (("shares", {"users": ["bob"]}), ("share-links", {"expires_in": 60})):
        r = client.post(f"{API}/apps/cat/secret/{path}", headers=h, json=body)
        assert r.status_code == 403, r.text
        assert "c.HubApps.allow_sharing" in r.json()["detail"]
    assert world.shares == before
    r = client.put(f"{API}/apps/cat/secret/public", headers=h, json={"public": True})
    assert r.status_code == 422
    assert r.json()["field"] == "public"
    r = client.post(f"{API}/apps", headers=h, json={**SPEC, "public": True})
    assert r.status_code == 422
    assert r.json()["field"] == "public"
    assert client.delete(f"{API}/apps/cat/secret/shares", headers=h).status_code == 204


def test_share_without_rights_is_403(client: TestClient, world: FakeHub, auth: Users) -> None:
    world.users["cat"].can_share = False
    r = client.post(f"{API}/apps/cat/secret/shares", headers=auth("cat"), json={"users": ["bob"]})
    assert r.status_code == 403
    assert "read:users:name" in r.json()["detail"]


# -- Hub down, secrets -----------------------------------------------------------------------------


def test_hub_down_is_503_and_health_answers(
    make_client: Callable[..., TestClient], fake_hub: FakeHub, settings: ServiceSettings, auth: Users
) -> None:
    client = make_client(settings.model_copy(update={"hub_request_timeout": 0.2}))

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    fake_hub.fail = down
    r = client.get(f"{API}/apps", headers=auth("ann"))
    assert r.status_code == 503
    assert r.headers["Retry-After"]
    no_secrets(r, auth.tokens["ann"])
    assert client.get("/services/japps/health").status_code == 200


def test_slow_hub_is_503_within_timeout(
    make_client: Callable[..., TestClient], fake_hub: FakeHub, settings: ServiceSettings, auth: Users
) -> None:
    client = make_client(settings.model_copy(update={"hub_request_timeout": 0.3}))
    slow = fake_hub.handler

    async def slowly(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(2)
        return await slow(request)

    transport = client.app.state.hub._http._transport  # type: ignore[attr-defined]
    transport.handler = slowly
    started = time.monotonic()
    r = client.get(f"{API}/apps", headers=auth("ann"))
    assert r.status_code == 503
    assert time.monotonic() - started < 1.5
    assert client.get("/services/japps/health").status_code == 200


def test_hub_500_is_503_without_hub_text(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.fail = lambda request: httpx.Response(500, text=f"Traceback token={auth.tokens['ann']}")
    r = client.get(f"{API}/apps", headers=auth("ann"))
    assert r.status_code == 503
    no_secrets(r, auth.tokens["ann"], "Traceback")


def test_error_bodies_carry_no_secrets(client: TestClient, world: FakeHub, auth: Users) -> None:
    token = auth.tokens["ann"]
    responses = [
        client.get(f"{API}/apps", headers={"Authorization": f"token {token}x"}),
        client.get(f"{API}/apps/cat/secret", headers=auth("ann")),
        client.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "env": {"JUPYTERHUB_API_TOKEN": token}}),
        client.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "description": token, "framework": "nope"}),
        client.post(
            f"{API}/apps", headers={**auth("ann"), "Content-Type": "application/json"}, content=b"{" + token.encode()
        ),
        client.patch(f"{API}/apps/ann/sales", headers=auth("ann"), json={"description": token}),
        client.get("/services/japps/nope", headers=auth("ann")),
    ]
    for r in responses:
        assert r.status_code >= 400
        no_secrets(r, token, "tok-", "service-token")
        assert set(r.json()) == {"detail", "field", "code"}


def test_meta(
    client: TestClient, auth: Users, make_client: Callable[..., TestClient], settings: ServiceSettings
) -> None:
    names = {f["name"] for f in client.get(f"{API}/frameworks", headers=auth("ann")).json()}
    assert "streamlit" in names
    limited = make_client(settings.model_copy(update={"blocked_frameworks": ["streamlit"]}))
    assert "streamlit" not in {f["name"] for f in limited.get(f"{API}/frameworks", headers=auth("ann")).json()}
    r = limited.post(f"{API}/apps", headers=auth("ann"), json=SPEC)
    assert r.status_code == 422
    assert r.json()["field"] == "framework"
    me = client.get(f"{API}/user", headers=auth("ann")).json()
    assert me == {
        "name": "ann",
        "admin": False,
        "groups": ["team"],
        "can_share": True,
        "via": "token",
        "xsrf_token": None,
    }
    assert client.get(f"{API}/environments", headers=auth("ann")).json() == []
    assert client.get(f"{API}/openapi.json").status_code == 200


def test_upstream_aliases(client: TestClient, world: FakeHub, auth: Users) -> None:
    body = client.get("/services/japps/server/", headers=auth("ann")).json()
    assert {a["name"] for a in body["user_apps"]} == {"sales", "lab"}
    assert {a["id"] for a in body["shared_apps"]} == {"bob/report"}
    assert client.delete("/services/japps/server/sales", headers=auth("ann")).status_code == 200
    assert client.post("/services/japps/server/sales", headers=auth("ann")).status_code == 200


# -- caches of the list path -----------------------------------------------------------------------


async def test_concurrent_lookups_share_one_hub_call(fake_hub: FakeHub, auth: Users) -> None:
    from hubapps.service.hub_client import HubClient

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)  # all callers arrive while the first call is out
        return await fake_hub.handler(request)

    hub = HubClient("http://hub.test/hub/api", timeout=5, transport=httpx.MockTransport(slow))
    try:
        token = auth.tokens["ann"]
        models = await asyncio.gather(*(hub.whoami(token) for _ in range(10)))
        shares = await asyncio.gather(*(hub.shared_with("ann", token) for _ in range(10)))
        assert {m["name"] for m in models if m} == {"ann"}
        assert all(s == shares[0] for s in shares)
        assert fake_hub.calls.count(("GET", "/hub/api/user")) == 1
        assert fake_hub.calls.count(("GET", "/hub/api/users/ann/shared")) == 1
        # A bad token is not shared with anyone else's lookup, and is not cached.
        # gather answers a list (typeshed types a fixed number of awaitables as a tuple).
        assert list(await asyncio.gather(hub.whoami("bad"), hub.whoami(token))) == [None, models[0]]
    finally:
        await hub.aclose()


async def test_hub_client_keeps_no_cookie(fake_hub: FakeHub, auth: Users) -> None:
    from hubapps.service.hub_client import HubClient

    seen: list[str | None] = []

    async def cookie_setting(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        response = await fake_hub.handler(request)
        response.headers["Set-Cookie"] = "jupyterhub-session-id=ann-session; Path=/"
        return response

    hub = HubClient("http://hub.test/hub/api", timeout=5, transport=httpx.MockTransport(cookie_setting))
    try:
        await hub.whoami(auth.tokens["ann"])
        await hub.whoami(auth.tokens["bob"])
        assert seen == [None, None]  # ann's cookie never goes out with bob's call
    finally:
        await hub.aclose()


def test_cached_list_follows_changes_made_through_the_service(
    make_client: Callable[..., TestClient], settings: ServiceSettings, world: FakeHub, auth: Users
) -> None:
    client = make_client(settings.model_copy(update={"user_cache_ttl": 60, "shared_cache_ttl": 60}))
    before = client.get(f"{API}/apps", headers=auth("bob")).json()
    assert before == client.get(f"{API}/apps", headers=auth("bob")).json()  # served from the caches
    assert client.post(f"{API}/apps", headers=auth("bob"), json=SPEC).status_code == 201
    r = client.patch(f"{API}/apps/bob/report", headers=auth("bob"), json={"display_name": "Quarterly"})
    assert r.status_code == 200
    after = {a["id"]: a for a in client.get(f"{API}/apps", headers=auth("bob")).json()["data"]}
    assert after["bob/report"]["display_name"] == "Quarterly"
    assert any(a["display_name"] == "Sales Dashboard" for a in after.values())
    assert len(after) == before["count"] + 1


def test_list_body_is_the_documented_schema(client: TestClient, world: FakeHub, auth: Users) -> None:
    from hubapps.service.schemas import AppsPublic

    r = client.get(f"{API}/apps", params={"limit": 1, "sort": "-name"}, headers=auth("ann"))
    assert r.headers["content-type"] == "application/json"
    listing = AppsPublic.model_validate_json(r.content)
    assert (listing.count, listing.offset, listing.limit, len(listing.data)) == (2, 0, 1, 1)
    assert r.json() == listing.model_dump(mode="json")
    operation = client.get(f"{API}/openapi.json").json()["paths"][f"{API}/apps"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AppsPublic"
    }
    assert {p["name"] for p in operation["parameters"]} >= {"access", "q", "sort", "offset", "limit"}


async def test_directory_indexes_follow_writes() -> None:
    from hubapps.service.directory import AppDirectory, DirectoryEntry

    directory = AppDirectory("sqlite://", cache_ttl=60)
    await directory.open()
    try:
        public = DirectoryEntry("ann", "a", "A", public=True)
        shared = DirectoryEntry("ann", "b", "B")
        await directory.record(public)
        await directory.record(shared)
        await directory.record(DirectoryEntry("bob", "c", "C", public=True))
        assert set(await directory.owned_by("ann")) == {("ann", "a"), ("ann", "b")}
        assert {e.key for e in await directory.public()} == {("ann", "a"), ("bob", "c")}
        # ann's listing no longer has "a": it drops out of every index
        await directory.sync_owner("ann", [shared])
        assert set(await directory.owned_by("ann")) == {("ann", "b")}
        assert {e.key for e in await directory.public()} == {("bob", "c")}
        assert await directory.owned_by("nobody") == {}
    finally:
        directory.close()
