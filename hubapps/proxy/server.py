"""Wire the pieces together: routing (:meth:`ProxyRuntime.dispatch`) and the runtime's lifecycle.

Routing is one function, so the order of checks is visible in one place:

1. ``<prefix>oauth_callback`` → :meth:`HubAuthGate.oauth_callback`;
2. outside the server prefix → 404 (the bare prefix without its slash redirects to it);
3. ``<prefix>_hubapps/logs``, ``/status`` and ``/events`` → authenticated (even for public apps): JSON,
   and the server-sent event stream the startup page follows (see ``docs/proxy.md``). ``logs`` and
   ``status`` also accept the launcher service's signed ``X-Hubapps-Status`` header
   (:mod:`hubapps.core.statuskey`) instead of a viewer's login: the service never sends a user's token.
   ``metrics`` (:mod:`hubapps.proxy.metrics`) answers that signed header only (anyone else: 404, no Hub
   call): a Prometheus scrape token is never sent to a server whose code its owner controls;
4. everything else → authenticated (unless ``--public``), then, by app state: forward when ready (a
   websocket only from the same origin), the startup page while starting, the failure page when failed.
   The startup and failure pages need a viewer with access even for public apps.

The app's output (its log, which holds whatever it prints: request lines with their query strings,
tracebacks) and the reason of a restart or failure follow the API's rule (``readable_status`` in the
service): only the owner, Hub admins and the service's signed requests read them
(:meth:`ProxyRuntime.reads_output`). Anyone else with access (a share, a share link) gets 404 for
``logs``, only ``state`` from ``status`` and ``events``, and pages that say "starting" or "could not
start" without output.

The common case (a viewer whose token the Hub vouched for a moment ago, an app that is ready) is
decided without awaiting anything: :meth:`HubAuthGate.authenticate_now` reads the token cache, and the
request goes straight to the forwarder. Everything else is a coroutine.

Every answer carries ``X-JupyterHub-Version``, as ``jupyterhub-singleuser``'s do: the Hub reads it
from its readiness probe and warns about servers without it. The version is the Hub's own, passed by
the spawner (``--hub-version``): the proxy imports nothing of JupyterHub, and an app environment may
not have it at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import ssl
import time
from collections.abc import AsyncIterator, Coroutine, Mapping
from typing import Any
from urllib.parse import quote, unquote

from hubapps.core import statuskey
from hubapps.proxy import pages
from hubapps.proxy.activity import ActivityReporter
from hubapps.proxy.auth import PENDING, HubAuthGate, Viewer
from hubapps.proxy.config import HubSettings, ProxyConfig
from hubapps.proxy.exchange import Exchange, Forward
from hubapps.proxy.forward import Forwarder, same_origin
from hubapps.proxy.hub_client import HubAPIError
from hubapps.proxy.listener import HttpServer
from hubapps.proxy.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from hubapps.proxy.metrics import ProxyMetrics
from hubapps.proxy.process import AppProcess, AppState
from hubapps.proxy.reports import ServiceReporter
from hubapps.proxy.slow_senders import RequestTimeouts
from hubapps.proxy.watch import WebsocketWatch
from hubapps.proxy.wire import Request, Response, header_value

__all__ = ["ProxyRuntime"]

log = logging.getLogger("hubapps.proxy")

#: Seconds a client is told to wait before retrying while the app starts.
RETRY_AFTER = 2
#: Seconds to wait for in-flight requests on shutdown.
SHUTDOWN_TIMEOUT = 5.0
#: Attempts to tell the Hub the port (``--announce-port``), and seconds between them.
ANNOUNCE_ATTEMPTS = 5
ANNOUNCE_RETRY_DELAY = 1.0
#: Seconds between keep-alive comments on an idle event stream (proxies close silent connections).
EVENTS_HEARTBEAT = 15.0
#: Headers of the event stream: no caching, no buffering by nginx-like proxies in front.
EVENTS_HEADERS = {**pages.NO_CACHE, "Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}

Route = Forward | Response
Routed = Route | Coroutine[Any, Any, Route]


def server_tls(hub: HubSettings) -> ssl.SSLContext | None:
    """TLS for the proxy's own port under JupyterHub's ``internal_ssl`` (the Hub then talks https to the
    server, and its proxy presents a client certificate signed by the internal CA), as
    ``jupyterhub-singleuser`` does; None without the files."""
    if not (hub.ssl_certfile and hub.ssl_keyfile):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=hub.ssl_client_ca or None)
    context.load_cert_chain(hub.ssl_certfile, hub.ssl_keyfile)
    if hub.ssl_client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def _line_number(text: str) -> int | None:
    """A non-negative output line number from a query or ``Last-Event-ID``, or None."""
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


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
            retry_first=config.activity_retry,
            retry_max=config.activity_retry_max,
        )
        version = header_value(config.hub_version)
        self._version_header = [("X-JupyterHub-Version", version)] if version else []
        self.websockets = WebsocketWatch(self.gate, required=not config.public, max_age=config.websocket_max_age)
        self.forwarder = Forwarder(
            prefix=config.prefix,
            strip_prefix=config.strip_prefix,
            address=lambda: self.process.address,
            strip_cookies=self.gate.strip_cookies,
            on_activity=self.activity.touch,
            extra_headers=self._version_header,
            on_websocket=self.websockets.opened,
        )
        self.metrics = ProxyMetrics(viewer_window=config.viewer_window)
        self.process.on_ready = self.metrics.ready.observe
        self.gate.api.on_call = self.activity.api.on_call = self.metrics.hub_call
        #: The proxy's own endpoints as their paths arrive (escaped as the Hub escapes the prefix).
        self._internal_path = config.prefix + "_hubapps/"
        #: Start facts, viewer sessions and the exit, pushed to the launcher service (hubapps.proxy.reports).
        self.reports = ServiceReporter(config, base_dir=base_dir)
        self._sessions = self.reports.sessions if self.reports.enabled else None
        self._prefix = unquote(config.prefix)
        self._bare_prefix = self._prefix.rstrip("/") if self._prefix != "/" else None
        self._server: HttpServer | None = None
        self.port = config.port

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the app (in the background) and listen; returns once the socket is bound."""
        self.process.start()
        self.activity.start()
        self.reports.start(self.process)
        timeouts = RequestTimeouts(
            head=self.config.request_head_timeout,
            body=self.config.request_body_timeout,
            body_min_rate=self.config.request_body_min_rate,
        )
        self._server = HttpServer(
            self.dispatch,
            self.forwarder,
            extra_headers=self._version_header,
            timeouts=timeouts,
            on_answered=self._answered,
        )
        self.port = await self._server.start(self.config.ip, self.config.port, tls=server_tls(self.config.hub))
        log.info("hubapps-proxy: listening on %s:%s, app on %s", self.config.ip, self.port, self.process.address)
        if self.config.announce_port:
            await self._announce_port()

    async def _announce_port(self) -> None:
        """Tell the Hub the port (``--announce-port``), in :data:`ANNOUNCE_ATTEMPTS` tries. A server whose
        port the Hub never learns is never reached: then the proxy gives up on the app (``failed``, with
        the reason, which the launcher is told) and exits as for any failure, which ends the batch job."""
        api = self.activity.api
        problem = ""
        for attempt in range(1, ANNOUNCE_ATTEMPTS + 1):
            try:
                reply = await api.post_port(self.port)
            except (HubAPIError, OSError, TimeoutError) as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if reply.ok:
                    log.info("hubapps-proxy: told the Hub the port %s", self.port)
                    return
                problem = f"HTTP {reply.status}"
            log.warning("hubapps-proxy: telling the Hub the port failed (%s), attempt %s", problem, attempt)
            if attempt < ANNOUNCE_ATTEMPTS:
                await asyncio.sleep(ANNOUNCE_RETRY_DELAY)
        await self.process.give_up(
            f"the Hub did not take the port {self.port} ({problem}): is batchspawner imported by the Hub?"
        )

    async def shutdown(self) -> None:
        """Stop the app first (no orphans even if the rest fails), then the server and clients."""
        try:
            await self.process.stop()
        finally:
            if self._server is not None:
                await self._server.close(SHUTDOWN_TIMEOUT)
                self._server = None
            await self.websockets.close()
            await self.forwarder.close()
            await self.activity.stop()
            await self.gate.close()
            await self.reports.close()

    def report_exit(self) -> asyncio.Future[bool]:
        """Tell the launcher how this run ended (once; made now, sent within ``report_timeout`` times
        the attempts): ``failed`` with the reason and log tail if the app failed for good, else ``stopped``."""
        config = self.config
        return self.reports.exited(self.process, deadline=config.report_timeout * (config.report_retries + 1))

    # -- routing ----------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Routed:
        # The Hub escapes user and server names in URLs (``/user/ann%40x/app/``); compare decoded
        # forms, so the way a browser chose to encode the path does not matter.
        path = request.path
        if path == self.gate.callback_path:
            return self.gate.oauth_callback(request)
        prefix = self._prefix
        if not path.startswith(prefix):
            if path == self._bare_prefix:
                query = request.raw_query
                return Response.redirect(self.config.prefix + ("?" + query if query else ""))
            return Response.text("Not found.\n", status=404)
        sub = path[len(prefix) :]
        if sub.startswith("_hubapps/"):
            return self._control(request, sub)
        viewer = self.gate.authenticate_now(request, required=not self.config.public)
        if viewer is PENDING:
            return self._route_later(request, required=not self.config.public)
        return self._route(request, viewer)

    async def _route_later(self, request: Request, *, required: bool) -> Route:
        """Route once the Hub has told who the viewer is (the app may have become ready meanwhile)."""
        viewer = await self.gate.authenticate(request, required=required)
        routed = self._route(request, viewer)
        return routed if isinstance(routed, Forward | Response) else await routed

    def _route(self, request: Request, viewer: Viewer | None) -> Routed:
        websocket = request.is_websocket
        if websocket:
            origin = request.header("Origin", "")
            if request.has_header("Origin") and not same_origin(origin, request.header("Host")):
                log.warning("hubapps-proxy: cross-origin websocket refused (origin %r)", origin[:100])
                return Response.text("Cross-origin websocket refused.\n", status=403)
        state = self.process.state
        if state is AppState.READY:
            self._seen(request, viewer, websocket)
            if self._sessions is not None:
                self._sessions.seen(viewer, request)
            return Forward(viewer)
        if websocket and state is AppState.STARTING:
            return self._forward_when_ready(request, viewer)
        if viewer is None:  # public app, anonymous viewer: the pages below are for viewers with access
            return self._route_later(request, required=True)
        return self._page(request, state, self.reads_output(viewer))

    async def _forward_when_ready(self, request: Request, viewer: Viewer | None) -> Route:
        """A websocket upgrade that arrives while the app starts (a page's script opens one at once, or
        reconnects while the app restarts) waits for the app, up to ``--websocket-start-wait`` seconds,
        instead of failing. If the viewer goes away meanwhile, the wait is cancelled with its connection."""
        process = self.process
        waits = [asyncio.ensure_future(process.ready.wait()), asyncio.ensure_future(process.finished.wait())]
        try:
            await asyncio.wait(waits, timeout=self.config.websocket_start_wait, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        if process.state is AppState.READY:
            self._seen(request, viewer, True)
            return Forward(viewer)
        return self._page(request, process.state, False)  # (for a websocket: a plain 503, no app output)

    def _page(self, request: Request, state: AppState, with_output: bool) -> Response:
        if state is AppState.FAILED:
            return self._failure(request, with_output)
        return self._starting(request, with_output)

    # -- metrics ------------------------------------------------------------------------------------

    def _seen(self, request: Request, viewer: Viewer | None, websocket: bool) -> None:
        """Count the viewer of a request let through to the app (anonymous ones by their address)."""
        if viewer is not None:
            key: tuple[str, str] = (viewer.kind, viewer.name)
        else:
            key = ("address", request.header("X-Forwarded-For").rpartition(",")[2].strip()[:64])
        self.metrics.viewer_seen(key)
        if websocket:
            self.metrics.websocket_viewer(request, key)

    def _answered(self, exchange: Exchange) -> None:
        if exchange.websocket:
            kind = "websocket"
        elif exchange.request.raw_path.startswith(self._internal_path):
            kind = "internal"
        else:
            kind = "http"
        self.metrics.request_done(kind, time.monotonic() - exchange.started)

    def metrics_text(self) -> bytes:
        """The exposition text of :attr:`metrics` as of now."""
        self.metrics.restarts.counts[""] = self.process.restarts_total
        return self.metrics.render(state=str(self.process.state), open_sockets=self.websockets.open_requests())

    # -- the proxy's own endpoints ----------------------------------------------------------------------

    def _signed_by_service(self, request: Request, sub: str) -> bool:
        """A status, log or metrics request signed with this app's status key by the launcher service."""
        if sub not in ("_hubapps/status", "_hubapps/logs", "_hubapps/metrics") or not request.has_header(
            statuskey.HEADER
        ):
            return False
        return statuskey.verify(
            self.config.status_key,
            request.header(statuskey.HEADER),
            request.method,
            sub,
            max_skew=self.config.status_max_skew,
        )

    def reads_output(self, viewer: Viewer | None) -> bool:
        """Whether ``viewer`` (who has access) may read the app's output and the reason of its state.

        The API's rule (``readable_status`` in the service): the owner and Hub admins; not those the
        app is shared with, nor holders of a share link, nor services with access.
        """
        if viewer is None:
            return False
        return viewer.admin or (viewer.kind == "user" and viewer.name == self.config.hub.user)

    def _status(self, with_output: bool) -> dict[str, object]:
        return self.process.status() if with_output else {"state": str(self.process.state)}

    async def _control(self, request: Request, sub: str) -> Response:
        with_output = self._signed_by_service(request, sub)
        if sub == "_hubapps/metrics":
            if not with_output:  # for the service only: no viewer, owner or admin reads it here
                return Response.text("Not found.\n", status=404, headers=pages.NO_CACHE)
            return Response(
                body=self.metrics_text(), headers=[("Content-Type", METRICS_CONTENT_TYPE), *pages.NO_CACHE.items()]
            )
        if not with_output:
            viewer = await self.gate.authenticate(request, required=True)
            with_output = self.reads_output(viewer)
        if sub == "_hubapps/events":
            return self._events(request, with_output)
        if sub == "_hubapps/logs" and with_output:
            output = self.process.output
            since = _line_number(request.query.get("since", ""))
            first, lines = output.since(output.first if since is None else since)
            body = {"lines": lines, "first": first, "next": output.total, "state": str(self.process.state)}
            return Response.json(body, headers=pages.NO_CACHE)
        if sub == "_hubapps/status":
            return Response.json(self._status(with_output), headers=pages.NO_CACHE)
        return Response.text("Not found.\n", status=404, headers=pages.NO_CACHE)

    def _events(self, request: Request, with_output: bool) -> Response:
        """Server-sent events: ``log`` (one per output line, ``id`` = its number) and ``status``.

        Starts from line ``Last-Event-ID + 1`` (a reconnecting ``EventSource``), else ``?since=``, else
        the oldest line kept; ends after the status leaves ``starting``. Without ``with_output``, only
        ``status`` events, with only the state.
        """
        output = self.process.output
        last_seen = _line_number(request.header("Last-Event-ID"))
        since = last_seen + 1 if last_seen is not None else _line_number(request.query.get("since", ""))
        start = output.first if since is None else since
        stream = self._event_stream(start, with_output)
        return Response(status=200, headers=list(EVENTS_HEADERS.items()), stream=stream)

    async def _event_stream(self, number: int, with_output: bool) -> AsyncIterator[bytes]:
        output = self.process.output
        sent_status: tuple[str, str] | None = None
        while True:
            changed = output.changed()
            first, lines = output.since(number) if with_output else (output.total, [])
            chunks = [
                f"event: log\nid: {first + offset}\ndata: {json.dumps({'line': line})}\n\n"
                for offset, line in enumerate(lines)
            ]
            number = first + len(lines)
            status = self._status(with_output)
            key = (str(status["state"]), str(status.get("reason", "")))
            if key != sent_status:
                chunks.append(f"event: status\ndata: {json.dumps(status)}\n\n")
                sent_status = key
            if chunks:
                yield "".join(chunks).encode()
            if self.process.state is not AppState.STARTING:
                return
            try:
                await asyncio.wait_for(changed.wait(), EVENTS_HEARTBEAT)
            except TimeoutError:
                yield b": keep-alive\n\n"

    def _starting(self, request: Request, with_output: bool) -> Response:
        if request.method in {"GET", "HEAD"} and not request.is_websocket:
            nonce = secrets.token_urlsafe(16)
            page = pages.startup_page(
                self.config.display_name,
                self.process.elapsed,
                self.process.output.lines() if with_output else [],
                note=self.process.reason if with_output else "",
                events_url=f"{self.config.prefix}_hubapps/events?since={self.process.output.total}",
                nonce=nonce,
            )
            return Response.html(page, headers=pages.startup_headers(nonce))
        return Response.text(
            "The app is starting; retry shortly.\n",
            status=503,
            headers={**pages.NO_CACHE, "Retry-After": str(RETRY_AFTER)},
        )

    def _launcher_links(self) -> list[tuple[str, str]]:
        """The failure page's way back: this app's start page (its Start button) and edit page in the
        launcher, when the spawner told where the launcher is."""
        base = self.config.launcher_url
        if not base:
            return []
        hub = self.config.hub
        app = f"{base}ui/apps/{quote(hub.user, safe='')}/{quote(hub.server_name, safe='')}"
        return [("Start it again", f"{app}/watch"), ("Edit it", f"{app}/edit")]

    def _failure(self, request: Request, with_output: bool) -> Response:
        if request.method in {"GET", "HEAD"} and not request.is_websocket:
            if with_output:
                page = pages.failure_page(
                    self.config.display_name, self.process.reason, self.process.output.lines(), self._launcher_links()
                )
            else:
                page = pages.failure_page(self.config.display_name, "", None)
            return Response.html(page, status=500, headers=pages.NO_CACHE)
        return Response.text("The app failed to start.\n", status=503, headers=pages.NO_CACHE)
