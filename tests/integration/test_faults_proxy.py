"""configurable-http-proxy killed (SIGKILL) under a running app: the Hub restores the routes.

The Hub that started the proxy checks it every ``check_running_interval`` seconds (1 here); finding it
dead, it starts a new one, whose routing table is empty, and puts every route back (its own, the
launcher's and each running server's). Nobody acts: the app answers through the proxy again, in the
same run (not restarted), a new websocket reaches it, and the launcher lists it running. The
app's own calls to the Hub do not go through this proxy; their retries are unit-tested
(``tests/unit/proxy/test_hub_client.py``).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from tests.integration.conftest import Hub, HubError, own_hub, ws_url

pytestmark = [pytest.mark.integration]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
OWNER = "chp-owner"
SERVER = "echo"

CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
c.ConfigurableHTTPProxy.check_running_interval = 1
"""


@pytest.fixture(scope="module")
def chp_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("chp-hub"), CONFIG) as running:
        yield running


def _proxy_pid(hub: Hub) -> int:
    return int((hub.root / "chp.pid").read_text().strip())


def _answers(client: httpx.Client, url: str, auth: dict[str, str]) -> httpx.Response | None:
    try:
        response = client.get(url, headers=auth, timeout=5)
    except httpx.TransportError:
        return None
    return response if response.status_code == 200 else None


def _wait_answer(hub: Hub, client: httpx.Client, url: str, auth: dict[str, str], timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = _answers(client, url, auth)
        if response is not None:
            return response
        time.sleep(0.3)
    raise HubError(f"{url} did not answer again within {timeout:g} s\n{hub.log_tail()}")


@pytest.mark.timeout(180)
def test_a_killed_proxy_is_replaced_and_every_route_restored(chp_hub: Hub) -> None:
    hub = chp_hub
    token = hub.token_for(OWNER)
    auth = {"Authorization": f"token {token}"}
    api = hub.url + "services/japps/api/"
    url = hub.app_url(OWNER, SERVER)
    spec: dict[str, Any] = {
        "framework": "command",
        "display_name": "Echo",
        "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
        "start": True,
    }
    with httpx.Client(timeout=60) as client:
        created = client.post(api + "apps", headers=auth, json=spec)
        assert created.status_code == 201, created.text
        before = hub.wait_ready(OWNER, SERVER)
        hub.wait_app(OWNER, SERVER, token)

        killed = _proxy_pid(hub)
        os.kill(killed, signal.SIGKILL)

        # No one acts: the app answers through the proxy again, and so does the launcher.
        answer = _wait_answer(hub, client, url + "back", auth)
        assert answer.json()["path"].endswith("/back")
        assert _proxy_pid(hub) != killed  # a new proxy, whose routes the Hub put back
        listing = _wait_answer(hub, client, api + "apps?access=owned", auth)
        assert [(a["name"], a["state"]) for a in listing.json()["data"]] == [(SERVER, "running")]
        model = hub.server_model(OWNER, SERVER)
        assert model is not None
        assert model["started"] == before["started"]
        with ws_connect(ws_url(url) + "ws", additional_headers=auth, open_timeout=30) as ws:
            ws.send("hello again")
            assert ws.recv(timeout=10) == "hello again"
        hub.stop_app(OWNER, SERVER, remove=True)
