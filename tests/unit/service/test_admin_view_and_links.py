"""The admin's view (every user's apps, never "Only you"), share suggestions limited to what each user may
see (and no refused Hub call for them), and share links on the details page, against the fake Hub."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, Users, app_options

API = "/services/japps/api"
UI = "/services/japps/ui"


def _settings(settings: ServiceSettings, **changes: object) -> ServiceSettings:
    return ServiceSettings.model_validate({**settings.model_dump(), **changes})


def _apps(fake_hub: FakeHub) -> None:
    fake_hub.add_server("ann", "sales", app_options("Sales"), running=True)
    fake_hub.add_server("bob", "report", app_options("Report", "panel"))
    fake_hub.add_server("bob", "lab", None)  # a plain named server: not an app
    fake_hub.add_server("cat", "secret", app_options("Secret"))
    fake_hub.share("bob", "report", user="ann")


# -- the admin's view ---------------------------------------------------------------------------------


def test_admin_lists_every_users_apps_as_admin(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    _apps(fake_hub)
    fake_hub.add_server("root", "mine", app_options("Mine"))
    r = client.get(f"{API}/apps", params={"access": "all"}, headers=auth("root"))
    assert r.status_code == 200, r.text
    got = {a["id"]: a["access"] for a in r.json()["data"]}
    assert got == {"root/mine": "owned", "ann/sales": "admin", "bob/report": "admin", "cat/secret": "admin"}
    only_others = client.get(f"{API}/apps", params={"access": "admin"}, headers=auth("root")).json()["data"]
    assert {a["id"] for a in only_others} == {"ann/sales", "bob/report", "cat/secret"}
    # Without asking, an admin's listing is the usual one: nobody else's apps.
    default = client.get(f"{API}/apps", headers=auth("root")).json()["data"]
    assert [a["id"] for a in default] == ["root/mine"]


def test_non_admins_asking_for_every_users_apps_are_refused_clearly(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    _apps(fake_hub)
    for access in ("all", "admin"):
        r = client.get(f"{API}/apps", params={"access": access}, headers=auth("ann"))
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "access"
        assert "only Hub admins" in r.json()["detail"]
    assert ("GET", "/hub/api/users") not in fake_hub.calls


def test_gallery_offers_every_users_apps_to_admins_only(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    _apps(fake_hub)
    admin = client.get(f"{UI}/gallery", params={"access": "all"}, headers=auth("root")).text
    assert '<option value="all" selected>' in admin
    assert {html.unescape(n) for n in re.findall(r'class="hubapps-name">([^<]*)<', admin)} == {
        "Sales",
        "Report",
        "Secret",
    }
    assert "by cat" in admin
    # A non-admin is not offered it, and ?access=all gives them their usual gallery.
    ann = client.get(f"{UI}/gallery", params={"access": "all"}, headers=auth("ann"))
    assert ann.status_code == 200
    assert 'value="all"' not in ann.text
    assert {html.unescape(n) for n in re.findall(r'class="hubapps-name">([^<]*)<', ann.text)} == {"Sales", "report"}


def test_pages_for_an_admin_name_the_owner_never_only_you(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    _apps(fake_hub)
    for path in ("cat/secret", "cat/secret/edit", "cat/secret/watch"):
        page = client.get(f"{UI}/apps/{path}", headers=auth("root"))
        assert page.status_code == 200, (path, page.text)
        assert "only you" not in page.text.lower(), path
    details = client.get(f"{UI}/apps/cat/secret", headers=auth("root")).text
    assert "Only its owner, cat." in details
    shared = client.get(f"{UI}/apps/bob/report", headers=auth("ann")).text
    assert "only you" not in shared.lower()
    assert "by bob" in shared


# -- share suggestions ------------------------------------------------------------------------------


def _suggested(client: TestClient, who: dict[str, str]) -> tuple[list[str], list[str]]:
    page = client.get("/services/japps/create-app", headers=who)
    assert page.status_code == 200, page.text
    lists = {
        name: re.findall(r'<option value="([^"]*)">', body)
        for name, body in re.findall(r'<datalist id="hubapps-(users|groups)">(.*?)</datalist>', page.text)
    }
    users, groups = lists.get("users", []), lists.get("groups", [])
    return [html.unescape(n) for n in users], [html.unescape(n) for n in groups]


def test_suggestions_are_the_people_in_my_groups_and_no_hub_call_is_refused(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    # ann and cat are in "team"; bob is in no group and may list nobody.
    assert _suggested(client, auth("ann")) == (["cat"], ["team"])
    assert _suggested(client, auth("bob")) == ([], [])
    refused = [c for c in fake_hub.calls if c[1] in ("/hub/api/users", "/hub/api/groups")]
    assert refused == [], "asked the Hub for a listing the user may not make"


def test_suggestions_follow_the_listing_scopes_the_hub_grants(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    fake_hub.add_user("dan", groups=["staff"])
    fake_hub.add_user("eve", groups=["staff"])
    fake_hub.users["bob"].scopes = ["list:users!group=staff"]
    assert _suggested(client, auth("bob")) == (["dan", "eve"], [])
    fake_hub.users["bob"].scopes = ["list:users", "list:groups"]  # share_suggestions_from = "all"
    assert _suggested(client, auth("bob")) == (["ann", "cat", "dan", "eve", "root"], ["staff", "team"])


def test_no_suggestions_when_sharing_is_off(
    make_client: Callable[..., TestClient], settings: ServiceSettings, auth: Users
) -> None:
    off = make_client(_settings(settings, allow_sharing=False))
    assert _suggested(off, auth("ann")) == ([], [])


# -- share links on the details page ----------------------------------------------------------------


def test_details_page_lists_links_and_offers_to_make_one(
    make_client: Callable[..., TestClient], fake_hub: FakeHub, settings: ServiceSettings, auth: Users
) -> None:
    _apps(fake_hub)
    client = make_client(_settings(settings, public_url="https://hub.example.org/"))
    page = client.get(f"{UI}/apps/ann/sales", headers=auth("ann")).text
    assert 'id="link-create"' in page
    assert "No share links." in page
    made = client.post(f"{API}/apps/ann/sales/share-links", json={"expires_in": 3600}, headers=auth("ann"))
    assert made.status_code == 201, made.text
    # The Hub gave a path (it knows no public_url); the service completes it with the Hub's origin.
    assert made.json()["accept_url"] == "https://hub.example.org/hub/accept-share?code=secret-code"
    client.post(f"{API}/apps/ann/sales/share-links", json={"expires_in": 3600}, headers=auth("ann"))
    page = client.get(f"{UI}/apps/ann/sales", headers=auth("ann")).text
    assert page.count('class="btn btn-sm btn-outline-danger link-revoke"') == 2
    assert "secret-code" not in page  # a link's address is shown once, when it is made
    # An admin manages another user's links; the person it is shared with sees none of this.
    assert 'id="link-create"' in client.get(f"{UI}/apps/ann/sales", headers=auth("root")).text
    assert 'id="share-links"' not in client.get(f"{UI}/apps/bob/report", headers=auth("ann")).text
    # Revoke one, then all.
    assert client.delete(f"{API}/apps/ann/sales/share-links?id=sc_1", headers=auth("ann")).status_code == 204
    assert [x["id"] for x in client.get(f"{API}/apps/ann/sales/share-links", headers=auth("ann")).json()] == ["sc_2"]
    assert client.delete(f"{API}/apps/ann/sales/share-links", headers=auth("ann")).status_code == 204
    assert client.get(f"{API}/apps/ann/sales/share-links", headers=auth("ann")).json() == []
