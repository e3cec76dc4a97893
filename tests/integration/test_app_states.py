"""States tell the truth, on the real Hub: an app that cannot start shows as failed, with its own
message, in the API (listing, app, status) and the CLI (``status``, ``list``, ``deploy --wait``) while
its server still runs; starting it again works; a slow stop shows as stopping, then stopped.

Waits are bounded well below the ~35 s that restart loops took before an app was reported failed.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Hub
from tests.integration.conftest import run_cli as _cli

pytestmark = [pytest.mark.integration]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
#: Seconds within which a failing app must be reported failed (the old restart loops took ~35 s).
FAILS_WITHIN = 20.0
SYNTAX_ERROR_APP = "print('broken app: starting')\ndef broken(:\n    pass\n"


def _until(what: str, get: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    seen: list[Any] = []
    while True:
        value = get()
        if not seen or seen[-1] != value:
            seen.append(value)
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s; seen: {seen}")
        time.sleep(0.3)


@pytest.mark.timeout(120)  # two failing apps (one of them Streamlit, which takes seconds to import)
def test_failing_apps_show_failed_with_their_own_message(hub: Hub) -> None:
    owner = f"states-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    (hub.home(owner) / "broken_app.py").write_text(SYNTAX_ERROR_APP)
    api = httpx.Client(
        base_url=f"{hub.url}services/japps/api/", headers={"Authorization": f"token {token}"}, timeout=30
    )

    # A syntax error, deployed and waited for by the CLI: it fails in seconds and says why.
    deployed = _cli(
        hub, token, "deploy", "--name", "Broken", "--framework", "command",
        "--wait", f"--wait-timeout={FAILS_WITHIN:g}", "--", "{python}", "broken_app.py", "{port}",
    )  # fmt: skip
    assert deployed.returncode == 1, deployed
    assert deployed.stderr.startswith(f"hubapps deploy: error: {owner}/broken failed to start: ")
    assert "before it was ready: SyntaxError" in deployed.stderr
    assert "(broken_app.py, line 2)" in deployed.stderr

    # A missing file, started through the Hub's own API (so no deploy-time check stands in the way).
    missing = {"spec_version": 1, "framework": "streamlit", "display_name": "Missing", "filepath": "no_such_app.py"}
    hub.create_app(owner, "missing", missing, token=token)
    # A syntax error in a Streamlit file: Streamlit itself would start and run the file only for a
    # viewer; the proxy compiles it as the app starts (none of it runs) and fails the start.
    (hub.home(owner) / "broken_dash.py").write_text(SYNTAX_ERROR_APP)
    dash = {"spec_version": 1, "framework": "streamlit", "display_name": "Dash", "filepath": "broken_dash.py"}
    hub.create_app(owner, "dash", dash, token=token)
    try:
        status = _until(
            "the missing file's failure",
            lambda: api.get("apps/" + owner + "/missing/status").json(),
            lambda s: s["state"] != "starting",
            FAILS_WITHIN,
        )
        assert (status["state"], status["ready"]) == ("failed", False)
        assert "File does not exist" in status["reason"]
        assert "no_such_app.py" in status["reason"]
        status = _until(
            "the Streamlit syntax error's failure",
            lambda: api.get("apps/" + owner + "/dash/status").json(),
            lambda s: s["state"] != "starting",
            FAILS_WITHIN,
        )
        assert status["state"] == "failed", status
        assert status["reason"].startswith("the app's file does not compile: SyntaxError")
        assert "(broken_dash.py, line 2)" in status["reason"]

        # The Hub still runs both servers (their failure pages linger); every view says failed.
        assert hub.server_model(owner, "broken") is not None
        listing = {a["name"]: a for a in api.get("apps", params={"access": "owned"}).json()["data"]}
        assert {name: a["state"] for name, a in listing.items()} == {
            "broken": "failed",
            "missing": "failed",
            "dash": "failed",
        }
        assert "SyntaxError" in listing["broken"]["reason"]
        assert api.get(f"apps/{owner}/broken").json()["state"] == "failed"
        shown = _cli(hub, token, "status", "broken").stdout
        assert "state:    failed\n" in shown
        assert "reason:   the app exited with code 1 before it was ready: SyntaxError" in shown
        assert "\n  SyntaxError: invalid syntax\n" in shown.split("log tail:")[1]
        listed = _cli(hub, token, "list", "--mine").stdout
        assert f"{owner}/missing failed: the app exited with code" in listed

        # Fixed, and started again: the failed server is replaced (stopped, then started).
        (hub.home(owner) / "broken_app.py").write_text((RESOURCES / "echo_app.py").read_text())
        started = _cli(hub, token, "start", "broken", "--wait", f"--wait-timeout={FAILS_WITHIN:g}")
        assert started.returncode == 0, started.stderr
        assert started.stdout == f"{owner}/broken: running\n"
        status = api.get(f"apps/{owner}/broken/status").json()
        assert (status["state"], status["reason"]) == ("running", None)
        assert isinstance(status["ready_after"], float)
        assert "state:    running (ready in " in _cli(hub, token, "status", "broken").stdout
    finally:
        api.close()
        for server in ("broken", "missing", "dash"):
            hub.stop_app(owner, server, remove=True)


@pytest.mark.timeout(90)
def test_a_slow_stop_shows_stopping_then_stopped(hub: Hub, tmp_path: Path) -> None:
    owner = f"states-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    spec = {
        "spec_version": 1,
        "framework": "command",
        "display_name": "Stubborn",
        "command": ["{python}", str(RESOURCES / "ignores_sigterm.py"), "{port}", str(tmp_path / "pids")],
    }
    hub.create_app(owner, "stubborn", spec, token=token)
    api = httpx.Client(
        base_url=f"{hub.url}services/japps/api/", headers={"Authorization": f"token {token}"}, timeout=30
    )
    try:
        _until("running", lambda: api.get(f"apps/{owner}/stubborn").json()["state"], lambda s: s == "running", 30)
        stop = api.post(f"apps/{owner}/stubborn/stop")
        assert stop.status_code == 202, stop.text  # the app ignores SIGTERM: the proxy waits, then kills it
        assert stop.json()["state"] == "stopping"
        seen = [api.get(f"apps/{owner}/stubborn").json()["state"]]
        assert seen == ["stopping"]
        listed = {a["name"]: a["state"] for a in api.get("apps", params={"access": "owned"}).json()["data"]}
        assert listed == {"stubborn": "stopping"}
        _until("stopped", lambda: api.get(f"apps/{owner}/stubborn").json()["state"], lambda s: s == "stopped", 30)
        assert hub.server_model(owner, "stubborn") is None
    finally:
        api.close()
        hub.stop_app(owner, "stubborn", remove=True)
