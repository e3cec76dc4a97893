"""Shiny (Python and R), marimo, Solara and NiceGUI in Chromium, through the real Hub and hubapps-proxy:
each example app is opened by its owner (a name that needs escaping in URLs) and used once, so the answer
comes back over the framework's websocket through both proxies.

The apps start at once (module fixture), through the Hub's REST API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from hubapps.examples import example_spec
from tests.browser.conftest import SCREENSHOTS
from tests.integration.conftest import EXAMPLES_FOLDER, Hub

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(240)]

OWNER = "fw<'&\">owner"
FRAMEWORKS = ("shiny", "marimo", "solara", "nicegui", "rshiny")
#: Milliseconds to wait for an app's page or its answer.
ANSWER_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def app_urls(hub: Hub) -> Iterator[dict[str, str]]:
    token = hub.token_for(OWNER)

    def launch(framework: str) -> str:
        server = f"browser-{framework}"
        hub.create_app(OWNER, server, example_spec(framework, EXAMPLES_FOLDER), token=token)
        hub.wait_app(OWNER, server, token)
        return hub.app_url(OWNER, server)

    with ThreadPoolExecutor(max_workers=len(FRAMEWORKS)) as pool:
        urls = dict(zip(FRAMEWORKS, pool.map(launch, FRAMEWORKS), strict=True))
    yield urls
    with ThreadPoolExecutor(max_workers=len(FRAMEWORKS)) as pool:
        list(pool.map(lambda fw: hub.stop_app(OWNER, f"browser-{fw}", remove=True), FRAMEWORKS))


def _open(page_for: Any, url: str, framework: str) -> Any:
    page = page_for(OWNER)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(f"console {message.type}: {message.text}"))
    page.on("requestfailed", lambda request: errors.append(f"failed {request.url} {request.failure}"))

    def on_response(response: Any) -> None:
        if response.status >= 400:
            errors.append(f"{response.status} {response.url}")

    page.on("response", on_response)
    page.errors = errors
    page.goto(url)
    page.wait_for_url(re.compile(re.escape(url) + ".*"))
    return page


def _answer(page: Any, text: str, name: str) -> None:
    """Wait for ``text``; on failure, the screenshot and what the page's scripts and requests said."""
    try:
        page.get_by_text(text).first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    except Exception:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"failed-{name}.png"))
        raise AssertionError("\n".join(page.errors)) from None


@pytest.mark.parametrize("framework", ["shiny", "rshiny"])
def test_shiny_answers_a_new_number(page_for: Any, app_urls: dict[str, str], framework: str) -> None:
    page = _open(page_for, app_urls[framework], framework)
    _answer(page, "The square of 3 is 9", framework)
    page.fill("#number", "12")
    page.press("#number", "Tab")
    _answer(page, "The square of 12 is 144", framework)
    assert not page.dialogs


def test_marimo_slider_reruns_the_cell(page_for: Any, app_urls: dict[str, str]) -> None:
    page = _open(page_for, app_urls["marimo"], "marimo")
    _answer(page, "The square of 3 is 9", "marimo")
    slider = page.get_by_role("slider").first
    slider.focus()
    slider.press("ArrowRight")
    _answer(page, "The square of 4 is 16", "marimo")
    # App mode: no code editor is on the page.
    assert page.locator(".cm-editor").count() == 0


def test_solara_button_counts_clicks(page_for: Any, app_urls: dict[str, str]) -> None:
    page = _open(page_for, app_urls["solara"], "solara")
    _answer(page, "Clicked 0 times", "solara")
    page.get_by_role("button", name=re.compile("Clicked 0 times")).click()
    _answer(page, "Clicked 1 times", "solara")


def test_the_form_shows_each_framework_logo_and_help(page_for: Any, hub: Hub, shot: Any) -> None:
    page = page_for(OWNER)
    page.goto(hub.launcher_url + "create-app")
    help_block = page.locator("#framework-help")
    for framework, words in (("marimo", "neither shown nor editable"), ("nicegui", "calls ui.run()")):
        page.select_option("#framework", framework)
        assert words in help_block.inner_text()
        logo = help_block.locator("img")
        assert str(logo.get_attribute("src")).endswith(f"/static/logos/{framework}.svg")
        # The logo loaded (the page's CSP lets the launcher's logos in).
        assert logo.evaluate("img => img.complete && img.naturalWidth > 0")
    shot(page, "deploy-form-framework-help")


def test_nicegui_button_counts_clicks(page_for: Any, app_urls: dict[str, str]) -> None:
    page = _open(page_for, app_urls["nicegui"], "nicegui")
    _answer(page, "Clicked 0 times", "nicegui")
    page.get_by_role("button", name="Click me").click()
    _answer(page, "Clicked 1 times", "nicegui")
