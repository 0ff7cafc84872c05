"""StreamTransport: plain-HTTP/1.1 keep-alive requests for httpx, straight over asyncio streams.

The Ironic client sends every request through one ``httpx.AsyncClient``. httpx's own
transport (httpcore on anyio) costs about as much CPU per request as everything else
MetalScope does for it; this transport writes the request and parses the answer itself and
keeps idle connections for reuse, at a fraction of that cost. It speaks only what Ironic
needs: HTTP/1.1, ``Content-Length`` or chunked bodies, keep-alive. ``https://`` URLs (and
anything else) go to ``fallback``, httpx's standard transport with the client's TLS settings;
proxies from the environment are still mounted by httpx in front of both.

Failures map to the httpx exceptions httpcore raises in the same situations, so callers'
retry decisions do not change: refused or unreachable → ``ConnectError``, no connection in
time → ``ConnectTimeout``, no answer in time → ``ReadTimeout``, closed without an answer →
``RemoteProtocolError``, no free connection in time → ``PoolTimeout``. Timeouts come from
the client (``None`` waits for ever).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import httpx

MAX_CONNECTIONS = 64
_NO_BODY_STATUSES = frozenset({204, 304})
_HEAD_LIMIT = 1 << 16

Key = tuple[str, int]


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        """Still open: the server has not closed it while it sat idle."""
        return not (self.reader.at_eof() or self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()


def request_head(request: httpx.Request, body: bytes) -> bytes:
    """The request line and headers, ``Content-Length`` included when there is a body."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    has_length = False
    for name, value in request.headers.raw:
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            continue  # the body is sent whole, with its length
        has_length = has_length or lowered == b"content-length"
        lines.append(name + b": " + value)
    if body and not has_length:
        lines.append(b"content-length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n"


def parse_head(head: bytes) -> tuple[int, list[tuple[bytes, bytes]]]:
    """Status code and headers of a response head (status line to the empty line)."""
    status_line, *header_lines = head.rstrip(b"\r\n").split(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise httpx.RemoteProtocolError(f"Malformed status line {status_line[:80]!r}")
    headers = []
    for line in header_lines:
        name, colon, value = line.partition(b":")
        if not colon:
            raise httpx.RemoteProtocolError(f"Malformed header line {line[:80]!r}")
        headers.append((name.strip(), value.strip()))
    return int(parts[1]), headers


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailers are not used
            return b"".join(chunks)
        chunks.append((await reader.readexactly(size + 2))[:-2])


async def read_response(reader: asyncio.StreamReader,
                        method: str) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    """Status, headers, body and whether the connection may be used again."""
    while True:
        status, headers = parse_head(await reader.readuntil(b"\r\n\r\n"))
        if status >= 200 or status == 101:
            break  # 1xx informational answers precede the real one
    keep = (_header(headers, b"connection") or b"").lower() != b"close"
    if method == "HEAD" or status in _NO_BODY_STATUSES or 100 <= status < 200:
        return status, headers, b"", keep
    if (_header(headers, b"transfer-encoding") or b"").lower().endswith(b"chunked"):
        return status, headers, await _read_chunked(reader), keep
    length = _header(headers, b"content-length")
    if length is not None:
        return status, headers, await reader.readexactly(int(length)), keep
    return status, headers, await reader.read(), False  # delimited by the end of the connection


class StreamTransport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 for ``http://`` URLs; every other URL goes to ``fallback``.

    At most ``max_connections`` requests are in flight at once (the others wait for a free
    connection, as with httpx's pool); as many connections are kept for reuse.
    """

    def __init__(self, fallback: httpx.AsyncBaseTransport,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self._fallback = fallback
        self._max_idle = max_connections
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[Key, list[_Connection]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            return await self._fallback.handle_async_request(request)
        timeouts = request.extensions.get("timeout") or {}
        body = await request.aread()
        await _wait_for_slot(self._slots, request, timeouts.get("pool"))
        try:
            status, headers, content = await self._send(request, body, timeouts)
        finally:
            self._slots.release()
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content),
                              request=request, extensions={"http_version": b"HTTP/1.1"})

    async def _send(self, request: httpx.Request, body: bytes, timeouts: dict[str, float | None],
                    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        key = (request.url.host, request.url.port or 80)
        connection = self._idle_connection(key)
        if connection is None:
            connection = await _connect(request, key, timeouts.get("connect"))
        try:
            status, headers, content, keep = await _exchange(
                connection, request, request_head(request, body) + body, timeouts.get("read"))
        except BaseException:
            connection.close()
            raise
        if keep:
            self._release(key, connection)
        else:
            connection.close()
        return status, headers, content

    def _idle_connection(self, key: Key) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    def _release(self, key: Key, connection: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) < self._max_idle and connection.usable():
            idle.append(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        await self._fallback.aclose()


async def _wait_for_slot(slots: asyncio.Semaphore, request: httpx.Request,
                         timeout: float | None) -> None:
    try:
        async with asyncio.timeout(timeout):
            await slots.acquire()
    except TimeoutError as exc:
        raise httpx.PoolTimeout("No free connection in time", request=request) from exc


async def _connect(request: httpx.Request, key: Key, timeout: float | None) -> _Connection:
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(*key, limit=_HEAD_LIMIT)
    except TimeoutError as exc:
        raise httpx.ConnectTimeout(f"Timed out connecting to {key[0]}:{key[1]}",
                                   request=request) from exc
    except OSError as exc:
        raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
    return _Connection(reader, writer)


async def _exchange(connection: _Connection, request: httpx.Request, data: bytes,
                    timeout: float | None) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    try:
        async with asyncio.timeout(timeout):
            connection.writer.write(data)
            await connection.writer.drain()
            return await read_response(connection.reader, request.method)
    except TimeoutError as exc:
        raise httpx.ReadTimeout("Timed out waiting for the answer", request=request) from exc
    except asyncio.IncompleteReadError as exc:
        raise httpx.RemoteProtocolError("Server disconnected without sending a complete answer",
                                        request=request) from exc
    except asyncio.LimitOverrunError as exc:
        raise httpx.RemoteProtocolError("Answer head too large", request=request) from exc
    except (ConnectionError, OSError) as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
    except ValueError as exc:  # a malformed length or chunk size
        raise httpx.RemoteProtocolError(f"Malformed answer: {exc}", request=request) from exc
