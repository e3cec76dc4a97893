"""The app on a unix socket in a private folder (``--app-socket``): made, used, and removed by the proxy."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
from pathlib import Path

import aiohttp
import psutil

from hubapps.proxy.process import private_socket_dir
from tests.unit.proxy.conftest import PREFIX, StartProxy, resource, url

ALICE = {"Authorization": "token alice-token"}
SOCKET_ECHO_APP = ["{python}", resource("echo_app.py"), "{socket}"]


def _listening_inet_ports(pid: int) -> list[int]:
    return [c.laddr.port for c in psutil.Process(pid).net_connections("inet") if c.status == psutil.CONN_LISTEN]


async def test_app_listens_on_a_socket_only_its_user_can_open(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(SOCKET_ECHO_APP, "--app-socket")
    process = proxy.process
    socket_path = Path(process.address.path)
    folder = socket_path.parent
    assert stat.S_ISSOCK(socket_path.stat().st_mode)
    info = folder.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == os.getuid()
    assert process.port == 0
    assert process.pid is not None
    assert _listening_inet_ports(process.pid) == []  # no loopback port to go around the proxy

    async with http.get(url(proxy, "some/path"), headers=ALICE) as response:
        assert response.status == 200
        seen = await response.json()
    assert seen["path"] == PREFIX + "some/path"
    async with http.ws_connect(url(proxy, "ws"), headers=ALICE) as ws:
        await ws.send_str("hello")
        assert (await ws.receive(timeout=10)).data == "hello"

    await proxy.shutdown()
    assert not folder.exists(), "the socket folder is removed when the proxy stops"


async def test_app_restarted_on_the_same_socket(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(SOCKET_ECHO_APP, "--app-socket", "--restart-backoff=0.1")
    first = proxy.process.pid
    assert first is not None
    os.killpg(first, signal.SIGKILL)  # leaves its socket file behind
    for _ in range(100):
        await asyncio.sleep(0.1)
        if proxy.process.pid != first and proxy.process.ready.is_set():
            break
    assert proxy.process.pid != first
    assert proxy.process.ready.is_set()
    async with http.get(url(proxy), headers=ALICE) as response:
        assert response.status == 200


async def test_tcp_apps_still_get_a_port(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(["{python}", resource("echo_app.py"), "{port}"])
    assert proxy.process.address.path == ""
    assert proxy.process.port > 0
    async with http.get(url(proxy), headers=ALICE) as response:
        assert response.status == 200


def test_private_socket_dir_uses_a_private_runtime_dir(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    folder = private_socket_dir({"XDG_RUNTIME_DIR": str(runtime)})
    assert Path(folder).parent == runtime
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    os.rmdir(folder)


def test_private_socket_dir_ignores_a_shared_runtime_dir(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    folder = private_socket_dir({"XDG_RUNTIME_DIR": str(shared)})
    assert Path(folder).parent != shared
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    os.rmdir(folder)
