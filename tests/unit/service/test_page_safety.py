"""Launcher pages (issue 10): nothing starts on GET (req 4), only the launcher's own scripts run
(req 6), and thumbnail uploads are bounded work, stored only with a saved app (req 7)."""

from __future__ import annotations

import asyncio
import io
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from hubapps.hub.home_page import TEMPLATES as HUB_TEMPLATES
from hubapps.service import thumbnails as thumbnails_module
from hubapps.service.rendering import STATIC, page_csp
from hubapps.service.thumbnails import Thumbnail, ThumbnailStore, _table
from tests.unit.service.conftest import FakeHub, Users, app_options
from tests.unit.service.test_auth import login

PREFIX = "/services/japps/"
NAVIGATE = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "none"}
CROSS_SITE = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "cross-site"}


def _png(size: tuple[int, int] = (300, 200), color: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def _bomb() -> bytes:
    """The issue's image: a ~70 KB PNG of 4898x4898 pixels (24 million)."""
    out = io.BytesIO()
    Image.new("L", (4898, 4898), 0).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _stored(client: TestClient) -> int:
    store: ThumbnailStore = client.app.state.thumbnails  # type: ignore[attr-defined]
    with store._engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(_table)).scalar() or 0)


def _form(xsrf: str, **fields: str) -> dict[str, str]:
    return {
        "_xsrf": xsrf,
        "display_name": "Pictured",
        "framework": "streamlit",
        "source": "file",
        "filepath": "app.py",
        "env_rows": "0",
        **fields,
    }


def _start_calls(fake_hub: FakeHub) -> list[tuple[str, str]]:
    return [(m, p) for m, p in fake_hub.calls if m == "POST" and "/servers/" in p]


# -- req 4: no side effects on GET --------------------------------------------------------------------


