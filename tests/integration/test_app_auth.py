"""Who gets through to a private app, end to end through configurable-http-proxy.

The app (``apps/request_log_app.py``, run with the ``command`` framework) writes every request it
receives to ``requests.log``, so the tests can tell "refused by hubapps-proxy" from "answered by the app".
"""

from __future__ import annotations

import html
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.integration.conftest import Hub, ws_url

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

OWNER = "auth-owner"
OTHER = "auth-other"
SERVER = "private"
APP_FOLDER = "request-log-app"
APP_MARKER = "<h1>Request log app</h1>"
APP_SOURCE = Path(__file__).with_name("apps") / "request_log_app.py"


class PrivateApp:
    def __init__(self, hub: Hub, owner_token: str) -> None:
        self.hub = hub
        self.owner_token = owner_token
        self.url = hub.app_url(OWNER, SERVER)
        self.prefix = urlsplit(self.url).path
        self.origin = hub.url.rstrip("/")
        self.log_file = hub.home(OWNER) / APP_FOLDER / "requests.log"

    def probe(self, name: str) -> str:
        """A unique path under the app, to look for in its request log."""
        return f"probe-{name}-{secrets.token_hex(4)}"

    def received(self) -> str:
        return self.log_file.read_text() if self.log_file.exists() else ""


@pytest.fixture(scope="module")
def private_app(hub: Hub) -> Iterator[PrivateApp]:
    owner_token = hub.token_for(OWNER)
    folder = hub.home(OWNER) / APP_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(APP_SOURCE, folder)
    spec = {
        "spec_version": 1,
        "jhub_app": True,
        "framework": "command",
        "display_name": "Private request log",
        "working_dir": APP_FOLDER,
        "command": ["{python}", "request_log_app.py"],
    }
    hub.create_app(OWNER, SERVER, spec, token=owner_token)
    hub.wait_app(OWNER, SERVER, owner_token)
    yield PrivateApp(hub, owner_token)
    hub.stop_app(OWNER, SERVER, remove=True)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0) as c:
        yield c


def test_owner_token_reaches_the_app(private_app: PrivateApp, client: httpx.Client) -> None:
    """The control case: the request log records what does reach the app."""
    probe = private_app.probe("owner")
    response = client.get(private_app.url + probe, headers={"Authorization": f"token {private_app.owner_token}"})
    assert response.status_code == 200
    assert APP_MARKER in response.text
    assert f"GET /{probe}" in private_app.received()


def test_browser_without_login_is_sent_to_hub_oauth(private_app: PrivateApp, client: httpx.Client, hub: Hub) -> None:
    probe = private_app.probe("browser")
    response = client.get(private_app.url + probe, headers={"Accept": "text/html,application/xhtml+xml"})

    assert response.status_code == 302, response.text[:300]
    location = urlsplit(response.headers["location"])
    assert location.netloc in ("", urlsplit(hub.url).netloc)
    assert location.path == "/hub/api/oauth2/authorize"
    query = parse_qs(location.query)
    assert query["client_id"] == [f"jupyterhub-user-{OWNER}-{SERVER}"]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"][0].endswith(f"{private_app.prefix}oauth_callback")
    assert query["state"][0]
    assert APP_MARKER not in response.text
    assert probe not in private_app.received()


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("GET", {"Accept": "application/json"}),
        ("POST", {"Content-Type": "application/json"}),
        ("GET", {"Authorization": "token not-a-real-token"}),
        ("GET", {"Authorization": "Bearer not-a-real-token", "Accept": "text/html"}),
        ("GET", {"Cookie": "jupyterhub-session-id=forged; jupyterhub-hub-login=forged"}),
    ],
    ids=["api-get", "api-post", "bad-token", "bad-bearer", "forged-hub-cookies"],
)
def test_api_request_without_valid_credentials_is_refused(
    private_app: PrivateApp, client: httpx.Client, method: str, headers: dict[str, str]
) -> None:
    probe = private_app.probe("api")
    response = client.request(method, private_app.url + probe, headers=headers)
    if "text/html" in headers.get("Accept", "") and response.status_code == 302:
        # A browser with a bad credential is sent to log in again; it still never reaches the app.
        assert urlsplit(response.headers["location"]).path == "/hub/api/oauth2/authorize"
    else:
        assert response.status_code in (401, 403), response.text[:300]
    assert APP_MARKER not in response.text
    assert probe not in private_app.received()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "token not-a-real-token"}],
    ids=["no-credentials", "bad-token"],
)
async def test_websocket_without_valid_credentials_is_refused(private_app: PrivateApp, headers: dict[str, str]) -> None:
    probe = private_app.probe("ws")
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(
            ws_url(private_app.url + probe),
            additional_headers=headers,
            origin=websockets.Origin(private_app.origin),
            open_timeout=30,
        ):
            pass
    assert refused.value.response.status_code in (401, 403)
    assert probe not in private_app.received()


