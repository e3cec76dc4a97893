"""Floods its output: forged Hub log lines first, then ``argv[2]`` MB of lines as fast as it can.

Serves ``ok`` on port ``argv[1]`` (from before the flood, so it is ready at once). ``argv[3]`` is a marker
put in every line: forged lines carry ``FORGED-<marker>``, flood lines ``FLOOD-<marker>``, and the last
line is ``DONE-<marker>``. The forged lines try a carriage return over the line before, ANSI cursor and
colour codes, a line break inside one write, other control characters (NUL, BEL, BS, DEL, NEL, LS,
RLO) and a 100 000-character line.
"""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok flood app"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    port, megabytes, marker = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    forged = [
        f"\r[I 2026-12-01 00:00:00.000 JupyterHub app:1] FORGED-{marker} carriage return",
        f"\x1b[2K\x1b[1A\x1b[31m[E 2026-12-01 00:00:00.000 JupyterHub app:1] FORGED-{marker} ansi\x1b[0m",
        f"ok FORGED-{marker} first\n[W 2026-12-01 00:00:00.000 JupyterHub log:1] FORGED-{marker} break in one write",
        f"FORGED-{marker} nul\x00 bel\x07 bs\x08 del\x7f nel\x85 ls\u2028 rlo\u202e end",
        f"FORGED-{marker} long " + "x" * 100_000,
    ]
    out = sys.stdout.buffer
    out.write(("\n".join(forged) + "\n").encode())
    line = f"FLOOD-{marker} ".encode() + b"y" * 1000 + b"\n"
    block = line * 1000
    for _ in range(int(megabytes * 1e6 / len(block)) + 1):
        out.write(block)
    out.write(f"DONE-{marker}\n".encode())
    out.flush()
    threading.Event().wait()


if __name__ == "__main__":
    main()
