"""Idle policy and start on access on a real Hub (issue 13, requirements 2, 3 and 8).

The module's Hub runs the launcher with two workers (the policy loop must stop each app once, from one
worker), checks apps every second, has apps report activity every second and a Hub-wide idle time of
a few seconds; every time is seconds, so each test takes a few.

- the service's own token holds the scopes ``install()`` names, and no more (the Hub's answer);
- idle: a default app is stopped by the Hub-wide idle time while a "keep" app is not; an app of its own
  maximum age is stopped while in use; a public app visited anonymously stays up while visited and is
  stopped once idle; each stop is one "stopped" event by the service (actor "") with its reason;
- start on access: someone an app is shared with starts it from its not-running page's API when the
  owner allows (the event names them), is refused with the owner's name when not, and again within
  ``viewer_start_interval``; a stranger gets 404; ``hubapps policy`` shows and sets a policy.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psutil
import pytest

from tests.integration.conftest import HUB_6, Hub, own_hub, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
#: The Hub-wide idle time of this module's Hub (seconds).
HUB_IDLE = 4
#: Seconds one person waits between two starts of other users' apps on this module's Hub.
VIEWER_INTERVAL = 60
CONFIG = f"""\
c = get_config()  # noqa: F821
load_subconfig({{main!r}})  # noqa: F821
import hubapps

c.HubApps.app_policy_check_interval = 1
c.HubApps.app_idle_timeout = {HUB_IDLE}
c.HubApps.viewer_start_interval = {VIEWER_INTERVAL}
hubapps.install(c, service_workers=2)
# Apps report their activity to the Hub every second (the default is a minute).
c.Spawner.environment = dict(c.Spawner.environment, JUPYTERHUB_ACTIVITY_INTERVAL="1")
"""
#: Longest wait for an app to be stopped by its policy, or started (never a timing assertion).
WAIT = 90.0


@pytest.fixture(scope="module")
def policy_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("policy-hub"), CONFIG) as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as c:
        yield c


@pytest.fixture
def owner(policy_hub: Hub) -> Iterator[tuple[str, str]]:
    name = f"owner-{secrets.token_hex(3)}"
    yield name, policy_hub.token_for(name)
    model = policy_hub.api("GET", f"users/{name}", params={"include_stopped_servers": "1"}).json()
    for server in model.get("servers") or {}:
        if server:
            policy_hub.stop_app(name, server, remove=True)


def _spec(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "framework": "command",
        "display_name": name,
        "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
        **extra,
    }


def _api(hub: Hub, path: str = "") -> str:
    return hub.url + "services/japps/api/apps" + path


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


def _create(hub: Hub, client: httpx.Client, token: str, spec: dict[str, Any]) -> str:
    """Create an app through the launcher; stopped unless ``spec`` starts it (JupyterHub 5 creates an
    app by starting it: it is stopped again here)."""
    r = client.post(_api(hub), headers=_auth(token), json=spec)
    assert r.status_code == 201, r.text
    owner, server = str(r.json()["owner"]), str(r.json()["name"])
    if not spec.get("start"):
        hub.stop_if_started(owner, server)
    return server


def _wait_for(what: str, check: Callable[[], bool], hub: Hub) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"{what} did not happen within {WAIT:g} s\n{hub.log_tail()}")


def _running(hub: Hub, user: str, server: str) -> bool:
    model = hub.server_model(user, server)
    return bool(model and model.get("ready"))


def _events(hub: Hub, owner: str, server: str) -> list[dict[str, Any]]:
    """The app's events, oldest first, as the service's own database holds them."""
    with sqlite3.connect(hub.root / "hubapps.sqlite") as db:
        rows = db.execute(
            "SELECT kind, actor, detail FROM hubapps_events WHERE owner = ? AND server = ? ORDER BY id",
            (owner, server),
        ).fetchall()
    return [{"kind": k, "actor": a, "detail": json.loads(d)} for k, a, d in rows]


def _stops(hub: Hub, owner: str, server: str) -> list[dict[str, Any]]:
    return [e for e in _events(hub, owner, server) if e["kind"] == "stopped"]


# -- the service's own rights ------------------------------------------------------------------------


def _service_token(hub: Hub) -> str:
    """The launcher's own token, from its process (the Hub made it at start; tests have no other way)."""
    assert hub.process is not None
    for proc in psutil.Process(hub.process.pid).children(recursive=True):
        try:
            if "hubapps.service.app:create_app" in " ".join(proc.cmdline()):
                token = proc.environ().get("JUPYTERHUB_API_TOKEN")
                if token:
                    return token
        except psutil.Error:
            continue
    raise AssertionError("no launcher service process found")


