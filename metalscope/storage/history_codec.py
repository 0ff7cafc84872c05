"""How a history version's two documents are stored: compact JSON, compressed.

The unprocessed data is mostly the processed data again (the inventory, the PCI devices,
the LLDP frames: processing adds keys, it rarely rewrites the ramdisk's). So the unprocessed
copy is stored as the keys it does not share with the processed copy, plus the order of its
keys; a shared key is taken back from the processed copy when read. Both parts are then
compressed with zlib (``benchmarks/history_bytes.py`` compares zlib, lzma and the copies
stored apart or together). The codec's name is stored with every version, so versions
written under another codec stay readable.
"""

from __future__ import annotations

import asyncio
import json
import lzma
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The codec new versions are written with.
CODEC = "shared+zlib"
#: Above this many bytes of JSON, a version is compressed and decoded in a worker thread.
THREAD_THRESHOLD = 64 * 1024
_ZLIB_LEVEL = 9

_COMPRESSORS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "zlib": (lambda raw: zlib.compress(raw, _ZLIB_LEVEL), zlib.decompress),
    "lzma": (lambda raw: lzma.compress(raw, preset=6), lzma.decompress),
}


class CodecError(ValueError):
    """A stored version cannot be decoded (unknown codec or damaged bytes)."""


@dataclass(frozen=True)
class Encoded:
    """What is written: the two blobs, the codec, and the sizes before and after."""

    codec: str
    processed: bytes
    unprocessed: bytes | None
    #: Bytes of the two documents as compact JSON.
    raw_bytes: int
    #: Bytes of the two blobs.
    stored_bytes: int


def dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def split_shared(processed: dict[str, Any], unprocessed: dict[str, Any]) -> dict[str, Any]:
    """The unprocessed document as its key order and the values not found, identical, under
    the same key in ``processed`` (compared as JSON, so ``1`` never stands for ``true``)."""
    own = {key: value for key, value in unprocessed.items()
           if key not in processed or dumps(processed[key]) != dumps(value)}
    return {"order": list(unprocessed), "own": own}


def _members(document: dict[str, Any]) -> dict[str, bytes] | None:
    """Each member's value as JSON; None when a key is not a string (JSON would turn it
    into one, so the pieces would not make the document's JSON)."""
    if not all(isinstance(key, str) for key in document):
        return None
    return {key: dumps(value) for key, value in document.items()}


def _object(members: dict[str, bytes]) -> bytes:
    """The JSON of an object from its members' JSON: exactly :func:`dumps` of it."""
    return b"{" + b",".join(dumps(key) + b":" + value for key, value in members.items()) + b"}"


def join_shared(processed: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    own = stored["own"]
    return {key: own[key] if key in own else processed[key] for key in stored["order"]}


def encode(processed: dict[str, Any], unprocessed: dict[str, Any] | None,
           codec: str = CODEC) -> Encoded:
    return _compressed(codec, *_serialised(codec, processed, unprocessed))


def _serialised(codec: str, processed: dict[str, Any], unprocessed: dict[str, Any] | None,
                ) -> tuple[bytes, bytes | None, int]:
    """The processed JSON, what is kept of the unprocessed one, and both JSONs' size."""
    shared, _ = _parse(codec)
    if unprocessed is not None and shared:
        processed_members, unprocessed_members = _members(processed), _members(unprocessed)
        if processed_members is not None and unprocessed_members is not None:
            return _split(processed_members, unprocessed_members)
    processed_raw = dumps(processed)
    if unprocessed is None:
        return processed_raw, None, len(processed_raw)
    unprocessed_raw = dumps(unprocessed)
    kept = dumps(split_shared(processed, unprocessed)) if shared else unprocessed_raw
    return processed_raw, kept, len(processed_raw) + len(unprocessed_raw)


def _split(processed: dict[str, bytes], unprocessed: dict[str, bytes],
           ) -> tuple[bytes, bytes, int]:
    """:func:`_serialised` of a shared codec from each member's JSON, made once: the two
    documents share most of their values (the inventory above all), which
    :func:`split_shared` would serialise twice more to compare."""
    processed_raw = _object(processed)
    own = {key: value for key, value in unprocessed.items() if processed.get(key) != value}
    kept = (b'{"order":' + dumps(list(unprocessed)) + b',"own":' + _object(own) + b"}")
    return processed_raw, kept, len(processed_raw) + len(_object(unprocessed))


def _compressed(codec: str, processed_raw: bytes, kept: bytes | None,
                raw_bytes: int) -> Encoded:
    compress = _COMPRESSORS[_parse(codec)[1]][0]
    processed_blob = compress(processed_raw)
    unprocessed_blob = None if kept is None else compress(kept)
    stored = len(processed_blob) + len(unprocessed_blob or b"")
    return Encoded(codec, processed_blob, unprocessed_blob, raw_bytes, stored)


def decode(codec: str, processed: bytes, unprocessed: bytes | None,
           ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    shared, compressor = _parse(codec)
    decompress = _COMPRESSORS[compressor][1]
    try:
        processed_doc = json.loads(decompress(processed))
        if unprocessed is None:
            return processed_doc, None
        kept = json.loads(decompress(unprocessed))
        return processed_doc, join_shared(processed_doc, kept) if shared else kept
    except (zlib.error, lzma.LZMAError, ValueError, KeyError, TypeError) as exc:
        raise CodecError(f"stored history data cannot be decoded ({codec}): {exc}") from exc


def _parse(codec: str) -> tuple[bool, str]:
    shared, _, compressor = codec.rpartition("+")
    if shared not in ("", "shared") or compressor not in _COMPRESSORS:
        raise CodecError(f"unknown history codec {codec!r}")
    return shared == "shared", compressor


async def encode_async(processed: dict[str, Any], unprocessed: dict[str, Any] | None,
                       ) -> Encoded:
    """:func:`encode`, the compression in a worker thread when the JSON is large.

    Serialising holds the interpreter lock wherever it runs: in a worker thread it only
    makes the event loop wait for the lock (up to the interpreter's switch interval at a
    time) instead of for the work. zlib lets go of the lock while it compresses, so that
    part moves to a thread, above :data:`THREAD_THRESHOLD` bytes of JSON."""
    serialised = _serialised(CODEC, processed, unprocessed)
    if serialised[2] > THREAD_THRESHOLD:
        return await asyncio.to_thread(_compressed, CODEC, *serialised)
    return _compressed(CODEC, *serialised)


async def decode_async(codec: str, processed: bytes, unprocessed: bytes | None, raw_bytes: int,
                       ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """:func:`decode`, in a worker thread when the documents were large."""
    if raw_bytes > THREAD_THRESHOLD:
        return await asyncio.to_thread(decode, codec, processed, unprocessed)
    return decode(codec, processed, unprocessed)
