"""Websocket echo app: echoes text and binary messages, accepting the first offered subprotocol of
``echo.v2`` / ``echo.v1``. Plain HTTP requests get ``ok``. Port: ``argv[1]`` or ``$PORT``; ``argv[2]``:
seconds to wait before listening (default 0: a slow start)."""

import json
import os
import sys
import time

from aiohttp import WSMsgType, web


async def handle(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return web.Response(text="ok")
    ws = web.WebSocketResponse(protocols=("echo.v2", "echo.v1"))
    await ws.prepare(request)
    async for message in ws:
        if message.type is WSMsgType.TEXT:
            if message.data == "whoami":
                await ws.send_str(json.dumps({k: v for k, v in request.headers.items()}))
            elif message.data == "close-me":
                await ws.close(code=4001, message=b"bye")
            else:
                await ws.send_str(message.data)
        elif message.type is WSMsgType.BINARY:
            await ws.send_bytes(message.data)
    return ws


def main() -> None:
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ["PORT"])
    time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    print(f"ws echo app listening on {port}", flush=True)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
