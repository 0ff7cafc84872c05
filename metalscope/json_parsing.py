"""Request bodies parsed as JSON without holding the event loop for long.

``json.loads`` runs in C and keeps the GIL for the whole document, so moving it to a thread
alone would not free the loop: a document of half a million empty arrays (within the default
parsing budget) holds it for 130 to 400 ms, most of it in the garbage collector walking the
new containers. So a body is parsed

* on the loop by the C parser when it is small: at most ``INLINE_BYTES`` and
  ``INLINE_TOKENS`` containers and commas, about 2 ms at worst (a ramdisk callback has a few
  hundred);
* otherwise on one worker thread by the standard library's pure-Python scanner (the C
  scanner's twin, same results and errors; strings are still scanned in C). Its bytecode lets
  the loop take the GIL back every switch interval (5 ms), so the loop waits at most that, plus
  any collection pass the garbage collector makes meanwhile. One thread, so large documents
  are parsed one at a time and the loop competes with one thread only.

Both refuse what ``parse_json`` refuses: not JSON, ``NaN``/``Infinity``, floats out of range,
nesting deeper than the recursion limit allows (the Python scanner uses two frames per level
where the C one uses one, so a large document nested 500 deep is refused where a small one is
parsed; ramdisk data is nested about 6 deep).
"""

from __future__ import annotations

import asyncio
import json
import json.scanner
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn, TypeVar

INLINE_BYTES = 256 * 1024
INLINE_TOKENS = 16384

T = TypeVar("T")


def _not_json(constant: str) -> NoReturn:
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


def parse_json_yielding(raw: bytes) -> Any:
    """``parse_json`` with the pure-Python scanner: slower, but it gives up the GIL to other
    threads every switch interval. Bytes are decoded as ``json.loads`` decodes them."""
    decoder = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite_float)
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        return decoder.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return NotImplemented


def is_small(raw: bytes) -> bool:
    """Small enough for the C parser on the loop (the counts run in C, microseconds here)."""
    if len(raw) > INLINE_BYTES:
        return False
    return raw.count(b"{") + raw.count(b"[") + raw.count(b",") <= INLINE_TOKENS


class JsonParser:
    """Parses bodies on the loop or on its one worker thread (see the module docstring)."""

    def __init__(self) -> None:
        self._worker: ThreadPoolExecutor | None = None

    async def parse(self, raw: bytes) -> Any:
        if is_small(raw):
            return parse_json(raw)
        return await self.off_loop(parse_json_yielding, raw)

    async def off_loop(self, work: Callable[[bytes], T], raw: bytes) -> T:
        """``work(raw)`` on the worker thread."""
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="metalscope-json")
        return await asyncio.get_running_loop().run_in_executor(self._worker, work, raw)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
            self._worker = None
