"""A TCP reverse proxy that counts the HTTP requests passing through it.

The benchmark puts one between each inspector and Ironic, so both inspectors' Ironic API calls
are counted the same way, whatever HTTP client they use. Each client connection gets its own
connection to the target; requests and answers are copied unchanged, parsed just enough to
delimit them (``Content-Length`` or chunked bodies). When the target closed that connection
while it was idle, the next request goes over a new one, so its idle time-out does not reach
the client as a dropped request. That keeps the proxy's own cost (CPU and latency) negligible
next to Ironic's.

Run as a child process: ``counting_proxy.py --target 127.0.0.1:6385`` prints
``listening <port>`` on stdout, then answers commands read from stdin, one per line:
``counts`` prints the counts since the last ``reset`` as one JSON line
(``{"total": n, "by_call": {"GET /v1/nodes/{uuid}": k, ...}}``); ``reset`` clears them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import IO, Any

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_MAC = re.compile(r"([0-9a-fA-F]{2}(:|%3A)){5}[0-9a-fA-F]{2}")
_CHUNK = 1 << 16


def call_name(method: str, target: str) -> str:
    """``GET /v1/nodes/{uuid}``: the request with identifiers and the query's values erased."""
    path, _, query = target.partition("?")
    path = _MAC.sub("{mac}", _UUID.sub("{uuid}", path))
    keys = sorted({part.partition("=")[0] for part in query.split("&") if part})
    return f"{method} {path}" + (f"?{'&'.join(keys)}" if keys else "")


class Counts:
    """Requests seen since the last reset, by call name."""

    def __init__(self) -> None:
        self.by_call: Counter[str] = Counter()

    def snapshot(self) -> dict[str, object]:
        return {"total": sum(self.by_call.values()), "by_call": dict(self.by_call.most_common())}


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


async def _relay_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        size_line = await reader.readuntil(b"\r\n")
        writer.write(size_line)
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                writer.write(trailer)
            writer.write(b"\r\n")
            return
        writer.write(await reader.readexactly(size + 2))


async def _relay_message(head: bytes, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter, has_body: bool = True) -> bool:
    """Copy one message whose head was read already; False when it ends with the connection."""
    writer.write(head)
    if not has_body:
        return True
    if (_header(head, b"transfer-encoding") or b"").lower().endswith(b"chunked"):
        await _relay_chunked(reader, writer)
    elif (length := _header(head, b"content-length")) is not None:
        writer.write(await reader.readexactly(int(length)))
    elif head.startswith(b"HTTP/"):  # an answer without length lasts until the end
        while data := await reader.read(_CHUNK):
            writer.write(data)
        return False
    return True


def _answer_has_body(request_head: bytes, answer_head: bytes) -> bool:
    status = answer_head.split(b" ", 2)[1]
    return not (request_head.startswith(b"HEAD ") or status in (b"204", b"304")
                or status.startswith(b"1"))


class _Target:
    """The connection to the target behind one client connection, opened again after the
    target closed it while idle (as Ironic's server does after 10 s), so that the proxy does
    not turn the target's idle time-out into failed requests the client would not have seen
    talking to the target directly."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None or self.reader.at_eof():
            self.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self.reader, self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _exchange(head: bytes, client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                    target: _Target) -> bool:
    """Relay one request and its answer; False when the client connection must close."""
    target_reader, target_writer = await target.streams()
    await _relay_message(head, client[0], target_writer)
    await target_writer.drain()
    answer = await target_reader.readuntil(b"\r\n\r\n")
    while answer.split(b" ", 2)[1].startswith(b"1") and answer.split(b" ", 2)[1] != b"101":
        client[1].write(answer)  # an interim answer (100 Continue) precedes the real one
        answer = await target_reader.readuntil(b"\r\n\r\n")
    reusable = await _relay_message(answer, target_reader, client[1],
                                    _answer_has_body(head, answer))
    await client[1].drain()
    if not reusable or (_header(answer, b"connection") or b"").lower() == b"close":
        target.close()
        return False
    return True


async def _serve_connection(client_reader: asyncio.StreamReader,
                            client_writer: asyncio.StreamWriter, host: str, port: int,
                            counts: Counts) -> None:
    target = _Target(host, port)
    try:
        while True:
            head = await client_reader.readuntil(b"\r\n\r\n")
            method, request_target = head.split(b" ", 2)[:2]
            counts.by_call[call_name(method.decode(), request_target.decode())] += 1
            if not await _exchange(head, (client_reader, client_writer), target):
                break
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        pass  # either side went away: close both, as a direct connection would end
    finally:
        target.close()
        client_writer.close()


async def _answer_commands(counts: Counts) -> None:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = line.decode().strip()
        if command == "counts":
            print(json.dumps(counts.snapshot()), flush=True)
        elif command == "reset":
            counts.by_call.clear()
            print("{}", flush=True)


async def serve(target: str, listen_port: int) -> None:
    """Proxy ``127.0.0.1:<listen_port>`` to ``target`` until stdin is closed."""
    host, _, port = target.rpartition(":")
    counts = Counts()
    server = await asyncio.start_server(
        lambda r, w: _serve_connection(r, w, host, int(port), counts), "127.0.0.1", listen_port)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    await _answer_commands(counts)
    server.close()  # open connections are cancelled when asyncio.run returns


class CountingProxy:
    """The proxy as a child process, seen from the benchmark: start, read counts, stop."""

    def __init__(self, target_url: str, port: int, python: str = sys.executable) -> None:
        self.target = target_url.removeprefix("http://").rstrip("/")
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.python = python
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> CountingProxy:
        self.process = subprocess.Popen(
            [self.python, str(Path(__file__).absolute()), "--target", self.target,
             "--port", str(self.port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self._stdout().readline()
        if not line.startswith("listening "):
            self.stop()
            raise RuntimeError(f"counting proxy did not start: {line!r}")
        return self

    def _stdout(self) -> IO[str]:
        assert self.process is not None and self.process.stdout is not None
        return self.process.stdout

    def _command(self, command: str) -> Any:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self._stdout().readline())

    def counts(self) -> dict[str, Any]:
        """``{"total": n, "by_call": {...}}`` since the last reset."""
        counts: dict[str, Any] = self._command("counts")
        return counts

    def reset(self) -> None:
        self._command("reset")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the proxy exits when its stdin closes
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", required=True, help="host:port to forward to")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any)")
    args = parser.parse_args()
    asyncio.run(serve(args.target, args.port))


if __name__ == "__main__":
    main()
