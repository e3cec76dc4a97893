"""Serves ``ok`` on ``argv[1]``, ignores SIGTERM, and starts a child that ignores SIGTERM too.

Writes ``<own pid> <child pid>`` to the file named by ``argv[2]`` so tests can check nothing survives.
"""

import os
import signal
import subprocess
import sys
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
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"]
    )
    with open(sys.argv[2], "w") as pid_file:
        pid_file.write(f"{os.getpid()} {child.pid}")
    print("ignoring SIGTERM", flush=True)
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()


if __name__ == "__main__":
    main()
