"""The deploy and edit forms in Chromium, as people use them.

One small app (the env dumper of ``tests/resources``, which shows its environment as JSON) is created
stopped, started from its edit form ("Start it once saved"), then edited with "Restart it now": the
page must land on the launcher's start page and then on the *new* run, never on the Hub's "Your
server is stopping" page. Deploying its name again offers the choice (update / another app), keeping
what was typed; a large photo is scaled down by the form instead of refused. The gallery's Sort
control is not clipped at common widths, and an anonymous visitor of a stopped public app is told
what it is instead of being sent to log in.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from PIL import Image

from tests.integration.conftest import EXAMPLES_FOLDER, Hub

pytestmark = [pytest.mark.browser, pytest.mark.integration]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
APP_START_TIMEOUT_MS = 90_000
USER = "former<'&\">"


def _api(hub: Hub, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return hub.request(method, f"{hub.launcher_url}api/{path}", token=token, timeout=30, **kwargs)


def _options(hub: Hub, user: str, server: str) -> dict[str, Any]:
    servers = hub.api("GET", f"users/{quote(user, safe='')}?include_stopped_servers=1").json()["servers"]
    options: dict[str, Any] = servers[server]["user_options"]
    return options


def _hub_pages(page: Any) -> list[str]:
    """URLs of the pages the tab showed (the Hub's "stopping"/"pending" pages are under ``hub.url + "hub/"``)."""
    seen: list[str] = []
    page.on("framenavigated", lambda frame: seen.append(frame.url) if frame == page.main_frame else None)
    return seen


@pytest.mark.timeout(240)  # two real starts of a tiny app
def test_start_after_saving_restart_now_and_a_name_that_exists(page_for: Any, hub: Hub, shot: Any) -> None:
    """(The restart can be over before the start page is read: only where the tab went is asserted.)"""
    page = page_for(USER)
    token = hub.token_for(USER)
    body = {
        "framework": "command",
        "display_name": "Env form",
        # Takes 3 s to stop, as real apps do (the old run is still there while the page is read).
        "command": ["{python}", str(RESOURCES / "slow_stop_env_app.py"), "{port}"],
        "env": {"VERSION": "one"},
    }
    r = _api(hub, token, "POST", "apps", json=body)
    assert r.status_code == 201, r.text
    server = r.json()["name"]
    made = [server]
    in_app = re.compile(rf".*/user/[^/]+/{server}/$")
    edit_url = f"{hub.launcher_url}ui/apps/{quote(USER, safe='')}/{server}/edit"
    try:
        # -- a stopped app: "Start it once saved" starts it, and the page follows it into the app ----
        page.goto(edit_url)
        assert not page.locator("#start").is_checked()
        page.check("#start")
        page.click("#submit")
        page.wait_for_url(re.compile(r".*/watch$"))
        page.wait_for_url(in_app, timeout=APP_START_TIMEOUT_MS)
        page.get_by_text('"VERSION": "one"').first.wait_for(timeout=APP_START_TIMEOUT_MS)

        # -- a running app: "Restart it now" lands on the start page, then on the new run ----------
        page.goto(edit_url)
        assert page.locator("#restart").is_checked()
        assert page.locator("#env_name_0").input_value() == "VERSION"
        page.fill("#env_value_0", "two")
        hub_pages = _hub_pages(page)
        page.click("#submit")
        page.wait_for_url(re.compile(r".*/watch\?restart=.*"))
        page.wait_for_url(in_app, timeout=APP_START_TIMEOUT_MS)
        page.get_by_text('"VERSION": "two"').first.wait_for(timeout=APP_START_TIMEOUT_MS)
        assert [p for p in hub_pages if p.startswith(hub.url + "hub/")] == []  # never the Hub's "stopping" page

        # -- the same name again from the deploy form: asked, with everything kept ------------------
        big = _noisy_png(900, 700)
        assert len(big) > 192 * 1024  # over the upload limit: the form scales it down
        page.goto(hub.launcher_url + "create-app")
        page.fill("#display_name", "Env form")
        page.fill("#description", "a second <one>")
        page.select_option("#framework", "streamlit")
        page.fill("#filepath", f"{EXAMPLES_FOLDER}/streamlit_app.py")
        page.set_input_files("#thumbnail", files=[{"name": "photo.png", "mimeType": "image/png", "buffer": big}])
        page.get_by_text("Scaled down from").wait_for()
        page.uncheck("#start")
        page.click("#submit")
        page.wait_for_selector("#on-conflict")
        assert "already have an app called" in page.locator("#display_name-error").inner_text()
        assert page.locator("#description").input_value() == "a second <one>"
        assert page.locator("#filepath").input_value() == f"{EXAMPLES_FOLDER}/streamlit_app.py"
        assert page.locator(".hubapps-form-thumb").count() == 1  # the scaled image is carried back
        shot(page, "21-form-name-exists")
        page.check("#on_conflict_new")
        page.click("#submit")
        page.wait_for_url(re.compile(r".*/ui/apps/[^/]+/env-form-[0-9a-f]{8}$"))
        other = page.url.rsplit("/", 1)[1]
        made.append(other)
        assert _options(hub, USER, other)["description"] == "a second <one>"
        assert str(_options(hub, USER, other)["thumbnail"]).startswith("sha256:")
        assert _options(hub, USER, server)["framework"] == "command"  # the first app is untouched
        assert page.dialogs == []
    finally:
        for name in made:
            hub.stop_app(USER, name, remove=True)


def _noisy_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, format="PNG")
    return out.getvalue()


