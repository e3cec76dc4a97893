"""The owner's files, as their own running JupyterLab server lists them (Jupyter's contents API).

The launcher cannot see users' homes: apps run where the spawner puts them. What it can reach, when
the user has one running, is their default server (``/user/<name>/``), a Jupyter server whose
contents API lists their files. :class:`HomeFiles` asks it, **with the owner's own token and only
for the owner**: the operations call it only when the caller is the owner (never an admin acting for
them, whose token must not go to a server another user controls), and only when that server is not
shared with anyone (see :func:`hubapps.service.operations.files`). Everything it cannot tell (no
server, an answer that is not Jupyter's, a refusal, a slow server) is None: "unknown", never "missing".

Bounded: one directory listing per request, ``home_files_timeout`` seconds, ``home_files_max_bytes``
read at most.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from hubapps.service.errors import safe_log

__all__ = ["DirectoryListing", "HomeFiles"]

log = logging.getLogger("hubapps.service.homefiles")


@dataclass(frozen=True)
class DirectoryListing:
    """One folder of the owner's home: its files and sub-folders (names, no paths)."""

    files: tuple[str, ...]
    folders: tuple[str, ...]


class HomeFiles:
    """Reads folders of a user's home through their running Jupyter server's contents API."""

    def __init__(
        self,
        proxy_url: str,
        *,
        timeout: float,
        max_bytes: int,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: Any = True,
        user_agent: str = "hubapps-service",
    ) -> None:
        self.proxy_url = proxy_url.rstrip("/")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            verify=verify,
            follow_redirects=False,
            headers={"User-Agent": user_agent, "Accept": "application/json", "Accept-Encoding": "identity"},
        )

    @property
    def available(self) -> bool:
        return bool(self.proxy_url)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def listing(self, server_url: str, token: str, folder: str) -> DirectoryListing | bool | None:
        """``folder`` (relative to the home, "" for the home itself) of the server at ``server_url``
        (the Hub's ``url`` of the owner's default server). A listing; False when the server says the
        folder does not exist; None when that cannot be told."""
        if not self.available:
            return None
        parts = urlsplit(server_url)
        headers = {"Authorization": f"token {token}"}
        if parts.netloc:
            headers["Host"] = parts.netloc  # subdomain_host: the proxy routes by host
        path = parts.path.rstrip("/") + "/api/contents/" + quote(folder.strip("/"), safe="/")
        body = bytearray()
        try:
            async with (
                asyncio.timeout(self.timeout),
                self._http.stream("GET", self.proxy_url + path, headers=headers, params={"content": "1"}) as response,
            ):
                if not response.headers.get("content-type", "").startswith("application/json"):
                    return None  # not a Jupyter server answering (a login page, the Hub's "not running")
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        return None
                status = response.status_code
        except (TimeoutError, httpx.HTTPError) as exc:
            log.info("The home of %s could not be listed: %s", safe_log(server_url), type(exc).__name__)
            return None
        try:
            answer = json.loads(body)
        except ValueError:
            return None
        if status == 404 and isinstance(answer, dict) and "message" in answer:
            return False
        if status != 200 or not isinstance(answer, dict) or answer.get("type") != "directory":
            return None
        entries = answer.get("content")
        if not isinstance(entries, list):
            return None
        files = tuple(str(e["name"]) for e in entries if isinstance(e, dict) and e.get("type") in ("file", "notebook"))
        folders = tuple(str(e["name"]) for e in entries if isinstance(e, dict) and e.get("type") == "directory")
        return DirectoryListing(files=files, folders=folders)
