"""Signed status requests: how the launcher service reads an app's ``_hubapps/status`` and ``/logs``
without sending anybody's Hub token to a server whose code its owner controls.

- The Hub process and the service share one **status key** ``K`` (``c.HubApps.status_key``, or a file
  next to the Hub's cookie secret; see :mod:`hubapps.hub.install`).
- Each app's proxy gets only its own key, ``K_app = HMAC-SHA256(K, "<owner>/<server>")``
  (:func:`app_key`), in :data:`APP_KEY_ENV_VAR`; the proxy removes it from the app's environment.
  Knowing ``K_app`` tells nothing about ``K`` or about any other app's key.
- The service sends ``X-Hubapps-Status: v1.<unix time>.<hex HMAC-SHA256(K_app, "v1|<time>|<METHOD>|<sub>")>``
  (:func:`sign`), where ``<sub>`` is the path under the server's prefix (``_hubapps/status``), and no
  ``Authorization`` header or cookie. The proxy accepts it (:func:`verify`) when the MAC matches and the
  time is within ``max_skew`` seconds of its own clock.

The Hub knows nothing of this header, so the credential is worth nothing on the Hub API; a captured one
reads one app's status or log for a minute at most, and only the path it was made for.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["APP_KEY_ENV_VAR", "DEFAULT_MAX_SKEW", "HEADER", "STATUS_KEY_ENV_VAR", "app_key", "sign", "verify"]

#: Request header carrying the signature.
HEADER = "X-Hubapps-Status"
#: Environment variable of the launcher service holding the status key ``K`` (hex); never a server's.
STATUS_KEY_ENV_VAR = "HUBAPPS_STATUS_KEY"
#: Environment variable of the proxy holding its app's key (hex); never passed on to the app.
APP_KEY_ENV_VAR = "HUBAPPS_STATUS_APP_KEY"
#: Seconds a signature is accepted before or after the time it names.
DEFAULT_MAX_SKEW = 60.0

_VERSION = "v1"
#: Longest header value looked at (a v1 value is about 80 characters).
_MAX_HEADER = 200


def app_key(key: bytes, owner: str, server: str) -> bytes:
    """The per-app key of ``owner``'s server ``server`` (names as the Hub has them, not URL-escaped)."""
    return hmac.new(key, f"{owner}/{server}".encode(), hashlib.sha256).digest()


def _mac(key: bytes, stamp: int, method: str, sub: str) -> str:
    message = f"{_VERSION}|{stamp}|{method.upper()}|{sub}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign(key: bytes, method: str, sub: str, *, now: float | None = None) -> str:
    """The header value for one request to ``<prefix><sub>`` with the app's key ``key``."""
    stamp = int(time.time() if now is None else now)
    return f"{_VERSION}.{stamp}.{_mac(key, stamp, method, sub)}"


def verify(
    key: bytes, value: str, method: str, sub: str, *, max_skew: float = DEFAULT_MAX_SKEW, now: float | None = None
) -> bool:
    """Whether ``value`` signs this request with ``key`` and names a time within ``max_skew`` seconds."""
    if not key or not value or len(value) > _MAX_HEADER:
        return False
    version, _, rest = value.partition(".")
    stamp_text, _, mac = rest.partition(".")
    # (isascii: str.isdigit() also takes digits int() refuses, such as "²")
    if version != _VERSION or not (stamp_text.isascii() and stamp_text.isdigit()) or len(stamp_text) > 12:
        return False
    stamp = int(stamp_text)
    current = time.time() if now is None else now
    if abs(current - stamp) > max_skew:
        return False
    return hmac.compare_digest(mac.encode(), _mac(key, stamp, method, sub).encode())
