"""Every change made through the operations layer is one app event (who, what, which app, when), and
the event store keeps, prunes and forgets them as the audit record needs."""

from __future__ import annotations

import asyncio
import time

from fastapi.testclient import TestClient

from hubapps.service.events import AppEvent, EventStore
from tests.unit.service.conftest import FakeHub, Users

API = "/services/japps/api"
SPEC = {"framework": "streamlit", "display_name": "Sales Dashboard", "filepath": "app.py"}


def _events(client: TestClient) -> list[AppEvent]:
    store: EventStore = client.app.state.events  # type: ignore[attr-defined]
    return list(reversed(asyncio.run(store.events(limit=100))))


def test_each_change_is_recorded_once_with_who_and_which_app(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    ann = auth("ann")
    assert client.post(f"{API}/apps", headers=ann, json=SPEC).status_code == 201
    app = f"{API}/apps/ann/sales-dashboard"
    assert client.patch(app, headers=ann, json={"description": "Q4"}).status_code == 200
    assert client.post(f"{app}/shares", headers=ann, json={"users": ["bob"]}).status_code == 200
    assert client.delete(f"{app}/shares/users/bob", headers=ann).status_code == 204
    assert client.post(f"{app}/start", headers=ann).status_code in (200, 202)
    assert client.post(f"{app}/stop", headers=ann).status_code in (200, 202)
    assert client.delete(app, headers=ann).status_code in (202, 204)

    events = _events(client)
    assert [e.kind for e in events] == ["created", "edited", "shared", "unshared", "started", "stopped", "deleted"]
    assert {(e.owner, e.server, e.actor) for e in events} == {("ann", "sales-dashboard", "ann")}
    assert events[1].detail == {"fields": ["description"]}
    assert events[2].detail == {"users": ["bob"], "groups": []}


def test_a_refused_change_records_nothing(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    assert client.post(f"{API}/apps", headers=auth("ann"), json=SPEC).status_code == 201
    # bob may not touch ann's app: 404, and no event says he did
    assert client.post(f"{API}/apps/ann/sales-dashboard/stop", headers=auth("bob")).status_code == 404
    assert client.delete(f"{API}/apps/ann/sales-dashboard", headers=auth("bob")).status_code == 404
    assert [e.kind for e in _events(client)] == ["created"]


def test_an_admin_acting_on_someones_app_is_the_actor(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    assert client.post(f"{API}/apps", headers=auth("ann"), json=SPEC).status_code == 201
    assert client.post(f"{API}/apps/ann/sales-dashboard/stop", headers=auth("root")).status_code in (200, 202)
    last = _events(client)[-1]
    assert (last.kind, last.owner, last.actor) == ("stopped", "ann", "root")


async def test_the_store_pages_counts_prunes_and_forgets_a_user() -> None:
    store = EventStore("sqlite://")
    await store.open()
    old = time.time() - 10 * 86400
    await store.add(
        AppEvent("opened", "ann", "sales", actor="bob", at=old),
        AppEvent("opened", "ann", "sales", actor="cat"),
        AppEvent("opened", "ann", "report", actor="bob"),
        AppEvent("created", "bob", "notes", actor="bob"),
    )
    assert await store.counts("opened") == {("ann", "sales"): 2, ("ann", "report"): 1}
    assert await store.counts("opened", since=time.time() - 86400) == {("ann", "sales"): 1, ("ann", "report"): 1}
    newest = await store.events(limit=2)
    assert [e.kind for e in newest] == ["created", "opened"]
    older = await store.events(limit=10, before_id=newest[-1].id)
    assert [(e.server, e.actor) for e in older] == [("sales", "cat"), ("sales", "bob")]
    assert await store.prune(time.time() - 86400) == 1
    assert await store.delete_user("bob") == 2  # bob's app, and what bob did
    assert [(e.owner, e.actor) for e in await store.events()] == [("ann", "cat")]
    store.close()
