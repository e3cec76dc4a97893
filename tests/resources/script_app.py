"""An app that serves a script at every path (what a hostile app could try to get a launcher page to run).

The script marks the page it runs in (``window.hubappsAppScriptRan = true``). Listens on the unix socket
``argv[1]`` (a path) or the port ``argv[1]``.
"""

import sys

from aiohttp import web

SCRIPT = "window.hubappsAppScriptRan = true;\n"


async def script(request: web.Request) -> web.Response:
    return web.Response(text=SCRIPT, content_type="text/javascript")


def main() -> None:
    where = sys.argv[1]
    app = web.Application()
    app.router.add_get("/{tail:.*}", script)
    print(f"script app listening on {where}", flush=True)
    if where.startswith("/"):
        web.run_app(app, path=where, print=None, access_log=None)
    else:
        web.run_app(app, host="127.0.0.1", port=int(where), print=None, access_log=None)


if __name__ == "__main__":
    main()
