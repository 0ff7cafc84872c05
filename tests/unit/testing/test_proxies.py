"""The faulty proxies of the connection tests, in front of a loopback server answering b"ok"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from metalscope.testing.answer_losing_proxy import AnswerLosingProxy
from metalscope.testing.idle_closing_proxy import IdleClosingProxy


@asynccontextmanager
async def backend(delay: float = 0.0, seen: list[bytes] | None = None
                  ) -> AsyncIterator[tuple[str, int]]:
    """Answers each line it reads with ``ok <line>`` after ``delay`` seconds."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            if seen is not None:
                seen.append(line)
            await asyncio.sleep(delay)
            writer.write(b"ok " + line)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield "127.0.0.1", server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def connect(proxy: IdleClosingProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = proxy.url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


@pytest.mark.asyncio
class TestIdleClosingProxy:
    async def test_closes_a_connection_left_idle(self) -> None:
        async with backend() as address:
            with IdleClosingProxy(address, idle_close=0.2) as proxy:
                reader, writer = await connect(proxy)
                writer.write(b"GET / HTTP/1.1\r\n")
                assert await reader.readline() == b"ok GET / HTTP/1.1\r\n"
                assert await asyncio.wait_for(reader.read(), 2) == b""  # closed, 0.2 s later
                writer.close()
        assert (proxy.connections, proxy.idle_closes) == (1, 1)
        assert proxy.requests == [b"GET / HTTP/1.1"]

    async def test_waits_for_a_slow_answer(self) -> None:
        """A request in progress is not idleness."""
        async with backend(delay=0.5) as address:
            with IdleClosingProxy(address, idle_close=0.2) as proxy:
                reader, writer = await connect(proxy)
                writer.write(b"PATCH /slow HTTP/1.1\r\n")
                line = await asyncio.wait_for(reader.readline(), 2)
                assert line == b"ok PATCH /slow HTTP/1.1\r\n"
                writer.close()
        assert proxy.idle_closes == 0


@pytest.mark.asyncio
async def test_answer_losing_proxy() -> None:
    """The matching request reaches the backend; its answer does not reach the client."""
    seen: list[bytes] = []
    async with backend(seen=seen) as address:
        with AnswerLosingProxy(address, "PATCH", path_prefix="/v1/nodes") as proxy:
            reader, writer = await connect(proxy)
            writer.write(b"PATCH /v1/ports/p HTTP/1.1\r\n")
            assert await reader.readline() == b"ok PATCH /v1/ports/p HTTP/1.1\r\n"
            writer.write(b"PATCH /v1/nodes/n HTTP/1.1\r\n")
            assert await asyncio.wait_for(reader.read(), 2) == b""
            writer.close()
    assert seen == [b"PATCH /v1/ports/p HTTP/1.1\r\n", b"PATCH /v1/nodes/n HTTP/1.1\r\n"]
    assert proxy.lost == [b"PATCH /v1/nodes/n HTTP/1.1"]
