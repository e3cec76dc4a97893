"""Serve the working folder over HTTP on a unix socket: ``python socket_http_server.py {socket}``.

The example of a custom command (``framework: command``) that listens where hubapps says, on the unix
socket given as ``{socket}`` (also ``$HUBAPPS_SOCKET``), which only the app's owner can open. Python's
``http.server`` can only take a port; this is the same file server on a socket.
"""

from __future__ import annotations

import os
import socketserver
import sys
from http.server import SimpleHTTPRequestHandler


class Handler(SimpleHTTPRequestHandler):
    def address_string(self) -> str:
        return "unix-peer"  # a unix socket peer has no address (http.server would index into "")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ["HUBAPPS_SOCKET"]
    with Server(path, Handler) as server:
        print(f"Serving {os.getcwd()} on unix:{path}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
