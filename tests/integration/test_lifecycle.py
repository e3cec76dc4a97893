"""Stopping an app through the Hub leaves nothing running, even when the app ignores SIGTERM."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from tests.integration.conftest import Hub

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

OWNER = "lifecycle-owner"
RESOURCES = Path(__file__).resolve().parents[1] / "resources"
#: Seconds after the Hub reports the server stopped within which every app process must be gone.
GONE_WITHIN = 15.0


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_stop_kills_an_app_that_ignores_sigterm(hub: Hub) -> None:
    token = hub.token_for(OWNER)
    pid_file = hub.home(OWNER) / "stubborn.pids"
    spec = {
        "spec_version": 1,
        "framework": "command",
        "display_name": "Stubborn app",
        "command": ["{python}", str(RESOURCES / "ignores_sigterm.py"), "{port}", str(pid_file)],
    }
    hub.create_app(OWNER, "stubborn", spec, token=token)
    try:
        hub.wait_app(OWNER, "stubborn", token)
        app_pid, child_pid = (int(p) for p in pid_file.read_text().split())
        assert _alive(app_pid)
        assert _alive(child_pid)
    finally:
        hub.stop_app(OWNER, "stubborn", remove=True)

    deadline = time.monotonic() + GONE_WITHIN
    while time.monotonic() < deadline and (_alive(app_pid) or _alive(child_pid)):
        time.sleep(0.2)
    survivors = [pid for pid in (app_pid, child_pid) if _alive(pid)]
    for pid in survivors:
        psutil.Process(pid).kill()
    assert not survivors, f"app processes {survivors} survived the server's stop"
