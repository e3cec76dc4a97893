"""HTTP echo app for proxy tests: answers every request with its method, path, headers and body as JSON.

Also ``/stream`` (chunks with delays, to prove streaming), ``/sse`` (server-sent events with delays),
``/redirect`` (an absolute redirect to the app's own 127.0.0.1 address), ``/gzip`` (a pre-compressed
body, to prove no decompression), ``/download?size=N`` (N bytes, streamed in 1 MiB chunks) and
``/upload`` (reads the body as a stream; answers its size and SHA-256 without keeping it) and
``/ws`` (a websocket echo; the message ``whoami`` answers the upgrade request's headers as JSON).
Port: ``argv[1]`` or ``$PORT``; an ``argv[1]`` that is a path (``/…``) is a unix socket to listen on.
"""

import asyncio
import gzip
import hashlib
import json
import os
import sys

from aiohttp import WSMsgType, web


async def stream(request: web.Request) -> web.StreamResponse:
    count = int(request.query.get("count", "3"))
    delay = float(request.query.get("delay", "0.3"))
    response = web.StreamResponse()
    response.content_type = "text/plain"
    await response.prepare(request)
    for index in range(count):
        await response.write(f"chunk {index}\n".encode())
        await asyncio.sleep(delay)
    await response.write_eof()
    return response


async def sse(request: web.Request) -> web.StreamResponse:
    count = int(request.query.get("count", "3"))
    delay = float(request.query.get("delay", "0.3"))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    for index in range(count):
        await response.write(f"event: tick\ndata: {index}\n\n".encode())
        await asyncio.sleep(delay)
    await response.write_eof()
    return response


async def download(request: web.Request) -> web.StreamResponse:
    size = int(request.query.get("size", "0"))
    chunk = b"\x5a" * (1 << 20)
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.content_length = size
    await response.prepare(request)
    left = size
    while left > 0:
        await response.write(chunk[: min(left, len(chunk))])
        left -= len(chunk)
    await response.write_eof()
    return response


async def upload(request: web.Request) -> web.StreamResponse:
    digest = hashlib.sha256()
    size = 0
    async for chunk in request.content.iter_any():
        digest.update(chunk)
        size += len(chunk)
    return web.Response(text=json.dumps({"bytes": size, "sha256": digest.hexdigest()}), content_type="application/json")


async def websocket(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return await echo(request)
    ws = web.WebSocketResponse(protocols=("echo.v2", "echo.v1"))
    await ws.prepare(request)
    async for message in ws:
        if message.type is WSMsgType.TEXT:
            answer = json.dumps(dict(request.headers.items())) if message.data == "whoami" else message.data
            await ws.send_str(answer)
        elif message.type is WSMsgType.BINARY:
            await ws.send_bytes(message.data)
    return ws


async def redirect(request: web.Request) -> web.StreamResponse:
    port = request.app["port"]
    raise web.HTTPFound(f"http://127.0.0.1:{port}/somewhere?x=1")


async def gzipped(request: web.Request) -> web.StreamResponse:
    body = gzip.compress(b"hello compressed world")
    return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"})


async def echo(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "path": request.raw_path,
            "headers": [[k, v] for k, v in request.headers.items()],
            "body": body.decode("utf-8", "replace"),
        },
        headers={"Set-Cookie": "app_cookie=1; Path=/"},
    )


def main() -> None:
    where = sys.argv[1] if len(sys.argv) > 1 else os.environ["PORT"]
    path = where if where.startswith("/") else None
    port = 0 if path else int(where)
    app = web.Application(client_max_size=1 << 40)
    app["port"] = port
    app.router.add_get("/{prefix:.*}stream", stream)
    app.router.add_get("/{prefix:.*}redirect", redirect)
    app.router.add_get("/{prefix:.*}gzip", gzipped)
    app.router.add_get("/{prefix:.*}sse", sse)
    app.router.add_get("/{prefix:.*}download", download)
    app.router.add_post("/{prefix:.*}upload", upload)
    app.router.add_get("/{prefix:.*}ws", websocket)
    app.router.add_route("*", "/{tail:.*}", echo)
    print(f"echo app listening on {path or port}", flush=True)
    if path:
        web.run_app(app, path=path, print=None, access_log=None)
    else:
        web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
