"""What an app learns of its viewer, behind a real Hub with ``c.JupyterHub.cookie_host_prefix_enabled``.

With that setting every JupyterHub login cookie (the Hub's ``__Host-jupyterhub-hub-login``, every
server's ``__Host-jupyterhub-user-<user>-<server>``, the OAuth state cookies, the services') has path
``/``, so the browser sends all of them to every app: the proxy must strip each one (an app owner holding
a viewer's Hub cookie is that viewer). Forged identity headers must not arrive either, in any spelling;
the identity the Hub vouched for must, in ``X-Hubapps-User`` and upstream's ``X-Forwarded-User-Data``.

Apps (one owner, a Hub of this module's own): a private and a public echo app, which answer with the
headers they received (``tests/resources/echo_app.py``; ``/ws``: the upgrade request's, as JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from tests.integration.conftest import Hub, browser_visit, own_hub, ws_url
from tests.unit.proxy.test_identity import FORGED

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing, pytest.mark.timeout(300)]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
OWNER = "id-owner"
GROUP = "id-team"
PRIVATE = "echo-private"
PUBLIC = "echo-public"
HOST_PREFIX_CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
c.JupyterHub.cookie_host_prefix_enabled = True
"""
#: The viewer's own cookies (one of them prefixed too): these must still reach the app.
UNRELATED = {"theme": "dark", "__Host-viewer-pref": "compact"}
#: The echo app's own cookie (it sets it on every answer).
APP_COOKIE = "app_cookie"
#: Login cookies in spellings the Hub does not use, but an old or other component might.
ODD_LOGINS = {
    "__Secure-jupyterhub-hub-login": "x",
    "__host-jupyterhub-user-someone-app": "x",
    "__Host-service-japps": "x",
    "jupyterhub-user-someone-app-oauth-state": "x",
}


def echo_spec(name: str, *, public: bool = False) -> dict[str, Any]:
    return {
        "spec_version": 1,
        "framework": "command",
        "display_name": name,
        "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
        "public": public,
    }


@pytest.fixture(scope="module")
def prefixed_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("host-prefix-hub"), HOST_PREFIX_CONFIG) as running:
        token = running.token_for(OWNER)
        assert running.api("POST", f"groups/{GROUP}").status_code in (201, 409)
        assert running.api("POST", f"groups/{GROUP}/users", json={"users": [OWNER]}).status_code == 200
        for server, spec in {PRIVATE: echo_spec("Private"), PUBLIC: echo_spec("Public", public=True)}.items():
            running.create_app(OWNER, server, spec, token=token)
            running.wait_app(OWNER, server, token)
        yield running


def browser_login(hub: Hub, username: str) -> httpx.Client:
    """A client logged in to the Hub that sends ``Secure`` cookies over http too (the test Hub has no TLS;
    a browser would need it): every cookie is made non-secure as soon as it is stored."""
    browser = hub.login(username)
    jar = browser.cookies.jar

    def keep_insecure(response: httpx.Response) -> None:
        for cookie in jar:
            cookie.secure = False

    keep_insecure(httpx.Response(200))
    browser.event_hooks = {"response": [keep_insecure]}
    return browser


def _cookie(name: str, value: str) -> Cookie:
    """A cookie for 127.0.0.1 with path ``/``, as a page of any app there could have set it."""
    return Cookie(0, name, value, None, False, "127.0.0.1", False, False, "/", True, False, None, False, None, None, {})


def cookie_names(header: str) -> set[str]:
    return {part.split("=", 1)[0].strip() for part in header.split(";") if part.strip()}


