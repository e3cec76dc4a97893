"""``hubapps deploy|list|...`` and :class:`hubapps.cli.client.LauncherClient` against a fake launcher.

``FakeLauncher`` is an ``httpx.MockTransport`` answering the documented routes of ``docs/api.md``
(under ``/services/japps/api/``) from a dict of apps, and records every request, so each test checks
the method, path and body a subcommand sends and what it prints.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import httpx
import pytest

from hubapps.cli import commands, main
from hubapps.cli.client import LauncherClient, LauncherError, launcher_api_url

TOKEN = "secret-token-0123456789abcdef"
HUB = "http://hub.test:8000"
PREFIX = "/services/japps/api/"


BROKEN = "the app exited with code 1 before it was ready: SyntaxError: invalid syntax (app.py, line 2)"


def _error(status: int, detail: str, field: str | None = None, code: str = "error", **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"detail": detail, "field": field, "code": code}, headers=headers)


def _app(owner: str, server: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"{owner}/{server}",
        "owner": owner,
        "name": server,
        "display_name": fields.pop("display_name", server.title()),
        "framework": "streamlit",
        "access": "owned" if owner == "alice" else "shared",
        "state": "stopped",
        "url": f"/user/{owner}/{server}/",
        **fields,
    }


class FakeLauncher:
    """The launcher's REST API for the user ``alice``, as an httpx transport."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.apps: dict[str, dict[str, Any]] = {
            "alice/dash": _app("alice", "dash", state="running", framework="panel"),
            "bob/report": _app("bob", "report", display_name="Report \x1b[31mred"),
        }
        self.shares: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.log_lines = ["one", "two"]
        self.transport = httpx.MockTransport(self.handle)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path.removeprefix(PREFIX)) for r in self.requests]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"token {TOKEN}":
            return _error(403, "not authenticated", code="not_authenticated")
        path = request.url.path
        if not path.startswith(PREFIX):
            return httpx.Response(404, text="<html>not the service</html>")
        route = path.removeprefix(PREFIX)
        method = request.method
        if (method, route) == ("GET", "user"):
            return httpx.Response(200, json={"name": "alice", "admin": False, "groups": [], "can_share": True})
        if (method, route) == ("GET", "apps"):
            access = request.url.params.get_list("access")
            data = [a for a in self.apps.values() if not access or a["access"] in access]
            return httpx.Response(200, json={"data": data, "count": len(data), "offset": 0, "limit": 100})
        if (method, route) == ("POST", "apps"):
            body = json.loads(request.content)
            if not all(key.isidentifier() for key in body.get("env", {})):
                return _error(422, "is not a valid variable name", "env", "invalid")
            server = body["display_name"].lower().replace(" ", "-")
            conflict = body.get("on_conflict", "ask")
            if f"alice/{server}" in self.apps and conflict == "ask":
                response = _error(409, f"you already have an app called {body['display_name']!r}", "display_name")
                return httpx.Response(
                    409, json={**response.json(), "code": "app_exists", "existing": f"alice/{server}"}
                )
            if f"alice/{server}" in self.apps and conflict == "update":
                self.apps[f"alice/{server}"]["description"] = body.get("description", "")
                return httpx.Response(200, json=self.apps[f"alice/{server}"])
            if f"alice/{server}" in self.apps:
                server += "-0a1b2c3d"
            app = _app("alice", server, framework=body["framework"], state="starting" if body["start"] else "stopped")
            # the Hub finishes starting it before the next request (an app named "Broken" fails)
            after = ("failed" if body["display_name"] == "Broken" else "running") if body["start"] else "stopped"
            self.apps[app["id"]] = {**app, "state": after, "reason": BROKEN if after == "failed" else None}
            return httpx.Response(201, json=app)
        match = re.fullmatch(r"apps/([^/]+)/([^/]+)(?:/(.*))?", route)
        if not match or f"{match[1]}/{match[2]}" not in self.apps:
            return _error(404, "app not found", code="not_found")
        app = self.apps[f"{match[1]}/{match[2]}"]
        action = match[3] or ""
        if (method, action) == ("DELETE", ""):
            del self.apps[app["id"]]
            return httpx.Response(204)
        if method == "POST" and action in ("start", "stop", "restart"):
            state = {"start": "starting", "stop": "stopping", "restart": "starting"}[action]
            app["state"] = "running" if action == "start" else state
            return httpx.Response(202, json={"id": app["id"], "state": state, "done": False})
        if (method, action) == ("GET", "status"):
            return httpx.Response(
                200,
                json={
                    "id": app["id"],
                    "state": app["state"],
                    "ready": app["state"] == "running",
                    "progress": None,
                    "message": None,
                    "app_state": {"running": "ready", "failed": "failed"}.get(app["state"]),
                    "elapsed": 1.5,
                    "ready_after": 1.2 if app["state"] == "running" else None,
                    "reason": app.get("reason"),
                    "log_tail": ["listening on 8888"],
                },
            )
        if (method, action) == ("GET", "logs"):
            if app["state"] != "running":
                return _error(409, "the app is not running, so it has no logs", code="conflict")
            return httpx.Response(200, json={"id": app["id"], "lines": self.log_lines})
        if action == "shares":
            if method == "POST":
                body = json.loads(request.content)
                self.shares += [{"kind": "user", "name": n} for n in body["users"]]
                self.shares += [{"kind": "group", "name": n} for n in body["groups"]]
            elif method == "DELETE":
                self.shares = []
                return httpx.Response(204)
            return httpx.Response(200, json={"id": app["id"], "public": False, "shares": self.shares})
        if action == "share-links":
            if method == "POST":
                made = {"id": f"sc_{len(self.links) + 1}", "created_at": "2026-01-01T00:00:00Z", "exchange_count": 0}
                made["expires_at"] = f"+{json.loads(request.content)['expires_in']}s"
                self.links.append(made)
                return httpx.Response(201, json={**made, "accept_url": "/hub/accept-share?code=c0de"})
            if method == "DELETE":
                wanted = request.url.params.get("id")
                self.links = [x for x in self.links if wanted and x["id"] != wanted]
                return httpx.Response(204)
            return httpx.Response(200, json=self.links)
        if method == "DELETE" and action.startswith("shares/"):
            _, kind, name = action.split("/")
            self.shares = [s for s in self.shares if (s["kind"] + "s", s["name"]) != (kind, name)]
            return httpx.Response(204)
        return _error(405, "method not allowed")


