"""The audit record as its readers get it: owners read their own apps' events and nothing else, admins
everyone's; filters, paging, the JSON-lines export, deleting one user's events; usage counts with the
apps of a listing (one grouped query) and on the details page; the retention's pruning."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import event

from hubapps.service.app import prune_events
from hubapps.service.events import AppEvent, EventStore
from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, Users, app_options

API = "/services/japps/api"
UI = "/services/japps/ui"
ODD = "v<'&\">"  # a viewer whose name is markup


def _store(client: TestClient) -> EventStore:
    store: EventStore = client.app.state.events  # type: ignore[attr-defined]
    return store


def _add(client: TestClient, *events: AppEvent) -> None:
    asyncio.run(_store(client).add(*events))


def _settings(settings: ServiceSettings, **changes: object) -> ServiceSettings:
    return ServiceSettings.model_validate({**settings.model_dump(), **changes})


@contextmanager
def _event_queries(client: TestClient) -> Iterator[list[str]]:
    """The SQL statements that read ``hubapps_events`` while the block runs."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "hubapps_events" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = _store(client)._engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def world(client: TestClient, fake_hub: FakeHub, auth: Users) -> TestClient:
    """ann's app "sales" (opened by bob and by ODD), bob's app "notes", and what each did."""
    fake_hub.add_user(ODD)
    fake_hub.add_server("ann", "sales", app_options("Sales"))
    fake_hub.add_server("bob", "notes", app_options("Notes"))
    fake_hub.share("ann", "sales", user="bob")
    day = 86400
    now = time.time()
    _add(
        client,
        AppEvent("created", "ann", "sales", actor="ann", at=now - 40 * day),
        AppEvent("opened", "ann", "sales", actor="bob", at=now - 35 * day),
        AppEvent("started", "ann", "sales", actor="ann", at=now - 3 * day),
        AppEvent("opened", "ann", "sales", actor="bob", at=now - 2 * day),
        AppEvent("opened", "ann", "sales", actor=ODD, at=now - day),
        AppEvent("created", "bob", "notes", actor="bob", at=now - day),
        AppEvent("stopped", "ann", "sales", actor="", at=now - 60, detail={"reason": "idle"}),
    )
    return client