async def test_websocket_with_owner_token_reaches_the_app(private_app: PrivateApp) -> None:
    """Control for the websocket refusals: the upgrade request does reach the app (which is HTTP-only)."""
    probe = private_app.probe("ws-owner")
    with pytest.raises(InvalidStatus) as answered:
        async with websockets.connect(
            ws_url(private_app.url + probe),
            additional_headers={"Authorization": f"token {private_app.owner_token}"},
            origin=websockets.Origin(private_app.origin),
            open_timeout=30,
        ):
            pass
    # The proxy let it through; the app, which speaks no websocket, did not upgrade.
    assert answered.value.response.status_code not in (101, 401, 403)
    assert f"GET /{probe}" in private_app.received()


def _browse(client: httpx.Client, url: str) -> httpx.Response:
    """Follow redirects like a browser through the Hub's OAuth dance, clicking "Authorize" if asked.

    The Hub asks for confirmation when a user opens a server shared with them (not their own).
    """
    response = client.get(url, headers={"Accept": "text/html"}, follow_redirects=True)
    if urlsplit(str(response.url)).path == "/hub/api/oauth2/authorize" and '<form method="post"' in response.text:
        fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.text)
        assert fields, "the Hub's authorize form has no fields"
        form: dict[str, list[str]] = {}
        for name, value in fields:
            form.setdefault(name, []).append(html.unescape(value))
        response = client.post(str(response.url), data=form, follow_redirects=True)
    return response


def test_other_user_needs_a_share(private_app: PrivateApp, hub: Hub, login: Any, client: httpx.Client) -> None:
    other_token = hub.token_for(OTHER)
    browser = login(OTHER)

    probe = private_app.probe("other-token")
    response = client.get(private_app.url + probe, headers={"Authorization": f"token {other_token}"})
    assert response.status_code == 403
    assert APP_MARKER not in response.text
    probe_browser = private_app.probe("other-browser")
    response = _browse(browser, private_app.url + probe_browser)
    assert response.status_code == 403, f"{response.url}: {response.text[:300]}"
    assert APP_MARKER not in response.text
    received = private_app.received()
    assert probe not in received
    assert probe_browser not in received

    shared = hub.api(
        "POST",
        f"shares/{OWNER}/{SERVER}",
        token=hub.token_for(OWNER, ["shares!user", "read:users:name"]),
        json={"user": OTHER},
    )
    assert shared.status_code == 200, shared.text
    try:
        probe_browser = private_app.probe("shared-browser")
        response = _browse(browser, private_app.url + probe_browser)
        assert response.status_code == 200, f"{response.url}: {response.text[:300]}"
        assert APP_MARKER in response.text
        assert str(response.url) == private_app.url + probe_browser
        # A token minted after the share carries the new permission too.
        probe = private_app.probe("shared-token")
        response = client.get(private_app.url + probe, headers={"Authorization": f"token {hub.token_for(OTHER)}"})
        assert response.status_code == 200
        assert APP_MARKER in response.text
        received = private_app.received()
        assert f"GET /{probe_browser}" in received
        assert f"GET /{probe}" in received
    finally:
        revoked = hub.api("PATCH", f"shares/{OWNER}/{SERVER}", json={"user": OTHER})
        assert revoked.status_code == 200, revoked.text
