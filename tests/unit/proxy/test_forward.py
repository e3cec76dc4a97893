"""HTTP and websocket forwarding to a real app."""

from __future__ import annotations

import asyncio
import gzip
import json
import time

import aiohttp
import pytest
from yarl import URL

from tests.unit.proxy.conftest import ECHO_APP, PREFIX, WS_APP, StartProxy, url

ALICE = {"Authorization": "token alice-token"}


async def test_response_is_streamed_not_buffered(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(ECHO_APP)
    started = time.monotonic()
    async with http.get(url(proxy, "stream?count=4&delay=0.4"), headers=ALICE) as response:
        assert response.status == 200
        first = await response.content.readline()
        first_at = time.monotonic() - started
        rest = await response.read()
        total = time.monotonic() - started
    assert first == b"chunk 0\n"
    assert rest.count(b"chunk") == 3
    assert total >= 1.2
    assert first_at < total - 0.8  # the first chunk came well before the end


async def test_request_body_and_method_reach_the_app(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(ECHO_APP)

    async def body() -> object:
        for part in (b"hello ", b"streamed ", b"world"):
            yield part
            await asyncio.sleep(0.01)

    target = URL(url(proxy, "upload?a=1&b=%2F"), encoded=True)
    async with http.put(target, headers=ALICE, data=body()) as response:
        seen = await response.json()
    assert seen["method"] == "PUT"
    assert seen["body"] == "hello streamed world"
    assert seen["path"] == PREFIX + "upload?a=1&b=%2F"
    headers = {k.lower(): v for k, v in seen["headers"]}
    assert headers["host"] == f"127.0.0.1:{proxy.port}"  # the viewer's Host, not the app's


async def test_strip_prefix_and_redirect_rewrite(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(ECHO_APP, "--strip-prefix")
    forged = {**ALICE, "X-Forwarded-Prefix": "/evil"}
    async with http.get(url(proxy, "some/path?q=1"), headers=forged) as response:
        seen = await response.json()
    assert seen["path"] == "/some/path?q=1"
    # Only the proxy's own prefix reaches the app, never the viewer's.
    prefixes = [v for k, v in seen["headers"] if k.lower() == "x-forwarded-prefix"]
    assert prefixes == [PREFIX.rstrip("/")]
    async with http.get(url(proxy, "redirect"), headers=ALICE, allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == PREFIX + "somewhere?x=1"


async def test_redirect_rewrite_without_strip(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(ECHO_APP)
    async with http.get(url(proxy, "redirect"), headers=ALICE, allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == "/somewhere?x=1"
    async with http.get(url(proxy, "x"), headers={**ALICE, "X-Forwarded-Prefix": "/evil"}) as response:
        seen = await response.json()
    assert not [k for k, _ in seen["headers"] if k.lower() == "x-forwarded-prefix"]


async def test_compressed_body_passes_through_and_app_cookies_reach_viewer(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(ECHO_APP)
    async with http.get(url(proxy, "gzip"), headers=ALICE) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(await response.read()) == b"hello compressed world"
    async with http.get(url(proxy, "x"), headers=ALICE) as response:
        assert response.headers["Set-Cookie"].startswith("app_cookie=1")


async def test_absolute_form_target_cannot_redirect_the_proxy(
    start_proxy: StartProxy,
) -> None:
    proxy = await start_proxy(ECHO_APP)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(
        f"GET http://example.invalid:9{PREFIX}abs HTTP/1.1\r\nHost: evil.invalid\r\n"
        "Authorization: token alice-token\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    seen = json.loads(body)
    assert seen["path"] == PREFIX + "abs"


async def test_websocket_without_credentials_is_rejected(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(WS_APP)
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await http.ws_connect(url(proxy, "ws"))
    assert caught.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await http.ws_connect(url(proxy, "ws"), headers={"Authorization": "token bob-token"})
    assert caught.value.status == 403


async def test_websocket_echo_keeps_subprotocol_and_identity(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(WS_APP)
    origin = f"http://127.0.0.1:{proxy.port}"
    async with http.ws_connect(url(proxy, "ws"), headers={**ALICE, "Origin": origin}, protocols=("echo.v1",)) as ws:
        assert ws.protocol == "echo.v1"
        await ws.send_str("hello")
        assert await ws.receive_str(timeout=5) == "hello"
        await ws.send_bytes(b"\x00\x01")
        assert await ws.receive_bytes(timeout=5) == b"\x00\x01"
        await ws.send_str("whoami")
        seen = {k.lower(): v for k, v in json.loads(await ws.receive_str(timeout=5)).items()}
        assert seen["x-hubapps-user"] == "alice"
        assert "authorization" not in seen
        await ws.send_str("close-me")
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4001


async def test_cross_site_websocket_is_refused(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(WS_APP)
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await http.ws_connect(url(proxy, "ws"), headers={**ALICE, "Origin": "https://evil.example"})
    assert caught.value.status == 403


async def test_activity_is_reported_after_traffic(
    start_proxy: StartProxy, http: aiohttp.ClientSession, fake_hub: object
) -> None:
    proxy = await start_proxy(ECHO_APP, "--activity-interval=0.2")
    async with http.get(url(proxy), headers=ALICE) as response:
        assert response.status == 200
    for _ in range(50):
        if getattr(fake_hub, "activity", None):
            break
        await asyncio.sleep(0.1)
    report = fake_hub.activity[0]  # type: ignore[attr-defined]
    assert set(report) == {"servers", "last_activity"}
    assert report["servers"]["my-app"]["last_activity"] == report["last_activity"]


@pytest.mark.parametrize("strip", [False, True])
async def test_escaped_user_names_in_the_prefix(
    start_proxy: StartProxy, http: aiohttp.ClientSession, hub_env: dict[str, str], strip: bool
) -> None:
    """The Hub escapes names in URLs; the viewer may encode them differently. Both reach the app."""
    escaped = "/user/o%3C%27%26%22%3E/my-app/"
    env = {"JUPYTERHUB_SERVICE_PREFIX": escaped, "JUPYTERHUB_OAUTH_CALLBACK_URL": escaped + "oauth_callback"}
    proxy = await start_proxy(ECHO_APP, *(["--strip-prefix"] if strip else []), env=env)
    base = f"http://127.0.0.1:{proxy.port}"
    for sent in (escaped, "/user/o%3C'%26%22%3E/my-app/"):
        target = URL(base + sent + "page?x=1", encoded=True)
        async with http.get(target, headers=ALICE) as response:
            assert response.status == 200, sent
            seen = await response.json()
        assert seen["path"] == ("/page?x=1" if strip else escaped + "page?x=1")
