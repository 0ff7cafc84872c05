"""Hostile clients against a real ``metalscope serve``: request head caps and timeouts, body
timeouts, and the budget on callback bodies being read and parsed."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from metalscope.simulator import make_fleet, ramdisk_data
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

HEAD_TIMEOUT = BODY_TIMEOUT = 2
BUDGET = 2 * 2**20


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory,
            ironic: LocalIronic) -> Iterator[LocalMetalScope]:
    with LocalMetalScope(tmp_path_factory.mktemp("metalscope-limits"), ironic.url, options={
            "DEFAULT": {"header_timeout": HEAD_TIMEOUT, "body_timeout": BODY_TIMEOUT,
                        "max_parsing_bytes": BUDGET, "parsing_wait": 0.5}}) as running:
        yield running


def _connect(service: LocalMetalScope) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", service.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _answer(sock: socket.socket, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the answer, read until the server closes."""
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def _rss_kib(service: LocalMetalScope) -> int:
    assert service.process is not None
    status = Path(f"/proc/{service.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))


def _send_until_closed(sock: socket.socket, piece: bytes, limit: int) -> int:
    sent = 0
    try:
        while sent < limit:
            sock.sendall(piece)
            sent += len(piece)
    except OSError:
        pass  # the server closed the connection: what the test expects
    return sent


def test_an_endless_header_line_gets_431_and_costs_no_memory(service: LocalMetalScope) -> None:
    before = _rss_kib(service)
    socks = [_connect(service) for _ in range(8)]
    for sock in socks:
        sock.sendall(b"POST /v1/continue HTTP/1.1\r\nHost: x\r\nX-Flood: ")
    sent = [_send_until_closed(sock, b"a" * 65536, 20 * 2**20) for sock in socks]
    answers = [_answer(sock) for sock in socks]
    assert all(total < 20 * 2**20 for total in sent), sent  # cut off long before 20 MiB
    for status, headers, body in answers:
        assert status == 431
        assert headers["connection"] == "close"
        assert headers["x-openstack-ironic-inspector-api-maximum-version"] == "1.20"
        assert json.loads(body) == {"error": {"message": "Request header fields too large: a "
                                              "request or header line is longer than 16384 bytes"}}
    assert _rss_kib(service) - before < 32 * 1024
    assert httpx.get(service.url + "/").status_code == 200


def test_too_many_header_lines_get_431(service: LocalMetalScope) -> None:
    sock = _connect(service)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Many: 1\r\n" * 120 + b"\r\n")
    status, _, body = _answer(sock)
    assert status == 431
    assert "more than 100 header lines" in json.loads(body)["error"]["message"]


def test_many_headers_within_the_limits_are_served(service: LocalMetalScope) -> None:
    headers = {f"X-Header-{i}": "v" * 1000 for i in range(60)}
    assert httpx.get(service.url + "/", headers=headers).status_code == 200


def test_a_head_that_does_not_finish_in_time_gets_408(service: LocalMetalScope) -> None:
    sock = _connect(service)
    began = time.monotonic()
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    for _ in range(3):
        time.sleep(0.5)
        sock.sendall(b"X-Slow: 1\r\n")
    status, _, body = _answer(sock)
    elapsed = time.monotonic() - began
    assert status == 408
    assert json.loads(body)["error"]["message"] == (
        f"The request head did not arrive within {HEAD_TIMEOUT} seconds")
    assert HEAD_TIMEOUT - 0.5 < elapsed < HEAD_TIMEOUT + 5


def test_a_connection_that_says_nothing_is_closed(service: LocalMetalScope) -> None:
    sock = _connect(service)
    began = time.monotonic()
    sock.settimeout(HEAD_TIMEOUT + 10)
    assert sock.recv(10) == b""
    assert time.monotonic() - began < HEAD_TIMEOUT + 5


def test_a_body_that_does_not_arrive_in_time_gets_408(service: LocalMetalScope) -> None:
    sock = _connect(service)
    sock.sendall(b"POST /v1/continue HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n{\"inventory\": ")
    status, headers, body = _answer(sock, timeout=BODY_TIMEOUT + 10)
    assert status == 408
    assert json.loads(body)["error"]["message"] == (
        f"The request body did not arrive within {BODY_TIMEOUT} seconds")
    assert headers["x-openstack-ironic-inspector-api-minimum-version"] == "1.0"


def test_a_body_too_costly_to_parse_gets_413(service: LocalMetalScope) -> None:
    body = b'{"f":[' + b"{}," * 300_000 + b"{}]}"  # under 1 MiB, about 40 MiB once parsed
    response = httpx.post(service.url + "/v1/continue", content=body, timeout=30)
    assert response.status_code == 413
    assert "Request body is too complex" in response.json()["error"]["message"]


def test_a_full_budget_answers_503_with_retry_after_and_other_requests_go_on(
        service: LocalMetalScope) -> None:
    head = (b"POST /v1/continue HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1048576\r\n\r\n")
    holders = []
    for _ in range(2):  # two bodies, 2000 KiB of the 2048 KiB budget received and held
        sock = _connect(service)
        sock.sendall(head + b" " * (1000 * 1024))
        holders.append(sock)
    time.sleep(0.3)
    callback = json.dumps(ramdisk_data(make_fleet(11, 1)[0])).encode()
    refused = httpx.post(service.url + "/v1/continue", content=callback, timeout=30)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"
    assert "please retry later" in refused.json()["error"]["message"]
    assert httpx.get(service.url + "/", timeout=5).status_code == 200
    for sock in holders:  # the held bodies time out and give their room back
        assert _answer(sock, timeout=BODY_TIMEOUT + 10)[0] == 408
    # Now the callback is read and parsed: it finds no node (400), not 503.
    again = httpx.post(service.url + "/v1/continue", content=callback, timeout=30)
    assert again.status_code == 400, again.text


def test_an_endless_trailer_field_gets_431_and_costs_no_memory(service: LocalMetalScope) -> None:
    """httptools keeps a trailer field whole like a header; a chunked body's trailer is
    measured as it arrives."""
    before = _rss_kib(service)
    socks = [_connect(service) for _ in range(8)]
    for sock in socks:
        sock.sendall(b"POST /v1/continue HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"2\r\n{}\r\n0\r\nX-Trailer: ")
    sent = [_send_until_closed(sock, b"a" * 65536, 20 * 2**20) for sock in socks]
    answers = [_answer(sock) for sock in socks]
    assert all(total < 20 * 2**20 for total in sent), sent
    for status, headers, body in answers:
        assert status == 431 and headers["connection"] == "close"
        assert "chunk framing and trailer fields" in json.loads(body)["error"]["message"]
    assert _rss_kib(service) - before < 32 * 1024
    assert httpx.get(service.url + "/").status_code == 200


def test_a_body_trickling_after_its_answer_is_cut_at_the_body_timeout(
        service: LocalMetalScope) -> None:
    """``GET /`` does not read a body: it is answered at once, and the connection is taken
    back when the body is still arriving ``body_timeout`` seconds after the head."""
    sock = _connect(service)
    began = time.monotonic()
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
    sock.settimeout(0.2)
    received, closed_at = b"", None
    while time.monotonic() - began < BODY_TIMEOUT + 10:
        try:
            sock.sendall(b"x" * 100)
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            closed_at = time.monotonic()
            break
        if not chunk:
            closed_at = time.monotonic()
            break
        received += chunk
    assert received.startswith(b"HTTP/1.1 200 ")
    assert closed_at is not None and closed_at - began < BODY_TIMEOUT + 5


@pytest.mark.parametrize("size,start,message", [
    (9 * 2**20, b"{", "Request body is too large"),
    (8 * 2**20 - 16, b'{"f":[' + b"{}," * 40_000, "Request body is too complex"),
], ids=["over-the-size-limit", "too-costly-to-parse"])
def test_a_body_refused_before_it_arrived_is_not_read_to_its_end(
        service: LocalMetalScope, size: int, start: bytes, message: str) -> None:
    """413 and the connection closed, without waiting for the rest of the body."""
    sock = _connect(service)
    sock.sendall(b"POST /v1/continue HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % size + start)
    status, headers, body = _answer(sock, timeout=5)
    assert status == 413 and headers["connection"] == "close"
    assert json.loads(body)["error"]["message"].startswith(message)


def test_requests_are_answered_while_dense_bodies_are_parsed(
        tmp_path: Path, ironic: LocalIronic) -> None:
    """Bodies of half a million empty arrays (within the default budget) are parsed off the
    event loop: ``GET /`` keeps answering meanwhile. Parsed on the loop, each held it for
    130 to 400 ms."""
    body = b'{"f":[' + b"[]," * 480_000 + b"[]]}"
    with LocalMetalScope(tmp_path / "dense", ironic.url) as running:
        stop, statuses = threading.Event(), []

        def post_bodies() -> None:
            with httpx.Client(base_url=running.url, timeout=60) as client:
                while not stop.is_set():
                    statuses.append(client.post("/v1/continue", content=body).status_code)

        posters = [threading.Thread(target=post_bodies) for _ in range(3)]
        for poster in posters:
            poster.start()
        latencies = []
        try:
            time.sleep(1)
            with httpx.Client(base_url=running.url, timeout=30) as client:
                for _ in range(60):
                    began = time.monotonic()
                    assert client.get("/").status_code == 200
                    latencies.append(time.monotonic() - began)
                    time.sleep(0.05)
        finally:
            stop.set()
            for poster in posters:
                poster.join()
        assert 400 in statuses and set(statuses) <= {400, 503}, statuses  # parsed: no node
        latencies.sort()
        assert latencies[len(latencies) // 2] < 0.1, latencies
        assert latencies[-1] < 0.5, latencies
