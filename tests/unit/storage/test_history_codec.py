"""The history codec: what goes in comes back, smaller, under every codec name."""

from __future__ import annotations

import json
from typing import Any

import pytest

from metalscope.simulator.inventory import make_node, ramdisk_data
from metalscope.storage import history_codec as codec


def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    unprocessed = {k: v for k, v in ramdisk_data(make_node(5, 3)).items() if k != "logs"}
    processed = json.loads(json.dumps(unprocessed))
    processed["all_interfaces"] = {"eth0": {"ip": "192.0.2.10"}}
    processed["root_disk"]["name"] = "/dev/changed"  # a key both have, different values
    return processed, unprocessed


@pytest.mark.parametrize("name", ["shared+zlib", "shared+lzma", "zlib", "lzma"])
def test_round_trip(name: str) -> None:
    processed, unprocessed = documents()
    encoded = codec.encode(processed, unprocessed, codec=name)
    assert encoded.codec == name
    assert codec.decode(name, encoded.processed, encoded.unprocessed) == (processed, unprocessed)
    assert encoded.stored_bytes == len(encoded.processed) + len(encoded.unprocessed or b"")
    assert encoded.raw_bytes == len(codec.dumps(processed)) + len(codec.dumps(unprocessed))


def test_shared_keys_make_the_unprocessed_copy_small() -> None:
    processed, unprocessed = documents()
    apart = codec.encode(processed, unprocessed, codec="zlib")
    shared = codec.encode(processed, unprocessed, codec="shared+zlib")
    assert shared.unprocessed is not None and apart.unprocessed is not None
    assert len(shared.unprocessed) * 4 < len(apart.unprocessed)
    assert shared.stored_bytes * 4 < shared.raw_bytes


def test_key_order_and_json_types_survive() -> None:
    processed = {"a": 1, "b": [1, 2], "c": {"x": None}}
    unprocessed = {"c": {"x": None}, "a": True, "z": "own", "b": [1, 2]}
    encoded = codec.encode(processed, unprocessed)
    _, back = codec.decode(encoded.codec, encoded.processed, encoded.unprocessed)
    assert back is not None
    assert list(back) == ["c", "a", "z", "b"] and back["a"] is True


def test_no_unprocessed_data() -> None:
    encoded = codec.encode({"inventory": {}}, None)
    assert encoded.unprocessed is None
    assert codec.decode(encoded.codec, encoded.processed, None) == ({"inventory": {}}, None)


def test_unknown_codec_and_damaged_bytes_are_codec_errors() -> None:
    with pytest.raises(codec.CodecError, match="unknown history codec 'zstd'"):
        codec.decode("zstd", b"", None)
    with pytest.raises(codec.CodecError, match="cannot be decoded"):
        codec.decode("shared+zlib", b"not zlib", None)
    encoded = codec.encode({"a": 1}, {"b": 2})
    with pytest.raises(codec.CodecError):
        codec.decode("shared+zlib", encoded.processed, codec._COMPRESSORS["zlib"][0](b"[]"))


async def test_async_forms_agree() -> None:
    processed, unprocessed = documents()
    encoded = await codec.encode_async(processed, unprocessed)
    for raw_bytes in (0, codec.THREAD_THRESHOLD + 1):
        assert await codec.decode_async(encoded.codec, encoded.processed, encoded.unprocessed,
                                        raw_bytes) == (processed, unprocessed)


async def test_large_versions_are_compressed_in_a_thread_with_the_same_result() -> None:
    processed, unprocessed = documents()
    processed = {**processed, "padding": "x" * (codec.THREAD_THRESHOLD + 1)}
    threaded = await codec.encode_async(processed, unprocessed)
    assert threaded == codec.encode(processed, unprocessed)
    assert threaded.raw_bytes > codec.THREAD_THRESHOLD
    assert codec.decode(threaded.codec, threaded.processed,
                        threaded.unprocessed) == (processed, unprocessed)


@pytest.mark.parametrize("pair", [
    ({"a": 1, "b": {"x": [1, 2]}, "ü": "é"}, {"b": {"x": [1, 2]}, "a": True, "c": None}),
    ({"a": 1.0}, {"a": 1}), ({}, {}), ({1: 2}, {"1": 2}),
])
def test_versions_made_from_pieces_are_the_documents_json(
        pair: tuple[dict[Any, Any], dict[Any, Any]]) -> None:
    processed, unprocessed = pair
    raw, kept, size = codec._serialised(codec.CODEC, processed, unprocessed)
    assert raw == codec.dumps(processed)
    assert kept == codec.dumps(codec.split_shared(processed, unprocessed))
    assert size == len(codec.dumps(processed)) + len(codec.dumps(unprocessed))
