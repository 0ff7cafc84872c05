"""A TCP load balancer on loopback, in a thread: round robin over backends, skipping dead ones.

It stands for the load balancer operators put in front of several instances: each new
client connection goes to the next backend that accepts a connection. When a backend dies
the connections it carried are cut, as a real balancer does, so clients see a connection
error and retry. ``delay`` slows every client-to-backend chunk (a slow link, for tests that
need an instance to be caught half-way through its work).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from types import TracebackType

from metalscope.testing.service import free_port

CHUNK = 65536


class RoundRobinBalancer:
    def __init__(self, backends: list[tuple[str, int]], delay: float = 0.0,
                 port: int | None = None) -> None:
        self.backends = list(backends)
        self.delay = delay
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self._next = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> RoundRobinBalancer:
        self._thread = threading.Thread(target=self._run, name="balancer", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the balancer did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _serve(self, client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        backend = await self._connect()
        if backend is None:
            client_writer.close()
            return
        reader, writer = backend
        await asyncio.gather(self._pipe(client_reader, writer, self.delay),
                             self._pipe(reader, client_writer, 0.0))

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in range(len(self.backends)):
            host, port = self.backends[next(self._next) % len(self.backends)]
            try:
                return await asyncio.open_connection(host, port)
            except OSError:
                continue
        return None

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    delay: float) -> None:
        try:
            while chunk := await reader.read(CHUNK):
                if delay:
                    await asyncio.sleep(delay)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                # Cut, not closed politely: the other side must see the connection fail.
                transport = writer.transport
                if reader.at_eof() and not reader.exception():
                    writer.close()
                else:
                    transport.abort()

    def __enter__(self) -> RoundRobinBalancer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
