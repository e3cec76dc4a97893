"""hubapps-proxy under JupyterHub's ``internal_ssl``: the Hub, configurable-http-proxy and every server talk
TLS with certificates of the Hub's internal CA. The proxy must listen with TLS (the Hub's readiness check
and CHP come in over https with client certificates), and call the Hub's API over https with its own.

A Hub of its own for this module: the shared test configuration with ``internal_ssl`` on. The launcher
service is in it too: it calls the Hub's https API with the internal CA and its certificate (it still
listens on plain HTTP on 127.0.0.1; see docs/proxy.md).
"""

from __future__ import annotations

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
