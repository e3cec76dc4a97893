"""Fixtures for the proxy tests: a real proxy, real test apps, and a Hub faked at the HTTP level.

Index:

- ``fake_hub``: a :class:`~tests.unit.proxy.fakehub.FakeHub` (an aiohttp server answering ``/hub/api/user``
  (token → user model), ``/hub/api/oauth2/token`` (code → token) and the activity endpoint; it records
  what it was sent).
- ``hub_env``: the ``JUPYTERHUB_*`` environment of server ``alice/my-app`` pointing at ``fake_hub``.
- ``start_proxy``: factory ``await start_proxy(app_argv, *options, env=...)`` → a started
  :class:`ProxyRuntime` listening on an ephemeral 127.0.0.1 port; all are shut down after the test.
- ``http``: an ``aiohttp.ClientSession`` that does not follow redirects or keep cookies.
- ``resource(name)``: the path of a test app in ``tests/resources``.

Tokens known to the fake Hub (see ``fakehub.py``): ``alice-token`` (owner: has access), ``bob-token`` (no
access), ``svc-token`` (a service with access via ``access:servers!user=alice``), ``root-token`` (an admin).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from jupyterhub import __version__ as jupyterhub_version

from hubapps.proxy.config import parse_config
from hubapps.proxy.server import ProxyRuntime
from tests.unit.proxy.fakehub import FakeHub as FakeHub  # re-exported: tests import it from here
from tests.unit.proxy.fakehub import running_fake_hub

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
PREFIX = "/user/alice/my-app/"
PYTHON = sys.executable


def resource(name: str) -> str:
    return str(RESOURCES / name)


@pytest.fixture
async def fake_hub() -> AsyncIterator[FakeHub]:
    async with running_fake_hub() as hub:
        yield hub


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
        argv = [
            "--ip=127.0.0.1",
            "--port=0",
            "--display-name=My <App>",
            "--stop-grace=2",
            f"--hub-version={jupyterhub_version}",  # as the spawner passes it
            *options,
        ]
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
