"""Logs every request line to stderr, query string included (as ``http.server`` does), and answers ``ok``.

Port: ``argv[1]``. Its first line of output is ``request log app listening on <port>``.
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok request log app"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"request log app listening on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
