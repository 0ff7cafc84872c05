"""StreamTransport against small asyncio servers that answer with literal bytes."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from metalscope.http_transport import (
    StreamTransport,
    expired,
    parse_head,
    peer_has_spoken,
    request_head,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, await reader.readexactly(length) if length else b""


def answering(*answers: bytes, seen: list[bytes] | None = None,
              connections: list[int] | None = None) -> Handler:
    """A server that sends ``answers`` in turn, one per request, on whatever connection."""
    count = iter(answers)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if connections is not None:
            connections.append(1)
        try:
            while True:
                head, body = await read_request(reader)
                if seen is not None:
                    seen.append(head + body)
                writer.write(next(count))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, StopIteration):
            writer.close()

    return handle


@asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[str]:
    srv = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.close()


def client(**options: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=StreamTransport(httpx.AsyncHTTPTransport()),
                             **options)  # type: ignore[arg-type]


def ok(body: bytes, *extra: bytes) -> bytes:
    return b"\r\n".join([b"HTTP/1.1 200 OK", b"Content-Length: %d" % len(body), *extra,
                         b"", body])


class TestFormat:
    def test_request_head_carries_path_query_headers_and_length(self) -> None:
        request = httpx.Request("PATCH", "http://ironic:6385/v1/nodes/a?x=1",
                                headers={"X-Version": "1.9"}, json=[{"op": "add"}])
        head = request_head(request, request.read())
        assert head.startswith(b"PATCH /v1/nodes/a?x=1 HTTP/1.1\r\n")
        assert b"Host: ironic:6385\r\n" in head and b"X-Version: 1.9\r\n" in head
        assert head.lower().count(b"content-length:") == 1 and head.endswith(b"\r\n\r\n")

    def test_parse_head(self) -> None:
        status, headers = parse_head(b"HTTP/1.1 404 Not Found\r\nA: b\r\nC:  d \r\n\r\n")
        assert status == 404 and headers == [(b"A", b"b"), (b"C", b"d")]

    @pytest.mark.parametrize("head", [b"garbage\r\n\r\n", b"HTTP/1.1 OK\r\n\r\n",
                                      b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n"])
    def test_malformed_head(self, head: bytes) -> None:
        with pytest.raises(httpx.RemoteProtocolError):
            parse_head(head)


@pytest.mark.asyncio
class TestExchanges:
    async def test_json_answer_and_connection_reuse(self) -> None:
        seen: list[bytes] = []
        connections: list[int] = []
        body = json.dumps({"uuid": "n1"}).encode()
        async with (server(answering(ok(body), ok(body), seen=seen,
                                     connections=connections)) as url,
                    client() as http):
            first = await http.get(url + "/v1/nodes/n1", params={"fields": "uuid"})
            second = await http.patch(url + "/v1/nodes/n1", json=[{"op": "add"}])
        assert first.json() == second.json() == {"uuid": "n1"}
        assert seen[0].startswith(b"GET /v1/nodes/n1?fields=uuid HTTP/1.1")
        assert seen[1].endswith(b'[{"op":"add"}]')
        assert len(connections) == 1

    async def test_chunked_and_gzip_answer(self) -> None:
        payload = gzip.compress(b'{"a": 1}')
        chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"
                   b"\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload))
        async with server(answering(chunked)) as url, client() as http:
            assert (await http.get(url)).json() == {"a": 1}

    async def test_no_content_and_connection_close(self) -> None:
        connections: list[int] = []
        answers = (b"HTTP/1.1 204 No Content\r\n\r\n", ok(b"x", b"Connection: close"), ok(b"y"))
        async with server(answering(*answers, connections=connections)) as url, client() as http:
            assert (await http.delete(url)).status_code == 204
            assert (await http.get(url)).text == "x"
            assert (await http.get(url)).text == "y"
        assert len(connections) == 2  # a new connection after "Connection: close"

    async def test_answer_delimited_by_closing(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.write(b"HTTP/1.1 500 Oops\r\n\r\nbroken")
            writer.close()

        async with server(handle) as url, client() as http:
            response = await http.get(url)
        assert (response.status_code, response.text) == (500, "broken")

    async def test_closed_idle_connection_is_not_reused(self) -> None:
        connections: list[int] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(1)
            await read_request(reader)
            writer.write(ok(b"x"))
            await writer.drain()
            writer.close()  # keep-alive not honoured: closed right after the answer

        async with server(handle) as url, client() as http:
            await http.get(url)
            await asyncio.sleep(0.05)
            assert (await http.get(url)).text == "x"
        assert len(connections) == 2

    async def test_closed_without_answer(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.close()

        async with server(handle) as url, client() as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get(url)

    async def test_read_timeout(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            await asyncio.sleep(5)

        async with server(handle) as url, client(timeout=0.1) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.get(url)

    async def test_refused_connection(self) -> None:
        async with server(answering()) as url:
            pass  # closed again: nothing listens on the port any more
        async with client() as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(url)

    async def test_other_schemes_go_to_the_fallback(self) -> None:
        seen: list[httpx.Request] = []

        def fallback(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={"via": "fallback"})

        transport = StreamTransport(httpx.MockTransport(fallback))
        async with httpx.AsyncClient(transport=transport) as http:
            assert (await http.get("https://ironic.example.org/v1")).json() == {"via": "fallback"}
        assert [str(r.url) for r in seen] == ["https://ironic.example.org/v1"]

    async def test_requests_beyond_the_limit_wait_for_a_connection(self) -> None:
        in_flight: list[int] = [0, 0]  # now, most

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    await read_request(reader)
                    in_flight[0] += 1
                    in_flight[1] = max(in_flight)
                    await asyncio.sleep(0.02)
                    in_flight[0] -= 1
                    writer.write(ok(b"x"))
                    await writer.drain()
            except asyncio.IncompleteReadError:
                writer.close()

        transport = StreamTransport(httpx.AsyncHTTPTransport(), max_connections=2)
        async with server(handle) as url, httpx.AsyncClient(transport=transport) as http:
            await asyncio.gather(*(http.get(url) for _ in range(6)))
        assert in_flight[1] == 2


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    """Two connected loopback TCP sockets: (client side, server side)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client_side = socket.create_connection(listener.getsockname())
        server_side, _ = listener.accept()
    return client_side, server_side


