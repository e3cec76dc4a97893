"""The Hub's HTTP API faked at the HTTP level, as far as the proxy uses it.

Kept apart from ``conftest.py`` so tests of the auth gate and the Hub client need nothing else of the
proxy. ``conftest.py`` turns it into the ``fake_hub`` fixture (:func:`running_fake_hub`).

Tokens known to the fake Hub: ``alice-token`` (owner: has access), ``bob-token`` (no access),
``svc-token`` (a service with access via ``access:servers!user=alice``), ``root-token`` (an admin whose
model has roles). OAuth codes: :data:`CODES`, each taken once per fake Hub, as the real Hub does.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from hubapps.core import statuskey
from hubapps.core.reports import REPORT_PATH, report_sub

USERS: dict[str, dict[str, Any]] = {
    "alice-token": {
        "kind": "user",
        "name": "alice",
        "groups": ["team-a", "team<b>"],
        "scopes": ["access:servers!server=alice/my-app", "read:users!user=alice"],
    },
    "bob-token": {
        "kind": "user",
        "name": "bob<'&\">",
        "groups": [],
        "scopes": ["access:servers!server=bob/other"],
    },
    "svc-token": {
        "kind": "service",
        "name": "japps",
        "scopes": ["access:servers!user=alice"],
    },
    "root-token": {
        "kind": "user",
        "name": "root",
        "admin": True,
        "roles": ["admin", "user"],
        "groups": ["ops"],
        "scopes": ["access:servers", "admin:users"],
    },
}
CODES = {"good-code": "alice-token", "bob-code": "bob-token"}
#: The Hub's status key ``K``; the proxy under test holds ``app_key(K, "alice", "my-app")``.
STATUS_KEY = bytes(range(32))
APP_KEY = statuskey.app_key(STATUS_KEY, "alice", "my-app")


class FakeHub:
    """The Hub's HTTP API, as far as the proxy uses it; it records what it was sent."""

    def __init__(self) -> None:
        self.token_lookups: list[str] = []
        self.code_exchanges: list[dict[str, str]] = []
        self.used_codes: set[str] = set()
        #: token → user model; a copy of :data:`USERS` that tests may change (revoke a token, drop a scope).
        self.users: dict[str, dict[str, Any]] = copy.deepcopy(USERS)
        #: Status ``/hub/api/user`` answers with instead of looking the token up (0: look it up).
        self.user_failure = 0
        self.activity: list[dict[str, Any]] = []
        #: Activity reports to answer with 503 before accepting them (to test retries).
        self.activity_failures = 0
        self.activity_attempts = 0
        #: Seconds ``/hub/api/user`` waits before answering (to test timeouts and shared lookups).
        self.user_delay = 0.0
        #: Reports the fake launcher service took (``/services/japps/api/internal/reports``), and the
        #: headers of every report request; reports to answer with 503 before taking them.
        self.reports: list[dict[str, Any]] = []
        self.report_headers: list[dict[str, str]] = []
        self.report_failures = 0
        #: Ports told to batchspawner's API handler (``/hub/api/batchspawner``), and how many posts to
        #: answer with 404 first (as a Hub without batchspawner does).
        self.ports: list[Any] = []
        self.port_failures = 0
        self.server: TestServer | None = None
        app = web.Application()
        app.router.add_get("/hub/api/user", self.user)
        app.router.add_post("/hub/api/oauth2/token", self.token)
        app.router.add_post("/hub/api/users/alice/activity", self.report_activity)
        app.router.add_post("/services/japps/" + REPORT_PATH, self.take_report)
        app.router.add_post("/hub/api/batchspawner", self.take_port)
        self.app = app

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    async def user(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "").removeprefix("token ")
        self.token_lookups.append(token)
        if self.user_delay:
            await asyncio.sleep(self.user_delay)
        if self.user_failure:
            return web.json_response({"message": "down"}, status=self.user_failure)
        if token in self.users:
            return web.json_response(self.users[token])
        return web.json_response({"status": 403, "message": "no"}, status=403)

    async def token(self, request: web.Request) -> web.StreamResponse:
        form = dict(await request.post())
        self.code_exchanges.append({k: str(v) for k, v in form.items()})
        code = str(form.get("code", ""))
        if form.get("client_secret") != "server-token" or code not in CODES or code in self.used_codes:
            return web.json_response({"error": "invalid_grant"}, status=400)
        self.used_codes.add(code)
        return web.json_response({"access_token": CODES[str(form["code"])], "token_type": "Bearer"})

    async def report_activity(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != "token server-token":
            return web.json_response({}, status=403)
        self.activity_attempts += 1
        if self.activity_failures > 0:
            self.activity_failures -= 1
            return web.json_response({"message": "busy"}, status=503)
        self.activity.append(await request.json())
        return web.Response(status=204)

    async def take_port(self, request: web.Request) -> web.StreamResponse:
        """batchspawner's API handler: the server's token sets its spawner's attributes (here: the port)."""
        if request.headers.get("Authorization") != "token server-token":
            return web.json_response({}, status=403)
        if self.port_failures > 0:
            self.port_failures -= 1
            return web.json_response({"message": "Not Found"}, status=404)
        self.ports.append((await request.json())["port"])
        return web.json_response({"message": "BatchSpawner data configured"}, status=201)

    async def take_report(self, request: web.Request) -> web.StreamResponse:
        """The launcher service's report endpoint: signed with alice/my-app's key (:data:`STATUS_KEY`)."""
        body = await request.read()
        self.report_headers.append(dict(request.headers))
        report = json.loads(body)
        key = statuskey.app_key(STATUS_KEY, report["owner"], report["server"])
        if not statuskey.verify(key, request.headers.get(statuskey.HEADER, ""), "POST", report_sub(body)):
            return web.json_response({"detail": "not found"}, status=404)
        if self.report_failures > 0:
            self.report_failures -= 1
            return web.json_response({"detail": "busy"}, status=503)
        self.reports.append(report)
        return web.Response(status=204)


@contextlib.asynccontextmanager
async def running_fake_hub() -> AsyncIterator[FakeHub]:
    """A :class:`FakeHub` listening on an ephemeral 127.0.0.1 port for the duration of the block."""
    hub = FakeHub()
    hub.server = TestServer(hub.app, host="127.0.0.1")
    await hub.server.start_server()
    try:
        yield hub
    finally:
        await hub.server.close()
