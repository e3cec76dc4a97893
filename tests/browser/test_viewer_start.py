"""A viewer starts an owner's stopped app from its "not running" page (issue 13, requirement 2).

The owner deploys an app from the form, stopped, with "People who may open it can start it" ticked and
"Keep it running"; it is shared with a viewer. The viewer opens its link: the Hub's not-running page
names the owner and offers Start; the launcher's start page starts it (the service, with the owner's
spec) and opens it once it runs. The event names the viewer.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.integration.conftest import Hub

pytestmark = [pytest.mark.browser, pytest.mark.integration]

OWNER = "starter<'&\">"  # escaped in every URL and page
VIEWER = "wakes-it"
DISPLAY_NAME = "Echo <on demand> & 'co'"
RESOURCES = Path(__file__).resolve().parents[1] / "resources"
START_TIMEOUT_MS = 35_000


def _server_of(hub: Hub, user: str, display_name: str) -> str:
    response = hub.api("GET", f"users/{quote(user, safe='')}", params={"include_stopped_servers": "1"})
    for name, model in response.json()["servers"].items():
        if model.get("display_name") == display_name or (model.get("user_options") or {}).get("display_name") == (
            display_name
        ):
            return str(name)
    raise AssertionError(f"{user} has no app {display_name!r}")


def test_a_viewer_starts_a_stopped_shared_app(page_for: Any, hub: Hub, shot: Any) -> None:
    owner = page_for(OWNER)
    owner.goto(hub.launcher_url + "create-app")
    owner.fill("#display_name", DISPLAY_NAME)
    owner.select_option("#framework", "command")
    owner.fill("#command", f"{{python}} {RESOURCES / 'echo_app.py'} {{port}}")
    owner.select_option("#idle_policy", "keep")
    owner.check("#viewers_can_start")
    owner.uncheck("#start")
    owner.click("#submit")
    owner.wait_for_url(re.compile(r".*/ui/apps/.*"))
    server = _server_of(hub, OWNER, DISPLAY_NAME)
    try:
        hub.ensure_user(VIEWER)
        shared = hub.api("POST", f"shares/{quote(OWNER, safe='')}/{server}", json={"user": VIEWER})
        assert shared.status_code == 200, shared.text

        viewer = page_for(VIEWER)
        viewer.goto(hub.app_url(OWNER, server))
        viewer.wait_for_selector("#hubapps-not-running")
        assert OWNER in viewer.locator("#hubapps-viewer-start").inner_text()
        shot(viewer, "viewer-start-1-not-running")
        viewer.click("#start")

        # The launcher's start page: nothing starts until the Start button (a POST) is pressed.
        viewer.wait_for_selector("#watch-start:visible")
        assert OWNER in viewer.locator("#watch-owner").inner_text()
        assert viewer.locator("#watch-name").inner_text() == DISPLAY_NAME
        assert hub.server_model(OWNER, server) is None
        shot(viewer, "viewer-start-2-start-page")
        viewer.click("#watch-start")
        try:
            # Opened once running (through the Hub's authorization of someone else's server, the first time).
            viewer.wait_for_url(re.compile(r".*(/user/|/oauth2/authorize).*"), timeout=START_TIMEOUT_MS)
            viewer.wait_for_load_state()
            if "/hub/api/oauth2/authorize" in viewer.url:  # the Hub asks once for someone else's server
                viewer.locator("form [type=submit]").first.click()
            viewer.get_by_text('"path"').first.wait_for(timeout=START_TIMEOUT_MS)  # the echo app answers
        except Exception:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            viewer.screenshot(path=str(SCREENSHOTS / "failed-viewer-start.png"))
            raise
        model = hub.server_model(OWNER, server)
        assert model is not None
        assert model["ready"]
        # The service's record names who started it: the viewer (the start itself was the service's).
        with sqlite3.connect(hub.root / "hubapps.sqlite") as db:
            started = db.execute(
                "SELECT actor, detail FROM hubapps_events WHERE owner = ? AND server = ? AND kind = 'started'",
                (OWNER, server),
            ).fetchall()
        assert started == [(VIEWER, '{"via":"viewer"}')]
        for page in (owner, viewer):
            assert page.dialogs == [], f"a dialog fired: {page.dialogs}"
    finally:
        hub.stop_app(OWNER, server, remove=True)
