"""The authentication choke point, the OAuth dance and what the app sees of the viewer."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from yarl import URL

from hubapps.core import statuskey
from hubapps.proxy.wire import Request
from tests.unit.proxy.conftest import ECHO_APP, PREFIX, FakeHub, StartProxy, url

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _headers_seen(payload: dict[str, object]) -> dict[str, str]:
    pairs = payload["headers"]
    assert isinstance(pairs, list)
    return {str(k).lower(): str(v) for k, v in pairs}


async def test_browser_without_credentials_is_sent_to_login_with_state(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(ECHO_APP)
    async with http.get(url(proxy, "page?q=1"), headers=HTML, allow_redirects=False) as response:
        assert response.status == 302
        location = response.headers["Location"]
        state_cookie = response.cookies["jupyterhub-user-alice-my-app-oauth-state"]
    target = urlsplit(location)
    assert target.path == "/hub/api/oauth2/authorize"
    query = parse_qs(target.query)
    assert query["client_id"] == ["jupyterhub-user-alice-my-app"]
    assert query["redirect_uri"] == [PREFIX + "oauth_callback"]
    assert query["state"][0]
    assert query["code_challenge_method"] == ["S256"]
    assert state_cookie["httponly"]
    assert state_cookie["path"] == PREFIX
    assert state_cookie["samesite"] == "Lax"
    callback = Request("GET", b"/", [("Cookie", f"jupyterhub-user-alice-my-app-oauth-state={state_cookie.value}")])
    pending = proxy.gate.pending_login(callback, query["state"][0])
    assert pending is not None
    assert pending.next_url == PREFIX + "page?q=1"


async def test_oauth_callback_sets_cookie_and_app_never_sees_it(
    start_proxy: StartProxy, http: aiohttp.ClientSession, fake_hub: FakeHub
) -> None:
    proxy = await start_proxy(ECHO_APP)
    async with http.get(url(proxy, "deep/page?x=1"), headers=HTML, allow_redirects=False) as response:
        state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
        state_cookie = response.cookies["jupyterhub-user-alice-my-app-oauth-state"].value
    cookie_header = f"jupyterhub-user-alice-my-app-oauth-state={state_cookie}"
    async with http.get(
        url(proxy, f"oauth_callback?code=good-code&state={state}"),
        headers={"Cookie": cookie_header},
        allow_redirects=False,
    ) as response:
        assert response.status == 302
        assert response.headers["Location"] == PREFIX + "deep/page?x=1"
        session = response.cookies["jupyterhub-user-alice-my-app"]
        assert session["httponly"]
        assert session["path"] == PREFIX
    # PKCE: the verifier (derived from the state, stored nowhere) went to the Hub with the code.
    assert fake_hub.code_exchanges[-1]["code_verifier"]
    assert fake_hub.code_exchanges[-1]["redirect_uri"] == PREFIX + "oauth_callback"
    cookies = f"other=1; jupyterhub-user-alice-my-app={session.value}; {cookie_header}"
    async with http.get(url(proxy, "deep/page"), headers={"Cookie": cookies}) as response:
        assert response.status == 200
        seen = _headers_seen(await response.json())
    assert seen["x-hubapps-user"] == "alice"
    assert seen["cookie"] == "other=1"
    # A replayed callback gets nothing (the state cookie was deleted, and the Hub takes a code once).
    async with http.get(
        url(proxy, f"oauth_callback?code=good-code&state={state}"),
        headers={"Cookie": cookie_header},
        allow_redirects=False,
    ) as response:
        assert response.status == 403


async def test_oauth_callback_with_mismatched_state_sets_no_cookie(
    start_proxy: StartProxy, http: aiohttp.ClientSession, fake_hub: FakeHub
) -> None:
    proxy = await start_proxy(ECHO_APP)
    async with http.get(url(proxy), headers=HTML, allow_redirects=False) as response:
        state_cookie = response.cookies["jupyterhub-user-alice-my-app-oauth-state"].value
    async with http.get(
        url(proxy, "oauth_callback?code=good-code&state=forged"),
        headers={"Cookie": f"jupyterhub-user-alice-my-app-oauth-state={state_cookie}"},
        allow_redirects=False,
    ) as response:
        assert response.status == 403
        assert "jupyterhub-user-alice-my-app" not in response.cookies
    async with http.get(url(proxy, "oauth_callback?code=good-code&state=x"), allow_redirects=False) as response:
        assert response.status in {400, 403}
        assert not response.cookies
    assert fake_hub.code_exchanges == []


async def test_token_with_access_is_forwarded_as_identity_headers(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(ECHO_APP)
    forged = {
        "Authorization": "token alice-token",
        "X-Hubapps-User": "mallory",
        "X-Hubapps-Groups": "admins",
        "X-Forwarded-User": "mallory",
        "Remote-User": "mallory",
    }
    async with http.get(url(proxy, "api"), headers=forged) as response:
        assert response.status == 200
        seen = _headers_seen(await response.json())
    assert seen["x-hubapps-user"] == "alice"
    assert seen["x-hubapps-groups"] == "team-a,team<b>"
    assert "authorization" not in seen
    assert "x-forwarded-user" not in seen
    assert "remote-user" not in seen


async def test_bearer_service_token_with_user_scope_is_allowed(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(ECHO_APP)
    async with http.get(url(proxy, "api"), headers={"Authorization": "Bearer svc-token"}) as response:
        assert response.status == 200
        assert _headers_seen(await response.json())["x-hubapps-user"] == "japps"


async def test_user_without_scope_gets_403_page_naming_them(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(ECHO_APP)
    async with http.get(url(proxy), headers={"Authorization": "token bob-token", **HTML}) as response:
        assert response.status == 403
        text = await response.text()
    assert "bob&lt;&#x27;&amp;&quot;&gt;" in text
    assert "bob<'" not in text


async def test_invalid_token_is_refused(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(ECHO_APP)
    async with http.get(url(proxy), headers={"Authorization": "token nope"}) as response:
        assert response.status == 403


async def test_api_request_without_credentials_gets_401_and_hub_probe_is_not_5xx(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(ECHO_APP, wait_ready=False)
    async with http.post(url(proxy, "api"), data=b"x") as response:
        assert response.status == 401
    async with http.get(url(proxy), headers={"Accept": "*/*"}) as response:
        assert response.status < 500


async def test_outside_prefix_is_404_and_bare_prefix_redirects(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(ECHO_APP)
    base = f"http://127.0.0.1:{proxy.port}"
    for path in ("/", "/user/bob/my-app/", "/hub/api/user"):
        async with http.get(base + path, headers={"Authorization": "token alice-token"}) as response:
            assert response.status == 404
    async with http.get(base + PREFIX.rstrip("/") + "?a=b", allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == PREFIX + "?a=b"


async def test_public_app_serves_anyone_but_control_endpoints_need_access(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(ECHO_APP, "--public")
    async with http.get(url(proxy, "anything")) as response:
        assert response.status == 200
        assert "x-hubapps-user" not in _headers_seen(await response.json())
    for path in ("_hubapps/logs", "_hubapps/status"):
        async with http.get(url(proxy, path)) as response:
            assert response.status == 401
        async with http.get(url(proxy, path), headers={"Authorization": "token bob-token"}) as response:
            assert response.status == 403
    async with http.get(url(proxy, "_hubapps/logs"), headers={"Authorization": "token alice-token"}) as response:
        assert response.status == 200
        assert any("echo app listening" in line for line in (await response.json())["lines"])
    async with http.get(url(proxy, "_hubapps/status"), headers={"Authorization": "token alice-token"}) as response:
        assert (await response.json())["state"] == "ready"
    # A logged-in viewer of a public app is still named to the app.
    async with http.get(url(proxy, "x"), headers={"Authorization": "token bob-token"}) as response:
        seen = _headers_seen(await response.json())
        assert seen["x-hubapps-user"] == "bob<'&\">"
        assert "authorization" not in seen


async def test_token_lookups_are_cached(
    start_proxy: StartProxy, http: aiohttp.ClientSession, fake_hub: FakeHub
) -> None:
    proxy = await start_proxy(ECHO_APP)
    for _ in range(3):
        async with http.get(url(proxy), headers={"Authorization": "token alice-token"}) as response:
            assert response.status == 200
    assert fake_hub.token_lookups.count("alice-token") == 1


async def test_login_round_trip_keeps_escaped_names_byte_for_byte(
    start_proxy: StartProxy, http: aiohttp.ClientSession, fake_hub: FakeHub
) -> None:
    """A user called o<'&"> has the prefix /user/o%3C%27%26%22%3E/...; the session cookie's path is that
    exact spelling, so the redirect after login must not come back unescaped (or the browser loops)."""
    escaped = "/user/o%3C%27%26%22%3E/my-app/"
    env = {
        "JUPYTERHUB_SERVICE_PREFIX": escaped,
        "JUPYTERHUB_OAUTH_CALLBACK_URL": escaped + "oauth_callback",
        "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-o%3C%27%26%22%3E-my-app",
    }
    proxy = await start_proxy(ECHO_APP, env=env)
    base = f"http://127.0.0.1:{proxy.port}"
    async with http.get(URL(base + escaped + "deep", encoded=True), headers=HTML, allow_redirects=False) as r:
        state = parse_qs(urlsplit(r.headers["Location"]).query)["state"][0]
        state_cookie = r.cookies[env["JUPYTERHUB_CLIENT_ID"] + "-oauth-state"]
    callback = URL(base + escaped + f"oauth_callback?code=good-code&state={state}", encoded=True)
    headers = {"Cookie": f"{state_cookie.key}={state_cookie.coded_value}"}
    async with http.get(callback, headers=headers, allow_redirects=False) as r:
        assert r.headers["Location"] == escaped + "deep"
        session = r.cookies[env["JUPYTERHUB_CLIENT_ID"]]
        assert session["path"] == escaped
    async with http.get(
        URL(base + escaped + "deep", encoded=True), headers={"Cookie": f"{session.key}={session.coded_value}"}
    ) as r:
        assert r.status == 200  # signed in: never sent to the login again


# -- the launcher service's signed status requests ---------------------------------------------------

STATUS_KEY = statuskey.app_key(bytes(range(32)), "alice", "my-app")


async def test_signed_status_requests_need_no_login(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(ECHO_APP, env={statuskey.APP_KEY_ENV_VAR: STATUS_KEY.hex()})
    for path in ("_hubapps/status", "_hubapps/logs"):
        signed = {statuskey.HEADER: statuskey.sign(STATUS_KEY, "GET", path)}
        async with http.get(url(proxy, path), headers=signed) as response:
            assert response.status == 200, path
            assert "state" in await response.json()
    # The events stream and the app itself still need a viewer's login.
    for path in ("_hubapps/events", "x"):
        signed = {statuskey.HEADER: statuskey.sign(STATUS_KEY, "GET", path)}
        async with http.get(url(proxy, path), headers=signed, allow_redirects=False) as response:
            assert response.status in (302, 401), path
    # The signature is never passed on to the app.
    both = {statuskey.HEADER: statuskey.sign(STATUS_KEY, "GET", "x"), "Authorization": "token alice-token"}
    async with http.get(url(proxy, "x"), headers=both) as response:
        assert "x-hubapps-status" not in _headers_seen(await response.json())


@pytest.mark.parametrize(
    "value",
    [
        statuskey.sign(STATUS_KEY, "GET", "_hubapps/logs"),  # made for the other endpoint
        statuskey.sign(STATUS_KEY, "GET", "_hubapps/status", now=time.time() - 120),  # expired
        statuskey.sign(statuskey.app_key(bytes(range(32)), "alice", "other"), "GET", "_hubapps/status"),
        statuskey.sign(bytes(range(32)), "GET", "_hubapps/status"),  # the shared key is not the app's
        "v1.0.00",
    ],
)
async def test_bad_signatures_fall_back_to_the_login(
    start_proxy: StartProxy, http: aiohttp.ClientSession, value: str
) -> None:
    proxy = await start_proxy(ECHO_APP, env={statuskey.APP_KEY_ENV_VAR: STATUS_KEY.hex()})
    async with http.get(url(proxy, "_hubapps/status"), headers={statuskey.HEADER: value}) as response:
        assert response.status == 401
    both = {statuskey.HEADER: value, "Authorization": "token alice-token"}
    async with http.get(url(proxy, "_hubapps/status"), headers=both) as response:
        assert response.status == 200


async def test_the_skew_is_settable(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(ECHO_APP, "--status-max-skew=2", env={statuskey.APP_KEY_ENV_VAR: STATUS_KEY.hex()})
    old = {statuskey.HEADER: statuskey.sign(STATUS_KEY, "GET", "_hubapps/status", now=time.time() - 10)}
    async with http.get(url(proxy, "_hubapps/status"), headers=old) as response:
        assert response.status == 401


async def test_without_a_key_signatures_mean_nothing(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(ECHO_APP)
    signed = {statuskey.HEADER: statuskey.sign(b"", "GET", "_hubapps/status")}
    async with http.get(url(proxy, "_hubapps/status"), headers=signed) as response:
        assert response.status == 401
