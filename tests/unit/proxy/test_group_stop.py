"""A server stopped by signalling all its processes at once (Slurm's ``scancel``, systemd stopping a unit):
the app dies of the SIGTERM before the proxy stops it, and that is a stop, not a crash."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from hubapps.proxy import process
from hubapps.proxy.process import AppState
from tests.unit.proxy.conftest import ECHO_APP, StartProxy, resource

#: An app that shuts down gracefully on SIGTERM (exit 0), and one that Python's default handling kills (-15).
APPS = {"graceful": ECHO_APP, "killed": ["{python}", resource("env_dump_app.py"), "{port}"]}


@pytest.mark.parametrize("app", sorted(APPS))
async def test_an_app_killed_with_the_whole_server_is_stopped_not_failed(
    app: str, start_proxy: StartProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process, "EXTERNAL_STOP_WAIT", 30.0)
    proxy = await start_proxy(APPS[app], "--max-restarts=0")
    pid = proxy.process.pid
    assert pid is not None
    os.kill(pid, signal.SIGTERM)  # the app's share of the group-wide signal...
    await asyncio.sleep(0.3)
    await proxy.shutdown()  # ...and the proxy's (main() stops the runtime on SIGTERM)
    assert proxy.process.state is not AppState.FAILED
    assert "exited" not in proxy.process.reason


async def test_an_app_killed_by_sigterm_alone_is_a_crash_after_the_wait(
    start_proxy: StartProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process, "EXTERNAL_STOP_WAIT", 0.2)
    proxy = await start_proxy(ECHO_APP, "--max-restarts=0")
    pid = proxy.process.pid
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    await asyncio.wait_for(proxy.process.finished.wait(), 10)
    assert proxy.process.state is AppState.FAILED
    assert proxy.process.reason == "the app exited with code 0"  # (the echo app shuts down gracefully)


async def test_other_exits_are_crashes_at_once(start_proxy: StartProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process, "EXTERNAL_STOP_WAIT", 60.0)
    proxy = await start_proxy(ECHO_APP, "--max-restarts=0")
    pid = proxy.process.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # the OOM killer's signal, say
    await asyncio.wait_for(proxy.process.finished.wait(), 10)
    assert proxy.process.reason == "the app exited with code -9"
