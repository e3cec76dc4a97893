"""The upstream app of the proxy benchmark: ``ok`` for any GET, a websocket echo at any path ending in ``/ws``.

Port: ``argv[1]`` (a path starting with ``/``: listen on that unix socket, aiohttp only). ``argv[2]`` picks the
server:

- ``aiohttp`` (default): plain aiohttp, no middleware: about the cheapest Python app there is, so the
  proxies' own cost shows at its largest;
- ``tornado``: a plain Tornado application, the server under Streamlit, Panel, Bokeh, Voila and Jupyter
  (a realistic per-request cost for the apps hubapps runs, before any framework code).
"""

import sys


def run_aiohttp(port: int | str) -> None:
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

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    if isinstance(port, str):
        web.run_app(app, path=port, print=None, access_log=None)
    else:
        web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def run_tornado(port: int) -> None:
    import asyncio
    import logging

    from tornado import web, websocket

    logging.getLogger("tornado.access").disabled = True

    class Echo(websocket.WebSocketHandler):
        def check_origin(self, origin: str) -> bool:
            return True

        def on_message(self, message: str | bytes) -> None:
            self.write_message(message, binary=isinstance(message, bytes))

    class Ok(web.RequestHandler):
        def get(self, _: str) -> None:
            self.set_header("Content-Type", "text/plain")
            self.finish(b"ok")

    async def main() -> None:
        app = web.Application([(r"/.*/ws", Echo), (r"/(.*)", Ok)])
        app.listen(port, address="127.0.0.1")
        await asyncio.Event().wait()

    asyncio.run(main())


def main() -> None:
    where = sys.argv[1]
    kind = sys.argv[2] if len(sys.argv) > 2 else "aiohttp"
    if kind == "tornado":
        run_tornado(int(where))
    else:
        run_aiohttp(where if where.startswith("/") else int(where))


if __name__ == "__main__":
    main()
