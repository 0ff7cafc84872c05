"""uvicorn's HTTP protocols (httptools, and h11 where httptools is missing) with the limits of
``http_limits.py`` applied, below the application.

* A request head is measured as its bytes arrive, before the parser keeps them: a line, the
  number of lines or the whole head over its limit is answered 431 and the connection closed.
  The parser decides where a head ends (``on_headers_complete``, h11's ``Request``), so a
  pipelined request's body is never taken for a head.
* A head must be complete ``header_timeout`` seconds after its first byte (408, closed); a
  new connection that sends nothing for that long is closed.
* A chunked body may spend only so much on framing and trailer fields (431, closed), which
  httptools would keep whole like a header (h11 bounds them by ``max_incomplete_event_size``).
* A body still arriving ``body_timeout`` seconds after its head closes the connection once it
  is answered (``api/body.py`` answers 408 to a route still reading it); a body nobody reads
  cannot keep the connection open by trickling.
* Every answer given here has the API's error shape and version headers, a malformed request's
  400 included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h11

from metalscope.http_limits import FramingMeter, HeadLimits, HeadScanner, refusal

TOO_LARGE = (431, "Request Header Fields Too Large")


@dataclass(frozen=True)
class ConnectionPolicy:
    head: HeadLimits
    body_timeout: float = 120.0
    #: Added to every answer given below the application (the API's version headers).
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


class _Guarded:
    """What both protocols share; ``loop``, ``transport`` and ``cycle`` are uvicorn's."""

    policy: ConnectionPolicy
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._start_guards()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_guards()
        super().connection_lost(exc)  # type: ignore[misc]

    def _start_guards(self) -> None:
        self._head = HeadScanner(self.policy.head)
        self._framing = FramingMeter(self.policy.head.max_size)
        self._in_body = False
        self._body_seen = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    def _stop_guards(self) -> None:
        _cancel(self._head_timer)
        self._head_timer = None
        _cancel(self._body_timer)
        self._body_timer = None

    def _scan_head(self, data: bytes) -> bool:
        """Account for ``data`` while a head arrives; False when the connection was refused."""
        head = self._head
        if head.complete:
            return True
        if not head.started:
            self._arm_head_timer()  # the head's time counts from its first byte
        problem = head.feed(data)
        if problem:
            self._refuse(*TOO_LARGE, f"Request header fields too large: {problem}")
            return False
        return True

    def _head_done(self) -> None:
        """The parser has a complete head: its body, if any, is timed from now."""
        self._head.complete = True
        _cancel(self._head_timer)
        self._head_timer = None
        self._in_body = True
        self._framing.start()
        _cancel(self._body_timer)
        self._body_timer = self.loop.call_later(self.policy.body_timeout, self._body_timed_out)

    def _message_done(self) -> None:
        self._in_body = False
        _cancel(self._body_timer)
        self._body_timer = None
        self._head.reset()

    def _arm_head_timer(self) -> None:
        _cancel(self._head_timer)
        self._head_timer = self.loop.call_later(self.policy.head.timeout, self._head_timed_out)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._head.started and not self._head.complete:
            self._refuse(408, "Request Timeout", "The request head did not arrive within "
                                                 f"{self.policy.head.timeout:g} seconds")
        elif not self._head.started and self.cycle is None:
            self.transport.close()  # connected and said nothing

    def _body_timed_out(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if cycle is None or self.transport.is_closing():
            return
        if cycle.response_complete:
            self.transport.close()  # answered, and the client still sends a body
        else:
            cycle.keep_alive = False  # closed once answered (408 if the route reads it)

    def _refuse(self, status: int, reason: str, message: str) -> None:
        """Answer ``status`` and close, unless an answer is already being written."""
        self._stop_guards()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        answering = cycle is not None and cycle.response_started and not cycle.response_complete
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the application's answer, if any, goes nowhere
            cycle.message_event.set()
        if not answering:
            self.transport.write(refusal(status, reason, message, self.policy.headers))
        self.transport.close()


def _cancel(timer: asyncio.TimerHandle | None) -> None:
    if timer is not None:
        timer.cancel()


class _HttpToolsGuards(_Guarded):
    """Overrides of uvicorn's ``HttpToolsProtocol`` (the parser calls the ``on_*`` methods)."""

    def data_received(self, data: bytes) -> None:
        if not self._scan_head(data):
            return
        in_body, self._body_seen = self._in_body, 0
        super().data_received(data)  # type: ignore[misc]
        # Only bytes parsed wholly inside one body are measured: the rest of a feed that
        # also ended a head or a message is bounded by the size of one read.
        if in_body and self._in_body and not self.transport.is_closing():
            problem = self._framing.account(len(data), self._body_seen)
            if problem:
                self._refuse(*TOO_LARGE, f"Request header fields too large: {problem}")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()  # type: ignore[misc]
        self._head_done()

    def on_body(self, body: bytes) -> None:
        self._body_seen += len(body)
        super().on_body(body)  # type: ignore[misc]

    def on_chunk_header(self) -> None:
        self._framing.chunk()

    def on_message_complete(self) -> None:
        super().on_message_complete()  # type: ignore[misc]
        self._message_done()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "Bad Request", msg)


class _H11Guards(_Guarded):
    """Overrides of uvicorn's ``H11Protocol``; h11's events are observed as they are taken."""

    conn: h11.Connection

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._too_large: str | None = None
        self.conn.next_event = self._observed(self.conn.next_event)  # type: ignore[method-assign]

    def _observed(self, next_event: Callable[[], Any]) -> Callable[[], Any]:
        def observed() -> Any:
            try:
                event = next_event()
            except h11.RemoteProtocolError as exc:
                if exc.error_status_hint == TOO_LARGE[0]:
                    self._too_large = (f"more than {self.policy.head.max_size} bytes of "
                                       "header or trailer fields")
                raise
            if isinstance(event, h11.Request):
                self._head_done()
            elif isinstance(event, h11.EndOfMessage):
                self._message_done()
            return event
        return observed

    def data_received(self, data: bytes) -> None:
        if self._scan_head(data):
            super().data_received(data)  # type: ignore[misc]

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            self._refuse(*TOO_LARGE, f"Request header fields too large: {self._too_large}")
        else:
            self._refuse(400, "Bad Request", msg)


def protocol_class(parser: str, policy: ConnectionPolicy) -> type[asyncio.Protocol]:
    """uvicorn's protocol for ``parser`` (``httptools`` or ``h11``) under ``policy``."""
    base: type[asyncio.Protocol]
    guards: type[_Guarded]
    if parser == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        base, guards = HttpToolsProtocol, _HttpToolsGuards
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol
        base, guards = H11Protocol, _H11Guards
    return type(f"Guarded{base.__name__}", (guards, base), {"policy": policy})


def protocol_options(parser: str, policy: ConnectionPolicy) -> dict[str, Any]:
    """uvicorn's options for the guarded protocol (h11 bounds trailers by the head's size)."""
    return {"http": protocol_class(parser, policy),
            "h11_max_incomplete_event_size": policy.head.max_size}
