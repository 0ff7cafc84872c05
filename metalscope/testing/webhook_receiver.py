"""WebhookReceiver: a real HTTP(S) server on loopback that receives drift webhooks.

It runs :class:`http.server.ThreadingHTTPServer` in a thread, checks each request's
signature the way a receiver would (HMAC-SHA256 of ``<timestamp>.<body>`` with the shared
secret, written here without MetalScope's own signing code), answers the statuses it was
scripted with (e.g. two 503s, then 200) and records every request. A request with a bad
or missing signature is answered 401.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as received; ``headers`` has lower-case names."""

    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    status: int

    def payload(self) -> Any:
        return json.loads(self.body)


def signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """``headers`` with lower-case names."""
    timestamp = headers.get("x-metalscope-timestamp", "")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + expected, headers.get("x-metalscope-signature", ""))


class WebhookReceiver:
    """Answers the i-th request with ``statuses[i]`` (the last one repeats)."""

    def __init__(self, secret: str, statuses: Sequence[int] = (200,)) -> None:
        self.secret = secret
        self.statuses = list(statuses) or [200]
        self.requests: list[ReceivedRequest] = []
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._changed:
            genuine = signature_ok(self.secret, headers, body)
            index = min(len(self.requests), len(self.statuses) - 1)
            status = self.statuses[index] if genuine else 401
            self.requests.append(ReceivedRequest(path, headers, body, genuine, status))
            self._changed.notify_all()
            return status

    def wait_for(self, count: int, timeout: float = 30) -> list[ReceivedRequest]:
        """The requests once ``count`` have arrived (fewer after ``timeout`` seconds)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    @contextmanager
    def running(self, path: str = "/hooks/drift", tls: tuple[Path, Path] | None = None,
                ) -> Iterator[WebhookReceiver]:
        """Serve on 127.0.0.1 (HTTPS with ``tls`` = (certificate, key)) until the block ends."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            server.socket = context.wrap_socket(server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{server.server_address[1]}{path}"
        thread = threading.Thread(target=server.serve_forever, name="webhook receiver",
                                  daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status = receiver.answer(self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler
