"""hubapps-proxy behind the real Hub and configurable-http-proxy: who gets in (HTTP and websockets), what
the app sees, and streaming.

Three apps of one owner run for the whole module: a private echo app, a public echo app, and a private
app that takes a while to start (for the startup page). Viewers: the owner, a stranger, a user the
app is shared with, a member of a group it is shared with, and narrowed tokens.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jupyterhub
import pytest
import websockets
from websockets.sync.client import connect as ws_connect

from tests.integration.conftest import Hub, browser_visit, get_under_prefix, ws_url

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
OWNER = "proxy-owner"
STRANGER = "proxy-stranger"
FRIEND = "proxy-friend"
MEMBER = "proxy-member"
GROUP = "proxy-viewers"
OTHER_GROUP = "proxy-readers"
PRIVATE = "echo-private"
PUBLIC = "echo-public"
SLOW = "slow-start"


def command_spec(display_name: str, script: str, *args: str, public: bool = False) -> dict[str, Any]:
    """A ``command`` app running one of ``tests/resources`` (absolute path: relative ones are from $HOME)."""
    return {
        "spec_version": 1,
        "framework": "command",
        "display_name": display_name,
        "command": ["{python}", str(RESOURCES / script), "{port}", *args],
        "public": public,
    }


@pytest.fixture(scope="module")
def apps(hub: Hub) -> Iterator[dict[str, str]]:
    """Start the module's apps, share the private one; yield their URLs by server name."""
    owner_token = hub.token_for(OWNER)
    specs = {
        PRIVATE: command_spec("Echo <private> & 'quoted'", "echo_app.py"),
        PUBLIC: command_spec("Echo public", "echo_app.py", public=True),
        SLOW: command_spec("Slow <app>", "slow_ready.py", "600"),
    }
    for server, spec in specs.items():
        response = hub.start_app(OWNER, server, spec, token=owner_token)
        assert response.status_code in (201, 202), response.text
    try:
        for server in specs:
            hub.wait_ready(OWNER, server)
        for server in (PRIVATE, PUBLIC):
            hub.wait_app(OWNER, server, owner_token)
        for user in (STRANGER, FRIEND, MEMBER):
            hub.ensure_user(user)
        assert hub.api("POST", f"groups/{GROUP}").status_code in (201, 409)
        assert hub.api("POST", f"groups/{GROUP}/users", json={"users": [MEMBER]}).status_code == 200
        assert hub.api("POST", f"groups/{OTHER_GROUP}").status_code in (201, 409)
        assert hub.api("POST", f"groups/{OTHER_GROUP}/users", json={"users": [FRIEND]}).status_code == 200
        share = f"shares/{OWNER}/{PRIVATE}"
        assert hub.api("POST", share, json={"user": FRIEND}).status_code == 200
        assert hub.api("POST", share, json={"group": GROUP}).status_code == 200
        yield {server: hub.app_url(OWNER, server) for server in specs}
    finally:
        for server in specs:
            hub.stop_app(OWNER, server, remove=True)


@pytest.fixture(scope="module")
def tokens(hub: Hub, apps: dict[str, str]) -> dict[str, str]:
    return {
        "owner": hub.token_for(OWNER),
        "stranger": hub.token_for(STRANGER),
        "friend": hub.token_for(FRIEND),
        "member": hub.token_for(MEMBER),
        "wrong-server": hub.token_for(OWNER, scopes=[f"access:servers!server={OWNER}/other"]),
        "right-server": hub.token_for(OWNER, scopes=[f"access:servers!server={OWNER}/{PRIVATE}"]),
    }


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0) as c:
        yield c


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"token {token}"} if token else {}


def _ws_status(url: str, headers: dict[str, str]) -> int:
    """The HTTP status of a websocket upgrade (101 when it was accepted; it is then closed again)."""
    try:
        with ws_connect(ws_url(url), additional_headers=headers, open_timeout=20) as ws:
            ws.send("ping")
            assert ws.recv(timeout=10) == "ping"
            return 101
    except websockets.InvalidStatus as error:
        return error.response.status_code


