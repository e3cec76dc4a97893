"""Tiny app that records every request it receives, to prove which requests reached it.

Each request is appended as ``<METHOD> <path>`` to ``requests.log`` in the working directory (and
printed), then answered with a small HTML page. Listens on the unix socket ``$HUBAPPS_SOCKET`` (a custom
command's default), else on ``$PORT``. Standard library only.
"""

import os
import socketserver
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG_FILE = "requests.log"
PAGE = b"<!doctype html><title>Request log app</title><h1>Request log app</h1>\n"


class Handler(BaseHTTPRequestHandler):
    def _record(self) -> None:
        line = f"{self.command} {self.path}\n"
        with open(LOG_FILE, "a", encoding="utf-8") as log:
            log.write(line)
        print(line, end="", flush=True)

    def _answer(self) -> None:
        self._record()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(PAGE)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass  # _record already printed the request

    def address_string(self) -> str:
        return "peer"  # (a unix socket peer has no address)


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main() -> None:
    if "HUBAPPS_SOCKET" in os.environ:
        server: socketserver.BaseServer = UnixServer(os.environ["HUBAPPS_SOCKET"], Handler)
    else:
        server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    print(f"request log app listening on {server.server_address}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
