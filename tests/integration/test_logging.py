"""``metalscope serve --config-file`` with oslo.log's options: lines land in the configured
file with the configured format, and ``debug = True`` adds DEBUG lines."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.simulator import make_node as make_machine
from metalscope.simulator import ramdisk_data
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

pytestmark = pytest.mark.integration

#: What oslo.log's default formats put between the logger and the message: ``[-]`` outside a
#: request (default format), ``[<global id> <request id> <user identity>]`` inside one
#: (context format; lines logged while serving a request once request ids are bound).
CONTEXT = r"\[(-|\S+ req-[0-9a-f-]+ - - - - - -)\] "
#: oslo.log's default formats: time.msecs pid LEVEL logger [context] message
LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
    r"[\w.]+ " + CONTEXT)
#: A rule that matches every node and only logs.
LOGGING_RULE = {"description": "log it", "actions": [{"action": "example", "note": "hi"}],
                "conditions": [{"op": "ge", "field": "memory_mb", "value": 1}]}


def introspect(service: LocalMetalScope, make_node: Any, index: int) -> tuple[str, str]:
    """One introspection without boot management: start, ramdisk callback, finished.
    Returns the node UUID and the request id the callback was answered with."""
    machine = make_machine(seed=21, index=index, virtual=True)
    node = make_node(macs=[machine.pxe_mac])
    with httpx.Client(base_url=service.url, timeout=60) as api:
        assert api.post("/v1/rules", json=LOGGING_RULE).status_code == 201
        response = api.post(f"/v1/introspection/{node['uuid']}", params={"manage_boot": "False"})
        assert response.status_code == 202, response.text
        _wait(api, node["uuid"], "waiting")
        callback = api.post("/v1/continue", json=ramdisk_data(machine))
        assert callback.status_code == 200
        _wait(api, node["uuid"], "finished")
    return str(node["uuid"]), callback.headers["X-OpenStack-Request-Id"]


def _wait(api: httpx.Client, uuid: str, state: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while api.get(f"/v1/introspection/{uuid}").json()["state"] != state:
        assert time.monotonic() < deadline, f"{uuid} never reached {state}"
        time.sleep(0.1)


def _lines(path: Path, containing: str) -> list[str]:
    return [line for line in path.read_text().splitlines() if containing in line]


@pytest.fixture
def service_in(ironic: LocalIronic, tmp_path: Path) -> Iterator[Any]:
    started: list[LocalMetalScope] = []

    def start(default: dict[str, Any]) -> LocalMetalScope:
        service = LocalMetalScope(tmp_path / "service", ironic.url, options={"DEFAULT": default})
        started.append(service.start())
        return service

    yield start
    for service in started:
        service.stop()


class TestLogFile:
    def test_log_dir_and_debug(self, service_in: Any, make_node: Any, tmp_path: Path) -> None:
        """log_dir alone: <log_dir>/metalscope.log holds the start-up, request and processing
        lines in oslo.log's default format, node lines carry [node: <uuid>], and debug = True
        adds DEBUG lines with the debug suffix; nothing goes to standard output."""
        log_dir = tmp_path / "logs"
        log_dir.mkdir()
        service = service_in({"log_dir": log_dir, "debug": True})
        assert service.log_file == log_dir / "metalscope.log"
        uuid, request_id = introspect(service, make_node, index=1)
        service.stop()
        log_file = service.log_file
        assert _lines(log_file, "INFO metalscope.server [-] Serving with the ")
        assert _lines(log_file, "INFO uvicorn.error [-] Uvicorn running on http://127.0.0.1:")
        [matching] = _lines(log_file, "Rules matching this node: ")
        # Logged while serving the callback: oslo.log's context format with its request id.
        assert re.search(rf" INFO metalscope\.rules\.engine \[None {request_id} - - - - - -\] "
                         rf"\[node: {uuid}\] Rules matching", matching)
        debug = _lines(log_file, " DEBUG metalscope.rules.engine ")
        assert debug and all(re.search(r" \w+ /\S+/rules/engine\.py:\d+$", d) for d in debug)
        assert f"example action applied to node {uuid}" in log_file.read_text()
        assert all(LINE.match(line) for line in log_file.read_text().splitlines())
        assert not _lines(service.console_file, "metalscope.")

    def test_log_file_in_log_dir_with_format(self, service_in: Any, make_node: Any,
                                             tmp_path: Path) -> None:
        """log_file inside log_dir, with the format options and debug off: start-up lines
        in the default format, lines logged while serving a request in the default or (with
        a request id) the context format."""
        service = service_in({
            "log_dir": tmp_path, "log_file": "inspector.log",
            "logging_default_format_string": "DEF %(levelname)s %(name)s %(instance)s%(message)s",
            "logging_context_format_string":
                "CTX %(request_id)s %(levelname)s %(name)s %(instance)s%(message)s"})
        assert service.log_file == tmp_path / "inspector.log"
        uuid, request_id = introspect(service, make_node, index=2)
        service.stop()
        lines = service.log_file.read_text().splitlines()
        assert lines and all(re.match(r"(DEF|CTX req-\S+) [A-Z]+ [\w.]+ ", line)
                             for line in lines)
        text = "\n".join(lines)
        assert re.search(r"^DEF INFO metalscope\.server Serving with the ", text, re.MULTILINE)
        assert re.search(rf"^CTX {request_id} INFO metalscope\.rules\.engine \[node: {uuid}\] "
                         "Rules matching", text, re.MULTILINE)
        assert not re.search(r"^(DEF|CTX req-\S+) DEBUG ", text, re.MULTILINE)
