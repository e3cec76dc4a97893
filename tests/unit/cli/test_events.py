"""``hubapps events``: the requests it sends (filters, export, deleting a user's events) and what it prints,
against a fake of the launcher's events routes (``docs/api.md``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hubapps.cli import main

TOKEN = "secret-token-0123456789abcdef"
HUB = "http://hub.test:8000"
PREFIX = "/services/japps/api/"

EVENTS = [
    {
        "id": 3,
        "at": "2026-12-05T16:00:00.000000Z",
        "kind": "shared",
        "owner": "alice",
        "server": "dash",
        "actor": "alice",
        "detail": {"users": ["bob"], "groups": []},
    },
    {
        "id": 2,
        "at": "2026-12-05T15:00:00.000000Z",
        "kind": "opened",
        "owner": "alice",
        "server": "dash",
        "actor": "evil\x1b[31m",
        "detail": {},
    },
    {
        "id": 1,
        "at": "2026-12-05T14:00:00.000000Z",
        "kind": "stopped",
        "owner": "alice",
        "server": "dash",
        "actor": "",
        "detail": {},
    },
]


class FakeEvents:
    """The launcher's events routes for ``alice`` (an admin only when ``admin``)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.admin = False
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = request.url.path.removeprefix(PREFIX)
        if route == "user":
            return httpx.Response(200, json={"name": "alice", "admin": self.admin, "groups": [], "can_share": True})
        if (request.method, route) == ("GET", "events"):
            return httpx.Response(200, json={"data": EVENTS, "limit": 3, "next_before": 1})
        if (request.method, route) == ("GET", "events.jsonl"):
            body = "".join(json.dumps(e) + "\n" for e in EVENTS)
            return httpx.Response(200, content=body.encode(), headers={"content-type": "application/x-ndjson"})
        if (request.method, route) == ("DELETE", "events"):
            if not self.admin:
                return httpx.Response(
                    403, json={"detail": "only Hub admins may delete a user's events", "field": None, "code": "x"}
                )
            return httpx.Response(200, json={"user": request.url.params["user"], "deleted": 7})
        return httpx.Response(404, json={"detail": "not found", "field": None, "code": "not_found"})


@pytest.fixture
def fake() -> FakeEvents:
    return FakeEvents()


@pytest.fixture
def hubapps(fake: FakeEvents, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("JUPYTERHUB_URL", HUB)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)

    def run(*argv: str) -> tuple[int, str, str]:
        status = main(["events", *argv], transport=fake.transport)
        out, err = capsys.readouterr()
        assert TOKEN not in out + err
        return status, out, err

    return run


def test_table_of_one_apps_events(fake: FakeEvents, hubapps: Any) -> None:
    status, out, err = hubapps("dash", "--kind", "opened,shared", "--kind", "stopped", "--actor", "bob")
    assert (status, err) == (0, "")
    request = fake.requests[-1]
    assert request.url.path == PREFIX + "events"
    params = request.url.params
    assert (params["owner"], params["server"], params["actor"]) == ("alice", "dash", "bob")  # a bare name: mine
    assert params.get_list("kind") == ["opened", "shared", "stopped"]
    lines = out.splitlines()
    assert lines[0].split() == ["WHEN", "(UTC)", "APP", "KIND", "ACTOR", "DETAIL"]
    assert "2026-12-05 16:00:00  alice/dash  shared" in lines[1]
    assert lines[1].endswith("users: bob")  # empty lists left out
    assert "\x1b" not in out  # a user-chosen name cannot drive the terminal
    assert "(launcher)" in lines[3]
    assert lines[-1] == "(older events: --before 1)"


def test_owner_since_limit_and_paging(fake: FakeEvents, hubapps: Any) -> None:
    before = datetime.now(UTC)
    assert hubapps("--owner", "bob", "--since", "7d", "--limit", "5", "--before", "40")[0] == 0
    params = fake.requests[-1].url.params
    assert (params["owner"], params["limit"], params["before"]) == ("bob", "5", "40")
    since = datetime.fromisoformat(params["since"])
    assert 6.9 < (before - since).total_seconds() / 86400 < 7.1
    assert "server" not in params
    assert hubapps("--since", "2026-01-31")[0] == 0
    assert fake.requests[-1].url.params["since"] == "2026-01-31"


def test_bad_since_names_the_option(hubapps: Any) -> None:
    with pytest.raises(SystemExit):
        hubapps("--since", "yesterday-ish")


def test_json_is_the_api_page_and_jsonl_the_export(fake: FakeEvents, hubapps: Any) -> None:
    status, out, _ = hubapps("--json")
    assert status == 0
    assert json.loads(out)["next_before"] == 1
    status, out, _ = hubapps("--jsonl", "--kind", "opened")
    assert status == 0
    assert fake.requests[-1].url.path == PREFIX + "events.jsonl"
    assert fake.requests[-1].url.params["kind"] == "opened"
    assert [json.loads(line)["id"] for line in out.splitlines()] == [3, 2, 1]
    status, _, err = hubapps("--json", "--jsonl")
    assert status == 1
    assert "choose one" in err


def test_delete_user_asks_and_needs_an_admin(fake: FakeEvents, hubapps: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("builtins.input", lambda _: "n")
    status, _, err = hubapps("--delete-user", "bob")
    assert status == 1
    assert "nothing deleted" in err
    assert not any(r.method == "DELETE" for r in fake.requests)

    status, _, err = hubapps("--delete-user", "bob", "--yes")
    assert status == 1
    assert "only Hub admins may delete a user's events (HTTP 403)" in err

    fake.admin = True
    status, out, _ = hubapps("--delete-user", "bob", "--yes")
    assert status == 0
    assert out == "deleted 7 events of bob\n"
    assert fake.requests[-1].method == "DELETE"
    assert fake.requests[-1].url.params["user"] == "bob"

    status, _, err = hubapps("--delete-user", "bob", "--kind", "opened", "--yes")
    assert status == 1
    assert "give it alone" in err
