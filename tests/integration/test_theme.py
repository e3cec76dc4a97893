"""Upstream's theme routes on a real Hub (issue 14, requirements 4 and 8): ``/config.json``, ``/theme``
and ``/theme.css`` under ``/services/japps/``, one contract test each, on a Hub whose config sets
``c.JupyterHub.template_vars`` *after* installing the launcher, as upstream's configs do, with one
hostile colour among the values. Chromium checks the pages themselves: tests/browser/test_theme.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.conftest import Hub, own_hub

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

#: The hostile value: a colour that would close the rule and hide the navigation bar.
HOSTILE = "red; } nav.navbar { display: none } x {"

#: A themed Hub: the shared configuration (which installs the launcher), then upstream's theme keys.
CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821

# Set after install, as upstream's configs set it after install_jhub_apps(c).
c.JupyterHub.template_vars = {{
    "hub_title": "Welcome to <Nebari> & co",
    "hub_subtitle": "your open source data science platform",
    "welcome": "Running in <b>test</b> mode",
    "display_version": True,
    "logo": "{base_url}hub/static/images/jupyterhub-80.png",
    "favicon": "{base_url}hub/static/favicon.ico",
    "font_family": "Georgia, serif",
    "primary_color": "#ba18da",
    "primary_color_dark": "#8a0aa3",
    "primary_color_light": "#f4e8f8",
    "text_color": "#1c1d1f",
    "h1_color": "#652e8e",
    "h2_color": {hostile!r},
    "navbar_color": "#1c1d1f",
    "navbar_text_color": "#ffffff",
    "navbar_hover_color": "#eeeeef",
}}
"""


def themed_config(base_url: str = "/") -> str:
    """The themed config, for a Hub at ``base_url`` (the admin writes the logo's path on the site)."""
    # own_hub fills {main} with str.format: the hostile value's braces are doubled for it.
    config = CONFIG.replace("{base_url}", base_url)
    return config.replace("{hostile!r}", repr(HOSTILE).replace("{", "{{").replace("}", "}}"))


def wait_for_service(hub: Hub, timeout: float = 30.0) -> None:
    """The Hub answers before its managed service does: wait (bounded) for the launcher."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if hub.request("GET", hub.launcher_url + "health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the launcher service did not answer within {timeout:g} s\n{hub.log_tail()}")


@pytest.fixture(scope="module")
def themed_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("theme-hub"), themed_config()) as running:
        wait_for_service(running)
        yield running


def _get(hub: Hub, path: str) -> httpx.Response:
    # No login, no token: the Hub's login page loads theme.css before anyone is logged in.
    return httpx.get(hub.url + "services/japps/" + path, timeout=30)


def test_config_json(themed_hub: Hub) -> None:
    response = _get(themed_hub, "config.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    config = response.json()
    assert set(config) == {"banners", "theme", "version"}
    assert config["version"]
    theme = config["theme"]
    assert theme["logo"] == "/hub/static/images/jupyterhub-80.png"
    assert theme["favicon"] == "/hub/static/favicon.ico"
    assert theme["font"] == {"family": "Georgia, serif", "url": None}  # offline: no web font unless set
    assert theme["colors"]["primary"] == "#ba18da"
    assert theme["colors"]["navbar"] == "#1c1d1f"
    assert theme["colors"]["heading"] == "#652e8e"
    assert theme["colors"]["heading2"] is None  # the hostile value was refused
    assert theme["cssVariables"]["--navbar-background-color"] == "#1c1d1f"
    assert "Refused" not in response.text
    assert "c.JupyterHub.template_vars: h2_color = " in themed_hub.log_tail(2000)  # the admin is told why


def test_theme(themed_hub: Hub) -> None:
    response = _get(themed_hub, "theme")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == _get(themed_hub, "config.json").json()["theme"]


def test_theme_css(themed_hub: Hub) -> None:
    response = _get(themed_hub, "theme.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["x-content-type-options"] == "nosniff"
    css = response.text
    assert "--navbar-background-color: #1c1d1f;" in css
    assert "background-color: #1c1d1f !important;" in css
    assert "--bs-primary-rgb: 186, 24, 218;" in css
    assert "@import" not in css  # no font_url: nothing fetched from elsewhere
    assert "display: none" not in css
    assert css.count("{") == css.count("}")
