"""The proxy's own HTTP messages: a parsed request head, a locally made answer, and how a head is written.

The proxy speaks HTTP/1.1 itself (:mod:`hubapps.proxy.http`, parsing by ``httptools``, i.e. llhttp, the
parser of Node.js) instead of through a web framework: a proxy process runs beside every app, so its
memory and its per-request cost are paid many times over. These types are all the rest of the proxy
sees of HTTP: :class:`Request` (the head as the viewer sent it, raw bytes kept where forwarding needs
them) and :class:`Response` (an answer the proxy makes itself: a page, a redirect, JSON, an event
stream). :class:`HTTPAnswer` lets code deep in a check stop a request with an answer. Heads go out
as :func:`encode_head` writes them; :data:`HOP_BY_HOP` and :func:`connection_tokens` say which header
fields describe one connection (never relayed either way).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

__all__ = [
    "HOP_BY_HOP",
    "HTTPAnswer",
    "Request",
    "Response",
    "connection_tokens",
    "cookie_header",
    "encode_head",
    "header_value",
]


@dataclass(eq=False)
class Request:
    """One request head. Header names keep their case in :attr:`headers`; :meth:`header` ignores it."""

    method: str
    #: The request target exactly as sent (origin-form ``/path?query`` for any sane client).
    target: bytes
    #: Header lines as (name, value), decoded as latin-1 (byte-preserving), in the order sent.
    headers: list[tuple[str, str]]
    #: "1.1" or "1.0".
    version: str = "1.1"
    #: The scheme of this connection (the proxy itself listens on plain HTTP).
    scheme: str = "http"
    _index: dict[str, str] = field(default_factory=dict, repr=False)
    _parts: tuple[str, str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, str] = {}
        for name, value in self.headers:
            lower = name.lower()
            if lower in index:  # repeated fields are one comma-separated list (RFC 9110 5.3)
                index[lower] = index[lower] + ("; " if lower == "cookie" else ", ") + value
            else:
                index[lower] = value
        self._index = index

    def header(self, name: str, default: str = "") -> str:
        """The value of a header (repeats joined), ``default`` when absent."""
        return self._index.get(name.lower(), default)

    def has_header(self, name: str) -> bool:
        return name.lower() in self._index

    def _split_target(self) -> tuple[str, str]:
        """(path, query) of the target, still percent-encoded. An absolute-form target
        (``http://host/path``) gives only its path and query: its host is never used."""
        if self._parts is None:
            self._parts = self._parse_target()
        return self._parts

    def _parse_target(self) -> tuple[str, str]:
        target = self.target.decode("latin-1").partition("#")[0]
        if not target.startswith("/"):
            scheme, sep, rest = target.partition("://")
            if not sep or not scheme.isalpha():
                return "/", ""
            slash = rest.find("/")
            target = rest[slash:] if slash >= 0 else "/"
        elif target.startswith("//"):
            return "/", ""
        path, _, query = target.partition("?")
        return path or "/", query

    @property
    def raw_path(self) -> str:
        """The path part of the target, still percent-encoded."""
        return self._split_target()[0]

    @property
    def raw_query(self) -> str:
        """The query string of the target, still percent-encoded (no ``?``)."""
        return self._split_target()[1]

    @property
    def path(self) -> str:
        """The decoded path (for routing; never forwarded: :attr:`raw_path` is)."""
        return unquote(self.raw_path)

    @property
    def path_qs(self) -> str:
        """Raw path and query, as a relative URL (``/a%20b?x=1``)."""
        query = self.raw_query
        return self.raw_path + ("?" + query if query else "")

    @property
    def query(self) -> dict[str, str]:
        """Decoded query parameters (the first of repeated names)."""
        result: dict[str, str] = {}
        for key, value in parse_qsl(self.raw_query, keep_blank_values=True):
            result.setdefault(key, value)
        return result

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies sent (the first of repeated names, as browsers send the most specific path first)."""
        result: dict[str, str] = {}
        for part in self.header("Cookie").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name:
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                result.setdefault(name, value)
        return result

    @property
    def is_websocket(self) -> bool:
        return self.header("Upgrade").strip().lower() == "websocket"

    @property
    def accepts_html(self) -> bool:
        return "text/html" in self.header("Accept")


@dataclass(eq=False)
class Response:
    """An answer the proxy makes itself. ``stream`` (if set) is sent chunked after the head, as produced."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: AsyncIterator[bytes] | None = None
    reason: str = ""

    @classmethod
    def text(cls, text: str, *, status: int = 200, content_type: str = "text/plain", headers: Any = None) -> Response:
        return cls(
            status=status,
            body=text.encode("utf-8"),
            headers=[("Content-Type", f"{content_type}; charset=utf-8"), *_pairs(headers)],
        )

    @classmethod
    def html(cls, page: str, *, status: int = 200, headers: Any = None) -> Response:
        return cls.text(page, status=status, content_type="text/html", headers=headers)

    @classmethod
    def json(cls, data: Any, *, status: int = 200, headers: Any = None) -> Response:
        return cls(
            status=status,
            body=json.dumps(data).encode("utf-8"),
            headers=[("Content-Type", "application/json; charset=utf-8"), *_pairs(headers)],
        )

    @classmethod
    def redirect(cls, location: str, *, status: int = 302, headers: Any = None) -> Response:
        """A redirect to ``location``, sent byte for byte (the caller has escaped it)."""
        return cls(status=status, headers=[("Location", location), *_pairs(headers)])

    def header(self, name: str, default: str = "") -> str:
        lower = name.lower()
        for key, value in self.headers:
            if key.lower() == lower:
                return value
        return default

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        path: str,
        max_age: int | None = None,
        httponly: bool = True,
        samesite: str = "Lax",
        secure: bool = False,
    ) -> None:
        self.headers.append(
            (
                "Set-Cookie",
                cookie_header(
                    name, value, path=path, max_age=max_age, httponly=httponly, samesite=samesite, secure=secure
                ),
            )
        )

    def delete_cookie(self, name: str, *, path: str, secure: bool = False) -> None:
        self.headers.append(
            (
                "Set-Cookie",
                cookie_header(
                    name, "", path=path, max_age=0, httponly=True, samesite="Lax", secure=secure, expired=True
                ),
            )
        )

    @property
    def reason_phrase(self) -> str:
        if self.reason:
            return self.reason
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown"


