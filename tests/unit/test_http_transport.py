"""StreamTransport against small asyncio servers that answer with literal bytes."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from metalscope.http_transport import StreamTransport, parse_head, request_head

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
        async with server(answering(ok(body), ok(body), seen=seen, connections=connections)) as url:
            async with client() as http:
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
        async with server(answering(chunked)) as url:
            async with client() as http:
                assert (await http.get(url)).json() == {"a": 1}

    async def test_no_content_and_connection_close(self) -> None:
        connections: list[int] = []
        answers = (b"HTTP/1.1 204 No Content\r\n\r\n", ok(b"x", b"Connection: close"), ok(b"y"))
        async with server(answering(*answers, connections=connections)) as url:
            async with client() as http:
                assert (await http.delete(url)).status_code == 204
                assert (await http.get(url)).text == "x"
                assert (await http.get(url)).text == "y"
        assert len(connections) == 2  # a new connection after "Connection: close"

    async def test_answer_delimited_by_closing(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.write(b"HTTP/1.1 500 Oops\r\n\r\nbroken")
            writer.close()

        async with server(handle) as url:
            async with client() as http:
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

        async with server(handle) as url:
            async with client() as http:
                await http.get(url)
                await asyncio.sleep(0.05)
                assert (await http.get(url)).text == "x"
        assert len(connections) == 2

    async def test_closed_without_answer(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.close()

        async with server(handle) as url:
            async with client() as http:
                with pytest.raises(httpx.RemoteProtocolError):
                    await http.get(url)

    async def test_read_timeout(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            await asyncio.sleep(5)

        async with server(handle) as url:
            async with client(timeout=0.1) as http:
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
        async with server(handle) as url:
            async with httpx.AsyncClient(transport=transport) as http:
                await asyncio.gather(*(http.get(url) for _ in range(6)))
        assert in_flight[1] == 2
