"""One connection to the app (:class:`Upstream`): the request goes out, the app's answer comes back.

The answer's head is rewritten for the viewer: hop-by-hop fields dropped, ``Location`` pointing at the
app's own address put back under the prefix, ``Set-Cookie`` confined to the prefix (``identity.py``);
its body is relayed as it arrives, re-framed as chunks to an HTTP/1.1 viewer when the app gives no
length. A ``101`` to a websocket upgrade turns the pair into a splice (``splice.py``). Interim answers
are not relayed; an answer cut short ends the viewer's connection (it must not look complete). The
pool these connections live in is :class:`~hubapps.proxy.forward.Forwarder`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import TYPE_CHECKING, cast

import httptools

from hubapps.proxy import pages
from hubapps.proxy.identity import confine_set_cookie
from hubapps.proxy.process import AppAddress
from hubapps.proxy.splice import SplicedPair
from hubapps.proxy.wire import HOP_BY_HOP, Response, connection_tokens, encode_head

if TYPE_CHECKING:
    from hubapps.proxy.exchange import Exchange
    from hubapps.proxy.forward import Forwarder
    from hubapps.proxy.http import ClientConnection

__all__ = ["Upstream", "bad_gateway"]

log = logging.getLogger("hubapps.proxy")

#: Bytes the socket may buffer towards the app before reading from the viewer pauses.
WRITE_HIGH_WATER = 256 * 1024


def bad_gateway(message: str) -> Response:
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
            client.answer(exchange, bad_gateway("The app closed the connection without answering."))
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
                tokens |= connection_tokens(value)
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
            client.answer(exchange, bad_gateway("The app sent an answer that is not valid HTTP."))
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
