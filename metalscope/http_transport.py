"""StreamTransport: plain-HTTP/1.1 keep-alive requests for httpx, straight over asyncio streams.

The Ironic client hands its requests to this transport (``ironic_http.py``). httpx's own
transport (httpcore on anyio) costs about as much CPU per request as everything else
MetalScope does for it; this transport writes the request and parses the answer itself and
keeps idle connections for reuse, at a fraction of that cost. It speaks only what Ironic
needs: HTTP/1.1, ``Content-Length`` or chunked bodies, keep-alive. ``https://`` URLs (and
anything else) go to ``fallback``, httpx's standard transport with the client's TLS settings.
It knows no proxies: with a proxy in the environment the Ironic client does not use it.

Failures map to the httpx exceptions httpcore raises in the same situations, so callers'
retry decisions do not change: refused or unreachable → ``ConnectError``, no connection in
time → ``ConnectTimeout``, no answer in time → ``ReadTimeout``, closed without an answer →
``RemoteProtocolError``, no free connection in time → ``PoolTimeout``. Timeouts come from
the client (``None`` waits for ever).

Idle connections. A server closes a keep-alive connection that stays idle too long (Ironic's
cheroot after 10 s); a request written to it then meets a reset, and whether the server saw
it cannot be known. So a connection is kept for reuse at most ``idle_timeout`` seconds (0:
one connection per request), and before carrying another request it is checked: while idle
it does not read (the event loop leaves whatever arrives in the socket), and a non-blocking
peek at the socket must find nothing, neither a FIN, a reset nor stray bytes.
``StreamReader.at_eof()`` alone would miss a FIN the loop has not processed yet.

What a failure says about the request. ``WriteError`` and ``WriteTimeout`` are raised only
when some bytes of the request never reached the kernel: the server cannot have acted on an
incomplete request, so it may be sent again whatever its method. Such a failure on a reused
connection (the server closed it between the check and the write) is retried here, once, on
a fresh connection. Any failure after the whole request left (``ReadTimeout``, ``ReadError``,
``RemoteProtocolError``) leaves its outcome unknown: the caller decides.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterable
from typing import Protocol, cast

import httpx

MAX_CONNECTIONS = 64
#: Seconds an idle connection is kept for reuse by default: well below Ironic's 10 s.
IDLE_TIMEOUT = 4.0
_NO_BODY_STATUSES = frozenset({204, 304})
_HEAD_LIMIT = 1 << 16

Key = tuple[str, int]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


def peer_has_spoken(sock: _HasFileno) -> bool:
    """Whether the peer sent anything not read yet: bytes, a FIN or a reset.

    On an idle keep-alive connection any of them means it must not carry another request.
    The peek neither blocks nor consumes; the socket object is borrowed, never closed.
    """
    probe = socket.socket(fileno=sock.fileno())
    try:
        probe.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False
    except OSError:
        return True  # reset
    finally:
        probe.detach()
    return True  # b"" for a FIN, or bytes nobody asked for


def expired(idle_since: float, now: float, idle_timeout: float) -> bool:
    """Whether a connection idle since ``idle_since`` has been idle too long to reuse."""
    return now - idle_since >= idle_timeout


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0
        # drain() then returns only once every byte has been handed to the kernel, so a
        # failed drain means the request did not leave whole (see _write).
        writer.transport.set_write_buffer_limits(high=0)

    def park(self, now: float) -> None:
        """Idle from ``now``: stop reading, so whatever the server sends stays in the socket."""
        self.idle_since = now
        cast(asyncio.Transport, self.writer.transport).pause_reading()

    def reusable(self, now: float, idle_timeout: float) -> bool:
        """Idle for less than ``idle_timeout`` and nothing heard from the server since."""
        if self.writer.is_closing() or self.reader.at_eof():
            return False
        if expired(self.idle_since, now, idle_timeout):
            return False
        return not peer_has_spoken(self.writer.get_extra_info("socket"))

    def resume(self) -> None:
        cast(asyncio.Transport, self.writer.transport).resume_reading()

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
    chunks: list[bytes] = []
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
    connection, as with httpx's pool); as many connections are kept for reuse, each for at
    most ``idle_timeout`` seconds (0: none is kept). ``clock`` is the time source of that
    expiry.
    """

    def __init__(self, fallback: httpx.AsyncBaseTransport,
                 max_connections: int = MAX_CONNECTIONS, idle_timeout: float = IDLE_TIMEOUT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fallback = fallback
        self._max_idle = max_connections
        self._idle_timeout = idle_timeout
        self._clock = clock
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

    async def _send(self, request: httpx.Request, body: bytes,
                    timeouts: dict[str, float | None]) -> Answer:
        key = (request.url.host, request.url.port or 80)
        data = request_head(request, body) + body
        connection = self._idle_connection(key)
        if connection is not None:
            try:
                return await self._exchange(key, connection, request, data, timeouts)
            except httpx.WriteError:
                pass  # closed by the server after the check, request not sent: a fresh one
        connection = await _connect(request, key, timeouts.get("connect"))
        return await self._exchange(key, connection, request, data, timeouts)

    async def _exchange(self, key: Key, connection: _Connection, request: httpx.Request,
                        data: bytes, timeouts: dict[str, float | None]) -> Answer:
        try:
            await _write(connection, request, data, timeouts.get("write"))
            status, headers, content, keep = await _read(connection, request,
                                                         timeouts.get("read"))
        except BaseException:
            connection.close()
            raise
        if keep:
            self._release(key, connection)
        else:
            connection.close()
        return status, headers, content

    def _idle_connection(self, key: Key) -> _Connection | None:
        """The most recently parked connection that may still be used; the others closed."""
        idle = self._idle.get(key)
        now = self._clock()
        while idle:
            connection = idle.pop()
            if connection.reusable(now, self._idle_timeout):
                connection.resume()
                return connection
            connection.close()
        return None

    def _release(self, key: Key, connection: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        now = self._clock()
        while idle and expired(idle[0].idle_since, now, self._idle_timeout):
            idle.pop(0).close()  # the oldest first: the server has closed them, or will
        if self._idle_timeout <= 0 or len(idle) >= self._max_idle:
            connection.close()
            return
        connection.park(now)
        idle.append(connection)

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


async def _write(connection: _Connection, request: httpx.Request, data: bytes,
                 timeout: float | None) -> None:
    """Hand the whole request to the kernel; a failure means it did not all leave."""
    try:
        async with asyncio.timeout(timeout):
            connection.writer.write(data)
            await connection.writer.drain()
    except TimeoutError as exc:
        raise httpx.WriteTimeout("Timed out sending the request", request=request) from exc
    except (ConnectionError, OSError) as exc:
        raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from exc


async def _read(connection: _Connection, request: httpx.Request,
                timeout: float | None) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    try:
        async with asyncio.timeout(timeout):
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
