"""Status and logs of running apps: read from the app's proxy with the app's own key, never a user's token.

The Hub is the fake of ``conftest.py``; apps are faked behind the status reader's own transport
(``create_app(app_transport=...)``), which records every request an app received.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hubapps.core import statuskey
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.service.app import create_app
from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, Users, app_options
from tests.unit.service.headers import checked

API = "/services/japps/api"
KEY = bytes(range(32))
PROXY = "http://proxy.test"


@dataclass
class FakeApps:
    """Apps' proxies: answer ``_hubapps/status`` and ``/logs``; every request is kept."""

    requests: list[httpx.Request] = field(default_factory=list)
    delay: float = 0.0
    lines: list[str] = field(default_factory=lambda: ["app listening"])
    endless: bool = False
    chunks_sent: int = 0

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        path = request.url.path
        if self.endless:
            return httpx.Response(200, headers={"Content-Type": "application/json"}, stream=_Endless(self))
        if path.endswith("/_hubapps/status"):
            return httpx.Response(200, json={"state": "ready", "elapsed": 1.5, "reason": ""})
        if path.endswith("/_hubapps/logs"):
            return httpx.Response(200, json={"lines": self.lines, "first": 0, "next": len(self.lines)})
        return httpx.Response(404)


class _Endless(httpx.AsyncByteStream):
    def __init__(self, apps: FakeApps) -> None:
        self.apps = apps

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"lines": ["'
        while True:
            self.apps.chunks_sent += 1
            yield b"x" * 65536
            await asyncio.sleep(0)


@pytest.fixture
def apps() -> FakeApps:
    return FakeApps()


@pytest.fixture
def status_settings(settings: ServiceSettings) -> ServiceSettings:
    return _with(settings, proxy_url=PROXY, status_key=KEY.hex(), app_status_timeout=1.0, app_status_max_bytes=200_000)


def _with(settings: ServiceSettings, **changes: Any) -> ServiceSettings:
    return ServiceSettings.model_validate({**settings.model_dump(), **changes})


@pytest.fixture
def make_status_client(
    fake_hub: FakeHub, status_settings: ServiceSettings, registry: FrameworkRegistry, apps: FakeApps
) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**changes: Any) -> TestClient:
        app = create_app(
            _with(status_settings, **changes),
            hub_transport=httpx.MockTransport(fake_hub.handler),
            app_transport=httpx.MockTransport(apps.handler),
            registry=registry,
        )
        client = checked(TestClient(app, base_url="http://hub.test"))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def world(fake_hub: FakeHub, auth: Users) -> FakeHub:
    fake_hub.add_server("bob", "dash", app_options("Dash"), running=True)
    fake_hub.add_server("bob", "lab", app_options("Lab", "jupyterlab", filepath=""), running=True)
    fake_hub.add_server("bob", "plain", None, running=True)
    fake_hub.share("bob", "dash", user="ann")
    fake_hub.share("bob", "lab", user="ann")
    return fake_hub


def _user_credentials(fake_hub: FakeHub) -> list[str]:
    return list(fake_hub.tokens)


@pytest.mark.parametrize("caller", ["bob", "root"])
def test_owner_and_admin_read_status_and_logs_with_the_apps_key_only(
    make_status_client: Callable[..., TestClient], world: FakeHub, auth: Users, apps: FakeApps, caller: str
) -> None:
    client = make_status_client()
    status = client.get(f"{API}/apps/bob/dash/status", headers=auth(caller))
    assert status.status_code == 200, status.text
    assert status.json()["app_state"] == "ready"
    assert status.json()["log_tail"] == ["app listening"]
    logs = client.get(f"{API}/apps/bob/dash/logs", headers=auth(caller))
    assert logs.json()["lines"] == ["app listening"]
    assert len(apps.requests) == 3
    app_key = statuskey.app_key(KEY, "bob", "dash")
    for request in apps.requests:
        assert str(request.url).startswith(f"{PROXY}/user/bob/dash/_hubapps/")
        sub = request.url.path[len("/user/bob/dash/") :]
        assert statuskey.verify(app_key, request.headers[statuskey.HEADER], "GET", sub)
        assert "authorization" not in request.headers
        assert "cookie" not in request.headers
        sent = json.dumps(dict(request.headers)) + str(request.url)
        for token in _user_credentials(world):
            assert token not in sent
        assert KEY.hex() not in sent


