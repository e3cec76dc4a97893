"""The launcher service killed (SIGKILL) with twenty apps running and a create in flight.

The Hub is the source of truth for apps: after the kill the Hub starts the service again (a managed
service that exits is started again at the Hub's next poll of it), the twenty apps are listed once each
and still running, and the create the service was in the middle of is complete: the Hub finished
starting the app, and the service's records of it (revision 1, the "created" event) were written
before the start began, so the app is never on the Hub without them.

The create is caught mid-flight without timing: a test-only ``pre_spawn_hook`` in this module's Hub
holds the start of servers named ``held-*`` while a gate file exists, and the launcher waits for
starts longer than the test needs (``start_wait``), so the service is inside its create, waiting on
the Hub, when all its processes are killed. The service runs two uvicorn workers, as in production;
a second test kills its master alone and checks that the workers do not live on as orphans.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.integration.conftest import Hub, HubError, own_hub

pytestmark = [pytest.mark.integration]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
OWNER = "faults-owner"
RUNNING_APPS = 20
HELD = "held-app"
#: Seconds to wait for the Hub to start its managed service again (it polls it every 30 s or so).
SERVICE_BACK_TIMEOUT = 90.0

CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
import asyncio
import os
from pathlib import Path

import hubapps

# The launcher waits for a start (and for any Hub call) longer than this module needs to catch it
# mid-create.
c.HubApps.start_wait = 120
c.HubApps.hub_request_timeout = 150
# Two uvicorn workers, as in production: killing the master must not leave them holding the port.
c.HubApps.service_workers = 2
hubapps.install(c)
# The Hub's own answer to a start waits as long (it says 202 after slow_spawn_timeout otherwise).
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 120}}

GATE = Path(os.environ["HUBAPPS_TEST_DIR"]) / "hold-starts"


async def hold_starts(spawner):
    # Test only: a server named held-* does not start while the gate file exists.
    while spawner.name.startswith("held") and GATE.exists():
        await asyncio.sleep(0.1)


c.Spawner.pre_spawn_hook = hold_starts
"""


@pytest.fixture(scope="module")
def faults_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("faults-service-hub"), CONFIG) as running:
        yield running


def _spec(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "framework": "command",
        "display_name": name,
        "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
        **extra,
    }


