"""Start on access against the fake Hub: who may start an owner's app, with whose token, how often."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.unit.service.conftest import FakeHub, Users, app_options

API = "/services/japps/api/apps"


def _app(fake_hub: FakeHub, name: str, **extra: Any) -> None:
    fake_hub.add_server("ann", name, app_options(name.title(), **extra))


def test_a_viewer_starts_a_shared_app_with_the_service_token_once_a_while(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    for name in ("board", "chart"):
        _app(fake_hub, name, viewers_can_start=True)
        fake_hub.share("ann", name, user="bob")
    r = client.post(f"{API}/ann/board/start", headers=auth("bob"))
    assert r.status_code in (200, 202), r.text
    assert fake_hub.users["ann"].servers["board"].running
    assert ("POST", "/hub/api/users/ann/servers/board") in fake_hub.service_calls  # the service's hand, not bob's
    status = client.get(f"{API}/ann/board/status", headers=auth("bob")).json()
    assert (status["state"], status["log_tail"], status["reason"]) == ("running", [], None)
    # Another app within viewer_start_interval (60 s): not yet.
    again = client.post(f"{API}/ann/chart/start", headers=auth("bob"))
    assert again.status_code == 429
    assert again.json()["code"] == "too_soon"
    assert 0 < int(again.headers["Retry-After"]) <= 60
    assert not fake_hub.users["ann"].servers["chart"].running
    # The owner's own starts are not limited by it.
    assert client.post(f"{API}/ann/chart/start", headers=auth("ann")).status_code in (200, 202)


def test_only_the_owner_starts_it_unless_allowed_and_strangers_learn_nothing(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    _app(fake_hub, "closed")
    fake_hub.share("ann", "closed", user="bob")
    refused = client.post(f"{API}/ann/closed/start", headers=auth("bob"))
    assert refused.status_code == 403
    assert "only its owner, ann, can start this app" in refused.json()["detail"]
    _app(fake_hub, "open", viewers_can_start=True)  # allowed, but not shared with cat
    for path in ("ann/closed", "ann/open"):
        assert client.post(f"{API}/{path}/start", headers=auth("cat")).status_code == 404
        assert client.get(f"{API}/{path}/status", headers=auth("cat")).status_code == 404
    assert not any(s.running for s in fake_hub.users["ann"].servers.values())
    assert not any(method == "POST" for method, _ in fake_hub.service_calls)


def test_a_public_app_is_started_by_anyone_logged_in_when_allowed(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    body = {"framework": "streamlit", "display_name": "Open", "filepath": "app.py", "public": True}
    r = client.post(API, headers=auth("ann"), json={**body, "viewers_can_start": True})
    assert r.status_code == 201, r.text
    assert client.post(f"{API}/ann/open/start", headers=auth("cat")).status_code in (200, 202)
    assert fake_hub.users["ann"].servers["open"].running


def test_a_viewers_start_on_jupyterhub_5_sends_no_options_and_keeps_the_owners_latest_edit(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    """JupyterHub 5 takes a start's body as the server's new options: the service sends none (the Hub
    then starts with what it stores), so an edit that lands after the service read the app is kept."""
    fake_hub.version = "5.5.4"
    _app(fake_hub, "board", viewers_can_start=True)
    fake_hub.share("ann", "board", user="bob")
    bodies: list[bytes] = []

    def owner_edits_meanwhile(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/servers/board"):
            bodies.append(request.content)
            server = fake_hub.users["ann"].servers["board"]
            server.user_options = {**(server.user_options or {}), "description": "the owner's edit"}

    fake_hub.fail = owner_edits_meanwhile
    r = client.post(f"{API}/ann/board/start", headers=auth("bob"))
    assert r.status_code in (200, 202), r.text
    server = fake_hub.users["ann"].servers["board"]
    assert server.running
    assert bodies == [b""]
    assert (server.user_options or {})["description"] == "the owner's edit"
