"""The proxy's own endpoints follow the API's rule, slow requests are cut off, app output cannot flood
or forge the Hub's log (issue 10, requirements 5, 7 and 8).

A Hub of its own, with small limits for every app's proxy (``c.HubApps.proxy_limits``): 2 s for a
request head, 2 s without a body byte, then 1000 bytes/s; 20 000 bytes/s of app output to the Hub's
log with a burst of 100 000 bytes, a note of dropped lines every second. Apps of one owner, each shared
with a friend through the Hub's shares API: a request-logging app, an app that starts for ten minutes,
one that never gets ready (it fails after the Hub-wide 15 s ready timeout), the echo app (uploads) and
a flood app (100 MB of output, forged Hub log lines).
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests.integration.conftest import Hub, own_hub

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
OWNER = "safe-owner"
FRIEND = "safe-friend"
ADMIN = "admin"  # an admin user of the shared test configuration
REQUEST_LOG = "request-log"
SLOW = "slow-start"
NEVER = "never-ready"
ECHO = "echo"
FLOOD = "flood"
READY_TIMEOUT = 15
LOG_RATE = 20_000
LOG_BURST = 100_000
BODY_MIN_RATE = 1000
CONFIG = f"""\
c = get_config()  # noqa: F821
load_subconfig({{main!r}})  # noqa: F821
c.HubApps.ready_timeout = {READY_TIMEOUT}
c.HubApps.proxy_limits = {{{{
    "log-echo-rate": {LOG_RATE},
    "log-echo-burst": {LOG_BURST},
    "log-echo-note-interval": 1,
    "request-head-timeout": 2,
    "request-body-timeout": 2,
    "request-body-min-rate": {BODY_MIN_RATE},
}}}}
"""
#: A query-string secret the owner's request puts in the app's request log.
SECRET = "api_key=" + secrets.token_hex(8)


def _spec(script: str, *args: str) -> dict[str, Any]:
    return {
        "spec_version": 1,
        "framework": "command",
        "display_name": script,
        "command": ["{python}", str(RESOURCES / script), "{port}", *args],
    }


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


@pytest.fixture(scope="module")
def safety_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("safety-hub"), CONFIG) as running:
        yield running


@pytest.fixture(scope="module")
def tokens(safety_hub: Hub) -> dict[str, str]:
    return {user: safety_hub.token_for(user) for user in (OWNER, FRIEND, ADMIN)}


@pytest.fixture(scope="module")
def apps(safety_hub: Hub, tokens: dict[str, str]) -> Iterator[dict[str, str]]:
    """The request-log, never-ready and echo apps, running and shared with the friend."""
    hub = safety_hub
    specs = {
        REQUEST_LOG: _spec("request_log_app.py"),
        NEVER: _spec("never_ready.py"),
        ECHO: _spec("echo_app.py"),
    }
    for server, spec in specs.items():
        response = hub.start_app(OWNER, server, spec, token=tokens[OWNER])
        assert response.status_code in (201, 202), response.text
    try:
        for server in specs:
            hub.wait_ready(OWNER, server)
            assert hub.api("POST", f"shares/{OWNER}/{server}", json={"user": FRIEND}).status_code == 200
        for server in (REQUEST_LOG, ECHO):
            hub.wait_app(OWNER, server, tokens[OWNER])
        yield {server: hub.app_url(OWNER, server) for server in specs}
    finally:
        for server in specs:
            hub.stop_app(OWNER, server, remove=True)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0) as c:
        yield c


def _events(client: httpx.Client, url: str, token: str, count: int) -> list[tuple[str, dict[str, Any]]]:
    """The first ``count`` events of an event stream (or fewer, if it ends), as (event, data)."""
    found: list[tuple[str, dict[str, Any]]] = []
    event = ""
    with client.stream("GET", url, headers=_auth(token)) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                found.append((event, json.loads(line.removeprefix("data: "))))
                if len(found) >= count:
                    break
    return found


def _wait_state(client: httpx.Client, url: str, token: str, state: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(url + "_hubapps/status", headers=_auth(token)).json().get("state") == state:
            return
        time.sleep(0.5)
    raise AssertionError(f"{url} not {state} after {timeout:g} s")


# -- requirement 5: the proxy's own endpoints ----------------------------------------------------------


def test_a_share_reads_nothing_of_the_request_log_the_owner_and_admins_do(
    safety_hub: Hub, apps: dict[str, str], tokens: dict[str, str], client: httpx.Client
) -> None:
    url = apps[REQUEST_LOG]
    assert client.get(url + "page?" + SECRET, headers=_auth(tokens[OWNER])).text == "ok request log app"
    # The friend may use the app (it is shared with them)...
    assert client.get(url + "page", headers=_auth(tokens[FRIEND])).status_code == 200
    # ...but reads nothing of its output through any of the proxy's endpoints.
    logs = client.get(url + "_hubapps/logs", headers=_auth(tokens[FRIEND]))
    assert logs.status_code == 404
    assert SECRET not in logs.text
    assert client.get(url + "_hubapps/logs?since=0", headers=_auth(tokens[FRIEND])).status_code == 404
    status = client.get(url + "_hubapps/status", headers=_auth(tokens[FRIEND]))
    assert status.status_code == 200
    assert status.json() == {"state": "ready"}
    events = _events(client, url + "_hubapps/events?since=0", tokens[FRIEND], 50)
    assert events == [("status", {"state": "ready"})]
    # The owner and an admin read the log, query-string secret included.
    for viewer in (OWNER, ADMIN):
        logs = client.get(url + "_hubapps/logs", headers=_auth(tokens[viewer]))
        assert logs.status_code == 200
        assert any(SECRET in line for line in logs.json()["lines"]), logs.text[:500]
        assert set(client.get(url + "_hubapps/status", headers=_auth(tokens[viewer])).json()) >= {"state", "reason"}
        log_events = [data for event, data in _events(client, url + "_hubapps/events?since=0", tokens[viewer], 3)]
        assert any("request log app listening" in str(data.get("line")) for data in log_events)
    # The launcher service still reads status and log with its signed request (no user token).
    svc = safety_hub.url + "services/japps/api/apps/" + quote(OWNER) + "/" + REQUEST_LOG
    service_status = client.get(svc + "/status", headers=_auth(tokens[OWNER]))
    assert service_status.status_code == 200, service_status.text
    assert service_status.json()["app_state"] == "ready"
    service_logs = client.get(svc + "/logs", headers=_auth(tokens[OWNER]))
    assert any(SECRET in line for line in service_logs.json()["lines"])
    # And the API's rule, which the proxy now follows: the friend gets 404 there too.
    assert client.get(svc + "/logs", headers=_auth(tokens[FRIEND])).status_code == 404


def test_a_share_link_holder_reads_nothing_of_the_output(
    safety_hub: Hub, apps: dict[str, str], tokens: dict[str, str], client: httpx.Client
) -> None:
    hub = safety_hub
    holder = "safe-link-holder"
    made = hub.api("POST", f"share-codes/{OWNER}/{REQUEST_LOG}", json={"expires_in": 600})
    assert made.status_code == 200, made.text
    browser = hub.login(holder)
    try:
        accepted = browser.post(
            "hub/accept-share", data={"code": made.json()["code"], "_xsrf": browser.cookies.get("_xsrf") or ""}
        )
        assert accepted.status_code == 302, accepted.text[:300]
    finally:
        browser.close()
    token = hub.token_for(holder)
    url = apps[REQUEST_LOG]
    assert client.get(url + "page", headers=_auth(token)).status_code == 200  # the link gives access
    assert client.get(url + "_hubapps/logs", headers=_auth(token)).status_code == 404
    assert client.get(url + "_hubapps/status", headers=_auth(token)).json() == {"state": "ready"}
    assert _events(client, url + "_hubapps/events?since=0", token, 50) == [("status", {"state": "ready"})]


def test_the_startup_page_shows_output_to_the_owner_only(
    safety_hub: Hub, tokens: dict[str, str], client: httpx.Client
) -> None:
    # Started here: it fails once the ready timeout has passed, so the test has all of that time.
    safety_hub.create_app(OWNER, SLOW, _spec("slow_ready.py", "600"), token=tokens[OWNER])
    try:
        assert safety_hub.api("POST", f"shares/{OWNER}/{SLOW}", json={"user": FRIEND}).status_code == 200
        _check_startup_page(safety_hub.app_url(OWNER, SLOW), tokens, client)
    finally:
        safety_hub.stop_app(OWNER, SLOW, remove=True)


def _check_startup_page(url: str, tokens: dict[str, str], client: httpx.Client) -> None:
    html = {"Accept": "text/html"}
    owner_page = client.get(url, headers={**_auth(tokens[OWNER]), **html})
    assert owner_page.status_code == 200
    assert "warming up" in owner_page.text
    friend_page = client.get(url, headers={**_auth(tokens[FRIEND]), **html})
    assert friend_page.status_code == 200
    assert "Starting slow_ready.py" in friend_page.text
    assert "warming up" not in friend_page.text
    assert client.get(url + "_hubapps/status", headers=_auth(tokens[FRIEND])).json() == {"state": "starting"}
    # The stream the page follows: the state only (it stays open while the app starts).
    assert _events(client, url + "_hubapps/events?since=0", tokens[FRIEND], 1) == [("status", {"state": "starting"})]
    owner_events = _events(client, url + "_hubapps/events?since=0", tokens[OWNER], 1)
    assert owner_events[0][0] == "log"
    assert "warming up" in owner_events[0][1]["line"]


# -- requirement 7: slow requests ------------------------------------------------------------------------


def _drip(address: tuple[str, int], head: bytes, drip: bytes, *, every: float, for_at_most: float) -> bytes:
    """Send ``head``, then ``drip`` one byte at a time every ``every`` seconds, reading what comes back;
    stop when the server closed the connection or after ``for_at_most`` seconds. Returns what was read."""
    received = b""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(head)
        sock.settimeout(every)
        stop = time.monotonic() + for_at_most
        for byte in drip:
            if time.monotonic() > stop:
                break
            try:
                sock.sendall(bytes([byte]))
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # (reset: the server closed with bytes unread)
                break
            if not chunk:
                break
            received += chunk
        else:
            return received
    return received


def _proxy_address(hub: Hub, server: str) -> tuple[str, int]:
    """Where the app's proxy listens (the route's target in configurable-http-proxy)."""
    routes = hub.api("GET", "proxy").json()
    target = urlsplit(routes[f"/user/{OWNER}/{server}/"]["target"])
    assert target.hostname
    assert target.port
    return target.hostname, target.port


def test_a_body_dripping_slower_than_the_minimum_rate_is_cut_off(
    safety_hub: Hub, apps: dict[str, str], tokens: dict[str, str]
) -> None:
    hub_address = ("127.0.0.1", urlsplit(safety_hub.url).port or 80)
    head = (
        f"POST /user/{OWNER}/{ECHO}/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: token {tokens[OWNER]}\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    # Two bytes a second, through configurable-http-proxy: the proxy answers 408 and closes, long before
    # the body (1000 bytes, 500 s at this pace) or the 60 s the client is willing to drip.
    received = _drip(hub_address, head, b"z" * 1000, every=0.5, for_at_most=60)
    assert received.startswith(b"HTTP/1.1 408 "), received[:300]


def test_a_header_drip_is_cut_off(safety_hub: Hub, apps: dict[str, str], tokens: dict[str, str]) -> None:
    head = f"GET /user/{OWNER}/{ECHO}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
    received = _drip(_proxy_address(safety_hub, ECHO), head, b"X-Slow: " + b"a" * 1000, every=0.5, for_at_most=60)
    assert received.startswith(b"HTTP/1.1 408 "), received[:300]


def test_a_large_upload_still_works(apps: dict[str, str], tokens: dict[str, str], client: httpx.Client) -> None:
    body = secrets.token_bytes(1 << 20) * 32  # 32 MiB
    response = client.post(apps[ECHO] + "upload", content=body, headers=_auth(tokens[OWNER]), timeout=120)
    assert response.status_code == 200, response.text[:300]
    assert response.json()["bytes"] == len(body)


# -- requirement 8: app output and the Hub log -----------------------------------------------------------

#: Control characters that must never reach the Hub's log from an app: C0 codes, DEL, NEL, LS, RLO.
RAW_CONTROLS = re.compile("[\x00-\x1f\x7f\x85\u2028\u202e]")


def test_a_flooding_app_cannot_flood_or_forge_the_hub_log(safety_hub: Hub, tokens: dict[str, str]) -> None:
    hub = safety_hub
    marker = secrets.token_hex(6)
    before = hub.log_path.stat().st_size
    started = time.monotonic()
    hub.create_app(OWNER, FLOOD, _spec("flood_app.py", "100", marker), token=tokens[OWNER])
    try:
        url = hub.app_url(OWNER, FLOOD)
        deadline = time.monotonic() + 240
        done, since = False, 0
        with httpx.Client(timeout=30.0) as client:
            while not done and time.monotonic() < deadline:
                logs = client.get(url + f"_hubapps/logs?since={since}", headers=_auth(tokens[OWNER])).json()
                done = f"DONE-{marker}" in logs["lines"]
                since = logs["next"]
                time.sleep(0.5)
        assert done, "the flood app did not finish"
        time.sleep(3)  # the note of dropped lines comes within a second
        elapsed = time.monotonic() - started
    finally:
        hub.stop_app(OWNER, FLOOD, remove=True)
    with hub.log_path.open("rb") as log:
        log.seek(before)
        grown = log.read()
    text = grown.decode("utf-8", "replace")
    lines = text.split("\n")
    prefix = f"[hubapps app {OWNER}/{FLOOD}] "
    # Bounded: the burst, the rate over the time the app ran, and room for the Hub's own lines.
    allowed = LOG_BURST + LOG_RATE * elapsed + 200_000
    assert len(grown) <= allowed, f"the Hub log grew by {len(grown)} bytes in {elapsed:.1f} s (allowed {allowed:.0f})"
    printed = (f"FORGED-{marker}", f"FLOOD-{marker}", f"DONE-{marker}")  # (the Hub logs the command line too)
    app_lines = [line for line in lines if any(mark in line for mark in printed)]
    assert app_lines, "none of the app's output reached the Hub log"
    for line in app_lines:
        assert line.startswith(prefix), repr(line[:200])
        assert len(line) < len(prefix) + 2100, len(line)
    for line in app_lines:
        assert not RAW_CONTROLS.search(line), repr(line[:200])
    forged = [line for line in app_lines if f"FORGED-{marker}" in line]
    assert len(forged) == 6, forged  # the line break inside one write made a line of its own, prefixed
    assert any("\\x0d[I 2026" in line for line in forged)
    assert any("\\x1b[31m" in line for line in forged)
    assert any("more characters]" in line for line in forged)  # the 100 000-character line, cut
    assert any("lines (" in line and "dropped" in line for line in lines if line.startswith(prefix))
    flood_lines = sum(1 for line in app_lines if f"FLOOD-{marker}" in line)
    assert flood_lines < 100_000 // 2  # most of the ~100 000 lines were dropped


# -- last, so that the never-ready app has failed by then (its ready timeout runs from the module's start)


def test_the_failure_page_shows_output_and_reason_to_the_owner_only(
    apps: dict[str, str], tokens: dict[str, str], client: httpx.Client
) -> None:
    url = apps[NEVER]
    _wait_state(client, url, tokens[OWNER], "failed", READY_TIMEOUT + 30)
    html = {"Accept": "text/html"}
    owner_page = client.get(url, headers={**_auth(tokens[OWNER]), **html})
    assert owner_page.status_code == 500
    assert "never ready: not listening" in owner_page.text
    assert "ready path" in owner_page.text  # the reason
    friend_page = client.get(url, headers={**_auth(tokens[FRIEND]), **html})
    assert friend_page.status_code == 500
    assert "could not start" in friend_page.text
    assert "never ready" not in friend_page.text
    assert "ready path" not in friend_page.text
    assert client.get(url + "_hubapps/status", headers=_auth(tokens[FRIEND])).json() == {"state": "failed"}
    assert client.get(url + "_hubapps/logs", headers=_auth(tokens[FRIEND])).status_code == 404
    assert _events(client, url + "_hubapps/events?since=0", tokens[FRIEND], 50) == [("status", {"state": "failed"})]
