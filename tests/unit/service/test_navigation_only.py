"""No silent login from scripts: the login and the pages that hand out an XSRF token answer only
top-level navigations (issue 10, requirement 2)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from fastapi.testclient import TestClient

from tests.unit.service.conftest import FakeHub, Users, app_options
from tests.unit.service.test_auth import login

LOGIN = "/services/japps/oauth_login"
FETCH = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Sec-Fetch-Site": "same-origin"}
NAVIGATE = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "same-origin"}
FRAME = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "same-origin"}
PAGES = [
    "/services/japps/ui/apps/ann/sales",
    "/services/japps/ui/apps/ann/sales/edit",
    "/services/japps/ui/apps/ann/sales/watch",
    "/services/japps/create-app?filepath=a.py",
]


def _assert_refused(r: httpx2.Response) -> None:
    assert r.status_code == 403, r.text
    assert "set-cookie" not in r.headers
    assert "location" not in r.headers
    assert "oauth2/authorize" not in r.text


@pytest.mark.parametrize(
    "headers",
    [
        FETCH,
        {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "empty"},
        {"Sec-Fetch-Mode": "same-origin"},
        {"Sec-Fetch-Dest": "empty"},
        FRAME,
        {"X-Requested-With": "XMLHttpRequest"},
        {"Origin": "https://evil.example"},
    ],
)
def test_login_refuses_what_is_not_a_top_level_navigation(client: TestClient, headers: dict[str, str]) -> None:
    for path in (LOGIN, "/services/japps/jhub-login"):
        r = client.get(path, params={"next": "/services/japps/api/apps"}, headers=headers, follow_redirects=False)
        _assert_refused(r)
    assert not client.cookies


def test_a_refused_fetch_cannot_complete_the_login(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.oauth_codes["c"] = auth.tokens["ann"]
    r = client.get(LOGIN, headers=FETCH, follow_redirects=False)
    _assert_refused(r)
    r = client.get("/services/japps/oauth_callback", params={"code": "c", "state": "x"}, headers=FETCH)
    _assert_refused(r)
    assert "service-japps" not in client.cookies


def test_login_from_another_site_needs_a_click_here(client: TestClient) -> None:
    r = client.get(LOGIN, params={"next": "/hub/home"}, headers={**NAVIGATE, "Sec-Fetch-Site": "cross-site"})
    _assert_refused(r)
    assert 'href="/services/japps/oauth_login?next=%2Fhub%2Fhome"' in r.text


@pytest.mark.parametrize(
    "headers",
    [NAVIGATE, {**NAVIGATE, "Sec-Fetch-Site": "none"}, {}, {"Origin": "http://hub.test"}],
)
def test_navigation_and_old_browsers_still_log_in(
    client: TestClient, fake_hub: FakeHub, auth: Users, headers: dict[str, str]
) -> None:
    r = client.get(LOGIN, params={"next": "/hub/home"}, headers=headers, follow_redirects=False)
    assert r.status_code == 302, r.text
    assert urlsplit(r.headers["location"]).path == "/hub/api/oauth2/authorize"
    state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
    fake_hub.oauth_codes["c"] = auth.tokens["ann"]
    r = client.get(
        "/services/japps/oauth_callback", params={"code": "c", "state": state}, headers=headers, follow_redirects=False
    )
    assert r.status_code == 302, r.text
    assert r.headers["location"] == "/hub/home"
    assert client.cookies["_xsrf"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_with_an_xsrf_token_refuse_fetch_and_frames(
    client: TestClient, fake_hub: FakeHub, auth: Users, path: str
) -> None:
    fake_hub.add_server("ann", "sales", app_options("Sales"))
    # Not logged in yet: no redirect into the login for a script.
    for headers in (FETCH, FRAME):
        _assert_refused(client.get(path, headers=headers, follow_redirects=False))
    _, xsrf = login(client, fake_hub, auth.tokens["ann"])
    for headers in (FETCH, FRAME, {"X-Requested-With": "XMLHttpRequest"}):
        r = client.get(path, headers=headers, follow_redirects=False)
        _assert_refused(r)
        assert xsrf not in r.text
    for headers in (NAVIGATE, {**NAVIGATE, "Sec-Fetch-Site": "cross-site"}, {}):
        r = client.get(path, headers=headers, follow_redirects=False)
        assert r.status_code == 200, r.text
        assert xsrf in r.text


def test_gallery_answers_the_hub_home_only(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    _, xsrf = login(client, fake_hub, auth.tokens["ann"])
    gallery = "/services/japps/ui/gallery"
    r = client.get(gallery, headers=FETCH)
    assert r.status_code == 200  # the Hub home page's own fetch
    assert xsrf in r.text
    for site in ("same-site", "cross-site"):
        r = client.get(gallery, headers={**FETCH, "Sec-Fetch-Site": site})
        _assert_refused(r)
        assert xsrf not in r.text
    _assert_refused(client.get(gallery, headers=FRAME))


def test_scripts_with_a_token_are_not_affected(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server("ann", "sales", app_options("Sales"))
    r = client.get("/services/japps/api/apps", headers={**auth("ann"), **FETCH})
    assert r.status_code == 200, r.text