def test_watch_with_start_1_starts_nothing_even_for_an_admin(
    client: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    """An admin following a link from another site to someone's ``watch?start=1``: the page renders
    (a plain page may be linked), tells no script to start, and the Hub is asked to start nothing."""
    fake_hub.add_server("ann", "sales", app_options())
    login(client, fake_hub, auth.tokens["root"])
    fake_hub.calls.clear()
    r = client.get(f"{PREFIX}ui/apps/ann/sales/watch?start=1", headers=CROSS_SITE)
    assert r.status_code == 200, r.text
    assert "autostart" not in r.text
    assert 'id="watch-start"' in r.text  # the stopped app's Start button (a POST with the XSRF token)
    assert _start_calls(fake_hub) == []
    assert fake_hub.users["ann"].servers["sales"].running is False


def test_the_not_running_page_links_to_a_page_that_starts_nothing() -> None:
    text = (Path(HUB_TEMPLATES) / "not_running.html").read_text()
    assert "start=1" not in text
    assert "/watch" in text


def test_ui_js_starts_only_on_a_click() -> None:
    js = (STATIC / "ui.js").read_text()
    assert "autostart" not in js


def test_the_edit_form_starts_a_stopped_app_in_its_post(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server("ann", "sales", app_options())
    _, xsrf = login(client, fake_hub, auth.tokens["ann"])
    page = client.get(f"{PREFIX}ui/apps/ann/sales/edit", headers=NAVIGATE)
    assert 'id="start" name="start"' in page.text
    assert 'name="start" checked' not in page.text  # editing starts nothing unless asked
    fake_hub.calls.clear()
    r = client.post(f"{PREFIX}ui/apps/ann/sales/edit", data=_form(xsrf, display_name="Sales"), follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"{PREFIX}ui/apps/ann/sales"  # saved, not started
    assert _start_calls(fake_hub) == []
    r = client.post(
        f"{PREFIX}ui/apps/ann/sales/edit", data=_form(xsrf, display_name="Sales", start="on"), follow_redirects=False
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"{PREFIX}ui/apps/ann/sales/watch"  # no start parameter
    assert _start_calls(fake_hub) == [("POST", "/hub/api/users/ann/servers/sales")]
    assert fake_hub.users["ann"].servers["sales"].running is True


def test_the_deploy_form_starts_the_app_in_its_post(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    _, xsrf = login(client, fake_hub, auth.tokens["ann"])
    r = client.post(f"{PREFIX}create-app", data=_form(xsrf, start="on"), follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("/watch")
    assert fake_hub.users["ann"].servers["pictured"].running is True


# -- req 6: only the launcher's scripts ---------------------------------------------------------------


def _directives(csp: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in csp.split(";")) if part}


def test_page_csp_names_no_origin_wide_source() -> None:
    csp = _directives(page_csp("n0nce", host="hub.example:8000", prefix=PREFIX, hub_prefix="/hub/"))
    assert csp["script-src"] == ["'nonce-n0nce'"]
    assert csp["default-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    # The API, and the one fragment the launcher's own gallery page loads (an exact path, not a folder).
    assert csp["connect-src"] == ["hub.example:8000/services/japps/api/", "hub.example:8000/services/japps/ui/gallery"]
    assert csp["style-src"] == ["hub.example:8000/hub/static/", "hub.example:8000/services/japps/static/"]
    assert csp["img-src"] == [
        "hub.example:8000/services/japps/ui/thumbnails/",
        "hub.example:8000/services/japps/static/logos/",
        "hub.example:8000/hub/static/",
        "hub.example:8000/hub/logo",
        "data:",
    ]
    assert csp["form-action"] == ["hub.example:8000/services/japps/", "hub.example:8000/hub/home"]
    for sources in csp.values():
        assert "'self'" not in sources
        assert "*" not in sources
        assert "'unsafe-inline'" not in sources


@pytest.mark.parametrize("host", ["evil.example; script-src *", "a b", "", "x/y"])
def test_a_strange_host_header_cannot_write_into_the_csp(host: str) -> None:
    csp = page_csp("n0nce", host=host, prefix=PREFIX, hub_prefix="/hub/")
    assert _directives(csp)["script-src"] == ["'nonce-n0nce'"]
    assert "evil" not in csp
    assert _directives(csp)["img-src"] == ["data:"]


def test_every_page_script_carries_this_responses_nonce(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server("ann", "sales", app_options(), running=True)
    login(client, fake_hub, auth.tokens["ann"])
    nonces = set()
    for path in ("create-app", "ui/apps/ann/sales", "ui/apps/ann/sales/watch", "ui/apps/ann/sales/edit"):
        for _ in range(2):
            r = client.get(PREFIX + path, headers=NAVIGATE)
            assert r.status_code == 200, (path, r.text)
            (nonce,) = _directives(r.headers["content-security-policy"])["script-src"]
            nonce = nonce.removeprefix("'nonce-").removesuffix("'")
            assert len(nonce) >= 22
            nonces.add(nonce)
            scripts = re.findall(r"<script\b[^>]*>", r.text)
            assert len(scripts) == 2, scripts  # the Hub's dark-mode script and ui.js
            assert all(f'nonce="{nonce}"' in tag and "src=" in tag for tag in scripts), scripts
            assert re.search(r"\son[a-z]+\s*=", r.text) is None  # no inline event handlers
    assert len(nonces) == 8  # a fresh nonce on every response


def test_responses_without_a_policy_of_their_own_run_nothing(client: TestClient) -> None:
    for path in ("static/ui.js", "api/"):
        csp = _directives(client.get(PREFIX + path).headers["content-security-policy"])
        assert csp["default-src"] == ["'none'"]
        assert "script-src" not in csp
    refusal = client.get(f"{PREFIX}oauth_login", headers=CROSS_SITE)
    assert refusal.status_code == 403
    assert _directives(refusal.headers["content-security-policy"])["default-src"] == ["'none'"]


# -- req 7: thumbnails --------------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused_from_its_header(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    bomb = _bomb()
    assert len(bomb) < 192 * 1024  # small on the wire
    _, xsrf = login(client, fake_hub, auth.tokens["ann"])
    r = client.post(f"{PREFIX}create-app", data=_form(xsrf), files={"thumbnail": ("bomb.png", bomb, "image/png")})
    assert r.status_code == 422
    message = re.search(r'id="thumbnail-error"[^>]*>([^<]*)<', r.text)
    assert message is not None, r.text
    assert "4898x4898" in message.group(1)
    assert "12,000,000" in message.group(1)
    assert "thumbnail_max_pixels" in message.group(1)
    assert "pictured" not in fake_hub.users["ann"].servers
    assert _stored(client) == 0


def test_decoding_waits_for_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """However many uploads arrive at once, at most ``decode_workers`` are decoded at the same time."""
    running = 0
    most = 0
    lock = threading.Lock()

    def slow_reencode(data: bytes, **limits: Any) -> Thumbnail:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return Thumbnail("sha256:" + "0" * 64, "image/webp", data, 1, 1)

    monkeypatch.setattr(thumbnails_module, "reencode", slow_reencode)

    async def burst() -> None:
        store = ThumbnailStore("sqlite://", decode_workers=2)
        await store.open()
        try:
            limits = {"max_bytes": 1000, "max_pixels": 1000, "width": 10, "height": 10}
            await asyncio.gather(*(store.check(b"x", **limits) for _ in range(8)))
        finally:
            store.close()

    asyncio.run(burst())
    assert most == 2


def test_refused_forms_store_no_image(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    _, xsrf = login(client, fake_hub, auth.tokens["ann"])
    for index in range(5):
        png = _png(color=(index, 2, 3))
        r = client.post(
            f"{PREFIX}create-app",
            data=_form(xsrf, filepath="", env_rows="1", env_name_0="PATH", env_value_0="/tmp"),
            files={"thumbnail": ("t.png", png, "image/png")},
        )
        assert r.status_code == 422
    assert _stored(client) == 0
    # The form shown again keeps the image (as a data: URL), and saving it then stores it once.
    carried = re.search(r'name="thumbnail_data" value="([^"]+)"', r.text)
    assert carried is not None
    assert 'src="data:image/webp;base64,' in r.text
    r = client.post(f"{PREFIX}create-app", data=_form(xsrf, thumbnail_data=carried.group(1)), follow_redirects=False)
    assert r.status_code == 303, r.text
    assert _stored(client) == 1
    ref = fake_hub.users["ann"].servers["pictured"].user_options["thumbnail"]  # type: ignore[index]
    assert client.get(f"{PREFIX}ui/thumbnails/{ref}").status_code == 200


def _create_with_image(client: TestClient, xsrf: str, png: bytes) -> str:
    upload = {"thumbnail": ("t.png", png, "image/png")}
    # Another app each time, even of the same name (asked for: a name that exists is otherwise asked about).
    data = {**_form(xsrf), "on_conflict": "new"}
    r = client.post(f"{PREFIX}create-app", data=data, files=upload, follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"].split("/ui/apps/")[1].split("/")[1].split("?")[0]


def _ref(fake_hub: FakeHub, server: str) -> str:
    return str((fake_hub.users["ann"].servers[server].user_options or {})["thumbnail"])


def test_a_refused_edit_keeps_the_old_image_and_stores_none(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    _, xsrf = login(client, fake_hub, auth.tokens["ann"])
    server = _create_with_image(client, xsrf, _png(color=(1, 1, 1)))
    old = _ref(fake_hub, server)
    r = client.post(
        f"{PREFIX}ui/apps/ann/{server}/edit",
        data=_form(xsrf, thumbnail_ref=old, env_rows="1", env_name_0="PATH", env_value_0="/tmp"),
        files={"thumbnail": ("new.png", _png(color=(9, 9, 9)), "image/png")},
    )
    assert r.status_code == 422
    assert _ref(fake_hub, server) == old
    assert client.get(f"{PREFIX}ui/thumbnails/{old}").status_code == 200
    assert _stored(client) == 1


def test_the_hub_refusing_an_edit_stores_no_image(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    _, xsrf = login(client, fake_hub, auth.tokens["ann"])
    server = _create_with_image(client, xsrf, _png(color=(1, 1, 1)))
    fake_hub.fail = lambda request: httpx.Response(400, json={"message": "no"}) if request.method == "PATCH" else None
    r = client.post(
        f"{PREFIX}ui/apps/ann/{server}/edit",
        data=_form(xsrf, thumbnail_ref=_ref(fake_hub, server)),
        files={"thumbnail": ("new.png", _png(color=(9, 9, 9)), "image/png")},
    )
    assert r.status_code == 422, r.text
    assert _stored(client) == 1


def test_replacing_or_deleting_drops_the_old_image(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    _, xsrf = login(client, fake_hub, auth.tokens["ann"])
    server = _create_with_image(client, xsrf, _png(color=(1, 1, 1)))
    twin = _create_with_image(client, xsrf, _png(color=(1, 1, 1)))  # the same image, shown by two apps
    first = _ref(fake_hub, server)
    assert _ref(fake_hub, twin) == first
    assert _stored(client) == 1
    r = client.post(
        f"{PREFIX}ui/apps/ann/{server}/edit",
        data=_form(xsrf, thumbnail_ref=first),
        files={"thumbnail": ("new.png", _png(color=(7, 7, 7)), "image/png")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    second = _ref(fake_hub, server)
    assert second != first
    assert client.get(f"{PREFIX}ui/thumbnails/{first}").status_code == 200  # the twin still shows it
    headers = {"X-XSRFToken": xsrf}
    assert client.delete(f"{PREFIX}api/apps/ann/{twin}", headers=headers).status_code == 204
    assert client.get(f"{PREFIX}ui/thumbnails/{first}").status_code == 404
    assert client.delete(f"{PREFIX}api/apps/ann/{server}", headers=headers).status_code == 204
    assert client.get(f"{PREFIX}ui/thumbnails/{second}").status_code == 404
    assert _stored(client) == 0
    store: ThumbnailStore = client.app.state.thumbnails  # type: ignore[attr-defined]
    with store._engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(thumbnails_module._uses)).scalar() == 0


def test_removing_the_image_on_the_form_deletes_it(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    _, xsrf = login(client, fake_hub, auth.tokens["ann"])
    server = _create_with_image(client, xsrf, _png())
    old = _ref(fake_hub, server)
    r = client.post(
        f"{PREFIX}ui/apps/ann/{server}/edit",
        data=_form(xsrf, thumbnail_ref=old, remove_thumbnail="on"),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert _ref(fake_hub, server) == ""
    assert _stored(client) == 0
