"""Structured logging: every line logged while handling a node carries ``[node: <uuid>]``,
and every line logged while serving a request carries its request id.

The node and the request are bound in contextvars for the duration of a block
(:func:`bound`, :func:`bound_request`), so asyncio tasks spawned inside inherit them and no
function needs a logger argument.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

_NODE: contextvars.ContextVar[str | None] = contextvars.ContextVar("metalscope_node", default=None)
#: (request id, global request id) of the request being served: ``req-<uuid>`` each.
_REQUEST: contextvars.ContextVar[tuple[str, str | None] | None] = contextvars.ContextVar(
    "metalscope_request", default=None)


@contextlib.contextmanager
def bound(node: str | None) -> Iterator[None]:
    token = _NODE.set(node)
    try:
        yield
    finally:
        _NODE.reset(token)


@contextlib.contextmanager
def bound_request(request_id: str, global_request_id: str | None = None) -> Iterator[None]:
    token = _REQUEST.set((request_id, global_request_id))
    try:
        yield
    finally:
        _REQUEST.reset(token)


def current_node() -> str | None:
    return _NODE.get()


def current_request() -> tuple[str, str | None] | None:
    """(request id, global request id) of the request being served, or None."""
    return _REQUEST.get()


class NodeContextFilter(logging.Filter):
    """Adds ``node_prefix`` (``[node: <uuid>] `` or empty) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        node = _NODE.get()
        record.node_prefix = f"[node: {node}] " if node else ""
        return True


def configure_logging(debug: bool = False, log_file: str | None = None) -> None:
    """Set up the root logger for the ``metalscope`` command (not called by the library)."""
    handler: logging.Handler = (logging.FileHandler(log_file) if log_file
                                else logging.StreamHandler())
    handler.addFilter(NodeContextFilter())
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s %(node_prefix)s%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ("httpx", "httpcore", "uvicorn.access", "aiosqlite", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
