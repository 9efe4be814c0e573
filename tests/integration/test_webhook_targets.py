"""A delivery's own checks, whatever the subscription said when it was made: the target is
resolved and checked again at every POST, redirects are not followed, and only the first
bytes of an answer are read."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from api.webhooks import targets


class _Answering(BaseHTTPRequestHandler):
    status = 204
    extra: dict[str, str] = {}
    body = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(self.status)
        for name, value in self.extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_: Any) -> None:
        pass


def _serve(status: int, headers: dict[str, str], body: bytes) -> ThreadingHTTPServer:
    handler = type("Handler", (_Answering,), {"status": status, "extra": headers, "body": body})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/hook"


def test_a_delivery_to_a_loopback_target_is_refused_unless_allowed() -> None:
    server = _serve(204, {}, b"")
    try:
        with pytest.raises(targets.DeliveryError, match="loopback"):
            targets.post(_url(server), b"{}", {}, timeout=2, allow_private=False)
        allowed = targets.post(_url(server), b"{}", {}, timeout=2, allow_private=True)
    finally:
        server.shutdown()

    assert allowed.status == 204


def test_a_redirect_is_an_answer_not_followed() -> None:
    server = _serve(302, {"Location": "http://169.254.169.254/latest/meta-data"}, b"")
    try:
        answer = targets.post(_url(server), b"{}", {}, timeout=2, allow_private=True)
    finally:
        server.shutdown()

    assert answer.status == 302  # the deliverer counts it a failure (not 2xx)


def test_only_the_first_bytes_of_a_large_answer_are_read() -> None:
    server = _serve(200, {}, b"x" * 1_000_000)
    try:
        answer = targets.post(_url(server), b"{}", {}, timeout=2, allow_private=True)
    finally:
        server.shutdown()

    assert answer.status == 200
    assert len(answer.body) == targets.RESPONSE_MAX
