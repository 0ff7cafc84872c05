"""Hostile clients, each bounded in connections, bytes and time, for ``hostile.py``.

Every attack is an ``Attack``: ``run(host, port, stop)`` keeps its connections busy until
``stop`` is set, then closes them, and returns what it saw (``Tally``: how the server
answered or closed). Everything goes to loopback; nothing here is aimed anywhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

CHUNK = 64 * 1024


@dataclass
class Tally:
    """Outcomes by kind (``"431"``, ``"closed"``, ``"503"``...) and bytes sent."""

    outcomes: Counter[str] = field(default_factory=Counter)
    bytes_sent: int = 0
    seconds: list[float] = field(default_factory=list)  # per request, where it is timed

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] += 1

    def as_dict(self) -> dict[str, Any]:
        figures: dict[str, Any] = {"outcomes": dict(self.outcomes),
                                   "mib_sent": round(self.bytes_sent / 2**20, 1)}
        if self.seconds:
            figures["slowest_answer_s"] = round(max(self.seconds), 2)
        return figures


Attack = Callable[[str, int, asyncio.Event], Awaitable[Tally]]


async def _status_of(reader: asyncio.StreamReader, timeout: float) -> str:
    """The status code of the server's answer, ``"closed"`` or ``"no answer"``."""
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
    except (TimeoutError, ConnectionError, OSError):
        return "no answer"
    parts = line.split()
    return parts[1].decode() if len(parts) > 1 else "closed"


async def _open(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(host, port, limit=CHUNK)


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


async def _until(stop: asyncio.Event, jobs: list[Awaitable[None]]) -> None:
    tasks = [asyncio.ensure_future(job) for job in jobs]
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# -- header flood -----------------------------------------------------------------------------

def header_flood(connections: int = 16, mib_per_connection: int = 50,
                 reconnects: int = 10) -> Attack:
    """Each connection starts a request and sends one endless header line (up to
    ``mib_per_connection`` MiB), then holds the connection; a connection the server closes
    is opened again, at most ``reconnects`` times."""

    async def run(host: str, port: int, stop: asyncio.Event) -> Tally:
        tally = Tally()
        filler = b"a" * CHUNK

        async def one() -> None:
            for _ in range(reconnects + 1):
                reader, writer = await _open(host, port)
                try:
                    writer.write(b"POST /v1/continue HTTP/1.1\r\nHost: x\r\nX-Flood: ")
                    sent = 0
                    while sent < mib_per_connection * 2**20 and not reader.at_eof():
                        writer.write(filler)
                        await writer.drain()
                        sent += CHUNK
                        tally.bytes_sent += CHUNK
                    tally.add(await _status_of(reader, 3600))
                except (ConnectionError, OSError):
                    tally.add("closed")
                finally:
                    _close(writer)

        await _until(stop, [one() for _ in range(connections)])
        return tally

    return run


# -- body flood --------------------------------------------------------------------------------

def tiny_objects_body(size: int) -> bytes:
    """A JSON object of about ``size`` bytes made of as many empty objects as fit: the most
    Python objects per byte a parser can be made to build."""
    count = max(1, (size - 16) // 3)
    return b'{"f":[' + b"{}," * (count - 1) + b"{}]}"


def body_flood(clients: int = 32, size: int = 8 * 2**20 - 4096) -> Attack:
    """``clients`` connections post a body of ``size`` bytes of tiny JSON objects to
    ``/v1/continue`` again and again, each as fast as the server takes it."""
    body = tiny_objects_body(size)
    head = (b"POST /v1/continue HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))

    async def run(host: str, port: int, stop: asyncio.Event) -> Tally:
        tally = Tally()

        async def one() -> None:
            while True:
                reader, writer = await _open(host, port)
                try:
                    writer.write(head + body)
                    await writer.drain()
                    tally.bytes_sent += len(body)
                    tally.add(await _status_of(reader, 120))
                except (ConnectionError, OSError):
                    tally.add("closed")
                    await asyncio.sleep(0.1)
                finally:
                    _close(writer)

        await _until(stop, [one() for _ in range(clients)])
        return tally

    return run


# -- slow clients -------------------------------------------------------------------------------

def slow_clients(slow_heads: int = 128, slow_bodies: int = 128, interval: float = 1.0) -> Attack:
    """Slowloris: ``slow_heads`` connections send a request head one header line per
    ``interval`` seconds and never finish it; ``slow_bodies`` connections announce a 1 MiB
    body and send 64 bytes of it per ``interval``. Connections the server closes are not
    opened again: the tally says how many it closed and how."""

    async def run(host: str, port: int, stop: asyncio.Event) -> Tally:
        tally = Tally()

        async def trickle(first: bytes, piece: bytes) -> None:
            try:
                reader, writer = await _open(host, port)
            except OSError:
                tally.add("refused")
                return
            try:
                writer.write(first)
                while not reader.at_eof():
                    await asyncio.sleep(interval)
                    writer.write(piece)
                    await writer.drain()
                    tally.bytes_sent += len(piece)
                tally.add(await _status_of(reader, 1))
            except (ConnectionError, OSError):
                tally.add("closed")
            finally:
                _close(writer)

        head = b"GET / HTTP/1.1\r\nHost: x\r\n"
        body_head = (b"POST /v1/continue HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nContent-Length: 1048576\r\n\r\n{")
        jobs = [trickle(head, b"X-Slow: 1\r\n") for _ in range(slow_heads)]
        jobs += [trickle(body_head, b" " * 64) for _ in range(slow_bodies)]
        await _until(stop, jobs)
        return tally

    return run


# -- a catastrophic regular expression in a rule ------------------------------------------------

#: A rule an operator might write, whose regular expression backtracks exponentially on a
#: value such as ``"a" * 28 + "!"`` (Python's ``re`` doubles its time per character: about
#: 6 s for this one on the benchmark machine).
REDOS_RULE: dict[str, Any] = {
    "description": "hostile benchmark: nested quantifier",
    "conditions": [{"op": "matches", "field": "data://inventory.system_vendor.serial_number",
                    "value": "(a+)+$"}],
    "actions": [{"action": "set-attribute", "path": "/extra/serial_checked", "value": "yes"}],
}
REDOS_SERIAL = "a" * 28 + "!"


def redos_callbacks(documents: list[dict[str, Any]], timeout: float = 120.0) -> Attack:
    """The ramdisks of ``documents`` (nodes waiting for introspection) post serial numbers
    that make ``REDOS_RULE`` backtrack; each posts once."""
    bodies = []
    for document in documents:
        hostile = json.loads(json.dumps(document))
        hostile["inventory"]["system_vendor"]["serial_number"] = REDOS_SERIAL
        bodies.append(json.dumps(hostile).encode())

    async def run(host: str, port: int, stop: asyncio.Event) -> Tally:
        tally = Tally()

        async def one(body: bytes) -> None:
            reader, writer = await _open(host, port)
            began = time.perf_counter()
            try:
                writer.write(b"POST /v1/continue HTTP/1.1\r\nHost: x\r\nContent-Type: "
                             b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
                tally.bytes_sent += len(body)
                tally.add(await _status_of(reader, timeout))
                tally.seconds.append(time.perf_counter() - began)
            finally:
                _close(writer)

        await _until(stop, [one(body) for body in bodies])
        return tally

    return run
