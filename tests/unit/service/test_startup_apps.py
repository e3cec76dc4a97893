"""Startup apps on a fake Hub: the reconcile's decisions, its events and its report (admins only).

The service acts with its own token here, which the fake Hub treats as a Hub admin's (the real
service's role holds ``servers`` and ``read:servers``; the integration tests use that role).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hubapps.core.startup import parse_startup_apps
from hubapps.service.events import AppEvent, EventStore
from hubapps.service.operations.startup import StartupApps, plan
from hubapps.service.settings import ServiceSettings
from hubapps.service.startup_records import StartupRecord
from tests.unit.service.conftest import SERVICE_TOKEN, FakeHub, FakeUser, Users

ENTRY: dict[str, Any] = {"owner": "ann", "framework": "streamlit", "display_name": "Sales", "filepath": "a.py"}


@pytest.fixture
def service_acts(fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.users["japps-service"] = FakeUser("japps-service", admin=True)
    fake_hub.tokens[SERVICE_TOKEN] = "japps-service"


def _startup(client: TestClient, *entries: dict[str, Any]) -> StartupApps:
    startup: StartupApps = client.app.state.startup  # type: ignore[attr-defined]
    startup.entries = parse_startup_apps(list(entries))
    return startup


def _reconcile(client: TestClient, auth: Users) -> dict[str, dict[str, Any]]:
    response = client.post("/services/japps/api/admin/startup-apps/reconcile", headers=auth("root"))
    assert response.status_code == 200, response.text
    return {a["id"]: a for a in response.json()["apps"]}


def _events(client: TestClient, kind: str) -> list[Any]:
    events: EventStore = client.app.state.events  # type: ignore[attr-defined]
    assert client.portal is not None

    async def read() -> list[AppEvent]:
        return await events.events(kinds=[kind])

    return list(client.portal.call(read))


# -- the decisions (pure) ----------------------------------------------------------------------------


def _record(applied: str, *, created: bool = True) -> StartupRecord:
    return StartupRecord(owner="ann", server="sales", applied=applied, created=created)


@pytest.mark.parametrize(
    ("desired", "current", "record", "overwrite", "action"),
    [
        ("A", None, None, False, "create"),  # missing → create
        ("A", "A", None, False, "unchanged"),  # made by someone else, the same → adopted
        ("B", "A", None, False, "drift"),  # an app of that name with another spec → kept
        ("B", "A", None, True, "update"),
        ("B", "A", _record("A"), False, "update"),  # the admin changed the entry
        ("A", "U", _record("A"), False, "drift"),  # the owner edited it → kept
        ("B", "U", _record("A"), False, "drift"),  # both: the owner's edit wins
        ("B", "U", _record("A"), True, "update"),  # ... unless overwrite
        ("A", "U", _record("A"), True, "update"),
        ("A", None, _record("A"), False, "drift"),  # deleted by its owner: not made again
        ("A", None, _record("A"), True, "create"),
        ("A", "A", _record("A"), False, "unchanged"),
    ],
)
def test_plan(desired: str, current: str | None, record: StartupRecord | None, overwrite: bool, action: str) -> None:
    assert plan(desired, current, record, overwrite=overwrite)[0] == action


# -- on the fake Hub ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("service_acts")
def test_missing_apps_are_created_stopped_and_a_second_reconcile_changes_nothing(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    _startup(client, ENTRY)
    report = _reconcile(client, auth)
    assert report["ann/sales"]["state"] == "created"
    server = fake_hub.users["ann"].servers["sales"]
    assert server.user_options is not None
    assert server.user_options["filepath"] == "a.py"
    assert not server.running
    created = _events(client, "created")
    assert [(e.owner, e.server, e.actor, e.detail["source"]) for e in created] == [("ann", "sales", "", "startup_apps")]
    calls = len(fake_hub.calls)
    assert _reconcile(client, auth)["ann/sales"]["state"] == "unchanged"
    assert not [c for c in fake_hub.calls[calls:] if c[0] in ("PUT", "PATCH", "POST")]
    assert len(_events(client, "created")) == 1
    assert not _events(client, "started")


@pytest.mark.usefixtures("service_acts")
def test_start_only_when_created(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    startup = _startup(client, {**ENTRY, "start": True})
    assert _reconcile(client, auth)["ann/sales"]["message"] == "created and started"
    server = fake_hub.users["ann"].servers["sales"]
    assert server.running
    server.running = False  # stopped by its owner (or a Hub restart)
    assert _reconcile(client, auth)["ann/sales"]["state"] == "unchanged"
    assert not server.running
    startup.entries = parse_startup_apps([{**ENTRY, "start": True, "description": "new"}])
    assert _reconcile(client, auth)["ann/sales"]["state"] == "updated"
    assert not server.running  # an admin's change never starts it
    assert len(_events(client, "started")) == 1


@pytest.mark.usefixtures("service_acts")
def test_an_admin_change_updates_without_start_and_an_owner_edit_is_kept(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    startup = _startup(client, ENTRY)
    _reconcile(client, auth)
    startup.entries = parse_startup_apps([{**ENTRY, "description": "v2"}])
    report = _reconcile(client, auth)["ann/sales"]
    server = fake_hub.users["ann"].servers["sales"]
    assert report["state"] == "updated"
    assert server.user_options is not None
    assert server.user_options["description"] == "v2"
    assert not server.running
    edited = _events(client, "edited")
    assert edited[0].detail == {"fields": ["description"], "source": "startup_apps"}
    assert edited[0].actor == ""
    # The owner edits it through the launcher: kept, and reported as drift (the admin's next change too).
    response = client.patch("/services/japps/api/apps/ann/sales", json={"description": "mine"}, headers=auth("ann"))
    assert response.status_code == 200, response.text
    report = _reconcile(client, auth)["ann/sales"]
    assert report["state"] == "drift"
    assert "owner edited" in report["message"]
    startup.entries = parse_startup_apps([{**ENTRY, "description": "v3"}])
    assert _reconcile(client, auth)["ann/sales"]["state"] == "drift"
    assert server.user_options["description"] == "mine"
    # overwrite: the entry wins.
    startup.entries = parse_startup_apps([{**ENTRY, "description": "v3", "overwrite": True}])
    report = _reconcile(client, auth)["ann/sales"]
    assert report["state"] == "updated"
    assert "replaced" in report["message"]
    assert server.user_options["description"] == "v3"


@pytest.mark.usefixtures("service_acts")
def test_a_running_app_waits_for_its_stop(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    startup = _startup(client, {**ENTRY, "start": True})
    _reconcile(client, auth)
    startup.entries = parse_startup_apps([{**ENTRY, "start": True, "description": "v2"}])
    report = _reconcile(client, auth)["ann/sales"]
    assert report["state"] == "waiting"
    assert "running" in report["message"]
    fake_hub.users["ann"].servers["sales"].running = False
    assert _reconcile(client, auth)["ann/sales"]["state"] == "updated"


@pytest.mark.usefixtures("service_acts")
def test_a_missing_owner_or_file_waits_then_the_app_is_made(
    client: TestClient, fake_hub: FakeHub, auth: Users, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    _startup(client, {**ENTRY, "owner": "dan"}, {**ENTRY, "wait_for": str(ready)})
    report = _reconcile(client, auth)
    assert report["dan/sales"]["state"] == "waiting"
    assert "'dan' does not exist yet" in report["dan/sales"]["message"]
    assert report["ann/sales"]["state"] == "waiting"
    assert str(ready) in report["ann/sales"]["message"]
    fake_hub.add_user("dan")
    ready.write_text("")
    report = _reconcile(client, auth)
    assert report["dan/sales"]["state"] == report["ann/sales"]["state"] == "created"


@pytest.mark.usefixtures("service_acts")
def test_an_entry_the_installation_refuses_is_an_error(client: TestClient, auth: Users) -> None:
    _startup(client, {**ENTRY, "python_env": "nope"})
    report = _reconcile(client, auth)["ann/sales"]
    assert report["state"] == "error"
    assert report["message"].startswith("python_env:")


@pytest.mark.usefixtures("service_acts")
def test_a_server_that_is_not_an_app_is_left_alone(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server("ann", "sales", {"profile": "x"})
    _startup(client, ENTRY)
    assert _reconcile(client, auth)["ann/sales"]["state"] == "error"
    assert fake_hub.users["ann"].servers["sales"].user_options == {"profile": "x"}


def test_the_report_is_for_admins_only(client: TestClient, auth: Users) -> None:
    _startup(client, ENTRY)
    for method, path in (("GET", "startup-apps"), ("POST", "startup-apps/reconcile")):
        response = client.request(method, f"/services/japps/api/admin/{path}", headers=auth("ann"))
        assert response.status_code == 404, response.text
    report = client.get("/services/japps/api/admin/startup-apps", headers=auth("root")).json()
    assert report == {
        "last_reconcile": None,
        "apps": [
            {
                "id": "ann/sales",
                "owner": "ann",
                "server": "sales",
                "display_name": "Sales",
                "state": "pending",
                "message": "not reconciled yet",
                "checked_at": None,
                "start": False,
                "overwrite": False,
                "notes": [],
            }
        ],
    }


@pytest.mark.usefixtures("service_acts")
def test_one_worker_reconciles_at_a_time(client: TestClient, auth: Users) -> None:
    startup = _startup(client, ENTRY)
    assert client.portal.call(startup.records.acquire, "another-worker", 60.0)  # type: ignore[union-attr]
    response = client.post("/services/japps/api/admin/startup-apps/reconcile", headers=auth("root"))
    assert response.status_code == 409
    assert "running" in response.json()["detail"]
    client.portal.call(startup.records.release, "another-worker")  # type: ignore[union-attr]
    assert _reconcile(client, auth)["ann/sales"]["state"] == "created"


@pytest.mark.usefixtures("service_acts")
def test_the_service_reconciles_at_start_and_retries_what_waits(
    make_client: Callable[..., TestClient], settings: ServiceSettings, fake_hub: FakeHub, auth: Users
) -> None:
    configured = settings.model_copy(
        update={
            "startup_apps": [{**ENTRY, "owner": "eve"}, ENTRY],
            "startup_apps_retry": 0.05,
            "startup_apps_retry_max": 0.2,
        }
    )
    client = make_client(configured)

    def state(owner: str) -> str:
        apps = client.get("/services/japps/api/admin/startup-apps", headers=auth("root")).json()["apps"]
        return str(next(a["state"] for a in apps if a["owner"] == owner))

    deadline = time.monotonic() + 10
    # "created", or "unchanged" once a retry (for eve) has run since
    while state("ann") not in ("created", "unchanged") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state("eve") == "waiting"
    assert "sales" in fake_hub.users["ann"].servers
    fake_hub.add_user("eve")
    while state("eve") not in ("created", "unchanged") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "sales" in fake_hub.users["eve"].servers
    assert len(_events(client, "created")) == 2


def test_the_admin_page_shows_the_report_with_its_button(
    client: TestClient, auth: Users, service_acts: None, fake_hub: FakeHub
) -> None:
    _startup(client, ENTRY)
    _reconcile(client, auth)
    headers = {**auth("root"), "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    page = client.get("/services/japps/ui/admin/startup-apps", headers=headers)
    assert page.status_code == 200, page.text
    assert 'data-id="ann/sales" data-state="created"' in page.text
    assert "Reconcile now" in page.text
    denied = client.get("/services/japps/ui/admin/startup-apps", headers={**headers, **auth("ann")})
    assert denied.status_code == 404


@pytest.mark.usefixtures("service_acts")
def test_workers_starting_together_make_each_app_once(
    make_client: Callable[..., TestClient], settings: ServiceSettings, fake_hub: FakeHub, auth: Users, tmp_path: Path
) -> None:
    shared = settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'service.sqlite'}",
            "startup_apps": [{**ENTRY, "start": True}],
            "startup_apps_retry": 0.05,
        }
    )
    fake_hub.create_delay = 0.1  # the first worker is still creating while the others start
    workers = [make_client(shared) for _ in range(3)]
    deadline = time.monotonic() + 10
    report: dict[str, Any] = {}
    while time.monotonic() < deadline:
        report = workers[-1].get("/services/japps/api/admin/startup-apps", headers=auth("root")).json()
        if report["last_reconcile"]:
            break
        time.sleep(0.05)
    assert report["apps"][0]["state"] in ("created", "unchanged")
    time.sleep(0.3)  # the other workers' turns at the lease
    assert [m for m, _ in fake_hub.calls if m in ("PUT", "POST")] == ["PUT", "POST"]
    assert len(_events(workers[0], "created")) == 1
    assert len(_events(workers[0], "started")) == 1
