"""The proxy's metrics: its own writer of the Prometheus text format, checked by ``prometheus_client``'s
parser (the library as an oracle); what is counted; and who may read them (the service's signed
request only: no viewer, owner or admin through their token)."""

from __future__ import annotations

import asyncio

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from hubapps.core import statuskey
from hubapps.core.proxy_metrics import FAMILIES, LATENCY_BUCKETS
from hubapps.proxy.metrics import MAX_VIEWERS, ProxyMetrics
from tests.unit.proxy.conftest import ECHO_APP, WS_APP, FakeHub, StartProxy, url

STATUS_KEY = bytes(range(32))
HOSTILE = '<a b="c">\\\n'


def samples(text: bytes | str) -> list[Sample]:
    body = text.decode() if isinstance(text, bytes) else text
    return [sample for family in text_string_to_metric_families(body) for sample in family.samples]


def value(text: bytes | str, name: str, **labels: str) -> float:
    found = [s.value for s in samples(text) if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return found[0]


class UpgradeRequest:
    """Stands for a websocket's upgrade request (weakly referenced by the metrics, as requests are)."""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_text_parses_with_prometheus_client_and_histograms_are_cumulative() -> None:
    metrics = ProxyMetrics(viewer_window=60)
    for seconds in (0.001, 0.02, 0.02, 7.0, 100.0):
        metrics.request_done("http", seconds)
    metrics.request_done("websocket", 0.3)
    metrics.ready.observe(3.2)
    metrics.hub_call("user", "ok")
    metrics.hub_call("activity", "error")
    text = metrics.render(state="ready", open_sockets=[])
    families = {f.name: f for f in text_string_to_metric_families(text.decode())}
    assert {name: f.type for name, f in families.items()} == {name: f.type for name, f in FAMILIES.items()}
    assert families["hubapps_proxy_requests"].type == "counter"
    assert families["hubapps_proxy_request_duration_seconds"].type == "histogram"
    assert families["hubapps_proxy_viewers_active"].type == "gauge"
    assert value(text, "hubapps_proxy_requests_total", kind="http") == 5
    assert value(text, "hubapps_proxy_requests_total", kind="websocket") == 1
    assert value(text, "hubapps_proxy_requests_total", kind="internal") == 0
    buckets = [
        (float(s.labels["le"]), s.value)
        for s in samples(text)
        if s.name == "hubapps_proxy_request_duration_seconds_bucket" and s.labels["kind"] == "http"
    ]
    assert [le for le, _ in buckets] == [*LATENCY_BUCKETS, float("inf")]
    assert dict(buckets)[0.005] == 1
    assert dict(buckets)[0.025] == 3
    assert dict(buckets)[10.0] == 4
    assert dict(buckets)[float("inf")] == 5
    assert value(text, "hubapps_proxy_request_duration_seconds_count", kind="http") == 5
    assert abs(value(text, "hubapps_proxy_request_duration_seconds_sum", kind="http") - 107.041) < 1e-9
    assert value(text, "hubapps_proxy_app_ready_seconds_count") == 1
    assert value(text, "hubapps_proxy_app_state", state="ready") == 1
    assert value(text, "hubapps_proxy_app_state", state="failed") == 0
    assert value(text, "hubapps_proxy_hub_requests_total", call="user", outcome="ok") == 1
    assert value(text, "hubapps_proxy_hub_requests_total", call="activity", outcome="error") == 1


def test_viewers_are_counted_within_the_window_and_while_their_websocket_is_open() -> None:
    clock = Clock()
    metrics = ProxyMetrics(viewer_window=60, clock=clock)
    socket_request = UpgradeRequest()
    metrics.viewer_seen("user:" + HOSTILE)
    metrics.viewer_seen("user:bob")
    metrics.viewer_seen("user:bob")
    metrics.viewer_seen("user:carol")
    metrics.websocket_viewer(socket_request, "user:carol")
    text = metrics.render(state="ready", open_sockets=[socket_request])
    assert value(text, "hubapps_proxy_viewers_active") == 3
    assert value(text, "hubapps_proxy_websockets_active") == 1
    clock.now += 61
    text = metrics.render(state="ready", open_sockets=[socket_request])
    assert value(text, "hubapps_proxy_viewers_active") == 1  # carol's websocket is still open
    text = metrics.render(state="ready", open_sockets=[])
    assert value(text, "hubapps_proxy_viewers_active") == 0
    assert value(text, "hubapps_proxy_websockets_active") == 0


def test_no_name_ever_reaches_the_text() -> None:
    metrics = ProxyMetrics(viewer_window=60)
    metrics.viewer_seen("user:" + HOSTILE)
    metrics.viewer_seen("address:10.0.0.1")
    text = metrics.render(state="starting", open_sockets=[]).decode()
    assert "<a" not in text
    assert "10.0.0.1" not in text
    assert "user:" not in text
    for sample in samples(text):
        assert set(sample.labels) <= {"kind", "le", "state", "call", "outcome"}


def test_the_viewers_remembered_are_capped() -> None:
    clock = Clock()
    metrics = ProxyMetrics(viewer_window=60, clock=clock)
    for number in range(MAX_VIEWERS + 100):
        metrics.viewer_seen(f"address:{number}")
    assert value(metrics.render(state="ready", open_sockets=[]), "hubapps_proxy_viewers_active") == MAX_VIEWERS
    clock.now += 61  # the idle ones make room again
    metrics.viewer_seen("user:late")
    assert value(metrics.render(state="ready", open_sockets=[]), "hubapps_proxy_viewers_active") == 1


async def test_only_the_services_signed_request_reads_the_metrics(
    start_proxy: StartProxy, http: aiohttp.ClientSession, fake_hub: FakeHub
) -> None:
    proxy = await start_proxy(ECHO_APP, env={statuskey.APP_KEY_ENV_VAR: STATUS_KEY.hex()})
    for _ in range(3):
        async with http.get(url(proxy, "hello"), headers={"Authorization": "token alice-token"}) as response:
            assert response.status == 200
    async with http.get(url(proxy, "_hubapps/status"), headers={"Authorization": "token root-token"}) as response:
        assert response.status == 200
    for credential in ("alice-token", "root-token", "svc-token"):  # owner, admin, a service with access
        async with http.get(
            url(proxy, "_hubapps/metrics"), headers={"Authorization": f"token {credential}"}
        ) as response:
            assert response.status == 404, credential
    wrong = {statuskey.HEADER: statuskey.sign(bytes(32), "GET", "_hubapps/metrics")}
    async with http.get(url(proxy, "_hubapps/metrics"), headers=wrong) as response:
        assert response.status == 404
    other_path = {statuskey.HEADER: statuskey.sign(STATUS_KEY, "GET", "_hubapps/status")}
    async with http.get(url(proxy, "_hubapps/metrics"), headers=other_path) as response:
        assert response.status == 404
    signed = {statuskey.HEADER: statuskey.sign(STATUS_KEY, "GET", "_hubapps/metrics")}
    async with http.get(url(proxy, "_hubapps/metrics"), headers=signed) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert response.headers["Cache-Control"] == "no-store"
        text = await response.text()
    assert value(text, "hubapps_proxy_requests_total", kind="http") == 3
    assert value(text, "hubapps_proxy_requests_total", kind="internal") >= 4
    assert value(text, "hubapps_proxy_viewers_active") == 1
    assert value(text, "hubapps_proxy_app_state", state="ready") == 1
    assert value(text, "hubapps_proxy_app_ready_seconds_count") == 1
    assert value(text, "hubapps_proxy_hub_requests_total", call="user", outcome="ok") >= 1
    assert "alice" not in text


async def test_an_open_websocket_keeps_its_viewer_active(
    start_proxy: StartProxy, http: aiohttp.ClientSession, fake_hub: FakeHub
) -> None:
    proxy = await start_proxy(WS_APP, "--viewer-window=0.2", env={statuskey.APP_KEY_ENV_VAR: STATUS_KEY.hex()})
    signed = {statuskey.HEADER: statuskey.sign(STATUS_KEY, "GET", "_hubapps/metrics")}

    async def scrape() -> str:
        async with http.get(url(proxy, "_hubapps/metrics"), headers=signed) as response:
            assert response.status == 200
            return await response.text()

    async with http.ws_connect(url(proxy, "ws"), headers={"Authorization": "token alice-token"}) as ws:
        await ws.send_str("hello")
        assert (await ws.receive(timeout=10)).data == "hello"
        await asyncio.sleep(0.4)  # past the viewer window: the open websocket keeps alice active
        text = await scrape()
        assert value(text, "hubapps_proxy_websockets_active") == 1
        assert value(text, "hubapps_proxy_viewers_active") == 1
        assert value(text, "hubapps_proxy_requests_total", kind="websocket") == 1
    deadline = asyncio.get_running_loop().time() + 10
    while "hubapps_proxy_websockets_active 0" not in (text := await scrape()):
        assert asyncio.get_running_loop().time() < deadline, text
        await asyncio.sleep(0.05)
    assert value(text, "hubapps_proxy_viewers_active") == 0
