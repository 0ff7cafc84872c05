"""A TCP reverse proxy that counts the HTTP requests passing through it.

The benchmark puts one between each inspector and Ironic, so both inspectors' Ironic API calls
are counted the same way, whatever HTTP client they use. Each client connection gets its own
connection to the target and bytes are copied unchanged in both directions; only the
client-to-target direction is parsed, just enough to delimit requests (``Content-Length`` or
chunked bodies). That keeps the proxy's own cost (CPU and latency) negligible next to Ironic's.

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


async def _relay_requests(client: asyncio.StreamReader, target: asyncio.StreamWriter,
                          counts: Counts) -> None:
    try:
        while True:
            head = await client.readuntil(b"\r\n\r\n")
            method, request_target = head.split(b" ", 2)[:2]
            counts.by_call[call_name(method.decode(), request_target.decode())] += 1
            target.write(head)
            if (_header(head, b"transfer-encoding") or b"").lower() == b"chunked":
                await _relay_chunked(client, target)
            elif length := int(_header(head, b"content-length") or 0):
                target.write(await client.readexactly(length))
            await target.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        target.close()


async def _relay_bytes(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(_CHUNK):
            sink.write(data)
            await sink.drain()
    except ConnectionError:
        pass
    finally:
        sink.close()


async def _serve_connection(client_reader: asyncio.StreamReader,
                            client_writer: asyncio.StreamWriter, host: str, port: int,
                            counts: Counts) -> None:
    try:
        target_reader, target_writer = await asyncio.open_connection(host, port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(_relay_requests(client_reader, target_writer, counts),
                         _relay_bytes(target_reader, client_writer))


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
