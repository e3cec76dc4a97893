"""Reading an app's own status and log (``<app>/_hubapps/status``, ``/logs``) from its hubapps-proxy.

The app's server runs code its owner controls, so nothing the service sends there may be worth
anything elsewhere: requests carry only the signed ``X-Hubapps-Status`` header of
:mod:`hubapps.core.statuskey` (made with that app's own key), never ``Authorization`` or a cookie. Who
may see the answer is decided before the call, by the operations (:mod:`hubapps.service.operations.status`).

The answer is the app's to choose, so it is read as untrusted: streamed and dropped past
:attr:`ServiceSettings.app_status_max_bytes`, the whole call bounded by
:attr:`ServiceSettings.app_status_timeout`, redirects not followed, anything but a 200 JSON object
ignored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import httpx

from hubapps.core import statuskey
from hubapps.service.errors import safe_log
from hubapps.service.ttl_cache import TTLCache

__all__ = ["AppStatusReader"]

log = logging.getLogger("hubapps.service.appstatus")

#: Apps whose status a reader remembers for listings (least recently used ones are forgotten first).
STATUS_CACHE_ENTRIES = 2048


class AppStatusReader:
    """GETs of apps' ``_hubapps/`` endpoints through the Hub's proxy, signed with each app's key."""

    def __init__(
        self,
        proxy_url: str,
        key: bytes,
        *,
        timeout: float,
        max_bytes: int,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
        user_agent: str = "hubapps-service",
        cache_ttl: float = 0.0,
    ) -> None:
        self.proxy_url = proxy_url.rstrip("/")
        self._key = key
        #: Answers of ``_hubapps/status`` for listings (no answer too), by owner, server and app URL.
        self._status_cache: TTLCache[tuple[str, str, str, str], tuple[dict[str, Any] | None]] = TTLCache(
            cache_ttl, STATUS_CACHE_ENTRIES
        )
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            verify=verify,
            headers={"User-Agent": user_agent},
            # Nothing from an app's answer is ever kept or sent back (no cookie jar, no redirects).
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            follow_redirects=False,
            trust_env=False,
        )

    @property
    def available(self) -> bool:
        return bool(self.proxy_url and self._key)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def cached_status(self, owner: str, server: str, app_url: str, started: str = "") -> dict[str, Any] | None:
        """``_hubapps/status``, reused for ``cache_ttl`` seconds (listings ask for many apps, often).

        ``started`` (the server model's start time) is part of the key: a server started again (a
        failed app started afresh) is asked afresh, not shown in its old state.
        """
        key = (owner, server, app_url, started)
        cached = self._status_cache.get(key)
        if cached is not None:
            return cached[0]
        answer = await self.get_json(owner, server, app_url, "_hubapps/status")
        self._status_cache.set(key, (answer,))
        return answer

    async def get_json(self, owner: str, server: str, app_url: str, sub: str) -> dict[str, Any] | None:
        """The JSON object at the app's ``sub``, or None (unavailable, refused, too big, slow).

        ``owner`` and ``server`` are the Hub's names (they select the key); ``app_url`` is the app's URL
        as the Hub gives it (the server model's ``url``, trailing slash included): its escaped path, or
        under ``subdomain_host`` a full URL on the owner's host. The request goes to ``proxy_url`` with
        that path, and with that host in ``Host`` (configurable-http-proxy routes by host then); ``sub``
        is the endpoint under it (``_hubapps/status``).
        """
        body = await self.get_bytes(owner, server, app_url, sub, "application/json")
        if body is None:
            return None
        try:
            value = json.loads(body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def get_bytes(
        self, owner: str, server: str, app_url: str, sub: str, content_type: str, *, max_bytes: int | None = None
    ) -> bytes | None:
        """The body of a 200 answer of type ``content_type`` at the app's ``sub`` (as :meth:`get_json`
        asks it), or None (unavailable, refused, another type, larger than ``max_bytes`` (default:
        ``app_status_max_bytes``), slow)."""
        if not self.available:
            return None
        limit = self.max_bytes if max_bytes is None else max_bytes
        key = statuskey.app_key(self._key, owner, server)
        # identity: the bytes counted are the bytes parsed (no decompression of what the app sends).
        headers = {statuskey.HEADER: statuskey.sign(key, "GET", sub), "Accept-Encoding": "identity"}
        parts = urlsplit(app_url)
        if parts.netloc:
            headers["Host"] = parts.netloc
        url = self.proxy_url + parts.path + sub
        body = bytearray()
        try:
            async with asyncio.timeout(self.timeout), self._http.stream("GET", url, headers=headers) as response:
                if (
                    response.status_code != 200
                    or not response.headers.get("content-type", "").startswith(content_type)
                    or response.headers.get("content-encoding", "identity") != "identity"
                ):
                    return None
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        log.warning(
                            "App %s/%s answered more than %d bytes on %s; dropped",
                            safe_log(owner),
                            safe_log(server),
                            limit,
                            sub,
                        )
                        return None
        except (TimeoutError, httpx.TimeoutException):
            log.info("App %s/%s did not answer %s within %g s", safe_log(owner), safe_log(server), sub, self.timeout)
            return None
        except httpx.HTTPError as exc:
            log.info("App %s/%s: %s failed: %s", safe_log(owner), safe_log(server), sub, type(exc).__name__)
            return None
        return bytes(body)
