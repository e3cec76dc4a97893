"""JupyterHub's ``internal_ssl``: with ``JUPYTERHUB_SSL_*`` set, the proxy listens with TLS and lets in only
clients with a certificate signed by the internal CA (the Hub and its proxy), as jupyterhub-singleuser."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import sys
from pathlib import Path

import pytest
import websockets

from tests.unit.proxy.certs import Certs, make_certs
from tests.unit.proxy.conftest import ECHO_APP, PREFIX, WS_APP, StartProxy

REQUEST = f"GET {PREFIX}tls HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token alice-token\r\n\r\n".encode()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def _client(certs: Certs, *, with_certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(certs["ca"]))
    if with_certificate:
        context.load_cert_chain(certs["proxy"], certs["proxy-key"])
    return context


def _tls_env(certs: Certs) -> dict[str, str]:
    # The server's certificate (SAN 127.0.0.1) as the proxy's own; the internal CA for its clients.
    return {
        "JUPYTERHUB_SSL_CERTFILE": str(certs["hub"]),
        "JUPYTERHUB_SSL_KEYFILE": str(certs["hub-key"]),
        "JUPYTERHUB_SSL_CLIENT_CA": str(certs["ca"]),
    }


async def test_internal_ssl_serves_https_to_clients_of_the_internal_ca(start_proxy: StartProxy, certs: Certs) -> None:
    proxy = await start_proxy(ECHO_APP, env=_tls_env(certs))
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", proxy.port, ssl=_client(certs, with_certificate=True), server_hostname="127.0.0.1"
    )
    try:
        writer.write(REQUEST)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"X-JupyterHub-Version" in head
    finally:
        writer.close()


async def test_internal_ssl_refuses_clients_without_a_certificate(start_proxy: StartProxy, certs: Certs) -> None:
    proxy = await start_proxy(ECHO_APP, env=_tls_env(certs))
    with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):  # noqa: PT012
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", proxy.port, ssl=_client(certs, with_certificate=False), server_hostname="127.0.0.1"
        )
        writer.write(REQUEST)
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)


async def test_plain_http_is_not_answered_under_internal_ssl(start_proxy: StartProxy, certs: Certs) -> None:
    proxy = await start_proxy(ECHO_APP, env=_tls_env(certs))
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        writer.write(REQUEST)
        data = await asyncio.wait_for(reader.read(), 10)
        assert not data.startswith(b"HTTP/1.1 200")
    finally:
        writer.close()


def _websocket(port: int, certs: Certs) -> websockets.connect:
    """A websocket to the proxy's echo app over TLS, with the owner's token and an internal-CA certificate."""
    return websockets.connect(
        f"wss://127.0.0.1:{port}{PREFIX}ws",
        ssl=_client(certs, with_certificate=True),
        additional_headers={"Authorization": "token alice-token"},
        open_timeout=5,
    )


async def test_websocket_through_internal_ssl(start_proxy: StartProxy, certs: Certs) -> None:
    """The websocket splice works on TLS transports too."""
    proxy = await start_proxy(WS_APP, env=_tls_env(certs))
    async with _websocket(proxy.port, certs) as ws:
        for message in ("one", "two" * 10_000):
            await ws.send(message)
            assert await asyncio.wait_for(ws.recv(), 10) == message


async def test_websocket_through_internal_ssl_on_uvloop(hub_env: dict[str, str], certs: Certs, tmp_path: Path) -> None:
    """The same as the proxy runs in production: its own process, on uvloop (whose TLS transports are its own)."""
    port = unused_port()
    env = {**os.environ, **hub_env, **_tls_env(certs), "HUBAPPS_PROXY_LOOP": "uvloop"}
    argv = [sys.executable, "-m", "hubapps.proxy.main", "--ip=127.0.0.1", f"--port={port}", "--", *WS_APP]
    proxy = await asyncio.create_subprocess_exec(*argv, env=env, cwd=str(tmp_path), stderr=asyncio.subprocess.DEVNULL)
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            try:
                async with _websocket(port, certs) as ws:
                    await ws.send("over tls on uvloop")
                    assert await asyncio.wait_for(ws.recv(), 10) == "over tls on uvloop"
                    break
            except (OSError, websockets.InvalidStatus, websockets.InvalidMessage):
                assert asyncio.get_running_loop().time() < deadline, "the proxy did not serve the websocket"
                await asyncio.sleep(0.2)  # not listening yet, or the app still starting (503)
    finally:
        proxy.terminate()
        assert await asyncio.wait_for(proxy.wait(), 15) == 0


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
