"""The service's security headers, asserted on every answer a service unit test gets.

:func:`checked` hooks :func:`assert_security_headers` into a ``TestClient`` (an httpx response hook,
so redirects followed on the way are checked too); the conftest's ``make_client`` does it for every
client it makes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient

__all__ = ["assert_security_headers", "checked"]


def assert_security_headers(response: httpx.Response, api_prefix: str) -> None:
    """``nosniff``, a referrer policy and a CSP on every answer; ``no-store`` on the API's."""
    headers = response.headers
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    assert headers.get_list("x-content-type-options") == ["nosniff"], where
    assert len(headers.get_list("referrer-policy")) == 1, where
    assert headers.get("content-security-policy"), where
    if urlsplit(str(response.request.url)).path.startswith(api_prefix):
        assert "no-store" in headers.get_list("cache-control"), where


def checked(client: TestClient, prefix: str = "/services/japps/") -> TestClient:
    """``client``, every response of which is held to :func:`assert_security_headers`."""

    def hook(response: httpx.Response) -> None:
        assert_security_headers(response, f"{prefix}api")

    client.event_hooks = {**client.event_hooks, "response": [*client.event_hooks.get("response", []), hook]}
    return client
