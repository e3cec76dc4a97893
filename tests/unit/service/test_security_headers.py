"""The response helper of the service tests (:mod:`tests.unit.service.headers`), and the answers it
found without the service's headers: the body limit's 413 (sent before the app sees the request) and a
doubled ``nosniff`` on thumbnails."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.unit.service.conftest import Users
from tests.unit.service.headers import assert_security_headers

API = "/services/japps/api"


def _answer(path: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(200, headers=headers, request=httpx.Request("GET", f"http://hub.test{path}"))


FULL = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "content-security-policy": "default-src 'none'",
    "cache-control": "no-store",
}


@pytest.mark.parametrize("missing", sorted(FULL))
def test_the_helper_refuses_an_api_answer_without_a_header(missing: str) -> None:
    assert_security_headers(_answer(f"{API}/apps", FULL), API)
    with pytest.raises(AssertionError):
        assert_security_headers(_answer(f"{API}/apps", {k: v for k, v in FULL.items() if k != missing}), API)


def test_the_helper_wants_no_store_only_on_the_api_and_one_nosniff() -> None:
    page = {k: v for k, v in FULL.items() if k != "cache-control"}
    assert_security_headers(_answer("/services/japps/ui/gallery", page), API)
    doubled = httpx.Response(
        200,
        headers=[*page.items(), ("x-content-type-options", "nosniff")],
        request=httpx.Request("GET", "http://hub.test/services/japps/static/x.css"),
    )
    with pytest.raises(AssertionError):
        assert_security_headers(doubled, API)


def test_a_body_over_the_limit_gets_the_security_headers(client: TestClient, auth: Users) -> None:
    """The 413 of the body limit is answered before the app (and its header middleware) runs."""
    r = client.post(f"{API}/apps", headers={**auth("ann"), "Content-Length": str(10**9)}, content=b"{}")
    assert r.status_code == 413
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
