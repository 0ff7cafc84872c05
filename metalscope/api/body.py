"""Reading request bodies: size limits and JSON parsing regardless of Content-Type."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import Request

from metalscope.api.errors import RequestTooLarge
from metalscope.errors import InvalidRequest

_TYPE_NAMES = {dict: "dict", list: "list", str: "str", int: "int", float: "float",
               bool: "bool", type(None): "NoneType"}


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"Request body is too large: {declared} bytes, the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"Request body is too large: more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


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


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    return require_object(parse_json(await read_body(request, limit)))
