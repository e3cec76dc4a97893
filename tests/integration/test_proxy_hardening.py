"""hubapps-proxy against a hostile world, through the real Hub: logins cannot be locked out by anonymous
traffic, open websockets end when access does (and at their maximum age), and the proxy, which holds the
server's Hub token, runs isolated from the owner's Python customisations and cannot be read by the app.

The Hub here is the module's own: the shared configuration plus a short auth cache
(``HubApps.auth_cache_max_age = 2``) and websocket lifetime (``HubApps.websocket_max_age``), admin
settings the spawner passes to every proxy. The uid test starts the proxy as a real local user (created
with ``useradd``), so it needs root; without root it is skipped (it cannot run, it did not pass).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psutil
import pytest
import websockets
from jupyterhub.spawner import LocalProcessSpawner
from websockets.sync.client import connect as ws_connect

from hubapps.hub.config import HubApps
from tests.integration.conftest import Hub, browser_visit, free_ports, own_hub, ws_url

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
OWNER = "hardening-owner"
FRIEND = "hardening-friend"
VIEWER = "hardening-viewer"
ECHO = "echo"
WS = "ws-echo"
CACHE_MAX_AGE = 2
WEBSOCKET_MAX_AGE = 7
#: Beyond a limit, what a close may take: one sweep (a quarter of the limit), the Hub's answer, CHP.
SLACK = 1.5
ANONYMOUS_REQUESTS = 10_500
CONFIG = f"""\
c = get_config()  # noqa: F821
load_subconfig({{main!r}})  # noqa: F821
c.HubApps.auth_cache_max_age = {CACHE_MAX_AGE}
c.HubApps.websocket_max_age = {WEBSOCKET_MAX_AGE}
"""


def command_spec(display_name: str, script: str) -> dict[str, Any]:
    return {
        "spec_version": 1,
        "framework": "command",
        "display_name": display_name,
        "command": ["{python}", str(RESOURCES / script), "{port}"],
    }


@pytest.fixture(scope="module")
def hardened_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("hardened-hub"), CONFIG) as running:
        yield running


@pytest.fixture(scope="module")
def apps(hardened_hub: Hub) -> Iterator[dict[str, str]]:
    hub = hardened_hub
    token = hub.token_for(OWNER)
    specs = {ECHO: command_spec("Echo", "echo_app.py"), WS: command_spec("Websocket echo", "ws_echo_app.py")}
    for server, spec in specs.items():
        assert hub.start_app(OWNER, server, spec, token=token).status_code in (201, 202)
    try:
        for server in specs:
            hub.wait_ready(OWNER, server)
            hub.wait_app(OWNER, server, token)
        yield {server: hub.app_url(OWNER, server) for server in specs}
    finally:
        for server in specs:
            hub.stop_app(OWNER, server, remove=True)


def _logged_in_visit(hub: Hub, url: str) -> httpx.Response:
    """Log in to the Hub as the owner, then open ``url`` (the app's own login runs through the Hub)."""
    browser = hub.login(OWNER)
    try:
        response = browser_visit(browser, url)
        response.read()
        return response
    finally:
        browser.close()


# -- requirement: nobody can lock viewers out of an app's login --------------------------------------


async def _anonymous_page_loads(url: str, count: int, statuses: Counter[int]) -> None:
    """``count`` anonymous browser page loads (each starts a login at the proxy), 32 at a time."""
    jobs = iter(range(count))
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=30)
    ) as session:

        async def worker() -> None:
            for number in jobs:
                target = f"{url}page-{number}"
                async with session.get(target, headers={"Accept": "text/html"}, allow_redirects=False) as response:
                    statuses[response.status] += 1

        await asyncio.gather(*(worker() for _ in range(32)))


@pytest.mark.timeout(120)
def test_a_real_login_succeeds_while_10000_anonymous_logins_start(hardened_hub: Hub, apps: dict[str, str]) -> None:
    statuses: Counter[int] = Counter()
    flood = threading.Thread(
        target=lambda: asyncio.run(_anonymous_page_loads(apps[ECHO], ANONYMOUS_REQUESTS, statuses)), daemon=True
    )
    started = time.monotonic()
    flood.start()
    logins = [_logged_in_visit(hardened_hub, apps[ECHO] + "during")]
    flood.join(90)
    assert not flood.is_alive(), f"the anonymous requests took over 90 s: {statuses}"
    # Every login the flood started is still within its 10 minutes: no table of them may be full now.
    logins.append(_logged_in_visit(hardened_hub, apps[ECHO] + "after"))
    assert statuses == Counter({302: ANONYMOUS_REQUESTS}), statuses  # each one sent to log in, none refused
    for response, page in zip(logins, ("during", "after"), strict=True):
        assert response.status_code == 200, response.text[:300]
        assert response.json()["path"] == f"/{page}"
    assert time.monotonic() - started < 100


# -- requirement: revoked access ends open websockets --------------------------------------------


