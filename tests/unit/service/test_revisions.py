"""App revisions: every create and edit is one immutable revision (secrets still sealed, never shown);
list, compare and roll back (a new revision that changes the Hub's spec), retention, rights (404 for
anyone who may not manage the app), and revision 1 of apps made before revisions."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hubapps.service.events import EventStore
from hubapps.service.operations.revisions import BASE_NOTE
from hubapps.service.revisions import RevisionStore
from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, Users, app_options

API = "/services/japps/api"
SPEC = {"framework": "streamlit", "display_name": "Sales Dashboard", "filepath": "app.py", "description": "v1"}
APP = f"{API}/apps/ann/sales-dashboard"
PLAIN = "sk-live-" + "7" * 24


def _options(fake_hub: FakeHub, owner: str = "ann", server: str = "sales-dashboard") -> dict[str, Any]:
    options = fake_hub.users[owner].servers[server].user_options
    assert options is not None
    return options


def _revisions(client: TestClient, headers: dict[str, str], app: str = APP) -> list[dict[str, Any]]:
    r = client.get(f"{app}/revisions", headers=headers)
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


@pytest.fixture
def keyed(make_client: Callable[..., TestClient], settings: ServiceSettings) -> TestClient:
    return make_client(settings.model_copy(update={"crypt_key": SecretStr(secrets.token_hex(32))}))


# -- the store -------------------------------------------------------------------------------------


async def test_the_store_numbers_keeps_the_newest_and_starts_a_new_app_afresh() -> None:
    store = RevisionStore("sqlite://")
    await store.open()
    for n in range(1, 6):
        made = await store.add("ann", "sales", {"description": f"v{n}"}, actor="ann", note="edited", keep=3)
        assert made.number == n
    await store.add("ann", "report", {"description": "other"}, actor="ann", note="created")
    kept = await store.revisions("ann", "sales")
    assert [(r.number, r.spec["description"]) for r in kept] == [(5, "v5"), (4, "v4"), (3, "v3")]
    assert await store.get("ann", "sales", 2) is None  # deleted by retention
    assert (await store.newest_number("ann", "sales"), await store.newest_number("ann", "none")) == (5, None)
    # An app created again under the same name does not continue the old history.
    again = await store.add("ann", "sales", {"description": "new"}, actor="ann", note="created", fresh=True)
    assert again.number == 1
    assert [r.number for r in await store.revisions("ann", "sales")] == [1]
    # Revision 1 of an app made before revisions: only when it has none.
    assert await store.add_base("ann", "sales", {}, note=BASE_NOTE) is None
    base = await store.add_base("bob", "notes", {"description": "old"}, note=BASE_NOTE)
    assert base is not None
    assert (base.number, base.actor) == (1, None)
    assert await store.delete_app("ann", "sales") == 1
    assert await store.revisions("ann", "sales") == []
    assert [r.number for r in await store.revisions("ann", "report")] == [1]
    assert await store.delete_owner("ann") == 1
    assert await store.revisions("ann", "report") == []
    assert [r.number for r in await store.revisions("bob", "notes")] == [1]
    store.close()


async def test_attach_source_fills_only_the_newest_revision_once() -> None:
    store = RevisionStore("sqlite://")
    await store.open()
    assert await store.attach_source("ann", "sales", sha256="a" * 64) is None  # no revision yet
    await store.add("ann", "sales", {"v": 1}, actor="ann", note="created")
    await store.add("ann", "sales", {"v": 2}, actor="ann", note="edited")
    assert await store.attach_source("ann", "sales") is None  # nothing reported
    assert await store.attach_source("ann", "sales", sha256="b" * 64) == 2
    # A later start of the same spec changes nothing, and revision 1 never gets a source it did not run with.
    assert await store.attach_source("ann", "sales", sha256="c" * 64) is None
    first, second = sorted(await store.revisions("ann", "sales"), key=lambda r: r.number)
    assert (first.source_sha256, first.source_commit) == (None, None)
    assert (second.source_sha256, second.source_commit) == ("b" * 64, None)
    await store.add("ann", "sales", {"v": 3}, actor="ann", note="edited")
    assert await store.attach_source("ann", "sales", commit="d" * 40) == 3
    assert (await store.get("ann", "sales", 3)).source_commit == "d" * 40  # type: ignore[union-attr]
    store.close()


# -- recorded by every change ------------------------------------------------------------------------


def test_create_edit_and_public_flag_each_make_one_revision(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    ann = auth("ann")
    assert client.post(f"{API}/apps", headers=ann, json=SPEC).status_code == 201
    assert client.patch(APP, headers=ann, json={"description": "v2"}).status_code == 200
    assert client.put(f"{APP}/public", headers=ann, json={"public": True}).status_code == 200
    # A deploy over the app (the form's and the CLI's "update") is an edit too.
    over = {**SPEC, "description": "v3", "on_conflict": "update", "start": False}
    assert client.post(f"{API}/apps", headers=ann, json=over).status_code == 200

    revisions = _revisions(client, ann)
    assert [(r["number"], r["note"], r["actor"]) for r in revisions] == [
        (4, "edited", "ann"),
        (3, "made public", "ann"),
        (2, "edited", "ann"),
        (1, "created", "ann"),
    ]
    assert [r["changed"] for r in revisions] == [["description"], ["public"], ["description"], []]
    assert revisions[0]["spec"] == _options(fake_hub)  # exactly what the Hub holds
    one = client.get(f"{APP}/revisions/1", headers=ann).json()
    assert (one["spec"]["description"], one["source_sha256"], one["source_commit"]) == ("v1", None, None)


def test_a_refused_edit_makes_no_revision(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    ann = auth("ann")
    assert client.post(f"{API}/apps", headers=ann, json=SPEC).status_code == 201
    r = client.patch(APP, headers=ann, json={"framework": "no-such-framework"})
    assert r.status_code == 422
    assert [r["number"] for r in _revisions(client, ann)] == [1]


def test_secrets_stay_sealed_and_only_their_names_are_shown(keyed: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    ann = auth("ann")
    body = {**SPEC, "secret_env": {"API_KEY": PLAIN, "DB_TOKEN": "t-1"}}
    assert keyed.post(f"{API}/apps", headers=ann, json=body).status_code == 201
    sealed = dict(_options(fake_hub)["secret_env"])
    # A new value for one secret, the other kept (null), and a plain variable added.
    change = {"secret_env": {"API_KEY": "sk-live-new", "DB_TOKEN": None}, "env": {"MODE": "fast"}}
    assert keyed.patch(APP, headers=ann, json=change).status_code == 200

    store: RevisionStore = keyed.app.state.revisions  # type: ignore[attr-defined]
    stored = asyncio.run(store.get("ann", "sales-dashboard", 1))
    assert stored is not None
    assert stored.spec["secret_env"] == sealed

    answers = [
        keyed.get(f"{APP}/revisions", headers=ann),
        keyed.get(f"{APP}/revisions/1", headers=ann),
        keyed.get(f"{APP}/revisions/compare?from=1&to=2", headers=ann),
    ]
    for answer in answers:
        assert answer.status_code == 200
        for secret in (PLAIN, "sk-live-new", "t-1", *sealed.values(), *_options(fake_hub)["secret_env"].values()):
            assert secret not in answer.text
    assert answers[1].json()["spec"]["secret_env"] == {"API_KEY": None, "DB_TOKEN": None}
    changes = answers[2].json()["changes"]
    assert changes == [
        {"field": "env.MODE", "change": "added", "before": None, "after": "fast", "secret": False},
        {"field": "secret_env.API_KEY", "change": "changed", "before": None, "after": None, "secret": True},
    ]


def test_compare_names_each_changed_field(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    ann = auth("ann")
    assert client.post(f"{API}/apps", headers=ann, json={**SPEC, "env": {"A": "1", "B": "2"}}).status_code == 201
    change = {"description": "v2", "env": {"A": "1", "C": "3"}, "keep_alive": True}
    assert client.patch(APP, headers=ann, json=change).status_code == 200
    r = client.get(f"{APP}/revisions/compare", headers=ann, params={"from": 1, "to": 2})
    assert r.status_code == 200
    assert [(c["field"], c["change"], c["before"], c["after"]) for c in r.json()["changes"]] == [
        ("description", "changed", "v1", "v2"),
        ("env.B", "removed", "2", None),
        ("env.C", "added", None, "3"),
        ("idle_policy", "changed", "default", "keep"),  # keep_alive is the "keep" idle policy
        ("keep_alive", "changed", False, True),
    ]
    missing = client.get(f"{APP}/revisions/compare", headers=ann, params={"from": 1, "to": 9})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "ann/sales-dashboard has no revision 9 (kept: 1 to 2)"


# -- rights ------------------------------------------------------------------------------------------


def test_only_who_manages_the_app_sees_or_rolls_back_its_revisions(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    ann = auth("ann")
    assert client.post(f"{API}/apps", headers=ann, json=SPEC).status_code == 201
    assert client.patch(APP, headers=ann, json={"description": "v2"}).status_code == 200
    assert client.post(f"{APP}/shares", headers=ann, json={"users": ["bob"]}).status_code == 200
    for who in ("bob", "cat"):  # shared with bob (he may open it, not manage it); cat: nothing
        for method, url in (
            ("GET", f"{APP}/revisions"),
            ("GET", f"{APP}/revisions/1"),
            ("GET", f"{APP}/revisions/compare?from=1&to=2"),
            ("POST", f"{APP}/revisions/1/rollback"),
        ):
            r = client.request(method, url, headers=auth(who), json={} if method == "POST" else None)
            assert r.status_code == 404, (who, url)
    assert _options(fake_hub)["description"] == "v2"
    assert [r["number"] for r in _revisions(client, auth("root"))] == [2, 1]  # an admin manages every app
    assert client.get(f"{API}/apps/ann/nothing-here/revisions", headers=ann).status_code == 404


# -- rollback ------------------------------------------------------------------------------------------


def _events(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    store: EventStore = client.app.state.events  # type: ignore[attr-defined]
    return [(e.kind, e.actor, dict(e.detail)) for e in reversed(asyncio.run(store.events(limit=100)))]


def test_rollback_sets_the_hubs_spec_back_as_a_new_revision(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    ann = auth("ann")
    assert client.post(f"{API}/apps", headers=ann, json={**SPEC, "env": {"A": "1"}}).status_code == 201
    assert client.patch(APP, headers=ann, json={"description": "v2", "env": {}}).status_code == 200
    r = client.post(f"{APP}/revisions/1/rollback", headers=ann, json={"restart": False})
    assert r.status_code == 200, r.text
    assert r.json()["description"] == "v1"
    assert (_options(fake_hub)["description"], _options(fake_hub)["env"]) == ("v1", {"A": "1"})
    revisions = _revisions(client, ann)
    assert [(x["number"], x["note"], x["changed"]) for x in revisions] == [
        (3, "rolled back to 1", ["description", "env"]),
        (2, "edited", ["description", "env"]),
        (1, "created", []),
    ]
    assert _events(client)[-1] == ("rolled-back", "ann", {"revision": 1, "fields": ["description", "env"]})
    # An admin may roll back too; rolling back to a revision a rollback made is just another one.
    assert client.post(f"{APP}/revisions/2/rollback", headers=auth("root")).status_code == 200
    assert _options(fake_hub)["description"] == "v2"
    assert (_revisions(client, ann)[0]["note"], _revisions(client, ann)[0]["actor"]) == ("rolled back to 2", "root")
    assert client.post(f"{APP}/revisions/7/rollback", headers=ann).status_code == 404


def test_rollback_of_a_running_app_needs_restart(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    ann = auth("ann")
    assert client.post(f"{API}/apps", headers=ann, json=SPEC).status_code == 201
    assert client.patch(APP, headers=ann, json={"description": "v2"}).status_code == 200
    fake_hub.users["ann"].servers["sales-dashboard"].running = True
    refused = client.post(f"{APP}/revisions/1/rollback", headers=ann, json={"restart": False})
    assert refused.status_code == 409
    assert "restart=true" in refused.json()["detail"]
    assert _options(fake_hub)["description"] == "v2"
    assert [x["number"] for x in _revisions(client, ann)] == [2, 1]
    bad = client.post(f"{APP}/revisions/1/rollback", headers=ann, json={"restart": "soon"})
    assert (bad.status_code, bad.json()["field"]) == (422, "restart")
    accepted = client.post(f"{APP}/revisions/1/rollback", headers=ann, json={"restart": True})
    assert accepted.status_code == 202, accepted.text
    for _ in range(50):  # the restart goes on in the background
        if _options(fake_hub)["description"] == "v1":
            break
        time.sleep(0.05)
    assert _options(fake_hub)["description"] == "v1"
    assert _revisions(client, ann)[0]["note"] == "rolled back to 1"


def test_rollback_applies_todays_rules(
    make_client: Callable[..., TestClient], settings: ServiceSettings, fake_hub: FakeHub, auth: Users, tmp_path: Path
) -> None:
    shared = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'service.sqlite'}"})
    client = make_client(shared)
    ann = auth("ann")
    assert client.post(f"{API}/apps", headers=ann, json={**SPEC, "public": True}).status_code == 201
    assert client.patch(APP, headers=ann, json={"public": False}).status_code == 200
    # The admin turned public apps off since: revision 1 (public) cannot come back.
    strict = make_client(shared.model_copy(update={"allow_public_apps": False}))
    r = strict.post(f"{APP}/revisions/1/rollback", headers=ann)
    assert (r.status_code, r.json()["field"]) == (422, "public")
    assert _options(fake_hub)["public"] is False


# -- apps made before revisions --------------------------------------------------------------------


def test_an_app_made_before_revisions_gets_revision_1_when_listed_or_edited(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    ann = auth("ann")
    fake_hub.add_server("ann", "old-listed", app_options("Old Listed", description="as it was"))
    fake_hub.add_server("ann", "old-edited", app_options("Old Edited", description="as it was"))
    listed = _revisions(client, ann, f"{API}/apps/ann/old-listed")
    assert [(r["number"], r["actor"], r["note"]) for r in listed] == [(1, None, BASE_NOTE)]
    assert [r["number"] for r in _revisions(client, ann, f"{API}/apps/ann/old-listed")] == [1]  # made once

    edited = f"{API}/apps/ann/old-edited"
    assert client.patch(edited, headers=ann, json={"description": "new"}).status_code == 200
    revisions = _revisions(client, ann, edited)
    assert [(r["number"], r["actor"], r["spec"]["description"]) for r in revisions] == [
        (2, "ann", "new"),
        (1, None, "as it was"),
    ]
    assert client.post(f"{edited}/revisions/1/rollback", headers=ann).status_code == 200
    assert _options(fake_hub, "ann", "old-edited")["description"] == "as it was"


def test_a_version_1_apps_plain_secret_is_sealed_in_revision_1(
    keyed: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    ann = auth("ann")
    fake_hub.add_server("ann", "legacy", app_options("Legacy", env={"API_TOKEN": PLAIN, "MODE": "x"}))
    r = keyed.get(f"{API}/apps/ann/legacy/revisions", headers=ann)
    assert r.status_code == 200
    assert PLAIN not in r.text
    (base,) = r.json()["data"]
    assert (base["spec"]["env"], base["spec"]["secret_env"]) == ({"MODE": "x"}, {"API_TOKEN": None})
    store: RevisionStore = keyed.app.state.revisions  # type: ignore[attr-defined]
    stored = asyncio.run(store.get("ann", "legacy", 1))
    assert stored is not None
    assert PLAIN not in str(stored.spec)


# -- retention and deletion ------------------------------------------------------------------------


def test_retention_keeps_the_newest_and_a_deleted_app_takes_its_revisions(
    make_client: Callable[..., TestClient], settings: ServiceSettings, fake_hub: FakeHub, auth: Users
) -> None:
    client = make_client(settings.model_copy(update={"revision_keep": 3}))
    ann = auth("ann")
    assert client.post(f"{API}/apps", headers=ann, json=SPEC).status_code == 201
    for n in range(2, 6):
        assert client.patch(APP, headers=ann, json={"description": f"v{n}"}).status_code == 200
    r = client.get(f"{APP}/revisions", headers=ann)
    assert (r.json()["keep"], [x["number"] for x in r.json()["data"]]) == (3, [5, 4, 3])
    assert client.post(f"{APP}/revisions/1/rollback", headers=ann).status_code == 404
    assert client.delete(APP, headers=ann).status_code in (202, 204)
    # The same name again: a new app, a history of its own.
    assert client.post(f"{API}/apps", headers=ann, json=SPEC).status_code == 201
    assert [(x["number"], x["note"]) for x in _revisions(client, ann)] == [(1, "created")]


# -- the details page ----------------------------------------------------------------------------------

PAGE = "/services/japps/ui/apps/ann/sales-dashboard"


def test_the_details_page_lists_compares_and_rolls_back(keyed: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    ann = auth("ann")
    body = {**SPEC, "env": {"DB_PASSWORD": "pw-1"}, "secret_env": {"API_KEY": PLAIN}}
    assert keyed.post(f"{API}/apps", headers=ann, json=body).status_code == 201
    change = {"description": "v2 <b>", "env": {"DB_PASSWORD": "pw-2"}, "secret_env": {"API_KEY": "sk-new"}}
    assert keyed.patch(APP, headers=ann, json=change).status_code == 200

    page = keyed.get(PAGE, headers=ann, params={"from": 1, "to": 2})
    assert page.status_code == 200
    assert 'id="revision-list"' in page.text
    assert '<tr data-n="2">' in page.text
    assert '<tr data-n="1">' in page.text
    assert 'action="/services/japps/ui/apps/ann/sales-dashboard/revisions/1/rollback"' in page.text
    assert "From revision 1 to revision 2" in page.text
    assert "v2 &lt;b&gt;" in page.text
    for secret in (PLAIN, "sk-new", "pw-1", "pw-2", *_options(fake_hub)["secret_env"].values()):
        assert secret not in page.text
    assert '<tr data-field="secret_env.API_KEY">' in page.text
    missing = keyed.get(PAGE, headers=ann, params={"from": 1, "to": 5})
    assert "has no revision 5" in missing.text

    # Someone the app is shared with sees the app, not its history.
    assert keyed.post(f"{APP}/shares", headers=ann, json={"users": ["bob"]}).status_code == 200
    assert 'id="revisions"' not in keyed.get(PAGE, headers=auth("bob")).text
    assert keyed.post(f"{PAGE}/revisions/1/rollback", headers=auth("bob"), data={}).status_code == 404

    done = keyed.post(f"{PAGE}/revisions/1/rollback", headers=ann, data={}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"{PAGE}?notice=rolled-back#revisions"
    assert _options(fake_hub)["description"] == "v1"
    assert "Rolled back" in keyed.get(done.headers["location"], headers=ann).text


def test_the_page_says_why_a_rollback_was_refused(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    ann = auth("ann")
    assert client.post(f"{API}/apps", headers=ann, json=SPEC).status_code == 201
    assert client.patch(APP, headers=ann, json={"description": "v2"}).status_code == 200
    fake_hub.users["ann"].servers["sales-dashboard"].running = True
    page = client.get(PAGE, headers=ann)
    assert "Roll back and restart" in page.text
    refused = client.post(f"{PAGE}/revisions/1/rollback", headers=ann, data={}, follow_redirects=False)
    assert refused.status_code == 409
    assert "Not rolled back: the app is running" in refused.text
    assert _options(fake_hub)["description"] == "v2"
    restarted = client.post(f"{PAGE}/revisions/1/rollback", headers=ann, data={"restart": "1"}, follow_redirects=False)
    assert restarted.status_code == 303
    assert restarted.headers["location"].startswith(f"{PAGE}/watch?restart=")
