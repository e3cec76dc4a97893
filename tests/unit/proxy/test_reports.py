"""Reports to the launcher service: signed with the app's own key (no token, no cookie), best-effort,
and sent before the proxy exits — when it gives up on a crashing app, and on SIGTERM.

The launcher service is faked by the fake Hub's server (``/services/japps/api/internal/reports``, which
checks the signature with alice/my-app's key and records what it took).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hubapps.core.statuskey import APP_KEY_ENV_VAR
from hubapps.proxy.reports import log_tail
from tests.unit.proxy.conftest import ECHO_APP, PREFIX, FakeHub, StartProxy, resource, url
from tests.unit.proxy.fakehub import APP_KEY

ALICE = {"Authorization": "token alice-token"}
ROOT = {"Authorization": "token root-token"}
KEY_ENV = {APP_KEY_ENV_VAR: APP_KEY.hex()}


def _report_url(fake_hub: FakeHub) -> str:
    return f"--report-url={fake_hub.url}/services/japps/"


async def _until(what: str, check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := check()):
        assert asyncio.get_running_loop().time() < deadline, f"{what} did not happen"
        await asyncio.sleep(0.05)
    return found


def _kinds(fake_hub: FakeHub, kind: str) -> list[dict[str, Any]]:
    return [r for r in fake_hub.reports if r["kind"] == kind]


async def test_start_facts_are_reported_with_the_apps_key_only(
    start_proxy: StartProxy, fake_hub: FakeHub, tmp_path: Path
) -> None:
    source = tmp_path / "my_app.py"
    source.write_text("print('hello')\n")
    fake_hub.report_failures = 1  # the first attempt is refused for now: retried
    proxy = await start_proxy(ECHO_APP, _report_url(fake_hub), "--source-file=my_app.py", env=KEY_ENV)
    ready = await _until("the ready report", lambda: _kinds(fake_hub, "ready"))
    started = _kinds(fake_hub, "started")
    assert len(started) == 1
    assert started[0]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert started[0]["commit"] is None
    assert (started[0]["owner"], started[0]["server"]) == ("alice", "my-app")
    assert started[0]["run"] == ready[0]["run"] == proxy.reports.run
    assert ready[0]["ready_after"] > 0
    for headers in fake_hub.report_headers:
        lowered = {name.lower(): value for name, value in headers.items()}
        assert "authorization" not in lowered
        assert "cookie" not in lowered
        assert "server-token" not in json.dumps(headers)


async def test_one_opened_report_per_viewer_session(
    start_proxy: StartProxy, fake_hub: FakeHub, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(ECHO_APP, _report_url(fake_hub), "--viewer-session-gap=600", env=KEY_ENV)
    for headers in (ALICE, ALICE, ROOT, ALICE):
        async with http.get(url(proxy, "page"), headers=headers) as response:
            assert response.status == 200
    opened = await _until("the opened report", lambda: _kinds(fake_hub, "opened"))
    # Nothing left to send: every session of these requests has been reported.
    await _until("the reporter to be idle", lambda: not proxy.reports.sessions.pending)
    viewers = [name for report in _kinds(fake_hub, "opened") for name in report["viewers"]]
    assert sorted(viewers) == ["alice", "root"], opened


async def test_anonymous_visitors_of_a_public_app_are_reported_as_anonymous(
    start_proxy: StartProxy, fake_hub: FakeHub, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(ECHO_APP, "--public", _report_url(fake_hub), env=KEY_ENV)
    async with http.get(url(proxy), headers={"X-Forwarded-For": "203.0.113.9"}) as response:
        assert response.status == 200
    opened = await _until("the opened report", lambda: _kinds(fake_hub, "opened"))
    assert opened[0]["viewers"] == [""]


async def test_a_dead_service_never_stops_the_app(
    start_proxy: StartProxy, http: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    proxy = await start_proxy(
        ECHO_APP,
        f"--report-url=http://127.0.0.1:{unused_tcp_port}/services/japps/",
        "--report-timeout=0.5",
        "--report-retries=1",
        env=KEY_ENV,
    )
    async with http.get(url(proxy), headers=ALICE) as response:
        assert response.status == 200
    assert await proxy.report_exit() is False  # given up, bounded; the proxy goes on stopping
    assert await proxy.report_exit() is False  # (once only)


def test_the_log_tail_is_bounded_in_lines_and_bytes() -> None:
    lines = [f"line {n} " + "é" * 10 for n in range(100)] + ["x" * 5000]
    tail = log_tail(lines, 20, 2300)
    assert tail[-1] == "x" * 2000  # a long line is cut
    assert sum(len(line.encode()) + 1 for line in tail) <= 2300
    assert len(tail) > 1
    assert tail[0] != lines[-20]  # the oldest lines went, to keep within the bytes
    tail = log_tail(lines[:100], 5, 10_000)
    assert tail == lines[95:100]
    assert log_tail(lines[:100], 50, 100) == lines[97:100]


async def _run_proxy(fake_hub: FakeHub, tmp_path: Path, *options: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        **KEY_ENV,
        "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
        "JUPYTERHUB_API_TOKEN": "server-token",
        "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-alice-my-app",
        "JUPYTERHUB_API_URL": fake_hub.url + "/hub/api",
        "JUPYTERHUB_USER": "alice",
        "JUPYTERHUB_SERVER_NAME": "my-app",
        "HUBAPPS_PROXY_LOOP": "asyncio",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hubapps.proxy.main",
        "--ip=127.0.0.1",
        "--port=0",
        "--stop-grace=1",
        _report_url(fake_hub),
        *options,
        env=env,
        cwd=str(tmp_path),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_giving_up_on_a_crashing_app_reports_failed_before_exiting(fake_hub: FakeHub, tmp_path: Path) -> None:
    # Ready for a moment, then it crashes; no restarts allowed: the proxy gives up.
    proxy = await _run_proxy(
        fake_hub, tmp_path, "--max-restarts=0", "--failure-linger=0", "--", "{python}", resource("crash_later.py"),
        "{port}", "0.5",
    )  # fmt: skip
    try:
        assert await asyncio.wait_for(proxy.wait(), 30) == 1
    finally:
        if proxy.returncode is None:
            proxy.kill()
            await proxy.wait()
    exited = _kinds(fake_hub, "exited")
    assert len(exited) == 1, fake_hub.reports
    assert exited[0]["state"] == "failed"
    assert exited[0]["reason"].startswith("the app exited with code 7")
    assert "crash later: crashing now" in exited[0]["log_tail"]
    assert [r["kind"] for r in fake_hub.reports] == ["started", "ready", "exited"]


async def test_sigterm_reports_stopped_before_exiting(fake_hub: FakeHub, tmp_path: Path) -> None:
    proxy = await _run_proxy(fake_hub, tmp_path, "--", *ECHO_APP)
    try:
        await _until("the ready report", lambda: _kinds(fake_hub, "ready"))
        proxy.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proxy.wait(), 15) == 0
    finally:
        if proxy.returncode is None:
            proxy.kill()
            await proxy.wait()
    exited = _kinds(fake_hub, "exited")
    assert [(r["state"], r["reason"]) for r in exited] == [("stopped", "")]


@pytest.mark.parametrize("bad", ["/services/japps/", "javascript:alert(1)", "http://host/\r\nX: y"])
def test_the_report_url_must_be_an_http_url(bad: str) -> None:
    from hubapps.proxy.config import ConfigError, parse_config

    with pytest.raises(ConfigError, match="--report-url"):
        parse_config([f"--report-url={bad}", "--port=1", "--", "app"], {})
