"""Driving one ASGI middleware directly: a recording inner app and a request runner."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def http_scope(path: str = "/", method: str = "GET", headers: dict[str, str] | None = None,
               client: tuple[str, int] | None = ("192.0.2.7", 50000),
               server: tuple[str, int] | None = ("10.0.0.5", 5050), scheme: str = "http",
               raw_headers: list[tuple[bytes, bytes]] | None = None) -> Scope:
    encoded = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": scheme, "path": path, "raw_path": path.encode(),
            "root_path": "", "query_string": b"", "client": client, "server": server,
            "headers": encoded + (raw_headers or [])}


@dataclass
class Inner:
    """An application answering ``status`` with ``headers`` and ``body``; keeps what it saw."""

    status: int = 200
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b"inner"
    seen: list[Scope] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen.append(scope)
        await send({"type": "http.response.start", "status": self.status,
                    "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[0] if values else None

    def names(self) -> set[str]:
        return {key.lower() for key, _ in self.headers}


async def call(app: ASGIApp, scope: Scope) -> Answer:
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])]
    return Answer(start["status"], headers, body)


