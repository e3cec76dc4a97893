"""The admin's view and sharing on the real Hub, with the scopes ``install()`` grants.

- a Hub admin lists every user's apps (REST and ``hubapps list --all``); anyone else is refused;
- a Hub admin reads another user's running app's log (REST with a token, and logged in like a browser);
- share suggestions: the people in the user's own groups; a user in no group gets no names; the Hub
  log shows no refused call for them;
- ``hubapps share-link create|list|revoke``: a second user redeems the printed link and may open the
  app; once revoked, a third user's redeem fails.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.integration.conftest import Hub, login_to_service
from tests.integration.conftest import run_cli as _cli

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
ECHO = {
    "spec_version": 1,
    "jhub_app": True,
    "framework": "command",
    "display_name": "Echo",
    "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
}


def _svc(hub: Hub) -> str:
    return hub.url + "services/japps/"


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


def test_admin_lists_every_users_apps(hub: Hub) -> None:
    owner = f"adm-own-{secrets.token_hex(3)}"
    token, admin = hub.token_for(owner), hub.token_for("admin")
    made = httpx.post(
        _svc(hub) + "api/apps", json={"framework": "command", "display_name": "Kept", **_argv()}, headers=_as(token)
    )
    assert made.status_code == 201, made.text
    server = made.json()["name"]
    try:
        everyone = httpx.get(_svc(hub) + "api/apps", params={"access": "all", "limit": 500}, headers=_as(admin))
        assert everyone.status_code == 200, everyone.text
        found = {a["id"]: a["access"] for a in everyone.json()["data"]}
        assert found.get(f"{owner}/{server}") == "admin"
        refused = httpx.get(_svc(hub) + "api/apps", params={"access": "all"}, headers=_as(token))
        assert refused.status_code == 422
        assert refused.json()["field"] == "access"

        listed = _cli(hub, admin, "list", "--all", "--json")
        assert listed.returncode == 0, listed.stderr
        assert f"{owner}/{server}" in {a["id"] for a in json.loads(listed.stdout)["data"]}
        mine_only = _cli(hub, token, "list", "--all")
        assert mine_only.returncode == 1
        assert "only Hub admins" in mine_only.stderr
    finally:
        hub.stop_app(owner, server, remove=True)


def _argv() -> dict[str, object]:
    return {"command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"]}


def test_admin_reads_another_users_app_log(hub: Hub) -> None:
    owner = f"adm-log-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    hub.create_app(owner, "echo", ECHO, token=token)
    try:
        hub.wait_app(owner, "echo", token)
        path = f"api/apps/{quote(owner, safe='')}/echo/logs"
        with_token = httpx.get(_svc(hub) + path, headers=_as(hub.token_for("admin")), timeout=30)
        assert with_token.status_code == 200, with_token.text
        assert any("echo app listening" in line for line in with_token.json()["lines"])
        browser = hub.login("admin")  # the OAuth token the launcher's pages use
        try:
            login_to_service(browser, _svc(hub))
            logged_in = browser.get(_svc(hub) + path)
        finally:
            browser.close()
        assert logged_in.status_code == 200, logged_in.text
        assert any("echo app listening" in line for line in logged_in.json()["lines"])
    finally:
        hub.stop_app(owner, "echo", remove=True)


def _suggestions(hub: Hub, user: str) -> tuple[list[str], list[str]]:
    browser = hub.login(user)
    try:
        login_to_service(browser, _svc(hub))
        page = browser.get(_svc(hub) + "create-app", headers={"Sec-Fetch-Mode": "navigate", "Accept": "text/html"})
    finally:
        browser.close()
    assert page.status_code == 200, page.text[:500]
    lists = dict(re.findall(r'<datalist id="hubapps-(users|groups)">(.*?)</datalist>', page.text))
    names = {k: [html.unescape(n) for n in re.findall(r'<option value="([^"]*)">', v)] for k, v in lists.items()}
    return names.get("users", []), names.get("groups", [])


def test_suggestions_are_what_each_user_may_see_and_cost_no_refused_call(hub: Hub) -> None:
    suffix = secrets.token_hex(3)
    ann, cat, loner, group = f"sug-ann-{suffix}", f"sug-cat-{suffix}", f"sug-loner-{suffix}", f"sug-team-{suffix}"
    for user in (ann, cat, loner):
        hub.ensure_user(user)
    assert hub.api("POST", f"groups/{group}").status_code == 201
    assert hub.api("POST", f"groups/{group}/users", json={"users": [ann, cat]}).status_code == 200
    before = len(hub.log_path.read_text(errors="replace").splitlines())

    users, groups = _suggestions(hub, ann)
    assert cat in users
    assert group in groups
    assert loner not in users
    assert _suggestions(hub, loner) == ([], [])

    log = hub.log_path.read_text(errors="replace").splitlines()[before:]
    refused = [line for line in log if re.search(r" 40[34] GET /hub/api/(users|groups)\b", line)]
    assert refused == [], "\n".join(refused)


def test_share_link_from_the_cli_is_redeemed_then_revoked(hub: Hub) -> None:
    suffix = secrets.token_hex(3)
    owner, friend, late = f"lnk-own-{suffix}", f"lnk-friend-{suffix}", f"lnk-late-{suffix}"
    token = hub.token_for(owner)
    hub.create_app(owner, "echo", ECHO, token=token)
    try:
        created = _cli(hub, token, "share-link", "create", "echo", "--expires", "1h")
        assert created.returncode == 0, created.stderr
        url = created.stdout.splitlines()[0]
        assert url.startswith(hub.url + "hub/accept-share?code=")
        listed = _cli(hub, token, "share-link", "list", "echo")
        rows = listed.stdout.splitlines()[1:]
        assert len(rows) == 1
        assert rows[0].split()[-1] == "0"  # not used yet

        # The friend opens the link (logged in to the Hub) and accepts: the app opens for them.
        browser = hub.login(friend)
        try:
            page = browser.get(url)
            assert page.status_code == 200, page.text[:300]
            xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
            assert xsrf is not None
            code = url.partition("code=")[2]
            accepted = browser.post(url, data={"_xsrf": html.unescape(xsrf[1]), "code": code})
            assert accepted.status_code == 302, accepted.text[:300]
        finally:
            browser.close()
        shared = hub.api("GET", f"users/{friend}/shared").json()
        assert [(s["server"]["user"]["name"], s["server"]["name"]) for s in shared["items"]] == [(owner, "echo")]
        uses = _cli(hub, token, "share-link", "list", "echo").stdout.splitlines()[1:]
        assert uses[0].split()[-1] == "1"

        revoked = _cli(hub, token, "share-link", "revoke", "echo", "--id", rows[0].split()[0])
        assert revoked.returncode == 0, revoked.stderr
        assert "no share links" in revoked.stdout
        browser = hub.login(late)
        try:
            assert browser.get(url).status_code == 404
        finally:
            browser.close()
        assert hub.api("GET", f"users/{late}/shared").json()["items"] == []
    finally:
        hub.stop_app(owner, "echo", remove=True)
