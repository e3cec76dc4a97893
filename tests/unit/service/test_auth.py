"""Login, cookies, XSRF and the ``next`` table, against the fake Hub."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from hubapps.service.security import CookieSealer, validate_next_url
from tests.unit.service.conftest import FakeHub, Users

API = "/services/japps/api"


def login(client: TestClient, fake_hub: FakeHub, user_token: str, next_url: str = "") -> tuple[str, str]:
    """Go through the OAuth dance; returns (redirect target, xsrf token)."""
    r = client.get(
        "/services/japps/oauth_login", params={"next": next_url} if next_url else None, follow_redirects=False
    )
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["location"]).query)
    fake_hub.oauth_codes["the-code"] = user_token
    r = client.get(
        "/services/japps/oauth_callback",
        params={"code": "the-code", "state": query["state"][0]},
        follow_redirects=False,
    )
    assert r.status_code == 302, r.text
    return r.headers["location"], client.cookies["_xsrf"]


def test_no_credentials_is_403_json_with_csp(client: TestClient, auth: Users) -> None:
    r = client.get(f"{API}/apps")
    assert r.status_code == 403
    assert r.json()["code"] == "not_authenticated"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_bad_token_is_403(client: TestClient, auth: Users) -> None:
    r = client.get(f"{API}/user", headers={"Authorization": "token nope"})
    assert r.status_code == 403
    assert "nope" not in r.text


def test_token_auth_needs_no_xsrf(client: TestClient, auth: Users) -> None:
    r = client.post(
        f"{API}/apps", headers=auth("ann"), json={"framework": "streamlit", "display_name": "A", "filepath": "a.py"}
    )
    assert r.status_code == 201, r.text


def test_login_redirects_with_state_and_pkce(client: TestClient, auth: Users) -> None:
    r = client.get("/services/japps/oauth_login", follow_redirects=False)
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    assert target.path == "/hub/api/oauth2/authorize"
    query = parse_qs(target.query)
    assert query["state"][0]
    assert query["code_challenge"][0]
    assert query["code_challenge_method"] == ["S256"]
    cookie = r.headers["set-cookie"]
    assert "service-japps-oauth-state=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert query["state"][0] not in cookie  # sealed, not readable


def test_callback_checks_state(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.oauth_codes["c"] = auth.tokens["ann"]
    r = client.get("/services/japps/oauth_callback", params={"code": "c"}, follow_redirects=False)
    assert r.status_code == 400
    r = client.get("/services/japps/oauth_callback", params={"code": "c", "state": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    client.get("/services/japps/oauth_login", follow_redirects=False)
    r = client.get("/services/japps/oauth_callback", params={"code": "c", "state": "other"}, follow_redirects=False)
    assert r.status_code == 403
    assert "service-japps=" not in r.headers.get("set-cookie", "")


def test_login_cookie_then_xsrf(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    target, xsrf = login(client, fake_hub, auth.tokens["ann"], "/services/japps/api/user")
    assert target == "/services/japps/api/user"
    me = client.get(f"{API}/user").json()
    assert me["name"] == "ann"
    assert me["via"] == "cookie"
    assert me["xsrf_token"] == xsrf
    assert auth.tokens["ann"] not in client.cookies["service-japps"]
    spec = {"framework": "streamlit", "display_name": "A", "filepath": "a.py"}
    # JSON without, with a wrong and with the right token
    assert client.post(f"{API}/apps", json=spec).status_code == 403
    assert client.post(f"{API}/apps", json=spec, headers={"X-XSRFToken": "wrong"}).status_code == 403
    assert client.post(f"{API}/apps", json=spec, headers={"X-XSRFToken": xsrf}).status_code == 201
    # multipart without and with the _xsrf field
    import json

    form = {"data": json.dumps({**spec, "display_name": "B"})}
    files = {"file": ("x.txt", b"x", "text/plain")}
    assert client.post(f"{API}/apps", data=form, files=files).status_code == 403
    r = client.post(f"{API}/apps", data={**form, "_xsrf": xsrf}, files=files)
    assert r.status_code == 201, r.text
    # cross-site even with the token
    r = client.post(
        f"{API}/apps", json={**spec, "display_name": "C"}, headers={"X-XSRFToken": xsrf, "Sec-Fetch-Site": "cross-site"}
    )
    assert r.status_code == 403
    # deleting is a write too
    assert client.delete(f"{API}/apps/ann/a").status_code == 403
    assert client.delete(f"{API}/apps/ann/a", headers={"X-XSRFToken": xsrf}).status_code in (202, 204)


def test_forged_cookie_is_ignored(client: TestClient, auth: Users) -> None:
    client.cookies.set("service-japps", "garbage")
    assert client.get(f"{API}/user").status_code == 403


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("", ""),
        ("/hub/admin", "/hub/admin"),
        ("/user/other", "/user/other"),
        ("/has?query#andhash", "/has?query#andhash"),
        ("/has?repo=https://host.git", "/has?repo=https://host.git"),
        ("relative/path", ""),
        ("https://other.domain", ""),
        ("ftp://other.domain", ""),
        ("//other.domain", ""),
        ("///other.domain/triple", ""),
        ("\\\\other.domain/backslashes", ""),
        ("/\\other.domain", "/%5Cother.domain"),
        ("javascript:alert(1)", ""),
        ("/ok\r\nSet-Cookie: x=1", ""),
        ("http://hub.test/other.domain/", "/other.domain/"),
        ("http://hub.test//other.domain/", "/other.domain/"),
        ("http://hub.test///other.domain/", "/other.domain/"),
        ("//hub.test/path?q=1", "/path?q=1"),
        ("https://hub.test/path", ""),
    ],
)
def test_next_url_table(next_url: str, expected: str) -> None:
    assert validate_next_url(next_url, host="hub.test", proto="http") == expected


def test_login_refuses_outside_next(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    target, _ = login(client, fake_hub, auth.tokens["ann"], "https://evil.example/")
    assert target == "/services/japps/"


def test_sealer_rejects_other_names_and_expiry() -> None:
    sealer = CookieSealer(b"k" * 32)
    value = sealer.seal("a", {"x": 1}, 60)
    assert sealer.open("a", value) == {"x": 1, "exp": sealer.open("a", value)["exp"]}  # type: ignore[index]
    assert sealer.open("b", value) is None
    assert sealer.open("a", sealer.seal("a", {"x": 1}, -1)) is None
    assert sealer.open("a", value[:-2] + "AA") is None


def test_create_page_requires_login_and_escapes(make_client: Callable[..., TestClient], auth: Users) -> None:
    client = make_client()
    r = client.get(
        "/services/japps/create-app", params={"filepath": "a.py", "headless": "true"}, follow_redirects=False
    )
    assert r.status_code == 302
    assert r.headers["location"].startswith("/services/japps/oauth_login?next=%2Fservices%2Fjapps%2Fcreate-app")
    r = client.get(
        "/services/japps/create-app",
        params={"filepath": '"><script>x</script>', "headless": "true"},
        headers=auth("ann"),
    )
    assert r.status_code == 200
    assert "<script>x</script>" not in r.text
    assert "&#34;&gt;&lt;script&gt;" in r.text


def test_upstream_options_still_listed(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server(
        "ann",
        "old",
        {
            "jhub_app": True,
            "display_name": "Old app",
            "framework": "plotlydash",
            "description": "d",
            "filepath": "x.py",
            "custom_command": "",
            "env": {"JHUB_APP_PROXY_ARGS": "x"},
        },
    )
    r = client.get(f"{API}/apps", headers=auth("ann"))
    (app,) = r.json()["data"]
    assert app["display_name"] == "Old app"
    assert app["framework"] == "dash"


def test_sealer_cache_keeps_expiry_and_refuses_forgeries(monkeypatch: pytest.MonkeyPatch) -> None:
    sealer = CookieSealer(b"k" * 32, cache_ttl=60, cache_entries=2)
    value = sealer.seal("a", {"t": "token"}, 30)
    first = sealer.open("a", value)
    assert first is not None
    assert first["t"] == "token"
    first["t"] = "changed by a caller"
    assert sealer.open("a", value)["t"] == "token"  # type: ignore[index]
    # Forged or mangled values are never remembered, and a remembered value keeps its name.
    assert sealer.open("a", value[:-2] + "AA") is None
    assert sealer.open("b", value) is None
    assert len(sealer._opened) == 1
    # The payload's own expiry still counts while it is remembered.
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 31)  # the clock security.py reads
    assert sealer.open("a", value) is None
    # Bounded.
    for i in range(5):
        sealer.open("a", sealer.seal("a", {"i": i}, 3600))
    assert len(sealer._opened) == 2
