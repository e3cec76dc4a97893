"""The details page shows the app's public address, never the internal one the service reaches apps at."""

from __future__ import annotations

import html
from collections.abc import Callable

from fastapi.testclient import TestClient

from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, app_options

ODD = "d&o<'\">"


def _settings(settings: ServiceSettings, **changes: object) -> ServiceSettings:
    return ServiceSettings.model_validate({**settings.model_dump(), **changes})


def test_details_page_shows_the_public_url_not_the_proxy_url(
    make_client: Callable[..., TestClient], fake_hub: FakeHub, settings: ServiceSettings
) -> None:
    token = fake_hub.add_user(ODD)
    fake_hub.add_server(ODD, "dash", app_options("Dash"), running=True)
    client = make_client(
        _settings(settings, public_url="https://hub.example.org/", proxy_url="http://proxy-internal.cluster:8000")
    )
    r = client.get("/services/japps/ui/apps/d%26o%3C%27%22%3E/dash", headers={"Authorization": f"token {token}"})
    assert r.status_code == 200, r.text
    assert "proxy-internal" not in r.text
    expected = "https://hub.example.org/user/d%26o%3C%27%22%3E/dash/"
    assert f'id="app-url" value="{html.escape(expected)}"' in r.text


def test_without_a_public_url_the_page_fills_in_its_own_origin(
    make_client: Callable[..., TestClient], fake_hub: FakeHub, settings: ServiceSettings
) -> None:
    token = fake_hub.add_user("ann")
    fake_hub.add_server("ann", "dash", app_options("Dash"), running=True)
    client = make_client(_settings(settings, proxy_url="http://proxy-internal.cluster:8000"))
    r = client.get("/services/japps/ui/apps/ann/dash", headers={"Authorization": f"token {token}"})
    assert r.status_code == 200
    assert "proxy-internal" not in r.text
    assert 'id="app-url" value="" data-path="/user/ann/dash/"' in r.text
