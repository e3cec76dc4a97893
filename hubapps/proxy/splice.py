"""Websocket tunnels: once the app accepts an upgrade, the viewer's connection and the app's are joined.

From then on what arrives on one is written to the other as it is (:func:`splice`): a message costs two
socket copies and no framing work here, and back-pressure goes both ways. Either side closing closes
both. A :class:`SplicedPair` is how the rest of the proxy (``watch.py``) sees and ends one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubapps.proxy.http import ClientConnection
    from hubapps.proxy.wire import Request

__all__ = ["SplicedPair", "splice"]


class _Splice(asyncio.Protocol):
    """Receives on one transport of a spliced pair and writes what arrives to the other, as it is."""

    def __init__(self, transport: asyncio.Transport, touch: Callable[[], None], on_lost: Callable[[], None]) -> None:
        self.transport = transport
        self.touch = touch
        self.on_lost = on_lost
        self.peer: _Splice = self
        self.write_peer: Callable[[bytes], None] = transport.write

    def data_received(self, data: bytes) -> None:
        self.write_peer(data)
        self.touch()

    def pause_writing(self) -> None:  # this side reads slowly: stop reading from the other
        if not self.peer.transport.is_closing():
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if not self.peer.transport.is_closing():
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.peer.transport.close()
        self.on_lost()


def splice(
    a: asyncio.Transport, b: asyncio.Transport, on_activity: Callable[[], None], on_a_closed: Callable[[], None]
) -> None:
    """Join two connections: from now on what arrives on one is written to the other (a websocket costs
    two socket copies per message and no framing work here). Either side closing closes both."""
    side_a = _Splice(a, on_activity, on_a_closed)
    side_b = _Splice(b, on_activity, lambda: None)
    side_a.peer, side_b.peer = side_b, side_a
    side_a.write_peer, side_b.write_peer = b.write, a.write
    a.set_protocol(side_a)
    b.set_protocol(side_b)


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
