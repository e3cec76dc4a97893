"""No user's token ever reaches a single-user server: the launcher's status and log calls included.

Bob controls the code of his servers. Here he makes every JupyterLab server of his record all the
request headers it receives (a ``~/.jupyter/jupyter_server_config.py``, which jupyterhub-singleuser
loads from his home), and runs a plain named server, a JupyterLab app and a command app. An admin
(API token and browser login), a user the apps are shared with and a stranger then open those apps'
details, status, logs and pages through the launcher. Afterwards every credential-like value Bob's
servers received is tried on the Hub API, on a route of every family, as a token and as a cookie:
each must be refused. The command app's status still works end to end, through its proxy, with the
service's signed request (no token).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from hubapps.examples import example_spec
from tests.integration.conftest import EXAMPLES_FOLDER, Hub, login_to_service

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
RECORD_FILE = "recorded-headers.jsonl"
PROBE = "X-Recorder-Probe"

#: Loaded by jupyterhub-singleuser from Bob's home: every request's headers go to ~/recorded-headers.jsonl.
RECORDER_CONFIG = f"""
import json, os
import tornado.httputil

_log = os.path.join(os.path.expanduser("~"), {RECORD_FILE!r})
_init = tornado.httputil.HTTPServerRequest.__init__


def _recording_init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    with open(_log, "a") as f:
        f.write(json.dumps({{"uri": self.uri, "headers": list(self.headers.get_all())}}) + "\\n")


