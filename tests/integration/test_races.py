"""Races on a real Hub (issue 17, requirement 5): requests that cross each other end in one final
state, a conflicting change answers 409 ``busy`` naming what is under way, and no process is left.

Each case goes through the launcher's REST API with the owner's token, as the launcher pages and the
CLI do, and afterwards looks at the process tree: every ``hubapps-proxy`` of the app (found by the
``JUPYTERHUB_USER`` and ``JUPYTERHUB_SERVER_NAME`` the Hub gives it) and every app process (found by
an env value of the app's own spec), children included.

- stop during start: the app ends stopped, nothing of it runs;
- two starts at once: both are accepted (the Hub joins a start of a starting server; a start of a
  running app would answer 409), one server runs;
- edit during restart: the edit that comes while the restart of another edit is under way answers
  409 ``busy``; the app ends running with the last accepted spec, which the Hub holds and the app's
  process sees;
- delete during restart: 409 ``busy``; delete during start: the app ends deleted, nothing runs;
- twenty starts at once by one user (twenty apps): every one answers 2xx and every app ends running.

The spans these look at are short (a start of an echo app takes about a second), so each case is
run in a loop by hand while developing (docs/operations.md, "Races", says how often).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psutil
import pytest

from tests.integration.conftest import Hub

pytestmark = [pytest.mark.integration]

#: Which way each race went ("race outcome: ..." at INFO: whether the span was hit, for runs in a loop).
log = logging.getLogger("tests.races")

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
#: Env name carried by each test app's spec: its value finds the app's processes.
TAG = "RACE_TAG"
#: Seconds within which a state settles or a stopped app's processes are gone.
SETTLE = 60.0


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=90, limits=httpx.Limits(max_connections=40)) as c:
        yield c


@pytest.fixture
def owner(hub: Hub) -> Iterator[tuple[str, str]]:
    name = f"race-{secrets.token_hex(3)}"
    yield name, hub.token_for(name)
    model = hub.api("GET", f"users/{name}", params={"include_stopped_servers": "1"}).json()
    for server in model.get("servers") or {}:
        if server:
            hub.stop_app(name, server, remove=True)


def _tag(owner: tuple[str, str], name: str) -> str:
    """The value of ``TAG`` in the app's environment (unique in the run)."""
    return f"{owner[0]}/{name}"


def _honouring_retry_after(send: Callable[[], httpx.Response], tries: int = 3) -> httpx.Response:
    """``send()``, sent again after ``Retry-After`` while it answers 503 (the Hub did not answer in time:
    on a loaded machine twenty calls at once may meet that), as a client is told to."""
    answer = send()
    for _ in range(tries - 1):
        if answer.status_code != 503 or "Retry-After" not in answer.headers:
            break
        time.sleep(min(float(answer.headers["Retry-After"]), 10))
        answer = send()
    return answer


def _create(hub: Hub, client: httpx.Client, owner: tuple[str, str], name: str, **extra: Any) -> str:
    spec = {
        "framework": "command",
        "display_name": name,
        "command": ["{python}", str(RESOURCES / "env_dump_app.py"), "{port}"],
        "env": {"COLOR": "red", TAG: _tag(owner, name)},
        **extra,
    }
    created = client.post(hub.url + "services/japps/api/apps", headers=h(owner[1]), json=spec)
    assert created.status_code == 201, created.text
    server: str = created.json()["name"]
    return server


def _app(hub: Hub, owner: str, server: str) -> str:
    return f"{hub.url}services/japps/api/apps/{quote(owner, safe='')}/{quote(server, safe='')}"


def _model(hub: Hub, owner: str, server: str) -> dict[str, Any] | None:
    response = hub.api("GET", f"users/{owner}", params={"include_stopped_servers": "1"})
    response.raise_for_status()
    model: dict[str, Any] | None = (response.json().get("servers") or {}).get(server)
    return model


def _ends(hub: Hub, owner: str, server: str, state: str) -> dict[str, Any] | None:
    """Wait until the Hub shows the server ``running``, ``stopped`` or ``deleted`` (nothing pending), and
    return its model. (A Hub that interrupts a start shows it neither pending nor stopped for a moment.)"""
    deadline = time.monotonic() + SETTLE
    while True:
        model = _model(hub, owner, server)
        if model is None and state == "deleted":
            return None
        settled = model is not None and not model.get("pending")
        if settled and model and model.get({"running": "ready", "stopped": "stopped"}.get(state, "-")):
            return model
        assert time.monotonic() < deadline, f"{owner}/{server} is not {state}: {model}"
        time.sleep(0.2)


def _processes(owner: str, server: str, tag: str) -> list[psutil.Process]:
    """The app's processes: its proxies (by the Hub's env), its app processes (by ``tag``), and their children."""
    found: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
        except (psutil.Error, OSError):
            continue
        ours = env.get("JUPYTERHUB_USER") == owner and env.get("JUPYTERHUB_SERVER_NAME") == server
        if ours or env.get(TAG) == tag:
            found[proc.pid] = proc
            with contextlib.suppress(psutil.Error):
                found.update({child.pid: child for child in proc.children(recursive=True)})
    return list(found.values())


