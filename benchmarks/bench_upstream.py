"""The upstream app of the proxy benchmark: ``ok`` for any GET, a websocket echo at any path ending in ``/ws``.

Plain aiohttp, no middleware, so the numbers are the proxies' own. Port: ``argv[1]``.
"""

import sys

from aiohttp import WSMsgType, web


async def handle(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Upgrade", "").lower() == "websocket":
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                await ws.send_str(message.data)
            elif message.type is WSMsgType.BINARY:
                await ws.send_bytes(message.data)
        return ws
    return web.Response(body=b"ok", content_type="text/plain")


def main() -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
