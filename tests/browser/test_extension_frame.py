"""The ``jupyterlab-jhub-apps`` extension's deploy page in Chromium: ``create-app?filepath=&headless=true``.

The extension frames that URL inside JupyterLab (the Hub's own origin). The frame shows no navigation
bar, names the file and opens the deploy form, filled in with it, in a tab of its own; the form itself
is never framed. A page of another origin cannot frame either. JupyterLab is stood in for by a page
served (through Playwright's routing) at a path of the Hub's origin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.conftest import EXAMPLES_FOLDER, Hub

pytestmark = [pytest.mark.browser, pytest.mark.integration]

USER = "lab<'&\">"
FILE = f"{EXAMPLES_FOLDER}/panel_app.py"


def _frame_host(page: Any, url: str, frame_src: str) -> None:
    """Serve at ``url`` a page that frames ``frame_src`` (as JupyterLab's extension does), and open it."""
    html = f'<!doctype html><title>JupyterLab</title><iframe id="deploy" src="{frame_src}" width="900" height="600">'
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    page.goto(url)


def test_headless_page_in_the_extension_frame(hub: Hub, page_for: Callable[..., Any]) -> None:
    if hub.subdomain_host:
        pytest.skip(
            "under subdomain_host JupyterLab is on the user's own host, which may not frame the launcher "
            "(test_other_origins_cannot_frame_it); docs/install.md#hub-url-shapes"
        )
    page = page_for(USER)
    src = hub.launcher_url + f"create-app?filepath={quote(FILE)}&headless=true"
    _frame_host(page, hub.app_url(USER, "lab") + "extension-frame", src)
    frame = page.frame_locator("#deploy")
    link = frame.locator("#open-deploy-form")
    link.wait_for()
    assert frame.locator("nav").count() == 0  # no chrome inside JupyterLab
    assert FILE in frame.locator("#frame-file").inner_text()
    assert frame.locator("input[name=_xsrf]").count() == 0  # nothing of the user's in a frame
    with page.context.expect_page() as opened:
        link.click()
    form = opened.value
    form.wait_for_selector("#app-form")
    assert form.input_value("#filepath") == FILE
    assert form.locator("nav").count() == 1  # a page of its own: the launcher's navigation is there


def test_headless_form_opened_as_a_page_has_no_chrome(hub: Hub, page_for: Callable[..., Any]) -> None:
    page = page_for(USER)
    response = page.goto(hub.launcher_url + f"create-app?filepath={quote(FILE)}&headless=true")
    assert response is not None
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.wait_for_selector("#app-form")
    assert page.locator("nav").count() == 0
    assert page.input_value("#filepath") == FILE


def test_other_origins_cannot_frame_it(hub: Hub, page_for: Callable[..., Any]) -> None:
    page = page_for(USER)
    # localhost is another origin than the Hub's 127.0.0.1; under subdomain_host, every user's host is,
    # even the user's own (where JupyterLab and their apps run)
    other = hub.app_url(USER, "lab") if hub.subdomain_host else hub.url.replace("127.0.0.1", "localhost")
    other += "elsewhere"
    src = hub.launcher_url + f"create-app?filepath={quote(FILE)}&headless=true"
    _frame_host(page, other, src)
    page.wait_for_load_state("load")
    frame = next(f for f in page.frames if f != page.main_frame)
    assert frame.locator("#open-deploy-form").count() == 0


@pytest.mark.parametrize("query", ["filepath=x.py", "filepath=x.py&headless=false"])
def test_the_form_itself_is_never_framed(hub: Hub, page_for: Callable[..., Any], query: str) -> None:
    page = page_for(USER)
    _frame_host(page, hub.app_url("someone", "app") + "page", hub.launcher_url + f"create-app?{query}")
    page.wait_for_load_state("load")
    frame = next(f for f in page.frames if f != page.main_frame)
    assert frame.locator("#app-form").count() == 0
    assert frame.locator("input[name=_xsrf]").count() == 0
