"""Answers every request with the ids it runs as and which of the paths in ``$PROBE_PATHS`` (a JSON list) it
could open for reading (stdlib only). Port: ``argv[1]``."""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def readable(path: str) -> bool:
    try:
        with open(path, "rb") as file:
            file.read(1)
    except OSError:
        return False
    return True


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        paths = json.loads(os.environ.get("PROBE_PATHS", "[]"))
        body = json.dumps(
            {
                "uid": os.getuid(),
                "euid": os.geteuid(),
                "gid": os.getgid(),
                "groups": os.getgroups(),
                "home": os.environ.get("HOME", ""),
                "readable": {path: readable(path) for path in paths},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
