"""Limits on request heads, enforced below the application, before the HTTP parser sees the
bytes: the parser would otherwise keep an endless header line in memory for as long as the
client sends it.

``HeadScanner`` is the pure part: fed the bytes of a connection while a request head is
arriving, it says when the head is complete or which limit it broke (the longest line,
upstream's ``[DEFAULT]max_header_line``; the number of header lines; the whole head).
``guarded_protocol`` wraps uvicorn's httptools protocol: a head that breaks a limit is
answered 431 in the API's error shape and the connection closed; a head not complete
``header_timeout`` seconds after its first byte is answered 408 and the connection closed,
as is a connection that sends nothing for that long. Bodies are the application's
(``api/body.py``).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HeadLimits:
    max_line: int = 16384
    max_count: int = 100
    max_size: int = 65536
    timeout: float = 30.0


class HeadScanner:
    """Tracks one request head as its bytes arrive."""

    def __init__(self, limits: HeadLimits) -> None:
        self.limits = limits
        self.reset()

    def reset(self) -> None:
        """Expect a new head (at the start of the connection or after a request)."""
        self.size = 0
        self.lines = 0
        self.line = 0
        self.complete = False

    @property
    def started(self) -> bool:
        return self.size > 0

    def feed(self, data: bytes) -> str | None:
        """Account for ``data``; the broken limit's description, or None. Once the head is
        complete (``complete``), later bytes are the body's and are not looked at."""
        position = 0
        while not self.complete:
            newline = data.find(b"\n", position)
            end = len(data) if newline < 0 else newline + 1
            self.line += end - position
            self.size += end - position
            problem = self._check()
            if problem or newline < 0:
                return problem
            self._end_line()
            position = end
        return None

    def _check(self) -> str | None:
        limits = self.limits
        if self.line > limits.max_line:
            return f"a request or header line is longer than {limits.max_line} bytes"
        if self.size > limits.max_size:
            return f"the request head is larger than {limits.max_size} bytes"
        if self.lines > limits.max_count:
            return f"the request has more than {limits.max_count} header lines"
        return None

    def _end_line(self) -> None:
        empty = self.line <= 2  # "\r\n" or "\n"
        if empty and self.lines > 0:
            self.complete = True
        elif not empty:
            self.lines += 1  # the request line, then each header line
        self.line = 0


def refusal(status: int, reason: str, message: str,
            headers: list[tuple[bytes, bytes]]) -> bytes:
    """A complete HTTP/1.1 answer in the API's error shape that closes the connection."""
    body = (json.dumps({"error": {"message": message}}, separators=(",", ":"),
                       sort_keys=True) + "\n").encode()
    lines = [b"HTTP/1.1 %d %s" % (status, reason.encode()),
             b"content-type: application/json", b"content-length: %d" % len(body),
             b"connection: close", *(name + b": " + value for name, value in headers)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def guarded_protocol(base: type, limits: HeadLimits,
                     headers: list[tuple[bytes, bytes]]) -> type:
    """``base`` (uvicorn's HttpToolsProtocol) with the head limits and timeout applied;
    ``headers`` are added to the refusals (the API's version headers)."""

    class GuardedProtocol(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._head = HeadScanner(limits)
            self._head_timer: asyncio.TimerHandle | None = None
            self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            head = self._head
            if not head.complete:
                if not head.started:
                    self._arm_head_timer()  # the head's time counts from its first byte
                problem = head.feed(data)
                if problem:
                    self._refuse(431, "Request Header Fields Too Large",
                                 f"Request header fields too large: {problem}")
                    return
                if head.complete:
                    self._cancel_head_timer()
            super().data_received(data)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._head.reset()

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(limits.timeout, self._head_timed_out)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self._head.started and not self._head.complete:
                self._refuse(408, "Request Timeout", "The request head did not arrive within "
                                                     f"{limits.timeout:g} seconds")
            elif not self._head.started and self.cycle is None:
                self.transport.close()  # connected and said nothing

        def _refuse(self, status: int, reason: str, message: str) -> None:
            self._cancel_head_timer()
            if not self.transport.is_closing():
                self.transport.write(refusal(status, reason, message, headers))
                self.transport.close()

    return GuardedProtocol


def protocol_options(limits: HeadLimits, headers: list[tuple[bytes, bytes]],
                     parser: str) -> dict[str, Any]:
    """uvicorn's ``http`` option: the guarded httptools protocol, or for h11 (when httptools
    is not installed) h11's own cap on an incomplete head, which answers a plain 400."""
    if parser == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        return {"http": guarded_protocol(HttpToolsProtocol, limits, headers)}
    return {"http": "h11", "h11_max_incomplete_event_size": limits.max_size}
