"""Forward an authorized request (HTTP or websocket) to the app: what the app is sent, and on which connection.

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
for byte (``splice.py``), so a message costs two socket copies and no framing work here. Every request
and every chunk of websocket traffic counts as activity.

Connections to the app (:class:`~hubapps.proxy.upstream.Upstream`, which relays the app's answer back)
are kept open and reused (HTTP only); one the app closed while idle is dropped as soon as the close
arrives, and a request without a body that meets a connection closed under it is retried once on a
fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hubapps.proxy.identity import claims_identity
from hubapps.proxy.process import AppAddress
from hubapps.proxy.splice import SplicedPair
from hubapps.proxy.upstream import Upstream, bad_gateway
from hubapps.proxy.wire import HOP_BY_HOP, connection_tokens, encode_head

if TYPE_CHECKING:
    from hubapps.proxy.auth import Viewer
    from hubapps.proxy.exchange import Exchange
    from hubapps.proxy.http import ClientConnection

__all__ = ["Forwarder", "same_origin"]

log = logging.getLogger("hubapps.proxy")

#: Seconds to connect to the app (it is local: a slow connect means it is overloaded or gone).
CONNECT_TIMEOUT = 10.0
#: Idle connections to the app kept for reuse, and for how long (seconds).
POOL_SIZE = 100
POOL_IDLE_TIMEOUT = 15.0


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


#: Headers this proxy writes itself, never passed on as the client sent them: a viewer's own
#: ``X-Forwarded-Prefix`` would tell the app (NiceGUI, Starlette apps behind --strip-prefix, ...)
#: to build its links and redirects under a path the viewer chose.
_OWN_HEADERS = frozenset({"content-length", "x-forwarded-prefix"})


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
        named = connection_tokens(request.header("Connection"))
        websocket = request.is_websocket
        headers: list[tuple[str, str]] = []
        host = False
        for name, value in request.headers:
            lower = name.lower()
            if lower in HOP_BY_HOP or claims_identity(lower) or lower in named or lower in _OWN_HEADERS:
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
                client.answer(exchange, bad_gateway("The app did not answer."))
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