def test_the_service_holds_the_scopes_install_names_and_no_more(policy_hub: Hub, client: httpx.Client) -> None:
    r = client.get(policy_hub.url + "hub/api/user", headers=_auth(_service_token(policy_hub)))
    assert r.status_code == 200, r.text
    model = r.json()
    assert (model["kind"], model["name"]) == ("service", "japps")
    scopes = set(model["scopes"])
    # What the idle policy and viewers' starts need (JupyterHub 6 names start and stop apart; 5 has
    # only "servers" for both) ...
    if HUB_6:
        assert {"read:servers", "list:users", "start:servers", "delete:servers"} <= scopes
    else:
        assert {"read:servers", "list:users", "servers"} <= scopes
    # ... and nothing that reaches further: no server state, no user admin, no tokens, no app access.
    for wider in (
        "servers" if HUB_6 else "admin:server_state",
        "admin:servers",
        "admin:server_state",
        "users",
        "admin:users",
        "tokens",
        "shares",
    ):
        assert wider not in scopes, wider
    assert not any(s.startswith(("access:servers", "read:users:activity", "users:")) for s in scopes), scopes


# -- idle policy ---------------------------------------------------------------------------------------


def test_a_default_app_stops_once_idle_and_a_keep_app_does_not(
    policy_hub: Hub, client: httpx.Client, owner: tuple[str, str]
) -> None:
    name, token = owner
    idle = _create(policy_hub, client, token, _spec("Idle by default", start=True))
    kept = _create(policy_hub, client, token, _spec("Kept", idle_policy="keep", start=True))
    _wait_for(
        "both apps running", lambda: _running(policy_hub, name, idle) and _running(policy_hub, name, kept), policy_hub
    )

    _wait_for("the idle app stopped", lambda: not _running(policy_hub, name, idle), policy_hub)
    # Idle as long as the other (nobody opened either), the "keep" app runs on, and was never stopped.
    assert _running(policy_hub, name, kept)
    assert _stops(policy_hub, name, kept) == []
    # One stop (two workers), by the service itself, for being idle.
    _wait_for("the stop recorded", lambda: bool(_stops(policy_hub, name, idle)), policy_hub)
    time.sleep(2)  # two more checks: a second worker's stop would show now
    assert _stops(policy_hub, name, idle) == [{"kind": "stopped", "actor": "", "detail": {"reason": "idle"}}]
    # The launcher shows it stopped, and it starts again as before.
    state = client.get(_api(policy_hub, f"/{name}/{idle}"), headers=_auth(token)).json()["state"]
    assert state == "stopped"


def test_an_app_in_use_is_stopped_at_its_maximum_age(
    policy_hub: Hub, client: httpx.Client, owner: tuple[str, str]
) -> None:
    name, token = owner
    # Its own policy: no idle stop, at most 6 s after a start (the Hub-wide idle time does not apply).
    server = _create(
        policy_hub, client, token, _spec("Short lived", idle_policy="idle", max_age_minutes=0.1, start=True)
    )
    _wait_for("the app running", lambda: _running(policy_hub, name, server), policy_hub)
    url = policy_hub.app_url(name, server)

    def used_but_stopped() -> bool:
        client.get(url, headers=_auth(token))  # in use all along
        return not _running(policy_hub, name, server)

    _wait_for("the app stopped", used_but_stopped, policy_hub)
    _wait_for("the stop recorded", lambda: bool(_stops(policy_hub, name, server)), policy_hub)
    assert _stops(policy_hub, name, server)[0] == {"kind": "stopped", "actor": "", "detail": {"reason": "max age"}}


def test_a_public_app_stays_up_while_visited_anonymously_and_stops_once_idle(
    policy_hub: Hub, client: httpx.Client, owner: tuple[str, str]
) -> None:
    name, token = owner
    server = _create(
        policy_hub, client, token, _spec("Open house", public=True, idle_policy="idle", idle_minutes=0.15, start=True)
    )
    _wait_for("the app running", lambda: _running(policy_hub, name, server), policy_hub)
    policy_hub.wait_app(name, server, token)  # the app itself answers (not only its proxy's start page)
    url = policy_hub.app_url(name, server)
    with httpx.Client(timeout=30) as anonymous:
        # Visited by someone without an account for twice its idle time (9 s): it stays up.
        until = time.monotonic() + 18
        while time.monotonic() < until:
            r = anonymous.get(url + "visit", follow_redirects=False)
            assert r.status_code == 200, (r.status_code, r.text[:300])
            assert r.json()["path"] == "/visit"  # the app itself answered
            time.sleep(0.5)
        assert _running(policy_hub, name, server)
        assert _stops(policy_hub, name, server) == []

        # Left alone, it is stopped for being idle; the next visitor learns whose it is.
        _wait_for("the app stopped", lambda: not _running(policy_hub, name, server), policy_hub)
        page = anonymous.get(url, headers={"Accept": "text/html"}, follow_redirects=True)
    assert page.status_code == 503
    assert "only its owner, <strong>" + name + "</strong>, can start it" in page.text
    _wait_for("the stop recorded", lambda: bool(_stops(policy_hub, name, server)), policy_hub)
    assert _stops(policy_hub, name, server)[0]["detail"] == {"reason": "idle"}


# -- start on access -------------------------------------------------------------------------------------


def _share(hub: Hub, owner: str, server: str, user: str) -> None:
    hub.ensure_user(user)
    r = hub.api("POST", f"shares/{quote(owner, safe='')}/{quote(server, safe='')}", json={"user": user})
    assert r.status_code in (200, 201), r.text


def _not_running_page(hub: Hub, viewer: str, owner: str, server: str) -> httpx.Response:
    browser = hub.login(viewer)
    try:
        return browser.get(f"user/{owner}/{server}/", headers={"Accept": "text/html"}, follow_redirects=True)
    finally:
        browser.close()


def test_someone_it_is_shared_with_starts_it_when_the_owner_allows(
    policy_hub: Hub, client: httpx.Client, owner: tuple[str, str]
) -> None:
    name, token = owner
    server = _create(policy_hub, client, token, _spec("Team board", idle_policy="keep", viewers_can_start=True))
    viewer = f"viewer-{secrets.token_hex(3)}"
    _share(policy_hub, name, server, viewer)
    viewer_token = policy_hub.token_for(viewer)

    page = _not_running_page(policy_hub, viewer, name, server)
    assert page.status_code == 424
    assert 'id="hubapps-viewer-start"' in page.text
    assert f"belongs to <strong>{name}</strong>" in page.text
    assert f"/services/japps/ui/apps/{name}/{server}/watch" in page.text  # its Start button

    # The start page's button: the launcher starts it with the owner's spec; the viewer follows its state.
    r = client.post(_api(policy_hub, f"/{name}/{server}/start"), headers=_auth(viewer_token))
    assert r.status_code in (200, 202), r.text
    _wait_for("the app running", lambda: _running(policy_hub, name, server), policy_hub)
    status = client.get(_api(policy_hub, f"/{name}/{server}/status"), headers=_auth(viewer_token)).json()
    assert status["state"] == "running"
    # The owner's app log and failure reasons are not the viewer's to read.
    assert status["log_tail"] == []
    assert status["reason"] is None
    started = [e for e in _events(policy_hub, name, server) if e["kind"] == "started"]
    assert started == [{"kind": "started", "actor": viewer, "detail": {"via": "viewer"}}]

    # Stopped again, the same viewer must wait before starting any other user's app again.
    policy_hub.stop_app(name, server)
    again = client.post(_api(policy_hub, f"/{name}/{server}/start"), headers=_auth(viewer_token))
    assert again.status_code == 429, again.text
    assert again.json()["code"] == "too_soon"
    assert int(again.headers["Retry-After"]) <= VIEWER_INTERVAL
    assert not _running(policy_hub, name, server)