class HTTPAnswer(Exception):
    """Stop the request here and send :attr:`response` (a login redirect, a 401/403 page, ...)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def cookie_header(
    name: str,
    value: str,
    *,
    path: str,
    max_age: int | None,
    httponly: bool,
    samesite: str,
    secure: bool,
    expired: bool = False,
) -> str:
    """A ``Set-Cookie`` value. Names and values are made by the proxy (token-safe characters only)."""
    if not _cookie_safe(name) or not _cookie_safe(value) or ";" in path or "\r" in path or "\n" in path:
        raise ValueError("cookie name, value or path holds characters a cookie cannot carry")
    parts = [f"{name}={value}", f"Path={path}"]
    if expired:
        parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if httponly:
        parts.append("HttpOnly")
    if samesite:
        parts.append(f"SameSite={samesite}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def _cookie_safe(text: str) -> bool:
    return all(33 <= ord(c) <= 126 and c not in '",;\\' for c in text)


def _pairs(headers: Any) -> Iterable[tuple[str, str]]:
    if not headers:
        return []
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)


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


def connection_tokens(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",") if token.strip()}


def encode_head(first_line: str, headers: list[tuple[str, str]]) -> bytes:
    """A message head. Values read from the wire go back as the bytes they were (latin-1); values the
    proxy adds (a user name) that latin-1 cannot carry go as UTF-8. Values must hold no CR, LF or NUL:
    llhttp refuses them in what it parses, and the proxy's own values are cleaned where they are made.
    """
    text = first_line + "\r\n" + "".join([f"{name}: {value}\r\n" for name, value in headers]) + "\r\n"
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        parts = [first_line.encode("latin-1"), b"\r\n"]
        for name, value in headers:
            try:
                raw = value.encode("latin-1")
            except UnicodeEncodeError:
                raw = value.encode("utf-8")
            parts += [name.encode("latin-1"), b": ", raw, b"\r\n"]
        parts.append(b"\r\n")
        return b"".join(parts)


def header_value(text: str) -> str:
    """``text`` made safe as a header value the proxy adds (control characters become spaces)."""
    return "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
