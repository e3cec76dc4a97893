"""Writes change the app directory only after the Hub did what was asked, and never for a stranger.

The Hub here is the fake of ``conftest.py``, made slow or made to refuse; the directory is read back
through the public listing (what every user sees) and directly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from hubapps.service.directory import AppDirectory, DirectoryEntry
from tests.unit.service.conftest import FakeHub, Users

API = "/services/japps/api"
PUBLIC = {"framework": "streamlit", "display_name": "Bob public", "filepath": "app.py", "public": True}
PRIVATE = {"framework": "streamlit", "display_name": "Bob private", "filepath": "app.py"}


def _entry(client: TestClient, owner: str, server: str) -> DirectoryEntry | None:
    directory: AppDirectory = client.app.state.directory  # type: ignore[attr-defined]
    assert client.portal is not None
    return client.portal.call(directory.get, owner, server)


def _public_ids(client: TestClient, auth: Users, who: str = "cat") -> list[str]:
    r = client.get(f"{API}/apps", headers=auth(who), params={"access": "public"})
    return [a["id"] for a in r.json()["data"]]


@pytest.fixture
def bobs_public(client: TestClient, auth: Users) -> str:
    r = client.post(f"{API}/apps", headers=auth("bob"), json={**PUBLIC, "description": "as it was"})
    assert r.status_code == 201, r.text
    assert _public_ids(client, auth) == ["bob/bob-public"]
    return "bob/bob-public"


def _wait_background(seconds: float) -> None:
    time.sleep(seconds)  # the Hub call that outlived the request finishes (or fails) meanwhile


def test_a_strangers_delete_with_a_slow_hub_leaves_the_app_listed(
    client: TestClient, fake_hub: FakeHub, auth: Users, bobs_public: str
) -> None:
    fake_hub.stop_delay = 1.0
    r = client.delete(f"{API}/apps/{bobs_public}", headers=auth("cat"))
    assert r.status_code == 404
    _wait_background(1.3)
    assert _public_ids(client, auth) == [bobs_public]
    assert not any(m == "DELETE" for m, _ in fake_hub.calls), "the stranger's request never reached the Hub"


@pytest.mark.parametrize("answer", [403, 500])
def test_a_slow_delete_the_hub_then_refuses_leaves_the_app_listed(
    client: TestClient, fake_hub: FakeHub, auth: Users, bobs_public: str, answer: int
) -> None:
    fake_hub.stop_delay = 0.8

    def refuse(request: httpx.Request) -> httpx.Response | None:
        return httpx.Response(answer, json={"message": "no"}) if request.method == "DELETE" else None

    fake_hub.fail = refuse
    r = client.delete(f"{API}/apps/{bobs_public}", headers=auth("bob"))
    assert r.status_code == 202
    _wait_background(1.2)
    assert _public_ids(client, auth) == [bobs_public]
    assert _entry(client, "bob", "bob-public") is not None


def test_a_slow_delete_the_hub_accepts_unlists_the_app_afterwards(
    client: TestClient, fake_hub: FakeHub, auth: Users, bobs_public: str
) -> None:
    fake_hub.stop_delay = 0.8
    r = client.delete(f"{API}/apps/{bobs_public}", headers=auth("bob"))
    assert r.status_code == 202
    _wait_background(1.2)
    assert _entry(client, "bob", "bob-public") is None


def test_an_edit_with_restart_the_hub_refuses_changes_nothing(
    client: TestClient, fake_hub: FakeHub, auth: Users, bobs_public: str
) -> None:
    assert client.post(f"{API}/apps/{bobs_public}/start", headers=auth("bob")).status_code in (200, 202)
    fake_hub.stop_delay = 0.8
    fake_hub.fail = lambda request: (
        httpx.Response(500, json={"message": "down"}) if request.method in ("DELETE", "PATCH") else None
    )
    r = client.patch(
        f"{API}/apps/{bobs_public}",
        headers=auth("bob"),
        json={"description": "changed", "display_name": "Renamed", "restart": True},
    )
    assert r.status_code == 202
    _wait_background(1.5)
    entry = _entry(client, "bob", "bob-public")
    assert entry is not None
    assert (entry.display_name, entry.description) == ("Bob public", "as it was")


def test_shares_the_hub_refuses_record_nothing(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    assert client.post(f"{API}/apps", headers=auth("bob"), json=PRIVATE).status_code == 201
    assert _entry(client, "bob", "bob-private") is None
    r = client.post(f"{API}/apps/bob/bob-private/shares", headers=auth("bob"), json={"users": ["nobody"]})
    assert r.status_code == 400
    assert _entry(client, "bob", "bob-private") is None
    fake_hub.fail = lambda request: (
        httpx.Response(500, json={"message": "down"}) if "/share-codes/" in request.url.path else None
    )
    r = client.post(f"{API}/apps/bob/bob-private/share-links", headers=auth("bob"), json={"expires_in": 600})
    assert r.status_code == 503
    assert _entry(client, "bob", "bob-private") is None
    # and a share the Hub makes is recorded
    r = client.post(f"{API}/apps/bob/bob-private/shares", headers=auth("bob"), json={"users": ["ann"]})
    assert r.status_code == 200, r.text
    assert _entry(client, "bob", "bob-private") is not None


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("DELETE", "", None),
        ("PATCH", "", {"description": "pwned", "public": False}),
        ("PATCH", "", {"description": "pwned", "restart": True}),
        ("POST", "/start", None),
        ("POST", "/stop", None),
        ("POST", "/restart", None),
        ("POST", "/shares", {"users": ["cat"]}),
        ("DELETE", "/shares", None),
        ("DELETE", "/shares/users/ann", None),
        ("DELETE", "/shares/groups/team", None),
        ("PUT", "/public", {"public": False}),
        ("POST", "/share-links", {"expires_in": 600}),
        ("DELETE", "/share-links", None),
    ],
)
def test_strangers_writes_change_nothing_even_with_a_slow_hub(
    make_client: Callable[..., TestClient],
    fake_hub: FakeHub,
    auth: Users,
    method: str,
    path: str,
    body: dict[str, object] | None,
) -> None:
    client = make_client()
    assert client.post(f"{API}/apps", headers=auth("bob"), json={**PUBLIC, "start": True}).status_code == 201
    client.post(f"{API}/apps/bob/bob-public/shares", headers=auth("bob"), json={"users": ["ann"]})
    before = (_entry(client, "bob", "bob-public"), [dict(s) for s in fake_hub.shares])
    server = fake_hub.users["bob"].servers["bob-public"]
    state = (server.running, dict(server.user_options or {}))
    fake_hub.stop_delay = 0.6
    r = client.request(method, f"{API}/apps/bob/bob-public{path}", headers=auth("cat"), json=body)
    assert r.status_code in (403, 404), r.text
    _wait_background(0.8)
    assert (_entry(client, "bob", "bob-public"), [dict(s) for s in fake_hub.shares]) == before
    assert (server.running, dict(server.user_options or {})) == state
    assert _public_ids(client, auth) == ["bob/bob-public"]


def test_run_bounded_runs_then_only_after_success() -> None:
    from hubapps.service.operations import run_bounded

    async def scenario() -> list[str]:
        seen: list[str] = []

        async def ok() -> int:
            await asyncio.sleep(0.2)
            return 1

        async def fails() -> int:
            await asyncio.sleep(0.2)
            raise RuntimeError("refused")

        async def note() -> None:
            seen.append("then")

        assert await run_bounded(ok(), 0.01, then=note) == (False, None)
        assert await run_bounded(fails(), 0.01, then=note) == (False, None)
        await asyncio.sleep(0.4)
        return seen

    assert asyncio.run(scenario()) == ["then"]
