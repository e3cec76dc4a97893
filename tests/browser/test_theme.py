"""The Hub's theme in Chromium (issue 14, requirement 8): upstream's ``c.JupyterHub.template_vars`` keys,
set after installing the launcher as upstream's configs do, style the Hub's login and home pages and
the launcher's own pages: navigation bar colour, logo, title, heading colours, font and buttons, with
no Content-Security-Policy violation. A hostile colour (``h2_color`` closing its rule to hide the
navigation bar) is refused, and dark mode keeps the light-mode text colours out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import login_page
from tests.integration.conftest import PASSWORD, Hub, own_hub
from tests.integration.test_theme import themed_config, wait_for_service

pytestmark = [pytest.mark.browser, pytest.mark.integration]

HUB_TITLE = "Welcome to <Nebari> & co"
LOGO = "/hub/static/images/jupyterhub-80.png"
NAVBAR = "rgb(28, 29, 31)"  # navbar_color #1c1d1f
H1 = "rgb(101, 46, 142)"  # h1_color #652e8e
PRIMARY = "rgb(186, 24, 218)"  # primary_color #ba18da
TEXT = "rgb(28, 29, 31)"  # text_color #1c1d1f
RED = "rgb(255, 0, 0)"  # what the hostile h2_color would have given


@pytest.fixture(scope="module")
def themed_hub(tmp_path_factory: pytest.TempPathFactory, hub_options: dict[str, Any]) -> Iterator[Hub]:
    with own_hub(
        tmp_path_factory.mktemp("theme-browser-hub"), themed_config(hub_options.get("base_url", "/")), **hub_options
    ) as running:
        wait_for_service(running)
        yield running


def _watch_csp(page: Any) -> list[str]:
    """Console messages of CSP refusals (a theme file the page's policy does not name would be one)."""
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    return refused


def _style(page: Any, selector: str, prop: str) -> str:
    value: str = page.eval_on_selector(selector, f"el => getComputedStyle(el).getPropertyValue({prop!r})")
    return value


def _check_chrome(page: Any) -> None:
    """What every themed page shows: the bar's colour, the logo, the title."""
    assert _style(page, "nav.navbar", "background-color") == NAVBAR
    assert _style(page, "nav.navbar", "display") != "none"  # the hostile rule did not get in
    assert page.get_attribute("#jupyterhub-logo img", "src").endswith(LOGO)
    assert page.eval_on_selector("#jupyterhub-logo img", "img => img.complete && img.naturalWidth > 0")
    assert HUB_TITLE in page.title()


def test_the_hub_login_page_shows_the_title_subtitle_and_welcome(browser: Any, themed_hub: Hub) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        refused = _watch_csp(page)
        page.goto(themed_hub.url + "hub/login")
        assert page.inner_text("#hubapps-hub-title") == HUB_TITLE
        assert page.inner_text("#hubapps-hub-subtitle") == "your open source data science platform"
        # Text, not markup (upstream rendered it as HTML).
        assert page.inner_text("#hubapps-hub-welcome") == "Running in <b>test</b> mode"
        assert _style(page, "#hubapps-hub-title", "color") == H1
        assert _style(page, "body", "color") == TEXT
        assert "Georgia" in _style(page, "body", "font-family")
        # JupyterHub's own orange on its login form takes the primary colour too.
        assert _style(page, "#login_submit", "background-color") == PRIMARY
        assert _style(page, "#login-main .auth-form-header", "background-color") == PRIMARY
        _check_chrome(page)
        assert refused == []
    finally:
        context.close()


def test_the_hub_home_is_themed_and_the_hostile_colour_refused(
    browser: Any, themed_hub: Hub, shot: Callable[[Any, str], Path]
) -> None:
    page = login_page(browser, themed_hub, "themed-user")
    try:
        refused = _watch_csp(page)
        page.goto(themed_hub.url + "hub/home")
        # The gallery, or under subdomain_host the link to the launcher's own gallery page.
        page.wait_for_selector("#hubapps-open-gallery" if themed_hub.subdomain_host else "#hubapps-gallery")
        _check_chrome(page)
        assert page.inner_text("#hubapps-hub-title") == HUB_TITLE
        assert _style(page, "#hubapps-hub-title", "color") == H1
        assert _style(page, "#hubapps-quick-h", "color") != RED  # h2_color was refused
        assert _style(page, "#hubapps-jupyterlab .btn-primary", "background-color") == PRIMARY
        assert _style(page, "#logout", "color") == "rgb(255, 255, 255)"  # readable on the dark bar
        assert refused == []
        assert page.dialogs == []
        shot(page, "theme-hub-home")
    finally:
        page.context.close()


def test_a_launcher_page_is_themed_under_its_strict_csp(
    browser: Any, themed_hub: Hub, shot: Callable[[Any, str], Path]
) -> None:
    page = login_page(browser, themed_hub, "themed-user")
    try:
        refused = _watch_csp(page)
        page.goto(themed_hub.launcher_url + "create-app")
        page.wait_for_selector("main h1")
        _check_chrome(page)
        assert _style(page, "main h1", "color") == H1
        assert "Georgia" in _style(page, "body", "font-family")
        assert _style(page, "main .btn-primary", "background-color") == PRIMARY
        # The theme's icon (a path under the Hub's base_url), and it loads.
        icon = page.eval_on_selector("link[rel=icon]", "link => link.href")
        assert icon.endswith(themed_hub.base_url + "hub/static/favicon.ico")
        assert themed_hub.request("GET", icon).status_code == 200
        assert refused == []
        shot(page, "theme-launcher-deploy")
    finally:
        page.context.close()


def test_dark_mode_keeps_the_light_text_colours_out(
    browser: Any, themed_hub: Hub, shot: Callable[[Any, str], Path]
) -> None:
    context = browser.new_context(color_scheme="dark")
    try:
        page = context.new_page()
        page.goto(themed_hub.url + "hub/login")
        assert page.get_attribute("html", "data-bs-theme") == "dark"
        assert _style(page, "body", "color") != TEXT  # dark text on a dark page would be unreadable
        assert _style(page, "#hubapps-hub-title", "color") != H1
        assert _style(page, "nav.navbar", "background-color") == NAVBAR  # the brand bar, with its own text colour
        assert _style(page, "nav.navbar", "color") == "rgb(255, 255, 255)"
        shot(page, "theme-login-dark")
        # A launcher page, logged in, in dark mode too.
        themed_hub.ensure_user("themed-dark")
        page.fill("#username_input", "themed-dark")
        page.fill("#password_input", PASSWORD)
        page.click("#login_submit")
        page.wait_for_url("**/hub/home**")
        page.goto(themed_hub.launcher_url + "create-app")
        page.wait_for_selector("main h1")
        assert page.get_attribute("html", "data-bs-theme") == "dark"
        assert _style(page, "body", "color") != TEXT
        assert _style(page, "main h1", "color") != H1
        assert _style(page, "nav.navbar", "background-color") == NAVBAR
        shot(page, "theme-launcher-dark")
    finally:
        context.close()


def test_every_colour_hubapps_accepts_is_one_chromium_reads(browser: Any) -> None:
    """Chromium as the oracle: what css_color accepts (samples of each form, and seeded random numbers
    in colour functions) is a colour for the browser, not something it drops or reads otherwise."""
    import random

    from hubapps.core.theme import _NAMED_COLORS, css_color

    rng = random.Random(14)  # noqa: S311 (seeded test data, not a secret)

    def number(unit: str = "") -> str:
        return f"{rng.choice(['', '-', '+'])}{rng.uniform(0, 300):.{rng.randint(0, 3)}f}{unit}"

    samples = ["#abc", "#abcd", "#a1b2c3", "#a1b2c3d4", "currentcolor", "transparent", *sorted(_NAMED_COLORS)]
    for _ in range(2000):
        # Random on purpose: separators, units and counts that CSS may or may not allow.
        name = rng.choice(["rgb", "rgba", "hsl", "hsla", "hwb", "lab", "lch", "oklab", "oklch"])
        parts = [number(rng.choice(["", "", "%", "%", "deg", "turn"])) for _ in range(rng.randint(3, 4))]
        one = rng.choice([" ", ", ", ","]) if rng.random() < 0.7 else None  # mostly one separator
        text = parts[0]
        for i, part in enumerate(parts[1:]):
            text += (" / " if i == 2 and one == " " else one or rng.choice([" ", ", ", ",", " / "])) + part
        samples.append(f"{name}({text})")
    accepted = [value for value in samples if _accepts(css_color, value)]
    assert len([value for value in accepted if "(" in value]) > 100  # the functions are reached
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content("<p>oracle</p>")
        refused = page.evaluate("values => values.filter(v => !CSS.supports('color', v))", accepted)
        assert refused == []
    finally:
        context.close()


def _accepts(check: Callable[[str], str], value: str) -> bool:
    try:
        check(value)
    except ValueError:
        return False
    return True
