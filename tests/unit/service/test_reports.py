"""The report channel at the service, as an attacker would try it: a report counts only when signed with
the key of the app it names, for this exact body, within the clock skew; oversize bodies, floods and
replays change nothing. What a report may write: its own app's run, "opened" and "failed" events.

Then failure memory as people see it: the API (the app, its status) and the details page explain a
failed run after the Hub dropped the server, with the reason and log tail for the owner and admins
only, and a Hub that still calls the server running shows "failed" once the proxy reported its exit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hubapps.core import statuskey
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.reports import REPORT_PATH, report_sub
from hubapps.service.app import create_app
from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, Users, app_options
from tests.unit.service.headers import checked

PREFIX = "/services/japps/"
URL = PREFIX + REPORT_PATH
API = PREFIX + "api"
KEY = bytes(range(32))
RUN = "0123456789abcdef"


def _with(settings: ServiceSettings, **changes: Any) -> ServiceSettings:
    return ServiceSettings.model_validate({**settings.model_dump(), **changes})


@pytest.fixture
def make_report_client(
    fake_hub: FakeHub, settings: ServiceSettings, registry: FrameworkRegistry
) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**changes: Any) -> TestClient:
        app = create_app(
            _with(settings, status_key=KEY.hex(), **changes),
            hub_transport=httpx.MockTransport(fake_hub.handler),
            registry=registry,
        )
        client = checked(TestClient(app, base_url="http://hub.test"), PREFIX)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _body(owner: str = "bob", server: str = "dash", kind: str = "started", **fields: Any) -> bytes:
    return json.dumps({"owner": owner, "server": server, "run": RUN, "kind": kind, **fields}).encode()


def _send(
    client: TestClient,
    body: bytes,
    *,
    key: bytes | None = None,
    now: float | None = None,
    signature: str | None = None,
) -> Any:
    """POST ``body`` signed with ``key`` (default: the key of the app the body names)."""
    data = json.loads(body)
    if key is None:
        key = statuskey.app_key(KEY, data["owner"], data["server"])
    if signature is None:
        signature = statuskey.sign(key, "POST", report_sub(body), now=now)
    return client.post(URL, content=body, headers={statuskey.HEADER: signature, "Content-Type": "application/json"})


def _failed(client: TestClient, owner: str = "bob", server: str = "dash", run: str = RUN) -> Any:
    body = json.dumps(
        {
            "owner": owner,
            "server": server,
            "run": run,
            "kind": "exited",
            "state": "failed",
            "reason": "the app exited with code 7 (3 restarts in 60 s): RuntimeError: <b>boom</b>",
            "log_tail": ["starting", "Traceback (most recent call last):", "RuntimeError: <b>boom</b>"],
        }
    ).encode()
    return _send(client, body)


@pytest.fixture
def world(fake_hub: FakeHub, auth: Users) -> FakeHub:
    fake_hub.add_server("bob", "dash", app_options("Dash"))
    fake_hub.add_server("ann", "notes", app_options("Notes"))
    fake_hub.share("bob", "dash", user="ann")
    return fake_hub


def _events(client: TestClient, kind: str) -> list[Any]:
    events = client.app.state.events  # type: ignore[attr-defined]
    return list(client.portal.call(lambda: events.events(kinds=[kind])))  # type: ignore[union-attr]


# -- who may report -----------------------------------------------------------------------------------


def test_a_report_signed_with_the_apps_key_is_taken(
    make_report_client: Callable[..., TestClient], world: FakeHub, auth: Users
) -> None:
    client = make_report_client()
    sha = "a" * 64
    assert _send(client, _body(sha256=sha)).status_code == 204
    assert _send(client, _body(kind="ready", ready_after=2.5)).status_code == 204
    run = client.get(f"{API}/apps/bob/dash", headers=auth("bob")).json()["last_run"]
    assert run["state"] == "running"
    assert (run["source_sha256"], run["ready_after"]) == (sha, 2.5)


@pytest.mark.parametrize(
    "attack",
    ["another apps key", "the service key", "no signature", "wrong body", "replay outside skew", "future", "GET"],
)
def test_refused_reports_look_like_an_unknown_address_and_change_nothing(
    make_report_client: Callable[..., TestClient], world: FakeHub, auth: Users, attack: str
) -> None:
    client = make_report_client()
    body = _body(owner="ann", server="notes", kind="exited", state="failed", reason="forged")
    ann_key = statuskey.app_key(KEY, "ann", "notes")
    if attack == "another apps key":
        # bob's app (whose code may read its own key) speaks for ann's app.
        answer = _send(client, body, key=statuskey.app_key(KEY, "bob", "dash"))
    elif attack == "the service key":
        answer = _send(client, body, key=KEY)
    elif attack == "no signature":
        answer = client.post(URL, content=body)
    elif attack == "wrong body":
        signed_for = _body(owner="ann", server="notes", kind="started")
        answer = _send(client, body, signature=statuskey.sign(ann_key, "POST", report_sub(signed_for)))
    elif attack == "replay outside skew":
        answer = _send(client, body, now=time.time() - 120)
    elif attack == "future":
        answer = _send(client, body, now=time.time() + 120)
    else:
        answer = client.get(URL, headers={statuskey.HEADER: statuskey.sign(ann_key, "POST", report_sub(body))})
    unknown = client.post(PREFIX + "api/internal/no-such-thing", content=body)
    if attack == "GET":
        assert answer.status_code == 405
    else:
        assert (answer.status_code, answer.json()) == (unknown.status_code, unknown.json()) == (404, unknown.json())
    assert client.get(f"{API}/apps/ann/notes", headers=auth("ann")).json()["last_run"] is None
    assert _events(client, "failed") == []


def test_unsigned_junk_is_an_unknown_address(make_report_client: Callable[..., TestClient]) -> None:
    client = make_report_client()
    signed = {statuskey.HEADER: "v1.1.00"}
    for body in (b"[" * 30000, b"not json", b'{"owner": 1}', b"[]"):
        answer = client.post(URL, content=body, headers=signed)
        assert (answer.status_code, answer.json()["detail"]) == (404, "not found")


def test_the_report_endpoint_is_not_in_the_api_document(make_report_client: Callable[..., TestClient]) -> None:
    client = make_report_client()
    paths = client.get(PREFIX + "api/openapi.json").json()["paths"]
    assert not [path for path in paths if "internal" in path]


def test_an_oversize_report_is_refused_before_it_is_taken(
    make_report_client: Callable[..., TestClient], world: FakeHub, auth: Users
) -> None:
    client = make_report_client(report_max_bytes=2000)
    body = _body(kind="exited", state="failed", reason="big", log_tail=["x" * 1000, "y" * 1000])
    answer = _send(client, body)
    assert answer.status_code == 413
    assert "2000 bytes" in answer.json()["detail"]
    assert client.get(f"{API}/apps/bob/dash", headers=auth("bob")).json()["last_run"] is None


def test_bad_fields_are_named(make_report_client: Callable[..., TestClient], world: FakeHub) -> None:
    client = make_report_client()
    answer = _send(client, _body(kind="exited", state="failed", log_tail=["x" * 3000]))
    assert answer.status_code == 422
    assert answer.json()["field"] == "log_tail.0"
    answer = _send(client, _body(kind="started", sha256="not hex"))
    assert (answer.status_code, answer.json()["field"]) == (422, "sha256")
    answer = _send(client, _body(kind="opened", viewers=["v"] * 51))
    assert (answer.status_code, answer.json()["field"]) == (422, "viewers")


def test_each_app_is_rate_limited_on_its_own(
    make_report_client: Callable[..., TestClient], world: FakeHub, auth: Users
) -> None:
    client = make_report_client(reports_per_minute=3)
    answers = [_send(client, _body(kind="opened", viewers=[f"viewer{n}"])).status_code for n in range(5)]
    assert answers == [204, 204, 204, 429, 429]
    # Another app's reports are not held back by the first one's flood.
    assert _send(client, _body(owner="ann", server="notes", kind="opened", viewers=["cat"])).status_code == 204
    assert len(_events(client, "opened")) == 4
    # Each viewer session counts: an app cannot add events faster by packing viewers into one report.
    packed = _send(client, _body(owner="ann", server="notes", kind="opened", viewers=["a", "b", "c"]))
    assert packed.status_code == 429
    assert len(_events(client, "opened")) == 4


def test_a_replayed_report_within_the_skew_changes_nothing(
    make_report_client: Callable[..., TestClient], world: FakeHub
) -> None:
    client = make_report_client()
    body = _body(kind="opened", viewers=["ann"])
    signature = statuskey.sign(statuskey.app_key(KEY, "bob", "dash"), "POST", report_sub(body))
    assert _send(client, body, signature=signature).status_code == 204
    assert _send(client, body, signature=signature).status_code == 204  # (taken already)
    assert [(e.actor, e.owner, e.server) for e in _events(client, "opened")] == [("ann", "bob", "dash")]


def test_runs_kept_per_app_are_bounded(make_report_client: Callable[..., TestClient], world: FakeHub) -> None:
    client = make_report_client(runs_kept_per_app=2)
    for n in range(4):
        body = json.dumps({"owner": "bob", "server": "dash", "run": f"{n:016x}", "kind": "started"}).encode()
        assert _send(client, body).status_code == 204
    runs = client.app.state.runs  # type: ignore[attr-defined]

    def count() -> int:
        with runs._engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM hubapps_runs").scalar_one())

    assert count() == 2


# -- what people see ----------------------------------------------------------------------------------


def test_a_failed_run_is_explained_after_the_hub_dropped_the_server(
    make_report_client: Callable[..., TestClient], world: FakeHub, auth: Users
) -> None:
    client = make_report_client()
    assert _send(client, _body()).status_code == 204
    assert _failed(client).status_code == 204
    assert _failed(client).status_code == 204  # a second word on the same run's end changes nothing
    failed = _events(client, "failed")
    assert [(e.actor, e.owner, e.server, e.detail["reason"][:28]) for e in failed] == [
        ("", "bob", "dash", "the app exited with code 7 (")
    ]

    for who in ("bob", "root"):
        app = client.get(f"{API}/apps/bob/dash", headers=auth(who)).json()
        assert app["state"] == "stopped"
        run = app["last_run"]
        assert run["state"] == "failed"
        assert run["ended"]
        assert run["reason"].endswith("RuntimeError: <b>boom</b>")
        assert run["log_tail"][-1] == "RuntimeError: <b>boom</b>"
    status = client.get(f"{API}/apps/bob/dash/status", headers=auth("bob")).json()
    assert status["last_run"]["reason"].endswith("boom</b>")

    # ann, whom it is shared with, sees that it failed, not why nor its output.
    shared = client.get(f"{API}/apps/bob/dash", headers=auth("ann")).json()
    assert shared["last_run"]["state"] == "failed"
    assert (shared["last_run"]["reason"], shared["last_run"]["log_tail"]) == (None, [])

    page = client.get(f"{PREFIX}ui/apps/bob/dash", headers=auth("bob"))
    assert page.status_code == 200, page.text
    assert "Stopped after a failure at " in page.text
    assert "RuntimeError: &lt;b&gt;boom&lt;/b&gt;" in page.text
    assert "<b>boom</b>" not in page.text
    viewer_page = client.get(f"{PREFIX}ui/apps/bob/dash", headers=auth("ann"))
    assert "Stopped after a failure at " in viewer_page.text
    assert "boom" not in viewer_page.text


def test_a_normal_stop_records_no_failure(
    make_report_client: Callable[..., TestClient], world: FakeHub, auth: Users
) -> None:
    client = make_report_client()
    assert _send(client, _body()).status_code == 204
    assert _send(client, _body(kind="exited", state="stopped")).status_code == 204
    app = client.get(f"{API}/apps/bob/dash", headers=auth("bob")).json()
    assert app["last_run"]["state"] == "stopped"
    assert _events(client, "failed") == []
    page = client.get(f"{PREFIX}ui/apps/bob/dash", headers=auth("bob"))
    assert "Stopped after a failure" not in page.text


def test_unknown_becomes_failed_once_the_proxy_reported_its_exit(
    make_report_client: Callable[..., TestClient], world: FakeHub, auth: Users
) -> None:
    # The Hub still calls the server running (it polls the spawner later), the proxy is gone.
    server = world.users["bob"].servers["dash"]
    server.running = True
    server.started = "2026-01-01T00:00:00.000000Z"
    client = make_report_client(proxy_url="http://127.0.0.1:9")  # nothing answers there
    assert client.get(f"{API}/apps/bob/dash", headers=auth("bob")).json()["state"] == "unknown"
    assert _failed(client).status_code == 204
    app = client.get(f"{API}/apps/bob/dash", headers=auth("bob")).json()
    assert app["state"] == "failed"
    assert app["reason"].endswith("RuntimeError: <b>boom</b>")
    status = client.get(f"{API}/apps/bob/dash/status", headers=auth("bob")).json()
    assert (status["state"], status["reason"][:12]) == ("failed", "the app exit")


def test_deleting_an_app_forgets_its_runs(
    make_report_client: Callable[..., TestClient], world: FakeHub, auth: Users
) -> None:
    client = make_report_client()
    assert _failed(client).status_code == 204
    assert client.delete(f"{API}/apps/bob/dash", headers=auth("bob")).status_code == 204
    runs = client.app.state.runs  # type: ignore[attr-defined]
    assert client.portal.call(lambda: runs.last("bob", "dash")) is None  # type: ignore[union-attr]


def test_viewer_sessions_are_opened_events_of_that_app_only(
    make_report_client: Callable[..., TestClient], world: FakeHub
) -> None:
    client = make_report_client()
    assert _send(client, _body(kind="opened", viewers=["ann", "", "cat<'&\">"])).status_code == 204
    opened = _events(client, "opened")
    assert sorted((e.actor, e.owner, e.server, dict(e.detail)) for e in opened) == [
        ("", "bob", "dash", {"anonymous": True}),
        ("ann", "bob", "dash", {}),
        ("cat<'&\">", "bob", "dash", {}),
    ]
