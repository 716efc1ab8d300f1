"""Fixtures the hostile tests share."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture
def serve() -> Iterator[Callable[[bytes], str]]:
    """A loopback HTTP server answering every GET with the body last given; yields ``body -> URL``."""
    body = [b""]

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body[0])))
            self.end_headers()
            self.wfile.write(body[0])

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def url(data: bytes) -> str:
        body[0] = data
        return f"http://127.0.0.1:{server.server_address[1]}/policy.yaml"

    yield url
    server.shutdown()
    server.server_close()