def _service_processes(hub: Hub) -> list[psutil.Process]:
    """The launcher service's processes (``python -m hubapps.service.serve``), children of the Hub."""
    assert hub.process is not None
    found = []
    for child in psutil.Process(hub.process.pid).children(recursive=True):
        try:
            if "hubapps.service.serve" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def _dead(process: psutil.Process) -> bool:
    """Gone, or a zombie (the Hub, its parent, reaps it only at its next poll)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_for(what: str, check: Any, timeout: float, hub: Hub) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise HubError(f"{what} within {timeout:g} s\n{hub.log_tail()}")


@pytest.mark.timeout(420)
def test_a_killed_service_loses_and_duplicates_nothing(faults_hub: Hub) -> None:
    hub = faults_hub
    token = hub.token_for(OWNER)
    auth = {"Authorization": f"token {token}"}
    api = hub.url + "services/japps/api/"
    with httpx.Client(timeout=150) as client:
        # Twenty running apps, created through the launcher at once.
        names = [f"Echo {n:02d}" for n in range(RUNNING_APPS)]
        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(
                pool.map(lambda n: client.post(api + "apps", headers=auth, json=_spec(n, start=True)), names)
            )
        assert [a.status_code for a in answers] == [201] * RUNNING_APPS, [
            a.text[:300] for a in answers if a.status_code != 201
        ]
        servers = [a.json()["name"] for a in answers]
        for server in servers:
            hub.wait_ready(OWNER, server)

        # A create in flight: the Hub holds its start; the launcher waits on it.
        gate = hub.root / "hold-starts"
        gate.touch()
        answer: dict[str, Any] = {}

        def create_held() -> None:
            try:
                answer["response"] = client.post(api + "apps", headers=auth, json=_spec("Held app", start=True))
            except httpx.TransportError as error:
                answer["error"] = error

        creating = threading.Thread(target=create_held)
        creating.start()
        try:
            _wait_for(
                "the held app's start never reached the Hub",
                lambda: (hub.server_model(OWNER, HELD) or {}).get("pending") == "spawn",
                60,
                hub,
            )
            assert creating.is_alive(), answer  # the launcher is still inside the create
            # The whole service at once (the OOM killer, `systemctl kill`): its master and workers.
            (service,) = _service_processes(hub)
            killed = [service, *service.children(recursive=True)]
            for process in killed:
                process.send_signal(signal.SIGKILL)
            _wait_for("the killed service did not die", lambda: all(_dead(p) for p in killed), 10, hub)
            creating.join(60)
        finally:
            gate.unlink(missing_ok=True)
        # The creator was told the create did not finish (the Hub's 503 page, from its proxy), never a success.
        response = answer.get("response")
        assert response is not None, answer
        assert response.status_code == 503, response.text[:300]

        # The Hub finishes the start on its own, and starts the service again.
        hub.wait_ready(OWNER, HELD)
        listing = _wait_for(
            "the launcher did not answer again",
            lambda: _listing(client, api, auth),
            SERVICE_BACK_TIMEOUT,
            hub,
        )
        assert [p.pid for p in _service_processes(hub)] != [service.pid]

        # Every app once, all running; the held create complete.
        counts = Counter(app["name"] for app in listing)
        assert counts == Counter([*servers, HELD]), counts
        assert {app["name"]: app["state"] for app in listing} == dict.fromkeys([*servers, HELD], "running")
        stored = hub.api("GET", f"users/{OWNER}", params={"include_stopped_servers": "1"}).json()["servers"]
        assert sorted(name for name in stored if name) == sorted([*servers, HELD])

        # Its records were written before the start: revision 1 "created" by its owner, one event.
        revisions = client.get(api + f"apps/{OWNER}/{HELD}/revisions", headers=auth)
        assert revisions.status_code == 200, revisions.text
        assert [(r["number"], r["note"], r["actor"]) for r in revisions.json()["data"]] == [(1, "created", OWNER)]
        events = client.get(api + "events", headers=auth, params={"owner": OWNER, "limit": 200})
        assert events.status_code == 200, events.text
        created = Counter(e["server"] for e in events.json()["data"] if e["kind"] == "created")
        assert created == Counter([*servers, HELD]), created

        # And it works: it answers through the proxy.
        hub.wait_app(OWNER, HELD, token)


def _listing(client: httpx.Client, api: str, auth: dict[str, str]) -> list[dict[str, Any]] | None:
    try:
        response = client.get(api + "apps", headers=auth, params={"access": "owned", "limit": 100}, timeout=10)
    except httpx.TransportError:
        return None
    if response.status_code != 200:
        return None
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def test_workers_stop_with_their_master_and_the_service_comes_back(faults_hub: Hub) -> None:
    """Only the service's master killed: its uvicorn workers, which would go on holding the port (and
    serving) as orphans, stop themselves; the Hub starts the service again, which answers."""
    hub = faults_hub
    token = hub.token_for(OWNER)
    api = hub.url + "services/japps/api/"
    with httpx.Client(timeout=30) as client:
        _wait_for(
            "the launcher did not answer", lambda: _listing(client, api, {"Authorization": f"token {token}"}), 60, hub
        )
        (service,) = _service_processes(hub)
        workers = service.children(recursive=True)
        assert len(workers) >= 2, workers
        service.send_signal(signal.SIGKILL)
        _, alive = psutil.wait_procs(workers, timeout=30)
        assert not alive, [p.cmdline() for p in alive]
        _wait_for(
            "the launcher did not answer again",
            lambda: _listing(client, api, {"Authorization": f"token {token}"}),
            SERVICE_BACK_TIMEOUT,
            hub,
        )
        assert [p.pid for p in _service_processes(hub)] != [service.pid]
