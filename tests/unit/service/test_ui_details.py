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


def test_form_offers_sharing_and_public_only_when_the_hub_allows(
    make_client: Callable[..., TestClient], fake_hub: FakeHub, settings: ServiceSettings
) -> None:
    token = fake_hub.add_user("ann")
    fake_hub.add_server("ann", "dash", app_options("Dash"), running=False)
    auth = {"Authorization": f"token {token}"}
    on = make_client(settings).get("/services/japps/ui/apps/ann/dash/edit", headers=auth)
    assert 'name="share_users"' in on.text
    assert 'name="public"' in on.text
    off = make_client(_settings(settings, allow_sharing=False, allow_public_apps=False))
    page = off.get("/services/japps/ui/apps/ann/dash/edit", headers=auth)
    assert page.status_code == 200, page.text
    assert "Sharing is turned off on this Hub" in page.text
    assert 'name="share_users"' not in page.text
    assert 'name="public"' not in page.text
    details = off.get("/services/japps/ui/apps/ann/dash", headers=auth).text
    assert "Only its owner, ann." in details
    assert "Share it" not in details


def test_details_page_says_when_the_app_stops_and_who_may_start_it(
    make_client: Callable[..., TestClient], fake_hub: FakeHub, settings: ServiceSettings
) -> None:
    token = fake_hub.add_user("ann")
    fake_hub.add_server("ann", "old", app_options("Old", keep_alive=True))  # stored before idle_policy
    own = app_options("Own", idle_policy="idle", idle_minutes=30, max_age_minutes=90.5, viewers_can_start=True)
    fake_hub.add_server("ann", "own", own)
    client = make_client(settings)
    old = client.get("/services/japps/ui/apps/ann/old", headers={"Authorization": f"token {token}"}).text
    assert 'id="app-idle-policy">keep it running<' in old
    assert 'id="app-viewers-start">no<' in old
    page = client.get("/services/japps/ui/apps/ann/own", headers={"Authorization": f"token {token}"}).text
    assert 'id="app-idle-policy">stop it after 30 min without viewers or 90.5 min after a start<' in page
    assert 'id="app-viewers-start">yes<' in page
