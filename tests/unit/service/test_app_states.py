"""One state model for every view: the Hub's word, told apart by the app proxy's status (pure rule),
and the API's listing, app, status and start built on it (the Hub and the apps faked)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hubapps.service.app_models import NOT_ANSWERING, StateView, app_state
from tests.unit.service.conftest import FakeHub, Users, app_options
from tests.unit.service.test_app_status import API, FakeApps, make_status_client, status_settings

__all__ = ["make_status_client", "status_settings"]  # the status tests' fixtures, used here too

RUNNING = {"ready": True, "pending": None}
REASON = "the app exited with code 1 before it was ready: SyntaxError"
FAILED: dict[str, Any] = {"state": "failed", "elapsed": 0.4, "reason": REASON}


@pytest.mark.parametrize(
    ("model", "proxy", "asked", "expected"),
    [
        ({"ready": False, "pending": None}, None, True, StateView("stopped")),
        ({"ready": False, "pending": "spawn"}, None, True, StateView("starting")),
        ({"ready": True, "pending": "stop"}, None, True, StateView("stopping")),
        # Not asked (a share, JupyterLab, no status key): the Hub's word.
        (RUNNING, None, False, StateView("running")),
        (RUNNING, FAILED, False, StateView("running")),
        (RUNNING, {"state": "ready", "ready_after": 2.5}, True, StateView("running", None, 2.5, "ready")),
        (
            RUNNING,
            {"state": "starting", "reason": "the app exited with code 7; restarting in 2 s"},
            True,
            StateView("starting", "the app exited with code 7; restarting in 2 s", None, "starting"),
        ),
        (RUNNING, FAILED, True, StateView("failed", REASON, None, "failed")),
        (RUNNING, {"state": "failed", "reason": ""}, True, StateView("failed", "the app stopped", None, "failed")),
        # The Hub says running, its proxy does not answer (or answers nonsense): not plain "running".
        (RUNNING, None, True, StateView("unknown", NOT_ANSWERING)),
        (RUNNING, {"state": "<b>party</b>"}, True, StateView("unknown", NOT_ANSWERING)),
        (RUNNING, {"state": "ready", "ready_after": True}, True, StateView("running", None, None, "ready")),
    ],
)
def test_app_state(model: dict[str, Any], proxy: dict[str, Any] | None, asked: bool, expected: StateView) -> None:
    assert app_state(model, proxy, asked=asked) == expected  # type: ignore[arg-type]


def test_reasons_are_bounded() -> None:
    view = app_state(RUNNING, {"state": "failed", "reason": "x" * 10_000}, asked=True)  # type: ignore[arg-type]
    assert view.reason is not None
    assert len(view.reason) == 2000


class ProxyStates(FakeApps):
    """Apps whose ``_hubapps/status`` says what ``states`` holds for their server (503: no answer)."""

    def __init__(self) -> None:
        super().__init__()
        self.states: dict[str, dict[str, Any] | None] = {}

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        server = request.url.path.split("/")[3]
        if request.url.path.endswith("/_hubapps/logs"):
            return httpx.Response(200, json={"lines": ["Traceback...", "SyntaxError: invalid syntax"]})
        answer = self.states.get(server, {"state": "ready", "elapsed": 3.0, "reason": "", "ready_after": 1.2})
        if answer is None:
            return httpx.Response(503, text="down")
        return httpx.Response(200, json=answer)


@pytest.fixture
def apps() -> ProxyStates:
    return ProxyStates()


@pytest.fixture
def world(fake_hub: FakeHub, auth: Users) -> FakeHub:
    fake_hub.add_server("bob", "broken", app_options("Broken"), running=True)
    fake_hub.add_server("bob", "fine", app_options("Fine"), running=True)
    fake_hub.add_server("bob", "gone", app_options("Gone"), running=True)
    fake_hub.add_server("bob", "idle", app_options("Idle"))
    fake_hub.share("bob", "broken", user="ann")
    return fake_hub


def _states(listing: dict[str, Any]) -> dict[str, tuple[str, bool, str | None]]:
    return {a["name"]: (a["state"], a["ready"], a["reason"]) for a in listing["data"]}


def test_the_listing_tells_failed_apps_from_running_ones(
    make_status_client: Callable[..., TestClient], world: FakeHub, auth: Users, apps: ProxyStates
) -> None:
    apps.states = {"broken": FAILED, "gone": None}
    client = make_status_client()
    listing = client.get(f"{API}/apps", headers=auth("bob"))
    assert listing.status_code == 200, listing.text
    assert _states(listing.json()) == {
        "broken": ("failed", False, FAILED["reason"]),
        "fine": ("running", True, None),
        "gone": ("unknown", False, NOT_ANSWERING),
        "idle": ("stopped", False, None),
    }
    assert sorted(r.url.path for r in apps.requests) == [
        f"/user/bob/{s}/_hubapps/status" for s in ("broken", "fine", "gone")
    ]
    # The state filter sees the same states.
    failed = client.get(f"{API}/apps", params={"state": "failed"}, headers=auth("bob")).json()
    assert [a["name"] for a in failed["data"]] == ["broken"]
    # Listings reuse answers for a moment (listing_status_ttl), so that polling pages ask little.
    assert len(apps.requests) == 3
    client.get(f"{API}/apps/bob/broken", headers=auth("bob"))  # one app: asked afresh
    assert len(apps.requests) == 4


def test_an_admin_listing_everyones_apps_sees_failed_ones(
    make_status_client: Callable[..., TestClient], world: FakeHub, auth: Users, apps: ProxyStates
) -> None:
    apps.states = {"broken": FAILED, "gone": None}
    client = make_status_client()
    listing = client.get(f"{API}/apps", params={"access": "admin"}, headers=auth("root"))
    assert listing.status_code == 200, listing.text
    assert _states(listing.json()) == {
        "broken": ("failed", False, FAILED["reason"]),
        "fine": ("running", True, None),
        "gone": ("unknown", False, NOT_ANSWERING),
        "idle": ("stopped", False, None),
    }


def test_shares_are_never_asked_and_show_no_reason(
    make_status_client: Callable[..., TestClient], world: FakeHub, auth: Users, apps: ProxyStates
) -> None:
    apps.states = {"broken": FAILED}
    client = make_status_client()
    shared = client.get(f"{API}/apps", params={"access": "shared"}, headers=auth("ann")).json()
    assert _states(shared) == {"broken": ("running", True, None)}
    assert client.get(f"{API}/apps/bob/broken", headers=auth("ann")).json()["state"] == "running"
    assert apps.requests == []


@pytest.mark.parametrize("caller", ["bob", "root"])
def test_one_app_and_its_status_say_failed_with_the_reason(
    make_status_client: Callable[..., TestClient], world: FakeHub, auth: Users, apps: ProxyStates, caller: str
) -> None:
    apps.states = {"broken": FAILED}
    client = make_status_client()
    app = client.get(f"{API}/apps/bob/broken", headers=auth(caller)).json()
    assert (app["state"], app["ready"], app["reason"]) == ("failed", False, FAILED["reason"])
    status = client.get(f"{API}/apps/bob/broken/status", headers=auth(caller)).json()
    assert (status["state"], status["ready"], status["reason"]) == ("failed", False, FAILED["reason"])
    assert status["log_tail"][-1] == "SyntaxError: invalid syntax"
    fine = client.get(f"{API}/apps/bob/fine/status", headers=auth(caller)).json()
    assert (fine["state"], fine["ready"], fine["ready_after"]) == ("running", True, 1.2)


def test_starting_a_failed_app_stops_its_server_then_starts_it(
    make_status_client: Callable[..., TestClient], world: FakeHub, auth: Users, apps: ProxyStates
) -> None:
    apps.states = {"broken": FAILED}
    client = make_status_client()
    world.calls.clear()
    r = client.post(f"{API}/apps/bob/broken/start", headers=auth("bob"))
    assert r.status_code in (200, 202), r.text
    server_calls = [(m, p) for m, p in world.calls if p.endswith("/servers/broken")]
    assert server_calls == [
        ("DELETE", "/hub/api/users/bob/servers/broken"),
        ("POST", "/hub/api/users/bob/servers/broken"),
    ]
    # A running app's start is still the Hub's answer (already running), not a restart.
    world.calls.clear()
    assert client.post(f"{API}/apps/bob/fine/start", headers=auth("bob")).status_code >= 400
    assert ("DELETE", "/hub/api/users/bob/servers/fine") not in world.calls


def test_a_server_started_again_is_asked_afresh_in_listings(
    make_status_client: Callable[..., TestClient],
    world: FakeHub,
    auth: Users,
    apps: ProxyStates,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    apps.states = {"broken": FAILED}
    client = make_status_client()
    assert _states(client.get(f"{API}/apps", headers=auth("bob")).json())["broken"][0] == "failed"
    # Started afresh (a new start time), and ready: the listing does not show the old answer.
    server = world.users["bob"].servers["broken"]
    model = server.model
    monkeypatch.setattr(server, "model", lambda owner: {**model(owner), "started": "2026-12-05T12:00:00.000000Z"})
    apps.states = {}
    world.calls.clear()
    client.post(f"{API}/apps/bob/fine/stop", headers=auth("bob"))  # (drops the cached user model)
    assert _states(client.get(f"{API}/apps", headers=auth("bob")).json())["broken"][0] == "running"
