"""A stranger cannot change another user's app in any way, through any write route of the launcher.

The owner has three apps (stopped, so no processes are needed): a private one, one shared with a
viewer and a group, and a public one with a thumbnail (made through the deploy form). A stranger then
sends every POST/PUT/PATCH/DELETE of the REST API, the upstream-compatible routes and the edit form at
each of them, with an API token and with a browser login (XSRF token included, so only the rights
decide). Every answer is 403 or 404, and afterwards everything the owner, the viewer and the Hub see
is exactly as before: specs, thumbnail, shares, the public listing, the gallery.

This module's Hub is "slow": its launcher waits 0 s for stops and starts (``stop_wait``,
``start_wait``), so every Hub call outlives the request that made it, as with a busy Hub. Nothing
local may change on the strength of a request the Hub has not yet answered.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from PIL import Image

from tests.integration.conftest import Hub, login_to_service, own_hub

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SPEC = {"framework": "streamlit", "filepath": "examples/streamlit_app.py"}
SLOW_CONFIG = """\
import json

c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
for service in c.JupyterHub.services:
    if service["name"] == "japps":
        settings = json.loads(service["environment"]["HUBAPPS_SETTINGS"])
        settings.update(stop_wait=0, start_wait=0)
        service["environment"]["HUBAPPS_SETTINGS"] = json.dumps(settings)
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """This module's own Hub (see the module docstring), in place of the session's."""
    root: Path = tmp_path_factory.mktemp("slow-hub")
    with own_hub(root, SLOW_CONFIG) as running:
        yield running


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


@pytest.fixture(scope="module")
def world(hub: Hub) -> Iterator[dict[str, Any]]:
    suffix = secrets.token_hex(3)
    names = {role: f"sw-{role}-{suffix}" for role in ("owner", "viewer", "stranger")}
    tokens = {role: hub.token_for(name) for role, name in names.items()}
    group = f"sw-group-{suffix}"
    assert hub.api("POST", f"groups/{group}").status_code in (201, 409)
    svc = hub.url + "services/japps/"
    owner = names["owner"]
    with httpx.Client(timeout=30) as client:
        for display in ("Private app", "Shared app"):
            r = client.post(svc + "api/apps", headers=h(tokens["owner"]), json={**SPEC, "display_name": display})
            assert r.status_code == 201, r.text
        r = client.post(
            svc + "api/apps/" + quote(owner) + "/shared-app/shares",
            headers=h(tokens["owner"]),
            json={"users": [names["viewer"]], "groups": [group]},
        )
        assert r.status_code == 200, r.text
    browser = hub.login(owner)
    try:
        xsrf = login_to_service(browser, svc)
        form = {
            "_xsrf": xsrf,
            "display_name": "Public app",
            "description": "for everyone",
            "framework": "streamlit",
            "source": "file",
            "filepath": "examples/streamlit_app.py",
            "public": "on",
            "env_rows": "0",
        }
        r = browser.post(svc + "create-app", data=form, files={"thumbnail": ("t.png", _png(), "image/png")})
        assert r.status_code == 303, r.text[:500]
        assert r.headers["location"].endswith(f"ui/apps/{quote(owner)}/public-app")
    finally:
        browser.close()
    servers = ["private-app", "shared-app", "public-app"]
    try:
        yield {"svc": svc, "names": names, "tokens": tokens, "group": group, "servers": servers}
    finally:
        with httpx.Client(timeout=30) as client:
            for server in servers:
                client.delete(f"{svc}api/apps/{quote(owner)}/{server}", headers=h(tokens["owner"]))


