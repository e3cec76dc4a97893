"""``--announce-port``: the proxy tells the Hub the port it listens on, as batchspawner-singleuser does.

batchspawner starts every server on port 0 and waits until the server ``POST``s ``{"port": N}`` to the
Hub's ``/hub/api/batchspawner`` with its own token; ``docs/hpc.md``.
"""

from __future__ import annotations

import os

import aiohttp
import pytest

from hubapps.proxy import server
from hubapps.proxy.process import AppState
from tests.unit.proxy.conftest import ECHO_APP, FakeHub, StartProxy, url

ALICE = {"Authorization": "token alice-token"}


async def test_the_port_listened_on_is_told_to_the_hub(
    start_proxy: StartProxy, fake_hub: FakeHub, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(ECHO_APP, "--announce-port")
    assert proxy.port > 0
    assert fake_hub.ports == [proxy.port]
    # And it is the port that serves the app.
    async with http.get(url(proxy), headers=ALICE) as response:
        assert response.status == 200
    metrics = proxy.metrics.render(state="ready", open_sockets=()).decode()
    assert 'hubapps_proxy_hub_requests_total{call="port",outcome="ok"} 1' in metrics


async def test_without_the_option_nothing_is_told(start_proxy: StartProxy, fake_hub: FakeHub) -> None:
    await start_proxy(ECHO_APP)
    assert fake_hub.ports == []


async def test_a_refused_port_is_retried(
    start_proxy: StartProxy, fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "ANNOUNCE_RETRY_DELAY", 0.01)
    fake_hub.port_failures = 2
    proxy = await start_proxy(ECHO_APP, "--announce-port")
    assert fake_hub.ports == [proxy.port]


async def test_a_hub_without_batchspawner_fails_the_app(
    start_proxy: StartProxy, fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Hub would wait for the port until its start timeout: the proxy gives up (and exits, ending the job)."""
    monkeypatch.setattr(server, "ANNOUNCE_RETRY_DELAY", 0.01)
    fake_hub.port_failures = server.ANNOUNCE_ATTEMPTS
    proxy = await start_proxy(ECHO_APP, "--announce-port", wait_ready=False)
    assert proxy.process.finished.is_set()
    assert proxy.process.state is AppState.FAILED
    assert proxy.process.reason == (
        f"the Hub did not take the port {proxy.port} (HTTP 404): is batchspawner imported by the Hub?"
    )
    assert proxy.process.pid is None or not _alive(proxy.process.pid)  # the app was stopped
    assert fake_hub.ports == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
