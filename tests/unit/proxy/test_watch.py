"""Open websockets end when their viewer's access does, or when they reach their maximum age.

A real proxy and the websocket echo app, against the fake Hub with short limits (``--auth-cache-max-age=1``):
the fake Hub forgets a token, or drops a scope, while a websocket is open, and the test times its close.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from hubapps.proxy.watch import MAX_CHECK_INTERVAL, check_interval
from tests.unit.proxy.conftest import WS_APP, FakeHub, StartProxy, url

ALICE = {"Authorization": "token alice-token"}
SERVICE = {"Authorization": "token svc-token"}
#: What a close may take beyond its limit: one sweep (a quarter of the limit) plus the Hub's answer.
SLACK = 0.8


async def _echoes(ws: aiohttp.ClientWebSocketResponse) -> bool:
    await ws.send_str("ping")
    data: object = (await ws.receive(timeout=5)).data
    return data == "ping"


async def _closed_after(ws: aiohttp.ClientWebSocketResponse, timeout: float) -> float:
    """Seconds until the proxy ends ``ws`` (the test fails if it stays open ``timeout`` seconds)."""
    started = time.monotonic()
    message = await ws.receive(timeout=timeout)
    assert message.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR}, message
    return time.monotonic() - started


async def _none_watched(proxy: object) -> None:
    for _ in range(40):
        if len(proxy.websockets) == 0:  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the proxy still watches closed websockets")


async def test_revoked_token_closes_its_websockets_within_the_cache_age(
    start_proxy: StartProxy, http: aiohttp.ClientSession, fake_hub: FakeHub
) -> None:
    proxy = await start_proxy(WS_APP, "--auth-cache-max-age=1")
    async with (
        http.ws_connect(url(proxy, "ws"), headers=ALICE) as first,
        http.ws_connect(url(proxy, "ws"), headers=ALICE) as second,
        http.ws_connect(url(proxy, "ws"), headers=SERVICE) as other,
    ):
        assert await _echoes(first)
        assert await _echoes(second)
        assert await _echoes(other)
        del fake_hub.users["alice-token"]  # the token is revoked (or its user deleted)
        revoked = time.monotonic()
        await _closed_after(first, 1 + SLACK + 1)
        await _closed_after(second, 1)
        assert time.monotonic() - revoked < 1 + SLACK
        assert await _echoes(other)  # another viewer's websocket is left alone
    await _none_watched(proxy)


async def test_withdrawn_share_closes_the_websocket(
    start_proxy: StartProxy, http: aiohttp.ClientSession, fake_hub: FakeHub
) -> None:
    proxy = await start_proxy(WS_APP, "--auth-cache-max-age=1")
    async with http.ws_connect(url(proxy, "ws"), headers=SERVICE) as ws:
        assert await _echoes(ws)
        fake_hub.users["svc-token"]["scopes"] = ["read:users:name"]  # valid token, no access any more
        assert await _closed_after(ws, 1 + SLACK + 1) < 1 + SLACK


async def test_websocket_with_access_stays_open_and_costs_one_lookup_per_cache_age(
    start_proxy: StartProxy, http: aiohttp.ClientSession, fake_hub: FakeHub
) -> None:
    proxy = await start_proxy(WS_APP, "--auth-cache-max-age=1")
    sockets = [await http.ws_connect(url(proxy, "ws"), headers=ALICE) for _ in range(5)]
    try:
        fake_hub.token_lookups.clear()
        await asyncio.sleep(3.2)
        for ws in sockets:
            assert await _echoes(ws)
        # One re-check per cache age for the five of them (never one per socket).
        assert 2 <= fake_hub.token_lookups.count("alice-token") <= 5
    finally:
        for ws in sockets:
            await ws.close()


async def test_hub_that_cannot_be_asked_closes_nothing(
    start_proxy: StartProxy, http: aiohttp.ClientSession, fake_hub: FakeHub
) -> None:
    proxy = await start_proxy(WS_APP, "--auth-cache-max-age=1")
    async with http.ws_connect(url(proxy, "ws"), headers=ALICE) as ws:
        fake_hub.user_failure = 500
        await asyncio.sleep(2)
        assert await _echoes(ws)
        fake_hub.user_failure = 0
        del fake_hub.users["alice-token"]
        assert await _closed_after(ws, 1 + SLACK + 1) < 1 + SLACK
    await _none_watched(proxy)


async def test_public_app_keeps_anonymous_websockets_but_not_revoked_identities(
    start_proxy: StartProxy, http: aiohttp.ClientSession, fake_hub: FakeHub
) -> None:
    proxy = await start_proxy(WS_APP, "--public", "--auth-cache-max-age=1")
    async with (
        http.ws_connect(url(proxy, "ws")) as anonymous,
        http.ws_connect(url(proxy, "ws"), headers={"Authorization": "token bob-token"}) as stranger,
        http.ws_connect(url(proxy, "ws"), headers=ALICE) as identified,
    ):
        del fake_hub.users["alice-token"]
        assert await _closed_after(identified, 1 + SLACK + 1) < 1 + SLACK
        await asyncio.sleep(1)
        assert await _echoes(anonymous)
        assert await _echoes(stranger)  # valid, without access: a public app needs none


async def test_websocket_max_age_closes_whatever_the_access(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(WS_APP, "--websocket-max-age=1.5", "--public")
    async with (
        http.ws_connect(url(proxy, "ws"), headers=ALICE) as owner,
        http.ws_connect(url(proxy, "ws")) as anonymous,
    ):
        started = time.monotonic()
        while time.monotonic() - started < 1.2:  # busy sockets age too
            assert await _echoes(owner)
            await asyncio.sleep(0.1)
        await _closed_after(owner, 1.5)
        await _closed_after(anonymous, 0.5)
        assert 1.5 <= time.monotonic() - started < 1.5 + SLACK
    async with http.ws_connect(url(proxy, "ws"), headers=ALICE) as again:  # a reconnect is let in again
        assert await _echoes(again)


@pytest.mark.parametrize(
    ("cache_max_age", "max_age", "interval"),
    [(60, 0, MAX_CHECK_INTERVAL), (2, 0, 0.5), (60, 3, 0.75), (0, 0, MAX_CHECK_INTERVAL), (1, 0.0001, 0.05)],
)
def test_check_interval_is_a_quarter_of_the_shortest_limit(cache_max_age: int, max_age: float, interval: float) -> None:
    assert check_interval(cache_max_age, max_age) == interval
