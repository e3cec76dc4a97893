"""Websockets through the real Hub's configurable-http-proxy (CHP) and hubapps-proxy.

CHP sends websocket upgrades to the server over pooled keep-alive connections, and copies the request's
``Connection: Upgrade`` into a refusal that has no ``Connection`` header of its own. So a refusal that
did not say ``Connection: close`` left CHP a pooled connection the proxy was closing, and the next
upgrade sent on it (often the owner's, right after a stranger's) got no answer at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.sync.client import connect as ws_connect

from tests.integration.conftest import Hub, ws_url

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
OWNER = "ws-owner"
STRANGER = "ws-stranger"
SERVER = "ws-echo"
#: Refused upgrades, each followed at once by an owner's upgrade.
PAIRS = 200


def ws_spec(*args: str) -> dict[str, Any]:
    return {
        "spec_version": 1,
        "framework": "command",
        "display_name": "Websocket echo",
        "command": ["{python}", str(RESOURCES / "ws_echo_app.py"), "{port}", *args],
    }


@pytest.fixture(scope="module")
def app_url(hub: Hub) -> Iterator[str]:
    token = hub.token_for(OWNER)
    hub.create_app(OWNER, SERVER, ws_spec(), token=token)
    try:
        hub.wait_app(OWNER, SERVER, token)
        yield hub.app_url(OWNER, SERVER)
    finally:
        hub.stop_app(OWNER, SERVER, remove=True)


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    return {"owner": hub.token_for(OWNER), "stranger": hub.token_for(STRANGER)}


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"token {token}"} if token else {}


@pytest.mark.timeout(120)
def test_refused_upgrades_never_break_the_next_one(app_url: str, tokens: dict[str, str]) -> None:
    url = ws_url(app_url) + "socket"
    refusers = [None, tokens["stranger"]]  # decided without the Hub (anonymous) and from the token cache
    lost: list[tuple[int, str]] = []
    refusals: set[tuple[int, str]] = set()
    started = time.monotonic()
    for attempt in range(PAIRS):
        with pytest.raises(websockets.InvalidStatus) as refused:
            ws_connect(url, additional_headers=_auth(refusers[attempt % 2]), open_timeout=10).close()
        response = refused.value.response
        refusals.add((response.status_code, response.headers.get("Connection", "")))
        try:
            with ws_connect(url, additional_headers=_auth(tokens["owner"]), open_timeout=10) as ws:
                ws.send(f"ping {attempt}")
                assert ws.recv(timeout=10) == f"ping {attempt}"
        except (websockets.InvalidHandshake, websockets.ConnectionClosed, TimeoutError, OSError) as error:
            lost.append((attempt, repr(error)[:200]))
    assert not lost, f"{len(lost)} of {PAIRS} owner upgrades lost after a refused one: {lost[:5]}"
    assert refusals == {(401, "close"), (403, "close")}  # never "Upgrade" on a refusal
    assert time.monotonic() - started < 60


def test_an_upgrade_while_the_app_starts_waits_until_it_is_ready(
    hub: Hub, create_app: Callable[..., dict[str, Any]], tokens: dict[str, str]
) -> None:
    """The Hub sees the server ready as soon as the proxy answers; the app itself takes seconds more."""
    create_app(OWNER, "ws-slow", ws_spec("6"), token=tokens["owner"])
    started = time.monotonic()
    url = ws_url(hub.app_url(OWNER, "ws-slow")) + "socket"
    with ws_connect(url, additional_headers=_auth(tokens["owner"]), open_timeout=60) as ws:
        waited = time.monotonic() - started
        ws.send("hello")
        assert ws.recv(timeout=10) == "hello"
    assert waited > 1, "the app was ready already: nothing was tested"