def answering_then(after: Handler, seen: list[bytes], connections: list[int]) -> Handler:
    """Answers one request per connection with ``ok(b"x")``, then runs ``after``."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            head, body = await read_request(reader)
        except asyncio.IncompleteReadError:
            writer.close()
            return
        seen.append(head + body)
        writer.write(ok(b"x"))
        await writer.drain()
        await after(reader, writer)
    return handle


class TestIdleChecks:
    def test_peer_has_spoken(self) -> None:
        """Silence is the only state in which an idle connection may carry a request."""
        client_side, server_side = tcp_pair()
        with client_side, server_side:
            assert not peer_has_spoken(client_side)
            server_side.sendall(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
            assert _eventually(lambda: peer_has_spoken(client_side))
            assert client_side.recv(100).startswith(b"HTTP/1.1 408")  # the peek consumed nothing
            assert not peer_has_spoken(client_side)
            server_side.close()
            assert _eventually(lambda: peer_has_spoken(client_side))  # the FIN
            assert client_side.fileno() != -1  # borrowed, not closed

    def test_reset_counts_as_spoken(self) -> None:
        client_side, server_side = tcp_pair()
        with client_side:
            client_side.sendall(b"unread")
            server_side.close()  # closing with unread data sends a reset
            assert _eventually(lambda: peer_has_spoken(client_side))

    @pytest.mark.parametrize("idle_for,timeout,result", [
        (0.0, 4.0, False), (3.99, 4.0, False), (4.0, 4.0, True), (30.0, 4.0, True),
        (0.0, 0.0, True)])
    def test_expired(self, idle_for: float, timeout: float, result: bool) -> None:
        assert expired(100.0, 100.0 + idle_for, timeout) is result


def _eventually(check: Callable[[], bool]) -> bool:
    """Loopback delivers within microseconds; allow a little time anyway."""
    for _ in range(100):
        if check():
            return True
        time.sleep(0.001)
    return False


@pytest.mark.asyncio
class TestIdleConnections:
    async def test_connection_reused_until_it_expires(self) -> None:
        connections: list[int] = []
        clock = Clock()
        transport = StreamTransport(httpx.AsyncHTTPTransport(), idle_timeout=4.0, clock=clock)
        async with (server(answering(*[ok(b"x")] * 4, connections=connections)) as url,
                    httpx.AsyncClient(transport=transport) as http):
            await http.get(url)
            clock.now += 3.9
            await http.get(url)
            assert len(connections) == 1
            clock.now += 4.0
            await http.get(url)  # idle for 4 s: a new connection
            assert len(connections) == 2

    async def test_zero_idle_timeout_keeps_no_connection(self) -> None:
        connections: list[int] = []
        transport = StreamTransport(httpx.AsyncHTTPTransport(), idle_timeout=0)
        async with (server(answering(*[ok(b"x")] * 3, connections=connections)) as url,
                    httpx.AsyncClient(transport=transport) as http):
            for _ in range(3):
                assert (await http.get(url)).text == "x"
        assert len(connections) == 3

    async def test_close_the_loop_has_not_read_is_seen(self) -> None:
        """The server closes right after its answer; the FIN sits in the socket (an idle
        connection does not read), and the next PATCH goes on a new connection."""
        seen: list[bytes] = []
        connections: list[int] = []

        async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        async with server(answering_then(close, seen, connections)) as url, client() as http:
            await http.get(url)
            await asyncio.sleep(0.05)  # the FIN has arrived; nothing has read it
            assert (await http.patch(url, json=[{"op": "add"}])).text == "x"
        assert len(connections) == 2
        assert [request.split(b" ")[0] for request in seen] == [b"GET", b"PATCH"]

    async def test_stray_bytes_on_an_idle_connection(self) -> None:
        """Bytes sent while no request is out (here a 408, as some servers send before
        closing) are not taken as the next answer."""
        connections: list[int] = []
        seen: list[bytes] = []

        async def stray(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(0.02)  # the client has parked the connection
            writer.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            await reader.read()  # until the client gives the connection up

        async with server(answering_then(stray, seen, connections)) as url, client() as http:
            await http.get(url)
            await asyncio.sleep(0.05)
            response = await http.get(url)
        assert (response.status_code, len(connections)) == (200, 2)


BIG = b"[" + b" " * (32 << 20) + b"]"  # more than the kernel buffers of both ends hold


async def read_head_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                               seen: list[bytes]) -> None:
    """Read a request's head only and close: the unread body makes the close a reset."""
    seen.append(await reader.readuntil(b"\r\n\r\n"))
    writer.close()


