"""Reading request bodies: size limits and JSON parsing regardless of Content-Type."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from metalscope.api.body_budget import BodyBudget, Charge, parse_cost
from metalscope.api.errors import RequestTimedOut, RequestTooLarge
from metalscope.errors import InvalidRequest

_TYPE_NAMES = {dict: "dict", list: "list", str: "str", int: "int", float: "float",
               bool: "bool", type(None): "NoneType"}


async def read_body(request: Request, limit: int, timeout: float | None = None,
                    charge: Charge | None = None) -> bytes:
    """The raw body, refused with 413 as soon as it exceeds ``limit`` bytes and with 408
    when it has not arrived whole within ``timeout`` seconds; each chunk is charged to
    ``charge`` as it arrives (503 when the budget has no room)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"Request body is too large: {declared} bytes, the limit is {limit}")
    chunks: list[bytes] = []
    try:
        async with asyncio.timeout(timeout):
            await _receive(request, limit, chunks, charge)
    except TimeoutError:
        raise RequestTimedOut(f"The request body did not arrive within {timeout:g} seconds"
                              ) from None
    return b"".join(chunks)


async def _receive(request: Request, limit: int, chunks: list[bytes],
                   charge: Charge | None) -> None:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"Request body is too large: more than {limit} bytes")
        if charge is not None:
            charge.add(len(chunk))
        chunks.append(chunk)


@contextlib.asynccontextmanager
async def budgeted_json(request: Request, limit: int, timeout: float,
                        budget: BodyBudget) -> AsyncIterator[tuple[bytes, Any]]:
    """The raw body and its parsed JSON (``NotImplemented`` when not JSON), read and parsed
    within ``budget``, which stays charged until the block ends (see ``body_budget``)."""
    async with budget.charge() as charge:
        raw = await read_body(request, limit, timeout, charge)
        cost = parse_cost(raw)
        if cost > budget.capacity:
            raise RequestTooLarge(
                f"Request body is too complex: parsing it would take about {cost >> 20} MiB, "
                f"more than [DEFAULT]max_parsing_bytes ({budget.capacity >> 20} MiB)")
        await charge.become(cost)
        yield raw, parse_json(raw) if raw else None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def parse_json(raw: bytes) -> Any:
    """Parsed JSON, or the marker ``NotImplemented`` when the bytes are not JSON.

    ``NaN``, ``Infinity`` and numbers too large for a float (``1e999``) are refused: accepted,
    they would be stored and served back as ``NaN``/``Infinity``, which is not JSON (RFC 8259).
    """
    try:
        return json.loads(raw, parse_constant=_not_json, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return NotImplemented


def require_object(value: Any) -> dict[str, Any]:
    """The upstream check: ``Invalid data: expected a JSON object, got <type>``."""
    if isinstance(value, dict):
        return value
    got = "None" if value is NotImplemented else _TYPE_NAMES.get(type(value), type(value).__name__)
    raise InvalidRequest(f"Invalid data: expected a JSON object, got {got}")


async def read_json_object(request: Request, limit: int,
                           timeout: float | None = None) -> dict[str, Any]:
    return require_object(parse_json(await read_body(request, limit, timeout)))
