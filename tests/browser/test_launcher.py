"""The launcher in Chromium: deploy, start, use, share, stop, thumbnails, search, escaping.

One owner deploys a Panel and a Streamlit app from the form (with hostile names and descriptions),
watches them start, moves their sliders, shares the Panel app with a viewer; the viewer opens it and
cannot edit it; a stranger gets no access; once stopped, the viewer sees the "not running" page.
Screenshots of the main pages go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from PIL import Image

from tests.browser.conftest import SCREENSHOTS
from tests.integration.conftest import EXAMPLES_FOLDER, Hub

pytestmark = [pytest.mark.browser, pytest.mark.integration]

OWNER = "owner<'&\">"  # names are escaped in URLs: every page and the apps must cope
VIEWER = "viewer"
STRANGER = "stranger"
HOSTILE_NAME = "x<'&\"> panel"
HOSTILE_DESCRIPTION = "<img src=x onerror=alert(1)> squares & more"
APP_START_TIMEOUT_MS = 90_000


def _png(width: int = 300, height: int = 200) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def _deploy(page: Any, hub: Hub, *, name: str, description: str, framework: str, filepath: str, **extra: Any) -> None:
    page.goto(hub.launcher_url + "create-app")
    page.fill("#display_name", name)
    page.fill("#description", description)
    page.select_option("#framework", framework)
    page.fill("#filepath", filepath)
    if extra.get("share_users"):
        page.fill("#share_users", extra["share_users"])
    if extra.get("thumbnail"):
        page.set_input_files("#thumbnail", extra["thumbnail"])
    if extra.get("env"):
        page.fill("#env_name_0", extra["env"][0])
        page.fill("#env_value_0", extra["env"][1])
        page.check("#env_secret_0")
    page.click("#submit")


def _wait_app(page: Any, text: str) -> None:
    """From the watch page: the app opens by itself once ready; wait for its content."""
    try:
        page.wait_for_url(re.compile(r".*/user/.*"), timeout=APP_START_TIMEOUT_MS)
        page.get_by_text(text).first.wait_for(timeout=APP_START_TIMEOUT_MS)
    except Exception:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "failed-app.png"))
        raise


def _gallery_card(page: Any, name: str) -> Any:
    return page.locator(".hubapps-app", has=page.locator(".hubapps-name", has_text=name))


def test_deploy_use_share_stop(page_for: Any, hub: Hub, shot: Any, tmp_path: Any) -> None:
    owner = page_for(OWNER)
    shot(owner, "01-home-empty")
    thumb = tmp_path / "thumb.png"
    thumb.write_bytes(_png())

    # -- deploy Panel from the form, shared with the viewer, with a thumbnail and a secret ------------
    hub.ensure_user(VIEWER)
    _deploy(
        owner,
        hub,
        name=HOSTILE_NAME,
        description=HOSTILE_DESCRIPTION,
        framework="panel",
        filepath=f"{EXAMPLES_FOLDER}/panel_app.py",
        share_users=VIEWER,
        thumbnail=str(thumb),
        env=("API_TOKEN", "s3cret-value"),
    )
    owner.wait_for_selector("#watch")
    assert owner.locator("#watch-name").inner_text() == HOSTILE_NAME
    shot(owner, "02-watch-starting")
    _wait_app(owner, "The square of 7 is 49")
    handle = owner.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    owner.get_by_text("The square of 8 is 64").wait_for()
    shot(owner, "03-panel-app")

    # -- Streamlit too ------------------------------------------------------------------------------
    _deploy(
        owner,
        hub,
        name="Streamlit squares",
        description="Pick a number",
        framework="streamlit",
        filepath=f"{EXAMPLES_FOLDER}/streamlit_app.py",
    )
    _wait_app(owner, "The square of 7 is 49")
    slider = owner.get_by_role("slider").first
    slider.focus()
    slider.press("ArrowRight")
    owner.get_by_text("The square of 8 is 64").wait_for()
    # Streamlit's own "Deploy" button (for Streamlit's cloud) is not offered in a launched app.
    assert owner.locator('[data-testid="stAppDeployButton"]').count() == 0
    assert owner.get_by_role("button", name="Deploy").count() == 0
    shot(owner, "04-streamlit-app")

    # -- the gallery shows both, names and descriptions literally ------------------------------------
    owner.goto(hub.gallery_url)
    owner.wait_for_selector("#hubapps-gallery")
    card = _gallery_card(owner, HOSTILE_NAME)
    assert card.locator(".hubapps-name").inner_text() == HOSTILE_NAME
    assert card.locator(".hubapps-desc").inner_text() == HOSTILE_DESCRIPTION
    assert card.locator(".hubapps-st").inner_text() == "running"
    thumb_img = card.locator(".hubapps-thumb img")
    thumb_img.wait_for()
    assert owner.evaluate("(img) => img.complete && img.naturalWidth", thumb_img.element_handle()) > 0
    assert owner.locator("img[src=x]").count() == 0
    shot(owner, "05-home-gallery")

    # search and filters live in the URL
    owner.fill("#hubapps-q", "streamlit")
    owner.press("#hubapps-q", "Enter")
    owner.wait_for_url(re.compile(r".*q=streamlit.*"))
    owner.wait_for_selector("#hubapps-gallery")
    assert owner.locator(".hubapps-name").all_inner_texts() == ["Streamlit squares"]
    owner.goto(hub.gallery_url + "?framework=panel&view=table")
    owner.wait_for_selector(".hubapps-table")
    assert owner.locator(".hubapps-name").all_inner_texts() == [HOSTILE_NAME]
    assert owner.locator("#hubapps-fw").input_value() == "panel"
    shot(owner, "06-home-table-filtered")

    # -- details: spec, shares, copyable URL, live log; the secret is not shown ----------------------
    server = _server_of(hub, OWNER, HOSTILE_NAME)
    detail_url = f"{hub.launcher_url}ui/apps/{quote(OWNER, safe='')}/{server}"
    owner.goto(detail_url)
    assert owner.locator("#app-name").inner_text() == HOSTILE_NAME
    assert VIEWER in owner.locator("#share-list").inner_text()
    assert owner.locator("#app-url").input_value().endswith(f"/user/{quote(OWNER, safe='')}/{server}/")
    owner.wait_for_function("document.getElementById('app-log').textContent.length > 20")
    assert "s3cret-value" not in owner.content()
    shot(owner, "07-app-details")
    owner.goto(detail_url + "/edit")
    assert owner.locator("#env_name_0").input_value() == "API_TOKEN"
    assert owner.locator("#env_value_0").input_value() == ""
    assert "s3cret-value" not in owner.content()
    shot(owner, "08-edit-form")

    # -- the viewer sees it as shared, opens it, cannot edit it --------------------------------------
    viewer = page_for(VIEWER)
    card = _gallery_card(viewer, HOSTILE_NAME)
    assert "shared" in card.inner_text()
    card.locator(".hubapps-act").click()
    actions = viewer.locator("#hubapps-dialog-actions")
    assert "Edit" not in actions.inner_text()
    assert "Delete" not in actions.inner_text()
    shot(viewer, "09-viewer-menu")
    viewer.keyboard.press("Escape")
    viewer.goto(hub.app_url(OWNER, server))
    # JupyterHub asks people to authorize access to someone else's server once.
    viewer.wait_for_load_state()
    if "/hub/api/oauth2/authorize" in viewer.url:
        shot(viewer, "10-viewer-authorize")
        viewer.locator("form [type=submit]").first.click()
    viewer.get_by_text("The square of 7 is 49").first.wait_for(timeout=60_000)
    response = viewer.goto(detail_url + "/edit")
    assert response is not None
    assert response.status == 404
    viewer_token = hub.token_for(VIEWER)
    patched = hub.request(
        "PATCH",
        f"{hub.launcher_url}api/apps/{quote(OWNER, safe='')}/{server}",
        json={"description": "hijacked"},
        headers={"Authorization": f"token {viewer_token}"},
    )
    assert patched.status_code == 404

    # -- a stranger gets no access --------------------------------------------------------------------
    stranger = page_for(STRANGER)
    assert _gallery_card(stranger, HOSTILE_NAME).count() == 0
    response = stranger.goto(hub.app_url(OWNER, server))
    assert response is not None
    assert response.status in (403, 404)
    assert "square" not in stranger.content()

    # -- the owner stops it (with confirmation); the viewer gets the clear "not running" page ---------
    owner.goto(hub.gallery_url)
    card = _gallery_card(owner, HOSTILE_NAME)
    card.locator(".hubapps-act").click()
    owner.locator("#hubapps-dialog-actions button", has_text="Stop").click()
    assert "Stop" in owner.locator("#hubapps-dialog-title").inner_text()
    shot(owner, "11-confirm-stop")
    owner.locator("#hubapps-dialog-actions button", has_text="Stop").click()
    _wait_stopped(hub, OWNER, server)
    viewer.goto(hub.app_url(OWNER, server))
    viewer.wait_for_selector("#hubapps-not-running")
    assert HOSTILE_NAME in viewer.locator("h1").inner_text()
    assert OWNER in viewer.locator("#hubapps-ask-owner").inner_text()
    assert viewer.locator("#start").count() == 0
    shot(viewer, "12-viewer-not-running")
    owner.goto(hub.app_url(OWNER, server))
    owner.wait_for_selector("#hubapps-not-running #start")
    shot(owner, "13-owner-not-running")

    for page in (owner, viewer, stranger):
        assert page.dialogs == [], f"a dialog fired: {page.dialogs}"


def _server_of(hub: Hub, user: str, display_name: str) -> str:
    response = hub.api("GET", f"users/{quote(user, safe='')}")
    for name, model in response.json()["servers"].items():
        if (model.get("user_options") or {}).get("display_name") == display_name:
            return str(name)
    raise AssertionError(f"no server named {display_name!r}")


def _wait_stopped(hub: Hub, user: str, server: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = hub.server_model(user, server)
        if model is None or (not model.get("ready") and not model.get("pending")):
            return
        time.sleep(0.3)
    raise AssertionError(f"{user}/{server} did not stop")


def test_form_errors_keep_input_and_refuse_svg(page_for: Any, hub: Hub, shot: Any, tmp_path: Any) -> None:
    page = page_for("formuser")
    svg = tmp_path / "evil.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>')
    renamed = tmp_path / "evil.png"
    renamed.write_text("<html><script>alert(3)</script></html>")
    for upload in (svg, renamed):
        _deploy(
            page,
            hub,
            name="Kept name",
            description="kept <b>description</b>",
            framework="streamlit",
            filepath=f"{EXAMPLES_FOLDER}/streamlit_app.py",
            thumbnail=str(upload),
        )
        page.wait_for_selector("#form-errors")
        assert "PNG, JPEG or WebP" in page.locator("#thumbnail-error").inner_text()
        assert page.locator("#display_name").input_value() == "Kept name"
        assert page.locator("#description").input_value() == "kept <b>description</b>"
        assert page.locator("#filepath").input_value() == f"{EXAMPLES_FOLDER}/streamlit_app.py"
    shot(page, "14-form-error-svg")
    # a rule of the spec: the message sits next to its field
    _deploy(page, hub, name="Bad env", description="", framework="streamlit", filepath="x.py", env=("PATH", "/tmp"))
    page.wait_for_selector("#env-error")
    assert "reserved" in page.locator("#env-error").inner_text()
    assert page.locator("#display_name").input_value() == "Bad env"
    assert page.dialogs == []


def test_phone_width_and_dark_theme(browser: Any, hub: Hub, shot: Any) -> None:
    from tests.browser.conftest import login_page

    page = login_page(browser, hub, "phoneuser", viewport={"width": 390, "height": 844})
    try:
        if page.locator(".navbar-toggler").is_visible():
            page.click(".navbar-toggler")  # the Hub's navigation folds into a menu on a phone
        page.click("#dark-theme-toggle")
        assert page.evaluate("document.documentElement.getAttribute('data-bs-theme')") == "dark"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the home page scrolls sideways on a phone ({width} px)"
        shot(page, "15-home-phone-dark")
        page.goto(hub.launcher_url + "create-app")
        assert page.evaluate("document.documentElement.getAttribute('data-bs-theme')") == "dark"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # every form control has a label
        unlabeled = page.evaluate(
            """[...document.querySelectorAll(
                 '#app-form input:not([type=hidden]), #app-form select, #app-form textarea')]
               .filter(e => !e.labels || e.labels.length === 0).map(e => e.id)"""
        )
        assert unlabeled == []
        shot(page, "16-form-phone-dark")
    finally:
        page.context.close()


def test_edit_form_keeps_replaces_and_removes_a_secret(page_for: Any, hub: Hub) -> None:
    """Secrets on the edit form of a stopped app: blank keeps the stored ciphertext, a new value
    replaces it, clearing the name removes it; the page never holds the value."""
    user = "secret-editor"
    page = page_for(user)
    page.goto(hub.launcher_url + "create-app")
    page.fill("#display_name", "Secret form")
    page.select_option("#framework", "streamlit")
    page.fill("#filepath", f"{EXAMPLES_FOLDER}/streamlit_app.py")
    page.fill("#env_name_0", "API_TOKEN")
    page.fill("#env_value_0", "first-s3cret")
    page.check("#env_secret_0")
    page.uncheck("#start")
    page.click("#submit")
    page.wait_for_url(re.compile(r".*/ui/apps/.*"))
    servers = hub.api("GET", f"users/{quote(user, safe='')}?include_stopped_servers=1").json()["servers"]
    (server,) = [n for n, m in servers.items() if (m.get("user_options") or {}).get("display_name") == "Secret form"]
    edit_url = f"{hub.launcher_url}ui/apps/{quote(user, safe='')}/{server}/edit"

    def stored() -> dict[str, Any]:
        response = hub.api("GET", f"users/{quote(user, safe='')}?include_stopped_servers=1")
        options: dict[str, Any] = response.json()["servers"][server]["user_options"]
        return options

    def value_of(token: str) -> str:
        key = base64.urlsafe_b64encode(bytes.fromhex(hub.crypt_key.split(";")[0]))
        return str(json.loads(Fernet(key).decrypt(token.encode()))["value"])

    # Neither the Hub's user_options nor the launcher's API hold the value.
    assert "first-s3cret" not in json.dumps(stored())
    token = hub.token_for(user)
    for path in (f"api/apps/{quote(user, safe='')}/{server}", "api/apps"):
        response = hub.request("GET", f"{hub.launcher_url}{path}", headers={"Authorization": f"token {token}"})
        assert response.status_code == 200
        assert "first-s3cret" not in response.text
    first = stored()["secret_env"]["API_TOKEN"]
    assert value_of(first) == "first-s3cret"

    page.goto(edit_url)
    assert page.locator("#env_value_0").input_value() == ""
    assert "first-s3cret" not in page.content()
    page.fill("#description", "edited, secret kept")
    page.click("#submit")
    page.wait_for_url(re.compile(r".*/ui/apps/[^/]+/[^/]+$"))
    assert stored()["description"] == "edited, secret kept"
    assert stored()["secret_env"] == {"API_TOKEN": first}

    page.goto(edit_url)
    page.fill("#env_value_0", "second-s3cret")
    page.click("#submit")
    page.wait_for_url(re.compile(r".*/ui/apps/[^/]+/[^/]+$"))
    assert value_of(stored()["secret_env"]["API_TOKEN"]) == "second-s3cret"
    assert "second-s3cret" not in page.content()

    page.goto(edit_url)
    page.fill("#env_name_0", "")
    page.click("#submit")
    page.wait_for_url(re.compile(r".*/ui/apps/[^/]+/[^/]+$"))
    assert stored()["secret_env"] == {}
    assert stored()["env"] == {}
    hub.stop_app(user, server, remove=True)