def _proxies(owner: str, server: str, tag: str) -> list[psutil.Process]:
    """The app's ``hubapps-proxy`` processes (``python -m hubapps.proxy`` under local spawners)."""
    result = []
    for proc in _processes(owner, server, tag):
        try:
            if any(
                part in ("hubapps.proxy", "hubapps-proxy") or part.endswith("/hubapps-proxy") for part in proc.cmdline()
            ):
                result.append(proc)
        except psutil.Error:
            pass
    return result


def _no_process_left(owner: str, server: str, tag: str) -> None:
    deadline = time.monotonic() + SETTLE
    left = _processes(owner, server, tag)
    while left and time.monotonic() < deadline:
        time.sleep(0.3)
        left = _processes(owner, server, tag)
    described = []
    for proc in left:
        try:
            described.append(f"{proc.pid}: {' '.join(proc.cmdline())[:200]}")
            proc.kill()
        except psutil.Error:
            pass
    assert not described, "processes outlived the app:\n" + "\n".join(described)


def _color(hub: Hub, owner: str, server: str, token: str) -> str:
    """COLOR in the environment of the process the app runs now."""
    hub.wait_ready(owner, server)
    hub.wait_app(owner, server, token)
    response = httpx.get(hub.app_url(owner, server), headers=h(token), timeout=30)
    assert response.status_code == 200, response.text[:300]
    color: str = response.json()["env"].get("COLOR", "")
    return color


