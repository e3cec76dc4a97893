"""Fixtures for the proxy tests: a real proxy, real test apps, and a Hub faked at the HTTP level.

Index:

- ``fake_hub``: an aiohttp server answering ``/hub/api/user`` (token → user model),
  ``/hub/api/oauth2/token`` (code → token) and the activity endpoint; it records what it was sent.
- ``hub_env``: the ``JUPYTERHUB_*`` environment of server ``alice/my-app`` pointing at ``fake_hub``.
- ``start_proxy``: factory ``await start_proxy(app_argv, *options, env=...)`` → a started
  :class:`ProxyRuntime` listening on an ephemeral 127.0.0.1 port; all are shut down after the test.
- ``http``: an ``aiohttp.ClientSession`` that does not follow redirects or keep cookies.
- ``resource(name)``: the path of a test app in ``tests/resources``.

Tokens known to the fake Hub: ``alice-token`` (owner: has access), ``bob-token`` (no access),
``svc-token`` (a service with access via ``access:servers!user=alice``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hubapps.proxy.config import parse_config
from hubapps.proxy.server import ProxyRuntime

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
PREFIX = "/user/alice/my-app/"
PYTHON = sys.executable

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
}
CODES = {"good-code": "alice-token", "bob-code": "bob-token"}


def resource(name: str) -> str:
    return str(RESOURCES / name)


class FakeHub:
    """The Hub's HTTP API, as far as the proxy uses it."""

    def __init__(self) -> None:
        self.token_lookups: list[str] = []
        self.code_exchanges: list[dict[str, str]] = []
        self.activity: list[dict[str, Any]] = []
        #: Activity reports to answer with 503 before accepting them (to test retries).
        self.activity_failures = 0
        self.activity_attempts = 0
        self.server: TestServer | None = None
        app = web.Application()
        app.router.add_get("/hub/api/user", self.user)
        app.router.add_post("/hub/api/oauth2/token", self.token)
        app.router.add_post("/hub/api/users/alice/activity", self.report_activity)
        self.app = app

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    async def user(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "").removeprefix("token ")
        self.token_lookups.append(token)
        if token in USERS:
            return web.json_response(USERS[token])
        return web.json_response({"status": 403, "message": "no"}, status=403)

    async def token(self, request: web.Request) -> web.StreamResponse:
        form = dict(await request.post())
        self.code_exchanges.append({k: str(v) for k, v in form.items()})
        if form.get("client_secret") != "server-token" or form.get("code") not in CODES:
            return web.json_response({"error": "invalid_grant"}, status=400)
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


@pytest.fixture
async def fake_hub() -> AsyncIterator[FakeHub]:
    hub = FakeHub()
    hub.server = TestServer(hub.app, host="127.0.0.1")
    await hub.server.start_server()
    try:
        yield hub
    finally:
        await hub.server.close()


@pytest.fixture
def hub_env(fake_hub: FakeHub, tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "JUPYTERHUB_API_TOKEN": "server-token",
        "JUPYTERHUB_API_URL": fake_hub.url + "/hub/api",
        "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-alice-my-app",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": PREFIX + "oauth_callback",
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": '["access:servers!server=alice/my-app", "access:servers!user=alice"]',
        "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
        "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:0" + PREFIX,
        "JUPYTERHUB_HOST": "",
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_USER": "alice",
        "JUPYTERHUB_SERVER_NAME": "my-app",
        "JUPYTERHUB_ACTIVITY_URL": fake_hub.url + "/hub/api/users/alice/activity",
    }


StartProxy = Callable[..., Awaitable[ProxyRuntime]]


@pytest.fixture
async def start_proxy(hub_env: dict[str, str], tmp_path: Path) -> AsyncIterator[StartProxy]:
    runtimes: list[ProxyRuntime] = []

    async def start(
        app_argv: list[str],
        *options: str,
        env: dict[str, str] | None = None,
        wait_ready: bool = True,
    ) -> ProxyRuntime:
        argv = ["--ip=127.0.0.1", "--port=0", "--display-name=My <App>", "--stop-grace=2", *options]
        full_env = {**hub_env, **(env or {})}
        config = parse_config([*argv, "--", *app_argv], full_env)
        runtime = ProxyRuntime(config, full_env, base_dir=str(tmp_path))
        runtimes.append(runtime)
        await runtime.start()
        if wait_ready:
            await asyncio.wait_for(runtime.process.ready.wait(), 15)
        return runtime

    try:
        yield start
    finally:
        for runtime in runtimes:
            await runtime.shutdown()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=20),
        auto_decompress=False,
    ) as session:
        yield session


def url(runtime: ProxyRuntime, path: str = "") -> str:
    return f"http://127.0.0.1:{runtime.port}{PREFIX}{path}"


ECHO_APP = ["{python}", resource("echo_app.py"), "{port}"]
WS_APP = ["{python}", resource("ws_echo_app.py"), "{port}"]
