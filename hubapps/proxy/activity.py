"""Tell the Hub when the app was last used, so idle culling sees real use (or none).

The Hub only sees traffic through its own proxy if it looks; ``jupyterhub-singleuser`` reports activity
itself to ``JUPYTERHUB_ACTIVITY_URL``, and so do we: every ``interval`` seconds, the time of the last
proxied request or websocket message, if there was any since the last report. A ``--keep-alive`` app
reports "now" every time, so the culler never stops it. Reports do not depend on how viewers log in,
so public apps report their use too.

A report the Hub did not take (unreachable, restarting, 5xx) is retried with backoff
(:func:`retry_delay`): after ``retry_first`` seconds (default :data:`RETRY_FIRST`), doubling up to
``retry_max`` (default :data:`RETRY_MAX`), each delay shortened at random by up to :data:`RETRY_JITTER`
of itself so that the proxies of many apps do not all call a Hub that comes back at the same moment;
and never later than the next regular report. Admins set both with ``c.HubApps.proxy_limits``
(``activity-retry``, ``activity-retry-max``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from hubapps.proxy.config import DEFAULT_ACTIVITY_RETRY, DEFAULT_ACTIVITY_RETRY_MAX, HubSettings
from hubapps.proxy.hub_client import HubAPI, HubAPIError

__all__ = ["RETRY_FIRST", "RETRY_JITTER", "RETRY_MAX", "ActivityReporter", "retry_delay"]

log = logging.getLogger("hubapps.proxy")

#: First delay before retrying a failed report, in seconds; it doubles on each failure.
RETRY_FIRST = DEFAULT_ACTIVITY_RETRY
#: Longest delay between retries of a failed report, in seconds.
RETRY_MAX = DEFAULT_ACTIVITY_RETRY_MAX
#: Shortest retry delay, in seconds, whatever the settings say (0 would call a Hub that is away in a loop).
RETRY_FLOOR = 0.1
#: Largest share of a retry delay taken off at random (0.25: each delay is 75 % to 100 % of its step).
RETRY_JITTER = 0.25


def retry_delay(
    failures: int, *, first: float, cap: float, jitter: float = RETRY_JITTER, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait after ``failures`` failed reports in a row (1 for the first failure).

    The step doubles from ``first`` and stops at ``cap``; jitter only ever shortens it, so ``cap`` is a
    true upper bound.
    """
    doublings = min(max(failures - 1, 0), 64)  # the cap was reached long before (2.0**64 stays sane)
    step = min(max(first, RETRY_FLOOR) * 2.0**doublings, max(cap, RETRY_FLOOR))
    return float(step * (1.0 - jitter * rand()))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class ActivityReporter:
    """Report the last activity to the Hub periodically; :meth:`touch` is cheap enough per message."""

    def __init__(
        self,
        hub: HubSettings,
        *,
        interval: float,
        keep_alive: bool,
        timeout: float,
        api: HubAPI | None = None,
        retry_first: float = RETRY_FIRST,
        retry_max: float = RETRY_MAX,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.hub = hub
        self.interval = interval
        self.retry_first = retry_first
        self.retry_max = retry_max
        self._sleep = sleep
        self.keep_alive = keep_alive
        self.timeout = timeout
        self.api = api if api is not None else HubAPI(hub, timeout=timeout)
        self._last_touch = 0.0
        self._reported: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.hub.activity_url and self.hub.api_token and self.interval > 0)

    @property
    def last_activity(self) -> datetime | None:
        return datetime.fromtimestamp(self._last_touch, UTC) if self._last_touch else None

    def touch(self) -> None:
        """Note activity now (called per request and per websocket message: a float store, no more)."""
        self._last_touch = time.time()

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="hubapps-activity")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        delay = self.interval
        failures = 0
        while True:
            await self._sleep(delay)
            if await self.report_once() is False:
                failures += 1
                delay = min(retry_delay(failures, first=self.retry_first, cap=self.retry_max), self.interval)
            else:
                delay, failures = self.interval, 0

    async def report_once(self) -> bool | None:
        """Send one report if there is something new.

        Returns True when the Hub took it, False when it failed (logged; the caller retries), and None
        when there was nothing to report.
        """
        moment = datetime.now(UTC) if self.keep_alive else self.last_activity
        if moment is None or moment == self._reported:
            return None
        stamp = _iso(moment)
        body = {"servers": {self.hub.server_name: {"last_activity": stamp}}, "last_activity": stamp}
        try:
            reply = await self.api.post_activity(body)
        except (HubAPIError, OSError, TimeoutError) as error:
            log.warning("hubapps-proxy: activity report failed: %s", type(error).__name__)
            return False
        if reply.status >= 400:
            log.warning("hubapps-proxy: activity report refused by the Hub (%s)", reply.status)
            return False
        self._reported = moment
        return True
