"""Streaming and big bodies through a real proxy process: nothing is buffered, memory stays flat."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import psutil
import pytest

from tests.unit.proxy.conftest import ECHO_APP, PREFIX, StartProxy, url

ALICE = {"Authorization": "token alice-token"}
#: Size of the upload and the download: far more than the proxy may use for itself.
BIG = 50 * 1024 * 1024
#: Growth of the proxy's resident memory allowed while moving BIG bytes each way.
RSS_GROWTH_LIMIT = 20 * 1024 * 1024


async def test_server_sent_events_arrive_as_produced(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(ECHO_APP)
    started = time.monotonic()
    arrivals: list[float] = []
    async with http.get(url(proxy, "sse?count=3&delay=0.5"), headers=ALICE) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        async for line in response.content:
            if line.startswith(b"data:"):
                arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 3
    assert arrivals[0] < 0.4
    assert arrivals[1] - arrivals[0] > 0.3
    assert arrivals[2] - arrivals[1] > 0.3


@pytest.fixture
def proxy_process(tmp_path: Path) -> Iterator[tuple[psutil.Process, str]]:
    """A public ``hubapps-proxy`` process in front of the echo app; yields (process, base URL)."""
    env = {
        **os.environ,
        "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
        "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",
        "JUPYTERHUB_CLIENT_ID": "c",
        "JUPYTERHUB_API_TOKEN": "t",
    }
    with socket.socket() as sock:  # --port=0 is not reported back by the process: pick one here
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proxy = subprocess.Popen(
        [sys.executable, "-m", "hubapps.proxy.main", "--ip=127.0.0.1", f"--port={port}", "--public", "--", *ECHO_APP],
        env=env,
        cwd=str(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield psutil.Process(proxy.pid), f"http://127.0.0.1:{port}{PREFIX}"
    finally:
        proxy.terminate()
        try:
            proxy.wait(15)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()


async def _wait_app(http: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            async with http.get(base + "ready-check") as response:
                if response.status == 200 and response.content_type == "application/json":
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the proxied echo app did not come up")


async def test_50_mb_each_way_without_buffering(
    proxy_process: tuple[psutil.Process, str], http: aiohttp.ClientSession
) -> None:
    process, base = proxy_process
    await _wait_app(http, base)
    baseline = process.memory_info().rss
    peak = baseline
    expected = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        nonlocal peak
        chunk = os.urandom(1 << 20)
        for _ in range(BIG >> 20):
            expected.update(chunk)
            yield chunk
            peak = max(peak, process.memory_info().rss)

    async with http.post(base + "upload", data=body(), timeout=aiohttp.ClientTimeout(total=120)) as response:
        assert response.status == 200
        seen = await response.json()
    assert seen == {"bytes": BIG, "sha256": expected.hexdigest()}

    received = 0
    async with http.get(base + f"download?size={BIG}", timeout=aiohttp.ClientTimeout(total=120)) as response:
        assert response.status == 200
        assert response.content_length == BIG
        async for chunk in response.content.iter_chunked(1 << 20):
            received += len(chunk)
            assert set(chunk) == {0x5A}
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.01)  # a slow reader: the proxy must wait, not stock up
    assert received == BIG
    assert peak - baseline < RSS_GROWTH_LIMIT, f"proxy RSS grew by {(peak - baseline) >> 20} MiB"
