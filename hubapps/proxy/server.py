"""Wire the pieces into one aiohttp application and run it.

Routing is one catch-all handler, so the order of checks is visible in one place:

1. outside the server prefix → 404 (the bare prefix without its slash redirects to it);
2. ``<prefix>oauth_callback`` → :meth:`HubAuthGate.oauth_callback`;
3. ``<prefix>_hubapps/logs`` and ``/status`` → authenticated (even for public apps), JSON;
4. everything else → authenticated (unless ``--public``), then, by app state: forward when ready, the
   startup page while starting, the failure page when failed. The startup and failure pages show app
   output, so they need a viewer with access even for public apps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

from aiohttp import web

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


def _is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


class ProxyRuntime:
    """The running proxy: app process, auth gate, forwarder, activity reporter and HTTP server."""

    def __init__(self, config: ProxyConfig, env: Mapping[str, str], *, base_dir: str) -> None:
        self.config = config
        self.process = AppProcess(config, env, base_dir=base_dir)
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
        self._callback_path = urlsplit(str(self.gate.oauth.oauth_redirect_uri)).path or (
            config.prefix + "oauth_callback"
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
        prefix = self.config.prefix
        path = request.rel_url.path
        if path == self._callback_path:
            await self.gate.oauth_callback(request)
        if path == prefix.rstrip("/") and prefix != "/":
            query = request.rel_url.raw_query_string
            raise web.HTTPFound(prefix + ("?" + query if query else ""))
        if not path.startswith(prefix):
            raise web.HTTPNotFound()
        sub = path[len(prefix) :]
        if sub.startswith("_hubapps/"):
            await self.gate.authenticate(request, required=True)
            return self._control(sub)
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

    def _control(self, sub: str) -> web.StreamResponse:
        if sub == "_hubapps/logs":
            return web.json_response({"lines": self.process.output.lines()}, headers=pages.NO_CACHE)
        if sub == "_hubapps/status":
            return web.json_response(self.process.status(), headers=pages.NO_CACHE)
        raise web.HTTPNotFound()

    def _starting(self, request: web.Request) -> web.StreamResponse:
        if request.method in {"GET", "HEAD"} and not _is_websocket(request):
            page = pages.startup_page(
                self.config.display_name,
                self.process.elapsed,
                self.process.output.lines(),
                note=self.process.reason,
            )
            return web.Response(text=page, content_type="text/html", headers=pages.NO_CACHE)
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
