"""A hostile public app (tests/integration/test_subdomains.py): its page's script tries, in its visitor's
browser, everything issue 10's attack did, and sends whatever it obtained back to this server.

``GET`` any path: the page. ``POST …/loot``: the body is appended, one JSON line, to ``$LOOT_FILE``.
The page's script (``attacker_page.js``) reads ``$TOSS_COOKIE`` (the owner's own launcher session cookie)
from the page and
sets it with ``domain=`` on the parent domain, under the launcher's and the Hub's cookie names.
Port or unix socket: ``argv[1]`` (a path is a socket).
"""

import os
import sys
from pathlib import Path

from aiohttp import web

#: The page's script (a file of its own, next to this one).
SCRIPT = (Path(__file__).with_name("attacker_page.js")).read_text()


async def page(request: web.Request) -> web.Response:
    toss = os.environ.get("TOSS_COOKIE", "")
    victim = os.environ.get("VICTIM", "bob")
    body = (
        f'<!doctype html><html><head><title>pretty app</title></head><body data-toss="{toss}" '
        f'data-victim="{victim}"><h1>A pretty app</h1><script>{SCRIPT}</script></body></html>'
    )
    return web.Response(text=body, content_type="text/html")


async def loot(request: web.Request) -> web.Response:
    data = await request.read()
    with open(os.environ["LOOT_FILE"], "ab") as out:
        out.write(data.replace(b"\n", b" ") + b"\n")
    return web.json_response({"ok": True})


def main() -> None:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/{tail:.*loot}", loot)
    app.router.add_get("/{tail:.*}", page)
    where = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", "8080")
    if where.startswith("/"):
        web.run_app(app, path=where, print=None)
    else:
        web.run_app(app, host="127.0.0.1", port=int(where), print=None)


if __name__ == "__main__":
    main()
