"""Failure memory on the real Hub: an app that crashes after it was ready stops (its proxy gives up), and
once the Hub has dropped the server the API, the CLI and the details page still say why, with its log
tail, because the proxy told the launcher before it exited (signed with the app's own key). A normal
stop is remembered as stopped, with no failure. A second user opening an app is one "opened" event.
An app over the admin's per-app memory limit (``proxy_limits["memory-limit"]``, RLIMIT_AS) fails with
that reason on its details page; one under it runs.

The module's own Hub shortens what would take minutes: the failure page lingers 1 s, a crashed app is
not restarted, and the Hub polls its servers every second.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.integration.conftest import Hub, own_hub, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
c.HubApps.proxy_limits = {{"failure-linger": 1, "max-restarts": 0, "viewer-session-gap": 600, "memory-limit": {limit}}}
c.Spawner.poll_interval = 1
"""
#: The per-app memory limit of this Hub's apps (address space; a Python echo app needs far less).
MEMORY_LIMIT = 512 * 2**20
#: Seconds within which the crash is remembered and the Hub has dropped the server.
WITHIN = 40.0


@pytest.fixture(scope="module")
def memory_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("memory-hub"), CONFIG.replace("{limit}", str(MEMORY_LIMIT))) as running:
        yield running


def _until(what: str, get: Callable[[], Any], done: Callable[[Any], bool], timeout: float = WITHIN) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s; last seen: {value}")
        time.sleep(0.3)


def _api(hub: Hub, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{hub.url}services/japps/api/", headers={"Authorization": f"token {token}"}, timeout=30
    )


def _details_page(hub: Hub, token: str, owner: str, name: str) -> httpx.Response:
    url = f"{hub.url}services/japps/ui/apps/{quote(owner)}/{name}"
    page = httpx.get(url, headers={"Authorization": f"token {token}"}, timeout=30)
    assert page.status_code == 200, page.text[:300]
    return page


def _command_app(name: str, *argv: str) -> dict[str, Any]:
    return {"framework": "command", "display_name": name, "command": ["{python}", *argv], "start": True}


@pytest.mark.timeout(120)
def test_a_crash_after_ready_is_explained_after_the_server_is_gone(memory_hub: Hub) -> None:
    hub = memory_hub
    owner = f"memory-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    with _api(hub, token) as api:
        created = api.post("apps", json=_command_app("Crasher", str(RESOURCES / "crash_later.py"), "{port}", "3"))
        assert created.status_code in (201, 202), created.text
        # Ready first (so it was a run, not a failed start), then it crashes and the proxy gives up.
        _until(
            "the app to be ready",
            lambda: api.get(f"apps/{owner}/crasher").json().get("last_run") or {},
            lambda run: run.get("ready_after") is not None,
        )
        _until("the Hub to drop the server", lambda: hub.server_model(owner, "crasher"), lambda m: m is None)

        app = api.get(f"apps/{owner}/crasher").json()
        assert app["state"] == "stopped"
        run = app["last_run"]
        assert run["state"] == "failed"
        assert run["reason"].startswith("the app exited with code 7")
        assert "crash later: crashing now" in run["log_tail"]
        assert run["ready_after"] > 0
        assert run["ended"]

        shown = run_cli(hub, token, "status", "crasher").stdout
        assert "state:    stopped\n" in shown
        assert "last run: stopped after a failure at " in shown
        assert ": the app exited with code 7" in shown
        assert "\n  crash later: crashing now\n" in shown.split("log tail:")[1]

        page = _details_page(hub, token, owner, "crasher")
        assert "Stopped after a failure at " in page.text
        assert "the app exited with code 7" in page.text
        assert "crash later: crashing now" in page.text


