"""The admin's launcher icon and default card thumbnail (upstream's ``app_icon``, ``default_thumbnail``) on
the launcher's pages: shown, escaped, and allowed by the page's CSP as exactly those files."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from hubapps.service.rendering import page_csp
from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, app_options

ICON = "https://cdn.example.org/brand/icon.svg"
CARD = "/hub/static/images/card.png"


def _settings(settings: ServiceSettings, **changes: object) -> ServiceSettings:
    return ServiceSettings.model_validate({**settings.model_dump(), **changes})


def test_an_app_without_a_thumbnail_shows_the_default_one_and_the_navbar_the_icon(
    make_client: Callable[..., TestClient], fake_hub: FakeHub, settings: ServiceSettings
) -> None:
    token = fake_hub.add_user("ann")
    fake_hub.add_server("ann", "dash", app_options("Dash"), running=True)
    client = make_client(_settings(settings, app_icon=ICON, default_thumbnail=CARD))
    page = client.get("/services/japps/ui/apps/ann/dash", headers={"Authorization": f"token {token}"})
    assert page.status_code == 200, page.text
    assert f'<img src="{CARD}"' in page.text
    assert f'<img src="{ICON}" alt="" class="hubapps-icon"' in page.text
    img_src = next(d for d in page.headers["content-security-policy"].split("; ") if d.startswith("img-src"))
    assert ICON in img_src.split()
    assert f"hub.test{CARD}" in img_src.split()


def test_without_them_nothing_is_shown_or_allowed(
    make_client: Callable[..., TestClient], fake_hub: FakeHub, settings: ServiceSettings
) -> None:
    token = fake_hub.add_user("ann")
    fake_hub.add_server("ann", "dash", app_options("Dash"), running=True)
    page = make_client(settings).get("/services/japps/ui/apps/ann/dash", headers={"Authorization": f"token {token}"})
    assert 'class="hubapps-icon"' not in page.text
    assert 'class="hubapps-initial' in page.text


def test_an_image_address_cannot_add_csp_directives() -> None:
    csp = page_csp(
        "n0nce",
        host="hub.test",
        prefix="/services/japps/",
        hub_prefix="/hub/",
        images=("https://x.example/a;script-src *", "/p,q"),
    )
    assert "script-src *" not in csp
    assert csp.count(";") == csp.count("; ")
    assert [d.split()[0] for d in csp.split("; ")].count("script-src") == 1
