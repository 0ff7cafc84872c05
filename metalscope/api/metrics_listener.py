"""The separate metrics listener (``[metrics]port``): uvicorn on the running event loop,
serving only :class:`~metalscope.api.metrics.MetricsApp`, next to the API listener or, in a
conductor-role process, alone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn

from metalscope.api.metrics import MetricsApp
from metalscope.errors import ConfigurationError
from metalscope.services import Services

LOG = logging.getLogger(__name__)


class _QuietServer(uvicorn.Server):
    """uvicorn's server without signal handling: the process' own handles the signals and
    stops this listener through :func:`serving`. ``ready`` is set once it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a port in use is a clear ConfigurationError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"Cannot serve metrics on [metrics]host {host} port "
                                 f"{port}: {exc}") from exc
    return sock


@contextlib.asynccontextmanager
async def serving(svc: Services) -> AsyncIterator[int | None]:
    """Serve the metrics on ``[metrics]host``:``port`` while the block runs (nothing when the
    metrics are disabled or served on the API's listener); yields the bound port."""
    settings = svc.settings.metrics
    if not settings.enabled or not settings.port:
        yield None
        return
    sock = bind(settings.host, settings.port)
    config = uvicorn.Config(MetricsApp(svc), lifespan="off", log_config=None,
                            access_log=False, http="h11", loop="none")
    server = _QuietServer(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]),
                                                  name="metrics listener")
    ready = asyncio.ensure_future(server.ready.wait())
    await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if task.done():
        task.result()  # raises what stopped it
    LOG.info("Serving metrics on http://%s:%d/metrics (no authentication)",
             settings.host, settings.port)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()
