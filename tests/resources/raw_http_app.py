"""A hand-written HTTP/1.1 app for the proxy's wire-level tests: it answers exactly the bytes a route
says, including wrong ones, and keeps a log of the requests it received in full.

Routes (the last path segment; any prefix before it is ignored):

- ``log``: JSON list of ``"METHOD target"`` of every complete request received so far (not ``log`` itself);
- ``echo`` (and anything unknown): JSON ``{method, target, headers, body}`` with a ``Content-Length``
  (``?delay=S`` waits first);
- ``fixed?size=N``: N bytes ``x`` with a ``Content-Length`` (HEAD: the same head, no body);
- ``download?size=N[&framing=length|chunked|close]``: N deterministic bytes (:func:`pattern`) in 64 KiB
  writes that respect back-pressure, framed by length (default), chunked, or by closing the connection;
- ``status?code=N``: an empty answer with that status (204 and 304 carry no length);
- ``set-cookie?c=<Set-Cookie value>&c=...``: ``200 ok`` with one ``Set-Cookie`` header per ``c``;
- ``early-hints``: a ``103 Early Hints`` interim answer, then ``200`` with body ``ok``;
- ``drop-next``: ``200 ok``, then the next request on the same connection is read (logged as
  ``DROPPED <request line>``) and the connection closed without an answer (an app that closed an idle
  keep-alive connection just as a request came);
- ``close-soon``: ``200 ok`` (keep-alive), then the connection is closed 50 ms later;
- ``truncated``: announces 100 bytes, sends 10 and closes;
- ``malformed-head``: an answer that is not HTTP; ``malformed-body``: a valid chunked head, then a bad
  chunk size after some body;
- ``refuse-upgrade``: ``403`` with a body, even to a websocket upgrade (the connection stays open);
- ``raw-upgrade``: ``101`` and ``hello-from-app`` in the same write, then echoes every byte it gets.

Port: ``argv[1]``.
"""

import asyncio
import hashlib
import json
import sys
from urllib.parse import parse_qsl, urlsplit

LOG: list[str] = []


def pattern(size: int) -> bytes:
    """``size`` deterministic bytes in which a lost, repeated or reordered piece shows."""
    return hashlib.shake_128(b"hubapps").digest(size)


class Request:
    def __init__(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.method, self.target, self.headers, self.body = method, target, headers, body
        parts = urlsplit(target)
        self.route = parts.path.rsplit("/", 1)[-1]
        self.query = dict(parse_qsl(parts.query))

    def header(self, name: str) -> str:
        return ", ".join(v for k, v in self.headers if k.lower() == name.lower())


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next complete request, or None when the connection ends first."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines[1:])]
        request = Request(method, target, headers, b"")
        if "chunked" in request.header("Transfer-Encoding").lower():
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                        pass
                    break
                parts.append((await reader.readexactly(size + 2))[:-2])
            request.body = b"".join(parts)
        elif request.header("Content-Length"):
            request.body = await reader.readexactly(int(request.header("Content-Length")))
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        return None
    return request


def answer(status: str, body: bytes = b"", headers: tuple[tuple[str, str], ...] = (), *, head: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else body)


async def download(request: Request, writer: asyncio.StreamWriter) -> bool:
    """Send the download; False when the connection must close afterwards."""
    data = pattern(int(request.query.get("size", "0")))
    framing = request.query.get("framing", "length")
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
    if framing == "length":
        head += f"Content-Length: {len(data)}\r\n"
    elif framing == "chunked":
        head += "Transfer-Encoding: chunked\r\n"
    writer.write((head + "\r\n").encode())
    for start in range(0, len(data), 65536):
        piece = data[start : start + 65536]
        writer.write(b"%x\r\n%b\r\n" % (len(piece), piece) if framing == "chunked" else piece)
        await writer.drain()
    if framing == "chunked":
        writer.write(b"0\r\n\r\n")
    return framing != "close"


async def respond(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Answer ``request``; False when the connection must close afterwards."""
    route, head = request.route, request.method == "HEAD"
    if route == "log":
        writer.write(answer("200 OK", json.dumps(LOG).encode(), (("Content-Type", "application/json"),)))
    elif route == "set-cookie":
        cookies = [value for key, value in parse_qsl(urlsplit(request.target).query) if key == "c"]
        writer.write(answer("200 OK", b"ok", tuple(("Set-Cookie", value) for value in cookies)))
    elif route == "fixed":
        writer.write(answer("200 OK", b"x" * int(request.query.get("size", "0")), head=head))
    elif route == "download":
        return await download(request, writer)
    elif route == "status":
        code = int(request.query.get("code", "200"))
        writer.write(f"HTTP/1.1 {code} Whatever\r\n\r\n".encode() if code in (204, 304) else answer(f"{code} Whatever"))
    elif route == "early-hints":
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(answer("200 OK", b"ok"))
    elif route == "drop-next":
        writer.write(answer("200 OK", b"ok"))
        await writer.drain()
        dropped = await reader.readuntil(b"\r\n\r\n")
        LOG.append("DROPPED " + dropped.decode("latin-1").split("\r\n")[0])
        return False
    elif route == "close-soon":
        writer.write(answer("200 OK", b"ok"))
        await writer.drain()
        await asyncio.sleep(0.05)
        return False
    elif route == "truncated":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        return False
    elif route == "malformed-head":
        writer.write(b"this is not HTTP\r\n\r\n")
        return False
    elif route == "malformed-body":
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"zz\r\nbroken\r\n")
        await writer.drain()
        await asyncio.sleep(0.5)
        return False
    elif route == "refuse-upgrade":
        writer.write(answer("403 Forbidden", b"no websockets here", (("Content-Type", "text/plain"),)))
    elif route == "raw-upgrade":
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello-from-app"
        )
        while data := await reader.read(65536):
            writer.write(data)
        return False
    else:
        await asyncio.sleep(float(request.query.get("delay", "0")))
        seen = {"method": request.method, "target": request.target, "headers": request.headers}
        body = json.dumps({**seen, "body": request.body.decode("latin-1")}).encode()
        writer.write(answer("200 OK", body, (("Content-Type", "application/json"),), head=head))
    return "close" not in request.header("Connection").lower()


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while (request := await read_request(reader)) is not None:
            if request.route != "log":
                LOG.append(f"{request.method} {request.target}")
            keep_open = await respond(request, reader, writer)
            await writer.drain()
            if not keep_open:
                break
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main() -> None:
    port = int(sys.argv[1])
    server = await asyncio.start_server(serve, "127.0.0.1", port, limit=1 << 20)
    print(f"raw http app listening on {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
