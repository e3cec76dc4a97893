"""The few calls the proxy makes to the Hub's REST API, over a plain asyncio connection.

Four calls, all rare (token lookups are cached, activity is reported once a minute, the port once):

- ``GET {api_url}/user`` with the viewer's token: who owns it, and with which scopes;
- ``POST {api_url}/oauth2/token``: the last step of the OAuth login (code → token);
- ``POST {activity_url}``: when the app was last used;
- ``POST {api_url}/batchspawner``: the port the proxy listens on, for batchspawner's spawners
  (``--announce-port``), which learn it from the server as ``batchspawner-singleuser`` tells it.

Each call opens one connection (``Connection: close``), sends the request and reads the answer with
``httptools`` (llhttp), which already parses the proxy's own traffic; no HTTP client library is loaded.
``https://`` Hub URLs are supported with JupyterHub's internal SSL files (``JUPYTERHUB_SSL_*``): the
client certificate is presented and the Hub's certificate verified against the given CA.

Every call has a total deadline (:class:`TimeoutError` when it passes) and reads at most
:data:`MAX_RESPONSE_BYTES`. Tokens travel only in request headers and bodies; they never appear in an
exception message, and this module logs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httptools

from hubapps.proxy.config import HubSettings

__all__ = ["MAX_RESPONSE_BYTES", "HubAPI", "HubAPIError", "HubReply"]

#: Largest answer (head and body) read from the Hub; a user model is a few kilobytes.
MAX_RESPONSE_BYTES = 1 << 20
#: The Hub's default API URL when ``JUPYTERHUB_API_URL`` is not set (as in JupyterHub's HubAuth).
DEFAULT_API_URL = "http://127.0.0.1:8081/hub/api"

#: Seconds given to a TLS connection to close cleanly after a complete answer.
CLOSE_GRACE = 1.0

_READ_SIZE = 65536


class HubAPIError(Exception):
    """The Hub could not be reached or sent something that is not a usable HTTP answer.

    Messages never contain a token; they are safe to log.
    """


@dataclass(frozen=True)
class HubReply:
    """The Hub's answer: status and body (parsed JSON, or None when empty or not JSON)."""

    status: int
    data: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class HubAPI:
    """A minimal async client of the Hub API, one connection per call."""

    def __init__(self, hub: HubSettings, *, timeout: float, max_response: int = MAX_RESPONSE_BYTES) -> None:
        self.hub = hub
        self.timeout = timeout
        self.max_response = max_response
        self.api_url = (hub.api_url or DEFAULT_API_URL).rstrip("/")
        # Made once, here (it reads files); a broken SSL setup fails each call with a clear error.
        self._ssl: ssl.SSLContext | None = None
        self._ssl_error = ""
        try:
            self._ssl = _ssl_context(hub)
        except (OSError, ssl.SSLError, ValueError) as error:
            self._ssl_error = f"cannot use the Hub's SSL files: {type(error).__name__}"
        #: Told of every call's end: ``(call, outcome)`` as the proxy's metrics count them
        #: (:data:`hubapps.proxy.metrics.HUB_CALLS`, :data:`~hubapps.proxy.metrics.HUB_OUTCOMES`).
        self.on_call: Callable[[str, str], None] | None = None

    async def _counted(self, call: str, reply: Awaitable[HubReply]) -> HubReply:
        try:
            answer = await reply
        except BaseException:
            if self.on_call is not None:
                self.on_call(call, "error")
            raise
        if self.on_call is not None:
            status = answer.status
            self.on_call(call, "ok" if status < 400 else "client_error" if status < 500 else "server_error")
        return answer

    async def get_user(self, token: str) -> HubReply:
        """``GET /user`` with ``token``: the owner's model (200) or 403 when the token is not valid."""
        return await self._counted("user", self.request("GET", self.api_url + "/user", token=token))

    async def exchange_code(self, code: str, *, redirect_uri: str, code_verifier: str = "") -> HubReply:
        """``POST /oauth2/token``: trade an OAuth code for a token (``data["access_token"]``)."""
        form = {
            "client_id": self.hub.client_id,
            "client_secret": self.hub.api_token,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        return await self._counted(
            "oauth_token",
            self.request(
                "POST",
                self.api_url + "/oauth2/token",
                token=self.hub.api_token,
                body=urlencode(form).encode("ascii"),
                content_type="application/x-www-form-urlencoded",
            ),
        )

    async def post_activity(self, report: dict[str, Any]) -> HubReply:
        """``POST`` the activity ``report`` to ``JUPYTERHUB_ACTIVITY_URL`` with the server's token."""
        return await self._counted(
            "activity",
            self.request(
                "POST",
                self.hub.activity_url,
                token=self.hub.api_token,
                body=json.dumps(report).encode("utf-8"),
                content_type="application/json",
            ),
        )

    async def post_port(self, port: int) -> HubReply:
        """``POST {api_url}/batchspawner`` ``{"port": port}`` with the server's token: the API handler that
        the ``batchspawner`` package adds to the Hub sets the port of the server that owns the token."""
        return await self._counted(
            "port",
            self.request(
                "POST",
                self.api_url + "/batchspawner",
                token=self.hub.api_token,
                body=json.dumps({"port": port}).encode("utf-8"),
                content_type="application/json",
            ),
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        token: str,
        body: bytes = b"",
        content_type: str = "",
        headers: Sequence[tuple[str, str]] = (),
    ) -> HubReply:
        """One call, done within :attr:`timeout` seconds in total (else :class:`TimeoutError`).

        ``token`` "" sends no ``Authorization`` at all (the launcher's reports carry a signature instead).

        Raises :class:`HubAPIError` (or :class:`OSError` for network failures) when no usable answer came.
        """
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise HubAPIError("the Hub URL has an invalid port") from None
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise HubAPIError("the Hub URL is not an http(s) URL")
        context = self._ssl if parts.scheme == "https" else None
        if parts.scheme == "https" and context is None:
            raise HubAPIError(self._ssl_error or "no SSL context for this https URL")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: {host}",
            *([f"Authorization: token {token}"] if token else []),
            "Accept: application/json",
            "User-Agent: hubapps-proxy",
            "Connection: close",
            *(f"{name}: {value}" for name, value in headers),
        ]
        if body or method != "GET":
            lines.append(f"Content-Length: {len(body)}")
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        if not all(_header_safe(line) for line in lines):
            raise HubAPIError("refusing to send a header with control or non-ASCII characters")
        message = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(
                    parts.hostname, port, ssl=context, server_hostname=parts.hostname if context else None
                )
                writer.write(message)
                await writer.drain()
                status, payload = await self._read_response(reader)
        except BaseException:
            if writer is not None:
                writer.transport.abort()
            raise
        await _close(writer)
        return HubReply(status, _json_or_none(payload))

    async def _read_response(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        answer = _Answer(self.max_response)
        parser = httptools.HttpResponseParser(answer)
        received = 0
        while not answer.complete:
            data = await reader.read(_READ_SIZE)
            if not data:
                if answer.head_done and answer.until_close:
                    break  # a body delimited by the end of the connection
                raise HubAPIError("the Hub closed the connection before answering completely")
            received += len(data)
            if received > self.max_response:
                raise HubAPIError(f"the Hub's answer is larger than {self.max_response} bytes")
            try:
                parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                raise HubAPIError("the Hub answered with a protocol upgrade") from None
            except httptools.HttpParserError as error:
                raise HubAPIError(f"the Hub's answer is not valid HTTP: {type(error).__name__}") from None
            if answer.too_large:
                raise HubAPIError(f"the Hub's answer is larger than {self.max_response} bytes")
        return parser.get_status_code(), b"".join(answer.body)


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close after a complete answer; a TLS peer slow to acknowledge does not hold the caller up."""
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(CLOSE_GRACE):
            await writer.wait_closed()


class _Answer:
    """httptools callbacks collecting one response."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.body: list[bytes] = []
        self.size = 0
        self.head_done = False
        self.complete = False
        self.too_large = False
        self._framed = False

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower == b"content-length":
            self._framed = True
            with contextlib.suppress(ValueError):
                self.too_large = self.too_large or int(value) > self.limit
        elif lower == b"transfer-encoding":
            self._framed = True

    def on_headers_complete(self) -> None:
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.limit:
            self.too_large = True
            return
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True

    @property
    def until_close(self) -> bool:
        return not self._framed


def _ssl_context(hub: HubSettings) -> ssl.SSLContext | None:
    """The client context for ``https://`` Hub URLs, as JupyterHub makes it for internal SSL.

    With ``JUPYTERHUB_SSL_CERTFILE``/``KEYFILE`` the client certificate is presented; the Hub's certificate is
    always verified: against ``JUPYTERHUB_SSL_CLIENT_CA`` when given (the internal CA), else the system's;
    ``ssl_extra_ca`` is one more CA (PEM) the caller trusts (the launcher service's, for reports only).
    """
    if not any(url.startswith("https:") for url in (hub.api_url, hub.activity_url)):
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=hub.ssl_client_ca or None)
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    if hub.ssl_extra_ca:
        context.load_verify_locations(cadata=hub.ssl_extra_ca)
    if hub.ssl_certfile and hub.ssl_keyfile:
        context.load_cert_chain(hub.ssl_certfile, hub.ssl_keyfile)
    return context


def _header_safe(line: str) -> bool:
    """Printable ASCII only: no header injection through a token or a URL."""
    return all(32 <= ord(c) < 127 for c in line)


def _json_or_none(payload: bytes) -> Any:
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return None
