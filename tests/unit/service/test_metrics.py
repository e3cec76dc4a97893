"""The service's ``/metrics``: a Hub token with ``read:metrics`` or 403; requests by route template and
Hub calls by template (never a name, even a hostile one); the running apps' proxy metrics read with
their signed header and kept only where they fit the schema; every worker's counts added up
(prometheus_client's multiprocess mode, two real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from hubapps.core import statuskey
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.proxy.metrics import ProxyMetrics
from hubapps.service.app import create_app
from hubapps.service.metrics import hub_route
from hubapps.service.operations.app_metrics import app_id, sanitize
from hubapps.service.serve import metrics_directory
from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import SERVICE_TOKEN, FakeHub, Users, app_options
from tests.unit.service.headers import checked

PREFIX = "/services/japps"
KEY = bytes(range(32))
HOSTILE = '<a b="c">'
REPO = Path(__file__).resolve().parents[3]


def samples(text: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def total(text: str, name: str, **labels: str) -> float:
    return sum(
        s.value for s in samples(text) if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


@dataclass
class FakeProxies:
    """The running apps' proxies: ``_hubapps/metrics`` answered by the proxy's own writer (or
    ``hostile`` text), only to a request signed with the app's key; every request kept."""

    requests: list[httpx.Request] = field(default_factory=list)
    hostile: dict[str, str] = field(default_factory=dict)

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        owner, server = request.url.path.split("/")[2:4]
        key = statuskey.app_key(KEY, owner, server)
        if not statuskey.verify(key, request.headers.get(statuskey.HEADER, ""), "GET", "_hubapps/metrics"):
            return httpx.Response(404)
        if owner in self.hostile:
            text = self.hostile[owner]
        else:
            metrics = ProxyMetrics(viewer_window=60)
            metrics.request_done("http", 0.02)
            metrics.viewer_seen("user:" + HOSTILE)
            metrics.viewer_seen("user:bob")
            text = metrics.render(state="ready", open_sockets=[]).decode()
        return httpx.Response(200, text=text, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


@pytest.fixture
def proxies() -> FakeProxies:
    return FakeProxies()


@pytest.fixture
def metrics_client(
    fake_hub: FakeHub, settings: ServiceSettings, registry: FrameworkRegistry, proxies: FakeProxies
) -> Iterator[TestClient]:
    changed = {
        **settings.model_dump(),
        "proxy_url": "http://proxy.test",
        "status_key": KEY.hex(),
        "metrics_apps_ttl": 0,
    }
    app = create_app(
        ServiceSettings.model_validate(changed),
        hub_transport=httpx.MockTransport(fake_hub.handler),
        app_transport=httpx.MockTransport(proxies.handler),
        registry=registry,
    )
    with checked(TestClient(app, base_url="http://hub.test"), PREFIX) as client:
        yield client


@pytest.fixture
def scraper(fake_hub: FakeHub) -> dict[str, str]:
    """A token holding ``read:metrics`` (a user here; a service in real life)."""
    token = fake_hub.add_user("prometheus")
    fake_hub.users["prometheus"].scopes = ["read:metrics"]
    return {"Authorization": f"token {token}"}


def serve_running_apps(fake_hub: FakeHub) -> None:
    """Let the service's own token list the users with running servers (``state=active``)."""

    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.headers.get("Authorization") != f"token {SERVICE_TOKEN}" or request.url.path != "/hub/api/users":
            return None
        assert request.url.params.get("state") == "active"
        users = [
            {"kind": "user", "name": u.name, "servers": {n: s.model(u.name) for n, s in u.servers.items() if s.running}}
            for u in fake_hub.users.values()
            if any(s.running for s in u.servers.values())
        ]
        return httpx.Response(200, json={"items": users, "_pagination": {"next": None}})

    fake_hub.fail = answer


def test_metrics_need_a_token_with_read_metrics(
    metrics_client: TestClient, auth: Users, scraper: dict[str, str], fake_hub: FakeHub
) -> None:
    serve_running_apps(fake_hub)
    assert metrics_client.get(f"{PREFIX}/metrics").status_code == 403
    assert metrics_client.get(f"{PREFIX}/metrics", headers={"Authorization": "token nonsense"}).status_code == 403
    for name in ("ann", "root"):  # a user's token, an admin's (this fake Hub's admins lack read:metrics)
        response = metrics_client.get(f"{PREFIX}/metrics", headers=auth(name))
        assert response.status_code == 403
        assert "read:metrics" in response.json()["detail"]
    response = metrics_client.get(f"{PREFIX}/metrics", headers=scraper)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert response.headers["cache-control"] == "no-store"


def test_requests_and_hub_calls_are_counted_by_template_never_by_name(
    metrics_client: TestClient, auth: Users, scraper: dict[str, str], fake_hub: FakeHub
) -> None:
    serve_running_apps(fake_hub)
    before = metrics_client.get(f"{PREFIX}/metrics", headers=scraper).text
    fake_hub.add_server("ann", "sales", app_options())
    for _ in range(2):
        assert metrics_client.get(f"{PREFIX}/api/apps/ann/sales", headers=auth("ann")).status_code == 200
    hostile = metrics_client.get(f"{PREFIX}/api/apps/{HOSTILE}/x%20y", headers=auth("ann"))
    assert hostile.status_code == 404
    metrics_client.get(f"{PREFIX}/no/such/{HOSTILE}")
    assert metrics_client.get(f"{PREFIX}/static/ui.css").status_code == 200
    assert metrics_client.get(f"{PREFIX}/api/openapi.json").status_code == 200
    text = metrics_client.get(f"{PREFIX}/metrics", headers=scraper).text
    route = "/api/apps/{owner}/{server}"
    grew = total(text, "hubapps_service_requests_total", route=route, method="GET") - total(
        before, "hubapps_service_requests_total", route=route, method="GET"
    )
    assert grew == 3
    assert total(text, "hubapps_service_requests_total", route=route, status="404") >= 1
    assert total(text, "hubapps_service_requests_total", route="unmatched") >= 1
    assert total(text, "hubapps_service_requests_total", route="/static/{path}", status="200") >= 1  # a mount
    assert total(text, "hubapps_service_requests_total", route="/api/openapi.json", status="200") >= 1
    assert total(text, "hubapps_service_request_duration_seconds_count", route=route) >= 3
    assert total(text, "hubapps_service_hub_requests_total", route="user", outcome="2xx") >= 1
    for sample in samples(text):
        for value in sample.labels.values():
            assert "ann" not in value, sample
            assert "sales" not in value, sample
            assert "<" not in value, sample


def test_hub_paths_become_templates() -> None:
    assert hub_route("users/ann/servers/my-app") == "users/{name}/servers/{server}"
    assert hub_route("users/servers/servers/servers") == "users/{name}/servers/{server}"
    assert hub_route("/hub/api/users/x/servers/y/progress") == "users/{name}/servers/{server}/progress"
    assert hub_route("shares/%3Ca%20b%3E/app") == "shares/{owner}/{server}"
    assert hub_route("user") == "user"
    assert hub_route("/") == "/"
    assert hub_route(f"users/{HOSTILE}/what/is/this") == "other"


def test_the_running_apps_metrics_are_read_signed_and_labelled_by_an_opaque_id(
    metrics_client: TestClient, auth: Users, scraper: dict[str, str], fake_hub: FakeHub, proxies: FakeProxies
) -> None:
    serve_running_apps(fake_hub)
    fake_hub.add_server("ann", "sales", app_options(), running=True)
    fake_hub.add_server("bob", "dash-app", app_options(framework="dash"), running=True)
    fake_hub.add_server("cat", "stopped", app_options())
    text = metrics_client.get(f"{PREFIX}/metrics", headers=scraper).text
    assert {r.url.path for r in proxies.requests} == {
        "/user/ann/sales/_hubapps/metrics",
        "/user/bob/dash-app/_hubapps/metrics",
    }
    for request in proxies.requests:  # the scraper's token never goes to an app
        assert "Authorization" not in request.headers
        assert "cookie" not in request.headers
    ann = app_id(KEY, "ann", "sales")
    assert total(text, "hubapps_proxy_viewers_active", app=ann, framework="streamlit") == 2
    assert total(text, "hubapps_proxy_requests_total", app=ann, kind="http") == 1
    assert total(text, "hubapps_proxy_request_duration_seconds_bucket", app=ann, kind="http", le="0.025") == 1
    assert total(text, "hubapps_apps_running", framework="dash", state="ready") == 1
    assert total(text, "hubapps_apps_running", framework="streamlit", state="ready") == 1
    assert "ann" not in text
    assert "sales" not in text
    assert HOSTILE not in text


def test_an_apps_own_text_keeps_only_what_the_schema_names(
    metrics_client: TestClient, auth: Users, scraper: dict[str, str], fake_hub: FakeHub, proxies: FakeProxies
) -> None:
    serve_running_apps(fake_hub)
    fake_hub.add_server("ann", "sales", app_options(), running=True)
    proxies.hostile["ann"] = "\n".join(
        [
            "# TYPE hubapps_proxy_viewers_active gauge",
            "hubapps_proxy_viewers_active 7",
            'hubapps_proxy_viewers_active{user="<a b=\\"c\\">"} 1',  # a label the schema does not have
            "# TYPE hubapps_proxy_requests_total counter",
            'hubapps_proxy_requests_total{kind="http"} 5',
            'hubapps_proxy_requests_total{kind="bob"} 5',  # a value the schema does not have
            'hubapps_proxy_requests_total{kind="websocket"} -3',  # negative
            "# TYPE other_metric gauge",
            "other_metric 1",
            "# TYPE hubapps_proxy_app_ready_seconds histogram",
            'hubapps_proxy_app_ready_seconds_bucket{le="0.123"} 1',  # a bucket the schema does not have
            'hubapps_proxy_app_ready_seconds_bucket{le="+Inf"} 1',
        ]
    )
    text = metrics_client.get(f"{PREFIX}/metrics", headers=scraper).text
    ann = app_id(KEY, "ann", "sales")
    assert total(text, "hubapps_proxy_viewers_active", app=ann) == 7
    assert total(text, "hubapps_proxy_requests_total", app=ann, kind="http") == 5
    assert total(text, "hubapps_proxy_requests_total", app=ann) == 5
    assert "other_metric" not in text
    assert 'le="0.123"' not in text
    assert "<a" not in text
    assert sanitize("garbage {{{ not metrics") == []
    assert sanitize(f'hubapps_proxy_viewers_active{{user="{HOSTILE}"}} 1') == []  # does not parse: nothing kept


def test_the_workers_counts_are_added_up(tmp_path: Path) -> None:
    """Two processes count in one multiprocess directory (as two uvicorn workers do); the
    exposition reads both. A directory named by the admin is emptied of old counts at start."""
    environ: dict[str, str] = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    path, ours = metrics_directory(environ)
    assert not ours
    (Path(path) / "counter_999.db").write_bytes(b"stale")
    metrics_directory(environ)
    assert list(Path(path).iterdir()) == []
    script = (
        "from hubapps.service.metrics import REQUESTS, IN_PROGRESS, exposition\n"
        "REQUESTS.labels('GET', '/api/apps', '200').inc(3)\n"
        "IN_PROGRESS.inc()\n"
        "import sys; sys.stdout.write(exposition().decode())\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": path}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    ]
    # The second worker's answer already holds the first one's counts.
    assert total(outputs[1], "hubapps_service_requests_total", route="/api/apps") == 6
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    text = generate_latest(registry).decode()
    assert total(text, "hubapps_service_requests_total", route="/api/apps", method="GET", status="200") == 6
    # Both workers have exited: their in-progress gauges are gone from the sum, their counts are not.
    assert total(outputs[1], "hubapps_service_requests_in_progress") == 1
