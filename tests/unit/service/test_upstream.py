"""Upstream JHub Apps' REST API: the translation of its shapes both ways, and its routes against the fake Hub.

The contract against the real Hub (shapes, status codes, one test per route) is
``tests/integration/test_upstream_api.py``; these check the translation rules and the refusals
without a Hub process.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from hubapps.core.errors import SpecError
from hubapps.core.spec import parse_user_options
from hubapps.service.settings import ServiceSettings
from hubapps.service.upstream import (
    UserOptions,
    from_upstream_options,
    thumbnail_ref_of_url,
    upstream_options,
    upstream_server,
)
from tests.unit.service.conftest import FakeHub, Users, app_options

SVC = "/services/japps"


def upstream(**fields: Any) -> dict[str, Any]:
    return {"jhub_app": True, "display_name": "Sales", "description": "d", "filepath": "app.py", **fields}


def png(size: int = 40) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def data(servername: str = "", **options: Any) -> dict[str, str]:
    return {"data": json.dumps({"servername": servername, "user_options": upstream(**options)})}


# -- translation in ---------------------------------------------------------------------------------


def test_upstream_options_become_spec_fields() -> None:
    fields = from_upstream_options(
        UserOptions.model_validate(
            upstream(
                framework="custom",
                filepath="",
                custom_command="python serve.py --port {port} --title 'My app'",
                conda_env="analysis",
                keep_alive=True,
                env={"A": "1"},
                repository={"url": "https://example.org/r.git", "config_directory": ".", "ref": "dev"},
                thumbnail="data:image/png;base64,AAAA",  # upstream ignores it on create; so do we
                share_with={"users": ["bob"], "groups": []},
                profile_image="evil/image",
            )
        )
    )
    assert fields["framework"] == "command"
    assert fields["command"] == ["python", "serve.py", "--port", "{port}", "--title", "My app"]
    assert fields["python_env"] == "analysis"
    assert fields["keep_alive"] is True
    assert "idle_policy" not in fields
    assert fields["env"] == {"A": "1"}
    assert fields["repository"] == {"url": "https://example.org/r.git", "ref": "dev", "subdirectory": ""}
    assert "thumbnail" not in fields
    assert "profile_image" not in fields
    assert "share_with" not in fields
    assert from_upstream_options(UserOptions.model_validate(upstream(framework="plotlydash")))["framework"] == "dash"


def test_refusals_name_the_field_as_upstream_sent_it() -> None:
    with pytest.raises(SpecError) as caught:
        from_upstream_options(UserOptions.model_validate(upstream(framework="custom", custom_command="a | b")))
    assert caught.value.field == "custom_command"
    assert "shell" in caught.value.message
    with pytest.raises(SpecError) as caught:
        from_upstream_options(UserOptions.model_validate(upstream(env={"LD_PRELOAD": "x"})))
    assert caught.value.field == "env"


# -- translation out --------------------------------------------------------------------------------


def test_spec_becomes_upstream_options_and_back(settings: ServiceSettings) -> None:
    spec = parse_user_options(
        {
            "spec_version": 2,
            "framework": "command",
            "display_name": "Tool",
            "command": ["python", "serve.py", "--title", "My app", "{port}"],
            "python_env": "analysis",
            "working_dir": "work",
            "repository": {"url": "https://example.org/r.git", "ref": "", "subdirectory": "sub"},
            "thumbnail": "sha256:" + "a" * 64,
            "idle_policy": "keep",
        }
    )
    out = upstream_options(settings, spec.to_user_options(), shares={"users": ["bob"], "groups": ["team"]})
    assert out is not None
    assert out["framework"] == "custom"
    assert out["custom_command"] == "python serve.py --title 'My app' {port}"
    assert out["conda_env"] == "analysis"
    assert out["keep_alive"] is True
    assert out["repository"] == {"url": "https://example.org/r.git", "config_directory": "sub", "ref": "main"}
    assert out["thumbnail"] == f"{SVC}/ui/thumbnails/sha256:{'a' * 64}"
    assert thumbnail_ref_of_url(settings, out["thumbnail"]) == "sha256:" + "a" * 64
    assert thumbnail_ref_of_url(settings, "https://hub.example.org" + out["thumbnail"]) == "sha256:" + "a" * 64
    assert thumbnail_ref_of_url(settings, f"{SVC}/static/logos/panel.svg") is None
    assert out["share_with"] == {"users": ["bob"], "groups": ["team"]}
    assert "working_dir" not in out
    assert "spec_version" not in out
    # back in: the same spec, the fields upstream has no word for aside
    back = from_upstream_options(UserOptions.model_validate(out))
    assert back["command"] == list(spec.command)
    assert back["framework"] == "command"
    assert back["python_env"] == "analysis"
    assert back["repository"] == {"url": "https://example.org/r.git", "ref": "main", "subdirectory": "sub"}


def test_logo_and_plain_servers(settings: ServiceSettings) -> None:
    out = upstream_options(settings, app_options("Dash", "dash"))
    assert out is not None
    assert out["framework"] == "plotlydash"
    assert out["thumbnail"] == f"{SVC}/static/logos/dash.svg"
    assert out["share_with"] is None
    assert upstream_options(settings, {"profile": "gpu"}) == {"profile": "gpu"}  # a JupyterLab server's own
    server = upstream_server(settings, {"name": "", "ready": True, "user_options": None, "url": "/user/ann/"})
    assert server["user_options"] is None
    assert server["state"] is None
    assert server["stopped"] is False


# -- routes -----------------------------------------------------------------------------------------


@pytest.fixture
def world(fake_hub: FakeHub, auth: Users) -> FakeHub:
    fake_hub.add_server("ann", "sales", app_options("Sales", working_dir="work"), running=True)
    fake_hub.add_server("ann", "", None)
    fake_hub.add_server("bob", "report", app_options("Report", "panel"))
    fake_hub.share("bob", "report", user="ann")
    return fake_hub


def test_servers_listing_and_one_server(client: TestClient, world: FakeHub, auth: Users) -> None:
    body = client.get(f"{SVC}/server/", headers=auth("ann")).json()
    assert set(body) == {"shared_apps", "user_apps"}
    mine = {s["name"]: s for s in body["user_apps"]}
    assert set(mine) == {"sales", ""}
    assert mine["sales"]["ready"] is True
    assert mine["sales"]["user_options"]["framework"] == "streamlit"
    assert "working_dir" not in mine["sales"]["user_options"]
    assert [s["name"] for s in body["shared_apps"]] == ["report"]
    shared = body["shared_apps"][0]
    assert shared["user"] == {"name": "bob"}
    assert shared["user_options"]["jhub_app"] is True
    # named from the directory (shared behind the service's back here: its server name)
    assert shared["user_options"]["display_name"] == "report"
    one = client.get(f"{SVC}/server/sales", headers=auth("ann")).json()
    assert one["user_options"]["share_with"] == {"users": [], "groups": []}
    assert client.get(f"{SVC}/server/lab", headers=auth("ann")).json()["name"] == ""
    r = client.get(f"{SVC}/server/nope", headers=auth("ann"))
    assert r.status_code == 404
    assert r.json()["detail"] == "server 'nope' not found"
    # another user's server is not "one of mine"
    assert client.get(f"{SVC}/server/report", headers=auth("ann")).status_code == 404


def test_create_with_thumbnail_and_shares(client: TestClient, world: FakeHub, auth: Users) -> None:
    r = client.post(
        f"{SVC}/server",
        headers=auth("ann"),
        data=data(framework="panel", share_with={"users": ["cat"], "groups": ["team"]}),
        files={"thumbnail": ("logo.png", png(), "image/png")},
    )
    assert r.status_code == 200, r.text
    status, name = r.json()
    assert status in (201, 202)
    assert name.startswith("sales-")
    options = world.users["ann"].servers[name].user_options or {}
    assert options["framework"] == "panel"
    assert options["thumbnail"].startswith("sha256:")
    assert client.get(f"{SVC}/ui/thumbnails/{options['thumbnail']}").headers["content-type"] == "image/webp"
    assert {(s.get("user") or s.get("group")) for s in world.shares if s["server"] == name} == {"cat", "team"}
    shown = client.get(f"{SVC}/server/{name}", headers=auth("ann")).json()["user_options"]
    assert shown["share_with"] == {"users": ["cat"], "groups": ["team"]}
    assert shown["thumbnail"].endswith(options["thumbnail"])
    # the app has a history and an event, as one made through hubapps' own API
    revisions = client.get(f"{SVC}/api/apps/ann/{name}/revisions", headers=auth("ann")).json()
    assert [rev["note"] for rev in revisions["data"]] == ["created"]


def test_create_refusals_change_nothing(
    client: TestClient, make_client: Any, settings: ServiceSettings, world: FakeHub, auth: Users
) -> None:
    before = set(world.users["ann"].servers)
    r = client.post(f"{SVC}/server", headers=auth("ann"), data={"data": json.dumps({"servername": "x"})})
    assert r.status_code == 422
    assert r.json()["field"] == "user_options"
    r = client.post(f"{SVC}/server", headers=auth("ann"), data=data(framework="custom", custom_command="a | b"))
    assert r.status_code == 422
    assert r.json()["field"] == "custom_command"
    r = client.post(
        f"{SVC}/server", headers=auth("ann"), files={"thumbnail": ("x.png", b"<svg/>", "image/png")}, data=data()
    )
    assert r.status_code == 422
    assert r.json()["field"] == "thumbnail"
    blocked = make_client(settings.model_copy(update={"blocked_frameworks": ["dash"]}))
    r = blocked.post(f"{SVC}/server", headers=auth("ann"), data=data(framework="plotlydash"))
    assert r.status_code == 403
    assert r.json()["detail"] == 'Given framework "plotlydash" is not allowed on this deployment, please contact admin.'
    no_sharing = make_client(settings.model_copy(update={"allow_sharing": False}))
    r = no_sharing.post(f"{SVC}/server", headers=auth("ann"), data=data(share_with={"users": ["cat"], "groups": []}))
    assert r.status_code == 403
    assert r.json()["field"] == "share_with"
    assert "sharing is turned off" in r.json()["detail"]
    r = client.post(f"{SVC}/server", headers=auth("ann"), json={"servername": "x"})
    assert r.status_code == 400
    assert set(world.users["ann"].servers) == before


def test_edit_keeps_what_upstream_cannot_say(client: TestClient, world: FakeHub, auth: Users) -> None:
    world.users["ann"].servers["sales"].running = False
    r = client.put(
        f"{SVC}/server/sales",
        headers=auth("ann"),
        data={**data("sales", framework="streamlit", description="new"), "thumbnail_data_url": ""},
    )
    assert r.status_code == 200, r.text
    assert r.json()[1] == "sales"
    options = world.users["ann"].servers["sales"].user_options or {}
    assert options["description"] == "new"
    assert options["working_dir"] == "work"  # hubapps' own field, unknown upstream: kept
    # an inline image (upstream's data URL) is re-encoded into the store
    inline = "data:image/png;base64," + base64.b64encode(png()).decode()
    r = client.put(f"{SVC}/server/sales", headers=auth("ann"), data={**data("sales"), "thumbnail_data_url": inline})
    assert r.status_code == 200, r.text
    ref = (world.users["ann"].servers["sales"].user_options or {})["thumbnail"]
    assert ref.startswith("sha256:")
    # sent back as the URL this API showed: kept
    shown = client.get(f"{SVC}/server/sales", headers=auth("ann")).json()["user_options"]["thumbnail"]
    r = client.put(f"{SVC}/server/sales", headers=auth("ann"), data={**data("sales"), "thumbnail_data_url": shown})
    assert r.status_code == 200, r.text
    assert (world.users["ann"].servers["sales"].user_options or {})["thumbnail"] == ref
    assert client.put(f"{SVC}/server/report", headers=auth("ann"), data=data("report")).status_code == 404


def test_start_stop_delete(client: TestClient, world: FakeHub, auth: Users) -> None:
    r = client.delete(f"{SVC}/server/sales", headers=auth("ann"))
    assert r.status_code == 200
    assert r.json() in (202, 204)
    r = client.post(f"{SVC}/server/sales", headers=auth("ann"))
    assert r.status_code == 200
    assert r.json() in (201, 202)
    # someone else's app that its owner did not let viewers start: upstream's 403
    r = client.post(f"{SVC}/server/report?owner=bob", headers=auth("ann"))
    assert r.status_code == 403
    assert client.post(f"{SVC}/server/nope", headers=auth("ann")).status_code == 403
    r = client.delete(f"{SVC}/server/sales?remove=true", headers=auth("ann"))
    assert r.status_code == 200
    assert r.json() in (202, 204)
    assert "sales" not in world.users["ann"].servers


def test_user_frameworks_and_lists(client: TestClient, world: FakeHub, auth: Users) -> None:
    me = client.get(f"{SVC}/user", headers=auth("ann")).json()
    assert me["name"] == "ann"
    assert me["admin"] is False
    assert me["groups"] == ["team"]
    assert me["auth_state"] is None
    assert set(me["share_permissions"]) == {"users", "groups"}
    assert me["servers"]["sales"]["user_options"]["framework"] == "streamlit"
    frameworks = {f["name"]: f for f in client.get(f"{SVC}/frameworks/", headers=auth("ann")).json()}
    assert {"plotlydash", "custom", "streamlit"} <= set(frameworks)
    assert frameworks["plotlydash"]["logo"] == f"{SVC}/static/logos/dash.svg"
    assert client.get(f"{SVC}/conda-environments/", headers=auth("ann")).json() == []
    assert client.get(f"{SVC}/spawner-profiles/", headers=auth("ann")).json() == []
    assert client.get(f"{SVC}/frameworks/").status_code == 403  # no credentials


def test_root_answers_scripts_with_the_status(client: TestClient) -> None:
    r = client.get(f"{SVC}/", headers={"Accept": "*/*"}, follow_redirects=False)
    assert r.json()["status"] == "ok"
    r = client.get(f"{SVC}/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 302
    assert client.get(f"{SVC}/status").json()["status"] == "ok"


def test_a_refused_share_says_the_app_was_saved(client: TestClient, world: FakeHub, auth: Users) -> None:
    r = client.post(f"{SVC}/server", headers=auth("ann"), data=data(share_with={"users": ["nobody"], "groups": []}))
    assert r.status_code in (400, 404)
    assert r.json()["field"] == "share_with"
    assert r.json()["code"] == "sharing_failed"
    assert "was saved, but sharing it failed" in r.json()["detail"]
    assert any(name.startswith("sales-") for name in world.users["ann"].servers)


FRAME = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "same-origin"}


def test_the_extension_frame_holds_nothing_of_the_user(client: TestClient, auth: Users) -> None:
    r = client.get(
        f"{SVC}/create-app", params={"filepath": 'a"<b>.py', "headless": "true"}, headers={**FRAME, **auth("ann")}
    )
    assert r.status_code == 200
    assert "frame-ancestors 'self'" in r.headers["content-security-policy"]
    assert "_xsrf" not in r.text
    assert "ann" not in r.text
    assert "<nav" not in r.text
    assert "a&#34;&lt;b&gt;.py" in r.text
    assert "create-app?filepath=a%22%3Cb%3E.py" in r.text
    # the form itself: never in a frame, and never frameable
    assert client.get(f"{SVC}/create-app", params={"filepath": "a.py"}, headers=FRAME).status_code == 403
    page = client.get(
        f"{SVC}/create-app",
        params={"filepath": "a.py", "headless": "true"},
        headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", **auth("ann")},
    )
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "<nav" not in page.text