def test_a_picture_with_too_many_pixels_is_scaled_down_not_refused(page_for: Any, hub: Hub) -> None:
    user = "pixels"
    page = page_for(user)
    out = io.BytesIO()
    Image.new("RGB", (5000, 3000), (200, 40, 40)).save(out, format="PNG")  # 15 MP in a few KiB
    assert len(out.getvalue()) < 192 * 1024
    page.goto(hub.launcher_url + "create-app")
    page.fill("#display_name", "Wide picture")
    page.select_option("#framework", "streamlit")
    page.fill("#filepath", f"{EXAMPLES_FOLDER}/streamlit_app.py")
    page.set_input_files("#thumbnail", files=[{"name": "wide.png", "mimeType": "image/png", "buffer": out.getvalue()}])
    page.get_by_text("Scaled down from").wait_for()
    page.uncheck("#start")
    page.click("#submit")
    page.wait_for_url(re.compile(r".*/ui/apps/[^/]+/wide-picture$"))
    try:
        assert str(_options(hub, user, "wide-picture")["thumbnail"]).startswith("sha256:")
        assert page.locator("#form-errors").count() == 0
    finally:
        hub.stop_app(user, "wide-picture", remove=True)


@pytest.mark.parametrize("width", [1280, 1000, 800, 390])
def test_the_sort_control_is_not_cut_off(browser: Any, hub: Hub, width: int) -> None:
    from tests.browser.conftest import login_page

    page = login_page(browser, hub, "sorter", viewport={"width": width, "height": 800})
    try:
        page.wait_for_selector("#hubapps-sort")
        for control in ("#hubapps-sort", "#hubapps-view"):
            box = page.evaluate(
                """(sel) => {
                  const s = document.querySelector(sel);
                  const r = s.getBoundingClientRect();
                  const col = s.parentElement.getBoundingClientRect();
                  const form = s.closest("form").getBoundingClientRect();
                  const cs = getComputedStyle(s);
                  const ctx = document.createElement("canvas").getContext("2d");
                  ctx.font = cs.font;
                  const text = Math.max(...[...s.options].map((o) => ctx.measureText(o.text).width));
                  return {
                    inside: r.left >= col.left - 0.5 && r.right <= col.right + 0.5
                      && r.left >= form.left - 0.5 && r.right <= form.right + 0.5,
                    room: s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - text,
                  };
                }""",
                control,
            )
            assert box["inside"], f"{control} sticks out of its box at {width} px"
            assert box["room"] >= 0, f"{control}'s text is clipped by {-box['room']:.1f} px at {width} px"
    finally:
        page.context.close()


def test_an_anonymous_visitor_sees_why_a_public_app_does_not_open(browser: Any, hub: Hub, shot: Any) -> None:
    owner = "publisher"
    token = hub.token_for(owner)
    body = {
        "framework": "streamlit",
        "display_name": "Open squares",
        "filepath": f"{EXAMPLES_FOLDER}/streamlit_app.py",
        "public": True,
    }
    r = _api(hub, token, "POST", "apps", json={**body, "on_conflict": "update"})
    assert r.status_code in (200, 201), r.text
    server = r.json()["id"].split("/", 1)[1]
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(hub.app_url(owner, server))
        assert response is not None
        assert response.status == 503
        assert "/login" not in urlsplit(page.url).path
        assert page.locator("h1").inner_text() == "“Open squares” is not running"
        assert f"only its owner, {owner}, can start it" in page.locator("#hubapps-public-stopped").inner_text()
        shot(page, "22-public-app-stopped-anonymous")
    finally:
        context.close()
        # Through the launcher, so the public directory forgets it too (other modules' galleries list it).
        deleted = _api(hub, token, "DELETE", f"apps/{owner}/{server}")
        assert deleted.status_code in (202, 204), deleted.text


def test_revision_history_compares_and_rolls_back(page_for: Any, hub: Hub, shot: Any) -> None:
    """An edit made with the form is a revision; the details page lists the revisions, compares two
    and rolls back (a POST form): the Hub's spec is the old one again, as a new revision."""
    user = "reviser<'&\">"
    token = hub.token_for(user)
    spec = {"framework": "streamlit", "display_name": "History", "filepath": f"{EXAMPLES_FOLDER}/streamlit_app.py"}
    created = _api(hub, token, "POST", "apps", json={**spec, "description": "first <b>version</b>"})
    assert created.status_code == 201, created.text
    server = created.json()["name"]
    details = f"{hub.launcher_url}ui/apps/{quote(user, safe='')}/{server}"
    try:
        page = page_for(user)
        page.goto(details + "/edit")
        page.fill("#description", "second version")
        page.click("#submit")
        page.wait_for_url(re.compile(r".*/ui/apps/[^/]+/[^/]+$"))
        assert _options(hub, user, server)["description"] == "second version"

        page.goto(details)
        rows = page.locator("#revision-list tbody tr")
        assert rows.count() == 2
        assert "edited" in rows.nth(0).inner_text()
        assert user in rows.nth(0).inner_text()  # who saved it, escaped as text
        # The form offers the two newest; compare them.
        page.click("#revision-compare")
        page.wait_for_selector("#revision-diff")
        change = page.locator('#revision-diff tr[data-field="description"]')
        assert change.locator("td").all_inner_texts() == ["first <b>version</b>", "second version"]
        shot(page, "revision-compare")

        page.click('#revision-list tr[data-n="1"] .revision-rollback')
        page.wait_for_selector("#rollback-done")
        assert _options(hub, user, server)["description"] == "first <b>version</b>"
        assert page.locator("#revision-list tbody tr").count() == 3
        assert "rolled back to 1" in page.locator("#revision-list tbody tr").nth(0).inner_text()
        assert page.locator("#app-description").inner_text() == "first <b>version</b>"
        assert page.dialogs == []
    finally:
        hub.stop_app(user, server, remove=True)
