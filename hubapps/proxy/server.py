"""Wire the pieces into one aiohttp application and run it.

Routing is one catch-all handler, so the order of checks is visible in one place:

1. outside the server prefix → 404 (the bare prefix without its slash redirects to it);
2. ``<prefix>oauth_callback`` → :meth:`HubAuthGate.oauth_callback`;
3. ``<prefix>_hubapps/logs``, ``/status`` and ``/events`` → authenticated (even for public apps): JSON,
   and the server-sent event stream the startup page follows (see ``docs/proxy.md``);
4. everything else → authenticated (unless ``--public``), then, by app state: forward when ready, the
   startup page while starting, the failure page when failed. The startup and failure pages show app
   output, so they need a viewer with access even for public apps.

Every response carries ``X-JupyterHub-Version``, as ``jupyterhub-singleuser``'s do: the Hub reads it
from its readiness probe and warns about servers without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from aiohttp import web
from jupyterhub import __version__ as jupyterhub_version
from yarl import URL

from hubapps.proxy import pages
from hubapps.proxy.activity import ActivityReporter
from hubapps.proxy.auth import HubAuthGate
from hubapps.proxy.config import ProxyConfig
from hubapps.proxy.forward import Forwarder
from hubapps.proxy.process import AppProcess, AppState

__all__ = ["ProxyRuntime"]

log = logging.getLogger("hubapps.proxy")

#: Seconds a client is told to wait before retrying while the app starts.
RETRY_AFTER = 2
#: Seconds to wait for in-flight requests on shutdown.
SHUTDOWN_TIMEOUT = 5.0
#: Largest request line / header field accepted (big cookie headers are common behind a Hub).
MAX_HEADER_SIZE = 64 * 1024
#: Seconds between keep-alive comments on an idle event stream (proxies close silent connections).
EVENTS_HEARTBEAT = 15.0
#: Headers of the event stream: no caching, no buffering by nginx-like proxies in front.
EVENTS_HEADERS = {**pages.NO_CACHE, "Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}


async def _add_version_header(request: web.BaseRequest, response: web.StreamResponse) -> None:
    response.headers["X-JupyterHub-Version"] = jupyterhub_version


def _line_number(text: str) -> int | None:
    """A non-negative output line number from a query or ``Last-Event-ID``, or None."""
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


def _is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


class ProxyRuntime:
    """The running proxy: app process, auth gate, forwarder, activity reporter and HTTP server."""

    def __init__(
        self, config: ProxyConfig, env: Mapping[str, str], *, base_dir: str, process: AppProcess | None = None
    ) -> None:
        self.config = config
        self.process = process if process is not None else AppProcess(config, env, base_dir=base_dir)
        self.gate = HubAuthGate(
            config.hub, config.prefix, cache_max_age=config.auth_cache_max_age, timeout=config.hub_timeout
        )
        self.activity = ActivityReporter(
            config.hub,
            interval=config.activity_interval,
            keep_alive=config.keep_alive,
            timeout=config.hub_timeout,
        )
        self.forwarder = Forwarder(
            prefix=config.prefix,
            strip_prefix=config.strip_prefix,
            port=lambda: self.process.port,
            strip_cookies=self.gate.strip_cookies,
            on_activity=self.activity.touch,
        )
        self._prefix = unquote(config.prefix)
        self._callback_path = unquote(
            urlsplit(str(self.gate.oauth.oauth_redirect_uri)).path or (config.prefix + "oauth_callback")
        )
        self._runner: web.AppRunner | None = None
        self.port = config.port

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the app (in the background) and listen; returns once the socket is bound."""
        self.process.start()
        await self.forwarder.start()
        self.activity.start()
        app = web.Application(handler_args={"max_line_size": MAX_HEADER_SIZE, "max_field_size": MAX_HEADER_SIZE})
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_response_prepare.append(_add_version_header)
        # No access log: request lines can carry tokens in query strings.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.ip, self.config.port)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        log.info("hubapps-proxy: listening on %s:%s, app on 127.0.0.1:%s", self.config.ip, self.port, self.process.port)

    async def shutdown(self) -> None:
        """Stop the app first (no orphans even if the rest fails), then the server and clients."""
        try:
            await self.process.stop()
        finally:
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None
            await self.forwarder.close()
            await self.activity.stop()
            await _close_hub_http_client()

    # -- requests ---------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        # The Hub escapes user and server names in URLs (``/user/ann%40x/app/``); compare decoded
        # forms, so the way a browser chose to encode the path does not matter.
        prefix = self._prefix
        path = request.rel_url.path
        if path == self._callback_path:
            await self.gate.oauth_callback(request)
        if path == prefix.rstrip("/") and prefix != "/":
            query = request.rel_url.raw_query_string
            raise web.HTTPFound(URL(self.config.prefix + ("?" + query if query else ""), encoded=True))
        if not path.startswith(prefix):
            raise web.HTTPNotFound()
        sub = path[len(prefix) :]
        if sub.startswith("_hubapps/"):
            await self.gate.authenticate(request, required=True)
            if sub == "_hubapps/events":
                return await self._events(request)
            return self._control(request, sub)
        viewer = await self.gate.authenticate(request, required=not self.config.public)
        state = self.process.state
        if state is AppState.READY:
            if _is_websocket(request):
                return await self.forwarder.websocket(request, viewer)
            return await self.forwarder.http(request, viewer)
        if viewer is None:  # public app, anonymous viewer: the pages below show the app's output
            await self.gate.authenticate(request, required=True)
        if state is AppState.FAILED:
            return self._failure(request)
        return self._starting(request)

    def _control(self, request: web.Request, sub: str) -> web.StreamResponse:
        if sub == "_hubapps/logs":
            output = self.process.output
            since = _line_number(request.query.get("since", ""))
            first, lines = output.since(output.first if since is None else since)
            body = {"lines": lines, "first": first, "next": output.total, "state": str(self.process.state)}
            return web.json_response(body, headers=pages.NO_CACHE)
        if sub == "_hubapps/status":
            return web.json_response(self.process.status(), headers=pages.NO_CACHE)
        raise web.HTTPNotFound()

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: ``log`` (one per output line, ``id`` = its number) and ``status``.

        Starts from line ``Last-Event-ID + 1`` (a reconnecting ``EventSource``), else ``?since=``, else
        the oldest line kept; ends after the status leaves ``starting``.
        """
        output = self.process.output
        last_seen = _line_number(request.headers.get("Last-Event-ID", ""))
        since = last_seen + 1 if last_seen is not None else _line_number(request.query.get("since", ""))
        number = output.first if since is None else since
        response = web.StreamResponse(headers=EVENTS_HEADERS)
        await response.prepare(request)
        sent_status: tuple[str, str] | None = None
        try:
            while True:
                changed = output.changed()
                first, lines = output.since(number)
                chunks = [
                    f"event: log\nid: {first + offset}\ndata: {json.dumps({'line': line})}\n\n"
                    for offset, line in enumerate(lines)
                ]
                number = first + len(lines)
                status = self.process.status()
                key = (str(status["state"]), str(status["reason"]))
                if key != sent_status:
                    chunks.append(f"event: status\ndata: {json.dumps(status)}\n\n")
                    sent_status = key
                if chunks:
                    await response.write("".join(chunks).encode())
                if self.process.state is not AppState.STARTING:
                    break
                try:
                    await asyncio.wait_for(changed.wait(), EVENTS_HEARTBEAT)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
            await response.write_eof()
        except ConnectionResetError:
            pass  # the viewer left
        return response

    def _starting(self, request: web.Request) -> web.StreamResponse:
        if request.method in {"GET", "HEAD"} and not _is_websocket(request):
            nonce = secrets.token_urlsafe(16)
            page = pages.startup_page(
                self.config.display_name,
                self.process.elapsed,
                self.process.output.lines(),
                note=self.process.reason,
                events_url=f"{self.config.prefix}_hubapps/events?since={self.process.output.total}",
                nonce=nonce,
            )
            return web.Response(text=page, content_type="text/html", headers=pages.startup_headers(nonce))
        return web.Response(
            status=503,
            text="The app is starting; retry shortly.\n",
            headers={**pages.NO_CACHE, "Retry-After": str(RETRY_AFTER)},
        )

    def _failure(self, request: web.Request) -> web.StreamResponse:
        if request.method in {"GET", "HEAD"} and not _is_websocket(request):
            page = pages.failure_page(self.config.display_name, self.process.reason, self.process.output.lines())
            return web.Response(status=500, text=page, content_type="text/html", headers=pages.NO_CACHE)
        return web.Response(status=503, text="The app failed to start.\n", headers=pages.NO_CACHE)


async def _close_hub_http_client() -> None:
    """Close the HTTP session JupyterHub's auth helpers open on this event loop (JupyterHub >= 6)."""
    try:
        from jupyterhub.httpclient import JupyterHubHTTPClient
    except ImportError:
        return
    with contextlib.suppress(Exception):
        await asyncio.wait_for(JupyterHubHTTPClient.loop_instance().close(), SHUTDOWN_TIMEOUT)
