"""Small security primitives of the service: sealed cookies, XSRF tokens, ``next`` URLs, PKCE.

Cookies are *sealed* (AES-GCM, key derived from the service secret), not merely signed: the login
cookie carries the user's Hub token, which must not be readable from a copied cookie. The OAuth state
lives in a sealed cookie rather than in process memory, so a login that starts on one uvicorn worker
can finish on another.

Opening a cookie (base64, AES-GCM, JSON) is remembered for a few seconds by its exact value: the
same value always opens to the same payload, so only the payload's expiry needs checking again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["CookieSealer", "pkce_pair", "validate_next_url"]

_NONCE = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieSealer:
    """Seal and open small JSON payloads for cookies, and derive XSRF tokens, from one secret."""

    def __init__(self, secret: bytes, *, cache_ttl: float = 0.0, cache_entries: int = 1000) -> None:
        if len(secret) < 16:
            raise ValueError("the cookie secret must hold at least 16 bytes")
        self._aead = AESGCM(hmac.new(secret, b"hubapps-cookie-v1", hashlib.sha256).digest())
        self._xsrf_key = hmac.new(secret, b"hubapps-xsrf-v1", hashlib.sha256).digest()
        self._cache_ttl = cache_ttl
        self._cache_entries = cache_entries
        # (name, cookie value) -> (remembered until (monotonic), payload); only valid payloads.
        self._opened: OrderedDict[tuple[str, str], tuple[float, dict[str, Any]]] = OrderedDict()

    def seal(self, name: str, payload: dict[str, Any], max_age: int) -> str:
        data = json.dumps({**payload, "exp": int(time.time()) + max_age}, separators=(",", ":")).encode()
        nonce = os.urandom(_NONCE)
        return _b64(nonce + self._aead.encrypt(nonce, data, name.encode()))

    def open(self, name: str, value: str | None) -> dict[str, Any] | None:
        """The payload of a cookie made by :meth:`seal` under ``name``; None if forged, mangled or expired."""
        if not value or len(value) > 8192:
            return None
        key = (name, value)
        cached = self._opened.get(key)
        if cached is not None and cached[0] >= time.monotonic():
            data = cached[1]
        else:
            try:
                raw = _unb64(value)
                data = json.loads(self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], name.encode()))
            except (ValueError, InvalidTag, UnicodeDecodeError):
                return None
            if not isinstance(data, dict):
                return None
            self._remember(key, data)
        if int(data.get("exp", 0)) < time.time():
            self._opened.pop(key, None)
            return None
        return dict(data)

    def _remember(self, key: tuple[str, str], data: dict[str, Any]) -> None:
        if self._cache_ttl <= 0:
            return
        self._opened[key] = (time.monotonic() + self._cache_ttl, data)
        self._opened.move_to_end(key)
        while len(self._opened) > self._cache_entries:
            self._opened.popitem(last=False)

    def xsrf_token(self, session_id: str) -> str:
        return _b64(hmac.new(self._xsrf_key, session_id.encode(), hashlib.sha256).digest())

    def check_xsrf(self, session_id: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.xsrf_token(session_id), token or "")


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``(code_verifier, S256 code_challenge)`` pair (RFC 7636)."""
    verifier = secrets.token_urlsafe(32)
    challenge = _b64(hashlib.sha256(verifier.encode("ascii")).digest())
    return verifier, challenge


def validate_next_url(next_url: str, *, host: str, proto: str) -> str:
    """JupyterHub's rule for ``next``: a path on this host, or "" (use the default).

    Same-host absolute URLs are reduced to their path; ``//host``, other schemes, relative paths and
    backslash tricks are refused. Control characters are refused too (header splitting).
    """
    if not next_url or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in next_url):
        return ""
    # Some browsers read a backslash as a slash.
    next_url = next_url.replace("\\", "%5C")
    if next_url.startswith("///"):
        next_url = "//" + next_url.lstrip("/")
    parsed = urlsplit(next_url)
    if (next_url + "/").startswith((f"{proto}://{host}/", f"//{host}/")):
        path = "/" + parsed.path.lstrip("/")
        next_url = (
            path + (f"?{parsed.query}" if parsed.query else "") + (f"#{parsed.fragment}" if parsed.fragment else "")
        )
        parsed = urlsplit(next_url)
    if parsed.scheme or parsed.netloc or not next_url.startswith("/") or next_url.startswith("//"):
        return ""
    return next_url
