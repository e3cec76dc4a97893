"""Forward an authorized request (HTTP or websocket) to the app, and its answer back.

The upstream is always the app's own address (:class:`~hubapps.proxy.process.AppAddress`: its unix
socket, or ``127.0.0.1:<app port>``): the request line sent there is built from the prefix
and the *relative* raw path and query of the viewer's request, so an absolute-form target or an odd
``Host`` header can never make the proxy connect anywhere else. Bodies are streamed both ways as they
arrive (server-sent events and Voila's progressive rendering reach the viewer as produced), nothing is
decompressed, redirects are passed back (``Location`` pointing at the app's own address is rewritten
under the prefix), not followed.

Headers: hop-by-hop headers are dropped; the viewer's Hub credentials (every JupyterHub login cookie,
an ``Authorization`` header that carried their Hub token) and any client-sent identity header are
removed, then the identity the Hub vouched for is added (``X-Hubapps-User``, ``X-Hubapps-Groups``,
upstream's ``X-Forwarded-User-Data``; see ``identity.py`` for the rules). ``Host`` is kept so apps
that check it (or the websocket ``Origin``) see what the browser sent.

Websockets are spliced: the upgrade request goes to the app (subprotocols and extensions are negotiated
between the browser and the app), and once the app answers ``101`` the two connections are joined byte
for byte, so a message costs two socket copies and no framing work here. Every request and every chunk
of websocket traffic counts as activity.

Connections to the app are kept open and reused (HTTP only); one the app closed while idle is dropped
as soon as the close arrives, and a request without a body that meets a connection closed under it is
retried once on a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

import httptools

from hubapps.proxy import pages
from hubapps.proxy.auth import Viewer
from hubapps.proxy.http import ClientConnection, Exchange, encode_head
from hubapps.proxy.identity import claims_identity, confine_set_cookie
from hubapps.proxy.process import AppAddress
from hubapps.proxy.wire import Request, Response

__all__ = ["Forwarder", "SplicedPair", "same_origin"]

log = logging.getLogger("hubapps.proxy")

#: Headers that describe one connection, not the message (RFC 9110 section 7.6.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)
#: Seconds to connect to the app (it is local: a slow connect means it is overloaded or gone).
CONNECT_TIMEOUT = 10.0
#: Idle connections to the app kept for reuse, and for how long (seconds).
POOL_SIZE = 100
POOL_IDLE_TIMEOUT = 15.0
#: Bytes the socket may buffer towards the app before reading from the viewer pauses.
WRITE_HIGH_WATER = 256 * 1024


def same_origin(origin: str, host: str) -> bool:
    """Whether a websocket ``Origin`` names the same host (and port) as the ``Host`` header."""
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return False
    default_port = 443 if parts.scheme == "https" else 80
    try:
        origin_port = parts.port or default_port
        host_parts = urlsplit("//" + host)
        host_port = host_parts.port or default_port
    except ValueError:
        return False
    return (parts.hostname, origin_port) == ((host_parts.hostname or ""), host_port)


def _connection_tokens(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",") if token.strip()}


class SplicedPair:
    """A websocket spliced to the app: the upgrade request it came with, and a way to end it (both sides)."""

    __slots__ = ("_app", "_viewer", "request")

    def __init__(self, viewer: ClientConnection, app: asyncio.Transport, request: Request) -> None:
        self._viewer, self._app, self.request = viewer, app, request

    @property
    def closed(self) -> bool:
        return self._viewer.closed or self._app.is_closing()

    def close(self) -> None:
        """Drop both connections now (no close frame: the splice does not know where frames begin)."""
        self._viewer.abort()
        self._app.abort()


class Forwarder:
    """Relays requests to the app; owns the connections to it."""

    def __init__(
        self,
        *,
        prefix: str,
        strip_prefix: bool,
        address: Callable[[], AppAddress],
        strip_cookies: Callable[[str], str],
        on_activity: Callable[[], None],
        extra_headers: list[tuple[str, str]] | None = None,
        on_websocket: Callable[[SplicedPair], None] | None = None,
    ) -> None:
        self.prefix = prefix
        self.strip_prefix = strip_prefix
        self._prefix_segments = prefix.rstrip("/").count("/")
        self._address = address
        self._strip_cookies = strip_cookies
        self.on_activity = on_activity
        #: Told of every websocket once it is spliced (the proxy re-checks and ages them out).
        self.on_websocket = on_websocket
        #: Added to every forwarded answer.
        self.extra_headers = list(extra_headers or [])
        self._idle: list[Upstream] = []
        self._busy: set[Upstream] = set()
        self._connecting: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for task in list(self._connecting):
            task.cancel()
        for upstream in [*self._idle, *self._busy]:
            upstream.close()
        self._idle.clear()
        self._busy.clear()

    # -- request translation ------------------------------------------------------------------

    def upstream_target(self, raw_path: str, raw_query: str) -> str:
        """The request target at the app: the prefix in the Hub's spelling (or none), the rest as sent.

        A viewer may encode an escaped user name differently (routing checked that the decoded forms
        match), and frameworks route on the exact bytes they were configured with.
        """
        parts = raw_path.split("/", self._prefix_segments + 1)
        rest = parts[-1] if len(parts) > self._prefix_segments + 1 else ""
        path = ("/" if self.strip_prefix else self.prefix) + rest
        return path + ("?" + raw_query if raw_query else "")

    def upstream_headers(self, exchange: Exchange, viewer: Viewer | None) -> list[tuple[str, str]]:
        request = exchange.request
        connection_tokens = _connection_tokens(request.header("Connection"))
        websocket = request.is_websocket
        headers: list[tuple[str, str]] = []
        host = False
        for name, value in request.headers:
            lower = name.lower()
            if lower in HOP_BY_HOP or claims_identity(lower) or lower in connection_tokens or lower == "content-length":
                continue
            if lower == "authorization" and viewer is not None and viewer.token_in_header:
                continue  # it carried the viewer's Hub token
            if lower == "cookie":
                value = self._strip_cookies(value)
                if not value:
                    continue
            if lower == "host":
                host = True
            headers.append((name, value))
        if not host:
            headers.append(("Host", self._address().host))
        if websocket:
            headers += [("Connection", "Upgrade"), ("Upgrade", request.header("Upgrade"))]
        if exchange.chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        elif request.has_header("Content-Length"):
            headers.append(("Content-Length", request.header("Content-Length").strip()))
        if viewer is not None:
            headers += viewer.headers
        if self.strip_prefix:
            headers.append(("X-Forwarded-Prefix", self.prefix.rstrip("/")))
        return headers

    def rewrite_location(self, location: str) -> str:
        """Point redirects at the app's own address (or, when stripping, at its root) back to us."""
        for origin in self._address().origins:
            if location == origin or location.startswith((origin + "/", origin + "?")):
                location = location[len(origin) :] or "/"
                if not location.startswith("/"):
                    location = "/" + location
                break
        else:
            if not (self.strip_prefix and location.startswith("/") and not location.startswith("//")):
                return location
        if self.strip_prefix and not location.startswith(self.prefix):
            return self.prefix + location[1:]
        return location

    # -- relaying -------------------------------------------------------------------------------

    def forward(self, client: ClientConnection, exchange: Exchange, viewer: Viewer | None) -> None:
        """Send ``exchange`` to the app (on an idle connection if there is one) and its answer back."""
        self.on_activity()
        request = exchange.request
        target = self.upstream_target(request.raw_path, request.raw_query)
        head = encode_head(f"{request.method} {target} HTTP/1.1", self.upstream_headers(exchange, viewer))
        upstream = None if request.is_websocket else self._take_idle()
        if upstream is not None:
            upstream.begin(client, exchange, head, reused=True)
        else:
            self._open(client, exchange, head)

    def _open(self, client: ClientConnection, exchange: Exchange, head: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._connect(client, exchange, head))
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _connect(self, client: ClientConnection, exchange: Exchange, head: bytes) -> None:
        address = self._address()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                _, upstream = await address.connect(lambda: Upstream(self, address))
        except (OSError, TimeoutError) as error:
            log.warning("hubapps-proxy: app did not answer: %s", type(error).__name__)
            if not client.closed:
                client.answer(exchange, _bad_gateway("The app did not answer."))
            return
        if client.closed:
            upstream.close()
            return
        upstream.begin(client, exchange, head, reused=False)

    def _take_idle(self) -> Upstream | None:
        address = self._address()
        while self._idle:
            upstream = self._idle.pop()
            if not upstream.closed and upstream.address == address:
                return upstream
            upstream.close()
        return None

    def busy(self, upstream: Upstream) -> None:
        self._busy.add(upstream)

    def release(self, upstream: Upstream) -> None:
        """``upstream`` finished an answer and may carry another request."""
        self._busy.discard(upstream)
        if upstream.closed or len(self._idle) >= POOL_SIZE:
            upstream.close()
            return
        upstream.idle_since = asyncio.get_running_loop().time()
        self._idle.append(upstream)
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(POOL_IDLE_TIMEOUT / 4, self._sweep)

    def _sweep(self) -> None:
        """Close connections idle past :data:`POOL_IDLE_TIMEOUT` (one timer, not one per request)."""
        self._sweeper = None
        limit = asyncio.get_running_loop().time() - POOL_IDLE_TIMEOUT
        for upstream in [u for u in self._idle if u.idle_since < limit]:
            self._idle.remove(upstream)
            upstream.close()
        if self._idle:
            self._sweeper = asyncio.get_running_loop().call_later(POOL_IDLE_TIMEOUT / 4, self._sweep)

    def discard(self, upstream: Upstream) -> None:
        self._busy.discard(upstream)
        with contextlib.suppress(ValueError):
            self._idle.remove(upstream)

    def retry(self, client: ClientConnection, exchange: Exchange, head: bytes) -> None:
        """A reused connection closed before answering: send the (bodiless) request on a new one."""
        self._open(client, exchange, head)


