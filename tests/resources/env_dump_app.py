"""Answers every request with its own environment, argv, working folder and Python prefix (``sys.prefix``:
which environment runs it) as JSON (stdlib only).
Port: ``argv[1]`` or ``$PORT``."""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(
            {"env": dict(os.environ), "argv": sys.argv, "cwd": os.getcwd(), "prefix": sys.prefix}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    port = int(sys.argv[1] if len(sys.argv) > 1 and sys.argv[1].isdigit() else os.environ["PORT"])
    print(f"env dump app listening on {port}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
