"""Identity at the app's door (``hubapps/proxy/identity.py``): forged identity headers and login cookies
never reach the app, in any spelling; the viewer's real identity does, in our header and upstream's.

The rule is tested on names generated from the ones launchers and auth proxies use (every case and
``_``/``-`` spelling, since WSGI folds them together), first on its own, then through a running proxy
to an app that shows the exact header lines it received.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from hubapps.proxy.identity import claims_identity, confine_set_cookie, is_login_cookie
from tests.unit.proxy.conftest import StartProxy
from tests.unit.proxy.test_http import RAW_APP, fetch, request

#: Identity headers of older launchers, auth proxies and hosting platforms (and ours).
FORGEABLE = [
    "X-Forwarded-User-Data",  # upstream JHub Apps (jhub-app-proxy)
    "X-CDSDASHBOARDS-JH-USER",  # jhsingle-native-proxy, cdsdashboards
    "X-JupyterHub-User",
    "X-Jupyterhub-Api-Token",
    "X-Auth-Request-User",
    "X-Auth-Request-Email",
    "X-Auth-Request-Groups",
    "X-Auth-Request-Preferred-Username",
    "X-Auth-Request-Access-Token",
    "Remote-User",
    "Remote-Groups",
    "Remote-Email",
    "Remote-Name",
    "X-Remote-User",
    "X-Remote-Group",
    "X-Forwarded-User",
    "X-Forwarded-Email",
    "X-Forwarded-Preferred-Username",
    "X-Forwarded-Groups",
    "X-Forwarded-Access-Token",
    "X-Webauth-User",
    "X-Auth-User",
    "X-User",
    "X-Email",
    "X-User-Id",
    "X-Username",
    "X-Groups",
    "X-Roles",
    "X-Hubapps-User",
    "X-Hubapps-Groups",
    "X-Hubapps-Anything",
    "X-MS-CLIENT-PRINCIPAL-NAME",
    "X-Amzn-Oidc-Identity",
    "Cf-Access-Authenticated-User-Email",
    "X-Goog-Authenticated-User-Email",
    "X-Pomerium-Claim-Email",
    "X-authentik-username",
    "Tailscale-User-Login",
    "OIDC-Claim-Email",
    "Gap-Auth",
    "RStudio-Connect-Credentials",
    "User",
    "Auth-User",
    "Authenticated-User",
    "X-Vouch-User",
    "X-SP-UserId",
    "Sf-Context-Current-User",
]
#: Headers apps and browsers need, some close to the rule's words.
BENIGN = [
    "User-Agent",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "X-Forwarded-Port",
    "X-Real-Ip",
    "X-Request-Id",
    "X-Requested-With",
    "X-XSRFToken",
    "X-Xsrf-Token",
    "X-CSRFToken",
    "X-App-Version",
    "Accept-Language",
    "Origin",
    "Referer",
    "Sec-WebSocket-Protocol",
    "Content-Type",
    "Cache-Control",
    "Traceparent",
]


def spellings(name: str) -> Iterator[str]:
    """``name`` as clients may send it: cases, and ``_`` for some or all ``-``."""
    yield name
    yield name.lower()
    yield name.upper()
    yield name.replace("-", "_")
    yield name.upper().replace("-", "_", 1)
    yield "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(name))


FORGED = sorted({spelling for name in FORGEABLE for spelling in spellings(name)})


def test_the_rule_is_tested_on_many_generated_names() -> None:
    assert len(FORGED) >= 200


@pytest.mark.parametrize("name", FORGED)
def test_forgeable_names_claim_an_identity(name: str) -> None:
    assert claims_identity(name)


@pytest.mark.parametrize("name", sorted({spelling for name in BENIGN for spelling in spellings(name)}))
def test_ordinary_headers_do_not(name: str) -> None:
    assert not claims_identity(name)


LOGIN_COOKIES = [
    "jupyterhub-hub-login",
    "jupyterhub-session-id",
    "jupyterhub-user-alice-my-app",  # this proxy's own session
    "jupyterhub-user-alice-my-app-oauth-state",
    "jupyterhub-user-alice-my-app-oauth-state-1a2b3c4d",
    "jupyterhub-user-bob-other",  # another app's login
    "jupyterhub-user-bob-other-oauth-state",
    "jupyterhub-user-bob",  # a JupyterLab server's
    "service-japps",  # a service's
    "service-japps-oauth-state",
]


def cookie_spellings(name: str) -> Iterator[str]:
    for prefix in ("", "__Host-", "__Secure-", "__host-", "__SECURE-"):
        yield prefix + name


@pytest.mark.parametrize("name", [s for name in LOGIN_COOKIES for s in cookie_spellings(name)])
def test_login_cookies_in_every_prefixed_form(name: str) -> None:
    assert is_login_cookie(name)


@pytest.mark.parametrize("name", ["_xsrf", "__Host-_xsrf", "theme", "__Host-theme", "my-jupyterhub-x", "session"])
def test_other_cookies_are_not_login_cookies(name: str) -> None:
    assert not is_login_cookie(name)


# -- through the proxy ---------------------------------------------------------------------------------


def header_lines(answer_body: bytes) -> list[tuple[str, str]]:
    """The header lines the raw app received, as sent."""
    return [(name, value) for name, value in json.loads(answer_body)["headers"]]


async def test_forged_identity_headers_never_reach_the_app(start_proxy: StartProxy) -> None:
    proxy = await start_proxy(RAW_APP)
    forged = "".join(f"{name}: mallory\r\n" for name in FORGED)
    benign = "".join(f"{name}: kept-{index}\r\n" for index, name in enumerate(BENIGN))
    answer = await fetch(proxy, request("echo", headers=forged + benign))
    assert answer.status == 200
    seen = header_lines(answer.body)
    assert not [line for line in seen if "mallory" in line[1]]
    assert {value for _, value in seen} >= {f"kept-{index}" for index in range(len(BENIGN))}
    ours = {name: value for name, value in seen if name.lower().startswith("x-hubapps-") or "user-data" in name.lower()}
    assert ours == {
        "X-Hubapps-User": "alice",
        "X-Hubapps-Groups": "team-a,team<b>",
        "X-Forwarded-User-Data": json.dumps(
            {"name": "alice", "admin": False, "roles": [], "groups": ["team-a", "team<b>"], "scopes": []},
            separators=(",", ":"),
        ),
    }


async def test_forwarded_user_data_has_upstreams_shape(start_proxy: StartProxy) -> None:
    """jhub-app-proxy's ``X-Forwarded-User-Data``: name, admin, roles, groups, scopes (ours withholds the
    scopes: they list what else the viewer may open)."""
    proxy = await start_proxy(RAW_APP)
    answer = await fetch(proxy, request("echo", auth=False, headers="Authorization: token root-token\r\n"))
    data = json.loads(dict(header_lines(answer.body))["X-Forwarded-User-Data"])
    assert data == {"name": "root", "admin": True, "roles": ["admin", "user"], "groups": ["ops"], "scopes": []}


async def test_anonymous_viewer_of_a_public_app_has_no_identity(start_proxy: StartProxy) -> None:
    proxy = await start_proxy(RAW_APP, "--public")
    forged = 'X-Forwarded-User-Data: {"name": "alice", "admin": true}\r\nx_hubapps_user: alice\r\n'
    answer = await fetch(proxy, request("echo", auth=False, headers=forged))
    assert answer.status == 200
    names = {name.lower().replace("_", "-") for name, _ in header_lines(answer.body)}
    assert not names & {"x-forwarded-user-data", "x-hubapps-user", "x-hubapps-groups"}


async def test_login_cookies_never_reach_the_app(start_proxy: StartProxy) -> None:
    proxy = await start_proxy(RAW_APP)
    logins = [s for name in LOGIN_COOKIES for s in cookie_spellings(name)]
    cookie = "; ".join([f"{name}=secret{index}" for index, name in enumerate(logins)] + ["theme=dark", "__Host-pref=1"])
    answer = await fetch(proxy, request("echo", headers=f"Cookie: {cookie}\r\n"))
    seen = [value for name, value in header_lines(answer.body) if name.lower() == "cookie"]
    assert seen == ["theme=dark; __Host-pref=1"]


# -- cookies the app sets -------------------------------------------------------------------------

TOSSED = [
    # (what the app sends, what the viewer's browser gets, or None when dropped)
    ("service-japps=mallory; Path=/services/japps/; HttpOnly", None),
    ("__Host-service-japps=mallory; Path=/; Secure", None),
    ("jupyterhub-session-id=x; Path=/", None),
    ("jupyterhub-user-bob-app=forged; Path=/user/bob/app/", None),
    ("__Host-theme=dark; Path=/; Secure", None),
    ("theme=dark; Path=/", "theme=dark; Path=/user/alice/my-app/"),
    ("theme=dark; Path=/user/bob/", "theme=dark; Path=/user/alice/my-app/"),
    ("theme=dark; path=/user/alice/my-app/../../bob/", "theme=dark; Path=/user/alice/my-app/"),
    ("theme=dark; Domain=example.org; Path=/user/alice/my-app/x", "theme=dark; Path=/user/alice/my-app/x"),
    ("theme=dark; DOMAIN=.hub.example; Secure", "theme=dark; Secure"),
    ("theme=dark; Path=/user/alice/my-app", "theme=dark; Path=/user/alice/my-app"),
    ("theme=dark", "theme=dark"),
]


@pytest.mark.parametrize(("sent", "kept"), TOSSED)
def test_app_cookies_are_confined_to_the_app(sent: str, kept: str | None) -> None:
    assert confine_set_cookie(sent, "/user/alice/my-app/", strip_prefix=False) == kept


def test_apps_served_at_root_get_their_paths_under_the_prefix() -> None:
    confined = confine_set_cookie("sid=1; Path=/static", "/user/alice/my-app/", strip_prefix=True)
    assert confined == "sid=1; Path=/user/alice/my-app/static"
    assert confine_set_cookie("sid=1; Path=/", "/user/alice/my-app/", strip_prefix=True) == (
        "sid=1; Path=/user/alice/my-app/"
    )


async def test_an_app_cannot_toss_cookies_onto_the_hub_or_the_launcher(start_proxy: StartProxy) -> None:
    """Through the real proxy: the launcher's session cookie an app sets for /services/japps/ never reaches
    the viewer's browser, and the app's own cookies are kept to its prefix."""
    query = "&".join(f"c={quote(sent)}" for sent, _ in TOSSED)
    proxy = await start_proxy(RAW_APP)
    answer = await fetch(proxy, request(f"set-cookie?{query}"))
    assert answer.status == 200
    got = [value for name, value in answer.headers if name.lower() == "set-cookie"]
    assert got == [kept for _, kept in TOSSED if kept is not None]