@pytest.mark.timeout(120)
def test_a_normal_stop_is_remembered_without_a_failure(memory_hub: Hub) -> None:
    hub = memory_hub
    owner = f"memory-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    with _api(hub, token) as api:
        created = api.post("apps", json=_command_app("Calm", str(RESOURCES / "echo_app.py"), "{port}"))
        assert created.status_code in (201, 202), created.text
        _until("the app to be running", lambda: api.get(f"apps/{owner}/calm").json()["state"], lambda s: s == "running")
        assert api.post(f"apps/{owner}/calm/stop").status_code in (200, 202)
        _until("the Hub to stop the server", lambda: hub.server_model(owner, "calm"), lambda m: m is None)
        run = _until(
            "the stop to be remembered",
            lambda: api.get(f"apps/{owner}/calm").json()["last_run"],
            lambda r: r is not None and r["state"] != "running",
        )
        assert (run["state"], run["reason"]) == ("stopped", None)
        page = httpx.get(
            f"{hub.url}services/japps/ui/apps/{quote(owner)}/calm",
            headers={"Authorization": f"token {token}"},
            timeout=30,
        )
        assert "Stopped after a failure" not in page.text
        assert "last run:" not in run_cli(hub, token, "status", "calm").stdout


@pytest.mark.timeout(120)
def test_a_second_user_opening_the_app_is_one_opened_event(memory_hub: Hub) -> None:
    hub = memory_hub
    owner, viewer = f"memory-{secrets.token_hex(3)}", f"viewer-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    hub.ensure_user(viewer)
    with _api(hub, token) as api:
        created = api.post("apps", json=_command_app("Seen", str(RESOURCES / "echo_app.py"), "{port}"))
        assert created.status_code in (201, 202), created.text
        _until("the app to be running", lambda: api.get(f"apps/{owner}/seen").json()["state"], lambda s: s == "running")
        assert api.post(f"apps/{owner}/seen/shares", json={"users": [viewer]}).status_code in (200, 201)
    viewer_token = hub.token_for(viewer)  # (minted after the share: it carries the access)
    for path in ("", "page", "other"):
        opened = httpx.get(
            f"{hub.url}user/{quote(owner)}/seen/{path}", headers={"Authorization": f"token {viewer_token}"}, timeout=30
        )
        assert opened.status_code == 200, opened.text[:300]

    def opened_events() -> list[tuple[str, str, str]]:
        with sqlite3.connect(hub.root / "hubapps.sqlite") as db:
            rows = db.execute(
                "SELECT actor, owner, server FROM hubapps_events WHERE kind = 'opened' AND owner = ?", (owner,)
            ).fetchall()
        return [tuple(row) for row in rows]

    events = _until("the opened event", opened_events, bool)
    time.sleep(2)  # (a second report would have come by now)
    assert opened_events() == events == [(viewer, owner, "seen")]
    hub.stop_app(owner, "seen", remove=True)


@pytest.mark.timeout(120)
def test_an_app_over_its_memory_limit_fails_with_that_reason(memory_hub: Hub) -> None:
    hub = memory_hub
    owner = f"memory-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    hog = str(RESOURCES / "memory_hog.py")
    with _api(hub, token) as api:
        # Under the limit: runs (the limit does not get in the way of an ordinary app).
        small = api.post("apps", json=_command_app("Small", hog, "{port}", str(32 * 2**20)))
        assert small.status_code in (201, 202), small.text
        _until("the small app to run", lambda: api.get(f"apps/{owner}/small").json()["state"], lambda s: s == "running")
        opened = httpx.get(f"{hub.url}user/{owner}/small/", headers={"Authorization": f"token {token}"}, timeout=30)
        assert opened.text == f"holding {32 * 2**20} bytes"
        # Over it (2 GiB, which this machine has): the allocation fails, and the owner is told why.
        big = api.post("apps", json=_command_app("Big", hog, "{port}", str(2 * 2**30)))
        assert big.status_code in (201, 202), big.text
        _until("the Hub to drop the server", lambda: hub.server_model(owner, "big"), lambda m: m is None)
        run = _until("the failed run", lambda: api.get(f"apps/{owner}/big").json().get("last_run") or {}, bool)
        assert run["state"] == "failed"
        assert run["reason"].startswith("the app ran out of memory (its limit is 512 MiB) before it was ready")
        assert "MemoryError" in run["reason"]
        page = _details_page(hub, token, owner, "big")
        assert "the app ran out of memory (its limit is 512 MiB)" in page.text
    hub.stop_app(owner, "small", remove=True)