def _closed_within(ws: Any, timeout: float) -> float:
    """Seconds until ``ws`` is closed by the other end; fails if it is still open after ``timeout``."""
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            ws.send("ping")
            assert ws.recv(timeout=max(0.1, timeout - (time.monotonic() - started))) == "ping"
            time.sleep(0.1)
    except websockets.ConnectionClosed:
        return time.monotonic() - started
    raise AssertionError(f"the websocket is still open after {timeout:g} s")


def test_withdrawn_share_closes_the_open_websocket(hardened_hub: Hub, apps: dict[str, str]) -> None:
    hub = hardened_hub
    friend = FRIEND + "-" + secrets.token_hex(3)
    share = f"shares/{OWNER}/{WS}"
    friend_token = hub.token_for(friend)
    owner_token = hub.token_for(OWNER)
    assert hub.api("POST", share, json={"user": friend}).status_code == 200
    url = ws_url(apps[WS] + "socket")
    with (
        ws_connect(url, additional_headers={"Authorization": f"token {friend_token}"}, open_timeout=20) as shared,
        ws_connect(url, additional_headers={"Authorization": f"token {owner_token}"}, open_timeout=20) as owners,
    ):
        opened = time.monotonic()
        shared.send("hello")
        assert shared.recv(timeout=10) == "hello"
        assert hub.api("PATCH", share, json={"user": friend}).status_code == 200  # the share is withdrawn
        took = _closed_within(shared, CACHE_MAX_AGE + SLACK)
        assert time.monotonic() - opened < WEBSOCKET_MAX_AGE - 1  # closed for the share, not for its age
        owners.send("still here")
        assert owners.recv(timeout=10) == "still here"
    assert took < CACHE_MAX_AGE + SLACK
    # And it cannot come back: the upgrade is refused now.
    with pytest.raises(websockets.InvalidStatus) as refused:
        ws_connect(url, additional_headers={"Authorization": f"token {friend_token}"}, open_timeout=20)
    assert refused.value.response.status_code == 403


def test_revoked_token_closes_the_open_websocket(hardened_hub: Hub, apps: dict[str, str]) -> None:
    hub = hardened_hub
    token = hub.token_for(OWNER)
    tokens = hub.api("GET", f"users/{OWNER}/tokens").json()["api_tokens"]
    (token_id,) = [t["id"] for t in tokens if t["note"] == "integration test" and t.get("last_activity") is None]
    with ws_connect(ws_url(apps[WS] + "socket"), additional_headers={"Authorization": f"token {token}"}) as ws:
        ws.send("hello")
        assert ws.recv(timeout=10) == "hello"
        assert hub.api("DELETE", f"users/{OWNER}/tokens/{token_id}").status_code == 204
        assert _closed_within(ws, CACHE_MAX_AGE + SLACK) < CACHE_MAX_AGE + SLACK


def test_websocket_is_closed_at_its_maximum_age(hardened_hub: Hub, apps: dict[str, str]) -> None:
    token = hardened_hub.token_for(OWNER)
    with ws_connect(ws_url(apps[WS] + "socket"), additional_headers={"Authorization": f"token {token}"}) as ws:
        opened = time.monotonic()
        lived = _closed_within(ws, WEBSOCKET_MAX_AGE + SLACK)
    assert WEBSOCKET_MAX_AGE - 0.5 <= time.monotonic() - opened < WEBSOCKET_MAX_AGE + SLACK, lived


# -- requirement: the Hub token withheld from the app stays withheld --------------------------------

UID_USER = "hubapps-uidtest"
PLANTED = """\
import os, pathlib
if os.environ.get("JUPYTERHUB_API_TOKEN"):
    pathlib.Path({marker!r}).write_text(repr(dict(os.environ)))
"""
READ_ENVIRON = """\
import sys
try:
    data = open(f"/proc/{sys.argv[1]}/environ", "rb").read()
except PermissionError:
    print("denied")
else:
    print(data.replace(b"\\0", b"\\n").decode("utf-8", "replace"))
"""


