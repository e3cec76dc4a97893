"""The live startup page, its event stream, the logs endpoint and the headers the Hub expects."""

from __future__ import annotations

import asyncio
import json
import re
import time

import aiohttp
from jupyterhub import __version__ as jupyterhub_version

from tests.unit.proxy.conftest import ECHO_APP, PREFIX, StartProxy, resource, url

ALICE = {"Authorization": "token alice-token"}
HTML = {"Accept": "text/html"}


async def _read_events(response: aiohttp.ClientResponse, timeout: float) -> list[tuple[str, str, str, float]]:
    """``(event, id, data, seconds since the call)`` for each event until the stream ends."""
    started = time.monotonic()
    events: list[tuple[str, str, str, float]] = []
    fields: dict[str, str] = {}
    async with asyncio.timeout(timeout):
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if not line:
                if "event" in fields:
                    events.append((fields["event"], fields.get("id", ""), fields["data"], time.monotonic() - started))
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
    return events


async def test_startup_page_follows_the_event_stream(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(["{python}", resource("slow_ready.py"), "{port}", "1.5"], wait_ready=False)
    async with http.get(url(proxy, "some/page"), headers={**ALICE, **HTML}) as response:
        assert response.status == 200
        page = await response.text()
        csp = response.headers["Content-Security-Policy"]
        assert response.headers["X-JupyterHub-Version"] == jupyterhub_version
    assert "Starting My &lt;App&gt;" in page
    assert re.search(r'<span id="elapsed">\d+</span> s elapsed', page)
    nonce = re.search(r'<script nonce="([^"]+)">', page)
    assert nonce is not None
    assert f"script-src 'nonce-{nonce.group(1)}'" in csp
    assert "connect-src 'self'" in csp
    assert f'data-events="{PREFIX}_hubapps/events?since=' in page
    assert "new EventSource(body.dataset.events)" in page
    assert "window.location.reload()" in page
    assert '<noscript><meta http-equiv="refresh"' in page
    # The stream pushes output as it is produced, then "ready", then ends.
    async with http.get(url(proxy, "_hubapps/events?since=0"), headers=ALICE) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        events = await _read_events(response, 15)
    logs = [(event_id, json.loads(data)["line"], at) for kind, event_id, data, at in events if kind == "log"]
    statuses = [(json.loads(data), at) for kind, _, data, at in events if kind == "status"]
    assert statuses[0][0]["state"] == "starting"
    assert statuses[-1][0]["state"] == "ready"
    lines = [line for _, line, _ in logs]
    assert "slow app: warming up for 1.5 s" in lines
    assert "slow app: ready" in lines
    assert [int(event_id) for event_id, _, _ in logs] == list(range(len(logs)))
    warming = next(at for _, line, at in logs if "warming up" in line)
    assert warming < statuses[-1][1] - 1.0  # pushed as produced, well before the end
    # Now the same URL is the app.
    async with http.get(url(proxy, "some/page"), headers={**ALICE, **HTML}) as response:
        assert await response.text() == "ok slow app"


async def test_event_stream_resumes_after_last_event_id(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(["{python}", resource("slow_ready.py"), "{port}", "1"], wait_ready=False)
    await asyncio.wait_for(proxy.process.ready.wait(), 10)
    headers = {**ALICE, "Last-Event-ID": "0"}
    async with http.get(url(proxy, "_hubapps/events?since=0"), headers=headers) as response:
        events = await _read_events(response, 5)
    ids = [event_id for kind, event_id, _, _ in events if kind == "log"]
    assert ids[:1] == ["1"]
    assert [json.loads(data)["state"] for kind, _, data, _ in events if kind == "status"] == ["ready"]


async def test_event_stream_and_logs_need_access_even_for_public_apps(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(["{python}", resource("slow_ready.py"), "{port}", "5"], "--public", wait_ready=False)
    for path in ("_hubapps/events", "_hubapps/logs"):
        async with http.get(url(proxy, path)) as response:
            assert response.status == 401
            assert "warming" not in await response.text()
        async with http.get(url(proxy, path), headers={"Authorization": "token bob-token"}) as response:
            assert response.status == 403
            assert "warming" not in await response.text()


async def test_failed_app_event_stream_ends_with_the_reason(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(["{python}", resource("crash_on_start.py")], "--max-restarts=0", wait_ready=False)
    async with http.get(url(proxy, "_hubapps/events?since=0"), headers=ALICE) as response:
        events = await _read_events(response, 10)
    final = json.loads([data for kind, _, data, _ in events if kind == "status"][-1])
    assert final["state"] == "failed"
    assert "code 3" in final["reason"]
    assert any("<script>alert" in json.loads(data)["line"] for kind, _, data, _ in events if kind == "log")


async def test_logs_endpoint_shape_and_since(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(ECHO_APP, "--log-lines=50")
    async with http.get(url(proxy, "_hubapps/logs"), headers=ALICE) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        body = await response.json()
    assert set(body) == {"lines", "first", "next", "state"}
    assert body["state"] == "ready"
    assert body["first"] == 0
    assert body["next"] == len(body["lines"]) >= 1
    assert any("echo app listening" in line for line in body["lines"])
    async with http.get(url(proxy, f"_hubapps/logs?since={body['next']}"), headers=ALICE) as response:
        later = await response.json()
    assert later["lines"] == []
    assert later["first"] == later["next"] == body["next"]


async def test_every_answer_carries_the_jupyterhub_version(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(ECHO_APP)
    for path, headers in (("", {}), ("x", ALICE), ("_hubapps/status", ALICE), ("x", {"Authorization": "token no"})):
        async with http.get(url(proxy, path), headers=headers, allow_redirects=False) as response:
            assert response.headers.get("X-JupyterHub-Version") == jupyterhub_version, (path, response.status)
    async with http.get(f"http://127.0.0.1:{proxy.port}/elsewhere") as response:
        assert response.status == 404
        assert response.headers.get("X-JupyterHub-Version") == jupyterhub_version


async def test_no_version_header_without_the_hubs_version(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    """The version is the one the spawner passes (``--hub-version``); the proxy has none of its own."""
    proxy = await start_proxy(ECHO_APP, "--hub-version=")
    async with http.get(url(proxy, "x"), headers=ALICE) as response:
        assert response.status == 200
        assert "X-JupyterHub-Version" not in response.headers
