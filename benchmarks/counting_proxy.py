"""An HTTP/1.1 proxy between a service and Ironic that counts requests and response bytes.

Ironic's request log names every request but not the size of its answer; this proxy, put in
the service's ``[ironic]endpoint_override``, relays each request unchanged and counts, per
call (:func:`ironic_calls.call_name`: method and path with identifiers and query values
erased), the requests and the bytes Ironic sent back (status line, headers and body as they
came over the wire, chunk framing included). Keep-alive is kept: each client connection gets
its own connection to Ironic, opened again when Ironic closed it between two requests.

It runs its own event loop in a thread, so the counting costs neither Ironic nor the service
any CPU. Meant for light traffic (an idle service): it was not built to carry a burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from ironic_calls import call_name

HEAD_LIMIT = 1 << 20
CHUNK = 1 << 16


@dataclass(frozen=True)
class Tally:
    requests: int = 0
    response_bytes: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.requests + other.requests, self.response_bytes + other.response_bytes)

    def __sub__(self, other: Tally) -> Tally:
        return Tally(self.requests - other.requests, self.response_bytes - other.response_bytes)


class CallCounts:
    """Requests and response bytes per call name; safe to read from another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_call: dict[str, Tally] = {}

    def record(self, method: str, target: str, response_bytes: int) -> None:
        name = call_name(method, target)
        with self._lock:
            self._by_call[name] = self._by_call.get(name, Tally()) + Tally(1, response_bytes)

    def snapshot(self) -> dict[str, Tally]:
        with self._lock:
            return dict(self._by_call)


def difference(after: Mapping[str, Tally], before: Mapping[str, Tally]) -> dict[str, Tally]:
    """What was counted between two snapshots, calls that did not happen left out."""
    delta = {name: tally - before.get(name, Tally()) for name, tally in after.items()}
    return {name: tally for name, tally in delta.items() if tally.requests}


def total(by_call: Mapping[str, Tally]) -> Tally:
    return sum(by_call.values(), Tally())


@dataclass(frozen=True)
class Head:
    """A request or response head: its first line and its headers (names lower-cased)."""

    start_line: str
    headers: dict[str, str]


def parse_head(raw: bytes) -> Head:
    lines = raw.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return Head(lines[0], headers)


def body_framing(headers: Mapping[str, str], *, method: str | None = None,
                 status: int | None = None) -> tuple[str, int]:
    """How the body after these headers ends: ``("none", 0)``, ``("length", n)``,
    ``("chunked", 0)`` or, for a response without length, ``("eof", 0)``.

    ``status`` is given for responses (``method`` being their request's method)."""
    if status is not None and (method == "HEAD" or status < 200 or status in (204, 304)):
        return "none", 0
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return "chunked", 0
    if "content-length" in headers:
        length = int(headers["content-length"])
        return ("length", length) if length else ("none", 0)
    return ("eof", 0) if status is not None else ("none", 0)


def keeps_alive(request: Head, response: Head) -> bool:
    for head in (request, response):
        if head.headers.get("connection", "").lower() == "close":
            return False
    return not response.start_line.startswith("HTTP/1.0")


async def _relay_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      framing: tuple[str, int]) -> int:
    """Copy one body from ``reader`` to ``writer``; the bytes copied."""
    kind, length = framing
    copied = 0
    if kind == "length":
        while copied < length:
            data = await reader.read(min(CHUNK, length - copied))
            if not data:
                raise ConnectionError("body cut short")
            writer.write(data)
            copied += len(data)
    elif kind == "chunked":
        while True:
            size_line = await reader.readuntil(b"\r\n")
            writer.write(size_line)
            copied += len(size_line)
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:  # trailers up to the empty line
                while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                    writer.write(line)
                    copied += len(line)
                writer.write(line)
                return copied + len(line)
            data = await reader.readexactly(size + 2)
            writer.write(data)
            copied += len(data)
    elif kind == "eof":
        while data := await reader.read(CHUNK):
            writer.write(data)
            copied += len(data)
    return copied


class CountingProxy:
    """``url`` forwards to ``http://host:port`` and counts into ``counts``."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.counts = CallCounts()
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._errors: list[str] = []

    def errors(self) -> list[str]:
        """Unexpected failures while relaying (each closed its client's connection)."""
        return list(self._errors)

    def start(self) -> CountingProxy:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(asyncio.start_server(
                self._serve, "127.0.0.1", 0, limit=HEAD_LIMIT))
            self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="counting-proxy", daemon=True)
        self._thread.start()
        ready.wait()
        return self

    def stop(self) -> None:
        if self._loop is None or self._server is None or self._thread is None:
            return
        server, loop = self._server, self._loop

        async def close() -> None:
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
        self._loop = self._server = self._thread = None

    async def _serve(self, client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                try:
                    raw = await client_reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request = parse_head(raw)
                body = b""
                kind, length = body_framing(request.headers)
                if kind == "length":
                    body = await client_reader.readexactly(length)
                elif kind == "chunked":
                    raise ConnectionError("chunked request bodies are not supported")
                for attempt in (1, 2):
                    if upstream is None:
                        upstream = await asyncio.open_connection(*self.target, limit=HEAD_LIMIT)
                    try:
                        upstream[1].write(raw + body)
                        await upstream[1].drain()
                        response_raw = await upstream[0].readuntil(b"\r\n\r\n")
                        break
                    except (asyncio.IncompleteReadError, ConnectionError):
                        upstream[1].close()
                        upstream = None  # Ironic closed the kept-alive connection: once more
                        if attempt == 2:
                            raise
                response = parse_head(response_raw)
                method, target = request.start_line.split(" ")[:2]
                status = int(response.start_line.split(" ")[1])
                client_writer.write(response_raw)
                assert upstream is not None
                framing = body_framing(response.headers, method=method, status=status)
                copied = await _relay_body(upstream[0], client_writer, framing)
                await client_writer.drain()
                self.counts.record(method, target, len(response_raw) + copied)
                if framing[0] == "eof" or not keeps_alive(request, response):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            return
        except Exception as exc:  # reported with the results, never hidden
            self._errors.append(f"{type(exc).__name__}: {exc}")
            return
        finally:
            for writer in (client_writer, upstream[1] if upstream else None):
                if writer is not None:
                    with contextlib.suppress(Exception):
                        writer.close()
