"""Forward an authenticated request (HTTP or websocket) to the app on 127.0.0.1.

The upstream URL is built from the app's port and the request's *relative* raw path and query only, so
an absolute-form request target or an odd ``Host`` header can never make the proxy connect anywhere
else. Bodies are streamed both ways (the request body is handed to the client as a stream, the
response is copied chunk by chunk), nothing is decompressed, redirects are passed back, not followed.

Headers: hop-by-hop headers are dropped; the viewer's Hub credentials (our cookies, an ``Authorization``
header that carried their Hub token) and any client-sent identity header are removed, then the identity
the Hub vouched for is added as ``X-Hubapps-User`` / ``X-Hubapps-Groups``. ``Host`` is kept so apps
that check it (or the websocket ``Origin``) see what the browser sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import aiohttp
from aiohttp import WSMsgType, web
from multidict import CIMultiDict
from yarl import URL

from hubapps.proxy import pages
from hubapps.proxy.auth import Viewer

__all__ = ["Forwarder", "same_origin"]

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
#: Identity headers a client could forge; apps and auth proxies commonly trust these names.
IDENTITY_HEADERS = frozenset(
    {
        "x-forwarded-user",
        "x-forwarded-email",
        "x-forwarded-groups",
        "x-forwarded-preferred-username",
        "x-auth-request-user",
        "x-auth-request-email",
        "x-auth-request-groups",
        "x-auth-request-preferred-username",
        "x-remote-user",
        "remote-user",
    }
)
#: Seconds to connect to the app (it is local: a slow connect means it is overloaded or gone).
CONNECT_TIMEOUT = 10.0
#: Seconds for the app to accept a websocket upgrade.
WS_HANDSHAKE_TIMEOUT = 30.0
#: Seconds to wait for the other side's close frame.
WS_CLOSE_TIMEOUT = 10.0
#: Largest websocket message relayed (dashboards send big frames; this only bounds memory).
WS_MAX_MESSAGE_SIZE = 256 * 1024 * 1024
#: Connections kept open to the app.
POOL_SIZE = 100
#: Bodies of known length up to this size are relayed in one piece; larger or unsized ones are streamed.
SMALL_BODY = 64 * 1024
#: Close codes that must not be sent in a close frame (RFC 6455 section 7.4.1).
_RESERVED_CLOSE_CODES = frozenset({1005, 1006, 1015})


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


def _is_hop_or_identity(name: str) -> bool:
    lower = name.lower()
    return lower in HOP_BY_HOP or lower in IDENTITY_HEADERS or lower.startswith("x-hubapps-")


class Forwarder:
    """Relays requests to the app; owns the one connection pool to it."""

    def __init__(
        self,
        *,
        prefix: str,
        strip_prefix: bool,
        port: Callable[[], int],
        strip_cookies: Callable[[str], str],
        on_activity: Callable[[], None],
    ) -> None:
        self.prefix = prefix
        self.strip_prefix = strip_prefix
        self._prefix_segments = prefix.rstrip("/").count("/")
        self._port = port
        self._strip_cookies = strip_cookies
        self._on_activity = on_activity
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=POOL_SIZE),
            # Long-lived streams (server-sent events, long polls) are legitimate: no read timeout.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, sock_read=None),
            auto_decompress=False,
            # One viewer's cookies must never be replayed for another: no jar.
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("Forwarder.start() was not called")
        return self._session

    # -- request translation ------------------------------------------------------------------

    def upstream_url(self, request: web.Request) -> URL:
        """``http://127.0.0.1:<app port>`` + the request's path and query, bytes as the viewer sent them."""
        target = request.raw_path
        if target.startswith("/") and not target.startswith("//"):
            path, _, query = target.partition("?")
            path = path.partition("#")[0]
        else:  # absolute-form or odd target: only its path and query are used, never its host
            path, query = request.rel_url.raw_path, request.rel_url.raw_query_string
        # Replace the prefix's segments with the Hub's own spelling of it (or drop them when stripping):
        # a viewer may encode an escaped user name differently (the server checked that the decoded
        # forms match), and frameworks route on the exact bytes they were configured with.
        parts = path.split("/", self._prefix_segments + 1)
        rest = parts[-1] if len(parts) > self._prefix_segments + 1 else ""
        path = ("/" if self.strip_prefix else self.prefix) + rest
        return URL.build(
            scheme="http", host="127.0.0.1", port=self._port(), path=path, query_string=query, encoded=True
        )

    def upstream_headers(self, request: web.Request, viewer: Viewer | None) -> CIMultiDict[str]:
        connection_tokens = {
            token.strip().lower() for token in request.headers.get("Connection", "").split(",") if token
        }
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in request.headers.items():
            lower = name.lower()
            if _is_hop_or_identity(name) or lower in connection_tokens:
                continue
            if lower == "authorization" and viewer is not None and viewer.token_in_header:
                continue  # it carried the viewer's Hub token
            if lower == "cookie":
                value = self._strip_cookies(value)
                if not value:
                    continue
            headers.add(name, value)
        if viewer is not None:
            headers["X-Hubapps-User"] = viewer.name
            headers["X-Hubapps-Groups"] = ",".join(viewer.groups)
        if self.strip_prefix:
            headers["X-Forwarded-Prefix"] = self.prefix.rstrip("/")
        return headers

    def rewrite_location(self, location: str) -> str:
        """Point redirects at the app's own address (or, when stripping, at its root) back to us."""
        port = self._port()
        for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
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

    # -- HTTP -----------------------------------------------------------------------------------

    async def http(self, request: web.Request, viewer: Viewer | None) -> web.StreamResponse:
        self._on_activity()
        body = request.content if request.body_exists else None
        try:
            upstream = await self.session.request(
                request.method,
                self.upstream_url(request),
                headers=self.upstream_headers(request, viewer),
                data=body,
                allow_redirects=False,
                skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            )
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("hubapps-proxy: app did not answer: %s", type(error).__name__)
            return web.Response(
                status=502,
                text=pages.message_page("The app did not answer."),
                content_type="text/html",
                headers=pages.NO_CACHE,
            )
        async with upstream:
            headers: CIMultiDict[str] = CIMultiDict()
            for name, value in upstream.headers.items():
                lower = name.lower()
                if lower in HOP_BY_HOP:
                    continue
                if lower == "location":
                    value = self.rewrite_location(value)
                headers.add(name, value)
            length = upstream.content_length
            if length is not None and length <= SMALL_BODY and request.method != "HEAD":
                # A small body of known size: one write for head and body (a syscall per response
                # less; at this size waiting for the whole body costs nothing).
                try:
                    payload = await upstream.content.readexactly(length)
                except (aiohttp.ClientPayloadError, asyncio.IncompleteReadError):
                    log.warning("hubapps-proxy: the app broke off a response")
                    return web.Response(status=502, text="The app broke off its answer.\n", headers=pages.NO_CACHE)
                return web.Response(status=upstream.status, reason=upstream.reason, body=payload, headers=headers)
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=headers)
            try:
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
            except ConnectionResetError:
                pass  # the viewer went away; closing the upstream response ends the app's side
            except aiohttp.ClientPayloadError:
                log.warning("hubapps-proxy: the app broke off a response")
                if request.transport is not None:
                    request.transport.close()  # a truncated body must not look complete
        return response

    # -- websockets -----------------------------------------------------------------------------

    async def websocket(self, request: web.Request, viewer: Viewer | None) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and not same_origin(origin, request.headers.get("Host", "")):
            log.warning("hubapps-proxy: cross-origin websocket refused (origin %r)", origin[:100])
            raise web.HTTPForbidden(text="Cross-origin websocket refused.\n")
        requested = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        headers = self.upstream_headers(request, viewer)
        for name in list(headers):
            if name.lower().startswith("sec-websocket-"):
                headers.popall(name, None)
        try:
            async with asyncio.timeout(WS_HANDSHAKE_TIMEOUT):
                upstream = await self.session.ws_connect(
                    self.upstream_url(request),
                    headers=headers,
                    protocols=requested,
                    autoping=True,
                    max_msg_size=WS_MAX_MESSAGE_SIZE,
                    # Idle websockets are normal (dashboards wait for events): no receive timeout.
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=WS_CLOSE_TIMEOUT),
                )
        except aiohttp.WSServerHandshakeError as error:
            status = error.status if 400 <= error.status < 600 else 502
            return web.Response(status=status, text="The app refused the websocket.\n")
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("hubapps-proxy: websocket to the app failed: %s", type(error).__name__)
            return web.Response(status=502, text="The app did not accept the websocket.\n")
        client = web.WebSocketResponse(
            protocols=(upstream.protocol,) if upstream.protocol else (),
            autoping=True,
            max_msg_size=WS_MAX_MESSAGE_SIZE,
        )
        try:
            await client.prepare(request)
            self._on_activity()
            await self._relay(client, upstream)
        finally:
            await upstream.close()
        return client

    async def _relay(self, client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse) -> None:
        to_app = asyncio.create_task(self._pump(client, upstream))
        to_viewer = asyncio.create_task(self._pump(upstream, client))
        try:
            done, _ = await asyncio.wait({to_app, to_viewer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (to_app, to_viewer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        code = client.close_code if to_app in done else upstream.close_code
        code = 1000 if code is None or code in _RESERVED_CLOSE_CODES or code < 1000 else code
        await upstream.close(code=code)
        await client.close(code=code)

    async def _pump(
        self,
        source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
        sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    ) -> None:
        async for message in source:
            if message.type is WSMsgType.TEXT:
                await sink.send_str(message.data)
            elif message.type is WSMsgType.BINARY:
                await sink.send_bytes(message.data)
            else:
                break
            self._on_activity()
