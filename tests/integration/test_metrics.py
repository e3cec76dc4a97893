"""Prometheus metrics on a real Hub: the service's ``/metrics`` with a token holding ``read:metrics``
(granted by a role, as an admin would), two service workers added up, an app's traffic and viewers
seen through the service, and the app's own ``_hubapps/metrics`` refused to every user's credential
through the Hub's proxy."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hubapps.service.operations.app_metrics import app_id
from tests.integration.conftest import Hub, browser_visit, own_hub

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
SCRAPE_TOKEN = secrets.token_hex(32)
CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
import hubapps

# Prometheus, as the docs set it up: a service whose token holds only read:metrics.
c.JupyterHub.services.append({{"name": "test-prometheus", "api_token": "SCRAPE_TOKEN"}})
c.JupyterHub.load_roles.append({{"name": "metrics", "scopes": ["read:metrics"], "services": ["test-prometheus"]}})
c.HubApps.service_workers = 2  # counts of both workers are added up
c.HubApps.metrics_apps_ttl = 0  # every scrape reads the apps afresh
# A failed app's proxy exits (code 1) a second after failing, and the Hub notices within a second.
c.HubApps.proxy_limits = {{"failure-linger": 1}}
c.Spawner.poll_interval = 1
hubapps.install(c)
""".replace("SCRAPE_TOKEN", SCRAPE_TOKEN)


@pytest.fixture(scope="module")
def metrics_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("metrics-hub"), CONFIG) as running:
        yield running


def scrape(hub: Hub, token: str | None = SCRAPE_TOKEN) -> httpx.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return httpx.get(hub.url + "services/japps/metrics", headers=headers, timeout=30)


def total(text: str, name: str, **labels: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def _spec(name: str, app: str = "echo_app.py") -> dict[str, Any]:
    return {
        "framework": "command",
        "display_name": name,
        "command": ["{python}", str(RESOURCES / app), "{port}"],
        "spec_version": 1,
        "jhub_app": True,
    }


def hub_metrics(hub: Hub) -> str:
    """JupyterHub's own /hub/metrics (the spawner's counts of app starts and failures are there)."""
    response = httpx.get(hub.url + "hub/metrics", headers={"Authorization": f"token {SCRAPE_TOKEN}"}, timeout=30)
    assert response.status_code == 200, response.text[:300]
    return response.text


def test_the_scrape_needs_read_metrics(metrics_hub: Hub) -> None:
    assert scrape(metrics_hub, None).status_code == 403
    assert scrape(metrics_hub, metrics_hub.token_for("metrics-user")).status_code == 403
    # JupyterHub's admin role holds read:metrics: an admin's token reads metrics, as at /hub/metrics.
    assert scrape(metrics_hub, metrics_hub.token_for("admin")).status_code == 200
    response = scrape(metrics_hub)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert total(response.text, "hubapps_apps_metrics_listed") == 1  # the service may list running apps


def test_requests_of_both_workers_are_counted(metrics_hub: Hub) -> None:
    token = metrics_hub.token_for("metrics-lister")
    before = total(scrape(metrics_hub).text, "hubapps_service_requests_total", route="/api/apps")
    for _ in range(12):  # new connections each time: uvicorn's workers share the socket, each takes some
        response = httpx.get(
            metrics_hub.url + "services/japps/api/apps", headers={"Authorization": f"token {token}"}, timeout=30
        )
        assert response.status_code == 200
    after = total(scrape(metrics_hub).text, "hubapps_service_requests_total", route="/api/apps")
    assert after - before == 12


def test_an_opened_app_shows_its_requests_and_viewers_and_keeps_its_metrics_to_the_service(
    metrics_hub: Hub,
) -> None:
    owner, server = f"metrics-{secrets.token_hex(3)}", "echo"
    key = bytes.fromhex((metrics_hub.root / "jupyterhub_hubapps_status_key").read_text().strip())
    ident = app_id(key, owner, server)
    token = metrics_hub.token_for(owner)
    starts = total(hub_metrics(metrics_hub), "hubapps_hub_app_starts_total", framework="command", outcome="started")
    metrics_hub.create_app(owner, server, _spec("Metrics echo"), token=token)
    try:
        metrics_hub.wait_app(owner, server, token)
        text = scrape(metrics_hub).text
        base = total(text, "hubapps_proxy_requests_total", app=ident, kind="http")
        browser = metrics_hub.login(owner)
        try:
            for _ in range(3):
                page = browser_visit(browser, metrics_hub.app_url(owner, server) + "hello")
                assert page.status_code == 200, page.text[:300]
            # The app's own metrics: for the service's signed request only, never a user's login.
            url = metrics_hub.app_url(owner, server) + "_hubapps/metrics"
            assert browser.get(url).status_code == 404  # the owner's cookie, through the Hub's proxy
            for credential in (token, metrics_hub.token_for("admin"), SCRAPE_TOKEN):
                assert httpx.get(url, headers={"Authorization": f"token {credential}"}, timeout=30).status_code == 404
        finally:
            browser.close()
        deadline = time.monotonic() + 30
        while True:
            text = scrape(metrics_hub).text
            if total(text, "hubapps_proxy_requests_total", app=ident, kind="http") >= base + 3:
                break
            assert time.monotonic() < deadline, text[-3000:]
            time.sleep(0.5)
        assert total(text, "hubapps_proxy_viewers_active", app=ident, framework="command") >= 1
        assert total(text, "hubapps_proxy_app_state", app=ident, state="ready") == 1
        assert total(text, "hubapps_proxy_app_ready_seconds_count", app=ident) == 1
        assert total(text, "hubapps_apps_running", framework="command", state="ready") >= 1
        assert owner not in text
        hub_text = hub_metrics(metrics_hub)
        assert total(hub_text, "hubapps_hub_app_starts_total", framework="command", outcome="started") == starts + 1
    finally:
        metrics_hub.stop_app(owner, server, remove=True)


def test_an_app_that_failed_for_good_is_counted_at_the_hub(metrics_hub: Hub) -> None:
    owner, server = f"metrics-{secrets.token_hex(3)}", "crash"
    before = total(hub_metrics(metrics_hub), "hubapps_hub_app_failures_total", framework="command")
    token = metrics_hub.token_for(owner)
    response = metrics_hub.start_app(owner, server, _spec("Crashes", "crash_on_start.py"), token=token)
    assert response.status_code in (201, 202), response.text
    try:
        deadline = time.monotonic() + 60
        # The proxy gives up, lingers a second, exits 1; the Hub's poll sees it: counted, server stopped.
        while (
            total(hub_metrics(metrics_hub), "hubapps_hub_app_failures_total", framework="command") < before + 1
            or metrics_hub.server_model(owner, server) is not None
        ):
            assert time.monotonic() < deadline, "the Hub never counted the failed app"
            time.sleep(0.5)
        assert total(hub_metrics(metrics_hub), "hubapps_hub_app_failures_total", framework="command") == before + 1
    finally:
        metrics_hub.stop_app(owner, server, remove=True)
