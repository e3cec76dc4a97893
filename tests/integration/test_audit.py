"""The audit record on the real Hub: an app created, started, shared and stopped through the launcher's
API is listed by ``hubapps events`` and ``GET /api/events`` with who did it; the viewer it is shared
with reads none of it; an admin reads it and deletes the owner's events (and what the viewer caused)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import httpx
import pytest

from hubapps.service.events import AppEvent, EventStore
from tests.integration.conftest import Hub, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

SPEC = {
    "display_name": "Audited files",
    "framework": "command",
    "command": ["{python}", "-m", "http.server", "--bind", "127.0.0.1", "{port}"],
}


def _svc(hub: Hub) -> str:
    return hub.url + "services/japps/api/"


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


def _wait_state(hub: Hub, app: str, token: str, state: str) -> None:
    deadline = time.monotonic() + 90
    seen: Any = None
    while time.monotonic() < deadline:
        seen = httpx.get(_svc(hub) + f"apps/{app}/status", headers=_as(token), timeout=30).json().get("state")
        if seen == state:
            return
        time.sleep(0.5)
    raise AssertionError(f"{app} is {seen}, not {state}\n{hub.log_tail()}")


def _record_opened(hub: Hub, owner: str, server: str, viewer: str) -> None:
    """An "opened" event, as an app's proxy reports a viewer session, written into the service's database."""

    async def add() -> None:
        store = EventStore(f"sqlite:///{hub.root / 'hubapps.sqlite'}")
        await store.open()
        try:
            await store.add(AppEvent("opened", owner, server, actor=viewer))
        finally:
            store.close()

    asyncio.run(add())


@pytest.mark.timeout(150)  # starts and stops a real app
def test_lifecycle_is_recorded_read_by_the_right_people_and_forgotten(hub: Hub) -> None:
    owner, viewer = f"aud-{secrets.token_hex(3)}", f"aud-v-{secrets.token_hex(3)}"
    token, viewer_token, admin_token = hub.token_for(owner), hub.token_for(viewer), hub.token_for("admin")
    with httpx.Client(base_url=_svc(hub), headers=_as(token), timeout=60) as api:
        created = api.post("apps", json=SPEC)
        assert created.status_code == 201, created.text
        server = created.json()["name"]
        app = f"{owner}/{server}"
        try:
            hub.stop_if_started(owner, server)  # JupyterHub 5 creates an app by starting it
            assert api.post(f"apps/{app}/start").status_code in (200, 202)
            _wait_state(hub, app, token, "running")
            assert api.post(f"apps/{app}/shares", json={"users": [viewer]}).status_code == 200
            assert api.post(f"apps/{app}/stop").status_code in (200, 202)
            _wait_state(hub, app, token, "stopped")
        finally:
            hub.stop_app(owner, server)
        _record_opened(hub, owner, server, viewer)

        # The owner, with the CLI: every change, newest first, each by the owner.
        listed = run_cli(hub, token, "events", server, "--json")
        assert listed.returncode == 0, listed.stderr
        events = json.loads(listed.stdout)["data"]
        assert [(e["kind"], e["actor"]) for e in events] == [
            ("opened", viewer),
            ("stopped", owner),
            ("shared", owner),
            ("started", owner),
            ("created", owner),
        ]
        assert {(e["owner"], e["server"]) for e in events} == {(owner, server)}
        assert events[2]["detail"]["users"] == [viewer]
        table = run_cli(hub, token, "events", "--kind", "started").stdout
        assert f"{app}  started  {owner}" in table

        # The API: the same record for an admin; nothing for the viewer, who may open the app.
        everyone = httpx.get(_svc(hub) + "events", params={"owner": owner}, headers=_as(admin_token), timeout=30)
        assert [e["id"] for e in everyone.json()["data"]] == [e["id"] for e in events]
        refused = httpx.get(_svc(hub) + f"apps/{app}/events", headers=_as(viewer_token), timeout=30)
        assert refused.status_code == 404
        assert httpx.get(_svc(hub) + "events", headers=_as(viewer_token), timeout=30).json()["data"] == []
        exported = httpx.get(_svc(hub) + "events.jsonl", params={"server": server}, headers=_as(token), timeout=30)
        assert [json.loads(line)["kind"] for line in exported.text.splitlines()][-1] == "created"

        # Only an admin deletes a user's events: the owner's app's, and the viewer's own opens.
        denied = run_cli(hub, token, "events", "--delete-user", viewer, "--yes")
        assert denied.returncode == 1
        assert "only Hub admins" in denied.stderr
        gone = run_cli(hub, admin_token, "events", "--delete-user", viewer, "--yes", "--json")
        assert json.loads(gone.stdout) == {"user": viewer, "deleted": 1}
        gone = run_cli(hub, admin_token, "events", "--delete-user", owner, "--yes")
        assert gone.stdout == f"deleted 4 events of {owner}\n"
        assert json.loads(run_cli(hub, token, "events", "--json").stdout)["data"] == []
        api.delete(f"apps/{app}")