def _snapshot(hub: Hub, world: dict[str, Any]) -> dict[str, Any]:
    """Everything anyone can see of the owner's apps: owner's view, shares, Hub model, listings, gallery."""
    svc, tokens, owner = world["svc"], world["tokens"], world["names"]["owner"]
    seen: dict[str, Any] = {}
    with httpx.Client(timeout=30) as client:
        for server in world["servers"]:
            base = f"{svc}api/apps/{quote(owner)}/{server}"
            app = client.get(base, headers=h(tokens["owner"])).json()
            app.pop("last_activity", None)
            seen[server] = app
            seen[server + " shares"] = client.get(base + "/shares", headers=h(tokens["owner"])).json()
            seen[server + " links"] = client.get(base + "/share-links", headers=h(tokens["owner"])).json()
            model = hub.api("GET", f"users/{quote(owner)}/servers/{server}").json()
            seen[server + " hub"] = (model.get("user_options"), model.get("display_name"), model.get("pending"))
        for who in ("viewer", "stranger"):
            listing = client.get(svc + "api/apps", headers=h(tokens[who])).json()["data"]
            seen[who + " listing"] = sorted(
                (a["id"], a["display_name"], a["access"], a["thumbnail"], a["description"])
                for a in listing
                if a["owner"] == owner
            )
        thumbnail = seen["public-app"]["thumbnail"]
        assert thumbnail.startswith("sha256:")
        seen["thumbnail"] = client.get(f"{svc}ui/thumbnails/{thumbnail}").content
    assert "public-app" in str(seen["stranger listing"])
    assert "shared-app" in str(seen["viewer listing"])
    return seen


def _write_routes(owner: str, server: str, world: dict[str, Any]) -> list[tuple[str, str, Any]]:
    viewer, group = world["names"]["viewer"], world["group"]
    app = f"api/apps/{quote(owner)}/{server}"
    return [
        ("PATCH", app, {"description": "pwned"}),
        ("PATCH", app, {"display_name": "Pwned", "public": True, "restart": True}),
        ("DELETE", app, None),
        ("POST", app + "/start", None),
        ("POST", app + "/stop", None),
        ("POST", app + "/restart", None),
        ("POST", app + "/shares", {"users": [world["names"]["stranger"]]}),
        ("DELETE", app + "/shares", None),
        ("DELETE", app + f"/shares/users/{quote(viewer)}", None),
        ("DELETE", app + f"/shares/groups/{quote(group)}", None),
        ("PUT", app + "/public", {"public": False}),
        ("PUT", app + "/public", {"public": True}),
        ("POST", app + "/share-links", {"expires_in": 600}),
        ("DELETE", app + "/share-links", None),
        ("DELETE", f"api/shared/{quote(owner)}/{server}", None),
        ("POST", f"server/{server}?owner={quote(owner)}", None),
        ("DELETE", f"server/{server}?remove=true", None),
    ]


def test_strangers_change_nothing(hub: Hub, world: dict[str, Any]) -> None:
    svc, tokens, owner = world["svc"], world["tokens"], world["names"]["owner"]
    before = _snapshot(hub, world)
    answers: list[str] = []
    browser = hub.login(world["names"]["stranger"])
    try:
        xsrf = login_to_service(browser, svc)
        with httpx.Client(timeout=30) as client:
            for server in world["servers"]:
                for method, path, body in _write_routes(owner, server, world):
                    by_token = client.request(method, svc + path, headers=h(tokens["stranger"]), json=body)
                    by_cookie = browser.request(method, svc + path, headers={"X-XSRFToken": xsrf}, json=body)
                    for how, r in (("token", by_token), ("cookie", by_cookie)):
                        if r.status_code not in (403, 404):
                            answers.append(f"{how} {method} {path}: {r.status_code} {r.text[:200]}")
                # The edit form, posted as the owner's browser would (with a new thumbnail too).
                form = {
                    "_xsrf": xsrf,
                    "display_name": "Pwned",
                    "description": "pwned",
                    "framework": "streamlit",
                    "source": "file",
                    "filepath": "examples/streamlit_app.py",
                    "remove_thumbnail": "on",
                    "env_rows": "0",
                    "share_users": world["names"]["stranger"],
                }
                r = browser.post(
                    f"{svc}ui/apps/{quote(owner)}/{server}/edit",
                    data=form,
                    files={"thumbnail": ("t.png", _png(), "image/png")},
                )
                if r.status_code not in (403, 404):
                    answers.append(f"edit form {server}: {r.status_code} {r.text[:200]}")
    finally:
        browser.close()
    assert not answers, "a stranger's write was not refused:\n" + "\n".join(answers)
    assert _snapshot(hub, world) == before
