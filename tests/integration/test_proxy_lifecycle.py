"""hubapps-proxy's life with the real Hub: idle culling (the real ``jupyterhub-idle-culler``), crash
restarts and giving up, the failure page, stopping without orphans.

These need short intervals, so they run against a Hub of their own: the shared test configuration plus
``HubApps.proxy_command`` carrying short proxy limits (an admin setting: the spawner puts the proxy's
own options after these) and a 1 s spawner poll interval. It only lives for this module.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.integration.conftest import Hub, own_hub

pytestmark = [pytest.mark.integration]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
OWNER = "lifecycle-owner"
#: Proxy limits for this Hub (the defaults are minutes; tests need seconds).
PROXY_OPTIONS = [
    "--activity-interval=1",
    "--restart-backoff=0.3",
    "--max-restarts=2",
    "--restart-window=60",
    "--failure-linger=4",
    "--stop-grace=1",
]
#: The culler's idle timeout; an app with no use for longer is stopped.
CULL_TIMEOUT = 8
TUNED_CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
c.HubApps.proxy_command = {command!r}
c.Spawner.poll_interval = 1
"""


def command_spec(display_name: str, script: str, *args: str, keep_alive: bool = False) -> dict[str, Any]:
    return {
        "spec_version": 1,
        "framework": "command",
        "display_name": display_name,
        "command": ["{python}", str(RESOURCES / script), "{port}", *args],
        "keep_alive": keep_alive,
    }


@pytest.fixture(scope="module")
def tuned_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    command = [str(Path(sys.executable).parent / "hubapps-proxy"), *PROXY_OPTIONS]
    config = TUNED_CONFIG.replace("{command!r}", repr(command))
    with own_hub(tmp_path_factory.mktemp("tuned-hub"), config) as running:
        yield running


@pytest.fixture
def started(tuned_hub: Hub) -> Iterator[Callable[..., str]]:
    """``started(server, spec)`` → the server's URL once the Hub calls it ready; removed after the test."""
    servers: list[str] = []

    def start(server: str, spec: dict[str, Any]) -> str:
        servers.append(server)
        tuned_hub.create_app(OWNER, server, spec)
        return tuned_hub.app_url(OWNER, server)

    yield start
    for server in servers:
        tuned_hub.stop_app(OWNER, server, remove=True)


def _wait_until(condition: Callable[[], bool], timeout: float, what: str, hub: Hub) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} did not happen within {timeout:g} s\n{hub.log_tail(40)}")
        time.sleep(0.25)
    return time.monotonic() - started


def _app_processes(marker: str, script: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            mine = proc.environ().get("HUBAPPS_TEST_MARKER") == marker
            if mine and any(script in part for part in proc.cmdline()) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


@pytest.mark.timeout(150)  # a Hub of its own, then the culler's idle timeout and two cull rounds
def test_idle_culler_stops_idle_apps_only(tuned_hub: Hub, started: Callable[..., str]) -> None:
    token = tuned_hub.token_for(OWNER)
    urls = {
        "idle": started("idle", command_spec("Idle", "echo_app.py")),
        "busy": started("busy", command_spec("Busy", "echo_app.py")),
        "kept": started("kept", command_spec("Kept alive", "echo_app.py", keep_alive=True)),
    }
    for server in urls:
        tuned_hub.wait_app(OWNER, server, token)
    stop_using = threading.Event()

    def use_busy_app() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop_using.wait(1.0):
                client.get(urls["busy"] + "work", headers={"Authorization": f"token {token}"})

    user = threading.Thread(target=use_busy_app, daemon=True)
    user.start()
    culler_token = tuned_hub.token_for(
        "admin", scopes=["list:users", "read:users:activity", "read:servers", "delete:servers"]
    )
    culler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={CULL_TIMEOUT}",
            "--cull-every=2",
            f"--url={tuned_hub.url}hub/api",
        ],
        env={**os.environ, "JUPYTERHUB_API_TOKEN": culler_token},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until(lambda: tuned_hub.server_model(OWNER, "idle") is None, CULL_TIMEOUT * 4, "culling idle", tuned_hub)
        time.sleep(CULL_TIMEOUT)  # a whole timeout more: the others would be gone by now if they looked idle
        for server in ("busy", "kept"):
            model = tuned_hub.server_model(OWNER, server)
            assert model is not None, f"{server} was culled"
            assert model["ready"]
    finally:
        stop_using.set()
        user.join(5)
        culler.terminate()
        output, _ = culler.communicate(timeout=10)
    assert f"Culling server {OWNER}/idle" in output, output[-2000:]
    assert f"{OWNER}/busy" not in output.split("Culling server", 1)[-1]


def test_crashing_app_is_restarted_then_hub_sees_it_stop(
    tuned_hub: Hub, started: Callable[..., str], tmp_path: Path
) -> None:
    starts_file = tmp_path / "starts"
    url = started("crashy", command_spec("Crashy <app>", "crash_later.py", "0.5", str(starts_file)))
    token = tuned_hub.token_for(OWNER)
    failure_page = ""

    def failed_page_seen() -> bool:
        nonlocal failure_page
        response = httpx.get(url, headers={"Authorization": f"token {token}", "Accept": "text/html"}, timeout=10)
        if response.status_code == 500 and "could not start" in response.text:
            failure_page = response.text
            return True
        return False

    _wait_until(failed_page_seen, 30, "the failure page", tuned_hub)
    assert "Crashy &lt;app&gt; could not start" in failure_page
    assert "the app exited with code 7 (2 restarts in 60 s)" in failure_page
    assert "crash later: crashing now" in failure_page
    # The proxy exits non-zero after the failure page lingered; the Hub's poll notices.
    _wait_until(lambda: tuned_hub.server_model(OWNER, "crashy") is None, 20, "the Hub seeing the stop", tuned_hub)
    starts = [float(line) for line in starts_file.read_text().split()]
    assert len(starts) == 3  # the first run and two restarts, no more
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert gaps[1] > gaps[0] + 0.2  # the back-off doubled (0.3 s, then 0.6 s, plus the 0.5 s lifetime)
    assert _app_processes(tuned_hub.marker, str(RESOURCES / "crash_later.py")) == []
    assert "hubapps-proxy" not in json.dumps(tuned_hub.server_model(OWNER, "crashy"))


def test_stopping_kills_an_app_that_ignores_sigterm(
    tuned_hub: Hub, started: Callable[..., str], tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids"
    started("stubborn", command_spec("Stubborn", "ignores_sigterm.py", str(pid_file)))
    _wait_until(lambda: pid_file.exists() and bool(pid_file.read_text().strip()), 30, "the app starting", tuned_hub)
    pids = [int(pid) for pid in pid_file.read_text().split()]
    processes = [psutil.Process(pid) for pid in pids]
    assert all(proc.is_running() for proc in processes)
    started_stop = time.monotonic()
    tuned_hub.stop_app(OWNER, "stubborn")
    assert time.monotonic() - started_stop < 20
    _, alive = psutil.wait_procs(processes, timeout=5)
    assert alive == [], f"survived the stop: {[p.pid for p in alive]}"
    assert _app_processes(tuned_hub.marker, str(RESOURCES / "ignores_sigterm.py")) == []
