"""HeadScanner: request heads measured as their bytes arrive; the refusal's wire form."""

from __future__ import annotations

import json

from metalscope.http_limits import HeadLimits, HeadScanner, refusal

LIMITS = HeadLimits(max_line=64, max_count=4, max_size=200, timeout=1)


def test_a_normal_head_completes_and_the_body_is_not_looked_at() -> None:
    scanner = HeadScanner(LIMITS)
    assert scanner.feed(b"POST /v1/continue HTTP/1.1\r\nHost: x\r\n\r\n" + b"b" * 500) is None
    assert scanner.complete
    assert scanner.feed(b"c" * 5000) is None  # body bytes: no limit applies


def test_a_head_split_anywhere_gives_the_same_answer() -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"
    for cut in range(1, len(head)):
        scanner = HeadScanner(LIMITS)
        assert scanner.feed(head[:cut]) is None
        assert scanner.feed(head[cut:]) is None
        assert scanner.complete, cut


def test_an_endless_header_line_is_refused_before_it_ends() -> None:
    scanner = HeadScanner(LIMITS)
    assert scanner.feed(b"GET / HTTP/1.1\r\nX-Flood: ") is None
    problem = scanner.feed(b"a" * 100)
    assert problem == "a request or header line is longer than 64 bytes"
    assert not scanner.complete


def test_too_many_header_lines() -> None:
    scanner = HeadScanner(LIMITS)
    problem = scanner.feed(b"GET / HTTP/1.1\r\n" + b"A: b\r\n" * 4)
    assert problem == "the request has more than 4 header lines"


def test_exactly_the_allowed_number_of_header_lines_is_accepted() -> None:
    scanner = HeadScanner(LIMITS)
    assert scanner.feed(b"GET / HTTP/1.1\r\n" + b"A: b\r\n" * 3 + b"\r\n") is None
    assert scanner.complete


def test_a_head_larger_than_allowed_in_short_lines() -> None:
    scanner = HeadScanner(HeadLimits(max_line=64, max_count=1000, max_size=200))
    problem = scanner.feed(b"GET / HTTP/1.1\r\n" + b"Abcdefghij: 0123456789\r\n" * 20)
    assert problem == "the request head is larger than 200 bytes"


def test_empty_lines_before_the_request_line_do_not_end_the_head() -> None:
    scanner = HeadScanner(LIMITS)
    assert scanner.feed(b"\r\n\r\nGET / HTTP/1.1\r\n") is None
    assert not scanner.complete
    assert scanner.feed(b"\r\n") is None
    assert scanner.complete


def test_reset_expects_the_next_head() -> None:
    scanner = HeadScanner(LIMITS)
    scanner.feed(b"GET / HTTP/1.1\r\n\r\n")
    scanner.reset()
    assert not scanner.started and not scanner.complete
    assert scanner.feed(b"X" * 65) is not None


def test_refusal_is_a_closing_answer_in_the_api_error_shape() -> None:
    wire = refusal(431, "Request Header Fields Too Large", "too large",
                   [(b"X-OpenStack-Ironic-Inspector-API-Minimum-Version", b"1.0")])
    head, _, body = wire.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert b"connection: close" in lines
    assert b"X-OpenStack-Ironic-Inspector-API-Minimum-Version: 1.0" in lines
    assert b"content-length: %d" % len(body) in lines
    assert json.loads(body) == {"error": {"message": "too large"}}
