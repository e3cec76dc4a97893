"""Fixtures of the browser tests: Debian's Chromium driven by Playwright against the integration Hub.

- ``hub`` and friends come from :mod:`tests.integration.conftest` (one real Hub for the session).
- ``browser`` (session): headless Chromium (``/usr/bin/chromium``).
- ``page_for`` (function): ``page_for(username)`` → a Playwright page logged in through the Hub's login
  form, in a fresh context; every JavaScript dialog it opens is recorded in ``page.dialogs`` (and
  dismissed), so tests can assert that none fired.
- ``shot`` (function): ``shot(page, name)`` saves a screenshot under ``test-output/screenshots/``.

Plain helpers: ``new_page(browser)`` (a page in a fresh context, dialogs recorded as ``page_for`` does) and
``login_page(browser, hub, username)`` (the same, logged in), for modules with a Hub of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The integration harness's fixtures (its session Hub is shared by every browser test).
from tests.integration.conftest import (
    PASSWORD,
    Hub,
    api,
    chromium,
    create_app,
    hub,
    hub_url,
    login,
    stop_app,
    token_for,
)

__all__ = ["api", "create_app", "hub", "hub_url", "login", "stop_app", "token_for"]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.path):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.integration)


# Package scope: Playwright's sync API keeps an event loop running in this thread while it lives, which
# would break every asyncio test collected after the browser tests in the same pytest run.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def new_page(browser: Any, *, viewport: dict[str, int] | None = None) -> Any:
    """A page in a fresh browser context; the JavaScript dialogs it opens are recorded in ``page.dialogs``."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.dialogs = []

    def on_dialog(dialog: Any) -> None:
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return page


def login_page(browser: Any, hub: Hub, username: str, *, viewport: dict[str, int] | None = None) -> Any:
    hub.ensure_user(username)
    page = new_page(browser, viewport=viewport)
    page.goto(hub.url + "hub/login")
    page.fill("#username_input", username)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url("**/hub/home**")
    page.wait_for_selector("#hubapps-gallery")
    return page


@pytest.fixture
def page_for(browser: Any, hub: Hub) -> Iterator[Callable[..., Any]]:
    pages: list[Any] = []

    def _open(username: str, **kwargs: Any) -> Any:
        page = login_page(browser, hub, username, **kwargs)
        pages.append(page)
        return page

    yield _open
    for page in pages:
        page.context.close()


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def _shot(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot
