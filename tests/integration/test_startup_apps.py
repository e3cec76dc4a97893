"""Startup apps on the real Hub: made at service start with the service's own rights, reconciled again
without duplicates or restarts, an owner's edit kept, a late owner waited for, the report for admins
only, and nothing respawned when the Hub restarts."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import HUB_6, Hub, login_to_service, own_hub

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
OWNER = "startup-owner"
LATE = "startup-late"
ECHO = str(RESOURCES / "echo_app.py")
CONFIG = f"""\
c = get_config()  # noqa: F821
load_subconfig({{main!r}})  # noqa: F821
c.Authenticator.allowed_users = {{{{{OWNER!r}}}}}  # in the Hub's database from its start
c.HubApps.startup_apps = [
    {{{{
        "owner": {OWNER!r},
        "display_name": "Startup Echo",
        "framework": "command",
        "command": ["{{{{python}}}}", {ECHO!r}, "{{{{port}}}}"],
        "start": True,
    }}}},
    {{{{
        "owner": {OWNER!r},
        "server": "startup-kept",
        "display_name": "Startup Kept",
        "description": "from the admin",
        "framework": "command",
        "command": ["{{{{python}}}}", {ECHO!r}, "{{{{port}}}}"],
    }}}},
    # Upstream JHub Apps' format.
    {{{{
        "username": {LATE!r},
        "servername": "Late App",
        "user_options": {{{{
            "display_name": "Late App",
            "description": "d",
            "framework": "custom",
            "custom_command": "{{{{python}}}} {ECHO} {{{{port}}}}",
            "jhub_app": True,
            "share_with": {{{{"users": ["admin"], "groups": []}}}},
        }}}},
    }}}},
]
c.HubApps.startup_apps_retry = 0.5
c.HubApps.startup_apps_retry_max = 1.0
"""
SVC = "services/japps/"
WAIT = 30.0


@pytest.fixture(scope="module")
def startup_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("startup-hub")


@pytest.fixture(scope="module")
def startup_hub(startup_root: Path) -> Iterator[Hub]:
    with own_hub(startup_root, CONFIG) as running:
        yield running


def _admin(hub: Hub) -> dict[str, str]:
    return {"Authorization": f"token {hub.token_for('admin')}"}


def _report(hub: Hub, headers: dict[str, str]) -> dict[str, Any]:
    response = httpx.get(hub.url + SVC + "api/admin/startup-apps", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _states(report: dict[str, Any]) -> dict[str, str]:
    return {a["id"]: a["state"] for a in report["apps"]}


#: The verdict of the reconcile that made an app, or of the next ones (retries while an entry waits).
MADE = ("created", "unchanged")


def _wait_for(
    hub: Hub, headers: dict[str, str], wanted: dict[str, str | tuple[str, ...]], after: float = 0.0
) -> dict[str, Any]:
    """The report once each entry named is in the state wanted (or one of them)."""
    deadline = time.monotonic() + WAIT
    report = _report(hub, headers)
    while time.monotonic() < deadline:
        report = _report(hub, headers)
        states = _states(report)
        matches = all(states.get(k) in ((v,) if isinstance(v, str) else v) for k, v in wanted.items())
        if matches and (report["last_reconcile"] or 0) > after:
            return report
        time.sleep(0.3)
    raise AssertionError(f"startup apps not {wanted}: {report}\n{hub.log_tail()}")


def _servers(hub: Hub, owner: str) -> dict[str, dict[str, Any]]:
    response = hub.api("GET", f"users/{owner}", params={"include_stopped_servers": "1"})
    response.raise_for_status()
    return {name: model for name, model in response.json()["servers"].items() if name}  # not the default one


def _events(root: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(root / "hubapps.sqlite") as db:
        rows = db.execute("SELECT kind, owner, server, actor FROM hubapps_events ORDER BY id").fetchall()
    return [tuple(r) for r in rows]


@pytest.mark.timeout(120)
def test_startup_apps_appear_at_service_start(startup_hub: Hub, startup_root: Path) -> None:
    headers = _admin(startup_hub)
    report = _wait_for(
        startup_hub,
        headers,
        {f"{OWNER}/startup-echo": MADE, f"{OWNER}/startup-kept": MADE, f"{LATE}/late-app": "waiting"},
    )
    late = next(a for a in report["apps"] if a["owner"] == LATE)
    assert f"{LATE!r} does not exist yet" in late["message"]
    assert "user_options.share_with is not applied" in late["message"]
    servers = _servers(startup_hub, OWNER)
    assert set(servers) == {"startup-echo", "startup-kept"}
    assert servers["startup-kept"]["user_options"]["description"] == "from the admin"
    assert not servers["startup-kept"]["ready"]
    assert servers["startup-kept"]["pending"] is None  # made, not started
    startup_hub.wait_ready(OWNER, "startup-echo")  # "start": started once, when made
    made = [e for e in _events(startup_root) if e[0] in ("created", "started")]
    assert sorted(made) == [
        ("created", OWNER, "startup-echo", ""),
        ("created", OWNER, "startup-kept", ""),
        ("started", OWNER, "startup-echo", ""),
    ]


@pytest.mark.timeout(120)
def test_reconcile_keeps_the_owners_edit_and_restarts_nothing(startup_hub: Hub) -> None:
    headers = _admin(startup_hub)
    _wait_for(startup_hub, headers, {f"{OWNER}/startup-echo": MADE})
    started = startup_hub.wait_ready(OWNER, "startup-echo")["started"]
    owner = {"Authorization": f"token {startup_hub.token_for(OWNER)}"}
    edit = httpx.patch(
        startup_hub.url + SVC + f"api/apps/{OWNER}/startup-kept",
        json={"description": "the owner's own words"},
        headers=owner,
        timeout=30,
    )
    # JupyterHub 6 stores it with PATCH; 5 only at a start, so there the edit starts the app.
    assert edit.status_code in ((200,) if HUB_6 else (200, 202)), edit.text
    response = httpx.post(startup_hub.url + SVC + "api/admin/startup-apps/reconcile", headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    states = _states(response.json())
    assert states[f"{OWNER}/startup-echo"] == "unchanged"
    assert states[f"{OWNER}/startup-kept"] == "drift"
    servers = _servers(startup_hub, OWNER)
    assert set(servers) == {"startup-echo", "startup-kept"}  # nothing duplicated
    assert servers["startup-kept"]["user_options"]["description"] == "the owner's own words"
    assert servers["startup-echo"]["started"] == started  # not restarted


def test_the_report_is_refused_to_non_admins(startup_hub: Hub) -> None:
    owner = {"Authorization": f"token {startup_hub.token_for(OWNER)}"}
    for method, path in (("GET", "startup-apps"), ("POST", "startup-apps/reconcile")):
        response = httpx.request(method, startup_hub.url + SVC + f"api/admin/{path}", headers=owner, timeout=30)
        assert response.status_code == 404, response.text


def test_the_admin_page_reconciles_with_its_button(startup_hub: Hub) -> None:
    svc = startup_hub.url + SVC
    browser = startup_hub.login("admin")
    try:
        xsrf = login_to_service(browser, svc)
        page = browser.get(svc + "ui/admin/startup-apps")
        assert page.status_code == 200, page.text
        assert f'data-id="{OWNER}/startup-kept"' in page.text
        assert "Reconcile now" in page.text
        refused = browser.post(svc + "ui/admin/startup-apps", data={})  # no XSRF token: nothing runs
        assert refused.status_code == 403
        done = browser.post(svc + "ui/admin/startup-apps", data={"_xsrf": xsrf}, follow_redirects=True)
        assert done.status_code == 200, done.text
        assert "Reconciled." in done.text
    finally:
        browser.close()
    owner = startup_hub.login(OWNER)
    try:
        login_to_service(owner, svc)
        assert owner.get(svc + "ui/admin/startup-apps").status_code == 404
    finally:
        owner.close()


@pytest.mark.timeout(120)
def test_a_late_owner_gets_the_app_once_they_exist(startup_hub: Hub) -> None:
    headers = _admin(startup_hub)
    startup_hub.ensure_user(LATE)
    _wait_for(startup_hub, headers, {f"{LATE}/late-app": MADE})  # retried in the background
    (server,) = _servers(startup_hub, LATE).values()
    assert server["name"] == "late-app"
    assert server["user_options"]["framework"] == "command"
    assert not server["ready"]


@pytest.mark.timeout(180)
def test_a_hub_restart_respawns_nothing_and_resets_no_edit(startup_hub: Hub, startup_root: Path) -> None:
    _wait_for(startup_hub, _admin(startup_hub), {f"{LATE}/late-app": MADE, f"{OWNER}/startup-kept": "drift"})
    events_before = _events(startup_root)
    startup_hub.stop()  # stops every server, then the Hub and its service
    restarted = time.time()
    with own_hub(startup_root, CONFIG) as again:
        report = _wait_for(
            again,
            _admin(again),
            {f"{OWNER}/startup-echo": "unchanged", f"{OWNER}/startup-kept": "drift", f"{LATE}/late-app": "unchanged"},
            after=restarted,
        )
        assert len(report["apps"]) == 3
        servers = _servers(again, OWNER)
        assert set(servers) == {"startup-echo", "startup-kept"}
        assert not servers["startup-echo"]["ready"]
        assert servers["startup-echo"]["pending"] is None  # not started again
        assert servers["startup-kept"]["user_options"]["description"] == "the owner's own words"
        made = [e for e in _events(startup_root)[len(events_before) :] if e[0] in ("created", "started", "edited")]
        assert made == []
