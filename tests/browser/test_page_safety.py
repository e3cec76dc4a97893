"""Launcher pages in Chromium (issue 10): a link from another site starts nothing (requirement 4), and a
launcher page runs no script but its own, not even one served on the same origin by an app
(requirement 6). Issue 13: an app's Activity and usage, with names that are markup, as its owner sees
them (and its viewer does not).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from hubapps.service.events import AppEvent, EventStore
from tests.integration.conftest import Hub

pytestmark = [pytest.mark.browser, pytest.mark.integration]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
ADMIN = "admin"  # c.Authenticator.admin_users in the integration config
OWNER = "linked-owner"
VIEWER = "csp-viewer"
MARKUP_VIEWER = "<img src=x onerror=alert(1)>&'\""  # the name of whoever opened an app is user-controlled


def _script_app(display_name: str) -> dict[str, Any]:
    return {
        "spec_version": 1,
        "framework": "command",
        "display_name": display_name,
        "command": ["{python}", str(RESOURCES / "script_app.py"), "{port}"],
    }


@pytest.fixture
def other_site() -> Iterator[Any]:
    """A page on another site (``localhost``, while the Hub is ``127.0.0.1``): ``other_site(html)`` → its URL."""
    pages: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def publish(html: str) -> str:
        path = f"/page{len(pages)}.html"
        pages[path] = html.encode()
        return f"http://localhost:{server.server_address[1]}{path}"

    yield publish
    server.shutdown()
    server.server_close()


def _state(hub: Hub, user: str, server: str) -> str:
    response = hub.api("GET", f"users/{quote(user, safe='')}?include_stopped_servers=1")
    model = response.json()["servers"].get(server) or {}
    if model.get("ready"):
        return "running"
    return "starting" if model.get("pending") else "stopped"


def test_a_link_from_another_site_to_watch_start_1_starts_nothing(page_for: Any, hub: Hub, other_site: Any) -> None:
    """The attack: an admin clicks a link on another site to ``watch?start=1`` of someone's app. Before,
    the page's script started the app on load; now the page shows the Start button and nothing starts
    until it is clicked (a POST with the XSRF token)."""
    token = hub.token_for(OWNER)
    created = hub.request(
        "POST",
        f"{hub.launcher_url}api/apps",
        headers={"Authorization": f"token {token}"},
        json={**{k: v for k, v in _script_app("Linked app").items() if k != "spec_version"}, "start": False},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    server = created.json()["name"]
    try:
        admin = page_for(ADMIN)
        watch = f"{hub.launcher_url}ui/apps/{quote(OWNER, safe='')}/{quote(server, safe='')}/watch?start=1"
        admin.goto(other_site(f'<!doctype html><a id="go" href="{watch}">cute cats</a>'))
        admin.click("#go")
        admin.wait_for_url("**/watch?start=1")
        admin.locator("#watch-start").wait_for(state="visible")
        assert "stopped" in admin.locator("#watch-status").inner_text()
        time.sleep(1.0)  # a start the page had asked for would show by now (the Hub answers in ms)
        assert _state(hub, OWNER, server) == "stopped"

        # The Start button is the way (a POST with the XSRF token).
        admin.click("#watch-start")
        deadline = time.monotonic() + 60
        while _state(hub, OWNER, server) == "stopped" and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _state(hub, OWNER, server) != "stopped"
        assert admin.dialogs == []
    finally:
        hub.stop_app(OWNER, server, remove=True)


def test_a_launcher_page_refuses_a_script_an_app_serves_on_the_same_origin(page_for: Any, hub: Hub) -> None:
    """A script from ``/user/...`` (an app's URL, same origin) put into a launcher page is refused by
    the CSP (it names only this response's nonce); the page's own scripts run, with no violation."""
    server = "script-app"
    hub.create_app(VIEWER, server, _script_app("Script app"))
    try:
        token = hub.token_for(VIEWER)
        hub.wait_app(VIEWER, server, token)
        page = page_for(VIEWER)
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        evil = hub.app_url(VIEWER, server) + "evil.js"
        page.goto(evil)  # the viewer's own app: the visit logs the browser in to it, so the script would load
        assert "hubappsAppScriptRan" in page.content()

        page.goto(f"{hub.launcher_url}ui/apps/{quote(VIEWER, safe='')}/{server}")
        log = page.locator("#app-log")
        log.wait_for()
        deadline = time.monotonic() + 30
        while log.inner_text() == "Loading…" and time.monotonic() < deadline:  # ui.js (nonce'd) fills it
            time.sleep(0.2)
        assert log.inner_text() != "Loading…"
        assert violations == [], violations  # the Hub's styles, fonts, logo and the launcher's own all load

        page.evaluate(
            "() => { window.hubappsViolations = [];"
            " document.addEventListener('securitypolicyviolation',"
            " (e) => window.hubappsViolations.push([e.violatedDirective, e.blockedURI])); }"
        )
        with pytest.raises(Exception, match="violates the following Content Security Policy"):
            page.add_script_tag(url=evil)
        assert page.evaluate("() => window.hubappsAppScriptRan") is None
        blocked = page.evaluate("() => window.hubappsViolations")
        assert [d for d, uri in blocked if uri == evil] == ["script-src-elem"], blocked
        assert page.dialogs == []
    finally:
        hub.stop_app(VIEWER, server, remove=True)


def _record(hub: Hub, *events: AppEvent) -> None:
    """Events written into the service's database, as the app proxies' reports ("opened") are (in a
    thread of its own: Playwright keeps an event loop running in this one)."""

    async def add() -> None:
        store = EventStore(f"sqlite:///{hub.root / 'hubapps.sqlite'}")
        await store.open()
        try:
            await store.add(*events)
        finally:
            store.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, add()).result()


def test_details_page_shows_activity_and_usage_to_the_owner_only(page_for: Any, hub: Hub, tmp_path: Path) -> None:
    token = hub.token_for(OWNER)
    hub.ensure_user(VIEWER)
    api = f"{hub.launcher_url}api/"
    spec = {k: v for k, v in _script_app("Audited app").items() if k != "spec_version"}
    created = hub.request("POST", api + "apps", headers={"Authorization": f"token {token}"}, json=spec, timeout=30)
    assert created.status_code == 201, created.text
    server = created.json()["name"]
    app_path = f"{quote(OWNER, safe='')}/{quote(server, safe='')}"
    try:
        shared = hub.request(
            "POST",
            api + f"apps/{app_path}/shares",
            headers={"Authorization": f"token {token}"},
            json={"users": [VIEWER]},
        )
        assert shared.status_code == 200, shared.text
        long_ago = time.time() - 40 * 86400
        _record(
            hub,
            AppEvent("opened", OWNER, server, actor=VIEWER, at=long_ago),
            AppEvent("opened", OWNER, server, actor=VIEWER),
            AppEvent("opened", OWNER, server, actor=MARKUP_VIEWER),
        )

        owner = page_for(OWNER)
        card = owner.locator(".hubapps-app", has=owner.locator(".hubapps-name", has_text="Audited app"))
        assert card.locator(".hubapps-use").inner_text() == "2 opens / 30 d"
        owner.goto(f"{hub.launcher_url}ui/apps/{app_path}")
        assert owner.locator("#app-usage").inner_text() == (
            "Opened 2 times in the last 30 days, 3 in all (viewer sessions)."
        )
        rows = owner.locator("#activity-table tbody tr")
        cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]
        assert [(c[1], c[2]) for c in cells] == [  # newest recorded first
            ("opened", MARKUP_VIEWER),  # shown as text, never as markup
            ("opened", VIEWER),
            ("opened", VIEWER),
            ("shared", OWNER),
            ("created", OWNER),
        ]
        assert cells[3][3] == f"users: {VIEWER}"
        with owner.expect_download() as download:
            owner.click("#activity-export")
        assert download.value.suggested_filename == "hubapps-events.jsonl"
        saved = tmp_path / "events.jsonl"
        download.value.save_as(saved)
        exported = [json.loads(line) for line in saved.read_text().splitlines()]
        assert [e["actor"] for e in exported] == [c[2] for c in cells]
        assert owner.dialogs == []

        # Whoever it is shared with opens it, but reads neither who else did nor how often.
        viewer = page_for(VIEWER)
        viewer.goto(f"{hub.launcher_url}ui/apps/{app_path}")
        viewer.locator("#app-name").wait_for()
        assert viewer.locator("#activity").count() == 0
        assert viewer.locator("#app-usage").count() == 0
        assert "onerror" not in viewer.content()
        viewer.goto(hub.gallery_url)
        viewer.locator(".hubapps-name", has_text="Audited app").wait_for()
        assert viewer.locator(".hubapps-use").count() == 0
    finally:
        hub.stop_app(OWNER, server, remove=True)
