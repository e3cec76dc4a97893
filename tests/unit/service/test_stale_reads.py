"""Cached Hub answers serve reads (refreshed in the background), and never authorize a write.

The Hub client keeps a token's user model and a user's shares for ``user_cache_ttl`` /
``shared_cache_ttl`` seconds, then serves them stale for ``cache_stale_ttl`` more while a background
refresh asks the Hub (:mod:`hubapps.service.refresh`). Whatever the Hub has revoked meanwhile — a
token, a share, an admin role — a request that writes is decided on the Hub's answer of now.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hubapps.service.hub_client import HubClient
from hubapps.service.refresh import BackgroundRefresh
from hubapps.service.settings import ServiceSettings
from hubapps.service.ttl_cache import TTLCache
from tests.unit.service.conftest import FakeHub, Users, app_options

API = "/services/japps/api"
#: Long enough that nothing expires during a test: every read after the first is a cached one.
CACHED = {"user_cache_ttl": 600, "shared_cache_ttl": 600, "cache_stale_ttl": 600}


@pytest.fixture
def cached_client(make_client: Callable[..., TestClient], settings: ServiceSettings) -> TestClient:
    return make_client(settings.model_copy(update=CACHED))


def _names(client: TestClient, who: dict[str, str]) -> set[str]:
    r = client.get(f"{API}/apps", headers=who)
    assert r.status_code == 200, r.text
    return {f"{a['owner']}/{a['name']}" for a in r.json()["data"]}


def test_a_revoked_share_refuses_a_viewers_start_while_the_cached_list_still_shows_the_app(
    cached_client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    fake_hub.add_server("ann", "board", app_options("Board", viewers_can_start=True))
    fake_hub.share("ann", "board", user="bob")
    assert "ann/board" in _names(cached_client, auth("bob"))
    fake_hub.shares.clear()  # the owner revokes the share at the Hub (not through this service)

    assert "ann/board" in _names(cached_client, auth("bob"))  # a read: the cached list, as it was
    r = cached_client.post(f"{API}/apps/ann/board/start", headers=auth("bob"))
    assert r.status_code == 404, r.text  # a write: the Hub's shares of now
    assert not fake_hub.users["ann"].servers["board"].running
    assert not any(method == "POST" for method, _ in fake_hub.service_calls)


def test_a_revoked_admin_role_refuses_an_admins_write_while_cached_reads_still_say_admin(
    cached_client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    assert cached_client.get(f"{API}/user", headers=auth("root")).json()["admin"] is True
    fake_hub.users["root"].admin = False  # demoted at the Hub

    assert cached_client.get(f"{API}/user", headers=auth("root")).json()["admin"] is True  # cached
    r = cached_client.delete(f"{API}/events", params={"user": "ann"}, headers=auth("root"))
    assert r.status_code == 403, r.text
    assert "only Hub admins" in r.json()["detail"]


def test_a_revoked_token_reads_from_the_cache_but_cannot_write(
    cached_client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    fake_hub.add_server("ann", "board", app_options("Board"))
    assert "ann/board" in _names(cached_client, auth("ann"))
    fake_hub.tokens.pop(auth.tokens["ann"])  # the token is revoked at the Hub

    r = cached_client.post(f"{API}/apps/ann/board/start", headers=auth("ann"))
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "not_authenticated"
    assert not fake_hub.users["ann"].servers["board"].running
    # The write's answer from the Hub dropped the cached model: reads stop too.
    assert cached_client.get(f"{API}/apps", headers=auth("ann")).json()["code"] == "not_authenticated"


def test_writes_ask_the_hub_and_cached_reads_do_not(cached_client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server("ann", "board", app_options("Board"))
    first = cached_client.get(f"{API}/apps", headers=auth("ann"))
    again = cached_client.get(f"{API}/apps", headers=auth("ann"))
    assert int(first.headers["X-Hubapps-Hub-Calls"]) >= 1
    assert again.headers["X-Hubapps-Hub-Calls"] == "0"
    before = len([c for c in fake_hub.calls if c == ("GET", "/hub/api/user")])
    r = cached_client.post(f"{API}/apps/ann/board/stop", headers=auth("ann"))
    assert r.status_code in (200, 202), r.text
    assert len([c for c in fake_hub.calls if c == ("GET", "/hub/api/user")]) == before + 1


# -- the Hub client's stale entries, on a clock of the test's own ------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cache_entries_are_fresh_then_stale_then_gone() -> None:
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(5, 10, clock, stale=30)
    cache.set("a", 1)
    assert cache.get("a") == 1
    assert cache.get_stale("a") == (1, True)
    clock.now += 6
    assert cache.get("a") is None  # past its TTL: not fresh
    assert cache.get_stale("a") == (1, False)  # but still there for a reader that refreshes it
    clock.now += 30
    assert cache.get_stale("a") is None
    assert len(cache) == 0


def test_entries_nobody_reads_again_leave_once_expired_not_at_the_size_limit() -> None:
    clock = Clock()
    dropped: list[tuple[str, int]] = []
    cache: TTLCache[str, int] = TTLCache(5, 10_000, clock, stale=30, on_drop=lambda k, v: dropped.append((k, v)))
    for i in range(100):
        cache.set(f"old{i}", i)
    clock.now += 20
    cache.set("kept", 1)
    assert cache.get_stale("old0") == (0, False)  # (read again: now the most recently used)
    clock.now += 20  # the first hundred are 40 s old: expired; "kept" is 20 s old
    cache.set("new", 2)
    assert len(cache) == 3  # "old0" (read again after "kept") waits until it is read or reaches the front
    assert cache.get_stale("old0") is None
    assert {k for k, _ in dropped} == {f"old{i}" for i in range(100)}
    assert cache.get("kept") is None
    assert cache.get_stale("kept") == (1, False)


def test_every_entry_that_leaves_is_reported_once() -> None:
    clock = Clock()
    dropped: list[tuple[str, int]] = []
    cache: TTLCache[str, int] = TTLCache(5, 2, clock, on_drop=lambda k, v: dropped.append((k, v)))
    cache.set("a", 1)
    cache.set("a", 1)  # the same value again: not a drop
    cache.set("a", 2)  # replaced
    cache.set("b", 3)
    cache.set("c", 4)  # over the limit: "a" evicted
    cache.pop("b")
    cache.pop("b")
    cache.set("d", 5)
    cache.discard_where(lambda _k, v: v == 5)
    cache.set("e", 6)
    cache.clear()
    assert dropped == [("a", 1), ("a", 2), ("b", 3), ("d", 5), ("c", 4), ("e", 6)]
    assert len(cache) == 0


async def test_values_derived_from_a_model_leave_with_it(fake_hub: FakeHub) -> None:
    """A listing's own apps are computed once per cached user model; a background refresh that
    replaces the model drops them (they were kept for user_cache_ttl + cache_stale_ttl, one set per
    refresh, and grew the service at 1,000 users)."""
    tokens = [fake_hub.add_user(f"u{i}") for i in range(20)]
    clock = Clock()
    hub = _hub(fake_hub, clock, stale_ttl=60, refresh_rate=1000)
    computed: list[str] = []

    def own_apps(model: Any) -> str:
        computed.append(model["name"])
        return str(model["name"])

    try:
        for _ in range(10):  # ten rounds of each user listing after a refresh of their model
            for token in tokens:
                model = await hub.whoami(token)
                assert model is not None
                for _again in range(3):
                    hub.derived(model, "own_apps", functools.partial(own_apps, model))
            assert len(hub._derived) == 20  # the values of the twenty models cached now, no more
            clock.now += 6  # past user_cache_ttl: the next read is stale and refreshed in the background
            for token in tokens:
                await hub.whoami(token)
            await _settle(hub)
            assert len(hub._derived) == 0  # every model was replaced: their values went with them
        assert len(computed) == 10 * 20  # once per model, not once per read
        # A revoked token's model leaves the cache, and its values with it.
        for token in tokens:
            hub.derived(await hub.whoami(token), "own_apps", str)
        assert len(hub._derived) == 20
        fake_hub.tokens.pop(tokens[0])
        clock.now += 6
        await hub.whoami(tokens[0])
        await _settle(hub)
        assert await hub.whoami(tokens[0]) is None
        assert len(hub._derived) == 19
    finally:
        await hub.aclose()


def _hub(fake_hub: FakeHub, clock: Clock, *, stale_ttl: float = 0.0, refresh_rate: float = 10.0) -> HubClient:
    return HubClient(
        "http://hub.test/hub/api",
        timeout=5,
        user_cache_ttl=5,
        shared_cache_ttl=5,
        stale_ttl=stale_ttl,
        refresh_rate=refresh_rate,
        transport=httpx.MockTransport(fake_hub.handler),
        clock=clock,
    )


async def _settle(hub: HubClient) -> None:
    """Until the background refreshes asked for so far have run."""
    for _ in range(2000):
        await asyncio.sleep(0.001)
        if not hub.refreshing:
            return
    raise AssertionError("the background refresh did not finish")


async def test_a_stale_model_is_served_at_once_and_refreshed_once_in_the_background(fake_hub: FakeHub) -> None:
    token = fake_hub.add_user("ann")
    clock = Clock()
    hub = _hub(fake_hub, clock, stale_ttl=60, refresh_rate=1000)
    try:
        first = await hub.whoami(token)
        assert first is not None
        assert first["servers"] == {}
        fake_hub.add_server("ann", "board", app_options("Board"))
        clock.now += 10  # past the TTL, within the stale window
        calls = len(fake_hub.calls)
        stale = await asyncio.gather(*(hub.whoami(token) for _ in range(20)))
        assert all(model is first for model in stale)  # no reader waited for the Hub
        await _settle(hub)
        assert len(fake_hub.calls) == calls + 1  # one refresh for all twenty
        refreshed = await hub.whoami(token)
        assert refreshed is not None
        assert "board" in refreshed["servers"]
        # The token is revoked: the next refresh drops the cached model, and the token stops reading.
        fake_hub.tokens.pop(token)
        clock.now += 10
        assert await hub.whoami(token) is refreshed
        await _settle(hub)
        assert await hub.whoami(token) is None
    finally:
        await hub.aclose()


async def test_without_a_stale_window_a_read_past_its_ttl_waits_for_the_hub(fake_hub: FakeHub) -> None:
    token = fake_hub.add_user("ann")
    clock = Clock()
    hub = _hub(fake_hub, clock)  # stale_ttl 0: as before background refresh
    try:
        await hub.whoami(token)
        fake_hub.add_server("ann", "board", app_options("Board"))
        clock.now += 10
        model = await hub.whoami(token)
        assert model is not None
        assert "board" in model["servers"]
    finally:
        await hub.aclose()


async def test_a_change_made_meanwhile_keeps_an_older_answer_out_of_the_cache(fake_hub: FakeHub) -> None:
    """A fetch under way while the service changes the user's servers may carry the Hub's state from
    before the change: it answers its caller, but is not cached for the next reader."""
    token = fake_hub.add_user("ann")
    release = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/user"):
            await release.wait()
        return await fake_hub.handler(request)

    hub = HubClient("http://hub.test/hub/api", timeout=5, user_cache_ttl=5, transport=httpx.MockTransport(slow))
    try:
        fetch = asyncio.ensure_future(hub.whoami(token))
        await asyncio.sleep(0.01)
        hub.forget_user("ann")  # the service changed ann's servers meanwhile
        release.set()
        assert await fetch is not None
        calls = len(fake_hub.calls)
        await hub.whoami(token)
        assert len(fake_hub.calls) == calls + 1  # asked again: the older answer was not kept
    finally:
        await hub.aclose()


async def test_refreshes_of_one_key_are_queued_once() -> None:
    ran: list[str] = []

    def refresh(key: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            ran.append(key)

        return run

    queue = BackgroundRefresh(rate=1000, max_pending=2)
    try:
        for key in ("a", "a", "b", "a", "c"):  # "c": the queue is full (two pending)
            queue.schedule(key, refresh(key))
        for _ in range(20):
            await asyncio.sleep(0.005)
        assert ran == ["a", "b"]
    finally:
        await queue.aclose()