# viewer → expected (HTTP status, websocket status) for the private app
ACCESS = [
    (None, 401, 401),
    ("stranger", 403, 403),
    ("wrong-server", 403, 403),
    ("owner", 200, 101),
    ("right-server", 200, 101),
    ("friend", 200, 101),
    # A group share reaches the member's tokens only through hubapps.hub.group_shares (JupyterHub 6.1
    # adds only direct shares to a token's owner scopes).
    ("member", 200, 101),
]


@pytest.mark.parametrize(("viewer", "http_status", "ws_status"), ACCESS)
def test_access_matrix_private_app(
    apps: dict[str, str],
    tokens: dict[str, str],
    client: httpx.Client,
    viewer: str | None,
    http_status: int,
    ws_status: int,
) -> None:
    headers = _auth(tokens[viewer] if viewer else None)
    response = client.get(apps[PRIVATE] + "api/data", headers=headers)
    assert response.status_code == http_status, response.text[:300]
    if http_status == 200:
        assert response.json()["path"] == "/api/data"
    else:
        assert "headers" not in response.text  # nothing from the app leaks
    assert _ws_status(apps[PRIVATE] + "ws", headers) == ws_status


@pytest.mark.parametrize("viewer", [None, "stranger", "owner"])
def test_public_app_serves_anyone_but_not_its_logs(
    apps: dict[str, str], tokens: dict[str, str], client: httpx.Client, viewer: str | None
) -> None:
    headers = _auth(tokens[viewer] if viewer else None)
    response = client.get(apps[PUBLIC] + "hello", headers=headers)
    assert response.status_code == 200
    assert response.json()["path"] == "/hello"
    assert _ws_status(apps[PUBLIC] + "ws", headers) == 101
    logs = client.get(apps[PUBLIC] + "_hubapps/logs", headers=headers)
    assert logs.status_code == {None: 401, "stranger": 403, "owner": 200}[viewer]
    if viewer != "owner":
        assert "echo app listening" not in logs.text


def _cookie_header(browser: httpx.Client, prefix: str) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in browser.cookies.jar if prefix.startswith(c.path or "/"))


@pytest.mark.parametrize(
    ("viewer", "http_status"),
    [(OWNER, 200), (FRIEND, 200), (MEMBER, 200), (STRANGER, 403)],
)
def test_browser_login_through_the_hub_then_cookie_for_http_and_websocket(
    hub: Hub, apps: dict[str, str], login: Callable[..., httpx.Client], viewer: str, http_status: int
) -> None:
    browser = login(viewer)
    prefix = urlsplit(apps[PRIVATE]).path
    first = browser.get(apps[PRIVATE] + "page?x=1", headers={"Accept": "text/html"}, follow_redirects=False)
    assert first.status_code == 302
    assert "/hub/api/oauth2/authorize" in first.headers["location"]
    response = browser_visit(browser, apps[PRIVATE] + "page?x=1")
    assert response.status_code == http_status, response.text[:300]
    if http_status != 200:
        assert "headers" not in response.text
        return
    assert response.json()["path"] == "/page?x=1"
    seen = {k.lower(): v for k, v in response.json()["headers"]}
    assert seen["x-hubapps-user"] == viewer
    cookie_names = {part.split("=", 1)[0].strip() for part in seen.get("cookie", "").split(";") if part}
    assert not any(name.startswith("jupyterhub-") for name in cookie_names), cookie_names
    # The same cookie opens the websocket; a cross-site Origin is refused.
    jar = _cookie_header(browser, prefix)
    origin = hub.url.rstrip("/")
    assert _ws_status(apps[PRIVATE] + "ws", {"Cookie": jar, "Origin": origin}) == 101
    assert _ws_status(apps[PRIVATE] + "ws", {"Cookie": jar, "Origin": "https://evil.example"}) == 403