def _bad_gateway(message: str) -> Response:
    return Response.html(pages.message_page(message), status=502, headers=pages.NO_CACHE)


class Upstream(asyncio.Protocol):
    """One connection to the app; carries one request at a time, then waits in the pool."""

    def __init__(self, forwarder: Forwarder, address: AppAddress) -> None:
        self.forwarder = forwarder
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.client: ClientConnection | None = None
        self.exchange: Exchange | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._head = b""
        self._reused = False
        #: Since when (loop time) the connection waits in the pool.
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self._got_bytes = False
        self._status = 0
        self._reason = bytearray()
        self._headers: list[tuple[str, str]] = []
        self._interim = False
        self._head_sent = False
        self._done = False
        self._chunked_out = False
        self._close_delimited = False
        self._client_keep_alive = True
        self._out: list[bytes] = []

    # -- asyncio.Protocol ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # (uvloop's transports are not subclasses)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.forwarder.discard(self)
        client, exchange = self.client, self.exchange
        self.client = self.exchange = None
        if client is None or exchange is None:
            return
        if self._done or client.closed:
            return
        if not self._got_bytes and self._reused and not exchange.expects_body:
            self.forwarder.retry(client, exchange, self._head)
            return
        if not self._head_sent:
            log.warning("hubapps-proxy: the app closed the connection without answering")
            client.answer(exchange, _bad_gateway("The app closed the connection without answering."))
        elif self._close_delimited:
            self._complete(client, exchange, reusable=False)  # the end of the body is the close
        else:
            log.warning("hubapps-proxy: the app broke off a response")
            self._flush(client)
            client.abort()  # a truncated body must not look complete

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None or self._parser is None:
            self.close()  # nothing was asked: an app talking out of turn is not reused
            return
        self._got_bytes = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            tail = data[int(upgrade.args[0]) :]
            self._flush(client)
            if self._status == 101 and self.exchange is not None and self.exchange.request.is_websocket:
                assert self.transport is not None
                if tail:
                    client.write(tail)  # the app's first bytes, sent along with its 101
                request = self.exchange.request
                self.client = self.exchange = None
                self.forwarder.on_activity()
                # From here the two connections are one (this protocol object is done with).
                client.start_tunnel(self.transport, self.forwarder.on_activity, lambda: self.forwarder.discard(self))
                if self.forwarder.on_websocket is not None:
                    self.forwarder.on_websocket(SplicedPair(client, self.transport, request))
            else:
                self._broken(client)
            return
        except httptools.HttpParserError as error:
            log.warning("hubapps-proxy: the app sent a malformed response: %s", error)
            self._broken(client)
            return
        self._flush(client)

    def pause_writing(self) -> None:  # the app reads slowly: stop reading from the viewer
        if self.client is not None:
            self.client.pause_reading()

    def resume_writing(self) -> None:
        if self.client is not None:
            self.client.resume_reading()

    # -- httptools callbacks ----------------------------------------------------------------------

    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        assert self.exchange is not None
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            # Interim answers (100 Continue: the proxy sent its own; 103 Early Hints) are not relayed.
            self._interim = True
            self._headers = []
            self._reason = bytearray()
            return
        self._interim = False
        self._status = status
        request = self.exchange.request
        websocket = request.is_websocket
        upgrade = status == 101 and websocket
        tokens: set[str] = set()
        for name, value in self._headers:
            if name.lower() == "connection":
                tokens |= _connection_tokens(value)
        headers: list[tuple[str, str]] = []
        chunked_in = length_known = False
        for name, value in self._headers:
            lower = name.lower()
            if lower == "transfer-encoding":
                chunked_in = "chunked" in value.lower()
                continue
            if lower in HOP_BY_HOP or lower in tokens:
                if not (upgrade and lower in ("connection", "upgrade")):
                    continue
            elif lower == "content-length":
                length_known = True
            elif lower == "location":
                value = self.forwarder.rewrite_location(value)
            elif lower == "set-cookie":
                confined = confine_set_cookie(value, self.forwarder.prefix, strip_prefix=self.forwarder.strip_prefix)
                if confined is None:
                    continue
                value = confined
            headers.append((name, value))
        headers += self.forwarder.extra_headers
        exchange = self.exchange
        no_body = request.method == "HEAD" or status in (204, 304) or upgrade
        keep_alive = exchange.keep_alive and not (websocket and not upgrade)
        if not no_body and (chunked_in or not length_known):
            self._close_delimited = not chunked_in
            if request.version == "1.1":
                headers.append(("Transfer-Encoding", "chunked"))
                self._chunked_out = True
            else:
                keep_alive = False  # HTTP/1.0 viewer: the end of the body is the close
        if not keep_alive and not upgrade:
            headers.append(("Connection", "close"))
        self._client_keep_alive = keep_alive
        reason = self._reason.decode("latin-1").strip() or "-"
        self._out.append(encode_head(f"HTTP/1.1 {status} {reason}", headers))
        self._head_sent = True
        exchange.answered = True
        if request.method == "HEAD" and not upgrade and self.client is not None:
            # The parser would wait for a HEAD answer's announced body: the answer is complete now. (Not
            # for 204 and 304: the parser ends those itself, and completing one here would put the pooled
            # connection back to work while its parser has yet to call on_message_complete.)
            self._complete(self.client, exchange, reusable=False)

    def on_body(self, body: bytes) -> None:
        if self._interim or self._done:
            return
        if self._chunked_out:
            self._out.append(b"%x\r\n%b\r\n" % (len(body), body))
        else:
            self._out.append(body)

    def on_message_complete(self) -> None:
        if self._interim or self._done or self._status == 101:
            return
        if self.client is not None and self.exchange is not None:
            self._complete(self.client, self.exchange, reusable=True)

    # -- one exchange ---------------------------------------------------------------------------------

    def begin(self, client: ClientConnection, exchange: Exchange, head: bytes, *, reused: bool) -> None:
        assert self.transport is not None
        self._reset()
        self.client, self.exchange = client, exchange
        self._head, self._reused = head, reused
        self._parser = httptools.HttpResponseParser(self)
        self.forwarder.busy(self)
        self.resume_reading()  # a slow viewer of the previous answer may have paused it
        client.producer = self
        self.transport.write(head)
        exchange.attach(self)
        # Reading from the viewer may have paused while the body waited for this connection; from now
        # on the app's own pace (pause_writing/resume_writing) governs it.
        client.resume_reading()

    def _complete(self, client: ClientConnection, exchange: Exchange, *, reusable: bool) -> None:
        self._done = True
        if self._chunked_out:
            self._out.append(b"0\r\n\r\n")
        self._flush(client)
        self.client = self.exchange = None
        reusable = reusable and exchange.body_done and self._parser is not None and self._parser.should_keep_alive()
        if reusable and not self.closed:
            self.forwarder.release(self)
        else:
            self.forwarder.discard(self)
            self.close()
        client.finish(exchange, keep_alive=self._client_keep_alive)

    def _flush(self, client: ClientConnection) -> None:
        if self._out:
            out, self._out = self._out, []
            client.write(out[0] if len(out) == 1 else b"".join(out))

    def _broken(self, client: ClientConnection) -> None:
        exchange = self.exchange
        self.client = self.exchange = None
        self.close()
        if exchange is not None and not self._head_sent:
            client.answer(exchange, _bad_gateway("The app sent an answer that is not valid HTTP."))
        else:
            client.abort()

    # -- BodySink ------------------------------------------------------------------------

    def send_body(self, chunk: bytes) -> None:
        if self.transport is None or self.closed or self.exchange is None:
            return
        if self.exchange.chunked:
            self.transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        else:
            self.transport.write(chunk)

    def end_body(self) -> None:
        if self.transport is not None and not self.closed and self.exchange is not None and self.exchange.chunked:
            self.transport.write(b"0\r\n\r\n")

    def abort(self) -> None:
        """The viewer went away: drop this connection (its answer is of no use to anyone)."""
        self.client = self.exchange = None
        if self.transport is not None and not self.closed:
            self.transport.abort()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()
