"""Editing a stopped app, on the Hub under test: what the Hub holds afterwards and what the next start runs.

JupyterHub 6 stores the new spec with ``PATCH`` and the app stays stopped. JupyterHub 5 has no
``PATCH`` and writes ``user_options`` only when it spawns a server, so the edit starts the app with
its new spec (docs/migrating.md, "JupyterHub 5.5 and 6"). On both, the Hub holds the new spec, the
edit is a revision, and a later plain start (no options sent) runs the edited spec.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import HUB_6, Hub

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as c:
        yield c


def _server(hub: Hub, owner: str, server: str) -> dict[str, Any]:
    response = hub.api("GET", f"users/{owner}", params={"include_stopped_servers": "1"})
    response.raise_for_status()
    model: dict[str, Any] = response.json()["servers"][server]
    return model


def _color_the_app_runs_with(hub: Hub, owner: str, server: str, token: str) -> str:
    hub.wait_ready(owner, server)
    hub.wait_app(owner, server, token)
    response = httpx.get(hub.app_url(owner, server), headers=h(token), timeout=30)
    assert response.status_code == 200, response.text[:300]
    color: str = response.json()["env"].get("COLOR", "")
    return color


def _wait_stopped(hub: Hub, owner: str, server: str) -> None:
    deadline = time.monotonic() + 60
    while hub.server_model(owner, server) is not None:
        assert time.monotonic() < deadline, f"{owner}/{server} did not stop"
        time.sleep(0.3)


def test_an_edit_of_a_stopped_app_is_what_the_hub_holds_and_what_the_next_start_runs(
    hub: Hub, client: httpx.Client
) -> None:
    svc = hub.url + "services/japps/api/"
    owner = f"edit-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    spec = {
        "framework": "command",
        "display_name": "Edited while stopped",
        "command": ["{python}", str(RESOURCES / "env_dump_app.py"), "{port}"],
        "env": {"COLOR": "red"},
    }
    created = client.post(svc + "apps", headers=h(token), json=spec)
    assert created.status_code == 201, created.text
    server = created.json()["name"]
    app = f"{svc}apps/{owner}/{server}"
    try:
        if not HUB_6:  # JupyterHub 5 creates a server by starting it
            assert _color_the_app_runs_with(hub, owner, server, token) == "red"
            assert client.post(app + "/stop", headers=h(token)).status_code in (200, 202)
            _wait_stopped(hub, owner, server)
        assert _server(hub, owner, server)["user_options"]["env"] == {"COLOR": "red"}

        edited = client.patch(app, headers=h(token), json={"env": {"COLOR": "blue"}})

        held = _server(hub, owner, server)
        assert held["user_options"]["env"] == {"COLOR": "blue"}
        if HUB_6:
            # PATCH: stored, not started.
            assert edited.status_code == 200, edited.text
            assert edited.json()["state"] == "stopped"
            assert held["ready"] is False
            assert held["pending"] is None
            assert hub.server_model(owner, server) is None
        else:
            # No PATCH: the edit is a start with the new spec, answered like one.
            assert edited.status_code in (200, 202), edited.text
            assert edited.json()["state"] in ("running", "starting")
            assert _color_the_app_runs_with(hub, owner, server, token) == "blue"
            assert client.post(app + "/stop", headers=h(token)).status_code in (200, 202)
            _wait_stopped(hub, owner, server)
            assert _server(hub, owner, server)["user_options"]["env"] == {"COLOR": "blue"}

        revisions = client.get(app + "/revisions", headers=h(token))
        assert revisions.status_code == 200, revisions.text
        assert [r["note"] for r in revisions.json()["data"]] == ["edited", "created"]

        # A plain start (the stored spec, no options sent) runs the edited spec.
        assert client.post(app + "/start", headers=h(token)).status_code in (200, 202)
        assert _color_the_app_runs_with(hub, owner, server, token) == "blue"
    finally:
        hub.stop_app(owner, server, remove=True)
