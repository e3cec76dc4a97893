"""The viewer side of the proxy: one viewer's HTTP/1.1 connection on asyncio protocols, parsed by ``httptools``.

Why not a web framework: a ``hubapps-proxy`` runs beside every app, and every request of every viewer
passes through one. ``aiohttp.web`` alone is 36 MB of RSS and about 0.3 ms of CPU per forwarded request
on the machines we measure on; this module keeps the proxy near 20 MB and adds a fraction of that.
Parsing is llhttp's (via ``httptools``, the parser of Node.js and uvicorn), which is strict about the
things request smuggling lives on (``Content-Length`` with ``Transfer-Encoding``, bare LF, bad chunk
sizes); this module only reads the parsed pieces.

A connection (:class:`ClientConnection`) handles its requests in order (an
:class:`~hubapps.proxy.exchange.Exchange` per request; pipelined requests wait in a queue with their
bodies), each as routing decides (``exchange.py``). Bodies flow as they arrive, with back-pressure both
ways (a slow viewer pauses reading from the app, a slow app pauses reading from the viewer). A viewer
that sends too slowly is cut off (``slow_senders.py``); a refusal is followed by a lingering close.
Listening and the set of connections are ``listener.py``'s; an accepted websocket becomes a splice
(``splice.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import httptools

from hubapps.proxy.exchange import BodySink, Exchange, Forward, Route
from hubapps.proxy.slow_senders import SlowSenders
from hubapps.proxy.splice import splice
from hubapps.proxy.wire import HTTPAnswer, Request, Response, encode_head

if TYPE_CHECKING:
    from hubapps.proxy.listener import HttpServer

__all__ = ["ClientConnection"]

log = logging.getLogger("hubapps.proxy")

#: Largest request head (request line plus header fields); big cookie headers are common behind a Hub.
MAX_HEAD_SIZE = 64 * 1024
#: Request body buffered while the request waits (for the Hub's answer, a connection to the app)
#: before reading from the viewer pauses.
MAX_BUFFERED_BODY = 256 * 1024
#: Seconds a refused viewer's connection stays half-open, dropping what it still sends (see _close_lingering).
LINGER_TIMEOUT = 2.0
#: Bytes the socket may buffer towards a peer before we stop reading from the other side.
WRITE_HIGH_WATER = 256 * 1024


class ClientConnection(SlowSenders, asyncio.Protocol):
    """One viewer's connection (browsers and CHP keep these open across requests)."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.loop = server.loop
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._queue: deque[Exchange] = deque()
        self._url = bytearray()
        self._headers: list[tuple[str, str]] = []
        self._head_size = 0
        #: A request head is being parsed; the bytes of it received so far (see data_received); a
        #: message ended in the data being parsed now.
        self._in_head = False
        self._head_bytes = 0
        self._message_ended = False
        #: A refusal (status, message) of what the viewer sent, due once the requests before it are answered.
        self._rejection: tuple[int, str] | None = None
        self._parsing: Exchange | None = None
        self._task: asyncio.Task[Any] | None = None
        #: The connection was handed over to a splice (an accepted websocket); it is not HTTP any more.
        self._tunnel = False
        #: Bytes that came after an upgrade request, held until the app accepts (or refuses) it.
        self._upgrade_tail: list[bytes] | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        #: Who to pause when the viewer reads slowly (the upstream answering the current exchange).
        self.producer: BodySink | None = None
        #: Since when (loop time) the connection waits for a request head; None while a request is in progress.
        self.idle_since: float | None = None
        self.closed = False
        # Slow senders (see RequestTimeouts): when the head being received began; when the body being
        # received began, its last bytes arrived, how many came; loop time not spent reading (added to
        # the clocks on resume), and since when reading is paused.
        self._head_started: float | None = None
        self._body_started: float | None = None
        self._body_last = 0.0
        self._body_received = 0
        self._body_shift = 0.0
        self._paused_at: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._linger: asyncio.TimerHandle | None = None
        #: Our side of the connection is closed (a lingering close): nothing more is written.
        self._ended = False

    # -- asyncio.Protocol ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # (uvloop's transports are not subclasses)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self.server.connections.add(self)
        self.idle_since = self.loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        for timer in (self._timer, self._linger):
            if timer is not None:
                timer.cancel()
        if self._task is not None:
            self._task.cancel()
        for exchange in self._queue:
            if exchange.sink is not None:
                exchange.sink.abort()
        self._queue.clear()
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_exception(ConnectionResetError("the viewer went away"))

    def data_received(self, data: bytes) -> None:
        if self._upgrade_tail is not None:
            self._upgrade_tail.append(data)
            return
        if self._rejection is not None:
            return  # (what follows a refused request is not parsed)
        self._message_ended = False
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._on_upgrade(data[int(upgrade.args[0]) :])
            return
        except httptools.HttpParserError as error:
            if isinstance(error.__context__, _HeadTooLarge):  # (httptools wraps what a callback raises)
                self._reject(431, "Request header fields too large.")
                return
            log.debug("hubapps-proxy: bad request from a viewer: %s", error)
            self._reject(400, "Bad request.")
            return
        if self._in_head and not self._message_ended:
            # httptools hands a header over only once its line is complete: count the bytes of a head
            # still in progress too, or one endless line would be buffered without bound. (Data that
            # also ended a message is not counted: what of it is the new head is unknown; one read at most.)
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_SIZE:
                self._reject(431, "Request header fields too large.")

    def pause_writing(self) -> None:
        self._writing_paused = True
        if self.producer is not None:
            self.producer.pause_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self.producer is not None:
            self.producer.resume_reading()
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    # -- httptools callbacks --------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = bytearray()
        self._headers = []
        self._head_size = 0
        self._in_head = True
        self._head_bytes = 0
        self._head_started = self.loop.time()
        self._arm()

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._grow(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))
        self._grow(len(name) + len(value) + 4)

    def _grow(self, size: int) -> None:
        self._head_size += size
        if self._head_size > MAX_HEAD_SIZE:
            raise _HeadTooLarge

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_started = None
        self.idle_since = None
        parser = self._parser
        request = Request(
            method=parser.get_method().decode("latin-1"),
            target=bytes(self._url),
            headers=self._headers,
            version=parser.get_http_version(),
        )
        chunked = "chunked" in request.header("Transfer-Encoding").lower()
        length = request.header("Content-Length").strip()
        expects_body = chunked or (length.isdigit() and int(length) > 0)
        # An upgrade request that is not accepted (any answer but the app's 101) ends its connection, and
        # says so (``Connection: close``): what the client sent after it may not be HTTP, and a client
        # that pools connections (configurable-http-proxy does, for websockets too) must not send its
        # next request on a connection that is about to close (it would be lost). Without the header,
        # configurable-http-proxy would also copy the request's ``Connection: Upgrade`` into the answer.
        websocket = request.is_websocket
        keep_alive = parser.should_keep_alive() and not (websocket or parser.should_upgrade())
        exchange = Exchange(
            request, keep_alive=keep_alive, chunked=chunked, expects_body=expects_body, websocket=websocket
        )
        self._parsing = exchange
        if expects_body and not exchange.expect_continue:
            self._start_body_clock()
        self._queue.append(exchange)
        if len(self._queue) == 1:
            self._start(exchange)
        else:
            self.pause_reading()  # a pipelined request: it waits for the one before it

    def on_body(self, body: bytes) -> None:
        exchange = self._parsing
        if exchange is None:
            return
        if self._body_started is None:
            self._start_body_clock()  # (a client that sent its body without waiting for the 100)
        self._body_last = self.loop.time()
        self._body_received += len(body)
        exchange.feed(body)
        if exchange.sink is None and exchange.buffered > MAX_BUFFERED_BODY:
            self.pause_reading()

    def on_message_complete(self) -> None:
        self._message_ended = True
        exchange = self._parsing
        self._body_started = None
        if exchange is not None:
            self._parsing = None
            exchange.finish_body()

    # -- one exchange ---------------------------------------------------------------------------------

    def _start(self, exchange: Exchange) -> None:
        try:
            route = self.server.dispatch(exchange.request)
        except HTTPAnswer as answer:
            route = answer.response
        except Exception:
            log.exception("hubapps-proxy: error while routing a request")
            route = Response.text("Internal error in hubapps-proxy.\n", status=500)
        if isinstance(route, Forward | Response):
            self._go(exchange, route)
        else:
            self._task = self.loop.create_task(self._route_later(exchange, route))

    async def _route_later(self, exchange: Exchange, pending: Awaitable[Route]) -> None:
        try:
            route = await pending
        except HTTPAnswer as answer:
            route = answer.response
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("hubapps-proxy: error while routing a request")
            route = Response.text("Internal error in hubapps-proxy.\n", status=500)
        self._task = None
        if not self.closed:
            self._go(exchange, route)

    def _go(self, exchange: Exchange, route: Route) -> None:
        if isinstance(route, Forward):
            if exchange.expect_continue and not exchange.body_done:
                self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                if exchange is self._parsing and self._body_started is None:
                    self._start_body_clock()
            self.server.forwarder.forward(self, exchange, route.viewer)
            self.resume_reading()
        elif route.stream is not None:
            self._task = self.loop.create_task(self._stream(exchange, route))
        else:
            self.answer(exchange, route)

    def answer(self, exchange: Exchange, response: Response) -> None:
        """Send an answer made here, in one write; then go on with the next request (or close)."""
        head_only = exchange.request.method == "HEAD" or response.status in (204, 304)
        headers = [*response.headers, *self.server.extra_headers]
        if response.status not in (204, 304):
            headers.append(("Content-Length", str(len(response.body))))
        keep_alive = exchange.keep_alive and exchange.body_done
        if not keep_alive:
            headers.append(("Connection", "close"))
        head = encode_head(f"HTTP/1.1 {response.status} {response.reason_phrase}", headers)
        self.write(head if head_only else head + response.body)
        self.finish(exchange, keep_alive=keep_alive)

    async def _stream(self, exchange: Exchange, response: Response) -> None:
        assert response.stream is not None
        headers = [*response.headers, *self.server.extra_headers, ("Transfer-Encoding", "chunked")]
        keep_alive = exchange.keep_alive and exchange.body_done
        if not keep_alive:
            headers.append(("Connection", "close"))
        self.write(encode_head(f"HTTP/1.1 {response.status} {response.reason_phrase}", headers))
        try:
            async for chunk in response.stream:
                if chunk:
                    self.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                    await self.drain()
            self.write(b"0\r\n\r\n")
        except ConnectionResetError:
            return
        finally:
            with contextlib.suppress(Exception):
                await response.stream.aclose()  # type: ignore[attr-defined]
        self._task = None
        self.finish(exchange, keep_alive=keep_alive)

    def finish(self, exchange: Exchange, *, keep_alive: bool) -> None:
        """The answer to ``exchange`` is complete: start the next request, or close."""
        self.producer = None
        if self.server.on_answered is not None:
            self.server.on_answered(exchange)
        if self._queue and self._queue[0] is exchange:
            self._queue.popleft()
        if self.closed or self.transport is None:
            return
        if not keep_alive or not exchange.body_done or self._upgrade_tail is not None:
            # (after an upgrade request the app did not take, the bytes that follow are not HTTP)
            self.transport.close()
            return
        if self._rejection is not None and not self._queue:
            self._reject(*self._rejection)
            return
        if self._queue:
            self._start(self._queue[0])
        self.resume_reading()
        if not self._queue:
            self.idle_since = self.loop.time()

    # -- upgrades ---------------------------------------------------------------------------------

    def _on_upgrade(self, tail: bytes) -> None:
        """The parser stopped after an upgrade request: what follows is not HTTP until the app says so."""
        exchange = self._queue[-1] if self._queue else None
        if exchange is None:
            # The upgrade request was answered here already (login, refusal, startup): that is all.
            self.close()
            return
        if exchange.request.is_websocket and exchange.request.method == "GET":
            self._upgrade_tail = [tail] if tail else []
            return
        # Only websockets are tunnelled; other upgrades (h2c) are plain requests (Upgrade is dropped).
        self._parser = httptools.HttpRequestParser(self)
        if tail:
            self.data_received(tail)

    def start_tunnel(
        self, peer: asyncio.Transport, on_activity: Callable[[], None], on_closed: Callable[[], None]
    ) -> None:
        """The app accepted the upgrade: join this connection and ``peer`` byte for byte (:func:`splice`)."""
        assert self.transport is not None
        held, self._upgrade_tail = self._upgrade_tail or [], None
        if self._queue and self.server.on_answered is not None:
            self.server.on_answered(self._queue[0])
        self._queue.clear()
        self.producer = None
        self._tunnel = True
        for data in held:
            peer.write(data)

        def closed() -> None:
            self.closed = True
            self.server.connections.discard(self)
            on_closed()

        splice(self.transport, peer, on_activity, closed)
        self.resume_reading()

    # -- writing ----------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed and not self._ended:
            self.transport.write(data)

    async def drain(self) -> None:
        if self.closed:
            raise ConnectionResetError("the viewer went away")
        if not self._writing_paused:
            return
        self._drain_waiter = self.loop.create_future()
        await self._drain_waiter

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    def abort(self) -> None:
        """End the connection now (a truncated answer must not look complete)."""
        if self.transport is not None and not self.closed:
            self.transport.abort()

    def pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = True
            self._paused_at = self.loop.time()
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused and self._rejection is None and self.transport is not None and not self.closed:
            self._reading_paused = False
            if self._paused_at is not None:
                paused = self.loop.time() - self._paused_at
                self._paused_at = None
                self._body_shift += paused
                self._body_last += paused
                if self._head_started is not None:
                    self._head_started += paused
            self.transport.resume_reading()
            self._arm()

    # -- refusals ---------------------------------------------------------------------------------

    def _reject(self, status: int, message: str) -> None:
        """Refuse what the viewer sent last, and close; after the answers to complete requests before it."""
        if self.transport is None or self.closed or self._ended:
            return
        broken, self._parsing = self._parsing, None
        if broken is not None and self._queue and broken is not self._queue[0]:
            self._queue.remove(broken)  # it waited behind others: nothing of it went anywhere yet
        if self._queue and self._queue[0] is not broken:
            self._rejection = (status, message)
            self.pause_reading()
            return
        if not any(exchange.answered for exchange in self._queue):
            response = Response.text(message + "\n", status=status)
            headers = [*response.headers, ("Content-Length", str(len(response.body))), ("Connection", "close")]
            self.write(encode_head(f"HTTP/1.1 {status} {response.reason_phrase}", headers) + response.body)
        self._close_lingering()

    def _close_lingering(self) -> None:
        """Close after a refusal so that the viewer reads it: a viewer still sending (a slow body) would
        otherwise meet a reset, which discards the refusal unread. So: end our side (FIN after the
        answer), drop whatever still comes, and close for good when the viewer does, or after
        :data:`LINGER_TIMEOUT` seconds (nginx's lingering close). TLS has no half-close: closed at once."""
        assert self.transport is not None
        for exchange in self._queue:  # (sinks attached later are aborted when the connection is lost)
            if exchange.sink is not None:
                exchange.sink.abort()
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self._rejection = self._rejection or (0, "")  # (data_received drops what comes now)
        self._ended = True
        self.transport.write_eof()
        if self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()
        self._linger = self.loop.call_later(LINGER_TIMEOUT, self.close)


class _HeadTooLarge(Exception):
    pass
