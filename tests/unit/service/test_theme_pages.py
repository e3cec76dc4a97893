"""The theme on the launcher's pages (issue 14, requirement 8): a themed page links ``theme.css`` and
its CSP names exactly the theme's files; an unthemed page does neither. Markup in the theme's text is
escaped. (In Chromium: tests/browser/test_theme.py.)"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import Users

THEME = {
    "logo": "https://cdn.example.org/logo.svg",
    "hub_title": "<b>Lab</b> & co",
    "navbar_color": "#1c1d1f",
    "primary_color": "not a colour; }",  # refused by the service's own check too
}


def _csp(header: str) -> dict[str, str]:
    return dict(d.split(" ", 1) for d in header.split("; "))


def test_a_themed_launcher_page_links_the_theme_and_its_csp_names_its_files(
    make_client: Callable[..., TestClient], settings: ServiceSettings, auth: Users
) -> None:
    themed = settings.model_copy(update={"theme": ServiceSettings.model_validate({"theme": THEME}).theme})
    client = make_client(themed)
    page = client.get("/services/japps/create-app", headers=auth("ann"))
    assert page.status_code == 200
    assert '<link rel="stylesheet" href="/services/japps/theme.css">' in page.text
    assert '<img src="https://cdn.example.org/logo.svg" alt="&lt;b&gt;Lab&lt;/b&gt; &amp; co home"' in page.text
    assert "· &lt;b&gt;Lab&lt;/b&gt; &amp; co</title>" in page.text
    csp = _csp(page.headers["content-security-policy"])
    assert "hub.test/services/japps/theme.css" in csp["style-src"].split()
    assert "https://cdn.example.org/logo.svg" in csp["img-src"].split()
    css = client.get("/services/japps/theme.css")
    assert css.headers["content-type"].startswith("text/css")
    assert "#1c1d1f" in css.text
    assert "not a colour" not in css.text


def test_an_unthemed_page_loads_no_theme(client: TestClient, auth: Users) -> None:
    page = client.get("/services/japps/create-app", headers=auth("ann"))
    assert "theme.css" not in page.text
    assert "theme.css" not in page.headers["content-security-policy"]
    assert client.get("/services/japps/theme").json()["colors"]["primary"] is None
