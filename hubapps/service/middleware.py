"""ASGI middleware: request body limit, Hub call counting and security headers.

Plain ASGI (not ``BaseHTTPMiddleware``), so it adds no task or buffering per request.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubapps.service.errors import PayloadTooLarge
from hubapps.service.hub_calls import count_hub_calls

__all__ = ["HUB_CALLS_HEADER", "BodyLimit", "RequestContext"]

HUB_CALLS_HEADER = "X-Hubapps-Hub-Calls"

#: A refused body is read and dropped up to this many times the limit (then the connection is closed).
_DRAIN_FACTOR = 64

_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
#: Responses outside the API that bring no CSP of their own (static files, the short refusal pages):
#: nothing in them may run or load. The launcher's pages set a nonce policy of their own
#: (:func:`hubapps.service.rendering.page_csp`); the API docs page gets ``_API_CSP``, so it runs nothing.
_PAGE_CSP = b"default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
#: On every answer (a response that set one of them itself keeps its own, and gets no second copy).
_ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))


class BodyLimit:
    """Refuse bodies over ``max_bytes`` with 413: at once from Content-Length, else while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    if int(value) <= self.max_bytes * _DRAIN_FACTOR:
                        await _drain(receive)
                    await _send_json(send, 413, self._message())
                    return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if message.get("more_body", False):
                        await _drain(receive, self.max_bytes * _DRAIN_FACTOR)
                    raise PayloadTooLarge(self._message()["detail"] or "")
            return message

        await self.app(scope, limited, send)

    def _message(self) -> dict[str, str | None]:
        return {"detail": f"the body is larger than {self.max_bytes} bytes", "field": None, "code": "too_large"}


async def _drain(receive: Receive, limit: int | None = None) -> None:
    """Read and drop the rest of a refused body (never kept), so a proxy in front sees the answer
    instead of a reset connection. Bounded: past ``limit`` bytes the connection is simply closed."""
    dropped = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        dropped += len(message.get("body", b""))
        if not message.get("more_body", False) or (limit is not None and dropped > limit):
            return


async def _send_json(send: Send, status: int, body: dict[str, str | None]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"content-security-policy", _API_CSP),
                # Sent before the app (and RequestContext) sees the request: the same headers as any answer.
                *_ALWAYS,
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class RequestContext:
    """Count the Hub calls of each request (``X-Hubapps-Hub-Calls``) and add security headers."""

    def __init__(self, app: ASGIApp, api_prefix: str) -> None:
        self.app = app
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = str(scope.get("path", "")).startswith(self.api_prefix)
        with count_hub_calls() as counter:

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    headers.append((HUB_CALLS_HEADER.lower().encode(), str(counter.count).encode()))
                    present = {k.lower() for k, _ in headers}
                    headers.extend((k, v) for k, v in _ALWAYS if k not in present)
                    if not any(k == b"content-security-policy" for k, _ in headers):
                        headers.append((b"content-security-policy", _API_CSP if is_api else _PAGE_CSP))
                    if is_api:
                        headers.append((b"cache-control", b"no-store"))
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, send_with_headers)
