"""What a person sees of an app's state, in Chromium: a failed app's card says failed, with the app's
own message (escaped); its "could not start" page leads back to the launcher's start page, which says
why and offers Start and Edit; a slow stop shows "stopping" on the card, then "stopped", without a
reload by hand."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Hub

pytestmark = [pytest.mark.browser, pytest.mark.integration]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
#: The app's own words, with characters that must reach the page as text.
FAILING_APP = 'raise RuntimeError("cannot read <config.toml> & quit")\n'
MESSAGE = "RuntimeError: cannot read <config.toml> & quit (broken.py, line 1)"
#: Milliseconds to wait for a state a person would see within seconds.
SEEN_WITHIN_MS = 30_000


def _card(page: Any, name: str) -> Any:
    return page.locator(".hubapps-app", has=page.locator(".hubapps-name", has_text=name))


def _command(name: str, *argv: str) -> dict[str, Any]:
    return {"spec_version": 1, "framework": "command", "display_name": name, "command": ["{python}", *argv]}


@pytest.mark.timeout(120)
def test_failed_card_reason_and_the_way_back(page_for: Any, hub: Hub, shot: Any) -> None:
    user = f"st-{secrets.token_hex(3)}"
    token = hub.token_for(user)
    (hub.home(user) / "broken.py").write_text(FAILING_APP)
    hub.create_app(user, "broken", _command("Broken <app>", "broken.py", "{port}"), token=token)
    page = page_for(user)
    try:
        page.goto(hub.gallery_url)
        card = _card(page, "Broken <app>")
        card.locator(".hubapps-st-failed").wait_for(timeout=SEEN_WITHIN_MS)  # the gallery follows a start
        assert card.locator(".hubapps-st").inner_text() == "failed"
        reason = card.locator(".hubapps-reason").inner_text()
        assert reason.startswith("the app exited with code 1 before it was ready: ")
        assert reason.endswith(MESSAGE)
        shot(page, "states-01-failed-card")
        card.locator(".hubapps-act").click()
        actions = [b.inner_text() for b in page.locator("#hubapps-dialog-actions > *").all()]
        assert actions == ["Open", "Details", "Start", "Stop", "Edit", "Delete"]
        page.keyboard.press("Escape")

        # The app's own "could not start" page leads back to the launcher's start page.
        page.goto(hub.app_url(user, "broken"))
        assert "Broken <app> could not start" in page.locator("h1").inner_text()
        page.get_by_role("link", name="Start it again").click()
        page.wait_for_url(re.compile(r".*/services/japps/ui/apps/[^/]+/broken/watch$"))
        page.locator("#watch-failed").wait_for(timeout=SEEN_WITHIN_MS)
        assert page.locator("#watch-reason").inner_text().endswith(MESSAGE)
        assert page.locator("#watch-start").is_visible()
        assert page.get_by_role("link", name="Edit").get_attribute("href", timeout=1000).endswith("/broken/edit")
        shot(page, "states-02-watch-failed")
        assert page.dialogs == []
    finally:
        hub.stop_app(user, "broken", remove=True)


@pytest.mark.timeout(120)
def test_a_slow_stop_shows_stopping_then_stopped(page_for: Any, hub: Hub, shot: Any, tmp_path: Path) -> None:
    user = f"st-{secrets.token_hex(3)}"
    spec = _command("Stubborn", str(RESOURCES / "ignores_sigterm.py"), "{port}", str(tmp_path / "pids"))
    token = hub.token_for(user)
    hub.create_app(user, "stubborn", spec, token=token)
    try:
        hub.wait_app(user, "stubborn", token)
        page = page_for(user)
        page.goto(hub.gallery_url)
        card = _card(page, "Stubborn")
        card.locator(".hubapps-st-running").wait_for(timeout=SEEN_WITHIN_MS)
        card.locator(".hubapps-act").click()
        page.locator("#hubapps-dialog-actions button", has_text="Stop").click()
        page.locator("#hubapps-dialog-actions button", has_text="Stop").click()  # confirmed
        # The app ignores SIGTERM, so its stop takes seconds: the card says so, then follows it.
        card = _card(page, "Stubborn")
        card.locator(".hubapps-st-stopping").wait_for(timeout=SEEN_WITHIN_MS)
        shot(page, "states-03-stopping")
        card.locator(".hubapps-st-stopped").wait_for(timeout=SEEN_WITHIN_MS)
        assert hub.server_model(user, "stubborn") is None

        # Started again from its details page (the start page opens the app once it answers), then
        # stopped there: the details page follows the stop the same way.
        details = f"{hub.launcher_url}ui/apps/{user}/stubborn"
        page.goto(details)
        page.locator("#app-detail button.hubapps-do", has_text="Start").click()
        page.wait_for_url(hub.app_url(user, "stubborn"), timeout=SEEN_WITHIN_MS)
        page.goto(details)
        assert page.locator("#app-detail .hubapps-st").inner_text() == "running"
        page.locator("#app-detail button.hubapps-do", has_text="Stop").click()
        page.locator("#hubapps-dialog-actions button", has_text="Stop").click()
        page.locator("#app-detail .hubapps-st-stopping").wait_for(timeout=SEEN_WITHIN_MS)
        page.locator("#app-detail .hubapps-st-stopped").wait_for(timeout=SEEN_WITHIN_MS)
        assert page.locator("#app-detail button.hubapps-do", has_text="Start").is_visible()
        assert page.dialogs == []
    finally:
        hub.stop_app(user, "stubborn", remove=True)
