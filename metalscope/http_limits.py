"""What a connection may make the server hold before the application sees a request: the
decisions, without I/O (``http_protocols.py`` applies them to uvicorn's protocols).

``HeadScanner``, fed the bytes of a connection while a request head arrives, says which limit
the head broke (the longest line, upstream's ``[DEFAULT]max_header_line``; the number of
header lines; the whole head), before the HTTP parser keeps the bytes: httptools would
otherwise hold an endless header line whole, and copy it again for every piece that arrives.
``FramingMeter`` does the same for the bytes of a body that are not body (chunk sizes and
extensions, trailer fields), which httptools also keeps. ``refusal`` is the answer, in the
API's error shape, written when a limit is broken.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


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


#: Bytes of framing a chunk of a chunked body may take (its size line, an extension, the
#: line ends), beyond which they count against ``HeadLimits.max_size``.
CHUNK_FRAMING = 64


class FramingMeter:
    """Bytes of one request's body phase that are not body: chunk framing and trailer fields.

    httptools keeps a trailer field whole, as it keeps a header, so an endless trailer would
    hold memory (and the event loop, copying it) for as long as the client sends it. What a
    chunked body may spend on framing is ``max_size`` (the head's limit, for the trailer
    fields) plus ``CHUNK_FRAMING`` per chunk.
    """

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.start()

    def start(self) -> None:
        """A new body begins."""
        self.overhead = 0
        self.chunks = 0

    def chunk(self) -> None:
        self.chunks += 1

    def account(self, received: int, body: int) -> str | None:
        """``received`` bytes of the connection were parsed, of which ``body`` were body;
        the broken limit's description, or None."""
        self.overhead += received - body
        if self.overhead > self.max_size + CHUNK_FRAMING * self.chunks:
            return (f"the body's chunk framing and trailer fields take more than "
                    f"{self.max_size} bytes")
        return None
