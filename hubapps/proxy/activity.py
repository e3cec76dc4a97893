"""Tell the Hub when the app was last used, so idle culling sees real use (or none).

The Hub only sees traffic through its own proxy if it looks; ``jupyterhub-singleuser`` reports activity
itself to ``JUPYTERHUB_ACTIVITY_URL``, and so do we: every ``interval`` seconds, the time of the last
proxied request or websocket message, if there was any since the last report. A ``--keep-alive`` app
reports "now" every time, so the culler never stops it. Reports do not depend on how viewers log in,
so public apps report their use too.

A report the Hub did not take (unreachable, restarting, 5xx) is retried after :data:`RETRY_FIRST`
seconds, doubling up to :data:`RETRY_MAX` (and never later than the next regular report).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from hubapps.proxy.config import HubSettings
from hubapps.proxy.hub_client import HubAPI, HubAPIError

__all__ = ["ActivityReporter"]

log = logging.getLogger("hubapps.proxy")

#: First delay before retrying a failed report, in seconds; it doubles on each failure.
RETRY_FIRST = 1.0
#: Longest delay between retries of a failed report, in seconds.
RETRY_MAX = 60.0


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class ActivityReporter:
    """Report the last activity to the Hub periodically; :meth:`touch` is cheap enough per message."""

    def __init__(
        self, hub: HubSettings, *, interval: float, keep_alive: bool, timeout: float, api: HubAPI | None = None
    ) -> None:
        self.hub = hub
        self.interval = interval
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
        retry = RETRY_FIRST
        while True:
            await asyncio.sleep(delay)
            if await self.report_once() is False:
                delay = min(retry, self.interval)
                retry = min(retry * 2, RETRY_MAX)
            else:
                delay, retry = self.interval, RETRY_FIRST

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
