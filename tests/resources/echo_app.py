"""HTTP echo app for proxy tests: answers every request with its method, path, headers and body as JSON.

Also ``/stream`` (chunks with delays, to prove streaming), ``/redirect`` (an absolute redirect to the
app's own 127.0.0.1 address) and ``/gzip`` (a pre-compressed body, to prove no decompression).
Port: ``argv[1]`` or ``$PORT``.
"""

import asyncio
import gzip
import os
import sys

from aiohttp import web


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
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ["PORT"])
    app = web.Application()
    app["port"] = port
    app.router.add_get("/{prefix:.*}stream", stream)
    app.router.add_get("/{prefix:.*}redirect", redirect)
    app.router.add_get("/{prefix:.*}gzip", gzipped)
    app.router.add_route("*", "/{tail:.*}", echo)
    print(f"echo app listening on {port}", flush=True)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
