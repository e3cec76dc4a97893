"""Refreshing stale cache entries in the background, at a bounded rate (the Hub client's caches).

A read that finds a cached Hub answer past its TTL (but within its stale window) is served from the
cache at once and asks for a refresh here; the refreshes run one at a time, oldest request first,
at most ``rate`` per second. So a reader never waits for the Hub for an answer it had moments ago,
and the Hub calls the refreshes make are bounded by the rate, however many users are listing. Past
the stale window an entry is gone and the next reader waits for the Hub (as on a first visit).

The refreshes run in a task of their own, outside any request: their Hub calls are counted in the
service's metrics, not in a request's ``X-Hubapps-Hub-Calls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

__all__ = ["BackgroundRefresh"]

log = logging.getLogger("hubapps.service.hub_client")


class BackgroundRefresh:
    """A queue of refreshes, run one at a time at most ``rate`` per second; a key queued once."""

    def __init__(self, rate: float, max_pending: int) -> None:
        self.interval = 1.0 / rate
        self.max_pending = max_pending
        self._pending: OrderedDict[Hashable, Callable[[], Awaitable[object]]] = OrderedDict()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = False

    def schedule(self, key: Hashable, refresh: Callable[[], Awaitable[object]]) -> None:
        """Queue ``refresh`` under ``key`` unless it is queued already (or the queue is full: the
        entry is then fetched by a reader once it has expired)."""
        if key in self._pending or len(self._pending) >= self.max_pending:
            return
        self._pending[key] = refresh
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            # A context of its own: the refreshes belong to no request (nor its Hub call counter).
            self._loop, self._wake = loop, asyncio.Event()
            self._task = loop.create_task(self._run(), context=contextvars.Context())
        self._wake.set()

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def busy(self) -> bool:
        """Whether a refresh is queued or under way."""
        return bool(self._pending) or self._running

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            _, refresh = self._pending.popitem(last=False)
            began = loop.time()
            self._running = True
            try:
                await refresh()
            except Exception as exc:  # a Hub that is down: the entry stays stale, then expires
                log.debug("Background refresh failed: %s", type(exc).__name__)
            finally:
                self._running = False
            await asyncio.sleep(max(0.0, self.interval - (loop.time() - began)))

    async def aclose(self) -> None:
        self._pending.clear()
        if self._task is not None:
            self._task.cancel()
            if self._loop is asyncio.get_running_loop():
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
