"""Share links and the admin's view in Chromium.

The owner makes a share link on the app's details page, copies it (clipboard and read-only field); a
second user opens it, accepts on the Hub's page and sees the app as themselves; the link shows one use.
The owner revokes it; a third user's redeem then fails. A Hub admin picks "Every user's apps" in the
gallery, finds the app by its owner's name, and reads its live log on the details page, which names
the owner and never says "only you".
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.conftest import Hub

pytestmark = [pytest.mark.browser, pytest.mark.integration]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
ECHO = {
    "spec_version": 1,
    "jhub_app": True,
    "framework": "command",
    "display_name": "Echo <'&\"> link",
    "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
}


@pytest.mark.timeout(120)  # four people log in, one link is made, redeemed and revoked
def test_share_link_made_copied_redeemed_revoked_and_the_admin_view(page_for: Any, hub: Hub, shot: Any) -> None:
    suffix = secrets.token_hex(3)
    owner_name, friend_name, late_name = f"sharer<'&\">{suffix}", f"friend-{suffix}", f"late-{suffix}"
    token = hub.token_for(owner_name)
    hub.create_app(owner_name, "echo", ECHO, token=token)
    try:
        details = f"{hub.launcher_url}ui/apps/{quote(owner_name, safe='')}/echo"
        owner = page_for(owner_name)
        owner.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=hub.service_origin("japps"))
        owner.goto(details)
        assert owner.locator("#link-none").is_visible()

        # -- make a link that expires in an hour, copy it ------------------------------------------
        owner.select_option("#link-expires", "3600")
        owner.click("#link-create")
        owner.locator("#link-new").wait_for()
        url = owner.locator("#link-url").input_value()
        assert re.fullmatch(re.escape(hub.url) + r"hub/accept-share\?code=\S+", url), url
        assert owner.locator("#link-url").get_attribute("readonly") is not None
        owner.click("#link-copy")
        owner.get_by_text("Link copied.").wait_for()
        assert owner.evaluate("navigator.clipboard.readText()") == url
        rows = owner.locator("#link-list tr")
        assert rows.count() == 1
        assert rows.first.locator("td").nth(2).inner_text() == "0"
        shot(owner, "20-share-link-made")

        # -- a second user redeems it and opens the app as themselves --------------------------------
        friend = page_for(friend_name)
        friend.goto(url)
        assert owner_name in friend.locator("main, body").first.inner_text()
        shot(friend, "21-accept-share")
        friend.locator("form [type=submit]").first.click()
        friend.wait_for_load_state()
        if "/hub/api/oauth2/authorize" in friend.url:
            friend.locator("form [type=submit]").first.click()
        friend.wait_for_url(re.compile(re.escape(hub.app_url(owner_name, "echo")) + ".*"))
        friend.get_by_text(friend_name).first.wait_for()  # the app saw who opened it
        assert '"method"' in friend.content()  # (the echo app's answer)
        owner.reload()
        assert owner.locator("#link-list tr").first.locator("td").nth(2).inner_text() == "1"

        # -- the owner revokes it; a third user's redeem fails ----------------------------------------
        owner.locator("#link-list .link-revoke").first.click()
        owner.get_by_text("The link was revoked.").wait_for()
        assert owner.locator("#link-list tr").count() == 0
        assert owner.locator("#link-none").is_visible()
        assert owner.locator("#link-table").is_hidden()
        late = page_for(late_name)
        response = late.goto(url)
        assert response is not None
        assert response.status == 404
        response = late.goto(hub.app_url(owner_name, "echo"))
        assert response is not None
        assert response.status in (403, 404)
        assert '"method"' not in late.content()  # the echo app's answer never reached them

        # -- a Hub admin: every user's apps in the gallery, the owner's app's log ----------------------
        admin = page_for("admin")
        admin.select_option("#hubapps-access", "all")
        admin.wait_for_url(re.compile(r".*access=all.*"))
        admin.wait_for_selector("#hubapps-gallery")
        admin.fill("#hubapps-q", suffix)
        admin.press("#hubapps-q", "Enter")
        admin.wait_for_url(re.compile(rf".*q={suffix}.*"))
        card = admin.locator(".hubapps-app", has=admin.locator(".hubapps-name", has_text=ECHO["display_name"]))
        card.wait_for()
        assert f"by {owner_name}" in card.inner_text()
        shot(admin, "22-admin-every-users-apps")
        admin.goto(details)
        admin.locator("#app-log", has_text="echo app listening").wait_for()  # the live log, read for the admin
        assert "only you" not in admin.locator("main, body").first.inner_text().lower()
        assert f"by {owner_name}" in admin.locator(".hubapps-owner").inner_text()
        # Who can open it, as the Hub has it: the friend who accepted keeps the share the link gave.
        assert friend_name in admin.locator("#share-list").inner_text()
        assert admin.locator("#link-create").is_visible()  # an admin manages the owner's links too
        shot(admin, "23-admin-app-details")

        for page in (owner, friend, late, admin):
            assert page.dialogs == [], f"a dialog fired: {page.dialogs}"
    finally:
        hub.stop_app(owner_name, "echo", remove=True)