@pytest.fixture(scope="module")
def system_user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        pytest.skip("needs root: creates a local user and runs the proxy as that user")
    try:
        return pwd.getpwnam(UID_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", UID_USER], check=True)
        return pwd.getpwnam(UID_USER)


@pytest.fixture(scope="module")
def user_site_python() -> Iterator[str]:
    """A Python that honours user site-packages (as a conda or system Python does; a plain virtualenv does
    not), with this checkout's packages, readable by every user: the interpreter an image would have."""
    base = Path(tempfile.mkdtemp(prefix="hubapps-usersite-", dir="/tmp"))
    try:
        base.chmod(0o755)
        subprocess.run(
            ["/usr/bin/python3", "-m", "venv", "--without-pip", "--system-site-packages", str(base)], check=True
        )
        site_packages = subprocess.run(
            [str(base / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        ours = subprocess.run(
            [sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        Path(site_packages, "hubapps-tests.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
        yield str(base / "bin" / "python")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _as_user(user: pwd.struct_passwd, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        cwd=user.pw_dir,
        env={"PATH": "/usr/bin:/bin", "HOME": user.pw_dir},
        capture_output=True,
        text=True,
        timeout=30,
        **kwargs,
    )


def _spawner_command(python: str) -> list[str]:
    """The proxy command the spawner mixin gives a local spawner, with ``python`` as the Hub's Python."""
    command = HubApps().proxy_command_for(LocalProcessSpawner)
    return [python if part == sys.executable else part for part in command]


def test_proxy_runs_isolated_and_undumpable_and_the_app_gets_no_token(
    system_user: pwd.struct_passwd, user_site_python: str
) -> None:
    user = system_user
    marker = Path(user.pw_dir) / "planted-code-ran"
    marker.unlink(missing_ok=True)
    site = _as_user(user, [user_site_python, "-m", "site", "--user-site"], check=True).stdout.strip()
    planted = PLANTED.format(marker=str(marker))
    _as_user(
        user,
        [
            user_site_python,
            "-c",
            (
                "import pathlib, sys; site = pathlib.Path(sys.argv[1]); site.mkdir(parents=True, exist_ok=True);"
                "(site / 'usercustomize.py').write_text(sys.argv[2]);"
                "(site / 'zz-hubapps-planted.pth').write_text('import os; exec(' + repr(sys.argv[2]) + ')')"
            ),
            site,
            planted,
        ],
        check=True,
    )
    # The planted code does run in an ordinary Python of the owner's that holds a token:
    check = subprocess.run(
        [user_site_python, "-c", "pass"],
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        cwd=user.pw_dir,
        env={"PATH": "/usr/bin:/bin", "HOME": user.pw_dir, "JUPYTERHUB_API_TOKEN": "probe"},
        timeout=30,
    )
    assert check.returncode == 0
    assert marker.exists(), "the planted usercustomize/.pth did not run in a plain Python: the test proves nothing"
    marker.unlink()

    hub_token = "hub-token-" + secrets.token_hex(16)
    port, app_port = free_ports(2)
    prefix = f"/user/{UID_USER}/app/"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": user.pw_dir,
        "USER": UID_USER,
        "JUPYTERHUB_API_TOKEN": hub_token,
        "JPY_API_TOKEN": hub_token,
        "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",
        "JUPYTERHUB_CLIENT_ID": f"jupyterhub-user-{UID_USER}-app",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": prefix + "oauth_callback",
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": f'["access:servers!server={UID_USER}/app"]',
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}{prefix}",
        "JUPYTERHUB_USER": UID_USER,
        "JUPYTERHUB_SERVER_NAME": "app",
        "HUBAPPS_APP_ENV": '{"APP_SETTING": "1"}',
        # PYTHON* variables of the server's environment do not reach the proxy's interpreter either.
        "PYTHONSTARTUP": str(Path(site) / "usercustomize.py"),
        "PYTHONINSPECT": "",
    }
    argv = [
        *_spawner_command(user_site_python),
        "--display-name=uid test",
        "--stop-grace=1",
        "--",
        "{python}",
        str(RESOURCES / "env_dump_app.py"),
        str(app_port),
    ]
    proxy = subprocess.Popen(
        argv,
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        cwd=user.pw_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        app: psutil.Process | None = None
        while app is None and time.monotonic() < deadline:
            assert proxy.poll() is None, proxy.stdout.read().decode() if proxy.stdout else ""
            children = psutil.Process(proxy.pid).children()
            app = next((c for c in children if "env_dump_app.py" in " ".join(c.cmdline())), None)
            time.sleep(0.1)
        assert app is not None, "the proxy did not start the app"
        time.sleep(0.5)  # the proxy is well past its start
        assert not marker.exists(), f"planted code ran inside the proxy: {marker.read_text()[:300]}"
        # The app's uid cannot read the proxy's environment (the Hub token is in it) ...
        read_proxy = _as_user(user, [user_site_python, "-I", "-c", READ_ENVIRON, str(proxy.pid)])
        assert read_proxy.stdout.strip() == "denied", read_proxy.stdout[:300] + read_proxy.stderr[-300:]
        # ... and the app's own environment has no token and none of the proxy's variables.
        read_app = _as_user(user, [user_site_python, "-I", "-c", READ_ENVIRON, str(app.pid)])
        app_env = read_app.stdout
        assert "APP_SETTING=1" in app_env, app_env[:500]
        assert hub_token not in app_env
        assert "JUPYTERHUB_API_TOKEN" not in app_env
        assert "JPY_API_TOKEN" not in app_env
        assert "HUBAPPS_APP_ENV" not in app_env
    finally:
        proxy.terminate()
        try:
            proxy.wait(15)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()
        if proxy.stdout is not None:
            proxy.stdout.close()
