"""The service under JupyterHub's ``subdomain_host``: on a host of its own (``japps--service.<domain>``),
with what the Hub tells it (``JUPYTERHUB_HOST``, ``JUPYTERHUB_PUBLIC_URL``). The real Hub, CHP and
Chromium: tests/integration/test_subdomains.py."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from hubapps.core.frameworks import FrameworkRegistry
from hubapps.service.app import create_app
from hubapps.service.app_models import app_url
from hubapps.service.appstatus import AppStatusReader
from hubapps.service.settings import ServiceSettings
from tests.certificates import wildcard_certificate
from tests.unit.service.conftest import FakeHub, Users
from tests.unit.service.headers import checked
from tests.unit.service.test_auth import login

SERVICE_HOST = "japps--service.hub.test"


def _on_own_host(settings: ServiceSettings, scheme: str = "http") -> ServiceSettings:
    """The settings as the Hub's environment makes them under ``subdomain_host = <scheme>://hub.test``."""
    env = {
        "HUBAPPS_SETTINGS": settings.model_dump_json(exclude={"api_token", "cookie_secret", "crypt_key", "status_key"}),
        "JUPYTERHUB_API_TOKEN": settings.api_token.get_secret_value(),
        "JUPYTERHUB_HOST": f"{scheme}://hub.test",
        "JUPYTERHUB_PUBLIC_URL": f"{scheme}://{SERVICE_HOST}/services/japps/",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{scheme}://{SERVICE_HOST}/services/japps/oauth_callback",
    }
    return ServiceSettings.from_env(env)


def test_settings_from_the_hubs_environment() -> None:
    settings = _on_own_host(ServiceSettings(), "https")
    assert settings.own_host
    assert settings.host_cookies
    assert settings.hub_pages == "https://hub.test/hub/"
    assert settings.app_proxy_url == "https://hub.test"
    # Without subdomains the Hub's host and the service's public URL share a host: relative links.
    same = ServiceSettings.from_env(
        {"JUPYTERHUB_HOST": "https://hub.test", "JUPYTERHUB_PUBLIC_URL": "https://hub.test/services/japps/"}
    )
    assert not same.own_host
    assert not same.host_cookies
    assert same.hub_pages == "/hub/"
    # Plain http: no __Host- cookies (they need Secure).
    assert not _on_own_host(ServiceSettings()).host_cookies


@pytest.mark.parametrize(
    ("owner", "host"),
    [("bob", "bob.hub.test"), ("Ann Lee", None)],
)
def test_an_app_url_without_a_server_model_uses_jupyterhubs_own_hook(owner: str, host: str | None) -> None:
    from jupyterhub.utils import subdomain_hook_idna

    url = app_url(_on_own_host(ServiceSettings()), owner, "my app")
    expected_host = host or subdomain_hook_idna(owner, "hub.test", "user")
    assert url == f"http://{expected_host}/user/{owner.replace(' ', '%20')}/my%20app/"
    assert app_url(ServiceSettings(), owner, "a") == f"/user/{owner.replace(' ', '%20')}/a/"


def test_login_goes_to_the_hubs_own_host_with_host_cookies(
    fake_hub: FakeHub, settings: ServiceSettings, registry: FrameworkRegistry, auth: Users
) -> None:
    app = create_app(
        _on_own_host(settings, "https"), hub_transport=httpx.MockTransport(fake_hub.handler), registry=registry
    )
    with checked(TestClient(app, base_url=f"https://{SERVICE_HOST}")) as client:
        _login_on_own_host(client, fake_hub, auth)


def _login_on_own_host(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    r = client.get("/services/japps/oauth_login", follow_redirects=False)
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "hub.test", "/hub/api/oauth2/authorize")
    assert parse_qs(target.query)["redirect_uri"] == [f"https://{SERVICE_HOST}/services/japps/oauth_callback"]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-service-japps-oauth-state=")
    assert "Path=/;" in cookie
    assert "Secure" in cookie
    assert "Domain" not in cookie
    fake_hub.oauth_codes["the-code"] = auth.tokens["ann"]
    r = client.get(
        "/services/japps/oauth_callback",
        params={"code": "the-code", "state": parse_qs(target.query)["state"][0]},
        follow_redirects=False,
    )
    assert r.status_code == 302, r.text
    session = [c for c in r.headers.get_list("set-cookie") if c.startswith("__Host-service-japps=")]
    assert len(session) == 1
    assert "Path=/;" in session[0]
    assert "Secure" in session[0]
    assert client.get("/services/japps/api/user").json()["name"] == "ann"
    # Links to the Hub's pages go to the Hub's host; the gallery is a page of the service's own.
    page = client.get("/services/japps/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert 'href="https://hub.test/hub/token"' in page.text
    assert 'id="hubapps-gallery-slot"' in page.text
    # One dialog on the page: the gallery fragment brings it (its ids would otherwise be there twice).
    assert 'id="hubapps-dialog"' not in page.text
    fragment = client.get("/services/japps/ui/gallery", headers={"Accept": "text/html"})
    assert fragment.text.count('id="hubapps-dialog"') == 1


def test_a_tossed_second_login_cookie_is_refused(
    make_client: Callable[..., TestClient], fake_hub: FakeHub, settings: ServiceSettings, auth: Users
) -> None:
    """Another host of the domain set a cookie of the launcher's name (``document.cookie`` with
    ``domain=``): with two, the service cannot tell which is its own, and acts as nobody."""
    client = make_client(_on_own_host(settings))
    login(client, fake_hub, auth.tokens["ann"])
    own = client.cookies.get("service-japps")
    mallory = make_client(_on_own_host(settings))
    login(mallory, fake_hub, auth.tokens["bob"])
    tossed = mallory.cookies.get("service-japps")
    assert own
    assert tossed
    for order in ([own, tossed], [tossed, own]):
        header = "; ".join(f"service-japps={value}" for value in order)
        r = client.get("/services/japps/api/user", headers={"Cookie": header})
        assert r.status_code == 400, r.text
        assert "twice" in r.json()["detail"]
    assert client.get("/services/japps/api/user", headers={"Cookie": f"service-japps={own}"}).json()["name"] == "ann"


async def test_status_reads_go_to_the_proxy_with_the_owners_host() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"state": "ready"})

    reader = AppStatusReader(
        "http://127.0.0.1:8000", b"k" * 32, timeout=5, max_bytes=1000, transport=httpx.MockTransport(handler)
    )
    try:
        got = await reader.get_json("bob", "app", "http://bob.hub.test:8000/user/bob/app/", "_hubapps/status")
    finally:
        await reader.aclose()
    assert got == {"state": "ready"}
    assert str(seen[0].url) == "http://127.0.0.1:8000/user/bob/app/_hubapps/status"
    assert seen[0].headers["host"] == "bob.hub.test:8000"


def test_the_proxy_is_verified_with_the_admins_ca_file(tmp_path: Path, settings: ServiceSettings) -> None:
    """An https proxy with a self-signed or internal-CA certificate: ``proxy_ca_file`` verifies it when
    the service reads apps' status and logs (the system's trust store otherwise)."""
    cert, _ = wildcard_certificate(tmp_path, "hub.test")
    assert settings.proxy_tls() is True
    context = settings.model_copy(update={"proxy_ca_file": str(cert)}).proxy_tls()
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509"] == 1  # the admin's certificate, not the system's store
