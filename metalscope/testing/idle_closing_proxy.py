"""IdleClosingProxy: a TCP proxy on loopback that closes connections left idle, as HTTP servers do.

Ironic's server (cheroot) closes a keep-alive connection after 10 s without a request. Put in
front of Ironic, this proxy does the same after ``idle_close`` seconds (about 1 s in tests),
so a client's handling of connections the server has closed is exercised without waiting
10 s each time. A connection is idle while no request is in progress: from the first bytes
of an answer (answers come whole) to the next bytes from the client. ``idle_close=None``
never closes one.

It runs its own event loop in a thread (``with IdleClosingProxy(...) as proxy``), so it
closes connections on time even while the test's loop is held, as a processing step holds
MetalScope's (hooks and rules are synchronous): the client then finds a FIN its loop has not
processed. ``connections`` counts client connections, ``idle_closes`` those closed for
idleness and ``requests`` holds the request line of every request forwarded to the backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

CHUNK = 65536
T = TypeVar("T")


class Link:
    """One client connection and its backend connection."""

    def __init__(self, client: asyncio.StreamWriter, backend: asyncio.StreamWriter) -> None:
        self.client = client
        self.backend = backend
        self.last_activity = asyncio.get_running_loop().time()
        self.awaiting_answer = False
        self.request_line = b""

    def touch(self) -> None:
        self.last_activity = asyncio.get_running_loop().time()

    def idle_for(self) -> float:
        """Seconds without a request in progress (0 while one is)."""
        if self.awaiting_answer:
            return 0.0
        return asyncio.get_running_loop().time() - self.last_activity

    def close(self) -> None:
        for writer in (self.client, self.backend):
            with contextlib.suppress(Exception):
                writer.close()


class IdleClosingProxy:
    def __init__(self, backend: tuple[str, int], idle_close: float | None = 1.0) -> None:
        self.backend = backend
        self.idle_close = idle_close
        self.url = ""
        self.connections = 0
        self.idle_closes = 0
        self.requests: list[bytes] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="idle-closing-proxy",
                                        daemon=True)
        self._server: asyncio.Server | None = None
        self._links: set[Link] = set()
        self._serving: set[asyncio.Task[None]] = set()

    def start(self) -> IdleClosingProxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._call(self._shutdown())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.close()
        await asyncio.gather(*self._serving, return_exceptions=True)

    def __enter__(self) -> IdleClosingProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def lose_answer(self, request_line: bytes) -> bool:
        """Whether to cut the connection instead of relaying the answer to this request."""
        return False

    async def before_answer(self, request_line: bytes) -> None:
        """Awaited before the answer to this request is relayed (a subclass may hold it)."""

    async def _serve(self, client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._serving.add(task)
        try:
            await self._relay(client_reader, client_writer)
        finally:
            self._serving.discard(task)

    async def _relay(self, client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        try:
            backend_reader, backend_writer = await asyncio.open_connection(*self.backend)
        except OSError:
            client_writer.close()
            return
        link = Link(client_writer, backend_writer)
        self._links.add(link)
        relays = [asyncio.create_task(self._requests(client_reader, link)),
                  asyncio.create_task(self._answers(backend_reader, link))]
        if self.idle_close is not None:
            relays.append(asyncio.create_task(self._watch(link, self.idle_close)))
        try:
            await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
        finally:
            link.close()
            for relay in relays:
                relay.cancel()
            await asyncio.gather(*relays, return_exceptions=True)
            self._links.discard(link)

    async def _requests(self, reader: asyncio.StreamReader, link: Link) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await reader.read(CHUNK):
                if not link.awaiting_answer:  # the first bytes of a new request
                    link.request_line = chunk.split(b"\r\n", 1)[0]
                    link.awaiting_answer = True
                    self.requests.append(link.request_line)
                link.touch()
                link.backend.write(chunk)
                await link.backend.drain()

    async def _answers(self, reader: asyncio.StreamReader, link: Link) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await reader.read(CHUNK):
                if link.awaiting_answer and self.lose_answer(link.request_line):
                    return  # cut: the backend has answered, the client never hears it
                if link.awaiting_answer:
                    await self.before_answer(link.request_line)
                link.awaiting_answer = False
                link.touch()
                link.client.write(chunk)
                await link.client.drain()

    async def _watch(self, link: Link, idle_close: float) -> None:
        while (idle := link.idle_for()) < idle_close:
            await asyncio.sleep(idle_close - idle)
        self.idle_closes += 1
