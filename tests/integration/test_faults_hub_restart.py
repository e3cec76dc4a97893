"""The Hub restarted (``cleanup_servers = False``) while an app runs and a viewer is connected to it.

JupyterHub's promise, kept for apps: the app's processes outlive the Hub (it finds them again by the
pid in each server's stored state), and so does the proxy in front of them when the Hub did not start
it (``ConfigurableHTTPProxy.should_start = False``, as in z2jh): here the module runs
configurable-http-proxy itself. So through the restart the viewer's open websocket carries messages
both ways, their logged-in session still opens the app, the app's proxy reports activity to the new
Hub, and the launcher (a managed service: the Hub stops it and starts it again) lists the app running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from websockets.sync.client import connect as ws_connect

from tests.integration.conftest import CHP, Hub, HubError, browser_visit, own_hub, ws_url

pytestmark = [pytest.mark.integration]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
OWNER = "restart-owner"
SERVER = "echo"

CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
import hubapps

c.JupyterHub.cleanup_servers = False
# The module runs configurable-http-proxy; it outlives the Hub, and with it the open connections.
c.ConfigurableHTTPProxy.should_start = False
# A report the Hub (restarting) did not take is retried within seconds.
c.HubApps.proxy_limits = {{"activity-retry": 0.5, "activity-retry-max": 2}}
hubapps.install(c)
# How often the Hub puts missing routes back into a proxy it did not start (and reads its activity).
c.JupyterHub.last_activity_interval = 2
c.Spawner.environment = {{**c.Spawner.environment, "JUPYTERHUB_ACTIVITY_INTERVAL": "1"}}
"""


def chp_command(hub: Hub) -> list[str]:
    """configurable-http-proxy on the Hub's public and API ports, as an operator runs it beside the Hub."""
    return [
        str(CHP),
        "--ip=127.0.0.1",
        f"--port={hub.proxy_port}",
        "--api-ip=127.0.0.1",
        f"--api-port={hub.proxy_api_port}",
        f"--error-target=http://127.0.0.1:{hub.hub_port}/hub/error",
        "--log-level=warn",
    ]


