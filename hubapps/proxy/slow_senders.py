"""How slowly a viewer may send a request: the deadlines of :class:`RequestTimeouts`, one timer per connection.

A viewer that sends slowly is cut off: a request head must be complete within
``head`` seconds of its first byte, and a body may go ``body`` seconds without a byte and must average
``body_min_rate`` bytes per second after that grace (its deadline is ``body + received / rate`` seconds
after it began). Time the proxy was not reading from the viewer (back-pressure from the app, a pipelined
request waiting its turn, ``Expect: 100-continue`` before the ``100``) does not count. Past a deadline,
the viewer gets 408 if no answer began, and the connection is closed. One loop timer per connection,
re-armed lazily: a body's chunks cost no timer work.

:class:`SlowSenders` is the part of :class:`~hubapps.proxy.http.ClientConnection` that keeps these
clocks (a base class: the clocks are the connection's own attributes, no object in between).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hubapps.proxy.config import (
    DEFAULT_REQUEST_BODY_MIN_RATE,
    DEFAULT_REQUEST_BODY_TIMEOUT,
    DEFAULT_REQUEST_HEAD_TIMEOUT,
)

if TYPE_CHECKING:
    from hubapps.proxy.listener import HttpServer

__all__ = ["RequestTimeouts", "SlowSenders"]

log = logging.getLogger("hubapps.proxy")


@dataclass(frozen=True, slots=True)
class RequestTimeouts:
    """How slowly a viewer may send a request (seconds, bytes per second; 0 turns one off)."""

    head: float = DEFAULT_REQUEST_HEAD_TIMEOUT
    body: float = DEFAULT_REQUEST_BODY_TIMEOUT
    body_min_rate: float = DEFAULT_REQUEST_BODY_MIN_RATE


class SlowSenders:
    """The slow-sender clocks of a viewer's connection (set by :class:`~hubapps.proxy.http.ClientConnection`)."""

    server: HttpServer
    loop: asyncio.AbstractEventLoop
    closed: bool
    _reading_paused: bool
    _tunnel: bool
    # When the head being received began; when the body being received began, its last bytes arrived,
    # how many came; loop time not spent reading (added to the clocks on resume).
    _head_started: float | None
    _body_started: float | None
    _body_last: float
    _body_received: int
    _body_shift: float
    _timer: asyncio.TimerHandle | None

    if TYPE_CHECKING:

        def _reject(self, status: int, message: str) -> None: ...

    def _start_body_clock(self) -> None:
        self._body_started = self._body_last = self.loop.time()
        self._body_received = 0
        self._body_shift = 0.0
        self._arm()

    def _deadline(self) -> float | None:
        """When what the viewer is sending now is overdue (loop time), or None (nothing is due)."""
        if self._reading_paused or self.closed or self._tunnel:
            return None
        limits = self.server.timeouts
        if self._head_started is not None:
            return self._head_started + limits.head if limits.head > 0 else None
        if self._body_started is None:
            return None
        ends = []
        if limits.body > 0:
            ends.append(self._body_last + limits.body)
        if limits.body_min_rate > 0:
            allowed = limits.body + self._body_received / limits.body_min_rate
            ends.append(self._body_started + self._body_shift + allowed)
        return min(ends) if ends else None

    def _arm(self) -> None:
        """Make sure the timer fires by the current deadline. A timer due earlier is kept: it re-checks
        and re-arms then (so a keep-alive connection makes one timer per head timeout, not per request)."""
        deadline = self._deadline()
        if deadline is None or (self._timer is not None and self._timer.when() <= deadline):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(deadline, self._check_deadline)

    def _check_deadline(self) -> None:
        self._timer = None
        deadline = self._deadline()
        if deadline is None:
            return
        if self.loop.time() < deadline:
            self._timer = self.loop.call_at(deadline, self._check_deadline)
            return
        what = "head" if self._head_started is not None else "body"
        log.info("hubapps-proxy: a viewer sent a request %s too slowly; closing the connection", what)
        self._head_started = self._body_started = None
        self._reject(408, "Request timeout: the request arrived too slowly.")