@pytest.mark.parametrize("caller", ["ann", "cat"])
def test_others_may_not_read_status_or_logs(
    make_status_client: Callable[..., TestClient], world: FakeHub, auth: Users, apps: FakeApps, caller: str
) -> None:
    """ann has a share (she may open the app, and see whether it runs: the Hub's state only, not its
    log, progress or reason); cat nothing. Neither makes the service ask the app."""
    client = make_status_client()
    status = client.get(f"{API}/apps/bob/dash/status", headers=auth(caller))
    if caller == "ann":
        assert status.status_code == 200, status.text
        body = status.json()
        assert (body["state"], body["log_tail"], body["reason"], body["app_state"]) == ("running", [], None, None)
    else:
        assert status.status_code == 404, status.text
    logs = client.get(f"{API}/apps/bob/dash/logs", headers=auth(caller))
    assert logs.status_code == 404, logs.text
    assert apps.requests == []


@pytest.mark.parametrize("server", ["lab", "plain"])
def test_servers_that_are_not_proxy_apps_are_never_called(
    make_status_client: Callable[..., TestClient], world: FakeHub, auth: Users, apps: FakeApps, server: str
) -> None:
    client = make_status_client()
    status = client.get(f"{API}/apps/bob/{server}/status", headers=auth("bob"))
    assert status.status_code == 200
    assert status.json()["state"] == "running"
    assert status.json()["app_state"] is None
    assert client.get(f"{API}/apps/bob/{server}/logs", headers=auth("bob")).status_code == 409
    assert apps.requests == []


def test_without_a_status_key_apps_are_not_called(
    make_status_client: Callable[..., TestClient], world: FakeHub, auth: Users, apps: FakeApps
) -> None:
    client = make_status_client(status_key="")
    assert client.get(f"{API}/apps/bob/dash/status", headers=auth("bob")).json()["app_state"] is None
    assert client.get(f"{API}/apps/bob/dash/logs", headers=auth("bob")).status_code == 503
    assert apps.requests == []


def test_answers_are_size_capped(
    make_status_client: Callable[..., TestClient], world: FakeHub, auth: Users, apps: FakeApps
) -> None:
    client = make_status_client()
    apps.lines = ["y" * 1000] * 150  # 150 kB: under the cap
    assert len(client.get(f"{API}/apps/bob/dash/logs", headers=auth("bob")).json()["lines"]) == 150
    apps.lines = ["y" * 1000] * 250  # 250 kB: over it
    r = client.get(f"{API}/apps/bob/dash/logs", headers=auth("bob"))
    assert r.status_code == 503
    assert "y" * 100 not in r.text
    # An answer that never ends is read up to the cap only, then dropped.
    apps.endless = True
    started = time.monotonic()
    r = client.get(f"{API}/apps/bob/dash/logs", headers=auth("bob"))
    assert r.status_code == 503
    assert time.monotonic() - started < 1.0
    assert apps.chunks_sent <= 200_000 // 65536 + 2
    assert client.get(f"{API}/apps/bob/dash/status", headers=auth("bob")).json()["log_tail"] == []


def test_answers_are_time_limited(
    make_status_client: Callable[..., TestClient], world: FakeHub, auth: Users, apps: FakeApps
) -> None:
    client = make_status_client(app_status_timeout=0.3)
    apps.delay = 5.0
    started = time.monotonic()
    r = client.get(f"{API}/apps/bob/dash/logs", headers=auth("bob"))
    assert r.status_code == 503
    status = client.get(f"{API}/apps/bob/dash/status", headers=auth("bob"))
    assert status.status_code == 200
    assert status.json()["app_state"] is None
    assert time.monotonic() - started < 2.0, "two slow app calls, each cut at 0.3 s"


def test_redirects_and_non_json_answers_are_ignored(
    make_status_client: Callable[..., TestClient], world: FakeHub, auth: Users, apps: FakeApps
) -> None:
    async def login_redirect(request: httpx.Request) -> httpx.Response:
        apps.requests.append(request)
        return httpx.Response(302, headers={"Location": "http://evil.test/steal"})

    apps.handler = login_redirect  # type: ignore[method-assign]
    client = make_status_client()
    assert client.get(f"{API}/apps/bob/dash/logs", headers=auth("bob")).status_code == 503
    assert all(r.url.host == "proxy.test" for r in apps.requests)
