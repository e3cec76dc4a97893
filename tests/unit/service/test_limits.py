"""Per-user limits in the service, against the fake Hub: the N+1st app, running app and public app are
refused with 409 naming the limit and the count; two creates at once cannot both pass; admins are exempt;
the Hub's own refusals (the spawner mixin's, JupyterHub's named-server limit) come back in our words."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient

from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, Users, app_options

API = "/services/japps/api"
SPEC = {"framework": "streamlit", "filepath": "app.py"}


@pytest.fixture
def small(settings: ServiceSettings) -> ServiceSettings:
    return settings.model_copy(
        update={
            "allow_public_apps": True,
            "max_apps_per_user": 3,
            "max_running_apps_per_user": 1,
            "max_public_apps_per_user": 1,
        }
    )


@pytest.fixture
def limited(make_client: Callable[..., TestClient], small: ServiceSettings) -> TestClient:
    return make_client(small)


def _refused(r: httpx2.Response, limit: str, field: str | None) -> str:
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "limit_reached"
    assert body["field"] == field
    assert limit in body["detail"]
    return str(body["detail"])


def test_the_app_beyond_max_apps_is_refused(limited: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server("ann", "lab", None)  # a plain named server is not an app
    for name in ("One", "Two", "Three"):
        assert limited.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "display_name": name}).status_code == 201
    r = limited.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "display_name": "Four"})
    assert "3 apps of 3 allowed" in _refused(r, "max_apps_per_user", None)
    assert sorted(fake_hub.users["ann"].servers) == ["lab", "one", "three", "two"]
    # Other users have limits of their own; deleting an app makes room.
    assert limited.post(f"{API}/apps", headers=auth("bob"), json={**SPEC, "display_name": "B"}).status_code == 201
    assert limited.delete(f"{API}/apps/ann/one", headers=auth("ann")).status_code == 204
    assert limited.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "display_name": "Four"}).status_code == 201


def test_the_public_app_beyond_the_limit_is_refused_at_create_and_edit(
    limited: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    assert (
        limited.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "display_name": "P", "public": True}).status_code
        == 201
    )
    r = limited.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "display_name": "Q", "public": True})
    assert "1 public app of 1 allowed" in _refused(r, "max_public_apps_per_user", "public")
    assert "q" not in fake_hub.users["ann"].servers
    # A private app is fine, and cannot be turned public; the public one can still be edited.
    assert limited.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "display_name": "Q"}).status_code == 201
    r = limited.patch(f"{API}/apps/ann/q", headers=auth("ann"), json={"public": True})
    _refused(r, "max_public_apps_per_user", "public")
    assert fake_hub.users["ann"].servers["q"].user_options.get("public") is not True  # type: ignore[union-attr]
    assert limited.patch(f"{API}/apps/ann/p", headers=auth("ann"), json={"description": "still"}).status_code == 200
    listed = limited.get(f"{API}/apps", headers=auth("bob"), params={"access": "public"}).json()["data"]
    assert [a["id"] for a in listed] == ["ann/p"]


def test_the_running_app_beyond_the_limit_is_refused(limited: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server("ann", "a", app_options("A"), running=True)
    fake_hub.add_server("ann", "b", app_options("B"))
    fake_hub.add_server("ann", "lab", None, running=True)  # plain JupyterLab: not counted
    r = limited.post(f"{API}/apps/ann/b/start", headers=auth("ann"))
    assert "1 running app of 1 allowed" in _refused(r, "max_running_apps_per_user", "start")
    assert not fake_hub.users["ann"].servers["b"].running
    r = limited.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "display_name": "C", "start": True})
    _refused(r, "max_running_apps_per_user", "start")
    r = limited.patch(f"{API}/apps/ann/b", headers=auth("ann"), json={"description": "x", "restart": True})
    _refused(r, "max_running_apps_per_user", "start")
    # Restarting the running one is not one more; stopping it makes room.
    assert limited.post(f"{API}/apps/ann/a/restart", headers=auth("ann")).status_code in (200, 202)
    assert limited.post(f"{API}/apps/ann/a/stop", headers=auth("ann")).status_code == 200
    assert limited.post(f"{API}/apps/ann/b/start", headers=auth("ann")).status_code in (200, 202)


def test_an_admin_starting_a_users_app_meets_the_users_limit_and_admins_are_exempt(
    limited: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    fake_hub.add_server("ann", "a", app_options("A"), running=True)
    fake_hub.add_server("ann", "b", app_options("B"))
    _refused(limited.post(f"{API}/apps/ann/b/start", headers=auth("root")), "max_running_apps_per_user", "start")
    for name in ("One", "Two", "Three"):
        r = limited.post(f"{API}/apps", headers=auth("root"), json={**SPEC, "display_name": name, "start": True})
        assert r.status_code == 201, r.text


def test_two_creates_at_once_do_not_both_pass(limited: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server("ann", "one", app_options("One"))
    fake_hub.create_delay = 0.3  # both requests are in the service while the first create is at the Hub

    def create(name: str) -> httpx2.Response:
        return limited.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "display_name": name})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(create, ["Two", "Three", "Four", "Five"]))
    assert sorted(r.status_code for r in answers) == [201, 201, 409, 409], [r.text for r in answers]
    assert len(fake_hub.users["ann"].servers) == 3


def test_two_starts_at_once_do_not_both_pass(limited: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    for name in ("a", "b", "c"):
        fake_hub.add_server("ann", name, app_options(name.upper()))
    fake_hub.create_delay = 0.3

    def start(name: str) -> httpx2.Response:
        return limited.post(f"{API}/apps/ann/{name}/start", headers=auth("ann"))

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(start, ["a", "b", "c"]))
    assert sorted(r.status_code for r in answers)[-1] == 409
    assert [r.status_code for r in answers].count(409) == 2, [r.text for r in answers]


@pytest.mark.parametrize(
    ("text", "limit", "field"),
    [
        (
            "limit reached: 5 running apps of 5 allowed per user (max_running_apps_per_user)",
            "max_running_apps_per_user",
            "start",
        ),
        ("limit reached: 3 public apps of 3 allowed (max_public_apps_per_user)", "max_public_apps_per_user", "public"),
        (
            "User ann already has the maximum of 4 named servers.  One must be deleted",
            "named_server_limit_per_user",
            None,
        ),
    ],
)
def test_the_hubs_refusals_come_back_as_limit_reached(
    client: TestClient, fake_hub: FakeHub, auth: Users, text: str, limit: str, field: str | None
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response | None:
        if request.method in ("PUT", "POST") and "/servers/" in request.url.path:
            return httpx.Response(409 if "hubapps" in text or "limit reached" in text else 400, json={"message": text})
        return None

    fake_hub.fail = refuse
    r = client.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "display_name": "X", "start": True})
    detail = _refused(r, limit, field)
    assert "ann" not in detail  # the Hub's own words are not passed on


def test_the_hubs_named_server_limit_is_said_first(
    make_client: Callable[..., TestClient], settings: ServiceSettings, fake_hub: FakeHub, auth: Users
) -> None:
    client = make_client(settings.model_copy(update={"named_server_limit_per_user": 2}))
    fake_hub.add_server("ann", "lab", None)
    fake_hub.add_server("ann", "a", app_options("A"))
    r = client.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "display_name": "B"})
    assert "2 named servers of 2" in _refused(r, "named_server_limit_per_user", None)
    assert ("PUT", "/hub/api/users/ann/servers/b") not in fake_hub.calls


def test_the_form_shows_the_limit_next_to_its_field(limited: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server("ann", "p", app_options("P", public=True))
    form = {"display_name": "Q", "framework": "streamlit", "filepath": "app.py", "public": "on"}
    r = limited.post("/services/japps/create-app", headers=auth("ann"), data=form)
    assert r.status_code == 422
    assert 'id="public-error">limit reached: 1 public app of 1 allowed per user (max_public_apps_per_user)' in r.text
    fake_hub.add_server("ann", "a", app_options("A"))
    fake_hub.add_server("ann", "b", app_options("B"))
    r = limited.post("/services/japps/create-app", headers=auth("ann"), data={**form, "public": ""})
    assert "The app was not saved: limit reached: 3 apps of 3 allowed" in r.text


def test_the_form_shows_the_running_limit_at_start(limited: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server("ann", "a", app_options("A"), running=True)
    form = {"display_name": "Q", "framework": "streamlit", "filepath": "app.py", "start": "on"}
    r = limited.post("/services/japps/create-app", headers=auth("ann"), data=form)
    assert r.status_code == 422
    assert 'id="start-error">limit reached: 1 running app of 1 allowed per user' in r.text


def test_a_spec_that_names_a_limit_does_not_pass_for_one(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    def refuse(request: httpx.Request) -> httpx.Response | None:
        if request.method == "PUT":
            message = "Invalid app spec: python_env: unknown environment '(max_apps_per_user) limit reached: '"
            return httpx.Response(400, json={"message": message})
        return None

    fake_hub.fail = refuse
    r = client.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "display_name": "X"})
    assert r.status_code == 400
    assert r.json()["code"] == "bad_request"