@pytest.mark.asyncio
class TestFailuresOnReusedConnections:
    async def test_request_that_did_not_leave_whole_goes_on_a_fresh_connection(self) -> None:
        """The server resets a reused connection while the request is still being written:
        it cannot have acted on it, so it is sent again, once, even a PATCH."""
        seen: list[bytes] = []
        connections: list[int] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(1)
            if len(connections) == 1:
                await read_request(reader)
                writer.write(ok(b"first"))
                await writer.drain()
                await read_head_then_close(reader, writer, seen)
            else:
                head, body = await read_request(reader)
                seen.append(head)
                writer.write(ok(b"%d" % len(body)))
                await writer.drain()

        async with server(handle) as url, client() as http:
            assert (await http.get(url)).text == "first"
            response = await http.patch(url, content=BIG)
        assert response.text == str(len(BIG))
        assert len(connections) == 2
        assert [head.split(b" ")[0] for head in seen] == [b"PATCH", b"PATCH"]

    async def test_only_one_fresh_attempt(self) -> None:
        connections: list[int] = []
        seen: list[bytes] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(1)
            if len(connections) == 1:
                await read_request(reader)
                writer.write(ok(b"first"))
                await writer.drain()
            await read_head_then_close(reader, writer, seen)

        async with server(handle) as url, client() as http:
            await http.get(url)
            with pytest.raises(httpx.WriteError):
                await http.post(url, content=BIG)
        assert len(connections) == 2

    async def test_answer_lost_after_the_request_left_is_not_repeated(self) -> None:
        """Closed after reading the whole request: the outcome is unknown, the caller decides."""
        seen: list[bytes] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.write(ok(b"first"))
            await writer.drain()
            head, body = await read_request(reader)
            seen.append(head + body)
            writer.close()

        async with server(handle) as url, client() as http:
            await http.get(url)
            with pytest.raises(httpx.RemoteProtocolError):
                await http.patch(url, json=[{"op": "remove", "path": "/extra/a"}])
        assert len(seen) == 1