@pytest.fixture
def fake() -> FakeLauncher:
    return FakeLauncher()


@pytest.fixture
def hubapps(fake: FakeLauncher, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """``hubapps(*argv)`` → ``(exit status, stdout, stderr)``, with the token from the environment."""
    monkeypatch.setenv("JUPYTERHUB_URL", HUB)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    monkeypatch.setattr(commands, "POLL_INTERVAL", 0.0)

    def run(*argv: str) -> tuple[int, str, str]:
        status = main(list(argv), transport=fake.transport)
        out, err = capsys.readouterr()
        assert TOKEN not in out + err, "the token was printed"
        return status, out, err

    return run


# -- subcommands: request and output --------------------------------------------------------------


def test_deploy_sends_an_app_create(fake: FakeLauncher, hubapps: Any) -> None:
    status, out, err = hubapps(
        "deploy", "--name", "My app", "--framework", "streamlit", "--file", "apps/a.py", "--description", "d",
        "--env", "A=1", "--env", "B=x=y", "--public", "--keep-alive", "--python-env", "py311",
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert fake.calls() == [("POST", "apps")]
    assert str(fake.last.url) == f"{HUB}/services/japps/api/apps"
    assert json.loads(fake.last.content) == {
        "framework": "streamlit",
        "display_name": "My app",
        "description": "d",
        "filepath": "apps/a.py",
        "env": {"A": "1", "B": "x=y"},
        "python_env": "py311",
        "public": True,
        "keep_alive": True,
        "start": True,
    }
    assert out == "created alice/my-app (starting): /user/alice/my-app/\n"


def test_deploy_command_framework_takes_the_argv_after_dashes(fake: FakeLauncher, hubapps: Any) -> None:
    argv = ["{python}", "-m", "http.server", "--bind", "127.0.0.1", "{port}"]
    status, out, _ = hubapps("deploy", "--name", "Files", "--framework", "command", "--no-start", "--json", "--", *argv)
    assert status == 0
    body = json.loads(fake.last.content)
    assert body["command"] == argv
    assert body["start"] is False
    assert json.loads(out)["id"] == "alice/files"


def test_deploy_wait_polls_the_status(fake: FakeLauncher, hubapps: Any) -> None:
    status, out, _ = hubapps("deploy", "--name", "X", "--framework", "panel", "--wait")
    assert (status, out) == (0, "created alice/x (running): /user/alice/x/\n")
    assert fake.calls() == [("POST", "apps"), ("GET", "apps/alice/x/status")]


def test_deploy_secret_takes_its_value_from_the_environment(
    fake: FakeLauncher, hubapps: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("API_KEY", "sk-from-env")
    status, out, err = hubapps(
        "deploy", "--name", "S", "--framework", "panel", "--secret", "API_KEY", "--secret", "DB_PASSWORD=p=w"
    )
    assert (status, err) == (0, "")
    assert json.loads(fake.last.content)["secret_env"] == {"API_KEY": "sk-from-env", "DB_PASSWORD": "p=w"}
    assert "sk-from-env" not in out
    monkeypatch.delenv("API_KEY")
    with pytest.raises(SystemExit) as exc:
        hubapps("deploy", "--name", "x", "--framework", "panel", "--secret", "API_KEY")
    assert exc.value.code == 2
    assert "$API_KEY is not set" in capsys.readouterr().err


def test_deploy_env_needs_key_value(hubapps: Any) -> None:
    with pytest.raises(SystemExit) as exc:
        hubapps("deploy", "--name", "x", "--framework", "panel", "--env", "SECRET")
    assert exc.value.code == 2


def test_list_table_and_filters(fake: FakeLauncher, hubapps: Any) -> None:
    status, out, _ = hubapps("list", "--search", "rep", "--framework", "panel", "--mine", "--shared")
    assert status == 0
    params = fake.last.url.params
    assert (fake.last.method, fake.last.url.path) == ("GET", PREFIX + "apps")
    assert params.get_list("access") == ["owned", "shared"]
    assert (params["q"], params["framework"]) == ("rep", "panel")
    lines = out.splitlines()
    assert lines[0].split() == ["APP", "NAME", "FRAMEWORK", "STATE", "ACCESS", "URL"]
    assert lines[1].split() == ["alice/dash", "Dash", "panel", "running", "owned", "/user/alice/dash/"]
    # another user's app name cannot send escape sequences to the terminal
    assert "\x1b" not in out
    assert "Report ?[31mred" in lines[2]


def test_list_json_is_the_api_answer(fake: FakeLauncher, hubapps: Any) -> None:
    status, out, _ = hubapps("list", "--json", "--public")
    assert status == 0
    assert fake.last.url.params.get_list("access") == ["public"]
    assert json.loads(out) == {"data": [], "count": 0, "offset": 0, "limit": 100}


def test_list_without_apps(fake: FakeLauncher, hubapps: Any) -> None:
    fake.apps.clear()
    assert hubapps("list")[1] == "no apps\n"


@pytest.mark.parametrize("action", ["start", "stop", "restart"])
def test_lifecycle_of_someone_elses_app(fake: FakeLauncher, hubapps: Any, action: str) -> None:
    status, out, _ = hubapps(action, "bob/report")
    assert status == 0
    assert fake.calls() == [("POST", f"apps/bob/report/{action}")]
    assert out.startswith("bob/report: ")


def test_bare_server_name_is_my_own_app(fake: FakeLauncher, hubapps: Any) -> None:
    status, out, _ = hubapps("stop", "dash", "--json")
    assert status == 0
    assert fake.calls() == [("GET", "user"), ("POST", "apps/alice/dash/stop")]
    assert json.loads(out) == {"id": "alice/dash", "state": "stopping", "done": False}


def test_start_wait(fake: FakeLauncher, hubapps: Any) -> None:
    status, out, _ = hubapps("start", "bob/report", "--wait")
    assert status == 0
    assert fake.calls() == [("POST", "apps/bob/report/start"), ("GET", "apps/bob/report/status")]
    assert out == "bob/report: running\n"


def test_status(fake: FakeLauncher, hubapps: Any) -> None:
    status, out, _ = hubapps("status", "alice/dash")
    assert status == 0
    assert fake.calls() == [("GET", "apps/alice/dash/status")]
    assert "state:    running (ready in 1.2 s)" in out
    assert "  listening on 8888" in out


def test_deploy_wait_says_why_the_app_failed(fake: FakeLauncher, hubapps: Any) -> None:
    status, out, err = hubapps("deploy", "--name", "Broken", "--framework", "panel", "--wait")
    assert (status, out) == (1, "")
    assert err == f"hubapps deploy: error: alice/broken failed to start: {BROKEN}\n"
    status, out, _ = hubapps("status", "broken")
    assert status == 0
    assert "state:    failed\n" in out
    assert f"reason:   {BROKEN}\n" in out
    status, out, _ = hubapps("list", "--mine")
    assert status == 0
    row = next(line for line in out.splitlines() if line.startswith("alice/broken "))
    assert "  failed  " in row
    assert out.splitlines()[-1] == f"alice/broken failed: {BROKEN}"


def test_logs(fake: FakeLauncher, hubapps: Any) -> None:
    status, out, _ = hubapps("logs", "alice/dash", "--lines", "50")
    assert status == 0
    assert fake.last.url.path == PREFIX + "apps/alice/dash/logs"
    assert fake.last.url.params["lines"] == "50"
    assert out == "one\ntwo\n"


def test_new_lines_of_a_followed_log() -> None:
    assert commands._new_lines(["a", "b", "c"], ["b", "c", "d", "e"]) == ["d", "e"]
    assert commands._new_lines(["a", "b"], ["x"]) == ["x"]
    assert commands._new_lines([], ["x"]) == ["x"]


def test_share_and_unshare(fake: FakeLauncher, hubapps: Any) -> None:
    status, out, _ = hubapps("share", "dash", "--user", "bob", "--user", "carol", "--group", "team")
    assert status == 0
    assert fake.calls()[-1] == ("POST", "apps/alice/dash/shares")
    assert json.loads(fake.last.content) == {"users": ["bob", "carol"], "groups": ["team"]}
    assert out == "alice/dash: private\nshared with: user bob, user carol, group team\n"

    fake.requests.clear()
    status, out, _ = hubapps("unshare", "alice/dash", "--user", "bob", "--group", "team")
    assert status == 0
    assert fake.calls() == [
        ("DELETE", "apps/alice/dash/shares/users/bob"),
        ("DELETE", "apps/alice/dash/shares/groups/team"),
        ("GET", "apps/alice/dash/shares"),
    ]
    assert out.endswith("shared with: user carol\n")

    fake.requests.clear()
    assert hubapps("unshare", "alice/dash", "--all")[0] == 0
    assert fake.calls()[0] == ("DELETE", "apps/alice/dash/shares")


def test_share_links_create_list_revoke(fake: FakeLauncher, hubapps: Any) -> None:
    status, out, _ = hubapps("share-link", "create", "dash", "--expires", "7d")
    assert status == 0
    assert fake.calls()[-1] == ("POST", "apps/alice/dash/share-links")
    assert json.loads(fake.last.content) == {"expires_in": 7 * 86400}
    # The Hub gave a path: the URL printed is on the Hub's origin, ready to paste.
    assert out.splitlines()[0] == f"{HUB}/hub/accept-share?code=c0de"
    hubapps("share-link", "create", "alice/dash")
    assert json.loads(fake.last.content) == {"expires_in": 86400}

    status, out, _ = hubapps("share-link", "list", "dash")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "CREATED", "EXPIRES", "USES"]
    assert [line.split()[0] for line in lines[1:]] == ["sc_1", "sc_2"]
    assert "c0de" not in out  # a link's address is shown only when it is made

    status, out, _ = hubapps("share-link", "revoke", "dash", "--id", "sc_1")
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["sc_2"]
    assert hubapps("share-link", "revoke", "dash", "--all")[1] == "alice/dash: no share links\n"


def test_share_link_refusals_name_what_is_missing(
    fake: FakeLauncher, hubapps: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = hubapps("share-link", "revoke", "dash")
    assert status == 1
    assert "--id" in err
    assert "--all" in err
    with pytest.raises(SystemExit):
        hubapps("share-link", "create", "dash", "--expires", "soon")
    assert "'soon' is not a duration such as 30m, 12h or 7d" in capsys.readouterr().err
    assert not [c for c in fake.calls() if c[0] != "GET"]  # nothing was made or revoked


def test_list_all_asks_for_every_users_apps(fake: FakeLauncher, hubapps: Any) -> None:
    assert hubapps("list", "--all")[0] == 0
    assert fake.last.url.params.get_list("access") == ["all"]


def test_unshare_needs_a_name(fake: FakeLauncher, hubapps: Any) -> None:
    status, _, err = hubapps("unshare", "alice/dash")
    assert status == 1
    assert "--all" in err
    assert fake.requests == []


def test_delete_asks_first(fake: FakeLauncher, hubapps: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("builtins.input", lambda _question: "n")
    status, _, err = hubapps("delete", "alice/dash")
    assert status == 1
    assert "not deleted" in err
    assert fake.requests == []

    monkeypatch.setattr("builtins.input", lambda _question: "y")
    assert hubapps("delete", "alice/dash") == (0, "deleted alice/dash\n", "")
    assert fake.calls() == [("DELETE", "apps/alice/dash")]


def test_delete_yes_and_no_terminal(fake: FakeLauncher, hubapps: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_terminal(_question: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", no_terminal)
    assert hubapps("delete", "dash")[0] == 1
    assert "alice/dash" in fake.apps
    assert hubapps("delete", "dash", "--yes")[0] == 0
    assert "alice/dash" not in fake.apps


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_deploy_of_a_name_that_exists_asks_on_a_terminal(
    fake: FakeLauncher, hubapps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy = ("deploy", "--name", "Dash", "--framework", "panel", "--file", "a.py", "--no-start")
    monkeypatch.setattr("sys.stdin", _Terminal("maybe\nu\n"))
    status, out, err = hubapps(*deploy, "--description", "v2")
    assert status == 0, err
    assert out.startswith("updated alice/dash (running): ")
    assert "You already have an app called 'Dash' (alice/dash)." in err
    assert err.count("[u]pdate it, create a [n]ew one with a distinct name, or [c]ancel? ") == 2
    assert fake.apps["alice/dash"]["description"] == "v2"
    assert [json.loads(r.content).get("on_conflict") for r in fake.requests if r.method == "POST"] == [None, "update"]

    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    status, out, _ = hubapps(*deploy)
    assert (status, out.split(" ")[:2]) == (0, ["created", "alice/dash-0a1b2c3d"])

    monkeypatch.setattr("sys.stdin", _Terminal("\n"))
    status, _, err = hubapps(*deploy)
    assert status == 1
    assert err.endswith("error: cancelled: nothing was deployed\n")


def test_deploy_of_a_name_that_exists_without_a_terminal_says_what_to_pass(
    fake: FakeLauncher, hubapps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    deploy = ("deploy", "--name", "Dash", "--framework", "panel", "--file", "a.py", "--no-start")
    status, out, err = hubapps(*deploy)
    assert (status, out) == (1, "")
    assert err == (
        "hubapps deploy: error: --name: you already have an app called 'Dash' (alice/dash): pass --update"
        " to deploy over it, or --new to create another one with a distinct name (HTTP 409)\n"
    )
    status, out, _ = hubapps(*deploy, "--new")
    assert status == 0
    assert out.startswith("created alice/dash-0a1b2c3d (stopped): ")
    assert json.loads(fake.last.content)["on_conflict"] == "new"


# -- errors ---------------------------------------------------------------------------------------


def test_404_says_not_found(hubapps: Any) -> None:
    assert hubapps("status", "carol/nothing") == (1, "", "hubapps status: error: app not found (HTTP 404)\n")


def test_field_error_is_shown_with_its_field(hubapps: Any) -> None:
    status, _, err = hubapps("deploy", "--name", "x", "--framework", "panel", "--env", "1A=b")
    assert status == 1
    assert err == "hubapps deploy: error: env: is not a valid variable name (HTTP 422)\n"


def test_400_with_a_field(fake: FakeLauncher, hubapps: Any) -> None:
    fake.transport = httpx.MockTransport(lambda _r: _error(400, "the body is not valid JSON", "data", "bad_request"))
    assert hubapps("list")[2] == "hubapps list: error: data: the body is not valid JSON (HTTP 400)\n"


def test_503_shows_retry_after(fake: FakeLauncher, hubapps: Any) -> None:
    fake.transport = httpx.MockTransport(
        lambda _r: _error(503, "the Hub is not answering", code="hub_unavailable", **{"Retry-After": "5"})
    )
    status, out, err = hubapps("start", "bob/report")
    assert (status, out) == (1, "")
    assert err == "hubapps start: error: the Hub is not answering; retry after 5 s (HTTP 503)\n"


def test_answer_not_from_the_service(hubapps: Any) -> None:
    status, _, err = hubapps("list", "--service", "nope")
    assert status == 1
    assert "is the launcher service running, and is --service right?" in err
    assert "<html>" not in err


def test_unreachable_hub(hubapps: Any, fake: FakeLauncher) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    fake.transport = httpx.MockTransport(refuse)
    status, _, err = hubapps("list")
    assert status == 1
    assert err == f"hubapps list: error: cannot reach the launcher at {HUB}/services/japps/api/: ConnectError\n"


def test_wrong_token_is_403_and_never_printed(hubapps: Any) -> None:
    wrong = "wrong-" + TOKEN
    status, out, err = hubapps("list", "--token", wrong)
    assert status == 1
    assert err == "hubapps list: error: not authenticated (HTTP 403)\n"
    assert wrong not in out + err


def test_missing_token(hubapps: Any, monkeypatch: pytest.MonkeyPatch, fake: FakeLauncher) -> None:
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN")
    assert hubapps("list") == (1, "", "hubapps list: error: no token: pass --token or set JUPYTERHUB_API_TOKEN\n")
    assert fake.requests == []


def test_connection_options(fake: FakeLauncher, hubapps: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUPYTERHUB_URL")
    hubapps("list")
    assert str(fake.last.url).startswith("http://127.0.0.1:8000/services/japps/api/apps")
    hubapps("list", "--url", "https://hub.example.org/", "--service", "apps")
    assert str(fake.last.url).startswith("https://hub.example.org/services/apps/api/apps")


# -- the client on its own ------------------------------------------------------------------------


def test_client_never_shows_its_token(fake: FakeLauncher) -> None:
    with LauncherClient(HUB, TOKEN, transport=fake.transport) as client:
        assert TOKEN not in repr(client)
        with pytest.raises(LauncherError) as exc:
            client.get_app("alice", "missing")
    assert (exc.value.status, exc.value.code, exc.value.message) == (404, "not_found", "app not found")
    assert TOKEN not in str(exc.value)


def test_client_quotes_path_parts() -> None:
    seen: list[bytes] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path)
        return httpx.Response(204)

    with LauncherClient(HUB, TOKEN, transport=httpx.MockTransport(record)) as client:
        client.unshare("alice", "dash", users=["a/b"], groups=["x?y"])
        assert seen == [
            b"/services/japps/api/apps/alice/dash/shares/users/a%2Fb",
            b"/services/japps/api/apps/alice/dash/shares/groups/x%3Fy",
        ]
        with pytest.raises(LauncherError, match="OWNER/SERVER"):
            client.resolve("a/b/c")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hub.example.org", "https://hub.example.org/services/japps/api/"),
        ("https://hub.example.org/jupyter/", "https://hub.example.org/jupyter/services/japps/api/"),
        # Under subdomain_host the launcher has a host of its own: its URL is taken as it is.
        (
            "https://japps--service.hub.example.org/services/japps/",
            "https://japps--service.hub.example.org/services/japps/api/",
        ),
        (
            "https://japps--service.hub.example.org/services/japps/api",
            "https://japps--service.hub.example.org/services/japps/api/",
        ),
    ],
)
def test_the_launcher_url_from_the_hubs_or_its_own(url: str, expected: str) -> None:
    assert launcher_api_url(url) == expected
