"""Fixtures of the browser tests: Debian's Chromium driven by Playwright against the integration Hub.

The suite runs under one Hub URL shape, chosen by ``HUBAPPS_BROWSER_URL_SHAPE`` (``make test`` runs it
under each):

- ``root`` (the default): ``c.JupyterHub.base_url = "/"``, everything on ``http://127.0.0.1:<port>``;
- ``base_url``: ``c.JupyterHub.base_url = "/jhub/"``;
- ``subdomain``: ``c.JupyterHub.subdomain_host = "https://hub.test:<port>"``: each user's servers on
  ``<user>.hub.test``, the launcher on ``japps--service.hub.test``, over https (a self-signed wildcard
  certificate: ``__Host-`` cookies, and secure contexts as in production, where the clipboard works);
  Chromium resolves them with ``--host-resolver-rules``, httpx through the harness's ``LoopbackTransport``.

Tests build every URL from the Hub (``hub.url``, ``hub.launcher_url``, ``hub.app_url``, server models'
``url``), never from a fixed ``/hub/`` or ``/services/japps/``.

- ``hub`` (session): the suite's Hub, in :data:`URL_SHAPE`; ``api``, ``token_for``, ``create_app`` and
  friends come from :mod:`tests.integration.conftest` and use it.
- ``hub_options``: the :class:`Hub` keyword arguments of :data:`URL_SHAPE`, for modules' own Hubs.
- ``browser`` (session): headless Chromium (``/usr/bin/chromium``), resolving the test domain.
- ``page_for`` (function): ``page_for(username)`` → a Playwright page logged in through the Hub's login
  form, in a fresh context; every JavaScript dialog it opens is recorded in ``page.dialogs`` (and
  dismissed), so tests can assert that none fired.
- ``shot`` (function): ``shot(page, name)`` saves a screenshot under ``test-output/screenshots/``.

Plain helpers: ``new_page(browser)`` (a page in a fresh context, dialogs recorded as ``page_for`` does) and
``login_page(browser, hub, username)`` (the same, logged in), for modules with a Hub of their own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The integration harness's fixtures (they use the ``hub`` fixture below).
from tests.integration.conftest import (
    PASSWORD,
    RESOLVE_TEST_DOMAIN,
    Hub,
    api,
    chromium,
    create_app,
    hub_url,
    login,
    session_hub,
    stop_app,
    token_for,
)

__all__ = ["api", "create_app", "hub_url", "login", "stop_app", "token_for"]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

#: The Hub URL shapes the suite runs under, as :class:`Hub` keyword arguments.
URL_SHAPES: dict[str, dict[str, Any]] = {
    "root": {},
    "base_url": {"base_url": "/jhub/"},
    "subdomain": {"subdomains": True, "tls": True},
}
URL_SHAPE = os.environ.get("HUBAPPS_BROWSER_URL_SHAPE", "") or "root"


def pytest_configure(config: pytest.Config) -> None:
    if URL_SHAPE not in URL_SHAPES:
        raise pytest.UsageError(f"HUBAPPS_BROWSER_URL_SHAPE={URL_SHAPE!r}: use one of {', '.join(URL_SHAPES)}")


def pytest_report_header() -> str:
    return f"hubapps browser suite: Hub URL shape {URL_SHAPE!r} {URL_SHAPES.get(URL_SHAPE)}"


@pytest.fixture(scope="session")
def hub_options() -> dict[str, Any]:
    return dict(URL_SHAPES[URL_SHAPE])


@pytest.fixture(scope="session")
def hub(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config, hub_options: dict[str, Any]
) -> Iterator[Hub]:
    with session_hub(tmp_path_factory.mktemp(f"hub-{URL_SHAPE}"), pytestconfig, **hub_options) as running:
        yield running


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.path):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.integration)


# Package scope: Playwright's sync API keeps an event loop running in this thread while it lives, which
# would break every asyncio test collected after the browser tests in the same pytest run.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    # The test domain resolves to loopback; the self-signed certificate of the https shape is accepted.
    with chromium(RESOLVE_TEST_DOMAIN, "--ignore-certificate-errors") as launched:
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
    page.goto(hub.url + "hub/login")  # (base_url included)
    page.fill("#username_input", username)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url("**/hub/home**")
    if page.url.split("?")[0] != hub.gallery_url:
        page.goto(hub.gallery_url)  # subdomain_host: the gallery is the launcher's page on its own host
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
