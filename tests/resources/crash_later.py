"""Serves ``ok`` for ``argv[2]`` seconds (default 1), then exits with code 7. Port: ``argv[1]`` or ``$PORT``.

Appends one line per start to the file named by ``argv[3]`` (when given), so tests can count restarts.
"""

import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    port = int(sys.argv[1] if len(sys.argv) > 1 and sys.argv[1].isdigit() else os.environ["PORT"])
    lifetime = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    if len(sys.argv) > 3:
        with open(sys.argv[3], "a") as starts:
            starts.write(f"{time.time()}\n")
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"crash later: serving for {lifetime} s", flush=True)
    time.sleep(lifetime)
    print("crash later: crashing now", flush=True)
    os._exit(7)


if __name__ == "__main__":
    main()
