"""Open websockets stay open only while their viewer still has access: :class:`WebsocketWatch`.

A websocket is let in by the same choke point as any request (``auth.py``), but then lives as long as
the browser and the app keep it, which can be days. So the proxy remembers, for each spliced websocket,
the credential it was let in with, and one timer for all of them (not one per socket) does two things:

- **re-check**: shortly before the gate's cached answer about a credential expires, it asks the Hub
  again (one lookup per credential, however many websockets share it; the answer refreshes the cache
  that HTTP requests read too). If the token was revoked, the user deleted, or the share withdrawn,
  every websocket let in with it is closed, both sides. So access taken away ends open websockets
  within ``--auth-cache-max-age`` seconds (plus the Hub's answer time), as it ends HTTP access.
  A Hub that cannot be asked closes nothing: the check is retried at the next sweep.
- **maximum lifetime**: with ``--websocket-max-age`` > 0, a websocket older than that is closed
  whatever its credential (browsers' websocket clients reconnect, through the choke point again).

Anonymous websockets of public apps have no credential to re-check; only the maximum lifetime applies.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from hubapps.proxy.auth import HubAuthGate
from hubapps.proxy.splice import SplicedPair
from hubapps.proxy.wire import Request

__all__ = ["MAX_CHECK_INTERVAL", "WebsocketWatch"]

log = logging.getLogger("hubapps.proxy")

#: Longest time (seconds) between two sweeps; shorter when the cache or lifetime limits are short.
MAX_CHECK_INTERVAL = 5.0
#: Shortest time between two sweeps, whatever the limits.
MIN_CHECK_INTERVAL = 0.05


@dataclass(eq=False, slots=True)
class _Watched:
    pair: SplicedPair
    token: str
    opened: float
    closing: bool = field(default=False)


def check_interval(cache_max_age: float, max_age: float) -> float:
    """Seconds between sweeps: a quarter of the shortest limit, within [MIN, MAX]_CHECK_INTERVAL."""
    limits = [limit / 4 for limit in (cache_max_age, max_age) if limit > 0]
    return max(MIN_CHECK_INTERVAL, min([MAX_CHECK_INTERVAL, *limits]))


class WebsocketWatch:
    """The open websockets, re-checked with the Hub and aged out by one sweep timer."""

    def __init__(self, gate: HubAuthGate, *, required: bool, max_age: float) -> None:
        self.gate = gate
        #: The app is private: a credential that lost access closes its websockets (for a public app,
        #: only one that is no longer valid at all: the identity the app was given has gone).
        self.required = required
        self.max_age = max_age
        self.interval = check_interval(gate.cache_max_age, max_age)
        self._open: list[_Watched] = []
        #: Credentials being re-checked now (one Hub lookup each).
        self._checks: dict[str, asyncio.Task[None]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return sum(1 for watched in self._open if not watched.pair.closed)

    def open_requests(self) -> list[Request]:
        """The upgrade requests of the websockets open now."""
        return [watched.pair.request for watched in self._open if not watched.pair.closed]

    def opened(self, pair: SplicedPair) -> None:
        """A websocket was spliced to the app: watch it from now on."""
        token, _ = self.gate.credentials(pair.request)
        loop = asyncio.get_running_loop()
        self._open.append(_Watched(pair, token, loop.time()))
        if self._timer is None:
            self._timer = loop.call_later(self.interval, self._sweep)

    async def close(self) -> None:
        """Stop sweeping and cancel the re-checks in flight (at shutdown; websockets close with the server)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        tasks = list(self._checks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._checks.clear()
        self._open.clear()

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = None
        now = loop.time()
        self._open = [watched for watched in self._open if not watched.pair.closed]
        due: set[str] = set()
        for watched in self._open:
            if self.max_age > 0 and now - watched.opened >= self.max_age:
                log.info("hubapps-proxy: closing a websocket open for %g s (the maximum)", self.max_age)
                self._close(watched)
            elif (
                watched.token
                and watched.token not in self._checks
                # One interval ahead of the cache's expiry, so the re-check is never later than it.
                and self.gate.expires_within(watched.token, self.interval)
            ):
                due.add(watched.token)
        for token in due:
            task = loop.create_task(self._recheck(token), name="hubapps-websocket-recheck")
            self._checks[token] = task
        self._open = [watched for watched in self._open if not watched.closing]
        if self._open:
            self._timer = loop.call_later(self.interval, self._sweep)

    async def _recheck(self, token: str) -> None:
        try:
            allowed = await self.gate.still_allowed(token, required=self.required)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the Hub could not be asked: keep them, ask again at the next sweep
            log.warning("hubapps-proxy: could not re-check a websocket's access: %s", type(error).__name__)
            return
        finally:
            self._checks.pop(token, None)
        if allowed:
            return
        closing = [watched for watched in self._open if watched.token == token and not watched.pair.closed]
        if closing:
            log.warning("hubapps-proxy: access withdrawn; closing %d websocket(s)", len(closing))
        for watched in closing:
            self._close(watched)
        self._open = [watched for watched in self._open if not watched.closing]

    @staticmethod
    def _close(watched: _Watched) -> None:
        watched.closing = True
        watched.pair.close()
