"""Listening for viewers: the server socket, the viewers' connections, idle sweeps and a graceful close.

:class:`HttpServer` accepts connections (each a :class:`~hubapps.proxy.http.ClientConnection`), closes
those idle past :data:`KEEP_ALIVE_TIMEOUT` (one timer for all), and at shutdown stops listening, lets
busy connections finish within a grace period, then closes the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable

from hubapps.proxy.exchange import Dispatch, Exchange, Forwarder
from hubapps.proxy.http import ClientConnection
from hubapps.proxy.slow_senders import RequestTimeouts

__all__ = ["HttpServer"]

#: Seconds an idle keep-alive connection from a viewer stays open (also: to complete a request head).
KEEP_ALIVE_TIMEOUT = 75.0
#: Seconds between sweeps for idle connections.
SWEEP_INTERVAL = 5.0


class HttpServer:
    """Listens, and owns the viewers' connections."""

    def __init__(
        self,
        dispatch: Dispatch,
        forwarder: Forwarder,
        *,
        extra_headers: list[tuple[str, str]] | None = None,
        timeouts: RequestTimeouts | None = None,
        on_answered: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.dispatch = dispatch
        #: Called once the answer to a request is complete (or its websocket spliced): the metrics.
        self.on_answered = on_answered
        self.timeouts = timeouts if timeouts is not None else RequestTimeouts()
        self.forwarder = forwarder
        #: Added to every answer, made here or forwarded.
        self.extra_headers = list(extra_headers or [])
        self.connections: set[ClientConnection] = set()
        self._server: asyncio.Server | None = None
        self.loop = asyncio.get_running_loop()
        self._sweeper: asyncio.TimerHandle | None = None

    async def start(self, host: str, port: int, *, tls: ssl.SSLContext | None = None) -> int:
        """Listen on ``host:port`` (0: any free port), with TLS if ``tls``; return the port bound."""
        self._server = await self.loop.create_server(
            lambda: ClientConnection(self), host, port, reuse_address=True, backlog=1024, ssl=tls
        )
        self._sweeper = self.loop.call_later(SWEEP_INTERVAL, self._sweep)
        sockets = self._server.sockets
        return int(sockets[0].getsockname()[1]) if sockets else port

    def _sweep(self) -> None:
        """Close connections idle past :data:`KEEP_ALIVE_TIMEOUT` (one timer for all, not one per request)."""
        limit = self.loop.time() - KEEP_ALIVE_TIMEOUT
        for connection in list(self.connections):
            if connection.idle_since is not None and connection.idle_since < limit:
                connection.close()
        self._sweeper = self.loop.call_later(SWEEP_INTERVAL, self._sweep)

    async def close(self, grace: float) -> None:
        """Stop listening, then close connections (idle ones at once, busy ones after ``grace`` seconds)."""
        if self._server is None:
            return
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._server.close()
        deadline = self.loop.time() + grace
        while self.connections and self.loop.time() < deadline:
            for connection in list(self.connections):
                if not connection._queue and not connection._tunnel:
                    connection.close()
            if not self.connections:
                break
            await asyncio.sleep(0.05)
        for connection in list(self.connections):
            connection.abort()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 1.0)
        self._server = None
