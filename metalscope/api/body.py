"""Reading request bodies: size limits, time limit, the parsing budget, and JSON parsing
regardless of Content-Type (``json_parsing.py``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request

from metalscope.api.errors import RequestTimedOut, RequestTooLarge
from metalscope.body_budget import BodyBudget, BudgetExhausted, CostMeter
from metalscope.errors import InvalidRequest, MetalScopeError
from metalscope.json_parsing import JsonParser, parse_json

_TYPE_NAMES = {dict: "dict", list: "list", str: "str", int: "int", float: "float",
               bool: "bool", type(None): "NoneType"}


async def read_body(request: Request, limit: int, timeout: float | None = None,
                    account: Callable[[bytes], None] | None = None) -> bytes:
    """The raw body, refused with 413 as soon as it exceeds ``limit`` bytes and with 408
    when it has not arrived whole within ``timeout`` seconds; each chunk is given to
    ``account`` as it arrives (which may refuse it: 413, or 503 when the budget is full).

    A refusal before the whole body has arrived closes the connection once answered
    (``Connection: close``): the rest of the body is not read only to be thrown away, which
    for a client sending large bodies in a loop is most of what it costs the server.
    """
    declared = request.headers.get("content-length")
    chunks: list[bytes] = []
    try:
        if declared and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(f"Request body is too large: {declared} bytes, "
                                  f"the limit is {limit}")
        async with asyncio.timeout(timeout):
            await _receive(request, limit, chunks, account)
    except TimeoutError:
        raise _closing(RequestTimedOut("The request body did not arrive within "
                                       f"{timeout:g} seconds")) from None
    except (RequestTooLarge, BudgetExhausted) as exc:
        raise _closing(exc) from None
    return b"".join(chunks)


def _closing(exc: MetalScopeError) -> MetalScopeError:
    """``exc``, answered with ``Connection: close`` (the error handler sends its headers)."""
    exc.headers = {**(getattr(exc, "headers", None) or {}), "Connection": "close"}  # type: ignore[attr-defined]
    return exc


async def _receive(request: Request, limit: int, chunks: list[bytes],
                   account: Callable[[bytes], None] | None) -> None:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"Request body is too large: more than {limit} bytes")
        if account is not None:
            account(chunk)
        chunks.append(chunk)


@contextlib.asynccontextmanager
async def budgeted_json(request: Request, limit: int, timeout: float, budget: BodyBudget,
                        parser: JsonParser) -> AsyncIterator[tuple[bytes, Any]]:
    """The raw body and its parsed JSON (``NotImplemented`` when not JSON), read and parsed
    within ``budget``, which stays charged until the block ends (see ``body_budget``)."""
    meter = CostMeter()
    async with budget.charge() as charge:
        def account(chunk: bytes) -> None:
            meter.add(chunk)
            if meter.cost > budget.capacity:
                raise RequestTooLarge(
                    "Request body is too complex: parsing it would take more than "
                    f"[DEFAULT]max_parsing_bytes ({budget.capacity >> 20} MiB)")
            charge.add(len(chunk))

        raw = await read_body(request, limit, timeout, account)
        await charge.become(meter.cost)
        yield raw, (await parser.parse(raw)) if raw else None


def require_object(value: Any) -> dict[str, Any]:
    """The upstream check: ``Invalid data: expected a JSON object, got <type>``."""
    if isinstance(value, dict):
        return value
    got = "None" if value is NotImplemented else _TYPE_NAMES.get(type(value), type(value).__name__)
    raise InvalidRequest(f"Invalid data: expected a JSON object, got {got}")


async def read_json_object(request: Request, limit: int, timeout: float | None = None,
                           parser: JsonParser | None = None) -> dict[str, Any]:
    raw = await read_body(request, limit, timeout)
    return require_object(await parser.parse(raw) if parser else parse_json(raw))

