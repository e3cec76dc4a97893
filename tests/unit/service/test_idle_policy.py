"""The idle policy's loop against a fake Hub: what it stops, with which token, and what it records;
the one-worker lease."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from hubapps.hub.install import SERVICE_ROLE_SCOPES, service_role_scopes
from hubapps.service.events import EventStore
from hubapps.service.hub_client import HubClient
from hubapps.service.lease import WorkerLease
from hubapps.service.operations.as_service import ServiceActor
from hubapps.service.operations.idle import check_idle_apps
from hubapps.service.settings import ServiceSettings

SERVICE_TOKEN = "service-own-token-" + "x" * 20
NOW = 1_000_000.0


def _iso(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _server(name: str, options: dict[str, Any] | None, *, started: float, active: float | None, **extra: Any) -> Any:
    return {
        "name": name,
        "ready": True,
        "pending": None,
        "started": _iso(started),
        "last_activity": _iso(active) if active is not None else None,
        "user_options": options,
        **extra,
    }


def _app(**fields: Any) -> dict[str, Any]:
    return {"spec_version": 2, "jhub_app": True, "framework": "panel", "display_name": "A", **fields}


USERS = [
    {
        "name": "ann",
        "servers": {
            "idle": _server("idle", _app(), started=NOW - 900, active=NOW - 700),
            "busy": _server("busy", _app(), started=NOW - 900, active=NOW - 10),
            "kept": _server("kept", _app(idle_policy="keep"), started=NOW - 10**6, active=NOW - 10**6),
            "old": _server("old", _app(idle_policy="idle", max_age_minutes=60), started=NOW - 4000, active=NOW),
            "lab": _server("lab", {}, started=NOW - 10**6, active=NOW - 10**6),  # not an app: the Hub's culler's
            "starting": _server("starting", _app(), started=NOW - 900, active=None, pending="spawn", ready=False),
            "broken": _server("broken", _app(framework="Not a framework"), started=0, active=0),
        },
    },
    {
        "name": "bob",
        "servers": {"own": _server("own", _app(idle_policy="idle", idle_minutes=1), started=0, active=NOW - 61)},
    },
]


class FakeHub:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("Authorization", "")
        self.calls.append((request.method, request.url.path, token))
        if token != f"token {SERVICE_TOKEN}":
            return httpx.Response(403)
        if request.method == "GET" and request.url.path == "/hub/api/users":
            assert request.url.params["state"] == "active"
            return httpx.Response(200, json={"items": USERS, "_pagination": {"next": None}})
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(404)


def test_the_loop_stops_what_is_past_its_policy_with_the_service_token(tmp_path: Path) -> None:
    fake = FakeHub()
    settings = ServiceSettings.model_validate(
        {"api_token": SERVICE_TOKEN, "hub_api_url": "http://hub/hub/api", "app_idle_timeout": 600}
    )
    hub = HubClient(settings.hub_url, timeout=5, transport=httpx.MockTransport(fake))
    events = EventStore(f"sqlite:///{tmp_path / 'events.sqlite'}")

    async def run() -> list[tuple[str, str, str]]:
        await events.open()
        try:
            return await check_idle_apps(ServiceActor(hub, settings), events, settings, now=NOW)
        finally:
            await hub.aclose()

    stopped = asyncio.run(run())
    assert sorted(stopped) == [("ann", "idle", "idle"), ("ann", "old", "max age"), ("bob", "own", "idle")]
    deletes = sorted(path for method, path, _ in fake.calls if method == "DELETE")
    assert deletes == [
        "/hub/api/users/ann/servers/idle",
        "/hub/api/users/ann/servers/old",
        "/hub/api/users/bob/servers/own",
    ]
    assert {token for _, _, token in fake.calls} == {f"token {SERVICE_TOKEN}"}  # never anyone else's
    recorded = asyncio.run(events.events(kinds=["stopped"]))
    assert sorted((e.owner, e.server, e.actor, json.dumps(dict(e.detail))) for e in recorded) == [
        ("ann", "idle", "", '{"reason": "idle"}'),
        ("ann", "old", "", '{"reason": "max age"}'),
        ("bob", "own", "", '{"reason": "idle"}'),
    ]
    events.close()


def test_one_worker_holds_the_lease_until_it_lets_go(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'service.sqlite'}"
    first, second = WorkerLease(url, "policy"), WorkerLease(url, "policy")
    try:
        assert first.try_hold()
        assert first.try_hold()  # held: asked again, still held
        assert not second.try_hold()
        first.close()
        assert second.try_hold()
    finally:
        first.close()
        second.close()
    assert WorkerLease("sqlite://", "policy").try_hold()  # an in-memory database is one process's


def test_the_service_scopes_as_each_jupyterhub_names_them() -> None:
    assert set(service_role_scopes((6, 1))) == set(SERVICE_ROLE_SCOPES)
    before = service_role_scopes((5, 3))
    assert "servers" in before
    assert not {"start:servers", "delete:servers"} & set(before)
    for scope, why in SERVICE_ROLE_SCOPES.items():
        assert why, scope