tornado.httputil.HTTPServerRequest.__init__ = _recording_init
"""


def _routes(owner: str, server: str, victim: str) -> list[tuple[str, str]]:
    """A route of every Hub API family (method, path under /hub/api/)."""
    return [
        ("GET", "user"),
        ("GET", "users"),
        ("GET", f"users/{victim}"),
        ("GET", f"users/{victim}/tokens"),
        ("POST", f"users/{victim}/tokens"),
        ("GET", f"users/{owner}"),
        ("POST", f"users/{owner}/servers/recorder-made"),
        ("DELETE", f"users/{owner}/servers/{server}"),
        ("GET", f"users/{victim}/shared"),
        ("GET", "groups"),
        ("POST", "groups/recorder-group"),
        ("GET", "services"),
        ("GET", "proxy"),
        ("GET", "info"),
        ("GET", f"shares/{owner}/{server}"),
        ("POST", f"shares/{owner}/{server}"),
        ("GET", f"share-codes/{owner}/{server}"),
        ("POST", f"users/{victim}/activity"),
    ]


def _credentials(records: list[dict[str, object]]) -> set[tuple[str, str]]:
    """(kind, value) of everything credential-like the recorder saw: tokens, cookies, X-* values."""
    found: set[tuple[str, str]] = set()
    for record in records:
        for name, value in record["headers"]:  # type: ignore[attr-defined]
            lower = str(name).lower()
            value = str(value)
            if lower == "authorization":
                found.add(("value", value.split(" ", 1)[-1].strip()))
                found.add(("header", value))
            elif lower == "cookie":
                for pair in value.split(";"):
                    pair = pair.strip()
                    if pair:
                        found.add(("cookie", pair))
                        found.add(("value", pair.partition("=")[2]))
            elif lower.startswith("x-"):
                found.add(("value", value))
    return {(k, v) for k, v in found if v}


@pytest.fixture(scope="module")
def bobs_servers(hub: Hub) -> Iterator[dict[str, str]]:
    suffix = secrets.token_hex(3)
    bob = f"rec-bob-{suffix}"
    token = hub.token_for(bob)
    jupyter = hub.home(bob) / ".jupyter"
    jupyter.mkdir(parents=True, exist_ok=True)
    (jupyter / "jupyter_server_config.py").write_text(RECORDER_CONFIG)
    servers = {
        "plain": {},
        "lab": example_spec("jupyterlab", EXAMPLES_FOLDER, display_name="Recording lab"),
        "echo": {
            "spec_version": 1,
            "jhub_app": True,
            "framework": "command",
            "display_name": "Echo",
            "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
        },
    }
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda item: hub.create_app(bob, item[0], item[1], token=token), servers.items()))
    try:
        hub.wait_app(bob, "echo", token)
        yield {"bob": bob, "token": token, "suffix": suffix}
    finally:
        for server in servers:
            hub.stop_app(bob, server, remove=True)


def _recorded(hub: Hub, bob: str) -> list[dict[str, object]]:
    path = hub.home(bob) / RECORD_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_no_credential_reaches_bobs_servers(hub: Hub, bobs_servers: dict[str, str]) -> None:
    bob, suffix = bobs_servers["bob"], bobs_servers["suffix"]
    svc = hub.url + "services/japps/"
    friend, stranger = f"rec-friend-{suffix}", f"rec-stranger-{suffix}"
    tokens = {"admin": hub.token_for("admin"), "friend": hub.token_for(friend), "stranger": hub.token_for(stranger)}
    for server in ("lab", "echo"):
        assert hub.api("POST", f"shares/{bob}/{server}", json={"user": friend}).status_code == 200

    with httpx.Client(timeout=30) as client:
        # The recorder works: a probe through the Hub's proxy is recorded by both JupyterLab servers.
        for server in ("plain", "lab"):
            client.get(hub.app_url(bob, server) + "probe", headers={PROBE: f"probe-{server}"})
        seen = [(str(n), str(v)) for r in _recorded(hub, bob) for n, v in r["headers"]]  # type: ignore[attr-defined]
        probes = {v for n, v in seen if n.lower() == PROBE.lower()}
        assert probes == {"probe-plain", "probe-lab"}, "the header recorder is not running"

        # Everyone opens everything through the launcher's REST API, with their API token ...
        for token in tokens.values():
            for server in ("plain", "lab", "echo"):
                for path in ("", "/status", "/logs"):
                    client.get(
                        f"{svc}api/apps/{quote(bob)}/{server}{path}", headers={"Authorization": f"token {token}"}
                    )
        # ... and the admin and the friend through the launcher's pages, logged in with the browser.
        for who in ("admin", friend):
            browser = hub.login(who)
            try:
                login_to_service(browser, svc)
                for server in ("plain", "lab", "echo"):
                    for page in ("", "/watch"):
                        browser.get(f"{svc}ui/apps/{quote(bob)}/{server}{page}")
                    for path in ("/status", "/logs?lines=200"):  # what the pages' script asks
                        browser.get(f"{svc}api/apps/{quote(bob)}/{server}{path}")
            finally:
                browser.close()

        # The command app's status comes from its proxy (the service's signed request); JupyterLab
        # servers are not asked for a log at all.
        admin = {"Authorization": f"token {tokens['admin']}"}
        deadline = time.monotonic() + 30
        while True:
            status = client.get(f"{svc}api/apps/{quote(bob)}/echo/status", headers=admin).json()
            if status.get("app_state") == "ready" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        logs = client.get(f"{svc}api/apps/{quote(bob)}/echo/logs", headers=admin)
        lab_logs = client.get(f"{svc}api/apps/{quote(bob)}/lab/logs", headers=admin)

        # Every credential-like value Bob's servers received is worth nothing on the Hub API.
        found = _credentials(_recorded(hub, bob))
        assert ("value", "probe-plain") in found
        accepted: list[str] = []
        for kind, value in sorted(found):
            for method, route in _routes(bob, "lab", "admin"):
                url = hub.url + "hub/api/" + route
                attempts = []
                if kind == "value":
                    attempts += [{"Authorization": f"token {value}"}, {"Cookie": f"jupyterhub-hub-login={value}"}]
                elif kind == "header":
                    attempts.append({"Authorization": value})
                else:
                    attempts.append({"Cookie": value})
                for headers in attempts:
                    try:
                        r = client.request(method, url, headers=headers, json={} if method == "POST" else None)
                    except httpx.LocalProtocolError:
                        continue  # not sendable as a header: not usable as a credential either
                    if r.status_code not in (401, 403):
                        accepted.append(f"{method} {route} with {next(iter(headers))} {value[:6]}…: {r.status_code}")
        assert not accepted, "credentials Bob's servers received work on the Hub API:\n" + "\n".join(accepted)

    assert status["app_state"] == "ready", status
    assert logs.status_code == 200, logs.text
    assert any("echo app listening" in line for line in logs.json()["lines"])
    assert lab_logs.status_code == 409, lab_logs.text
