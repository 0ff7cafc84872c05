"""JSON bodies: the pure-Python scanner used off the loop gives what the C parser gives, and
which bodies are parsed where."""

from __future__ import annotations

import json
import threading

import pytest

from metalscope.json_parsing import (
    INLINE_BYTES,
    INLINE_TOKENS,
    JsonParser,
    is_small,
    parse_json,
    parse_json_yielding,
)
from metalscope.simulator import make_fleet, ramdisk_data

SAMPLES = [
    b'{"a": 1, "b": [true, false, null], "c": {"d": "e\\u00e9\\ud83d\\ude00"}}',
    b'{"a": 1.5e300, "b": -0.0, "c": 123456789012345678901234567890}',
    b'\xef\xbb\xbf{"bom": 1}',
    '{"utf16": "é"}'.encode("utf-16"),
    b'  {"spaces": [ 1 , 2 ]}  ',
    b'{"dup": 1, "dup": 2}',
    b"[1, 2, 3]",
    b'"text"',
    b"12",
    b"",
    b"{",
    b'{"a": 1} trailing',
    b'{"a": NaN}',
    b"[Infinity]",
    b"-Infinity",
    b'{"a": 1e999}',
    b'{"a": "\x01 control character"}',
    b"\xff\xfe\x00garbage",
    b'{"a": ' + b"9" * 5000 + b"}",
    b"[" * 100 + b"]" * 100,
    json.dumps(ramdisk_data(make_fleet(3, 1)[0])).encode(),
]


@pytest.mark.parametrize("raw", SAMPLES)
def test_the_python_scanner_gives_what_the_c_parser_gives(raw: bytes) -> None:
    expected = parse_json(raw)
    got = parse_json_yielding(raw)
    if expected is NotImplemented:
        assert got is NotImplemented
    else:
        assert json.dumps(got) == json.dumps(expected)


def test_a_ramdisk_callback_is_parsed_on_the_loop() -> None:
    raw = json.dumps(ramdisk_data(make_fleet(3, 1)[0])).encode()
    assert is_small(raw)


@pytest.mark.parametrize("raw", [
    b'{"f":[' + b"[]," * INLINE_TOKENS + b"[]]}",
    b'{"f":[' + b"1," * INLINE_TOKENS + b"1]}",
    json.dumps({"logs": "a" * INLINE_BYTES}).encode(),
], ids=["many-arrays", "many-values", "large"])
def test_dense_or_large_bodies_go_to_the_worker(raw: bytes) -> None:
    assert not is_small(raw)


def test_exactly_at_the_limits_is_small() -> None:
    raw = b"[" + b"1," * (INLINE_TOKENS - 1) + b"1]"
    assert raw.count(b"[") + raw.count(b",") == INLINE_TOKENS and is_small(raw)
    assert not is_small(raw[:-1] + b",1]")


async def test_the_parser_answers_the_same_on_the_loop_and_off_it() -> None:
    parser = JsonParser()
    try:
        small = b'{"a": [1, 2]}'
        large = b'{"f":[' + b'{"x": [1, "y"]},' * 20_000 + b"{}]}"
        assert await parser.parse(small) == {"a": [1, 2]}
        assert await parser.parse(large) == json.loads(large)
        assert await parser.parse(b'{"f":[' + b"1," * 20_000 + b"NaN]}") is NotImplemented
    finally:
        parser.close()


async def test_off_loop_work_runs_on_the_one_worker_thread() -> None:
    parser = JsonParser()
    try:
        names = {await parser.off_loop(lambda _raw: threading.current_thread().name, b"")
                 for _ in range(5)}
        assert len(names) == 1 and names.pop().startswith("metalscope-json")
    finally:
        parser.close()
