"""Refreshing stale cache entries in the background, at a bounded rate (the Hub client's caches).

A read that finds a cached Hub answer past its TTL (but within its stale window) is served from the
cache at once and asks for a refresh here; the refreshes start oldest request first, at most
``rate`` per second and a few at a time. So a reader never waits for the Hub for an answer it had moments ago,
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
    """A queue of refreshes, started at most ``rate`` per second, at most ``concurrency`` under way at
    once (a slow Hub answers a few at a time, not one); a key is queued once."""

    def __init__(self, rate: float, max_pending: int, concurrency: int = 4) -> None:
        self.interval = 1.0 / rate
        self.max_pending = max_pending
        self.concurrency = concurrency
        self._pending: OrderedDict[Hashable, Callable[[], Awaitable[object]]] = OrderedDict()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: set[asyncio.Task[None]] = set()

    def schedule(self, key: Hashable, refresh: Callable[[], Awaitable[object]]) -> None:
        """Queue ``refresh`` under ``key`` unless it is queued already (or the queue is full: the
        entry is then fetched by a reader once it has expired)."""
        if key in self._pending or len(self._pending) >= self.max_pending:
            return
        self._pending[key] = refresh
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            # A context of its own: the refreshes belong to no request (nor its Hub call counter).
            self._loop, self._wake, self._slots = loop, asyncio.Event(), asyncio.Semaphore(self.concurrency)
            self._task = loop.create_task(self._run(), context=contextvars.Context())
        self._wake.set()

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def busy(self) -> bool:
        """Whether a refresh is queued or under way."""
        return bool(self._pending) or bool(self._running)

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._slots.acquire()
            _, refresh = self._pending.popitem(last=False)
            task = asyncio.create_task(self._one(refresh))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            await asyncio.sleep(self.interval)  # the rate: one start per interval

    async def _one(self, refresh: Callable[[], Awaitable[object]]) -> None:
        try:
            await refresh()
        except Exception as exc:  # a Hub that is down: the entry stays stale, then expires
            log.debug("Background refresh failed: %s", type(exc).__name__)
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        self._pending.clear()
        tasks = [t for t in (self._task, *self._running) if t is not None]
        for task in tasks:
            task.cancel()
        if self._loop is asyncio.get_running_loop():
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = None
        self._running.clear()
