"""One request on a viewer's connection (:class:`Exchange`) and what routing decides for it.

For each request, ``dispatch(request)`` (the proxy's routing, see ``server.py``) says what to do, at once
or after awaiting: a :class:`Forward` (the forwarder relays the request and its body to the app and the
app's answer back, see ``forward.py``) or a :class:`~hubapps.proxy.wire.Response` made here. An
:class:`Exchange` holds the request's body until it has somewhere to go (a :class:`BodySink`, the
connection to the app), then passes it on as it arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from hubapps.proxy.wire import Request, Response

if TYPE_CHECKING:
    from hubapps.proxy.auth import Viewer
    from hubapps.proxy.http import ClientConnection

__all__ = ["BodySink", "Dispatch", "Exchange", "Forward", "Forwarder", "Route"]


@dataclass(frozen=True, slots=True)
class Forward:
    """Routing's verdict: relay this request to the app, on behalf of ``viewer`` (None: anonymous)."""

    viewer: Viewer | None


Route = Forward | Response
Dispatch = Callable[[Request], "Route | Coroutine[Any, Any, Route]"]


class BodySink(Protocol):
    """Where a request body goes once forwarding has started (the upstream connection)."""

    def send_body(self, chunk: bytes) -> None: ...

    def end_body(self) -> None: ...

    def abort(self) -> None: ...

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class Forwarder(Protocol):
    """Relays a request routed to the app (:class:`hubapps.proxy.forward.Forwarder`)."""

    def forward(self, client: ClientConnection, exchange: Exchange, viewer: Viewer | None) -> None: ...


class Exchange:
    """One request on a connection, from its head to the end of the answer."""

    __slots__ = (
        "_buffer",
        "_buffered",
        "answered",
        "body_done",
        "chunked",
        "expect_continue",
        "expects_body",
        "keep_alive",
        "request",
        "sink",
        "started",
        "websocket",
    )  # fmt: skip

    def __init__(
        self,
        request: Request,
        *,
        keep_alive: bool,
        chunked: bool,
        expects_body: bool,
        websocket: bool | None = None,
    ) -> None:
        self.request = request
        #: A websocket upgrade request (the caller may know already: ``request.is_websocket``).
        self.websocket = request.is_websocket if websocket is None else websocket
        self.keep_alive = keep_alive
        #: The viewer sent the body chunked (it is then forwarded chunked, re-framed).
        self.chunked = chunked
        self.expects_body = expects_body
        self.body_done = not expects_body
        self._buffer: list[bytes] = []
        self._buffered = 0
        self.sink: BodySink | None = None
        #: The answer's head has gone out to the viewer.
        self.answered = False
        self.expect_continue = request.header("Expect").strip().lower() == "100-continue"
        #: When the head was read (``time.monotonic``), for the proxy's latency metric.
        self.started = time.monotonic()

    @property
    def buffered(self) -> int:
        return self._buffered

    def feed(self, chunk: bytes) -> None:
        if self.sink is not None:
            self.sink.send_body(chunk)
        else:
            self._buffer.append(chunk)
            self._buffered += len(chunk)

    def finish_body(self) -> None:
        self.body_done = True
        if self.sink is not None and self.expects_body:
            self.sink.end_body()

    def attach(self, sink: BodySink) -> None:
        """Start sending the body to ``sink``: what was buffered first, then the rest as it comes."""
        self.sink = sink
        buffered, self._buffer, self._buffered = self._buffer, [], 0
        for chunk in buffered:
            sink.send_body(chunk)
        if self.body_done and self.expects_body:
            sink.end_body()
