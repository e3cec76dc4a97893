"""Apps stored by upstream JHub Apps, as the service lists, edits and imports them (against the fake Hub).

The real move (upstream's own service writing the Hub database) is ``tests/migration``.
"""

from __future__ import annotations

import base64
import io
import time
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.unit.service.conftest import FakeHub, Users

API = "/services/japps/api"
#: Polls of the listing while a background import runs (each a full request; no timing is asserted).
POLLS = 200


def _png_data_url() -> str:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), (10, 200, 10)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def upstream(display_name: str, **fields: Any) -> dict[str, Any]:
    """``user_options`` as upstream JHub Apps' service stored them (every field, as its model dumps)."""
    return {
        "name": display_name.lower(),
        "jhub_app": True,
        "display_name": display_name,
        "description": "from upstream",
        "thumbnail": _png_data_url(),
        "filepath": "app.py",
        "framework": "panel",
        "custom_command": "",
        "public": False,
        "keep_alive": False,
        "env": {},
        "repository": None,
        "conda_env": "",
        "profile": "",
        "profile_image": "",
        "share_with": None,
        **fields,
    }


PIPELINE = {"framework": "custom", "filepath": "", "custom_command": "python3 -m http.server {port} | tee log"}


def _apps(client: TestClient, auth: Users, who: str = "ann") -> dict[str, dict[str, Any]]:
    r = client.get(f"{API}/apps", headers=auth(who))
    assert r.status_code == 200, r.text
    return {a["id"]: a for a in r.json()["data"]}


def test_refused_upstream_apps_are_listed_with_the_reason(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server("ann", "pipe", upstream("Pipe", **PIPELINE))
    fake_hub.add_server("ann", "image", upstream("Image", profile_image="evil/miner"))
    fake_hub.add_server("ann", "fine", upstream("Fine", env={"my_setting": "1"}))
    fake_hub.add_server("ann", "nofile", upstream("No file", filepath=""))
    fake_hub.share("ann", "pipe", user="bob")
    apps = _apps(client, auth)
    pipe = apps["ann/pipe"]
    assert pipe["display_name"] == "Pipe"
    assert pipe["framework"] == "command"
    assert pipe["problem"]["field"] == "command"
    assert "shell pipeline" in pipe["problem"]["message"]
    assert pipe["spec"]["command"][-3:] == ["|", "tee", "log"]  # the stored words, for the form
    assert apps["ann/image"]["problem"]["field"] == "profile_image"
    assert apps["ann/fine"]["problem"] is None
    assert apps["ann/nofile"]["problem"]["field"] == "filepath"  # accepted, but it lacks its file
    assert apps["ann/fine"]["spec"]["env"] == {"my_setting": "1"}
    # Someone it is shared with sees the app, not its owner's problem.
    assert _apps(client, auth, "bob")["ann/pipe"]["problem"] is None
    r = client.post(f"{API}/apps/ann/pipe/start", headers=auth("ann"))
    assert r.status_code == 422
    assert "shell pipeline" in r.text
    r = client.post(f"{API}/apps/ann/nofile/start", headers=auth("ann"))
    assert r.status_code == 422
    assert "bundled example" in r.text


def test_the_edit_form_opens_with_the_fix(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server("ann", "pipe", upstream("Pipe", **PIPELINE))
    page = client.get("/services/japps/ui/apps/ann/pipe/edit", headers={**auth("ann"), "Sec-Fetch-Mode": "navigate"})
    assert page.status_code == 200, page.text[:300]
    assert 'id="command-error"' in page.text
    assert "sh run.sh" in page.text
    # The app's page and the gallery say it needs a change, and link to the form.
    nav = {**auth("ann"), "Sec-Fetch-Mode": "navigate"}
    for url in ("/services/japps/ui/apps/ann/pipe", "/services/japps/ui/gallery"):
        shown = client.get(url, headers=nav)
        assert shown.status_code == 200, (url, shown.text[:300])
        assert "needs a change" in shown.text
        assert 'href="/services/japps/ui/apps/ann/pipe/edit" class="hubapps-fix-link"' in shown.text


def test_inline_thumbnails_are_imported_once_and_saved_as_references(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    fake_hub.add_server("ann", "pipe", upstream("Pipe", **PIPELINE))
    fake_hub.add_server("ann", "other", upstream("Other"))
    first = _apps(client, auth)
    assert first["ann/pipe"]["thumbnail"] in ("", first["ann/pipe"]["thumbnail"])  # answered, imported or not
    for _ in range(POLLS):
        apps = _apps(client, auth)
        if all(a["thumbnail"].startswith("sha256:") for a in apps.values()):
            break
        time.sleep(0.01)
    refs = {k: a["thumbnail"] for k, a in apps.items()}
    assert all(ref.startswith("sha256:") for ref in refs.values()), refs
    assert refs["ann/pipe"] == refs["ann/other"]  # the same image, stored once
    image = client.get(f"/services/japps/ui/thumbnails/{refs['ann/pipe']}", headers=auth("ann"))
    assert image.status_code == 200
    assert {k: a["thumbnail"] for k, a in _apps(client, auth).items()} == refs
    # The fix saves the spec in hubapps' form: the reference instead of the image, the problem gone.
    r = client.patch(f"{API}/apps/ann/pipe", headers=auth("ann"), json={"command": ["sh", "run.sh", "{port}"]})
    assert r.status_code == 200, r.text
    assert r.json()["problem"] is None
    stored = fake_hub.users["ann"].servers["pipe"].user_options
    assert stored is not None
    assert stored["spec_version"] == 2
    assert stored["thumbnail"] == refs["ann/pipe"]
    assert stored["command"] == ["sh", "run.sh", "{port}"]
    assert "custom_command" not in stored


def test_an_image_that_cannot_be_imported_leaves_the_framework_logo(
    client: TestClient, fake_hub: FakeHub, auth: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    svg = "data:image/svg+xml;base64," + base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode()
    fake_hub.add_server("ann", "svg", upstream("Svg", thumbnail=svg))
    decoded: list[bytes] = []
    store = cast(Any, client.app).state.thumbnails  # the service's own store
    check = store.check

    async def counting_check(data: bytes, **limits: int) -> Any:
        decoded.append(data)
        return await check(data, **limits)

    monkeypatch.setattr(store, "check", counting_check)
    for _ in range(20):
        assert _apps(client, auth)["ann/svg"]["thumbnail"] == ""
        time.sleep(0.01)
    # Tried once, remembered: later listings do not decode it again.
    assert len(decoded) == 1
