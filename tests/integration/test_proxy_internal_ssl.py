"""hubapps-proxy under JupyterHub's ``internal_ssl``: the Hub, configurable-http-proxy and every server talk
TLS with certificates of the Hub's internal CA. The proxy must listen with TLS (the Hub's readiness check
and CHP come in over https with client certificates), and call the Hub's API over https with its own.

A Hub of its own for this module: the shared test configuration with ``internal_ssl`` on (set after
``install()``, as configs often do). The launcher service is in it too: it serves TLS with the certificate
the Hub made for it and asks every client for one of the Hub's certificates (the last plain hop is gone);
it calls the Hub's https API with the internal CA and its certificate; the apps' proxies send their
reports to it over TLS as well.
"""

from __future__ import annotations

import sqlite3
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.integration.conftest import Hub, own_hub, ws_url

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]  # a Hub of its own, with TLS everywhere

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
OWNER = "tls-owner"
TLS_CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
c.JupyterHub.internal_ssl = True
c.JupyterHub.internal_certs_location = {certs!r}
c.JupyterHub.trusted_alt_names = ["IP:127.0.0.1", "DNS:localhost"]
c.JupyterHub.hub_bind_url = c.JupyterHub.hub_bind_url.replace("http://", "https://")
c.ConfigurableHTTPProxy.api_url = c.ConfigurableHTTPProxy.api_url.replace("http://", "https://")
"""


def _certs(hub: Hub) -> Path:
    return hub.root / "internal-certs"


def _tls_client(hub: Hub, component: str | None) -> ssl.SSLContext:
    """A client context trusting the Hub's CA for servers; with ``component``'s certificate (a record of
    the Hub's certificate store, e.g. ``proxy-client``: configurable-http-proxy's), or with none."""
    from certipy import Certipy

    store = Certipy(store_dir=str(_certs(hub))).store
    context = ssl.create_default_context(cafile=store.get_record("notebooks-ca")["files"]["cert"])
    if component:
        files = store.get_record(component)["files"]
        context.load_cert_chain(files["cert"], files["key"])
    return context


def _spec(script: str) -> dict[str, object]:
    return {
        "spec_version": 1,
        "framework": "command",
        "display_name": script,
        "command": ["{python}", str(RESOURCES / script), "{port}"],
    }


@pytest.fixture(scope="module")
def tls_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    root = tmp_path_factory.mktemp("tls-hub")
    with own_hub(root, TLS_CONFIG.replace("{certs!r}", repr(str(root / "internal-certs")))) as running:
        yield running


def test_app_behind_the_proxy_works_with_internal_ssl(tls_hub: Hub) -> None:
    tls_hub.create_app(OWNER, "echo", _spec("echo_app.py"))
    token = tls_hub.token_for(OWNER)
    # The Hub called the server ready: its readiness check reached the proxy over TLS.
    assert tls_hub.wait_app(OWNER, "echo", token)["state"] == "ready"
    assert tls_hub.server_model(OWNER, "echo") is not None
    url = tls_hub.app_url(OWNER, "echo")
    # Through CHP (TLS with its client certificate) to the proxy, whose token lookup went to the Hub
    # over https with the server's certificate.
    response = httpx.get(url + "hello", headers={"Authorization": f"token {token}"}, timeout=30)
    assert response.status_code == 200
    seen = {name.lower(): value for name, value in response.json()["headers"]}
    assert seen["x-hubapps-user"] == OWNER
    assert httpx.get(url + "hello", timeout=30).status_code == 401
    stranger = tls_hub.token_for("tls-stranger")
    assert httpx.get(url + "hello", headers={"Authorization": f"token {stranger}"}, timeout=30).status_code == 403
    # The launcher service calls the Hub's https API with the internal CA and its own certificate.
    listing = httpx.get(
        tls_hub.url + "services/japps/api/apps", headers={"Authorization": f"token {token}"}, timeout=30
    )
    assert listing.status_code == 200, listing.text
    assert "echo" in listing.text
    tls_hub.stop_app(OWNER, "echo", remove=True)


async def test_websocket_with_internal_ssl(tls_hub: Hub) -> None:
    tls_hub.create_app(OWNER, "ws", _spec("ws_echo_app.py"))
    token = tls_hub.token_for(OWNER)
    tls_hub.wait_app(OWNER, "ws", token)
    try:
        async with websockets.connect(
            ws_url(tls_hub.app_url(OWNER, "ws") + "ws"),
            additional_headers={"Authorization": f"token {token}"},
            open_timeout=30,
        ) as ws:
            await ws.send("through TLS inside the Hub")
            assert await ws.recv() == "through TLS inside the Hub"
    finally:
        tls_hub.stop_app(OWNER, "ws", remove=True)


def test_the_launcher_service_serves_tls_and_asks_for_the_hubs_certificates(tls_hub: Hub) -> None:
    # The Hub's proxy sends the service's prefix to an https URL.
    routes = tls_hub.api("GET", "proxy").json()
    route = next(value for key, value in routes.items() if key.rstrip("/").endswith("/services/japps"))
    assert route["target"] == f"https://127.0.0.1:{tls_hub.service_port}", routes
    direct = f"https://127.0.0.1:{tls_hub.service_port}/services/japps/api/frameworks"
    token = tls_hub.token_for(OWNER)
    headers = {"Authorization": f"token {token}"}
    # With the certificate of the Hub's proxy, as configurable-http-proxy connects: served.
    with httpx.Client(verify=_tls_client(tls_hub, "proxy-client"), timeout=30) as client:
        assert client.get(direct, headers=headers).status_code == 200
    # No plain HTTP any more, and no TLS without one of the Hub's certificates.
    with pytest.raises(httpx.HTTPError):
        httpx.get(direct.replace("https:", "http:"), headers=headers, timeout=10)
    with pytest.raises(httpx.HTTPError), httpx.Client(verify=_tls_client(tls_hub, None), timeout=10) as client:
        client.get(direct, headers=headers)


def test_the_apps_proxy_reports_to_the_service_over_tls(tls_hub: Hub) -> None:
    tls_hub.create_app(OWNER, "reported", _spec("echo_app.py"))
    token = tls_hub.token_for(OWNER)
    tls_hub.wait_app(OWNER, "reported", token)

    def ready_runs() -> list[tuple[str, float | None]]:
        with sqlite3.connect(tls_hub.root / "hubapps.sqlite") as db:
            rows = db.execute(
                "SELECT state, ready_after FROM hubapps_runs WHERE owner = ? AND server = ?", (OWNER, "reported")
            ).fetchall()
        return [(row[0], row[1]) for row in rows if row[1] is not None]

    # The proxy's "started" and "ready" reports (signed with the app's key) reached the service.
    deadline = time.monotonic() + 30
    while not ready_runs() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert ready_runs(), "no report of the app's run reached the service over TLS"
    tls_hub.stop_app(OWNER, "reported", remove=True)