def seen_headers(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.text[:300]
    return [(str(name), str(value)) for name, value in response.json()["headers"]]


def test_login_cookies_of_the_hub_and_of_every_app_never_reach_an_app(prefixed_hub: Hub) -> None:
    browser = browser_login(prefixed_hub, OWNER)
    jar = browser.cookies.jar
    try:
        private, public = prefixed_hub.app_url(OWNER, PRIVATE), prefixed_hub.app_url(OWNER, PUBLIC)
        # Log in to both apps (the public one's control endpoint needs a login): each sets its cookie.
        for url in (public + "_hubapps/status", private + "login"):
            assert browser_visit(browser, url).status_code == 200
        sent = {cookie.name for cookie in jar}
        # What JupyterHub and the proxies set under the setting: all __Host- prefixed, path /.
        assert {"__Host-jupyterhub-hub-login", f"__Host-jupyterhub-user-{OWNER}-{PRIVATE}"} <= sent, sent
        assert f"__Host-jupyterhub-user-{OWNER}-{PUBLIC}" in sent, sent
        for name, value in {**UNRELATED, **ODD_LOGINS}.items():
            jar.set_cookie(_cookie(name, value))
        response = browser.get(private + "whoami", headers={"Accept": "application/json"})
        sent_now = cookie_names(response.request.headers["cookie"])
        assert {"__Host-jupyterhub-hub-login", *ODD_LOGINS} <= sent_now  # the browser did send them all
        arrived = [value for name, value in seen_headers(response) if name.lower() == "cookie"]
        assert len(arrived) == 1
        assert cookie_names(arrived[0]) == {*UNRELATED, APP_COOKIE}
        data = json.loads(dict(seen_headers(response))["X-Forwarded-User-Data"])
        assert (data["name"], data["admin"], data["groups"]) == (OWNER, False, [GROUP])
        # The websocket upgrade (the same cookies, by header) is stripped the same way.
        # (the app's own cookie, set with Path=/, was confined to the app's prefix by the proxy)
        private_path = private[len(prefixed_hub.url) - 1 :]
        cookie = "; ".join(f"{c.name}={c.value}" for c in jar if c.path == "/" or private_path.startswith(c.path))
        with ws_connect(ws_url(private) + "ws", additional_headers={"Cookie": cookie}, open_timeout=20) as ws:
            ws.send("whoami")
            upgrade_headers = json.loads(ws.recv(timeout=10))
        assert cookie_names(upgrade_headers["Cookie"]) == {*UNRELATED, APP_COOKIE}
    finally:
        browser.close()


def test_forged_identity_headers_never_arrive_and_the_real_viewer_does(prefixed_hub: Hub) -> None:
    token = prefixed_hub.token_for(OWNER)
    forged = {name: "mallory" for name in FORGED}
    response = httpx.get(
        prefixed_hub.app_url(OWNER, PRIVATE) + "whoami",
        headers={**forged, "Authorization": f"token {token}", "X-Requested-With": "XMLHttpRequest"},
        timeout=30,
    )
    seen = seen_headers(response)
    assert len(forged) >= 50
    assert not [line for line in seen if "mallory" in line[1]]
    assert ("X-Requested-With", "XMLHttpRequest") in seen
    ours = dict(seen)
    assert ours["X-Hubapps-User"] == OWNER
    data = json.loads(ours["X-Forwarded-User-Data"])
    assert set(data) == {"name", "admin", "roles", "groups", "scopes"}  # upstream's keys
    assert (data["name"], data["admin"], data["groups"]) == (OWNER, False, [GROUP])
    admin = prefixed_hub.token_for("admin")
    response = httpx.get(prefixed_hub.app_url(OWNER, PRIVATE), headers={"Authorization": f"token {admin}"}, timeout=30)
    assert json.loads(dict(seen_headers(response))["X-Forwarded-User-Data"])["admin"] is True


def test_an_anonymous_viewer_of_a_public_app_has_no_identity(prefixed_hub: Hub) -> None:
    forged = {"X-Forwarded-User-Data": json.dumps({"name": OWNER, "admin": True}), "X-Hubapps-User": OWNER}
    response = httpx.get(prefixed_hub.app_url(OWNER, PUBLIC) + "whoami", headers=forged, timeout=30)
    names = {name.lower() for name, _ in seen_headers(response)}
    assert not names & {"x-forwarded-user-data", "x-hubapps-user", "x-hubapps-groups"}


def test_an_app_cannot_toss_cookies_onto_the_launcher_or_the_hub(prefixed_hub: Hub) -> None:
    """The attack of issue 10: a public app sets the launcher's session cookie (and others outside its
    prefix) on its visitor; behind the proxy the visitor's browser stores none of them outside the app."""
    tosser = "cookie-tosser"
    spec = {
        "spec_version": 1,
        "framework": "command",
        "display_name": "Cookie tosser",
        "command": ["{python}", str(RESOURCES / "raw_http_app.py"), "{port}"],
        "public": True,
    }
    token = prefixed_hub.token_for(OWNER)
    prefixed_hub.create_app(OWNER, tosser, spec, token=token)
    try:
        prefixed_hub.wait_app(OWNER, tosser, token)
        tossed = [
            "service-japps=mallory; Path=/services/japps/; HttpOnly",
            "__Host-service-japps=mallory; Path=/",
            "jupyterhub-hub-login=mallory; Path=/hub/",
            "theme=evil; Path=/",
            "lang=x; Domain=127.0.0.1; Path=/services/japps/",
        ]
        url = prefixed_hub.app_url(OWNER, tosser)
        browser = browser_login(prefixed_hub, "id-viewer")
        try:
            response = browser.get(url + "set-cookie", params=[("c", value) for value in tossed])
            assert response.status_code == 200, response.text[:300]
            prefix = url[len(prefixed_hub.url) - 1 :]
            stored = {(cookie.name, cookie.path) for cookie in browser.cookies.jar}
            for name, path in stored:
                if name in ("service-japps", "__Host-service-japps"):
                    raise AssertionError(f"the app set the launcher's session cookie {name} on {path}")
                if name in ("theme", "lang"):
                    assert path.startswith(prefix), (name, path, prefix)
            assert {"theme", "lang"} <= {name for name, _ in stored}
            assert ("jupyterhub-hub-login", "/hub/") not in stored
        finally:
            browser.close()
    finally:
        prefixed_hub.stop_app(OWNER, tosser, remove=True)
