"""The guarded uvicorn protocols, httptools and h11, fed bytes through a fake transport: what
they answer, when they close, and that a well-behaved client is served as before."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from metalscope.http_limits import HeadLimits
from metalscope.http_protocols import ConnectionPolicy, protocol_class

LIMITS = HeadLimits(max_line=256, max_count=8, max_size=1024, timeout=30)
VERSION = (b"X-OpenStack-Ironic-Inspector-API-Maximum-Version", b"1.20")
PARSERS = ["httptools", "h11"]


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: Any) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 5050),
                "peername": ("127.0.0.1", 40000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def body_size_app(scope: Any, receive: Any, send: Any) -> None:
    """Reads the whole body and answers its size."""
    if scope["type"] != "http":
        return
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = json.dumps({"size": size}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


class Connection:
    def __init__(self, parser: str) -> None:
        cls = protocol_class(parser, ConnectionPolicy(LIMITS, 120.0, [VERSION]))
        config = uvicorn.Config(body_size_app, http=cls, log_config=None, lifespan="off",
                                h11_max_incomplete_event_size=LIMITS.max_size)
        self.protocol: Any = cls(config=config, server_state=ServerState(),  # type: ignore[call-arg]
                                 app_state={}, _loop=asyncio.get_running_loop())
        self.transport = FakeTransport()
        self.protocol.connection_made(self.transport)

    def send(self, data: bytes) -> None:
        self.protocol.data_received(data)

    async def settle(self) -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    def answers(self) -> list[tuple[int, dict[str, str], bytes]]:
        """Every answer written so far (bodies have a Content-Length)."""
        data, found = bytes(self.transport.written), []
        while data:
            head, _, rest = data.partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            headers = {k.strip().lower(): v.strip()
                       for k, _, v in (line.partition(":") for line in lines[1:])}
            length = int(headers.get("content-length", "0"))
            found.append((int(lines[0].split()[1]), headers, rest[:length]))
            data = rest[length:]
        return found

    def close(self) -> None:
        self.protocol.connection_lost(None)


@pytest.fixture(params=PARSERS)
async def conn(request: pytest.FixtureRequest) -> AsyncIterator[Connection]:
    connection = Connection(request.param)
    yield connection
    connection.close()


def error_message(answer: tuple[int, dict[str, str], bytes]) -> str:
    return json.loads(answer[2])["error"]["message"]  # type: ignore[no-any-return]


async def test_a_normal_request_is_served(conn: Connection) -> None:
    conn.send(b"POST /v1/continue HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    await conn.settle()
    [(status, _, body)] = conn.answers()
    assert status == 200 and json.loads(body) == {"size": 5}
    assert not conn.transport.closed


async def test_an_endless_header_line_is_refused_while_it_arrives(conn: Connection) -> None:
    conn.send(b"POST /v1/continue HTTP/1.1\r\nHost: x\r\nX-Flood: ")
    conn.send(b"a" * 200)
    assert not conn.transport.closed
    conn.send(b"a" * 200)
    [answer] = conn.answers()
    assert answer[0] == 431 and conn.transport.closed
    assert answer[1]["connection"] == "close"
    assert answer[1]["x-openstack-ironic-inspector-api-maximum-version"] == "1.20"
    assert error_message(answer) == ("Request header fields too large: a request or header "
                                     "line is longer than 256 bytes")


async def test_too_many_header_lines_are_refused(conn: Connection) -> None:
    conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Many: 1\r\n" * 8 + b"\r\n")
    [answer] = conn.answers()
    assert answer[0] == 431 and "more than 8 header lines" in error_message(answer)


async def test_a_malformed_request_gets_400_in_the_error_shape(conn: Connection) -> None:
    conn.send(b"GET / HTTP/1.1\r\nHost x\r\n\r\n")
    [answer] = conn.answers()
    assert answer[0] == 400 and conn.transport.closed
    assert error_message(answer) == "Invalid HTTP request received."


async def test_a_pipelined_body_is_not_taken_for_a_head(conn: Connection) -> None:
    """The second request's head arrives with the end of the first: its body, larger than a
    head may be, must not be measured as one."""
    second = b"POST /v1/continue HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n"
    conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + second)
    await conn.settle()
    for _ in range(3):
        conn.send(b"b" * 1000)
        await conn.settle()
    assert [status for status, _, _ in conn.answers()] == [200, 200]
    assert json.loads(conn.answers()[1][2]) == {"size": 3000}


async def test_a_head_not_complete_in_time_gets_408(conn: Connection) -> None:
    conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
    conn.protocol._head_timed_out()  # what the head timer calls
    [answer] = conn.answers()
    assert answer[0] == 408 and conn.transport.closed
    assert error_message(answer) == "The request head did not arrive within 30 seconds"


async def test_a_connection_that_sends_nothing_is_closed_without_an_answer(
        conn: Connection) -> None:
    conn.protocol._head_timed_out()
    assert conn.transport.closed and conn.answers() == []


async def test_the_head_timer_stops_once_the_head_is_complete(conn: Connection) -> None:
    conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
    assert conn.protocol._head_timer is None and conn.protocol._body_timer is not None
    conn.send(b"0123456789")
    await conn.settle()
    assert conn.protocol._body_timer is None


async def test_a_body_trickling_after_the_answer_is_cut_at_the_body_timeout(
        conn: Connection) -> None:
    """A route that answers without reading the body (here: the application never reads past
    what it needs) leaves the connection to the client; the body timer takes it back."""
    conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 100)
    await conn.settle()
    conn.protocol.cycle.response_complete = True  # as if answered early
    conn.protocol._body_timed_out()
    assert conn.transport.closed


async def test_a_body_timeout_before_the_answer_closes_the_connection_after_it(
        conn: Connection) -> None:
    conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
    await conn.settle()
    conn.protocol._body_timed_out()
    assert conn.protocol.cycle.keep_alive is False and not conn.transport.closed


async def test_an_endless_trailer_field_is_refused() -> None:
    """httptools keeps a trailer field whole, like a header: it is measured too."""
    conn = Connection("httptools")
    try:
        conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        conn.send(b"3\r\nabc\r\n0\r\nX-Trailer: ")
        for _ in range(3):
            conn.send(b"a" * 400)
        [answer] = conn.answers()
        assert answer[0] == 431 and conn.transport.closed
        assert "chunk framing and trailer fields take more than 1024 bytes" in error_message(answer)
    finally:
        conn.close()


async def test_h11_refuses_an_endless_trailer_field_with_431() -> None:
    conn = Connection("h11")
    try:
        conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        conn.send(b"3\r\nabc\r\n0\r\nX-Trailer: ")
        for _ in range(3):
            conn.send(b"a" * 400)
        [answer] = conn.answers()
        assert answer[0] == 431 and conn.transport.closed
        assert "header or trailer fields" in error_message(answer)
    finally:
        conn.close()


async def test_many_small_chunks_are_a_normal_body(conn: Connection) -> None:
    conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(500):
        conn.send(b"1\r\nx\r\n")
    conn.send(b"0\r\n\r\n")
    await conn.settle()
    [(status, _, body)] = conn.answers()
    assert status == 200 and json.loads(body) == {"size": 500}