def _until_pending(hub: Hub, owner: str, server: str, within: float = 10.0) -> bool:
    """Wait (briefly) until the Hub shows the server starting; False if it was already done."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        model = _model(hub, owner, server) or {}
        if model.get("pending") == "spawn":
            return True
        if model.get("ready"):
            return False
        time.sleep(0.02)
    return False


def _in_thread(call: Callable[[], httpx.Response]) -> Any:
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(call)
    pool.shutdown(wait=False)
    return future


def _busy(response: httpx.Response, what: str) -> None:
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == "busy", body
    assert body["detail"] == f"the app is {what}; send this again when that has finished"


def test_stop_during_start_ends_stopped_with_nothing_left(
    hub: Hub, client: httpx.Client, owner: tuple[str, str]
) -> None:
    name, token = owner
    server = _create(hub, client, owner, "Stopped while starting")
    app = _app(hub, name, server)

    starting = _in_thread(lambda: client.post(app + "/start", headers=h(token)))
    hit = _until_pending(hub, name, server)
    stopped = client.post(app + "/stop", headers=h(token))
    started = starting.result(timeout=90)
    log.info("race outcome: stop during start: pending=%s start=%s stop=%s", hit, started.status_code, stopped.text)

    assert stopped.status_code in (200, 202), stopped.text
    assert stopped.json()["state"] in ("stopped", "stopping")
    # The start was accepted, or it heard that the stop cut it short: never a bare 500.
    assert started.status_code in (200, 202, 502), started.text
    if started.status_code == 502:
        assert started.json()["code"] == "start_failed"
    _ends(hub, name, server, "stopped")
    listed = client.get(app, headers=h(token))
    assert listed.status_code == 200, listed.text
    assert listed.json()["state"] == "stopped"
    _no_process_left(name, server, _tag(owner, "Stopped while starting"))


def test_two_starts_at_once_run_one_server(hub: Hub, client: httpx.Client, owner: tuple[str, str]) -> None:
    name, token = owner
    server = _create(hub, client, owner, "Started twice")
    app = _app(hub, name, server)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: client.post(app + "/start", headers=h(token)), range(2)))

    # Both join the one start (the Hub answers a start of a starting server with 202).
    log.info("race outcome: two starts: %s", [a.text for a in answers])
    assert {a.status_code for a in answers} <= {200, 202}, [a.text for a in answers]
    assert {a.json()["state"] for a in answers} <= {"running", "starting"}
    assert _color(hub, name, server, token) == "red"
    assert len(_proxies(name, server, _tag(owner, "Started twice"))) == 1
    # Once it runs, a start is refused (the API's contract), and nothing else starts.
    again = client.post(app + "/start", headers=h(token))
    assert again.status_code == 409, again.text
    assert again.json()["detail"] == "the app is already running"
    assert len(_proxies(name, server, _tag(owner, "Started twice"))) == 1

    assert client.delete(app, headers=h(token)).status_code in (202, 204)
    _ends(hub, name, server, "deleted")
    _no_process_left(name, server, _tag(owner, "Started twice"))


def test_edit_during_restart_is_refused_and_the_last_accepted_edit_runs(
    hub: Hub, client: httpx.Client, owner: tuple[str, str]
) -> None:
    name, token = owner
    server = _create(hub, client, owner, "Edited while restarting", start=True)
    app, tag = _app(hub, name, server), _tag(owner, "Edited while restarting")
    assert _color(hub, name, server, token) == "red"

    def edit(color: str) -> httpx.Response:
        return client.patch(app, headers=h(token), json={"env": {"COLOR": color, TAG: tag}, "restart": True})

    blue = edit("blue")  # answered within start_wait; the restart goes on in the background
    assert blue.status_code == 202, blue.text
    green = edit("green")
    stop = client.post(app + "/stop", headers=h(token))
    log.info("race outcome: edit during restart: second edit=%s stop=%s", green.status_code, stop.status_code)

    if green.status_code == 409:  # the restart with blue was still under way (the usual case)
        _busy(green, "restarting with a change")
        expected = "blue"
    else:  # it had finished: green is the last accepted edit
        assert green.status_code == 202, green.text
        expected = "green"
    final = _ends(hub, name, server, "running" if stop.status_code == 409 else "stopped")
    assert final is not None
    assert final["user_options"]["env"]["COLOR"] == expected
    revisions = client.get(app + "/revisions", headers=h(token)).json()["data"]
    assert revisions[0]["spec"]["env"]["COLOR"] == expected
    assert [r["note"] for r in revisions] == ["edited"] * (2 if expected == "green" else 1) + ["created"]
    if stop.status_code == 409:  # refused: the restart would have started the app again
        _busy(stop, "restarting with a change")
        assert _color(hub, name, server, token) == expected
        assert len(_proxies(name, server, tag)) == 1
        # Deleting while a restart is under way is refused too: its start would make a new server.
        assert client.post(app + "/restart", headers=h(token)).status_code in (200, 202)
        deleted = client.delete(app, headers=h(token))
        log.info("race outcome: delete during restart: %s", deleted.status_code)
        if deleted.status_code == 409:
            _busy(deleted, "restarting")
    else:
        assert stop.status_code in (200, 202), stop.text

    deadline = time.monotonic() + SETTLE
    while _model(hub, name, server) is not None:
        assert time.monotonic() < deadline, "the app was not deleted"
        again = client.delete(app, headers=h(token))  # refused until the restart has finished
        assert again.status_code in (202, 204, 404, 409), again.text
        time.sleep(0.3)
    _no_process_left(name, server, tag)


def test_delete_during_start_ends_deleted_with_nothing_left(
    hub: Hub, client: httpx.Client, owner: tuple[str, str]
) -> None:
    name, token = owner
    server = _create(hub, client, owner, "Deleted while starting")
    app = _app(hub, name, server)

    starting = _in_thread(lambda: client.post(app + "/start", headers=h(token)))
    hit = _until_pending(hub, name, server)
    deleted = client.delete(app, headers=h(token))
    started = starting.result(timeout=90)
    log.info(
        "race outcome: delete during start: pending=%s start=%s delete=%s",
        hit,
        started.status_code,
        deleted.status_code,
    )

    assert deleted.status_code in (202, 204), deleted.text
    assert started.status_code in (200, 202, 502), started.text
    _ends(hub, name, server, "deleted")
    assert client.get(app, headers=h(token)).status_code == 404
    listed = client.get(hub.url + "services/japps/api/apps", headers=h(token)).json()
    assert server not in {a["name"] for a in listed["data"]}
    _no_process_left(name, server, _tag(owner, "Deleted while starting"))


@pytest.mark.timeout(150)
def test_twenty_starts_at_once_by_one_user_all_end_running(
    hub: Hub, client: httpx.Client, owner: tuple[str, str]
) -> None:
    name, token = owner
    with ThreadPoolExecutor(max_workers=5) as pool:
        servers = list(pool.map(lambda i: _create(hub, client, owner, f"Crowd {i}"), range(20)))

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(
            pool.map(
                lambda s: _honouring_retry_after(lambda: client.post(_app(hub, name, s) + "/start", headers=h(token))),
                servers,
            )
        )

    assert {a.status_code for a in answers} <= {200, 202}, [
        (a.status_code, a.text) for a in answers if a.status_code >= 300
    ]
    for server in servers:
        _ends(hub, name, server, "running")
    for i, server in enumerate(servers):
        hub.wait_app(name, server, token)
        assert len(_proxies(name, server, _tag(owner, f"Crowd {i}"))) == 1
    listed = client.get(hub.url + "services/japps/api/apps", headers=h(token), params={"limit": 50}).json()
    # (the owner's own apps: the shared Hub's public apps of other tests may be listed too)
    mine = {a["name"]: a["state"] for a in listed["data"] if a["owner"] == name}
    assert mine == dict.fromkeys(servers, "running")

    with ThreadPoolExecutor(max_workers=20) as pool:
        gone = list(
            pool.map(
                lambda s: _honouring_retry_after(lambda: client.delete(_app(hub, name, s), headers=h(token))), servers
            )
        )
    assert {g.status_code for g in gone} <= {202, 204}, [(g.status_code, g.text) for g in gone]
    for i, server in enumerate(servers):
        _ends(hub, name, server, "deleted")
        _no_process_left(name, server, _tag(owner, f"Crowd {i}"))
