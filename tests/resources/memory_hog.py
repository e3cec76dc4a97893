"""An app that allocates ``argv[2]`` bytes, then serves plain HTTP on 127.0.0.1:``argv[1]`` (for the
per-app memory limit: over it, the allocation fails with MemoryError before the app is ready)."""

import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

held = bytearray(int(sys.argv[2]))  # touches nothing: address space, as RLIMIT_AS counts it


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"holding {len(held)} bytes".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