def _list(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = client.get(f"{API}/events", headers=headers, params=params)
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def _who(events: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [(e["owner"], e["server"], e["kind"], e["actor"]) for e in events]


# -- who reads what ---------------------------------------------------------------------------------


def test_owners_read_their_apps_events_only_and_admins_all(world: TestClient, auth: Users) -> None:
    ann = _list(world, auth("ann"))
    assert {e["owner"] for e in ann} == {"ann"}
    assert len(ann) == 6
    # Newest first, with who acted ("" = the launcher itself) and what the event says.
    assert _who(ann)[:2] == [("ann", "sales", "stopped", ""), ("ann", "sales", "opened", ODD)]
    assert ann[0]["detail"] == {"reason": "idle"}
    assert ann[0]["at"].endswith("Z")

    # bob opened ann's app twice: that is ann's record, not his. He reads his own app's only.
    assert _who(_list(world, auth("bob"))) == [("bob", "notes", "created", "bob")]
    assert _list(world, auth("bob"), actor="bob") == _list(world, auth("bob"))[:1]
    assert _list(world, auth("cat")) == []

    root = _list(world, auth("root"))
    assert len(root) == 7
    assert _who(_list(world, auth("root"), owner="bob")) == [("bob", "notes", "created", "bob")]


def test_another_owners_events_answer_404(world: TestClient, auth: Users) -> None:
    for path, params in (
        ("events", {"owner": "ann"}),
        ("events.jsonl", {"owner": "ann"}),
        ("apps/ann/sales/events", {}),
        ("apps/nobody/nothing/events", {}),
    ):
        r = world.get(f"{API}/{path}", headers=auth("bob"), params=params)
        assert r.status_code == 404, (path, r.text)
        assert "sales" not in r.text
        assert "opened" not in r.text
    r = world.get(f"{API}/events", headers=auth("bob"), params={"owner": "ann"})
    assert r.json()["field"] == "owner"
    # Their own app's, and any app's for an admin (a deleted app's events stay readable too).
    assert len(world.get(f"{API}/apps/ann/sales/events", headers=auth("ann")).json()["data"]) == 6
    assert len(world.get(f"{API}/apps/ann/sales/events", headers=auth("root")).json()["data"]) == 6
    assert world.get(f"{API}/apps/ann/gone/events", headers=auth("ann")).json()["data"] == []


def test_filters_by_kind_actor_server_and_time(world: TestClient, auth: Users) -> None:
    root = auth("root")
    opened = _list(world, root, kind="opened")
    assert [e["actor"] for e in opened] == [ODD, "bob", "bob"]
    both = world.get(f"{API}/events", headers=root, params=[("kind", "created"), ("kind", "stopped")]).json()
    assert sorted(e["kind"] for e in both["data"]) == ["created", "created", "stopped"]
    assert _who(_list(world, root, actor=ODD)) == [("ann", "sales", "opened", ODD)]
    assert {e["server"] for e in _list(world, root, server="notes")} == {"notes"}
    week_ago = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 7 * 86400))
    assert [e["kind"] for e in _list(world, auth("ann"), since=week_ago)] == ["stopped", "opened", "opened", "started"]
    assert len(_list(world, root, since=int(time.time() - 7 * 86400))) == 5  # unix seconds too
    assert len(_list(world, auth("ann"), owner="", server="", kind="")) == 6  # empty fields filter nothing

    bad = world.get(f"{API}/events", headers=root, params={"kind": "hacked"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "kind"
    assert "opened" in bad.json()["detail"]
    assert world.get(f"{API}/events", headers=root, params={"since": "last tuesday"}).status_code == 422


def test_pages_back_by_id_and_the_limit_is_bounded(
    make_client: Callable[..., TestClient], settings: ServiceSettings, fake_hub: FakeHub, auth: Users
) -> None:
    client = make_client(_settings(settings, events_page_default=2, events_page_max=3))
    _add(client, *(AppEvent("opened", "ann", "sales", actor=f"v{i}", at=1000.0 + i) for i in range(7)))
    ann = auth("ann")
    first = client.get(f"{API}/events", headers=ann).json()
    assert [e["actor"] for e in first["data"]] == ["v6", "v5"]
    assert first["limit"] == 2
    seen: list[str] = []
    params: dict[str, int] = {"limit": 100}
    while True:
        page = client.get(f"{API}/events", headers=ann, params=params).json()
        assert page["limit"] == 3
        assert len(page["data"]) <= 3
        seen += [e["actor"] for e in page["data"]]
        if page["next_before"] is None:
            break
        params["before"] = page["next_before"]
    assert seen == [f"v{i}" for i in range(6, -1, -1)]
    assert client.get(f"{API}/events", headers=ann, params={"limit": 0}).status_code == 422


# -- the export --------------------------------------------------------------------------------------


def test_export_is_json_lines_with_the_same_rights_and_filters(
    make_client: Callable[..., TestClient], settings: ServiceSettings, fake_hub: FakeHub, auth: Users
) -> None:
    client = make_client(_settings(settings, events_page_max=2))  # the export reads page after page
    fake_hub.add_user(ODD)
    _add(client, *(AppEvent("opened", "ann", "sales", actor=ODD, at=1000.0 + i, detail={"n": i}) for i in range(5)))
    _add(client, AppEvent("created", "bob", "notes", actor="bob"))
    r = client.get(f"{API}/events.jsonl", headers=auth("ann"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert r.headers["content-disposition"] == 'attachment; filename="hubapps-events.jsonl"'
    assert all(ODD not in v and "ann" not in v for v in r.headers.values())
    lines = r.text.splitlines()
    events = [json.loads(line) for line in lines]  # each line is one JSON object
    assert [e["detail"]["n"] for e in events] == [4, 3, 2, 1, 0]
    assert {(e["owner"], e["actor"]) for e in events} == {("ann", ODD)}
    assert r.text.endswith("\n")

    limited = client.get(f"{API}/events.jsonl", headers=auth("ann"), params={"limit": 3}).text.splitlines()
    assert [json.loads(x)["detail"]["n"] for x in limited] == [4, 3, 2]
    admin = client.get(f"{API}/events.jsonl", headers=auth("root"), params={"kind": "created"}).text.splitlines()
    assert [json.loads(x)["owner"] for x in admin] == ["bob"]
    assert client.get(f"{API}/events.jsonl", headers=auth("cat")).text == ""


# -- forgetting a user --------------------------------------------------------------------------------


def test_only_admins_delete_a_users_events(world: TestClient, auth: Users) -> None:
    refused = world.delete(f"{API}/events", headers=auth("ann"), params={"user": "bob"})
    assert refused.status_code == 403
    assert "admin" in refused.json()["detail"]
    assert len(_list(world, auth("root"))) == 7

    missing = world.delete(f"{API}/events", headers=auth("root"))
    assert (missing.status_code, missing.json()["field"]) == (422, "user")

    done = world.delete(f"{API}/events", headers=auth("root"), params={"user": "bob"})
    assert done.status_code == 200, done.text
    assert done.json() == {"user": "bob", "deleted": 3}  # his app's event, and his two opens of ann's app
    left = _list(world, auth("root"))
    assert "bob" not in {e["owner"] for e in left} | {e["actor"] for e in left}
    assert len(left) == 4


# -- usage counts ----------------------------------------------------------------------------------------


def test_usage_counts_come_with_the_apps_their_managers_see(world: TestClient, auth: Users) -> None:
    usage = world.get(f"{API}/apps/ann/sales", headers=auth("ann")).json()["usage"]
    # Opened three times in all, twice in the last 30 days (usage_window_days).
    assert usage == {"opened_recent": 2, "opened_total": 3, "window_days": 30.0}
    assert world.get(f"{API}/apps/ann/sales", headers=auth("root")).json()["usage"] == usage
    listing = world.get(f"{API}/apps", headers=auth("ann")).json()["data"]
    assert [a["usage"] for a in listing] == [usage]
    # bob may open ann's app (shared): he sees neither how often nor who.
    shared = world.get(f"{API}/apps/ann/sales", headers=auth("bob")).json()
    assert shared["access"] == "shared"
    assert shared["usage"] is None
    mine = world.get(f"{API}/apps/bob/notes", headers=auth("bob")).json()["usage"]
    assert (mine["opened_recent"], mine["opened_total"]) == (0, 0)


def test_gallery_shows_usage_with_one_query_for_all_the_cards(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    for i in range(12):
        fake_hub.add_server("ann", f"app-{i:02d}", app_options(f"App {i:02d}"))
    _add(client, *(AppEvent("opened", "ann", f"app-{i:02d}", actor="bob") for i in range(12) for _ in range(i)))
    with _event_queries(client) as queries:
        page = client.get(f"{UI}/gallery", headers=auth("ann"), params={"per_page": 100})
    assert page.status_code == 200
    assert len(queries) == 1, queries
    assert page.text.count('class="hubapps-use"') == 11  # an app never opened shows no count
    assert '<span class="hubapps-use">1 open / 30 d</span>' in page.text
    assert '<span class="hubapps-use">11 opens / 30 d</span>' in page.text
    table = client.get(f"{UI}/gallery", headers=auth("ann"), params={"view": "table", "per_page": 100}).text
    assert table.count('class="hubapps-use"') == 11
    # Someone it is shared with sees the card without counts.
    fake_hub.share("ann", "app-11", user="bob")
    theirs = client.get(f"{UI}/gallery", headers=auth("bob"), params={"access": "shared"}).text
    assert "ui/apps/ann/app-11" in theirs
    assert "hubapps-use" not in theirs


#: The gallery fragment of 100 apps, each opened: within the launcher's page-weight budget
#: (docs/benchmarks.md: ≤ 100 KB until usable with the Hub's home page, 7.7 KiB, around it).
GALLERY_BUDGET = 90 * 1024


def test_gallery_of_100_used_apps_stays_within_its_page_weight(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    description = "A Streamlit app that squares numbers, for the benchmark."
    for i in range(100):
        fake_hub.add_server("ann", f"bench-app-{i:03d}", app_options(f"Bench app {i:03d}", description=description))
    _add(client, *(AppEvent("opened", "ann", f"bench-app-{i:03d}", actor="bob") for i in range(100) for _ in range(12)))
    page = client.get(f"{UI}/gallery", headers=auth("ann"), params={"per_page": 100})
    assert page.text.count('<span class="hubapps-use">12 opens / 30 d</span>') == 100
    assert len(page.content) <= GALLERY_BUDGET, len(page.content)


# -- the details page -------------------------------------------------------------------------------------


def test_details_page_shows_activity_and_usage_to_managers_only(world: TestClient, auth: Users) -> None:
    page = world.get(f"{UI}/apps/ann/sales", headers=auth("ann"))
    assert page.status_code == 200
    text = page.text
    assert 'id="activity-h">Activity</h2>' in text
    assert "Opened 2 times in the last 30 days, 3 in all" in text
    assert text.count('class="hubapps-event"') == 6
    assert str(escape(ODD)) in text  # a name that is markup, shown as text
    assert ODD not in text
    assert "reason: idle" in text
    assert "the launcher</span>" in text  # the service's own stop
    assert 'href="/services/japps/api/events.jsonl?owner=ann&amp;server=sales"' in text

    viewer = world.get(f"{UI}/apps/ann/sales", headers=auth("bob"))
    assert viewer.status_code == 200
    assert "Activity" not in viewer.text
    assert str(escape(ODD)) not in viewer.text
    assert "hubapps-event" not in viewer.text
    assert "Opened" not in viewer.text

    admin = world.get(f"{UI}/apps/ann/sales", headers=auth("root")).text
    assert admin.count('class="hubapps-event"') == 6


def test_details_page_shows_the_latest_activity_events_only(
    make_client: Callable[..., TestClient], settings: ServiceSettings, fake_hub: FakeHub, auth: Users
) -> None:
    client = make_client(_settings(settings, activity_events=3))
    fake_hub.add_server("ann", "sales", app_options("Sales"))
    _add(client, *(AppEvent("opened", "ann", "sales", actor=f"viewer{i}", at=1000.0 + i) for i in range(5)))
    text = client.get(f"{UI}/apps/ann/sales", headers=auth("ann")).text
    assert text.count('class="hubapps-event"') == 3
    assert "viewer4" in text
    assert "viewer1" not in text


# -- retention ---------------------------------------------------------------------------------------------


async def test_old_events_are_pruned_every_interval(tmp_path: Path) -> None:
    # A database file: the pruning thread and the writes each get their own connection (an in-memory
    # database shares one connection between threads, whose transactions then interleave).
    store = EventStore(f"sqlite:///{tmp_path / 'events.sqlite'}")
    await store.open()
    retention_days = 1.0
    pruning = asyncio.create_task(prune_events(store, retention_days, every=0.05))
    try:
        await store.add(AppEvent("created", "ann", "kept", actor="ann"))
        for _ in range(3):  # added after the first pruning: a later one deletes it
            await store.add(AppEvent("opened", "ann", "kept", actor="bob", at=time.time() - 2 * 86400))
            while len(await store.events()) > 1:
                await asyncio.sleep(0.02)
        assert [e.kind for e in await store.events()] == ["created"]
    finally:
        pruning.cancel()
        store.close()
