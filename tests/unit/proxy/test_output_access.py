"""Who reads the app's output through the proxy: the API's rule (the owner, Hub admins, the service's
signed requests); others with access (a share, a service) get 404 for ``logs``, the state alone from
``status`` and ``events``, and pages without output."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from hubapps.core import statuskey
from tests.unit.proxy.conftest import FakeHub, StartProxy, resource, url

SCOPE = ["access:servers!server=alice/my-app"]
HTML = {"Accept": "text/html"}
STATUS_KEY = bytes(range(32))


def token(name: str) -> dict[str, str]:
    return {"Authorization": f"token {name}"}


@pytest.fixture
def viewers(fake_hub: FakeHub) -> dict[str, bool]:
    """token → whether it may read the output."""
    fake_hub.users["friend-token"] = {"kind": "user", "name": "carol", "groups": [], "scopes": SCOPE}
    # A service that happens to be called like the owner is not the owner.
    fake_hub.users["alice-service-token"] = {"kind": "service", "name": "alice", "scopes": SCOPE}
    return {"alice-token": True, "root-token": True, "friend-token": False, "svc-token": False,
            "alice-service-token": False}  # fmt: skip


async def test_only_the_owner_and_admins_read_output_while_the_app_starts(
    start_proxy: StartProxy, http: aiohttp.ClientSession, viewers: dict[str, bool]
) -> None:
    proxy = await start_proxy(["{python}", resource("slow_ready.py"), "{port}", "60"], wait_ready=False)
    deadline = time.monotonic() + 10
    while not proxy.process.output.total and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for name, reads in viewers.items():
        async with http.get(url(proxy, "_hubapps/logs"), headers=token(name)) as response:
            assert response.status == (200 if reads else 404), name
            assert ("warming up" in await response.text()) is reads
        async with http.get(url(proxy, "_hubapps/status"), headers=token(name)) as response:
            status = await response.json()
            assert (set(status) == {"state"}) is not reads, (name, status)
        async with http.get(url(proxy, "some/page"), headers={**token(name), **HTML}) as response:
            assert response.status == 200
            assert ("warming up" in await response.text()) is reads, name
        async with http.get(url(proxy, "_hubapps/events?since=0"), headers=token(name)) as response:
            first = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
            assert first.startswith(b"event: log" if reads else b"event: status"), (name, first)
            if not reads:
                assert first == b'event: status\ndata: {"state": "starting"}\n\n'


async def test_the_failure_page_and_reason_are_the_owners(
    start_proxy: StartProxy, http: aiohttp.ClientSession, viewers: dict[str, bool]
) -> None:
    proxy = await start_proxy(["{python}", resource("never_ready.py")], "--ready-timeout=0.5", wait_ready=False)
    await asyncio.wait_for(proxy.process.finished.wait(), 10)
    for name, reads in viewers.items():
        async with http.get(url(proxy, "page"), headers={**token(name), **HTML}) as response:
            assert response.status == 500
            text = await response.text()
            assert "could not start" in text
            assert ("never ready" in text) is reads, name
            assert ("ready path" in text) is reads, name


async def test_the_services_signed_request_reads_output(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    env = {statuskey.APP_KEY_ENV_VAR: STATUS_KEY.hex()}
    proxy = await start_proxy(["{python}", resource("slow_ready.py"), "{port}", "60"], env=env, wait_ready=False)
    deadline = time.monotonic() + 10
    while not proxy.process.output.total and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for sub in ("_hubapps/logs", "_hubapps/status"):
        signed = {statuskey.HEADER: statuskey.sign(STATUS_KEY, "GET", sub)}
        async with http.get(url(proxy, sub), headers=signed) as response:
            assert response.status == 200
            assert set(await response.json()) > {"state"}