def test_a_viewer_cannot_start_it_when_the_owner_does_not_allow(
    policy_hub: Hub, client: httpx.Client, owner: tuple[str, str]
) -> None:
    name, token = owner
    server = _create(policy_hub, client, token, _spec("Owners only"))
    viewer = f"viewer-{secrets.token_hex(3)}"
    _share(policy_hub, name, server, viewer)

    page = _not_running_page(policy_hub, viewer, name, server)
    assert page.status_code == 424
    assert f"Only its owner, <strong>{name}</strong>," in page.text
    assert 'id="start"' not in page.text

    r = client.post(_api(policy_hub, f"/{name}/{server}/start"), headers=_auth(policy_hub.token_for(viewer)))
    assert r.status_code == 403, r.text
    assert f"only its owner, {name}, can start this app" in r.json()["detail"]
    # Someone it is not shared with learns nothing of it: JupyterHub's own 404, and the launcher's.
    stranger_name = f"stranger-{secrets.token_hex(3)}"
    page = _not_running_page(policy_hub, stranger_name, name, server)
    assert page.status_code == 404
    assert "hubapps-not-running" not in page.text
    stranger = client.post(
        _api(policy_hub, f"/{name}/{server}/start"), headers=_auth(policy_hub.token_for(stranger_name))
    )
    assert stranger.status_code == 404, stranger.text
    assert not _running(policy_hub, name, server)
    assert [e for e in _events(policy_hub, name, server) if e["kind"] == "started"] == []


def test_hubapps_policy_shows_and_sets_it(policy_hub: Hub, client: httpx.Client, owner: tuple[str, str]) -> None:
    name, token = owner
    server = _create(policy_hub, client, token, _spec("Policy via CLI", keep_alive=True))

    shown = run_cli(policy_hub, token, "policy", server, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["idle_policy"] == "keep"  # keep_alive is the "keep" policy

    set_ = run_cli(policy_hub, token, "policy", server, "--idle-minutes", "30", "--viewers-can-start", "yes", "--json")
    assert set_.returncode == 0, set_.stderr
    assert json.loads(set_.stdout) == {
        "id": f"{name}/{server}",
        "idle_policy": "idle",
        "idle_minutes": 30.0,
        "max_age_minutes": 0.0,
        "viewers_can_start": True,
    }
    spec = client.get(_api(policy_hub, f"/{name}/{server}"), headers=_auth(token)).json()["spec"]
    assert (spec["keep_alive"], spec["idle_policy"]) == (False, "idle")
    if not HUB_6:
        # JupyterHub 5 stores a spec only at a start, so the change started the app there: stopped again
        # before the next change (a running app is changed only with a restart).
        _wait_for("the app started with its new policy", lambda: _running(policy_hub, name, server), policy_hub)
        assert client.post(_api(policy_hub, f"/{name}/{server}/stop"), headers=_auth(token)).status_code in (200, 202)
        _wait_for("the app stopped", lambda: policy_hub.server_model(name, server) is None, policy_hub)

    text = run_cli(policy_hub, token, "policy", server, "--default")
    assert text.returncode == 0, text.stderr
    assert "when idle:         the Hub's default" in text.stdout

    bad = run_cli(policy_hub, token, "policy", server, "--idle-minutes", "-1")
    assert bad.returncode == 1
    assert "idle_minutes" in bad.stderr


def test_anyone_logged_in_starts_a_public_app_whose_owner_allows(
    policy_hub: Hub, client: httpx.Client, owner: tuple[str, str]
) -> None:
    name, token = owner
    server = _create(
        policy_hub, client, token, _spec("Open door", public=True, idle_policy="keep", viewers_can_start=True)
    )
    with httpx.Client(base_url=policy_hub.url, timeout=30) as anonymous:
        page = anonymous.get(f"user/{name}/{server}/", headers={"Accept": "text/html"}, follow_redirects=True)
    assert page.status_code == 503
    assert 'id="login-to-start"' in page.text  # visitors without an account log in to start it
    visitor = f"visitor-{secrets.token_hex(3)}"
    page = _not_running_page(policy_hub, visitor, name, server)  # not shared with them: public
    assert page.status_code == 424
    assert 'id="hubapps-viewer-start"' in page.text

    r = client.post(_api(policy_hub, f"/{name}/{server}/start"), headers=_auth(policy_hub.token_for(visitor)))
    assert r.status_code in (200, 202), r.text
    _wait_for("the app running", lambda: _running(policy_hub, name, server), policy_hub)
    started = [e for e in _events(policy_hub, name, server) if e["kind"] == "started"]
    assert started == [{"kind": "started", "actor": visitor, "detail": {"via": "viewer"}}]