def test_identity_and_credentials_headers(apps: dict[str, str], tokens: dict[str, str], client: httpx.Client) -> None:
    forged = {
        **_auth(tokens["friend"]),
        "X-Hubapps-User": "mallory",
        "X-Forwarded-User": "mallory",
        "Remote-User": "mallory",
        "Cookie": f"keep=1; jupyterhub-user-{OWNER}-{PRIVATE}=stolen",
    }
    response = client.get(apps[PRIVATE] + "whoami", headers=forged)
    assert response.status_code == 200
    seen = {k.lower(): v for k, v in response.json()["headers"]}
    assert seen["x-hubapps-user"] == FRIEND
    assert OTHER_GROUP in seen["x-hubapps-groups"].split(",")
    assert "authorization" not in seen
    assert "x-forwarded-user" not in seen
    assert "remote-user" not in seen
    assert seen["cookie"] == "keep=1"
    assert response.headers["X-JupyterHub-Version"] == jupyterhub.__version__  # passed by the spawner


def test_streaming_through_the_hub(apps: dict[str, str], tokens: dict[str, str], client: httpx.Client) -> None:
    started = time.monotonic()
    arrivals: list[float] = []
    with client.stream("GET", apps[PRIVATE] + "sse?count=3&delay=0.6", headers=_auth(tokens["owner"])) as response:
        assert response.headers["content-type"] == "text/event-stream"
        for line in response.iter_lines():
            if line.startswith("data:"):
                arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 3
    assert arrivals[1] - arrivals[0] > 0.4
    assert arrivals[2] - arrivals[1] > 0.4


def test_redirects_stay_under_the_prefix(apps: dict[str, str], tokens: dict[str, str], client: httpx.Client) -> None:
    response = client.get(apps[PRIVATE] + "redirect", headers=_auth(tokens["owner"]))
    assert response.status_code == 302
    assert response.headers["location"] == urlsplit(apps[PRIVATE]).path + "somewhere?x=1"
    followed = get_under_prefix(
        client, apps[PRIVATE] + "redirect", urlsplit(apps[PRIVATE]).path, headers=_auth(tokens["owner"])
    )
    assert followed.json()["path"] == "/somewhere?x=1"


def test_startup_page_is_live_and_private(apps: dict[str, str], tokens: dict[str, str], client: httpx.Client) -> None:
    page = client.get(apps[SLOW], headers={**_auth(tokens["friend"]), "Accept": "text/html"})
    assert page.status_code == 403  # shared only the echo app, not this one
    page = client.get(apps[SLOW], headers={**_auth(tokens["owner"]), "Accept": "text/html"})
    assert page.status_code == 200
    assert "Starting Slow &lt;app&gt;" in page.text
    assert "slow app: warming up for 600" in page.text
    assert "_hubapps/events" in page.text
    # The event stream is served through the Hub's proxy too.
    url = apps[SLOW] + "_hubapps/events?since=0"
    with client.stream("GET", url, headers=_auth(tokens["owner"])) as events:
        assert events.status_code == 200
        assert events.headers["content-type"] == "text/event-stream"
        lines = events.iter_lines()
        received = [next(lines) for _ in range(3)]
    assert received[0] == "event: log"
    assert json.loads(received[2].removeprefix("data: "))["line"] == "slow app: warming up for 600.0 s"
    for viewer in (None, "stranger"):
        denied = client.get(url, headers=_auth(tokens[viewer] if viewer else None))
        assert denied.status_code in (401, 403)
        assert "warming" not in denied.text


def test_share_revocation_takes_effect(hub: Hub, apps: dict[str, str], client: httpx.Client) -> None:
    user = "proxy-revoked-" + secrets.token_hex(3)
    token = hub.token_for(user)
    share = f"shares/{OWNER}/{PRIVATE}"
    assert hub.api("POST", share, json={"user": user}).status_code == 200
    assert client.get(apps[PRIVATE], headers=_auth(token)).status_code == 200
    revoke = hub.api("PATCH", share, json={"user": user})
    assert revoke.status_code == 200, revoke.text
    # A new token is looked up afresh: no access at once (the old one within the cache max age).
    fresh = hub.token_for(user)
    assert client.get(apps[PRIVATE], headers=_auth(fresh)).status_code == 403