def start_chp(hub: Hub) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": hub.proxy_auth_token}
    with (hub.root / "chp.log").open("ab") as log:
        return subprocess.Popen(chp_command(hub), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture(scope="module")
def proxies() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The configurable-http-proxy processes the module started, the running one last."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proxy in started:
        proxy.terminate()
        proxy.wait(10)


@pytest.fixture(scope="module")
def restart_hub(tmp_path_factory: pytest.TempPathFactory, proxies: list[subprocess.Popen[bytes]]) -> Iterator[Hub]:
    with own_hub(
        tmp_path_factory.mktemp("restart-hub"), CONFIG, before_start=lambda hub: proxies.append(start_chp(hub))
    ) as running:
        yield running


def _spec(name: str) -> dict[str, Any]:
    return {
        "framework": "command",
        "display_name": name,
        "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
        "start": True,
    }


def _when(stamp: str | None) -> datetime:
    assert stamp, "the Hub has no last_activity for the server"
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


class Pinger(threading.Thread):
    """Sends a message over the open websocket every 0.2 s and checks its echo, until told to stop."""

    def __init__(self, ws: Any) -> None:
        super().__init__(daemon=True)
        self.ws = ws
        self.echoed = 0
        self.failure: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.wait(0.2):
                message = f"ping {self.echoed}"
                self.ws.send(message)
                assert self.ws.recv(timeout=10) == message
                self.echoed += 1
        except BaseException as error:  # reported by the test
            self.failure = error


@pytest.mark.timeout(240)
def test_an_app_and_its_viewers_ride_through_a_hub_restart(restart_hub: Hub) -> None:
    hub = restart_hub
    token = hub.token_for(OWNER)
    auth = {"Authorization": f"token {token}"}
    api = hub.url + "services/japps/api/"
    with httpx.Client(timeout=60) as client:
        created = client.post(api + "apps", headers=auth, json=_spec("Echo"))
        assert created.status_code == 201, created.text
        before = hub.wait_ready(OWNER, SERVER)
        hub.wait_app(OWNER, SERVER, token)
    url = hub.app_url(OWNER, SERVER)
    viewer = hub.login(OWNER)
    try:
        assert browser_visit(viewer, url + "page").json()["path"].endswith("/page")
        with ws_connect(ws_url(url) + "ws", additional_headers=auth, open_timeout=30) as ws:
            pinger = Pinger(ws)
            pinger.start()
            hub.restart()
            echoed_during_restart = pinger.echoed
            back = datetime.now(UTC)
            # Messages keep flowing both ways over the websocket opened before the restart.
            deadline = time.monotonic() + 30
            while pinger.echoed < echoed_during_restart + 5 and pinger.failure is None and time.monotonic() < deadline:
                time.sleep(0.1)
            pinger.done.set()
            pinger.join(15)
            assert pinger.failure is None, f"the websocket broke: {pinger.failure!r}"
            assert pinger.echoed >= echoed_during_restart + 5

            # The same run of the app (not started again), and its activity reaches the new Hub.
            deadline = time.monotonic() + 30
            model: dict[str, Any] | None = None
            while time.monotonic() < deadline:
                model = hub.server_model(OWNER, SERVER)
                assert model is not None, "the app's server stopped"
                assert model["ready"], model
                if _when(model["last_activity"]) >= back:
                    break
                time.sleep(0.5)
            else:
                raise HubError(f"no activity reported to the restarted Hub: {model}\n{hub.log_tail()}")
            assert model["started"] == before["started"]
            # (The Hub also reads activity from its proxy's routes: its own log shows the app's reports.)
            restarted_log = hub.log_path.read_text(errors="replace").rsplit("Leaving single-user servers running", 1)[1]
            assert f"200 POST /hub/api/users/{OWNER}/activity" in restarted_log

        # The viewer's session still opens the app.
        again = browser_visit(viewer, url + "after")
        assert again.status_code == 200, again.text[:300]
        assert again.json()["path"].endswith("/after")
    finally:
        viewer.close()

    # The launcher is back (the Hub started it again) and lists the app, running, once.
    with httpx.Client(timeout=30) as client:
        deadline = time.monotonic() + 60
        listing = None
        while time.monotonic() < deadline:
            try:
                listing = client.get(api + "apps", headers=auth, params={"access": "owned"})
            except httpx.TransportError:
                listing = None
            if listing is not None and listing.status_code == 200:
                break
            time.sleep(0.5)
        assert listing is not None, "the launcher did not answer"
        assert listing.status_code == 200, listing.text
        assert [(a["name"], a["state"]) for a in listing.json()["data"]] == [(SERVER, "running")]
        status = client.get(api + f"apps/{OWNER}/{SERVER}/status", headers=auth)
        assert status.status_code == 200, status.text
        assert status.json()["app_state"] == "ready", status.text


@pytest.mark.timeout(120)
def test_a_proxy_run_beside_the_hub_gets_its_routes_back(
    restart_hub: Hub, proxies: list[subprocess.Popen[bytes]]
) -> None:
    """configurable-http-proxy killed and started again by its supervisor, with an empty routing table:
    the Hub puts every route back (within last_activity_interval), and the app, in the same run, and
    the launcher answer again with nobody acting."""
    hub = restart_hub
    token = hub.token_for(OWNER)
    auth = {"Authorization": f"token {token}"}
    api = hub.url + "services/japps/api/"
    with httpx.Client(timeout=60) as client:
        created = client.post(api + "apps", headers=auth, json=_spec("Second"))
        assert created.status_code == 201, created.text
        before = hub.wait_ready(OWNER, "second")
        hub.wait_app(OWNER, "second", token)

        proxies[-1].kill()
        proxies[-1].wait(10)
        proxies.append(start_chp(hub))  # as systemd would: Restart=always

        url = hub.app_url(OWNER, "second") + "again"
        deadline = time.monotonic() + 60
        answer: httpx.Response | None = None
        while time.monotonic() < deadline:
            try:
                answer = client.get(url, headers=auth, timeout=5)
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code == 200:
                break
            time.sleep(0.3)
        assert answer is not None, "the new proxy never answered"
        assert answer.status_code == 200, f"{answer.status_code} {answer.text[:300]}\n{hub.log_tail()}"
        assert answer.json()["path"].endswith("/again")
        listing = client.get(api + "apps", headers=auth, params={"access": "owned"})
        assert listing.status_code == 200, listing.text
        assert {a["name"]: a["state"] for a in listing.json()["data"]}["second"] == "running"
        model = hub.server_model(OWNER, "second")
        assert model is not None
        assert model["started"] == before["started"]


@pytest.mark.timeout(180)
def test_a_hub_killed_outright_leaves_no_service_in_the_way(restart_hub: Hub) -> None:
    """The Hub killed (SIGKILL) cannot stop its launcher service; the service stops itself once its
    parent is gone, so the new Hub's service can listen on its port (a Hub whose managed service
    cannot start exits). The app runs on, and the launcher lists it."""
    hub = restart_hub
    token = hub.token_for(OWNER)
    auth = {"Authorization": f"token {token}"}
    api = hub.url + "services/japps/api/"
    with httpx.Client(timeout=60) as client:
        created = client.post(api + "apps", headers=auth, json=_spec("Third"))
        assert created.status_code == 201, created.text
        before = hub.wait_ready(OWNER, "third")
        hub.restart(sig=signal.SIGKILL)
        deadline = time.monotonic() + 60
        listing = None
        while time.monotonic() < deadline:
            try:
                listing = client.get(api + "apps", headers=auth, params={"access": "owned"}, timeout=10)
            except httpx.TransportError:
                listing = None
            if listing is not None and listing.status_code == 200:
                break
            time.sleep(0.5)
        assert listing is not None, "the launcher did not answer"
        assert listing.status_code == 200, listing.text
        assert {a["name"]: a["state"] for a in listing.json()["data"]}["third"] == "running"
        # ... answered by the new Hub's service: the old one is gone (it would hold the port and answer).
        assert hub.process is not None
        current = {p.pid for p in psutil.Process(hub.process.pid).children(recursive=True)}
        services = [p.pid for p in psutil.process_iter(["cmdline"]) if _serves_launcher(p, hub.service_port)]
        assert services, "no launcher service process"
        assert set(services) <= current, f"launcher processes not of the running Hub: {set(services) - current}"
        model = hub.server_model(OWNER, "third")
        assert model is not None
        assert model["started"] == before["started"]
        hub.wait_app(OWNER, "third", token)


def _serves_launcher(process: psutil.Process, port: int) -> bool:
    cmdline = process.info.get("cmdline") or []
    return "hubapps.service.serve" in cmdline and str(port) in cmdline
