"""``hubapps revisions`` and ``hubapps rollback`` against a fake launcher: the requests they send and
what they print (a secret's value never, a terminal escape in a note never as such)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from hubapps.cli import main

TOKEN = "secret-token-0123456789abcdef"
PREFIX = "/services/japps/api/apps/alice/dash/revisions"

HISTORY = {
    "id": "alice/dash",
    "keep": 50,
    "data": [
        {
            "number": 2,
            "created_at": "2026-12-05T16:40:12Z",
            "actor": "alice",
            "note": "edited \x1b[31m",
            "changed": ["description", "secret_env"],
            "source_sha256": "ab" * 32,
            "source_commit": None,
            "spec": {"secret_env": {"API_KEY": None}},
        },
        {
            "number": 1,
            "created_at": "2026-12-05T16:30:00Z",
            "actor": None,
            "note": "as it was before revisions were recorded",
            "changed": [],
            "spec": {},
        },
    ],
}
COMPARED = {
    "id": "alice/dash",
    "from_revision": 1,
    "to_revision": 2,
    "changes": [
        {"field": "description", "change": "changed", "before": "old", "after": "new", "secret": False},
        {"field": "secret_env.API_KEY", "change": "added", "before": None, "after": None, "secret": True},
    ],
}


class Launcher:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.headers["authorization"] == f"token {TOKEN}"
        path = request.url.path
        if path == "/services/japps/api/user":
            return httpx.Response(200, json={"name": "alice"})
        if (request.method, path) == ("GET", PREFIX):
            return httpx.Response(200, json=HISTORY)
        if (request.method, path) == ("GET", f"{PREFIX}/compare"):
            return httpx.Response(200, json=COMPARED)
        if (request.method, path) == ("POST", f"{PREFIX}/1/rollback"):
            if not json.loads(request.content)["restart"]:
                detail = "the app is running; send restart=true to apply the change, or stop it first"
                return httpx.Response(409, json={"detail": detail, "code": "conflict"})
            return httpx.Response(202, json={"id": "alice/dash", "state": "stopping", "done": False})
        return httpx.Response(404, json={"detail": "alice/dash has no revision 9 (kept: 1 to 2)", "field": "revision"})


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("JUPYTERHUB_URL", "http://hub.test:8000")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    launcher = Launcher()

    def hubapps(*argv: str) -> tuple[int, str, str, list[httpx.Request]]:
        launcher.requests.clear()
        status = main(list(argv), transport=httpx.MockTransport(launcher.handle))
        out, err = capsys.readouterr()
        return status, out, err, list(launcher.requests)

    return hubapps


def test_revisions_lists_the_history(run: Any) -> None:
    status, out, _, _ = run("revisions", "dash")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["REV", "WHEN", "WHO", "NOTE", "CHANGED", "SOURCE"]
    assert lines[1].startswith("2    2026-12-05 16:40 UTC  alice")
    assert "description, secret_env" in lines[1]
    assert "abababababab" in lines[1]
    assert "\x1b" not in out
    assert "(unknown)" in lines[2]
    status, out, _, _ = run("revisions", "alice/dash", "--json")
    assert (status, json.loads(out)) == (0, HISTORY)


def test_revisions_compare_shows_fields_and_never_a_secret(run: Any) -> None:
    status, out, _, requests = run("revisions", "dash", "--compare", "1", "2")
    assert status == 0
    assert dict(requests[-1].url.params) == {"from": "1", "to": "2"}
    assert out.splitlines()[0].split() == ["FIELD", "CHANGE", "REVISION", "1", "REVISION", "2"]
    assert out.splitlines()[1].split() == ["description", "changed", "old", "new"]
    assert out.splitlines()[2].split() == ["secret_env.API_KEY", "added", "(secret)", "(secret)"]
    status, out, _, _ = run("revisions", "dash", "--compare", "1", "2", "--json")
    assert json.loads(out) == COMPARED


def test_rollback_sends_restart_and_says_what_happened(run: Any) -> None:
    status, _, err, requests = run("rollback", "dash", "1")
    assert status == 1
    assert "send restart=true" in err
    assert json.loads(requests[-1].content) == {"restart": False}
    status, out, _, requests = run("rollback", "dash", "1", "--restart")
    assert (status, out) == (0, "alice/dash: rolled back to revision 1 (stopping)\n")
    assert json.loads(requests[-1].content) == {"restart": True}
    status, _, err, _ = run("rollback", "dash", "9")
    assert status == 1
    assert "revision: alice/dash has no revision 9 (kept: 1 to 2)" in err
