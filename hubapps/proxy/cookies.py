"""Cookies the proxy sets and reads: signed values (:class:`CookieSigner`), one cookie of a ``Cookie`` header.

Cookies are signed here (HMAC-SHA256, :class:`CookieSigner`) with a random per-process secret, so a
restart of the proxy simply asks the browser to log in again (silently, through the Hub).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

__all__ = ["CookieSigner", "b64encode", "cookie_count", "cookie_value"]


class CookieSigner:
    """Sign and verify cookie values: ``<value, base64url>.<unix time>.<HMAC-SHA256, base64url>``.

    The MAC covers the cookie name, so one cookie cannot stand in for another (a state cookie is never a
    session). Every character is cookie-safe. The secret is random per process unless given.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def sign(self, name: str, value: str, *, now: float | None = None) -> str:
        payload = b64encode(value.encode("utf-8")) + "." + str(int(time.time() if now is None else now))
        return payload + "." + self._mac(name, payload)

    def unsign(self, name: str, signed: str, *, max_age: float, now: float | None = None) -> str | None:
        """The value, or None when the signature is wrong, the value is older than ``max_age`` or garbled."""
        payload, _, mac = signed.rpartition(".")
        encoded, _, stamp = payload.partition(".")
        if not mac or not stamp.isdigit() or not hmac.compare_digest(mac, self._mac(name, payload)):
            return None
        age = (time.time() if now is None else now) - int(stamp)
        if not -60 <= age <= max_age:  # a little clock skew, never the far future
            return None
        try:
            return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
        except ValueError:
            return None

    def issued_at(self, signed: str) -> int:
        """The signing time of a value :meth:`unsign` accepted."""
        return int(signed.rpartition(".")[0].partition(".")[2])

    def derive(self, purpose: str, value: str) -> str:
        """A secret derived from ``value`` for ``purpose`` (never equal to a cookie MAC: other input)."""
        digest = hmac.new(self._secret, f"derive:{purpose}|{value}".encode(), hashlib.sha256).digest()
        return b64encode(digest)

    def _mac(self, name: str, payload: str) -> str:
        digest = hmac.new(self._secret, f"{name}|{payload}".encode(), hashlib.sha256).digest()
        return b64encode(digest)


def cookie_value(header: str, name: str) -> str:
    """The value of cookie ``name`` in a Cookie header (the first one, as :attr:`Request.cookies`)."""
    if name not in header:
        return ""
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value
    return ""


def cookie_count(header: str, name: str) -> int:
    """How many cookies named ``name`` a Cookie header carries (0 or 1 in a cheap look, else counted)."""
    if header.count(name + "=") < 2:
        return 1 if name in header else 0
    return sum(1 for part in header.split(";") if part.strip().partition("=")[0] == name)


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")
