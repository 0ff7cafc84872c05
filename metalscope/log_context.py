"""Logging context: every line logged while handling a node carries its UUID, and every
line logged while serving a request carries its request id.

The node and the request are bound in contextvars for the duration of a block
(:func:`bound`, :func:`bound_request`), so asyncio tasks spawned inside inherit them and no
function needs a logger argument. :class:`ContextFilter` puts them on log records;
``metalscope.log_format`` renders them (``[node: <uuid>] ``, ``req-…``).
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


class ContextFilter(logging.Filter):
    """Copies the bound node and request onto every record it sees.

    Sets ``node_uuid`` (None outside a node), ``request_id`` and ``global_request_id``
    (None outside a request), unless the log call gave them itself (``extra=``). Handlers
    run in the thread and task of the log call, so the contextvars read here are the
    caller's.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        annotate(record)
        return True


def annotate(record: logging.LogRecord) -> None:
    """What :class:`ContextFilter` does, for formatters that run without it."""
    fields = record.__dict__
    if "node_uuid" not in fields:
        fields["node_uuid"] = _NODE.get()
    if "request_id" not in fields:
        fields["request_id"], fields["global_request_id"] = _REQUEST.get() or (None, None)
    fields.setdefault("global_request_id", None)

